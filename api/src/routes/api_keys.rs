//! A tenant's API keys: issue (the secret is shown once), revoke, list (never the secret).
//!
//! Issuing and revoking answer only once the tenant directory (which authenticates requests)
//! has folded the event: a new key works, and a revoked key is refused, from the moment the
//! response arrives.

use super::kit::paths::{KeyPath, TenantPath};
use super::kit::{authorize_tenant, key_change_in_effect, run, Allowed, Target};
use crate::auth::{token, Access};
use crate::body::JsonBody;
use crate::command::{respond, Caller, CommandResult};
use crate::consistency::ReadAfter;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::views::{ApiKeyView, IssuedKeyView};
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use chrono::{DateTime, Utc};
use keel_commands::handler::CommandOutcome;
use keel_domain::tenant::{Grantor, IssueApiKey, RevokeApiKey, Tenant, TenantCommand};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(issue).service(revoke);
}

/// The body of `POST /v1/tenants/{tenant_id}/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueKeyRequest {
    /// A human-readable name.
    pub name: String,
    /// What the key may do, e.g. `["tenants:read", "members:write"]`.
    pub scopes: Vec<String>,
    /// When it stops working; never if absent. A key that expires issues only keys that
    /// expire no later.
    pub expires_at: Option<DateTime<Utc>>,
    /// The member the key acts for: its approvals are that member's. Absent: a service key,
    /// which never approves. A member's key issues keys only for members whose role its
    /// member's role includes; a service key issues only service keys.
    pub member_id: Option<Uuid>,
}

/// Lists a tenant's API keys (never their secrets).
#[utoipa::path(
    tag = "api-keys",
    params(TenantPath),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = Vec<ApiKeyView>), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/api-keys")]
async fn list(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    let tenant = authorize_tenant(
        &state,
        &caller.principal,
        path.tenant_id,
        "keys",
        Access::Read,
    )
    .await?;
    let ids: Vec<Uuid> = tenant.api_keys().keys().copied().collect();
    let last_used = state
        .key_use
        .last_used(&state.store.database(), &ids)
        .await?;
    let now = Utc::now();
    let keys: Vec<ApiKeyView> = tenant
        .api_keys()
        .values()
        .map(|key| ApiKeyView::of(key, now, last_used.get(&key.id).copied()))
        .collect();
    Ok(HttpResponse::Ok().json(keys))
}

/// Issues an API key. The response is the only time its secret is shown.
#[utoipa::path(
    tag = "api-keys",
    params(TenantPath),
    request_body = IssueKeyRequest,
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 201, body = CommandResult<IssuedKeyView>), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/api-keys")]
async fn issue(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<IssueKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let key_id = Uuid::now_v7();
    let new = token::generate();
    let command = TenantCommand::IssueApiKey(IssueApiKey {
        grantor: caller.principal.grantor(),
        key_id,
        member_id: request.member_id,
        name: request.name,
        scopes: request.scopes,
        prefix: new.prefix,
        secret_hash: new.hash,
        expires_at: request.expires_at,
    });
    let outcome = run_key_command(&state, &caller, &path.into_inner(), command).await?;
    let key = outcome
        .state
        .api_key(key_id)
        .map(|key| ApiKeyView::of(key, Utc::now(), None))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("issued key {key_id} is missing")))?;
    Ok(respond(
        StatusCode::CREATED,
        &outcome,
        IssuedKeyView {
            key,
            secret: new.token,
        },
    ))
}

/// Revokes an API key; it is refused from the moment this answers.
#[utoipa::path(
    tag = "api-keys",
    params(KeyPath),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = CommandResult<ApiKeyView>), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/api-keys/{key_id}/revoke")]
async fn revoke(
    state: Data<AppState>,
    caller: Caller,
    path: Path<KeyPath>,
) -> Result<HttpResponse, ApiError> {
    let command = TenantCommand::RevokeApiKey(RevokeApiKey {
        key_id: path.key_id,
    });
    let outcome = run_key_command(&state, &caller, &*path, command).await?;
    let key = outcome
        .state
        .api_key(path.key_id)
        .map(|key| ApiKeyView::of(key, Utc::now(), None))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("revoked key is missing")))?;
    Ok(respond(StatusCode::OK, &outcome, key))
}

/// Runs a key command (scope `keys:admin`) and waits for the directory to fold it.
async fn run_key_command(
    state: &AppState,
    caller: &Caller,
    target: &impl Target<Aggregate = Tenant, Context = Grantor>,
    command: TenantCommand,
) -> Result<CommandOutcome<Tenant>, ApiError> {
    let allowed = Allowed::Scope("keys", Access::Admin);
    let outcome = run(state, caller, target, allowed, |_| Ok(command)).await?;
    key_change_in_effect(state, outcome.global_position).await?;
    Ok(outcome)
}
