//! Quota alerts: appends a `usage.quota_threshold_crossed` event for every alert the usage read
//! model raised (a tenant's meter reaching 80% or 100% of its quota in a month).
//!
//! The usage projection raises an alert row when it folds the sample that reached a threshold,
//! and marks it published when it folds the alert's event; this reactor appends the events of
//! the rows still pending. The event id is derived from the alert (tenant, meter, period,
//! threshold), so appending one again (a crash before the projection folded it, a pending row
//! seen twice, two processes) is an idempotent re-append: each alert is in the log once.
//!
//! It looks for pending alerts whenever the log's head moves (a sample may have been folded
//! since) and at least every [`POLL`]; it runs under a lease, so one process appends them.

use crate::error::ReactorError;
use keel_commands::facts::{append_facts, derived_id, Fact};
use keel_domain::shared::MeterName;
use keel_domain::usage::{usage_stream, QuotaThresholdCrossed, UsageEvent};
use keel_domain::{Actor, TenantId};
use keel_projections::usage::alerts::{pending, PendingAlert};
use keel_store::{EventMetadata, EventStore};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest a raised alert waits for its event while the log is idle (the usage projection
/// folds a batch after the head moved, so a wake-up on the head alone could come too early).
pub const POLL: Duration = Duration::from_millis(250);

/// Appends the events of pending alerts until `cancel` fires (between rounds: a round's
/// appends are idempotent, so one cut short is simply done again).
pub async fn run(
    store: Arc<dyn EventStore>,
    cancel: CancellationToken,
) -> Result<(), ReactorError> {
    let mut head = store.watch_head();
    while !cancel.is_cancelled() {
        head.borrow_and_update();
        publish_pending(&store).await?;
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = head.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    Ok(())
}

/// Appends the event of every pending alert; returns how many there were.
pub async fn publish_pending(store: &Arc<dyn EventStore>) -> Result<usize, ReactorError> {
    let alerts = pending(&store.database()).await?;
    let count = alerts.len();
    // One append per tenant: the store groups them into few transactions.
    let mut by_tenant: std::collections::BTreeMap<TenantId, Vec<Fact<UsageEvent>>> =
        Default::default();
    for alert in alerts {
        let (tenant, fact) = fact_of(alert)?;
        by_tenant.entry(tenant).or_default().push(fact);
    }
    let appends = by_tenant.into_iter().map(|(tenant, facts)| {
        let store = store.clone();
        async move { append_facts(&*store, &usage_stream(tenant), facts).await }
    });
    for result in futures::future::join_all(appends).await {
        result?;
    }
    Ok(count)
}

fn fact_of(alert: PendingAlert) -> Result<(TenantId, Fact<UsageEvent>), ReactorError> {
    let key = &alert.key;
    let invalid = |what: &str| {
        ReactorError::ReadModel(keel_projections::ProjectionError::InvalidState(format!(
            "bad {what} in usage_alerts: {key:?}"
        )))
    };
    let tenant = key
        .tenant
        .parse::<uuid::Uuid>()
        .map(TenantId)
        .map_err(|_| invalid("tenant id"))?;
    let event = UsageEvent::QuotaThresholdCrossed(QuotaThresholdCrossed {
        meter: MeterName::parse(&key.meter).map_err(|_| invalid("meter"))?,
        period: key.period.clone(),
        percent: u8::try_from(key.percent).map_err(|_| invalid("percent"))?,
        limit: u64::try_from(alert.quota).map_err(|_| invalid("quota"))?,
        used: u64::try_from(alert.used).map_err(|_| invalid("usage"))?,
    });
    let fact = Fact {
        id: derived_id(&format!(
            "keel usage alert/{}/{}/{}/{}",
            key.tenant, key.meter, key.period, key.percent
        )),
        event,
        metadata: EventMetadata::new(tenant, Actor::System("usage projection".into())),
    };
    Ok((tenant, fact))
}
