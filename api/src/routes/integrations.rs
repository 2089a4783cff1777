//! A tenant's integrations (outbound webhooks and connectors): register, show, list, change the
//! endpoint or the event filter, rotate the signing secret, enable, disable, and record delivery
//! outcomes.
//!
//! The server generates each signing secret, encrypts it with the configured secret keys
//! (`KEEL_SECRET_KEYS`; the integration id is authenticated with it) and hands the domain only
//! the encrypted value. The clear secret appears once, in the response to the registration or
//! rotation that generated it; no other response shows a secret, not even encrypted.
//!
//! An integration's aggregate id is `(tenant_id, integration_id)`. Stream ids do not carry the
//! tenant, so every route checks that the loaded integration belongs to the tenant of the path:
//! another tenant's integration is a 404, exactly like one that does not exist.
//!
//! Scopes: reads need `integrations:read`, changes `integrations:write`; recording delivery
//! outcomes is the delivery worker's job: platform admin keys only.

use super::kit::paths::{IntegrationPath, TenantPath};
use super::kit::{
    authorize_tenant, command_route, list_route, run, run_create, show_route, Allowed,
};
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{respond, Caller, CommandResult};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use chrono::{DateTime, Utc};
use keel_commands::secrets::{generate_signing_secret, Secret, SecretKeys};
use keel_domain::integration::{
    DisableIntegration, DisableReason, EnableIntegration, EncryptedSecret, Integration,
    IntegrationCommand, RecordDeliveryFailed, RecordDeliverySucceeded, RegisterIntegration,
    RotateSecret, UpdateEndpoint, UpdateEventFilter,
};
use keel_domain::TenantId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// The resource name of integration scopes (`integrations:read`, `integrations:write`...).
const RESOURCE: &str = "integrations";

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(register)
        .service(show)
        .service(update_endpoint)
        .service(update_filter)
        .service(rotate_secret)
        .service(enable)
        .service(disable)
        .service(record_delivery);
}

/// The body of `POST /v1/tenants/{tenant_id}/integrations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIntegrationRequest {
    /// `webhook`, `slack_webhook` or `rest_connector`.
    pub kind: String,
    /// A human-readable name, 1-100 characters.
    pub name: String,
    /// Where deliveries go: `https`, or `http` to `localhost`, `127.0.0.0/8` or `[::1]`.
    pub endpoint_url: String,
    /// The event types to deliver: 1-50 patterns such as `tenant.*`, `*.created` or `*`.
    pub event_filter: Vec<String>,
    /// After how many consecutive failed deliveries the integration disables itself, 1-1000;
    /// 10 when absent.
    #[serde(default)]
    pub disable_after_failures: Option<u32>,
}

/// The body of `POST .../integrations/{integration_id}/endpoint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointRequest {
    /// The new endpoint URL (same rules as at registration).
    pub endpoint_url: String,
}

/// The body of `POST .../integrations/{integration_id}/filter`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFilterRequest {
    /// The new patterns, replacing the old ones as a whole.
    pub event_filter: Vec<String>,
}

/// The body of `POST .../integrations/{integration_id}/rotate-secret` (may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the previous secret stays valid, 0-10080 minutes; a day when absent. 0 revokes
    /// it at once, for a secret that leaked.
    #[serde(default)]
    pub grace_period_minutes: Option<u32>,
}

/// The body of `POST .../integrations/{integration_id}/enable` (empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableRequest {}

/// The body of `POST .../integrations/{integration_id}/disable` (may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    /// Why, for the audit trail, 1-500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Succeeded,
    /// The receiver answered otherwise, or not at all.
    Failed,
}

/// The body of `POST .../integrations/{integration_id}/deliveries`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordDeliveryRequest {
    /// `succeeded` or `failed`.
    pub outcome: DeliveryOutcome,
    /// The id of the event delivered (the Standard Webhooks message id).
    pub event_id: Uuid,
    /// Which try this was: 1 for the first, at most 1000.
    pub attempt: u32,
    /// The receiver's answer: required (2xx) when the delivery succeeded; when it failed,
    /// 100-599 but not 2xx, or absent if there was none (timeout, refused connection).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// What went wrong, 1-500 characters; only for a failed delivery.
    #[serde(default)]
    pub error: Option<String>,
}

/// Why an integration is disabled.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisabledReasonView {
    /// `requested` (someone disabled it) or `too_many_failures` (it disabled itself).
    pub kind: &'static str,
    /// The explanation given when it was disabled on request, if any.
    pub note: Option<String>,
    /// How many deliveries in a row had failed, when it disabled itself.
    pub consecutive_failures: Option<u32>,
    /// The reason as a sentence.
    pub message: String,
}

/// An integration, never its signing secret (not even encrypted).
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    /// Its id.
    pub id: Uuid,
    /// The tenant it belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// `webhook`, `slack_webhook` or `rest_connector`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Where deliveries go.
    pub endpoint_url: String,
    /// The event type patterns it receives.
    pub event_filter: Vec<String>,
    /// `enabled` or `disabled`.
    pub status: &'static str,
    /// Why it is disabled, while it is.
    pub disabled_reason: Option<DisabledReasonView>,
    /// After how many consecutive failed deliveries it disables itself.
    pub disable_after_failures: u32,
    /// How many deliveries in a row have failed since the last success or enabling.
    pub consecutive_failures: u32,
    /// How many delivery attempts succeeded, ever.
    pub deliveries_succeeded: u64,
    /// How many delivery attempts failed, ever.
    pub deliveries_failed: u64,
    /// Until when the secret replaced by the last rotation is (or was) still accepted; absent
    /// if the secret was never rotated.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

/// An integration with the signing secret just generated: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationWithSecretView {
    /// The integration.
    #[serde(flatten)]
    pub integration: IntegrationView,
    /// The Standard Webhooks signing secret (`whsec_...`) receivers verify deliveries with.
    /// Shown once, never again.
    pub signing_secret: String,
}

impl IntegrationView {
    /// The view of an integration's state.
    pub fn of(integration: &Integration) -> Self {
        IntegrationView {
            id: integration.id(),
            tenant_id: integration.tenant_id(),
            kind: integration.kind().as_str(),
            name: integration.name().as_str().to_owned(),
            endpoint_url: integration.endpoint_url().as_str().to_owned(),
            event_filter: integration
                .event_filter()
                .patterns()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            status: integration.status().as_str(),
            disabled_reason: integration.disabled_reason().map(DisabledReasonView::of),
            disable_after_failures: integration.disable_after_failures().get(),
            consecutive_failures: integration.consecutive_failures(),
            deliveries_succeeded: integration.deliveries_succeeded(),
            deliveries_failed: integration.deliveries_failed(),
            previous_secret_valid_until: integration.previous_secret().map(|p| p.valid_until),
        }
    }
}

impl DisabledReasonView {
    /// The view of a reason.
    pub fn of(reason: &DisableReason) -> Self {
        let message = reason.to_string();
        match reason {
            DisableReason::Requested { note } => DisabledReasonView {
                kind: "requested",
                note: note.as_ref().map(|n| n.as_str().to_owned()),
                consecutive_failures: None,
                message,
            },
            DisableReason::TooManyFailures {
                consecutive_failures,
            } => DisabledReasonView {
                kind: "too_many_failures",
                note: None,
                consecutive_failures: Some(*consecutive_failures),
                message,
            },
        }
    }
}

list_route! {
    /// Lists a tenant's integrations (never their secrets), oldest first.
    list: "/v1/tenants/{tenant_id}/integrations", "integrations", RESOURCE,
    integrations => IntegrationView
}

/// Registers an integration, enabled at once. The response (201, with `Location`) is the only
/// time its signing secret is shown.
///
/// The server generates the secret and stores it encrypted with the keys of
/// `KEEL_SECRET_KEYS`. A server started without them cannot register integrations: it answers
/// 409 `secret_keys_not_configured` (a setting to fix, not a reason to retry).
#[utoipa::path(
    tag = "integrations",
    params(TenantPath),
    request_body = RegisterIntegrationRequest,
    responses(
        (status = 201, description = "Registered; the signing secret is shown this once", body = CommandResult<IntegrationWithSecretView>),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The server has no secret keys configured", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/integrations")]
async fn register(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<RegisterIntegrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    caller.principal.require(tenant, RESOURCE, Access::Write)?;
    let keys = secret_keys(&state)?;
    authorize_tenant(&state, &caller.principal, tenant, RESOURCE, Access::Write).await?;
    let request = body.0;
    let integration_id = Uuid::now_v7();
    let (secret, encrypted) = new_secret(&keys, integration_id)?;
    let command = IntegrationCommand::Register(RegisterIntegration {
        tenant_id: tenant,
        integration_id,
        kind: request.kind,
        name: request.name,
        endpoint_url: request.endpoint_url,
        event_filter: request.event_filter,
        signing_secret: encrypted,
        disable_after_failures: request.disable_after_failures,
    });
    let view = |integration: &Integration| IntegrationWithSecretView {
        integration: IntegrationView::of(integration),
        signing_secret: secret.expose().to_owned(),
    };
    let location = format!("/v1/tenants/{tenant}/integrations/{integration_id}");
    let target = IntegrationPath {
        tenant_id: tenant,
        integration_id,
    };
    run_create(&state, &caller, &target, command, view, location).await
}

show_route! {
    /// Shows an integration (never its signing secret, not even encrypted).
    show: "/v1/tenants/{tenant_id}/integrations/{integration_id}", "integrations", RESOURCE,
    IntegrationPath.integration_id, integrations => IntegrationView
}

command_route! {
    "integrations", Allowed::Scope(RESOURCE, Access::Write), IntegrationPath => IntegrationView;
    /// Points an integration at another endpoint.
    update_endpoint: "/v1/tenants/{tenant_id}/integrations/{integration_id}/endpoint",
        body UpdateEndpointRequest
        => |_, b, _| Ok(UpdateEndpoint { endpoint_url: b.endpoint_url }.into());
    /// Replaces an integration's event type filter.
    update_filter: "/v1/tenants/{tenant_id}/integrations/{integration_id}/filter",
        body UpdateFilterRequest
        => |_, b, _| Ok(UpdateEventFilter { event_filter: b.event_filter }.into());
    /// Resumes deliveries of a disabled integration, with a clean failure count.
    enable: "/v1/tenants/{tenant_id}/integrations/{integration_id}/enable", body EnableRequest
        => |_, _, _| Ok(EnableIntegration {}.into());
    /// Stops deliveries until the integration is enabled again.
    disable: "/v1/tenants/{tenant_id}/integrations/{integration_id}/disable", body DisableRequest
        => |_, b, _| Ok(DisableIntegration { note: b.note }.into());
}

/// Replaces an integration's signing secret with a newly generated one, shown in this response
/// only. The previous secret stays valid for the grace period (deliveries carry both
/// signatures meanwhile). Needs `KEEL_SECRET_KEYS`, like registration (409 otherwise).
#[utoipa::path(
    tag = "integrations",
    params(IntegrationPath),
    request_body = RotateSecretRequest,
    responses(
        (status = 200, description = "Rotated; the new signing secret is shown this once", body = CommandResult<IntegrationWithSecretView>),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/integrations/{integration_id}/rotate-secret")]
async fn rotate_secret(
    state: Data<AppState>,
    caller: Caller,
    path: Path<IntegrationPath>,
    body: JsonBody<RotateSecretRequest>,
) -> Result<HttpResponse, ApiError> {
    caller
        .principal
        .require(path.tenant_id, RESOURCE, Access::Write)?;
    let keys = secret_keys(&state)?;
    let (secret, encrypted) = new_secret(&keys, path.integration_id)?;
    let command = IntegrationCommand::RotateSecret(RotateSecret {
        signing_secret: encrypted,
        grace_period_minutes: body.0.grace_period_minutes,
    });
    let allowed = Allowed::Scope(RESOURCE, Access::Write);
    let outcome = run(&state, &caller, &*path, allowed, |()| Ok(command)).await?;
    let view = IntegrationWithSecretView {
        integration: IntegrationView::of(&outcome.state),
        signing_secret: secret.expose().to_owned(),
    };
    Ok(respond(StatusCode::OK, &outcome, view))
}

/// Records how a delivery attempt ended (the delivery worker's call: platform admin keys
/// only). A success resets the consecutive failure count; the failure that reaches the
/// integration's threshold also disables it.
#[utoipa::path(
    tag = "integrations",
    params(IntegrationPath),
    request_body = RecordDeliveryRequest,
    responses(
        (status = 200, body = CommandResult<IntegrationView>),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/integrations/{integration_id}/deliveries")]
async fn record_delivery(
    state: Data<AppState>,
    caller: Caller,
    path: Path<IntegrationPath>,
    body: JsonBody<RecordDeliveryRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.principal.require_admin()?;
    let request = body.0;
    let command: IntegrationCommand = match request.outcome {
        DeliveryOutcome::Succeeded => {
            if request.error.is_some() {
                return Err(ApiError::invalid(
                    "error",
                    "error must be absent when the outcome is `succeeded`",
                ));
            }
            let http_status = request.http_status.ok_or_else(|| {
                ApiError::invalid(
                    "http_status",
                    "http_status is required when the outcome is `succeeded`",
                )
            })?;
            let command = RecordDeliverySucceeded {
                event_id: request.event_id,
                attempt: request.attempt,
                http_status,
            };
            command.into()
        }
        DeliveryOutcome::Failed => {
            let command = RecordDeliveryFailed {
                event_id: request.event_id,
                attempt: request.attempt,
                http_status: request.http_status,
                error: request.error,
            };
            command.into()
        }
    };
    let outcome = run(&state, &caller, &*path, Allowed::Admin, |()| Ok(command)).await?;
    Ok(respond(
        StatusCode::OK,
        &outcome,
        IntegrationView::of(&outcome.state),
    ))
}

/// The configured secret keys, or the 409 that says they are missing.
fn secret_keys(state: &AppState) -> Result<Arc<SecretKeys>, ApiError> {
    state.secret_keys.clone().ok_or_else(|| ApiError::Conflict {
        code: "secret_keys_not_configured",
        detail: "integration signing secrets are stored encrypted, and this server has no \
                 encryption keys: set KEEL_SECRET_KEYS (`key_id:base64-32-bytes`) and restart it"
            .into(),
        field: None,
    })
}

/// A new signing secret for `integration_id`, in clear (to show once) and encrypted (for the
/// command).
fn new_secret(
    keys: &SecretKeys,
    integration_id: Uuid,
) -> Result<(Secret, EncryptedSecret), ApiError> {
    let secret = generate_signing_secret();
    let encrypted = keys
        .encrypt(integration_id, &secret)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot encrypt a signing secret: {e}")))?;
    Ok((secret, encrypted))
}
