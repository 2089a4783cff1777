//! The usage read model fed directly with events: exact rows per period, threshold events
//! once, and a rebuild identical to the incremental build.

use super::support::{scalar, tenant};
use chrono::{TimeZone, Utc};
use keel_domain::usage::UsageRecorded;
use keel_domain::Actor;
use keel_projections::usage::alerts::pending;
use keel_projections::{RebuildMode, Workers};
use keel_reactors::quota_alerts::publish_pending;
use keel_store::EventMetadata;
use keel_tests::record_usage as record;
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};
use std::collections::BTreeMap;
use std::time::Duration;

both_backends!(
    usage_totals_are_exact_per_period_and_rebuild_identically,
    days_are_read_from_their_hours_for_every_aggregation
);

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
    // Days are kept as their hours and read whole.
    let day = keel_projections::usage::usage(
        &store.database(),
        tenant(0),
        "compute_seconds",
        "day",
        at(0, 0),
        at(10, 30),
    )
    .await
    .unwrap();
    assert_eq!(
        day.iter()
            .map(|p| (p.start, p.value, p.events))
            .collect::<Vec<_>>(),
        vec![(at(0, 0), 22, 3)]
    );
    // 8,000 of the free plan's 10,000 api_calls: the 80% threshold, raised by the read model
    // and appended, once, by the quota alerts reactor (run by hand here, twice).
    let alerts_sql =
        "SELECT COUNT(*) FROM events WHERE event_type = 'usage.quota_threshold_crossed'";
    assert_eq!(publish_pending(&store).await.unwrap(), 1);
    publish_pending(&store).await.unwrap();
    assert_eq!(scalar(&store, alerts_sql).await, 1);

    let head = store.head_position().await.unwrap();
    assert!(
        workers
            .wait_for("usage", head, Duration::from_secs(10))
            .await
    );
    let incremental = keel_projections::checksum(&store.log(), "usage")
        .await
        .unwrap();
    keel_projections::rebuild(&store.log(), "usage", RebuildMode::BlueGreen, |_| {})
        .await
        .unwrap();
    assert_eq!(
        keel_projections::checksum(&store.log(), "usage")
            .await
            .unwrap(),
        incremental
    );
    assert!(
        pending(&store.database()).await.unwrap().is_empty(),
        "the rebuild folded the alert's event: nothing is left to append"
    );
    assert_eq!(
        scalar(&store, alerts_sql).await,
        1,
        "a rebuild raises no threshold event again"
    );
    workers.stop().await;
}

/// Each aggregation folds a day's hours its own way: a sum adds them, a maximum takes the
/// largest, a gauge the latest sample, and a distinct count counts each value once per day,
/// not once per hour.
async fn days_are_read_from_their_hours_for_every_aggregation(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 30, 0).unwrap();
    let sample = |meter: &str, quantity, time, key: &str, user: Option<&str>| {
        let properties = user
            .map(|u| BTreeMap::from([("user_id".to_string(), u.to_string())]))
            .unwrap_or_default();
        UsageRecorded::new(meter, quantity, time, key, properties, Utc::now()).unwrap()
    };
    let samples = vec![
        sample("active_users", 1, at(3, 9), "u1", Some("ada")),
        sample("active_users", 1, at(3, 9), "u2", Some("bob")),
        sample("active_users", 1, at(3, 14), "u3", Some("ada")),
        sample("active_users", 1, at(4, 1), "u4", Some("ada")),
        sample("peak_connections", 5, at(3, 9), "p1", None),
        sample("peak_connections", 9, at(3, 14), "p2", None),
        sample("peak_connections", 3, at(3, 20), "p3", None),
        sample("storage_bytes", 100, at(3, 20), "s1", None),
        sample("storage_bytes", 50, at(3, 9), "s2", None),
        sample("storage_bytes", 70, at(4, 2), "s3", None),
        sample("compute_seconds", 4, at(3, 23), "c1", None),
        sample("compute_seconds", 6, at(4, 0), "c2", None),
    ];
    let metadata = EventMetadata::new(tenant(0), Actor::System("test".into()));
    let head = record(&store, tenant(0), metadata, samples).await.unwrap();
    assert!(
        workers
            .wait_for("usage", head, Duration::from_secs(10))
            .await
    );
    let midnight = |d| Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap();
    for (meter, expected) in [
        ("active_users", vec![(2, 3), (1, 1)]),
        ("peak_connections", vec![(9, 3)]),
        ("storage_bytes", vec![(100, 2), (70, 1)]),
        ("compute_seconds", vec![(4, 1), (6, 1)]),
    ] {
        let days = keel_projections::usage::usage(
            &store.database(),
            tenant(0),
            meter,
            "day",
            midnight(3),
            midnight(5),
        )
        .await
        .unwrap();
        let starts: Vec<_> = [midnight(3), midnight(4)]
            .into_iter()
            .take(expected.len())
            .collect();
        assert_eq!(
            days.iter().map(|p| p.start).collect::<Vec<_>>(),
            starts,
            "{meter}"
        );
        assert_eq!(
            days.iter().map(|p| (p.value, p.events)).collect::<Vec<_>>(),
            expected,
            "{meter}"
        );
    }
    // The platform's trend by day: the same folds, summed over tenants (one tenant here).
    let range =
        keel_projections::reports::range::ReportRange::new(midnight(3), midnight(5)).unwrap();
    let trends = keel_projections::reports::trend::usage_trend(
        &store.database(),
        None,
        &range,
        keel_projections::reports::range::Granularity::Day,
    )
    .await
    .unwrap();
    let trend = |meter: &str| {
        trends
            .iter()
            .find(|t| t.meter == meter)
            .unwrap()
            .points
            .iter()
            .map(|p| (p.value, p.events))
            .collect::<Vec<_>>()
    };
    assert_eq!(trend("active_users"), vec![(2, 3), (1, 1)]);
    assert_eq!(trend("peak_connections"), vec![(9, 3), (0, 0)]);
    assert_eq!(trend("storage_bytes"), vec![(100, 2), (70, 1)]);
    assert_eq!(trend("compute_seconds"), vec![(4, 1), (6, 1)]);
    workers.stop().await;
}
