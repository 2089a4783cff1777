//! The path parameters of every route, one type per shape of path, so that a `{tenant_id}`
//! is parsed and documented the same way everywhere (a malformed id is a 400 naming the
//! parameter, from the path extractor's error handler).

use keel_domain::TenantId;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// The `{tenant_id}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TenantPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
}

/// The meter of `POST /v1/tenants/{tenant_id}/quota-overrides/{meter}/clear`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MeterPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The meter whose override is removed.
    pub meter: String,
}

/// A member in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MemberPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The member's id.
    pub member_id: Uuid,
}

/// A custom domain in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DomainPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The hostname.
    pub domain: String,
}

/// A tenant's API key in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct KeyPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The key's id.
    pub key_id: Uuid,
}

/// A platform admin key in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AdminKeyPath {
    /// The key's id.
    pub key_id: Uuid,
}

/// A tenant's policy in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PolicyPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The policy's id.
    pub policy_id: Uuid,
}

/// A platform-wide policy in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PlatformPolicyPath {
    /// The policy's id.
    pub policy_id: Uuid,
}

/// A workflow in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WorkflowPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The workflow's id.
    pub workflow_id: Uuid,
}

/// A workflow run in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RunPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The run's id.
    pub run_id: Uuid,
}

/// A step of a run in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StepPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The run's id.
    pub run_id: Uuid,
    /// The step's id in the run's workflow.
    pub step_id: String,
}

/// An integration in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct IntegrationPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The integration's id.
    pub integration_id: Uuid,
}

/// An invoice in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct InvoicePath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The invoice's id.
    pub invoice_id: Uuid,
}
