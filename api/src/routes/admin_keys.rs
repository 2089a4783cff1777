//! Platform admin keys: issue (the secret is shown once), revoke, list. Admin keys only.
//!
//! Like a tenant's keys, issuing and revoking answer only once the tenant directory (which
//! authenticates requests) has folded the event.

use super::kit::key_change_in_effect;
use super::kit::paths::AdminKeyPath;
use crate::auth::token;
use crate::body::JsonBody;
use crate::command::{execute, respond, Caller, CommandResult};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use keel_commands::handler::CommandOutcome;
use keel_domain::platform::{platform_keys_id, PlatformCommand, PlatformKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(issue).service(revoke);
}

/// An admin key (never its secret or hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminKeyView {
    /// Key id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The non-secret start of the key.
    pub prefix: String,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The secret, only in the response that issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The body of `POST /v1/admin-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueAdminKeyRequest {
    /// A human-readable name.
    pub name: String,
}

fn views(keys: &PlatformKeys) -> Vec<AdminKeyView> {
    keys.keys
        .values()
        .map(|k| AdminKeyView {
            id: k.key_id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            revoked: k.revoked,
            secret: None,
        })
        .collect()
}

/// Lists the platform admin keys.
#[utoipa::path(
    tag = "admin-keys",
    responses((status = 200, body = Vec<AdminKeyView>), (status = 403, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/admin-keys")]
async fn list(state: Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.principal.require_admin()?;
    let loaded = state.platform.state(platform_keys_id()).await?;
    Ok(HttpResponse::Ok().json(views(&loaded.state)))
}

/// Issues a platform admin key; the response is the only time its secret is shown.
#[utoipa::path(
    tag = "admin-keys",
    request_body = IssueAdminKeyRequest,
    responses((status = 201, body = CommandResult<AdminKeyView>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/admin-keys")]
async fn issue(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<IssueAdminKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let key_id = Uuid::now_v7();
    let new = token::generate();
    let command = PlatformCommand::IssueAdminKey {
        key_id,
        name: body.0.name,
        prefix: new.prefix.clone(),
        secret_hash: new.hash,
    };
    let outcome = run_key_command(&state, &caller, command).await?;
    let view = AdminKeyView {
        id: key_id,
        name: outcome.state.keys[&key_id].name.clone(),
        prefix: new.prefix,
        revoked: false,
        secret: Some(new.token),
    };
    Ok(respond(StatusCode::CREATED, &outcome, view))
}

/// Revokes a platform admin key (not the last usable one).
#[utoipa::path(
    tag = "admin-keys",
    params(AdminKeyPath),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = CommandResult<Vec<AdminKeyView>>), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/admin-keys/{key_id}/revoke")]
async fn revoke(
    state: Data<AppState>,
    caller: Caller,
    path: Path<AdminKeyPath>,
) -> Result<HttpResponse, ApiError> {
    let command = PlatformCommand::RevokeAdminKey {
        key_id: path.key_id,
    };
    let outcome = run_key_command(&state, &caller, command).await?;
    Ok(respond(StatusCode::OK, &outcome, views(&outcome.state)))
}

/// Runs a command on the platform's keys for a platform admin key, and waits for the
/// directory to fold it.
async fn run_key_command(
    state: &AppState,
    caller: &Caller,
    command: PlatformCommand,
) -> Result<CommandOutcome<PlatformKeys>, ApiError> {
    caller.principal.require_admin()?;
    let outcome = execute(state, &state.platform, platform_keys_id(), command, caller).await?;
    key_change_in_effect(state, outcome.global_position).await?;
    Ok(outcome)
}
