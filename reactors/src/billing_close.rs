//! Period close: after a month ends, finalise every tenant's invoice for it, once.
//!
//! [`close_periods`] prices each ended, not yet invoiced period of each tenant from the read
//! models and appends `billing.invoice_finalized` through the invoice aggregate. Guarantees:
//!
//! - **Once per tenant and period**, across restarts and servers: the invoice's stream id is
//!   derived from tenant and period and the aggregate refuses a second finalisation; two
//!   closers racing append to the same empty stream, one wins, the other is refused.
//! - **Complete inputs**: a period is closed only [`GRACE`] after it ended, and only once the
//!   usage and billing read models have applied every event committed when the close began
//!   (it waits up to [`CATCH_UP_WAIT`] for them, else it tries again shortly). A usage sample reported later for a closed period is
//!   not billed: corrections are credit notes.
//!
//! [`Closer::run`] calls it every [`INTERVAL`] in the server, and only while the latest closable
//! month is not yet closed. It runs under a lease (one process closes at a time); the invoice
//! aggregate's refusal of a second finalisation is what makes a close that two processes
//! raced, or that a stop interrupted and a restart repeats, finalise each invoice once.

use crate::error::ReactorError;
use chrono::{DateTime, Duration, Utc};
use keel_commands::handler::{CommandError, CommandHandler, HandlerConfig};
use keel_domain::billing::{
    invoice_aggregate, invoice_id, Catalogue, FinalizeInvoice, Invoice, InvoiceCommand,
    InvoiceError, Period,
};
use keel_domain::{Actor, TenantId};
use keel_log::EventLog;
use keel_projections::billing::query::{billed_tenants, draft, last_invoiced, plan_history};
use keel_projections::framework::checkpoint;
use keel_store::{EventMetadata, EventStore};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How long after a month ends its invoices are finalised: usage reporters get this long to
/// report the month's last samples.
pub const GRACE: Duration = Duration::hours(1);
/// How often the server's closer looks for periods to close.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// How soon it looks again when the read models were behind.
const BEHIND_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// What one round of [`close_periods`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseReport {
    /// The invoices this round finalised.
    pub finalized: Vec<(TenantId, Period)>,
    /// Invoices another closer finalised first.
    pub already_finalized: usize,
    /// The read models were behind the log: nothing was closed, try again shortly.
    pub behind: bool,
}

/// The periods that have ended at least [`GRACE`] before `now`, up to the latest such one.
fn latest_closable(now: DateTime<Utc>) -> Period {
    Period::of(now - GRACE).previous()
}

/// How long a close waits for the usage and billing read models to reach the head it read.
/// Under a steady write load they trail the head by a batch or two, so a check that did not
/// wait would rarely find them there and the close would be put off again and again.
pub const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the usage and billing read models have applied everything up to `position`,
/// waiting up to [`CATCH_UP_WAIT`] for them.
async fn caught_up(log: &dyn EventLog, position: u64) -> Result<bool, ReactorError> {
    let db = log.database();
    let deadline = tokio::time::Instant::now() + CATCH_UP_WAIT;
    'poll: loop {
        for name in ["usage", "billing"] {
            let generation = checkpoint::generations(&db, name).await?.active;
            if checkpoint::checkpoint(&db, name, generation)
                .await?
                .position
                < position
            {
                if tokio::time::Instant::now() >= deadline {
                    return Ok(false);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue 'poll;
            }
        }
        return Ok(true);
    }
}

/// Finalises every tenant's invoice for each period that ended [`GRACE`] before `now` and
/// has none yet, priced with `catalogue`.
pub async fn close_periods(
    store: &Arc<dyn EventStore>,
    invoices: &CommandHandler<Invoice>,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
) -> Result<CloseReport, ReactorError> {
    let mut report = CloseReport::default();
    let head = store.head_position().await?;
    if !caught_up(&**store, head).await? {
        report.behind = true;
        return Ok(report);
    }
    let db = store.database();
    let latest = latest_closable(now);
    for tenant in billed_tenants(&db).await? {
        let history = plan_history(&db, tenant).await?;
        let Some(&(opened, _)) = history.records.first() else {
            continue;
        };
        let mut period = match last_invoiced(&db, tenant).await? {
            Some(last) => last.next(),
            None => Period::of(opened),
        };
        while period <= latest {
            if history
                .closed_at
                .is_some_and(|closed| closed < period.start())
            {
                break;
            }
            let priced = draft(&db, catalogue, tenant, period).await?;
            if !priced.lines.is_empty() {
                finalize(invoices, tenant, priced, &mut report).await?;
            }
            period = period.next();
        }
    }
    Ok(report)
}

async fn finalize(
    invoices: &CommandHandler<Invoice>,
    tenant: TenantId,
    priced: keel_domain::billing::PricedPeriod,
    report: &mut CloseReport,
) -> Result<(), ReactorError> {
    let period = priced.period;
    let command = InvoiceCommand::Finalize(FinalizeInvoice {
        invoice_id: invoice_id(tenant, period),
        tenant_id: tenant,
        priced,
    });
    let metadata = EventMetadata::new(tenant, Actor::System("billing period close".into()));
    match invoices
        .execute(invoice_aggregate(tenant, period), command, metadata, None)
        .await
    {
        Ok(_) => report.finalized.push((tenant, period)),
        Err(CommandError::Domain(InvoiceError::AlreadyFinalized(_))) => {
            report.already_finalized += 1
        }
        Err(other) => {
            return Err(ReactorError::Command(format!(
                "cannot finalise {tenant}'s invoice for {period}: {other}"
            )))
        }
    }
    Ok(())
}

/// The server's period closer.
pub struct Closer {
    store: Arc<dyn EventStore>,
    invoices: CommandHandler<Invoice>,
    catalogue: Arc<Catalogue>,
}

impl Closer {
    /// A closer on `store`, pricing with `catalogue`.
    pub fn new(store: Arc<dyn EventStore>, catalogue: Arc<Catalogue>) -> Self {
        Closer {
            invoices: CommandHandler::new(store.clone(), HandlerConfig::default()),
            store,
            catalogue,
        }
    }

    /// Closes what is due now, then every [`INTERVAL`], until `cancel` fires (between rounds;
    /// a round under way finishes, each invoice being one command). A failed round is
    /// returned, for the supervisor to log and start the closer again.
    ///
    /// A round that completed closes everything up to the latest closable month, and nothing
    /// new becomes closable before that month changes, so later rounds skip the per-tenant
    /// queries until it does (once a month, not every minute).
    pub async fn run(&self, cancel: CancellationToken) -> Result<(), ReactorError> {
        let mut closed_through = None;
        while !cancel.is_cancelled() {
            let now = Utc::now();
            let due = latest_closable(now);
            let round = if closed_through == Some(due) {
                None
            } else {
                Some(close_periods(&self.store, &self.invoices, &self.catalogue, now).await)
            };
            let wait = match round {
                None => INTERVAL,
                Some(Ok(report)) if report.behind => BEHIND_RETRY,
                Some(Ok(report)) => {
                    for (tenant, period) in &report.finalized {
                        tracing::info!(%tenant, %period, "invoice finalized");
                    }
                    closed_through = Some(due);
                    INTERVAL
                }
                Some(Err(error)) => return Err(error),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => {}
            }
        }
        Ok(())
    }
}
