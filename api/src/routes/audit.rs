//! A tenant's audit trail: filtered, cursor-paginated records; streamed JSON Lines and CSV
//! exports; verification of the tenant's hash chain. Scope `audit:read`; another tenant's
//! trail answers 404. And the public key that checks the chains' signed checkpoints, served to
//! anyone at `/.well-known/keel-audit-key` (auditors verify exports offline with it).

use super::kit::authorize_read_model;
use super::kit::paths::TenantPath;
use crate::auth::Access;
use crate::command::Caller;
use crate::consistency::wait_for_projection;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{get, HttpResponse};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use keel_domain::TenantId;
use keel_projections::audit::{self, AuditFilter, ExportFormat, PublicKeyView};
use keel_projections::reports::compliance::ChainVerification;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(export)
        .service(verify)
        .service(public_key);
}

/// Filters shared by the audit list and export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only records of this actor (an API key id, user id or component name).
    pub actor: Option<String>,
    /// Only records about this entity type (`tenant`, `member`, `api_key`, `policy`, ...).
    pub entity_type: Option<String>,
    /// Only records about this entity id.
    pub entity_id: Option<String>,
    /// Only this action (an event type such as `tenant.settings_updated`).
    pub action: Option<String>,
    /// Only records that happened at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only records that happened before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Only records after this chain number (`next_cursor` of the previous page).
    pub cursor: Option<u64>,
    /// Page size, 1-1000 (default 100). List only.
    pub limit: Option<usize>,
    /// `jsonl` (default) or `csv`. Export only.
    pub format: Option<String>,
    /// Read-your-writes: wait until the audit trail has folded this global position.
    pub after_position: Option<u64>,
}

impl AuditQuery {
    fn filter(&self, tenant_id: TenantId) -> Result<AuditFilter, ApiError> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(ApiError::bad_parameter("from", "must not be after `to`"));
            }
        }
        Ok(AuditFilter {
            tenant_id,
            actor_id: self.actor.clone(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id.clone(),
            action: self.action.clone(),
            from: self.from,
            to: self.to,
            after_seq: self.cursor,
        })
    }
}

/// A page of audit records.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    /// The records in chain order.
    pub items: Vec<keel_projections::audit::AuditRecord>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

/// Authorizes the caller (scope `audit:read`) and waits for the audit trail to fold `after`.
async fn authorize_and_wait(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    after: Option<u64>,
) -> Result<(), ApiError> {
    authorize_read_model(state, &caller.principal, tenant, "audit", Access::Read).await?;
    wait_for_projection(state, "audit", after).await
}

/// Lists a tenant's audit records.
#[utoipa::path(
    tag = "audit",
    params(TenantPath, AuditQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = AuditPageView), (status = 400, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/audit")]
async fn list(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize_and_wait(&state, &caller, path.tenant_id, query.after_position).await?;
    let limit = super::page_limit(query.limit)?;
    let page = audit::query(
        &state.store.database(),
        &query.filter(path.tenant_id)?,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(AuditPageView {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Streams a tenant's audit records as JSON Lines or CSV (constant memory on the server).
#[utoipa::path(
    tag = "audit",
    params(TenantPath, AuditQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, description = "JSON Lines (`application/x-ndjson`) or CSV (`text/csv`)", content_type = "application/x-ndjson"),
        (status = 400, body = Problem), (status = 404, body = Problem)
    ),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/audit/export")]
async fn export(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize_and_wait(&state, &caller, path.tenant_id, query.after_position).await?;
    let (format, content_type, extension) = match query.format.as_deref() {
        None | Some("jsonl") => (ExportFormat::JsonLines, "application/x-ndjson", "jsonl"),
        Some("csv") => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "format",
                "must be `jsonl` or `csv`",
            ))
        }
    };
    let chunks = audit::export_stream(
        &state.store.database(),
        &query.filter(path.tenant_id)?,
        format,
        state.audit_signer.clone(),
    )
    .map(|chunk| {
        chunk.map(Bytes::from).map_err(|error| {
            // The status line is gone by now: log, and cut the body short.
            tracing::error!(%error, "audit export failed mid-stream");
            actix_web::error::ErrorInternalServerError("export failed")
        })
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "content-disposition",
            format!(
                "attachment; filename=\"audit-{}.{extension}\"",
                path.tenant_id
            ),
        ))
        .streaming(chunks))
}

/// Verifies a tenant's audit hash chain and names the first broken record.
#[utoipa::path(
    tag = "audit",
    params(TenantPath),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = ChainVerification), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/audit/verify")]
async fn verify(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
) -> Result<HttpResponse, ApiError> {
    authorize_and_wait(&state, &caller, path.tenant_id, None).await?;
    let report = audit::verify(
        &state.store.database(),
        Some(path.tenant_id),
        state.audit_key(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(ChainVerification::of(report)))
}

/// The public key audit checkpoints and exported heads are signed with (Ed25519), for
/// auditors who verify exports offline (`keel audit verify --export FILE --public-key KEY`).
/// No authentication: the key is public. 404 when `audit_signing` is off.
#[utoipa::path(
    tag = "audit",
    responses((status = 200, body = PublicKeyView), (status = 404, body = Problem))
)]
#[get("/.well-known/keel-audit-key")]
async fn public_key(state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let key = state.audit_key().ok_or_else(|| ApiError::NotFound {
        code: "audit_unsigned",
        detail: "audit signing is off: audit checkpoints are unsigned".into(),
    })?;
    Ok(HttpResponse::Ok().json(key.view()))
}
