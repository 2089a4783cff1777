//! Access denials from the API: what the policy decision endpoint denied, collected in memory
//! and recorded as one `access.denials_recorded` event per tenant per interval.
//!
//! Deciding must stay a cheap read, so a denial is not appended on its own; like the
//! `api_calls` meter, denials are flushed every `usage_flush_ms` (and once more at shutdown).
//! Each tenant's batch keeps the first [`MAX_DENIALS_PER_BATCH`] denials of the interval in full
//! and counts the rest ([`DenialBatch`]). An event that cannot be appended is retried as it is
//! at the next flush. A crash loses at most the denials of one interval.
//!
//! [`MAX_DENIALS_PER_BATCH`]: keel_domain::access::MAX_DENIALS_PER_BATCH

use crate::flush::Flush;
use keel_commands::facts::{append_facts, Fact};
use keel_domain::access::{access_stream, AccessEvent, DenialBatch, DeniedRequest};
use keel_domain::{Actor, TenantId};
use keel_store::{EventMetadata, EventStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Denials collected per tenant since the last flush, and events whose append failed.
#[derive(Default)]
pub struct AccessDenials {
    pending: Mutex<HashMap<TenantId, DenialBatch>>,
    failed: Mutex<Vec<Fact<AccessEvent>>>,
}

impl AccessDenials {
    /// Collects a denial of `tenant`.
    pub fn record(&self, tenant: TenantId, denial: DeniedRequest) {
        self.pending
            .lock()
            .expect("not poisoned")
            .entry(tenant)
            .or_default()
            .push(denial.clipped());
    }

    /// Appends one event per tenant with the denials collected since the last flush, after
    /// retrying the events earlier flushes failed to append; returns the highest position
    /// appended (0 if none). An event that fails is kept and retried as it is, with its id, so
    /// an append that did commit before failing is not recorded twice.
    pub async fn flush(&self, store: &Arc<dyn EventStore>) -> Result<u64, StoreError> {
        let mut facts = std::mem::take(&mut *self.failed.lock().expect("not poisoned"));
        let pending = std::mem::take(&mut *self.pending.lock().expect("not poisoned"));
        for (tenant, batch) in pending {
            if let Some(recorded) = batch.into_event() {
                facts.push(Fact {
                    // Fixed now, so a retry of an append that did commit is recognised.
                    id: Uuid::now_v7(),
                    event: AccessEvent::DenialsRecorded(recorded),
                    metadata: EventMetadata::new(tenant, Actor::System("access decisions".into())),
                });
            }
        }
        let mut position = 0;
        let mut failure = None;
        for fact in facts {
            let stream = access_stream(fact.metadata.tenant_id);
            match append_facts(&**store, &stream, vec![fact.clone()]).await {
                Ok(appended) => position = position.max(appended),
                Err(error) => {
                    self.failed.lock().expect("not poisoned").push(fact);
                    failure = Some(error);
                }
            }
        }
        failure.map_or(Ok(position), Err)
    }
}

impl Flush for AccessDenials {
    fn name(&self) -> &'static str {
        "the access denials"
    }

    fn flush<'a>(
        &'a self,
        store: &'a Arc<dyn EventStore>,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { AccessDenials::flush(self, store).await.map(drop) })
    }
}
