//! A tenant's members: add, change role, remove, list.

use super::kit::paths::{MemberPath, TenantPath};
use super::kit::{command_route, list_route, Allowed};
use crate::auth::Access;
use crate::views::{MemberView, TenantView};
use actix_web::{get, post};
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

list_route! {
    /// Lists a tenant's members.
    list: "/v1/tenants/{tenant_id}/members", "members", "members", tenant.members() => MemberView
}

command_route! {
    "members", Allowed::Scope("members", Access::Write), TenantPath => TenantView;
    /// Adds a member.
    add: "/v1/tenants/{tenant_id}/members", body AddMemberRequest
        => |_, b, &grantor| Ok(AddMember {
            grantor, member_id: Uuid::now_v7(), email: b.email, role: b.role,
        }.into());
}
command_route! {
    "members", Allowed::Scope("members", Access::Admin), MemberPath => TenantView;
    /// Gives a member another role; the last owner cannot be demoted.
    change_role: "/v1/tenants/{tenant_id}/members/{member_id}/role", body ChangeRoleRequest
        => |path, b, &grantor| Ok(ChangeMemberRole {
            grantor, member_id: path.member_id, role: b.role,
        }.into());
}
command_route! {
    "members", Allowed::Scope("members", Access::Write), MemberPath => TenantView;
    /// Removes a member; the last owner cannot be removed.
    remove: "/v1/tenants/{tenant_id}/members/{member_id}/remove"
        => |path, (), &grantor| Ok(RemoveMember { grantor, member_id: path.member_id }.into());
}
