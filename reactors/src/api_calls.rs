//! The `api_calls` meter: every authenticated request of a tenant key counts one API call.
//!
//! Appending an event per request would double the write load, so calls are counted in memory
//! and flushed as one `usage.recorded` fact per tenant per interval (and once more at
//! shutdown). A crash loses at most one interval's count: metering, not accounting of record.

use crate::flush::Flush;
use chrono::Utc;
use keel_commands::facts::{append_facts, derived_id, Fact};
use keel_domain::usage::{sample_cause, usage_stream, UsageEvent, UsageRecorded};
use keel_domain::{Actor, TenantId};
use keel_store::{EventMetadata, EventStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

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
            let key = format!("api_calls-{}", Uuid::now_v7());
            let sample = UsageRecorded::api_calls(calls, now, key.clone());
            let fact = Fact {
                id: derived_id(&sample_cause(tenant, &key)),
                event: UsageEvent::Recorded(sample),
                metadata: EventMetadata::new(tenant, Actor::System("api call meter".into())),
            };
            if let Err(error) = append_facts(&**store, &usage_stream(tenant), vec![fact]).await {
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

impl Flush for ApiCalls {
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
