//! Billing queries: a tenant's plan history, its draft invoice for a running period (priced
//! now from the read models and the catalogue), its finalised invoices and one invoice with
//! its lines and credit notes. Every query names the tenant it serves.

use crate::db::from_micros;
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::billing::{price_period, Catalogue, LineItem, Period, PlanHistory, PricedPeriod};
use keel_domain::shared::Plan;
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// `tenant`'s plan records, in log order; empty if the tenant is unknown.
pub async fn plan_history(db: &Database, tenant: TenantId) -> Result<PlanHistory, ProjectionError> {
    let rows: Vec<(String, i64, Option<String>)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT kind, effective_at, plan FROM billing_plans WHERE tenant_id = $1 ORDER BY position")
            .bind(tenant.to_string()).fetch_all(pool).await?
    });
    let mut history = PlanHistory::default();
    for (kind, at, plan) in rows {
        let at = from_micros(at);
        match (kind.as_str(), plan.as_deref().map(Plan::parse)) {
            ("closed", _) => history.closed_at = Some(at),
            (_, Some(Ok(plan))) => history.records.push((at, plan)),
            _ => {
                return Err(ProjectionError::InvalidState(format!(
                    "billing_plans of tenant {tenant} holds a `{kind}` row without a known plan"
                )))
            }
        }
    }
    Ok(history)
}

/// `tenant`'s invoice for `period` as it stands: its plan days and the month's usage so far,
/// priced with `catalogue`. For the running period this is the draft.
pub async fn draft(
    db: &Database,
    catalogue: &Catalogue,
    tenant: TenantId,
    period: Period,
) -> Result<PricedPeriod, ProjectionError> {
    let history = plan_history(db, tenant).await?;
    let usage: BTreeMap<String, u64> = crate::usage::month_usage(db, tenant, period.start())
        .await?
        .into_iter()
        .map(|(meter, used)| (meter.to_owned(), used))
        .collect();
    Ok(price_period(catalogue, period, &history, &usage))
}

/// A finalised invoice, without its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceSummary {
    /// The invoice's id.
    pub invoice_id: Uuid,
    /// The period, `YYYY-MM`.
    pub period: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The total, in minor units.
    pub total_minor: u64,
    /// The sum of its credit notes.
    pub credited_minor: u64,
    /// When it was finalised.
    pub finalized_at: DateTime<Utc>,
}

/// A credit note on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditNoteView {
    /// The credit note's id.
    pub credit_note_id: Uuid,
    /// The amount credited, in minor units.
    pub amount_minor: u64,
    /// Why.
    pub reason: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

/// One invoice with its lines and credit notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceDetail {
    /// The invoice.
    #[serde(flatten)]
    pub summary: InvoiceSummary,
    /// Its frozen lines.
    pub lines: Vec<LineItem>,
    /// Its credit notes, oldest first.
    pub credit_notes: Vec<CreditNoteView>,
}

/// A page of invoices, newest period first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoicePage {
    /// The invoices.
    pub items: Vec<InvoiceSummary>,
    /// The period to pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

type SummaryRow = (String, String, String, i64, i64, i64);

fn summary((invoice_id, period, currency, total, credited, at): SummaryRow) -> InvoiceSummary {
    InvoiceSummary {
        // Written by the projection from a `Uuid`; a corrupt value reads as the nil id.
        invoice_id: invoice_id.parse().unwrap_or_default(),
        period,
        currency,
        total_minor: total.max(0) as u64,
        credited_minor: credited.max(0) as u64,
        finalized_at: from_micros(at),
    }
}

/// Up to `limit` of `tenant`'s invoices with a period before `before` (all if `None`),
/// newest first.
pub async fn invoices(
    db: &Database,
    tenant: TenantId,
    before: Option<Period>,
    limit: usize,
) -> Result<InvoicePage, ProjectionError> {
    // `YYYY-MM` sorts as text in time order; "9999-99" is after every period.
    let before = before.map_or_else(|| "9999-99".to_owned(), |p| p.to_string());
    let rows: Vec<SummaryRow> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT invoice_id, period, currency, total_minor, credited_minor, finalized_at FROM billing_invoices WHERE tenant_id = $1 AND period < $2 ORDER BY period DESC LIMIT $3")
            .bind(tenant.to_string()).bind(before).bind(limit as i64).fetch_all(pool).await?
    });
    let items: Vec<InvoiceSummary> = rows.into_iter().map(summary).collect();
    let next_cursor = (items.len() == limit)
        .then(|| items.last().map(|i| i.period.clone()))
        .flatten();
    Ok(InvoicePage { items, next_cursor })
}

/// `tenant`'s invoice `invoice_id` with its lines and credit notes; `None` if the tenant has
/// no such invoice (another tenant's invoice included).
pub async fn invoice(
    db: &Database,
    tenant: TenantId,
    invoice_id: Uuid,
) -> Result<Option<InvoiceDetail>, ProjectionError> {
    let (tenant, id) = (tenant.to_string(), invoice_id.to_string());
    let row: Option<(String, String, String, i64, i64, i64, String)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT invoice_id, period, currency, total_minor, credited_minor, finalized_at, lines_json FROM billing_invoices WHERE tenant_id = $1 AND invoice_id = $2")
            .bind(&tenant).bind(&id).fetch_optional(pool).await?
    });
    let Some((invoice_id, period, currency, total, credited, at, lines)) = row else {
        return Ok(None);
    };
    let lines: Vec<LineItem> = serde_json::from_str(&lines).map_err(|e| {
        ProjectionError::InvalidState(format!("invoice {invoice_id} has unreadable lines: {e}"))
    })?;
    let notes: Vec<(String, i64, String, i64)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT credit_note_id, amount_minor, reason, issued_at FROM billing_credit_notes WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY position")
            .bind(&tenant).bind(&id).fetch_all(pool).await?
    });
    Ok(Some(InvoiceDetail {
        summary: summary((invoice_id, period, currency, total, credited, at)),
        lines,
        credit_notes: notes
            .into_iter()
            .map(|(credit_note_id, amount, reason, at)| CreditNoteView {
                credit_note_id: credit_note_id.parse().unwrap_or_default(),
                amount_minor: amount.max(0) as u64,
                reason,
                issued_at: from_micros(at),
            })
            .collect(),
    }))
}

/// The latest period `tenant` has a finalised invoice for.
pub async fn last_invoiced(
    db: &Database,
    tenant: TenantId,
) -> Result<Option<Period>, ProjectionError> {
    let period: Option<String> = crate::with_pool!(db, pool => {
        sqlx::query_scalar("SELECT MAX(period) FROM billing_invoices WHERE tenant_id = $1")
            .bind(tenant.to_string()).fetch_one(pool).await?
    });
    period
        .map(|p| Period::parse(&p))
        .transpose()
        .map_err(|e| ProjectionError::InvalidState(format!("billing_invoices: {e}")))
}

/// Every tenant with plan records (a tenant that ever existed).
pub async fn billed_tenants(db: &Database) -> Result<Vec<TenantId>, ProjectionError> {
    let ids: Vec<String> = crate::with_pool!(db, pool => {
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM billing_plans ORDER BY tenant_id")
            .fetch_all(pool).await?
    });
    ids.into_iter()
        .map(|id| {
            id.parse::<Uuid>().map(TenantId).map_err(|e| {
                ProjectionError::InvalidState(format!("billing_plans: bad tenant id: {e}"))
            })
        })
        .collect()
}
