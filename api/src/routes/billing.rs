//! Billing: the plan catalogue, a tenant's draft invoice for the running month, its finalised
//! invoices (history and one with its lines and credit notes), and credit notes.
//!
//! Reads need the scope `billing:read`, credit notes `billing:write` (or a platform admin
//! key); another tenant's invoices answer 404. Invoices are read from the billing read model
//! (`?after_position=` waits for it); the draft is priced on each request from the plan
//! records, the usage read model and the catalogue, so it follows every event.

use super::kit::authorize_read_model;
use super::kit::paths::{InvoicePath, TenantPath};
use super::tenant_aggregates::{aggregate_id, load_owned};
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{execute, respond, Caller, CommandResult};
use crate::consistency::wait_for_projection;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, post, HttpResponse};
use chrono::{DateTime, Utc};
use keel_domain::billing::{
    InvoiceCommand, IssueCreditNote, LineItem, MeterPrice, Period, PricedPeriod,
};
use keel_projections::billing::{CreditNoteView, InvoiceDetail, InvoiceSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(plans)
        .service(draft)
        .service(history)
        .service(one)
        .service(credit);
}

/// One plan of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// The plan's name.
    pub plan: &'static str,
    /// ISO 4217 code.
    pub currency: String,
    /// The price of a whole calendar month, in minor units.
    pub base_price_minor: u64,
    /// Per meter: `included` units, `quota` (absent: none), `per_units` and graduated `tiers`
    /// (`up_to` counts the month's total usage; the last tier is unbounded).
    pub meters: BTreeMap<String, MeterPrice>,
}

/// The plan catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    /// Every plan, in the order free, standard, premium, enterprise, enterprise_plus,
    /// white_label.
    pub items: Vec<PlanView>,
}

/// Lists the plan catalogue: prices, included units, quotas and overage tiers.
#[utoipa::path(
    tag = "billing",
    responses((status = 200, body = PlanList), (status = 401, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/plans")]
async fn plans(state: Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    // Any valid key may read the price list: it is the same for every tenant.
    let items = state
        .catalogue
        .plans()
        .map(|(plan, price)| PlanView {
            plan: plan.as_str(),
            currency: price.currency.clone(),
            base_price_minor: price.base_price_minor,
            meters: price.meters.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(PlanList { items }))
}

/// Read-your-writes only.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BillingQuery {
    /// Wait until the billing (and, for the draft, usage) read models have folded this
    /// position.
    pub after_position: Option<u64>,
}

/// The running month's invoice as it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftInvoiceView {
    /// Always `draft`: it changes as events arrive until the period closes.
    pub status: &'static str,
    /// The period, `YYYY-MM`.
    pub period: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Base lines (one per run of days on one plan), then usage lines per meter and tier.
    pub lines: Vec<LineItem>,
    /// The sum of the lines, in minor units.
    pub total_minor: u64,
    /// When it was priced.
    pub as_of: DateTime<Utc>,
}

impl DraftInvoiceView {
    fn of(priced: PricedPeriod, as_of: DateTime<Utc>) -> Self {
        DraftInvoiceView {
            status: "draft",
            period: priced.period.to_string(),
            currency: priced.currency,
            lines: priced.lines,
            total_minor: priced.total_minor,
            as_of,
        }
    }
}

/// A tenant's draft invoice for the running billing month (UTC).
#[utoipa::path(
    tag = "billing",
    params(TenantPath, BillingQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = DraftInvoiceView), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/invoices/draft")]
async fn draft(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<BillingQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "billing", Access::Read).await?;
    wait_for_projection(&state, "billing", query.after_position).await?;
    wait_for_projection(&state, "usage", query.after_position).await?;
    let now = Utc::now();
    let priced = keel_projections::billing::draft(
        &state.store.database(),
        &state.catalogue,
        tenant,
        Period::of(now),
    )
    .await?;
    Ok(HttpResponse::Ok().json(DraftInvoiceView::of(priced, now)))
}

/// Invoice history paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InvoiceListQuery {
    /// Only invoices of periods before this one, `YYYY-MM` (`next_cursor` of the previous
    /// page).
    pub cursor: Option<String>,
    /// Page size, 1-1000 (default 100).
    pub limit: Option<usize>,
    /// Wait until the billing read model has folded this position.
    pub after_position: Option<u64>,
}

/// A page of finalised invoices.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoicePageView {
    /// Newest period first.
    pub items: Vec<InvoiceSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A tenant's finalised invoices, newest first.
#[utoipa::path(
    tag = "billing",
    params(TenantPath, InvoiceListQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = InvoicePageView), (status = 400, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/invoices")]
async fn history(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    query: Query<InvoiceListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "billing", Access::Read).await?;
    let limit = super::page_limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(Period::parse)
        .transpose()
        .map_err(|e| ApiError::bad_parameter("cursor", e.reason()))?;
    wait_for_projection(&state, "billing", query.after_position).await?;
    let page =
        keel_projections::billing::invoices(&state.store.database(), tenant, before, limit).await?;
    Ok(HttpResponse::Ok().json(InvoicePageView {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// A finalised invoice with its lines and credit notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    /// Always `finalized`: a final invoice never changes; credit notes correct it.
    pub status: &'static str,
    /// The invoice, its lines and credit notes.
    #[serde(flatten)]
    pub invoice: InvoiceDetail,
    /// The total less the credit notes.
    pub balance_minor: u64,
}

/// One of a tenant's finalised invoices.
#[utoipa::path(
    tag = "billing",
    params(InvoicePath, BillingQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = InvoiceView), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/invoices/{invoice_id}")]
async fn one(
    state: Data<AppState>,
    caller: Caller,
    path: Path<InvoicePath>,
    query: Query<BillingQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "billing", Access::Read).await?;
    wait_for_projection(&state, "billing", query.after_position).await?;
    let invoice =
        keel_projections::billing::invoice(&state.store.database(), tenant, path.invoice_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
    let balance_minor = invoice
        .summary
        .total_minor
        .saturating_sub(invoice.summary.credited_minor);
    Ok(HttpResponse::Ok().json(InvoiceView {
        status: "finalized",
        invoice,
        balance_minor,
    }))
}

/// The body of `POST /v1/tenants/{tenant_id}/invoices/{invoice_id}/credit-notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCreditNoteRequest {
    /// What to credit, in minor units: at least 1, at most the invoice's total less earlier
    /// credit notes.
    pub amount_minor: u64,
    /// Why, 1-500 characters.
    pub reason: String,
}

/// Issues a credit note on a finalised invoice.
#[utoipa::path(
    tag = "billing",
    params(InvoicePath),
    request_body = IssueCreditNoteRequest,
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 201, body = CommandResult<CreditNoteView>), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/invoices/{invoice_id}/credit-notes")]
async fn credit(
    state: Data<AppState>,
    caller: Caller,
    path: Path<InvoicePath>,
    body: JsonBody<IssueCreditNoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_read_model(&state, &caller.principal, tenant, "billing", Access::Write).await?;
    // Another tenant's invoice, or one not finalised, is 404 before anything is decided.
    load_owned(&state.invoices, tenant, path.invoice_id).await?;
    let command = InvoiceCommand::IssueCreditNote(IssueCreditNote {
        credit_note_id: Uuid::now_v7(),
        amount_minor: body.0.amount_minor,
        reason: body.0.reason,
    });
    let outcome = execute(
        &state,
        &state.invoices,
        aggregate_id(tenant, path.invoice_id),
        command,
        &caller,
    )
    .await?;
    let note = outcome
        .state
        .credit_notes()
        .last()
        .map(|n| CreditNoteView {
            credit_note_id: n.credit_note_id,
            amount_minor: n.amount_minor,
            reason: n.reason.as_str().to_owned(),
            issued_at: n.issued_at,
        })
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "a credit note was issued but is not in the state"
            ))
        })?;
    Ok(respond(StatusCode::CREATED, &outcome, note))
}
