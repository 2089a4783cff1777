//! A tenant's event stream: a paged JSON view of every event of the tenant, in log order,
//! with the fields that hold secrets (key hashes, encrypted secrets) removed.

use super::kit::paths::TenantPath;
use crate::auth::Access;
use crate::command::Caller;
use crate::error::{ApiError, Problem};
use crate::redact::event_view;
use crate::state::AppState;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list);
}

/// Paging of `GET /v1/tenants/{tenant_id}/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events after this global position (default 0: from the start).
    pub after_position: Option<u64>,
    /// Page size, 1-1000 (default 100).
    pub limit: Option<usize>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events, as JSON.
    pub items: Vec<keel_store::EventJson>,
    /// Pass as `after_position` for the next page; absent on the last page.
    pub next_after_position: Option<u64>,
}

/// Lists a tenant's events in log order.
#[utoipa::path(
    tag = "events",
    params(TenantPath, EventsQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = EventPage), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/events")]
async fn list(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    caller
        .principal
        .require(path.tenant_id, "audit", Access::Read)?;
    let limit = super::page_limit(query.limit)?;
    let events = state
        .store
        .read_tenant(path.tenant_id, query.after_position.unwrap_or(0), limit)
        .await?;
    let next_after_position = (events.len() == limit)
        .then(|| events.last().map(|e| e.global_position))
        .flatten();
    Ok(HttpResponse::Ok().json(EventPage {
        items: events.iter().map(event_view).collect(),
        next_after_position,
    }))
}
