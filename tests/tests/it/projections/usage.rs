//! The usage read model fed directly with events: exact rows per period, threshold events
//! once, and a rebuild identical to the incremental build.

use super::support::{scalar, tenant};
use chrono::{TimeZone, Utc};
use keel_api::usage_meter::record;
use keel_commands::store::EventMetadata;
use keel_domain::usage::UsageRecorded;
use keel_domain::Actor;
use keel_projections::{RebuildMode, Workers};
use keel_tests::{Backend, TestDatabase};
use std::collections::BTreeMap;
use std::time::Duration;

both_backends!(usage_totals_are_exact_per_period_and_rebuild_identically);

async fn usage_totals_are_exact_per_period_and_rebuild_identically(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 3, h, m, 0).unwrap();
    let sample = |meter: &str, quantity, time, key: &str| {
        UsageRecorded::new(meter, quantity, time, key, BTreeMap::new(), Utc::now()).unwrap()
    };
    let metadata = || EventMetadata::new(tenant(0), Actor::System("test".into()));
    record(
        &store,
        tenant(0),
        metadata(),
        vec![sample("compute_seconds", 10, at(10, 15), "a")],
    )
    .await
    .unwrap();
    record(
        &store,
        tenant(0),
        metadata(),
        vec![
            sample("compute_seconds", 5, at(10, 45), "b"),
            sample("compute_seconds", 7, at(11, 5), "c"),
        ],
    )
    .await
    .unwrap();
    record(
        &store,
        tenant(0),
        metadata(),
        vec![sample("compute_seconds", 5, at(10, 45), "b")],
    )
    .await
    .unwrap();
    let head = record(
        &store,
        tenant(0),
        metadata(),
        vec![sample("api_calls", 8000, at(12, 0), "d")],
    )
    .await
    .unwrap();
    assert!(
        workers
            .wait_for("usage", head, Duration::from_secs(10))
            .await
    );

    let rows: Vec<(String, i64, i64, i64)> = keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_as("SELECT granularity, bucket, value, events FROM usage_totals WHERE meter = 'compute_seconds' ORDER BY granularity, bucket")
            .fetch_all(pool).await.unwrap()
    });
    let micros = |t: chrono::DateTime<Utc>| t.timestamp_micros();
    assert_eq!(
        rows,
        vec![
            ("day".into(), micros(at(0, 0)), 22, 3),
            ("hour".into(), micros(at(10, 0)), 15, 2),
            ("hour".into(), micros(at(11, 0)), 7, 1),
            (
                "month".into(),
                micros(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()),
                22,
                3
            ),
        ]
    );
    // 8,000 of the free plan's 10,000 api_calls: the 80% threshold, once.
    let alerts_sql =
        "SELECT COUNT(*) FROM events WHERE event_type = 'usage.quota_threshold_crossed'";
    for _ in 0..100 {
        if scalar(&store, alerts_sql).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(scalar(&store, alerts_sql).await, 1);

    let head = store.head_position().await.unwrap();
    assert!(
        workers
            .wait_for("usage", head, Duration::from_secs(10))
            .await
    );
    let incremental = keel_projections::checksum(&store, "usage").await.unwrap();
    keel_projections::rebuild(&store, "usage", RebuildMode::BlueGreen, |_| {})
        .await
        .unwrap();
    assert_eq!(
        keel_projections::checksum(&store, "usage").await.unwrap(),
        incremental
    );
    assert_eq!(
        scalar(&store, alerts_sql).await,
        1,
        "a rebuild raises no threshold event again"
    );
    workers.stop().await;
}
