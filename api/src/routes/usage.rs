//! Usage: ingesting samples (scope `usage:write`), and reading usage and quota status
//! (scope `usage:read`) from the usage read model.

use super::kit::authorize_read_model;
use super::kit::paths::TenantPath;
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::Caller;
use crate::consistency::wait_for_projection;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, post, HttpResponse};
use chrono::{DateTime, Utc};
use keel_commands::facts::{append_facts, derived_id, Fact};
use keel_domain::usage::{sample_cause, usage_stream, UsageEvent, UsageRecorded};
use keel_projections::usage::meters::{meter, GRANULARITIES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Most samples in one request.
pub const MAX_BATCH: usize = 1000;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(ingest).service(read).service(quotas);
}

/// One usage sample.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageSample {
    /// A declared, ingestible meter: `storage_bytes`, `active_users`, `peak_connections`,
    /// `compute_seconds`.
    pub meter: String,
    /// The quantity, a non-negative integer in the meter's unit.
    pub quantity: u64,
    /// When it was used (RFC 3339; not in the future).
    pub timestamp: DateTime<Utc>,
    /// Your key for this sample; a repeat is accepted and ignored.
    pub idempotency_key: String,
    /// Extra dimensions (`active_users` counts distinct `user_id`s).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// A batch of samples.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordUsage {
    /// 1-1000 samples.
    pub events: Vec<UsageSample>,
}

/// What the ingestion did.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageAccepted {
    /// Samples accepted (repeats included: they are ignored, not refused).
    pub accepted: usize,
    /// Global position of the batch (also `X-Keel-Position`), for `?after_position=`.
    pub global_position: u64,
}

/// Records a batch of usage samples.
#[utoipa::path(
    tag = "usage",
    params(TenantPath),
    request_body = RecordUsage,
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 202, body = UsageAccepted), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/usage")]
async fn ingest(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<RecordUsage>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "usage", Access::Write).await?;
    let events = body.0.events;
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "events",
            format!("must hold 1-{MAX_BATCH} samples"),
        ));
    }
    let now = Utc::now();
    let mut samples = Vec::with_capacity(events.len());
    for (i, sample) in events.into_iter().enumerate() {
        let recorded = UsageRecorded::reported(
            &sample.meter,
            sample.quantity,
            sample.timestamp,
            &sample.idempotency_key,
            sample.properties,
            now,
        )
        .map_err(|e| ApiError::invalid(format!("events[{i}].{}", e.field), e.reason))?;
        samples.push(Fact {
            id: derived_id(&sample_cause(tenant, &recorded.idempotency_key)),
            event: UsageEvent::Recorded(recorded),
            metadata: caller.metadata(tenant),
        });
    }
    let accepted = samples.len();
    let position = append_facts(&*state.store, &usage_stream(tenant), samples).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((crate::command::POSITION, position.to_string()))
        .json(UsageAccepted {
            accepted,
            global_position: position,
        }))
}

/// Usage query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// The meter.
    pub meter: String,
    /// `hour`, `day` (default) or `month`.
    pub granularity: Option<String>,
    /// Periods starting at or after this time (RFC 3339; default: 30 days ago).
    pub from: Option<DateTime<Utc>>,
    /// Periods starting before this time (default: now).
    pub to: Option<DateTime<Utc>>,
    /// Read-your-writes: wait until the usage read model has folded this position.
    pub after_position: Option<u64>,
}

/// A meter's usage over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSeries {
    /// The meter.
    pub meter: String,
    /// The granularity.
    pub granularity: String,
    /// One point per period with usage, oldest first.
    pub points: Vec<keel_projections::usage::UsagePoint>,
}

/// A tenant's usage of a meter over a time range at a granularity.
#[utoipa::path(
    tag = "usage",
    params(TenantPath, UsageQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = UsageSeries), (status = 400, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/usage")]
async fn read(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "usage", Access::Read).await?;
    if meter(&query.meter).is_none() {
        return Err(ApiError::bad_parameter("meter", "is not a declared meter"));
    }
    let granularity = query.granularity.clone().unwrap_or_else(|| "day".into());
    if !GRANULARITIES.contains(&granularity.as_str()) {
        return Err(ApiError::bad_parameter(
            "granularity",
            "must be `hour`, `day` or `month`",
        ));
    }
    let to = query.to.unwrap_or_else(Utc::now);
    let from = query.from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        return Err(ApiError::bad_parameter("from", "must not be after `to`"));
    }
    wait_for_projection(&state, "usage", query.after_position).await?;
    let points = keel_projections::usage::usage(
        &state.store.database(),
        tenant,
        &query.meter,
        &granularity,
        from,
        to,
    )
    .await?;
    Ok(HttpResponse::Ok().json(UsageSeries {
        meter: query.meter.clone(),
        granularity,
        points,
    }))
}

/// Read-your-writes only.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuotaQuery {
    /// Wait until the usage read model has folded this position.
    pub after_position: Option<u64>,
}

/// Every meter's quota status.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaList {
    /// One entry per meter: limit (plan or override), used, remaining, percent.
    pub items: Vec<keel_projections::usage::QuotaStatus>,
}

/// A tenant's quota status for the current billing month.
#[utoipa::path(
    tag = "usage",
    params(TenantPath, QuotaQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = QuotaList), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/quotas")]
async fn quotas(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<QuotaQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "usage", Access::Read).await?;
    wait_for_projection(&state, "usage", query.after_position).await?;
    let items = keel_projections::usage::quota_status(
        &state.store.database(),
        &state.catalogue,
        tenant,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(QuotaList { items }))
}
