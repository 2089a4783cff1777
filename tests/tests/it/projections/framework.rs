//! The worker framework with the audit projection as its subject: catch-up then live, two
//! live workers racing on one projection, a worker process killed between batches,
//! blue/green rebuild and reset, checksums and check.

use super::support::{append_samples, execute, kill_worker_between_batches, scalar};
use keel_projections::framework::batch::BatchStep;
use keel_projections::framework::worker::Worker;
use keel_projections::{RebuildMode, Workers};
use keel_store::EventStore;
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};
use std::sync::Arc;
use std::time::Duration;

both_backends!(
    a_worker_catches_up_then_follows_live_events,
    two_live_workers_of_one_projection_apply_each_event_once,
    a_killed_worker_process_applies_every_event_exactly_once,
    a_blue_green_rebuild_switches_to_identical_tables,
    a_reset_replays_into_identical_tables,
    check_names_the_first_difference_from_a_fresh_rebuild,
);

async fn a_worker_catches_up_then_follows_live_events(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let head = append_samples(&store, 250, 5).await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .expect("the workers start");
    assert!(
        workers
            .wait_for("audit", head, Duration::from_secs(20))
            .await
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM audit_records").await,
        250
    );

    let head = append_samples(&store, 7, 2).await;
    assert!(
        workers
            .wait_for("audit", head, Duration::from_secs(5))
            .await,
        "live events are applied without a restart"
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM audit_records").await,
        257
    );
    let status = keel_projections::status(&store.log()).await.unwrap();
    let audit = status.iter().find(|s| s.name == "audit").unwrap();
    assert_eq!(
        (audit.position, audit.lag_events, audit.state),
        (head, 0, "running")
    );
    workers.stop().await;
}

/// Two servers (or a server and `keel project`) may run the same projection: each worker's
/// remembered checkpoint goes stale whenever the other commits a batch, and the batch's
/// transaction must notice, so every event is applied once and none is skipped.
async fn two_live_workers_of_one_projection_apply_each_event_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let first_store = db.open().await;
    let second_store = db.open().await;
    let first = Workers::start(first_store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let second = Workers::start(second_store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let mut head = 0;
    for round in 0..6 {
        // Alternate the store that appends, so each worker set is woken locally in turn.
        let store = if round % 2 == 0 {
            &first_store
        } else {
            &second_store
        };
        head = append_samples(store, 150, 7).await;
    }
    for workers in [&first, &second] {
        assert!(
            workers
                .wait_for("audit", head, Duration::from_secs(20))
                .await
        );
    }
    assert_each_applied_once(&first_store, 900).await;
    first.stop().await;
    second.stop().await;
}

async fn a_killed_worker_process_applies_every_event_exactly_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let head = append_samples(&store, 3000, 40).await;
    keel_projections::setup(&store.log()).await.unwrap();
    kill_worker_between_batches(&db.url, "audit", 37, head, 5).await;
    let worker = Worker::new(
        keel_projections::projection("audit").unwrap(),
        store.clone(),
        37,
    );
    assert_eq!(worker.catch_up().await.unwrap(), BatchStep::CaughtUp);
    assert_each_applied_once(&store, 3000).await;
    let incremental = keel_projections::checksum(&store.log(), "audit")
        .await
        .unwrap();
    keel_projections::rebuild(&store.log(), "audit", RebuildMode::BlueGreen, |_| {})
        .await
        .unwrap();
    assert_eq!(
        keel_projections::checksum(&store.log(), "audit")
            .await
            .unwrap(),
        incremental
    );
}

/// Asserts the audit trail holds `events` records, one per position, in a valid chain: every
/// event applied once, none skipped.
async fn assert_each_applied_once(store: &Arc<dyn EventStore>, events: i64) {
    assert_eq!(
        scalar(store, "SELECT COUNT(*) FROM audit_records").await,
        events
    );
    assert_eq!(
        scalar(store, "SELECT COUNT(DISTINCT position) FROM audit_records").await,
        events,
        "no event was applied twice"
    );
    let report = keel_projections::audit::verify(&store.database(), None, None)
        .await
        .unwrap();
    assert!(report.valid, "{report:?}");
}

async fn a_blue_green_rebuild_switches_to_identical_tables(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_samples(&store, 1200, 9).await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();
    assert!(
        workers
            .wait_for("audit", head, Duration::from_secs(20))
            .await
    );
    let before = keel_projections::checksum(&store.log(), "audit")
        .await
        .unwrap();

    let mut progress = Vec::new();
    let report = keel_projections::rebuild(&store.log(), "audit", RebuildMode::BlueGreen, |p| {
        progress.push(p.position)
    })
    .await
    .unwrap();
    assert_eq!(report.generation, 2);
    assert_eq!(report.position, head);
    assert!(progress.windows(2).all(|w| w[0] <= w[1]) && !progress.is_empty());
    assert_eq!(
        keel_projections::checksum(&store.log(), "audit")
            .await
            .unwrap(),
        before
    );
    let generation_one_left = scalar(
        &store,
        "SELECT COUNT(*) FROM projection_checkpoints WHERE name = 'audit' AND generation = 1",
    )
    .await;
    assert_eq!(generation_one_left, 0, "the old generation is dropped");

    // The live worker moved to the new generation and keeps it current.
    let head = append_samples(&store, 5, 1).await;
    assert!(
        workers
            .wait_for("audit", head, Duration::from_secs(5))
            .await
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM audit_records_g2").await,
        1205
    );
    workers.stop().await;
}

async fn a_reset_replays_into_identical_tables(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_samples(&store, 600, 4).await;
    let built = keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    assert_eq!(built.generation, 1);
    let first = keel_projections::checksum(&store.log(), "audit")
        .await
        .unwrap();
    let again = keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    assert_eq!(again.events, 600);
    assert_eq!(
        keel_projections::checksum(&store.log(), "audit")
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM audit_records").await,
        600
    );
}

async fn check_names_the_first_difference_from_a_fresh_rebuild(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_samples(&store, 300, 3).await;
    keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    let clean = keel_projections::check(&store.log(), "audit")
        .await
        .unwrap();
    assert_eq!(clean.first_difference, None, "{clean:?}");
    assert!(clean.rows >= 300);

    execute(
        &store,
        "UPDATE audit_records_g1 SET actor_id = 'mallory' WHERE seq = 2",
    )
    .await;
    let tampered = keel_projections::check(&store.log(), "audit")
        .await
        .unwrap();
    let difference = tampered.first_difference.expect("a difference");
    assert!(
        difference.contains("audit_records") && difference.contains("mallory"),
        "{difference}"
    );
}
