//! A tenant's custom domains: add, verify, remove.

use super::kit::paths::{DomainPath, TenantPath};
use super::kit::{command_route, Allowed};
use crate::auth::Access;
use crate::views::TenantView;
use actix_web::post;
use keel_domain::tenant::{AddDomain, RemoveDomain, VerifyDomain};

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(add).service(verify).service(remove);
}

command_route! {
    "domains", Allowed::Scope("tenants", Access::Write), TenantPath => TenantView;
    /// Adds a custom domain (unverified).
    add: "/v1/tenants/{tenant_id}/domains", body AddDomain;
}
command_route! {
    "domains", Allowed::Scope("tenants", Access::Write), DomainPath => TenantView;
    /// Records that control of a custom domain was proven.
    verify: "/v1/tenants/{tenant_id}/domains/{domain}/verify"
        => |path, (), _| Ok(VerifyDomain { domain: path.domain.clone() }.into());
    /// Removes a custom domain.
    remove: "/v1/tenants/{tenant_id}/domains/{domain}/remove"
        => |path, (), _| Ok(RemoveDomain { domain: path.domain.clone() }.into());
}
