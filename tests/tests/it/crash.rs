//! Crashes and restarts: a writer process killed outright loses nothing it was told was stored,
//! and the store it leaves behind opens, reads back in order, and accepts appends.

use keel_store::ExpectedVersion;
use keel_tests::{sample_event, Backend, TestDatabase};
use std::collections::HashSet;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

both_backends!(a_killed_writer_loses_no_acknowledged_event);

async fn a_killed_writer_loses_no_acknowledged_event(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    // Migrations run once up front, so the child is killed mid-append, not mid-migration.
    drop(db.open().await);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_concurrent_writer"))
        .args([db.url.as_str(), "100000", "16", "--acks"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the writer");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut acknowledged = HashSet::new();
    while acknowledged.len() < 500 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the writer acknowledges appends")
            .expect("read stdout")
            .expect("the writer is still running");
        if let Some(id) = line.strip_prefix("ack ") {
            acknowledged.insert(uuid::Uuid::parse_str(id).expect("an event id"));
        }
    }
    child.start_kill().expect("kill -9 the writer");
    child.wait().await.expect("the writer is gone");

    let store = db.open().await;
    let stored = store.read_all(0, 1_000_000).await.unwrap();
    let stored_ids: HashSet<_> = stored.iter().map(|e| e.event_id).collect();
    let lost: Vec<_> = acknowledged.difference(&stored_ids).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events were lost",
        lost.len()
    );
    let positions: Vec<u64> = stored.iter().map(|e| e.global_position).collect();
    assert_eq!(positions, (1..=stored.len() as u64).collect::<Vec<_>>());
    let result = store
        .append(
            "after-the-crash",
            ExpectedVersion::NoStream,
            vec![sample_event("t.after")],
        )
        .await
        .unwrap();
    assert_eq!(result.global_position, stored.len() as u64 + 1);
}
