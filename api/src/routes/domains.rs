//! A tenant's custom domains: add, verify, remove.

use super::tenants::{run, TenantPath};
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{Caller, CommandResult};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::views::TenantView;
use actix_web::web::{Data, Path};
use actix_web::{post, HttpResponse};
use keel_domain::tenant::{AddDomain, RemoveDomain, TenantCommand, VerifyDomain};
use keel_domain::TenantId;
use serde::Deserialize;
use utoipa::IntoParams;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(add).service(verify).service(remove);
}

/// A domain in a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DomainPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The hostname.
    pub domain: String,
}

/// Adds a custom domain (unverified).
#[utoipa::path(
    tag = "domains",
    params(TenantPath),
    request_body = AddDomain,
    responses((status = 200, body = CommandResult<TenantView>), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/domains")]
async fn add(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<AddDomain>,
) -> Result<HttpResponse, ApiError> {
    let command = TenantCommand::AddDomain(body.0);
    run(
        &state,
        &caller,
        path.tenant_id,
        "tenants",
        Access::Write,
        "add_domain",
        command,
    )
    .await
}

/// Records that control of a custom domain was proven.
#[utoipa::path(
    tag = "domains",
    params(DomainPath),
    responses((status = 200, body = CommandResult<TenantView>), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/domains/{domain}/verify")]
async fn verify(
    state: Data<AppState>,
    caller: Caller,
    path: Path<DomainPath>,
) -> Result<HttpResponse, ApiError> {
    let DomainPath { tenant_id, domain } = path.into_inner();
    let command = TenantCommand::VerifyDomain(VerifyDomain { domain });
    run(
        &state,
        &caller,
        tenant_id,
        "tenants",
        Access::Write,
        "verify_domain",
        command,
    )
    .await
}

/// Removes a custom domain.
#[utoipa::path(
    tag = "domains",
    params(DomainPath),
    responses((status = 200, body = CommandResult<TenantView>), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/domains/{domain}/remove")]
async fn remove(
    state: Data<AppState>,
    caller: Caller,
    path: Path<DomainPath>,
) -> Result<HttpResponse, ApiError> {
    let DomainPath { tenant_id, domain } = path.into_inner();
    let command = TenantCommand::RemoveDomain(RemoveDomain { domain });
    run(
        &state,
        &caller,
        tenant_id,
        "tenants",
        Access::Write,
        "remove_domain",
        command,
    )
    .await
}
