//! A tenant's members: add, change role, remove, list.

use super::kit::paths::{MemberPath, TenantPath};
use super::kit::{authorize_tenant, command_route, Allowed};
use crate::auth::Access;
use crate::command::Caller;
use crate::consistency::ReadAfter;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::views::{MemberView, TenantView};
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use keel_domain::tenant::{AddMember, ChangeMemberRole, RemoveMember};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(add)
        .service(change_role)
        .service(remove);
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
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = Vec<MemberView>), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/members")]
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
        "members",
        Access::Read,
    )
    .await?;
    let members: Vec<MemberView> = tenant.members().values().map(MemberView::of).collect();
    Ok(HttpResponse::Ok().json(members))
}

command_route! {
    /// Adds a member.
    add: "/v1/tenants/{tenant_id}/members", "members",
    Allowed::Scope("members", Access::Write), TenantPath, body AddMemberRequest => TenantView,
    |_, body, &grantor| Ok(AddMember {
        grantor, member_id: Uuid::now_v7(), email: body.email, role: body.role,
    }.into())
}
command_route! {
    /// Gives a member another role; the last owner cannot be demoted.
    change_role: "/v1/tenants/{tenant_id}/members/{member_id}/role", "members",
    Allowed::Scope("members", Access::Admin), MemberPath, body ChangeRoleRequest => TenantView,
    |path, body, &grantor| Ok(ChangeMemberRole {
        grantor, member_id: path.member_id, role: body.role,
    }.into())
}
command_route! {
    /// Removes a member; the last owner cannot be removed.
    remove: "/v1/tenants/{tenant_id}/members/{member_id}/remove", "members",
    Allowed::Scope("members", Access::Write), MemberPath => TenantView,
    |path, (), &grantor| Ok(RemoveMember { grantor, member_id: path.member_id }.into())
}
