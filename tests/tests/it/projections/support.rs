//! Helpers for read-side tests: appending sample events and reading read-model tables.

use keel_commands::store::{EventStore, ExpectedVersion};
use keel_tests::sample_event;
use std::sync::Arc;

/// Appends `n` sample events (of type `test.happened`) spread over `streams` streams, stream
/// `i` belonging to tenant `i`; returns the head position.
pub async fn append_samples(store: &Arc<dyn EventStore>, n: usize, streams: usize) -> u64 {
    let mut last = 0;
    for chunk_start in (0..n).step_by(100) {
        let appends = (chunk_start..(chunk_start + 100).min(n))
            .map(|i| keel_commands::store::StreamAppend {
                stream_id: format!("sample-{}", i % streams.max(1)),
                expected: ExpectedVersion::Any,
                events: vec![tenant_sample(i % streams.max(1))],
            })
            .fold(
                Vec::<keel_commands::store::StreamAppend>::new(),
                |mut acc, a| {
                    match acc.iter_mut().find(|x| x.stream_id == a.stream_id) {
                        Some(existing) => existing.events.extend(a.events),
                        None => acc.push(a),
                    }
                    acc
                },
            );
        let results = store.append_streams(appends).await.expect("append samples");
        last = results
            .iter()
            .map(|r| r.global_position)
            .max()
            .unwrap_or(last);
    }
    last
}

/// A sample event of tenant number `n` (tenants are numbered per test database).
pub fn tenant_sample(n: usize) -> keel_commands::store::NewEvent {
    let mut event = sample_event("test.happened");
    event.metadata.tenant_id = tenant(n);
    event
}

/// Tenant number `n`.
pub fn tenant(n: usize) -> keel_domain::TenantId {
    keel_domain::TenantId(uuid::Uuid::from_u128(n as u128 + 1))
}

/// A single integer from a query.
pub async fn scalar(store: &Arc<dyn EventStore>, sql: &str) -> i64 {
    keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

/// Runs a statement (to tamper with tables as an attacker would).
pub async fn execute(store: &Arc<dyn EventStore>, sql: &str) {
    keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query(sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    })
}
