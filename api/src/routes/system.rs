//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use crate::error::{ApiError, Problem};
use crate::metrics::Metrics;
use crate::state::AppState;
use actix_web::web::Data;
use actix_web::{get, HttpResponse};
use keel_reactors::relay::RelayStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// How far (in events) the read side may trail the log before the server reports not ready.
pub const MAX_READY_LAG: u64 = 10_000;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz)
        .service(readyz)
        .service(metrics)
        .service(openapi_json);
}

/// Liveness or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// The event store backend (`sqlite` or `postgres`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'static str>,
    /// Position of the last committed event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_position: Option<u64>,
    /// Position the read side has reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_position: Option<u64>,
    /// The NATS relay, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayHealth>,
}

/// The NATS relay's state. A failing relay does not make the server unready: commands still
/// commit, and the relay publishes them from its checkpoint once NATS answers again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelayHealth {
    /// `ok` or `failing`.
    pub status: &'static str,
    /// Position of the last event JetStream acknowledged.
    pub position: u64,
    /// Committed events not yet acknowledged.
    pub lag: u64,
    /// The last failure while failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RelayHealth {
    fn of(status: &RelayStatus, head: u64) -> Self {
        let snapshot = status.snapshot();
        RelayHealth {
            status: if snapshot.connected { "ok" } else { "failing" },
            position: snapshot.position,
            lag: head.saturating_sub(snapshot.position),
            error: snapshot.last_error,
        }
    }
}

/// The process is alive.
#[utoipa::path(tag = "system", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        backend: None,
        head_position: None,
        read_position: None,
        relay: None,
    })
}

/// The server can serve: the database answers (its migrations ran at start), the read side
/// (the tenant directory and every projection) is within [`MAX_READY_LAG`] events of the log,
/// and no projection is stopped on a failing event.
#[utoipa::path(tag = "system", responses((status = 200, body = Health), (status = 503, body = Problem)))]
#[get("/readyz")]
async fn readyz(state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let head = state
        .store
        .head_position()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database is not reachable: {e}")))?;
    let read = state.directory.position();
    if head.saturating_sub(read) > MAX_READY_LAG {
        return Err(ApiError::Unavailable(format!(
            "the read side is {} events behind the log",
            head - read
        )));
    }
    let projections = keel_projections::status(&state.log)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the read models are not reachable: {e}")))?;
    for projection in &projections {
        if projection.state == "failed" {
            return Err(ApiError::Unavailable(format!(
                "projection {} is stopped on the event at position {}",
                projection.name,
                projection.failed_position.unwrap_or(0)
            )));
        }
        if projection.lag_events > MAX_READY_LAG {
            return Err(ApiError::Unavailable(format!(
                "projection {} is {} events behind the log",
                projection.name, projection.lag_events
            )));
        }
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        backend: Some(state.store.backend()),
        head_position: Some(head),
        read_position: Some(read),
        relay: state.relay.as_deref().map(|r| RelayHealth::of(r, head)),
    }))
}

/// Prometheus metrics (text format).
#[utoipa::path(tag = "system", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
async fn metrics(state: Data<AppState>, metrics: Data<Metrics>) -> HttpResponse {
    if let Ok(head) = state.store.head_position().await {
        metrics.head_position.set(head as i64);
        if let Some(relay) = &state.relay {
            metrics.relay.observe(&relay.snapshot(), head);
        }
    }
    metrics
        .directory_position
        .set(state.directory.position() as i64);
    match keel_projections::status(&state.log).await {
        Ok(statuses) => metrics.record_projections(&statuses),
        Err(error) => tracing::warn!(%error, "cannot read the projections' status for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(tag = "system", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
async fn openapi_json(api: Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    // The routes' paths are known only once the app is assembled, so the error responses they
    // share are added here; the document is fetched by tools, rarely, and this costs a copy.
    let mut document = api.get_ref().clone();
    crate::openapi::document_problems(&mut document);
    HttpResponse::Ok().json(document)
}
