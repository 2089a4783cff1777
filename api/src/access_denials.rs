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

use keel_commands::store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError};
use keel_domain::access::{
    access_stream, AccessDenialsRecorded, AccessEvent, DenialBatch, DeniedRequest,
};
use keel_domain::{Actor, DomainEvent, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Denials collected per tenant since the last flush, and events whose append failed.
#[derive(Default)]
pub struct AccessDenials {
    pending: Mutex<HashMap<TenantId, DenialBatch>>,
    failed: Mutex<Vec<NewEvent>>,
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
        let mut events = std::mem::take(&mut *self.failed.lock().expect("not poisoned"));
        let pending = std::mem::take(&mut *self.pending.lock().expect("not poisoned"));
        for (tenant, batch) in pending {
            if let Some(event) = batch.into_event() {
                events.push(new_event(tenant, event)?);
            }
        }
        let mut position = 0;
        let mut failure = None;
        for event in events {
            let stream = access_stream(event.metadata.tenant_id);
            match store
                .append(&stream, ExpectedVersion::Any, vec![event.clone()])
                .await
            {
                Ok(result) => position = position.max(result.global_position),
                Err(error) => {
                    self.failed.lock().expect("not poisoned").push(event);
                    failure = Some(error);
                }
            }
        }
        failure.map_or(Ok(position), Err)
    }
}

fn new_event(tenant: TenantId, recorded: AccessDenialsRecorded) -> Result<NewEvent, StoreError> {
    let event = AccessEvent::DenialsRecorded(recorded);
    Ok(NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        payload: event.encode()?,
        metadata: EventMetadata::new(tenant, Actor::System("access decisions".into())),
    })
}

impl crate::periodic::Flush for AccessDenials {
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
