//! Who may call a route: the key's scope on the tenant of the path, and that tenant's
//! existence; and when a change to the keys takes effect.
//!
//! Another tenant's data always answers exactly like missing data (404), so that tenants cannot
//! learn of each other; a missing scope is a 403.

use crate::auth::{Access, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use keel_domain::tenant::Tenant;
use keel_domain::{AggregateId, TenantId};

/// What a command route requires of the caller.
#[derive(Debug, Clone, Copy)]
pub enum Allowed {
    /// A key of the tenant of the path with `resource:access` (or a platform admin key).
    Scope(&'static str, Access),
    /// A platform admin key.
    Admin,
}

impl Allowed {
    /// Checks `principal` against this requirement on `tenant_id`'s data.
    pub fn check(self, principal: &Principal, tenant_id: TenantId) -> Result<(), ApiError> {
        match self {
            Allowed::Scope(resource, access) => principal.require(tenant_id, resource, access),
            Allowed::Admin => principal.require_admin(),
        }
    }
}

/// Checks that `principal` may act with `access` on `tenant_id`'s `resource`, and that the
/// tenant exists: its aggregate, always current, so a tenant just created is found at once.
/// Answers the tenant's state.
pub async fn authorize_tenant(
    state: &AppState,
    principal: &Principal,
    tenant_id: TenantId,
    resource: &str,
    access: Access,
) -> Result<Tenant, ApiError> {
    principal.require(tenant_id, resource, access)?;
    require_tenant(state, tenant_id).await
}

/// [`authorize_tenant`] for data the platform owns too (policies): platform-owned data
/// ([`TenantId::PLATFORM`]) is for platform admin keys only.
pub async fn authorize_owner(
    state: &AppState,
    principal: &Principal,
    owner: TenantId,
    resource: &str,
    access: Access,
) -> Result<(), ApiError> {
    if owner.is_platform() {
        return principal.require_admin();
    }
    authorize_tenant(state, principal, owner, resource, access)
        .await
        .map(drop)
}

/// [`authorize_tenant`] for routes that answer from read models: the tenant directory, which
/// follows the log as the read models do, says whether the tenant exists, without a database
/// round trip. A tenant it does not know yet may have been created an instant ago (the
/// directory follows commits asynchronously): before answering 404 it waits, at most the
/// read-your-writes bound, for the directory to reach the log's head.
pub async fn authorize_read_model(
    state: &AppState,
    principal: &Principal,
    tenant_id: TenantId,
    resource: &str,
    access: Access,
) -> Result<(), ApiError> {
    principal.require(tenant_id, resource, access)?;
    if state.directory.tenant(tenant_id).is_some() {
        return Ok(());
    }
    let head = state.store.head_position().await?;
    state.directory.wait_for(head, state.read_wait).await;
    match state.directory.tenant(tenant_id) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found()),
    }
}

/// The tenant's state; 404 unless it exists.
pub async fn require_tenant(state: &AppState, tenant_id: TenantId) -> Result<Tenant, ApiError> {
    let tenant = state.tenants.state(AggregateId::tenant(tenant_id)).await?;
    if tenant.state.exists() {
        Ok(tenant.state)
    } else {
        Err(ApiError::not_found())
    }
}

/// Waits for the tenant directory, which authenticates requests, to fold the key change
/// committed at `position`, so that a new key works, and a revoked one is refused, from the
/// moment the route answers: 503 if it has not within the read-your-writes bound.
pub async fn key_change_in_effect(state: &AppState, position: Option<u64>) -> Result<(), ApiError> {
    match position {
        Some(position) if !state.directory.wait_for(position, state.read_wait).await => {
            Err(ApiError::Unavailable(
                "the key change is stored but not yet in effect; retry shortly".into(),
            ))
        }
        _ => Ok(()),
    }
}
