//! The HTTP routes, one module per resource, each ending in the function that registers them.
//!
//! Commands are `POST`s on a resource's action (`/v1/tenants/{id}/suspend`); queries are `GET`s.
//! Every route is documented with `#[utoipa::path]` and registered through `utoipa-actix-web`,
//! so the OpenAPI document at `/openapi.json` covers exactly the routes that exist.

pub mod admin_keys;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod domains;
pub mod events;
pub mod integrations;
mod kit;
pub mod members;
pub mod policies;
pub mod projections;
pub mod reports;
pub mod runs;
pub mod system;
mod tenant_aggregates;
pub mod tenants;
pub mod usage;
pub mod workflows;

/// Registers every route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    system::configure(cfg);
    tenants::configure(cfg);
    members::configure(cfg);
    domains::configure(cfg);
    api_keys::configure(cfg);
    events::configure(cfg);
    integrations::configure(cfg);
    admin_keys::configure(cfg);
    policies::configure(cfg);
    workflows::configure(cfg);
    runs::configure(cfg);
    audit::configure(cfg);
    projections::configure(cfg);
    usage::configure(cfg);
    reports::configure(cfg);
    billing::configure(cfg);
}

/// The page size a paged query asks for with `limit`: 1-1000, 100 if absent.
pub fn page_limit(limit: Option<usize>) -> Result<usize, crate::error::ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(crate::error::ApiError::bad_parameter(
            "limit",
            "must be between 1 and 1000",
        ))
    }
}
