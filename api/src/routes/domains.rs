//! A tenant's custom domains: add, verify, remove.
//!
//! Adding a domain issues its challenge token (random, made here: the domain stays pure).
//! Verifying looks up the TXT record `_keel-challenge.<domain>` through the configured
//! resolver (`dns_nameserver`) and lets the tenant aggregate decide whether it holds the token;
//! the lookup is made only for a caller allowed to verify, and only for an unverified domain
//! of the tenant, so a key cannot make Keel query arbitrary names.

use super::kit::paths::{DomainPath, TenantPath};
use super::kit::{command_route, run, Allowed, Target};
use crate::auth::token::random_url_safe;
use crate::auth::Access;
use crate::command::{respond, Caller, CommandResult};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::TenantView;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{post, HttpResponse};
use keel_domain::tenant::{AddDomain, DomainName, RemoveDomain, TxtLookup, VerifyDomain};
use keel_domain::AggregateId;

/// Random bytes of a challenge token (32 characters of base64).
const CHALLENGE_BYTES: usize = 24;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(add).service(verify).service(remove);
}

command_route! {
    "domains", Allowed::Scope("tenants", Access::Write), TenantPath => TenantView;
    /// Adds a custom domain, unverified, with the challenge token its TXT record
    /// `_keel-challenge.<domain>` must hold for it to be verified (see the domain's view).
    add: "/v1/tenants/{tenant_id}/domains", body AddDomain
        => |_, body, _| Ok(AddDomain { challenge: random_url_safe::<CHALLENGE_BYTES>(), ..body }.into());
}

/// Verifies a custom domain if the TXT record `_keel-challenge.<domain>` holds its challenge
/// token. Otherwise 409 `domain_proof_missing`, saying which record and token were expected
/// and what was found; 409 `taken` if another tenant holds the domain verified.
#[utoipa::path(
    tag = "domains",
    params(DomainPath),
    responses(
        (status = 200, body = CommandResult<TenantView>),
        (status = 403, description = "The key may not do this"),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/domains/{domain}/verify")]
async fn verify(
    state: Data<AppState>,
    caller: Caller,
    path: Path<DomainPath>,
) -> Result<HttpResponse, ApiError> {
    let allowed = Allowed::Scope("tenants", Access::Write);
    let path = path.into_inner();
    path.authorize(&caller.principal, allowed)?;
    let found = look_up(&state, &path).await?;
    let outcome = run(&state, &caller, &path, allowed, |_| {
        Ok(VerifyDomain {
            domain: path.domain.clone(),
            found,
        }
        .into())
    })
    .await?;
    Ok(respond(
        StatusCode::OK,
        &outcome,
        TenantView::of(&outcome.state),
    ))
}

/// What the challenge record of the path's domain holds, if it is an unverified domain of the
/// tenant; otherwise nothing is looked up (and the command refuses).
async fn look_up(state: &AppState, path: &DomainPath) -> Result<TxtLookup, ApiError> {
    let Ok(name) = DomainName::parse(&path.domain) else {
        return Ok(TxtLookup::NotLookedUp);
    };
    let tenant = state
        .tenants
        .state(AggregateId::tenant(path.tenant_id))
        .await?;
    Ok(match tenant.state.domain(name.as_str()) {
        Some(domain) if !domain.verified => state.challenges.lookup(&domain.name).await,
        _ => TxtLookup::NotLookedUp,
    })
}

command_route! {
    "domains", Allowed::Scope("tenants", Access::Write), DomainPath => TenantView;
    /// Removes a custom domain (and gives up its claim, if it was verified).
    remove: "/v1/tenants/{tenant_id}/domains/{domain}/remove"
        => |path, (), _| Ok(RemoveDomain { domain: path.domain.clone() }.into());
}
