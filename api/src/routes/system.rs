//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use crate::error::{ApiError, Problem};
use crate::metrics::Metrics;
use crate::state::AppState;
use actix_web::web::Data;
use actix_web::{get, HttpResponse};
use keel_reactors::relay::RelayStatus;
use serde::Serialize;
use utoipa::ToSchema;

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
    /// Each read model: how far it has folded the log, and whether it is stopped on a failing
    /// event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projections: Option<Vec<ProjectionHealth>>,
    /// Each background task (reactors, the read side's followers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskHealth>>,
    /// `signed` (audit checkpoints are signed with the key `audit_key_id`, served on
    /// `/.well-known/keel-audit-key`) or `unsigned` (`audit_signing = off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_signing: Option<&'static str>,
    /// The id of the key audit checkpoints are signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_key_id: Option<String>,
}

/// A read model's state on `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectionHealth {
    /// Its name.
    pub name: &'static str,
    /// `live`, `rebuilding` or `failed` (stopped on a failing event until retried or parked).
    pub state: &'static str,
    /// The last position it applied.
    pub position: u64,
    /// Committed events it has not applied.
    pub lag_events: u64,
}

/// A background task's state on `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskHealth {
    /// Its name (`relay`, `billing_close`, `quota_alerts`, `directory`, ...).
    pub name: &'static str,
    /// `running`; `standby` (a reactor whose lease another process holds); `failing` (it
    /// failed and is started again after a backoff); `stopped`.
    pub state: &'static str,
    /// How often it was started again after failing.
    pub restarts: u64,
    /// Its last failure, if it ever failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
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
        projections: None,
        tasks: None,
        audit_signing: None,
        audit_key_id: None,
    })
}

/// The node can serve requests: the database answers and its migrations ran (503 otherwise).
/// The body shows the rest, which does not stop the node from serving: how far the read side
/// is behind, a projection stopped on a failing event, the relay, and each background task
/// (a failing one is started again with a backoff).
#[utoipa::path(tag = "system", responses((status = 200, body = Health), (status = 503, body = Problem)))]
#[get("/readyz")]
async fn readyz(state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let head = state
        .store
        .head_position()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database is not reachable: {e}")))?;
    // The read models' tables and checkpoints come from the migrations: reading them checks
    // both that the database answers and that the node's schema is there.
    let projections = keel_projections::status(&state.log)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the read models are not reachable: {e}")))?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        backend: Some(state.store.backend()),
        head_position: Some(head),
        read_position: Some(state.directory.position()),
        relay: state.relay.as_deref().map(|r| RelayHealth::of(r, head)),
        projections: Some(
            projections
                .into_iter()
                .map(|p| ProjectionHealth {
                    name: p.name,
                    state: p.state,
                    position: p.position,
                    lag_events: p.lag_events,
                })
                .collect(),
        ),
        tasks: Some(
            state
                .tasks
                .statuses()
                .into_iter()
                .map(|t| TaskHealth {
                    name: t.name,
                    state: t.state.as_str(),
                    restarts: t.restarts,
                    last_error: t.last_error,
                })
                .collect(),
        ),
        audit_signing: Some(match state.audit_key() {
            Some(_) => "signed",
            None => "unsigned",
        }),
        audit_key_id: state.audit_key().map(|key| key.key_id.clone()),
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
    metrics.tasks.observe(&state.tasks.statuses());
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
    HttpResponse::Ok().json(api.get_ref())
}
