//! The billing projection: each tenant's plan records (creation, plan changes,
//! decommissioning) and its finalised invoices and credit notes, as rows.
//!
//! Drafts are not stored: a draft is priced on query from the plan records, the usage read
//! model and the catalogue, so it follows every event without the catalogue entering these
//! tables (a rebuild never depends on configuration).

use crate::db::{insert_rows, micros, Param, Tx};
use crate::error::ProjectionError;
use crate::projection::{ColumnType as C, Projection, TableSpec, Tables};
use async_trait::async_trait;
use keel_domain::billing::InvoiceEvent;
use keel_domain::tenant::TenantEvent;
use keel_log::RecordedEvent;

static TABLES: &[TableSpec] = &[
    TableSpec {
        base: "billing_plans",
        columns: &[
            ("tenant_id", C::Text),
            ("position", C::Int),
            // `opened` (creation), `changed` or `closed` (decommissioned).
            ("kind", C::Text),
            ("effective_at", C::Int),
            ("plan", C::OptText),
        ],
        key: &["tenant_id", "position"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "billing_invoices",
        columns: &[
            ("tenant_id", C::Text),
            ("invoice_id", C::Text),
            ("period", C::Text),
            ("currency", C::Text),
            ("total_minor", C::Int),
            ("credited_minor", C::Int),
            ("finalized_at", C::Int),
            // The frozen line items, as JSON.
            ("lines_json", C::Text),
            ("position", C::Int),
        ],
        key: &["tenant_id", "invoice_id"],
        indexes: &[&["tenant_id", "period"]],
        updated_in_place: false,
    },
    TableSpec {
        base: "billing_credit_notes",
        columns: &[
            ("tenant_id", C::Text),
            ("invoice_id", C::Text),
            ("credit_note_id", C::Text),
            ("amount_minor", C::Int),
            ("reason", C::Text),
            ("issued_at", C::Int),
            ("position", C::Int),
        ],
        key: &["tenant_id", "invoice_id", "credit_note_id"],
        indexes: &[],
        updated_in_place: false,
    },
];

/// The billing projection (`billing`).
pub struct BillingProjection;

/// The rows one batch writes, gathered so each table gets one multi-row insert.
#[derive(Default)]
struct Rows {
    plans: Vec<Vec<Param>>,
    invoices: Vec<Vec<Param>>,
    credit_notes: Vec<Vec<Param>>,
    /// Tenant, invoice and amount of each credit note, to add to its invoice.
    credits: Vec<(String, String, i64)>,
}

#[async_trait]
impl Projection for BillingProjection {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            TenantEvent::CREATED
                | TenantEvent::PLAN_CHANGED
                | TenantEvent::DECOMMISSIONED
                | InvoiceEvent::FINALIZED
                | InvoiceEvent::CREDIT_NOTE_ISSUED
        )
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut rows = Rows::default();
        for event in events {
            rows.add(event)?;
        }
        insert_rows(
            tx,
            &tables.name("billing_plans"),
            &["tenant_id", "position", "kind", "effective_at", "plan"],
            &rows.plans,
            "",
        )
        .await?;
        insert_rows(
            tx,
            &tables.name("billing_invoices"),
            &[
                "tenant_id",
                "invoice_id",
                "period",
                "currency",
                "total_minor",
                "credited_minor",
                "finalized_at",
                "lines_json",
                "position",
            ],
            &rows.invoices,
            "",
        )
        .await?;
        insert_rows(
            tx,
            &tables.name("billing_credit_notes"),
            &[
                "tenant_id",
                "invoice_id",
                "credit_note_id",
                "amount_minor",
                "reason",
                "issued_at",
                "position",
            ],
            &rows.credit_notes,
            "",
        )
        .await?;
        // Credit notes are rare: one update each, after their invoices are in.
        let invoices = tables.name("billing_invoices");
        let sql = format!(
            "UPDATE {invoices} SET credited_minor = credited_minor + $1 \
             WHERE tenant_id = $2 AND invoice_id = $3"
        );
        for (tenant, invoice, amount) in &rows.credits {
            crate::with_tx!(&mut *tx, conn => {
                sqlx::query(&sql).bind(*amount).bind(tenant).bind(invoice).execute(&mut *conn).await?;
            });
        }
        Ok(())
    }
}

impl Rows {
    fn add(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let fail = |e: &dyn std::fmt::Display| ProjectionError::handler(event.global_position, e);
        let tenant = Param::Text(event.metadata.tenant_id.to_string());
        let position = Param::Int(event.global_position as i64);
        let mut plan_row = |kind: &str, at, plan: Option<String>| {
            self.plans.push(vec![
                tenant.clone(),
                position.clone(),
                Param::Text(kind.into()),
                Param::Int(micros(at)),
                Param::OptText(plan),
            ]);
        };
        if event.event_type.starts_with("tenant.") {
            match event.decode::<TenantEvent>().map_err(|e| fail(&e))? {
                TenantEvent::Created(e) => plan_row(
                    "opened",
                    event.metadata.occurred_at,
                    Some(e.plan.as_str().into()),
                ),
                TenantEvent::PlanChanged(e) => {
                    plan_row("changed", e.effective_at, Some(e.plan.as_str().into()))
                }
                TenantEvent::Decommissioned(_) => {
                    plan_row("closed", event.metadata.occurred_at, None)
                }
                _ => return Err(fail(&"not a billing event of a tenant")),
            }
            return Ok(());
        }
        let amount = |minor: u64| Param::Int(minor.min(i64::MAX as u64) as i64);
        match event.decode::<InvoiceEvent>().map_err(|e| fail(&e))? {
            InvoiceEvent::Finalized(e) => {
                let lines = serde_json::to_string(&e.lines).map_err(|e| fail(&e))?;
                self.invoices.push(vec![
                    tenant,
                    Param::Text(e.invoice_id.to_string()),
                    Param::Text(e.period.to_string()),
                    Param::Text(e.currency),
                    amount(e.total_minor),
                    Param::Int(0),
                    Param::Int(micros(e.finalized_at)),
                    Param::Text(lines),
                    position,
                ]);
            }
            InvoiceEvent::CreditNoteIssued(e) => {
                let invoice = event
                    .stream_id
                    .strip_prefix("billing-")
                    .ok_or_else(|| fail(&"a credit note outside a billing stream"))?;
                let credited = e.amount_minor.min(i64::MAX as u64) as i64;
                self.credits.push((
                    event.metadata.tenant_id.to_string(),
                    invoice.to_owned(),
                    credited,
                ));
                self.credit_notes.push(vec![
                    tenant,
                    Param::Text(invoice.to_owned()),
                    Param::Text(e.credit_note_id.to_string()),
                    Param::Int(credited),
                    Param::Text(e.reason.into_string()),
                    Param::Int(micros(e.issued_at)),
                    position,
                ]);
            }
        }
        Ok(())
    }
}
