//! Keel's read side: read models folded from the event log.
//!
//! - [`directory`]: the tenant directory, an in-memory read model of every tenant's summary
//!   and every API key (by hash), followed live from the log. The HTTP API authenticates
//!   requests and lists tenants from it without touching the database per request.
//! - [`framework`]: durable projections in the store's database. A [`Projection`] declares
//!   its name, the events it handles, its tables and a handler; a worker reads `read_all`
//!   after its checkpoint in batches and commits each batch's rows together with the new
//!   checkpoint, so after any crash no event is applied twice or skipped (exactly-once
//!   effect). It catches up, then follows the log woken by the store's head watch. A handler
//!   error stops the projection at the failing event, visibly; an operator retries it or
//!   parks it in the dead letters (later events of its stream then wait behind it). Rebuilds
//!   run blue/green (new tables, atomic switch) or as reset-and-replay.
//! - [`audit`]: the tamper-evident audit trail (a SHA-256 hash chain per tenant).
//! - [`usage`]: metering: usage per tenant, meter and period; quota status and threshold events.
//! - [`billing`]: plan records, invoices and credit notes; drafts priced on query; the period
//!   close that finalises invoices.
//! - [`reports`]: the platform overview and tenants' activity and compliance reports, with the
//!   small projection of the facts they need that no other read model keeps.
//! - [`resources`]: which policies, workflows, runs and integrations each tenant has, so lists
//!   need not scan the tenant's events.
//! - [`runtime`]: the server's running workers and read-your-writes waits.
//!
//! - [`published`]: Keel's events as the NATS relay (in `keel-reactors`) publishes them to
//!   JetStream: the stream's settings and the message format.
//! - [`consume`]: projections folded from that JetStream stream by a process of their own
//!   (`keel project --from-nats`), checkpoints still transactional.
//!
//! The rule of this crate: projections fold. They read the log through `keel-log` (which cannot
//! append) and write only their own tables; whatever acts on what they see (appending events,
//! running commands, publishing) is a reactor in `keel-reactors`. The functions at the crate
//! root are what tools (the `keel` CLI) call; they take the event log and know no HTTP.

pub mod audit;
pub mod billing;
pub mod consume;
pub mod csv;
pub mod db;
pub mod directory;
pub mod error;
pub mod framework;
pub mod migrate;
pub mod projection;
pub mod published;
pub mod reports;
pub mod resources;
pub mod runtime;
pub mod usage;

pub use directory::{Directory, KeyEntry, TenantFilter, TenantSummary};
pub use error::ProjectionError;
pub use framework::checksum::CheckReport;
pub use framework::operate::ProjectionStatus;
pub use framework::rebuild::{Progress, RebuildMode, RebuildReport};
pub use projection::{Projection, TableSpec, Tables};
pub use runtime::Workers;

use keel_domain::billing::Catalogue;
use keel_log::EventLog;
use std::sync::Arc;

/// Every durable projection, by name: `audit`, `usage`, `billing`, `reports`, `resources`;
/// usage quotas from the built-in plan catalogue, audit checkpoints unsigned.
pub fn registry() -> Vec<Arc<dyn Projection>> {
    registry_with(Arc::new(Catalogue::builtin()), None)
}

/// Every durable projection, with usage quotas from `catalogue` and audit checkpoints signed
/// by `audit_signer` (the server and the tools pass the configured ones).
pub fn registry_with(
    catalogue: Arc<Catalogue>,
    audit_signer: Option<Arc<audit::AuditSigner>>,
) -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(audit::AuditProjection {
            signer: audit_signer,
        }),
        Arc::new(usage::UsageProjection::new(catalogue)),
        Arc::new(billing::BillingProjection),
        Arc::new(reports::ReportsProjection),
        Arc::new(resources::ResourcesProjection),
    ]
}

/// The projection called `name` (usage quotas from the built-in catalogue, audit checkpoints
/// unsigned).
pub fn projection(name: &str) -> Result<Arc<dyn Projection>, ProjectionError> {
    projection_with(name, Arc::new(Catalogue::builtin()), None)
}

/// The projection called `name`, with usage quotas from `catalogue` and audit checkpoints
/// signed by `audit_signer` (the tools pass the configured ones, so a rebuild raises
/// thresholds and signs where the server does).
pub fn projection_with(
    name: &str,
    catalogue: Arc<Catalogue>,
    audit_signer: Option<Arc<audit::AuditSigner>>,
) -> Result<Arc<dyn Projection>, ProjectionError> {
    registry_with(catalogue, audit_signer)
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))
}

/// Applies the read side's migrations and sets up every projection's tables (idempotent).
pub async fn setup(store: &Arc<dyn EventLog>) -> Result<(), ProjectionError> {
    let db = store.database();
    migrate::migrate(&db).await?;
    for projection in registry() {
        framework::checkpoint::ensure(&db, projection.as_ref()).await?;
    }
    Ok(())
}

/// Rebuilds projection `name` from the whole log. Blue/green fills new tables while the old
/// ones serve and switches atomically at the end; an interrupted blue/green rebuild resumes
/// where it stopped when called again. `progress` is called after every batch.
pub async fn rebuild(
    store: &Arc<dyn EventLog>,
    name: &str,
    mode: RebuildMode,
    progress: impl FnMut(Progress) + Send,
) -> Result<RebuildReport, ProjectionError> {
    rebuild_with(store, &projection(name)?, mode, progress).await
}

/// [`rebuild`] of a given projection (see [`projection_with`]).
pub async fn rebuild_with(
    store: &Arc<dyn EventLog>,
    projection: &Arc<dyn Projection>,
    mode: RebuildMode,
    progress: impl FnMut(Progress) + Send,
) -> Result<RebuildReport, ProjectionError> {
    setup(store).await?;
    framework::rebuild::rebuild_projection(
        projection,
        store,
        mode,
        framework::worker::REBUILD_BATCH,
        progress,
    )
    .await
}

/// SHA-256 (hex) of projection `name`'s serving tables: equal logs give equal checksums.
pub async fn checksum(store: &Arc<dyn EventLog>, name: &str) -> Result<String, ProjectionError> {
    setup(store).await?;
    framework::checksum::projection_checksum(projection(name)?.as_ref(), &store.database()).await
}

/// Rebuilds projection `name` into scratch tables up to its checkpoint and compares them with
/// the serving tables, naming the first difference.
pub async fn check(store: &Arc<dyn EventLog>, name: &str) -> Result<CheckReport, ProjectionError> {
    check_with(store, &projection(name)?).await
}

/// [`check`] of a given projection (see [`projection_with`]).
pub async fn check_with(
    store: &Arc<dyn EventLog>,
    projection: &Arc<dyn Projection>,
) -> Result<CheckReport, ProjectionError> {
    setup(store).await?;
    framework::checksum::check_projection(projection, store, framework::worker::DEFAULT_BATCH).await
}

/// The status of every projection: position, lag, failure, dead letters.
pub async fn status(store: &Arc<dyn EventLog>) -> Result<Vec<ProjectionStatus>, ProjectionError> {
    setup(store).await?;
    let mut statuses = Vec::new();
    for projection in registry() {
        statuses.push(framework::operate::projection_status(projection.as_ref(), store).await?);
    }
    Ok(statuses)
}

/// Clears projection `name`'s failure so its worker retries the failing event. Returns
/// whether it was failed.
pub async fn retry(store: &Arc<dyn EventLog>, name: &str) -> Result<bool, ProjectionError> {
    framework::operate::retry_projection(projection(name)?.as_ref(), store).await
}

/// Parks the event projection `name` stopped on; returns its position.
pub async fn park(store: &Arc<dyn EventLog>, name: &str) -> Result<u64, ProjectionError> {
    framework::operate::park_failed(projection(name)?.as_ref(), store).await
}

/// Applies the dead letters of `stream_id` in projection `name`, in order; returns how many.
pub async fn unpark(
    store: &Arc<dyn EventLog>,
    name: &str,
    stream_id: &str,
) -> Result<usize, ProjectionError> {
    framework::operate::unpark_stream(projection(name)?.as_ref(), store, stream_id).await
}

#[cfg(test)]
mod tests {
    use keel_domain::access::AccessEvent;
    use keel_domain::billing::InvoiceEvent;
    use keel_domain::integration::IntegrationEvent;
    use keel_domain::platform::PlatformEvent;
    use keel_domain::policy::PolicyEvent;
    use keel_domain::tenant::TenantEvent;
    use keel_domain::usage::UsageEvent;
    use keel_domain::workflow::{RunEvent, WorkflowEvent};

    /// Every event type the domain declares.
    fn declared() -> Vec<&'static str> {
        [
            AccessEvent::EVENT_TYPES,
            InvoiceEvent::EVENT_TYPES,
            IntegrationEvent::EVENT_TYPES,
            PlatformEvent::EVENT_TYPES,
            PolicyEvent::EVENT_TYPES,
            TenantEvent::EVENT_TYPES,
            UsageEvent::EVENT_TYPES,
            RunEvent::EVENT_TYPES,
            WorkflowEvent::EVENT_TYPES,
        ]
        .concat()
    }

    #[test]
    fn every_projection_folds_declared_event_types() {
        let declared = declared();
        for projection in super::registry() {
            let handled: Vec<_> = declared.iter().filter(|t| projection.handles(t)).collect();
            assert!(
                !handled.is_empty(),
                "{} handles none of the declared event types",
                projection.name()
            );
        }
    }

    #[test]
    fn the_audit_trail_records_every_declared_event_but_usage_samples() {
        let audit = super::projection("audit").unwrap();
        for event_type in declared() {
            assert_eq!(
                audit.handles(event_type),
                event_type != UsageEvent::RECORDED,
                "{event_type}"
            );
        }
    }
}
