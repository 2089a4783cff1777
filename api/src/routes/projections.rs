//! The projections' status (position, lag, failure, dead letters), for operators: admin keys.

use crate::command::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::web::Data;
use actix_web::{get, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list);
}

/// Every projection's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectionList {
    /// One entry per projection.
    pub items: Vec<keel_projections::ProjectionStatus>,
}

/// Lists the projections with their position, lag (events and seconds behind the head),
/// state (`running` or `failed` with the failing event and error) and dead letters.
#[utoipa::path(
    tag = "system",
    responses((status = 200, body = ProjectionList), (status = 403, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/projections")]
async fn list(state: Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.principal.require_admin()?;
    let items = keel_projections::status(&state.log).await?;
    Ok(HttpResponse::Ok().json(ProjectionList { items }))
}
