//! Usage from the API: recording samples, and counting `api_calls` in memory.
//!
//! Every authenticated request of a tenant key counts one API call. Appending an event per
//! request would double the write load, so calls are counted in memory and flushed as one
//! `usage.recorded` event per tenant per interval (and once more at shutdown). A crash loses
//! at most one interval's count: metering, not accounting of record.

use chrono::Utc;
use keel_commands::store::{
    EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError, StreamAppend,
};
use keel_domain::usage::{usage_stream, UsageEvent, UsageRecorded};
use keel_domain::{Actor, DomainEvent, TenantId};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// The event id of a sample: derived from the tenant and the idempotency key, so a repeated
/// key is the same event and the store keeps it once.
pub fn sample_event_id(tenant: TenantId, idempotency_key: &str) -> Uuid {
    let digest = Sha256::digest(format!("keel usage/{tenant}/{idempotency_key}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Appends samples of one tenant; a sample whose key was already recorded is accepted and
/// ignored. Returns the highest position of the samples (new or earlier).
pub async fn record(
    store: &Arc<dyn EventStore>,
    tenant: TenantId,
    metadata: EventMetadata,
    samples: Vec<UsageRecorded>,
) -> Result<u64, StoreError> {
    let mut events = Vec::with_capacity(samples.len());
    let mut seen = std::collections::HashSet::new();
    for sample in samples {
        let event_id = sample_event_id(tenant, &sample.idempotency_key);
        if !seen.insert(event_id) {
            continue; // the same key twice in one batch
        }
        let event = UsageEvent::Recorded(sample);
        events.push(NewEvent {
            event_id,
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.encode()?,
            metadata: metadata.clone(),
        });
    }
    let stream = usage_stream(tenant);
    // The common case, no repeats: one append. With repeats the store refuses the batch as a
    // whole, and each sample is appended alone (a repeat alone is an idempotent re-append).
    match store
        .append(&stream, ExpectedVersion::Any, events.clone())
        .await
    {
        Ok(result) => Ok(result.global_position),
        Err(StoreError::IdempotencyConflict { .. }) => {
            let appends = events.into_iter().map(|event| {
                let store = store.clone();
                let stream = stream.clone();
                async move {
                    store
                        .append_streams(vec![StreamAppend {
                            stream_id: stream,
                            expected: ExpectedVersion::Any,
                            events: vec![event],
                        }])
                        .await
                }
            });
            let mut position = 0;
            for result in futures::future::join_all(appends).await {
                position = position.max(result?[0].global_position);
            }
            Ok(position)
        }
        Err(other) => Err(other),
    }
}

/// API calls counted per tenant since the last flush.
#[derive(Default)]
pub struct ApiCalls {
    counts: Mutex<HashMap<TenantId, u64>>,
}

impl ApiCalls {
    /// Counts one call of `tenant`.
    pub fn count(&self, tenant: TenantId) {
        *self
            .counts
            .lock()
            .expect("not poisoned")
            .entry(tenant)
            .or_default() += 1;
    }

    /// Appends one `api_calls` sample per tenant with the calls counted since the last flush.
    /// Counts that could not be appended are kept for the next flush.
    pub async fn flush(&self, store: &Arc<dyn EventStore>) -> Result<(), StoreError> {
        let counts = std::mem::take(&mut *self.counts.lock().expect("not poisoned"));
        let now = Utc::now();
        for (tenant, calls) in counts {
            let sample = UsageRecorded {
                meter: keel_domain::tenant::MeterName::parse("api_calls")
                    .expect("a valid meter name"),
                quantity: calls,
                timestamp: now,
                idempotency_key: format!("api_calls-{}", Uuid::now_v7()),
                properties: BTreeMap::new(),
            };
            let metadata = EventMetadata::new(tenant, Actor::System("api call meter".into()));
            if let Err(error) = record(store, tenant, metadata, vec![sample]).await {
                *self
                    .counts
                    .lock()
                    .expect("not poisoned")
                    .entry(tenant)
                    .or_default() += calls;
                return Err(error);
            }
        }
        Ok(())
    }
}

impl crate::periodic::Flush for ApiCalls {
    fn name(&self) -> &'static str {
        "the api_calls meter"
    }

    fn flush<'a>(
        &'a self,
        store: &'a Arc<dyn EventStore>,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(ApiCalls::flush(self, store))
    }
}
