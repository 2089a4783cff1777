//! A tenant's members: add, change role, remove, list.

use super::owned::require_tenant;
use super::tenants::{run, TenantPath};
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{Caller, CommandResult};
use crate::consistency::ReadAfter;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::views::{MemberView, TenantView};
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use keel_domain::tenant::{AddMember, ChangeMemberRole, RemoveMember, TenantCommand};
use keel_domain::TenantId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(add)
        .service(change_role)
        .service(remove);
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

/// The body of `POST /v1/tenants/{tenant_id}/members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    /// The member's email; unique among the tenant's members.
    pub email: String,
    /// `owner`, `admin`, `member` or `auditor`.
    pub role: String,
}

/// The body of `POST /v1/tenants/{tenant_id}/members/{member_id}/role`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    /// The new role.
    pub role: String,
}

/// Lists a tenant's members.
#[utoipa::path(
    tag = "members",
    params(TenantPath),
    responses((status = 200, body = Vec<MemberView>), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/members")]
async fn list(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    caller
        .principal
        .require(path.tenant_id, "members", Access::Read)?;
    let tenant = require_tenant(&state, path.tenant_id).await?;
    let members: Vec<MemberView> = tenant.members().values().map(MemberView::of).collect();
    Ok(HttpResponse::Ok().json(members))
}

/// Adds a member.
#[utoipa::path(
    tag = "members",
    params(TenantPath),
    request_body = AddMemberRequest,
    responses((status = 200, body = CommandResult<TenantView>), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/members")]
async fn add(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = TenantCommand::AddMember(AddMember {
        member_id: Uuid::now_v7(),
        email: body.0.email,
        role: body.0.role,
    });
    run(
        &state,
        &caller,
        path.tenant_id,
        "members",
        Access::Write,
        "add_member",
        command,
    )
    .await
}

/// Gives a member another role; the last owner cannot be demoted.
#[utoipa::path(
    tag = "members",
    params(MemberPath),
    request_body = ChangeRoleRequest,
    responses((status = 200, body = CommandResult<TenantView>), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/members/{member_id}/role")]
async fn change_role(
    state: Data<AppState>,
    caller: Caller,
    path: Path<MemberPath>,
    body: JsonBody<ChangeRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = TenantCommand::ChangeMemberRole(ChangeMemberRole {
        member_id: path.member_id,
        role: body.0.role,
    });
    run(
        &state,
        &caller,
        path.tenant_id,
        "members",
        Access::Admin,
        "change_member_role",
        command,
    )
    .await
}

/// Removes a member; the last owner cannot be removed.
#[utoipa::path(
    tag = "members",
    params(MemberPath),
    responses((status = 200, body = CommandResult<TenantView>), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/members/{member_id}/remove")]
async fn remove(
    state: Data<AppState>,
    caller: Caller,
    path: Path<MemberPath>,
) -> Result<HttpResponse, ApiError> {
    let command = TenantCommand::RemoveMember(RemoveMember {
        member_id: path.member_id,
    });
    run(
        &state,
        &caller,
        path.tenant_id,
        "members",
        Access::Write,
        "remove_member",
        command,
    )
    .await
}
