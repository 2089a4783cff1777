//! Helpers for read-side tests: appending sample events and reading read-model tables.

use keel_store::{EventStore, ExpectedVersion};
use keel_tests::sample_event;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Appends `n` sample events (of type `test.happened`) spread over `streams` streams, stream
/// `i` belonging to tenant `i`; returns the head position.
pub async fn append_samples(store: &Arc<dyn EventStore>, n: usize, streams: usize) -> u64 {
    let mut last = 0;
    for chunk_start in (0..n).step_by(100) {
        let appends = (chunk_start..(chunk_start + 100).min(n))
            .map(|i| keel_store::StreamAppend {
                stream_id: format!("sample-{}", i % streams.max(1)),
                expected: ExpectedVersion::Any,
                events: vec![tenant_sample(i % streams.max(1))],
            })
            .fold(Vec::<keel_store::StreamAppend>::new(), |mut acc, a| {
                match acc.iter_mut().find(|x| x.stream_id == a.stream_id) {
                    Some(existing) => existing.events.extend(a.events),
                    None => acc.push(a),
                }
                acc
            });
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
pub fn tenant_sample(n: usize) -> keel_store::NewEvent {
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

/// Runs `projection` in a worker process of its own (batches of `batch` events, up to
/// `head`) three times, each time letting it apply `batches` batches beyond where the previous
/// one was killed and then killing it outright (`kill -9`). Returns the last checkpoint seen,
/// after checking that it only ever moved forward.
pub async fn kill_worker_between_batches(
    url: &str,
    projection: &str,
    batch: usize,
    head: u64,
    batches: usize,
) -> u64 {
    let mut last_seen = 0;
    for _ in 0..3 {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_projection_worker"))
            .args([url, &batch.to_string(), &head.to_string(), projection])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the worker process");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for _ in 0..batches {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .expect("the worker makes progress")
                .expect("read stdout")
                .expect("the worker is running");
            let at: u64 = line.trim_start_matches("at ").parse().expect("a position");
            assert!(at > last_seen || at == head, "the checkpoint moves forward");
            last_seen = at;
        }
        child.start_kill().expect("kill -9 the worker");
        child.wait().await.expect("the worker is gone");
    }
    assert!(last_seen < head, "the worker was killed before finishing");
    last_seen
}
