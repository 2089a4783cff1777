//! The event store conformance suite: the guarantees of `keel_store`, checked on
//! SQLite and on PostgreSQL alike.

use keel_store::{ExpectedVersion, StoreError, StreamAppend};
use keel_tests::{sample_event, Backend, TestDatabase};
use std::time::Duration;

both_backends!(
    appended_events_read_back_with_their_whole_envelope,
    a_wrong_expected_version_is_a_typed_error_and_writes_nothing,
    a_multi_stream_append_is_all_or_nothing,
    reappending_the_same_event_ids_returns_the_first_result,
    a_partly_stored_append_is_an_idempotency_conflict,
    read_all_pages_through_the_log_in_position_order,
    sixty_four_concurrent_writers_to_one_stream_lose_no_update,
    open_appends_from_two_stores_on_one_database_lose_no_update,
    reopening_an_existing_database_keeps_its_events,
    a_subscription_catches_up_then_follows_live,
    every_event_has_a_json_view,
    closing_the_pool_ends_while_connections_are_kept,
    the_smallest_pool_still_serves_reads_appends_and_read_models,
);

async fn appended_events_read_back_with_their_whole_envelope(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let mut first = sample_event("test.first");
    first.metadata.causation_id = Some(uuid::Uuid::now_v7());
    first.metadata.source_ip = Some("2001:db8::7".parse().unwrap());
    let second = sample_event("test.second");
    let result = store
        .append(
            "s-1",
            ExpectedVersion::NoStream,
            vec![first.clone(), second.clone()],
        )
        .await
        .unwrap();
    assert_eq!(result.stream_version, 2);
    assert_eq!(result.global_position, 2);

    let events = store.read_stream("s-1", 1, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    for (stored, sent) in events.iter().zip([&first, &second]) {
        assert_eq!(stored.event_id, sent.event_id);
        assert_eq!(stored.event_type, sent.event_type);
        assert_eq!(stored.schema_version, sent.schema_version);
        assert_eq!(stored.payload, sent.payload);
        assert_eq!(stored.metadata.tenant_id, sent.metadata.tenant_id);
        assert_eq!(stored.metadata.actor, sent.metadata.actor);
        assert_eq!(stored.metadata.correlation_id, sent.metadata.correlation_id);
        assert_eq!(stored.metadata.causation_id, sent.metadata.causation_id);
        assert_eq!(stored.metadata.source_ip, sent.metadata.source_ip);
        assert_eq!(
            stored.metadata.occurred_at.timestamp_micros(),
            sent.metadata.occurred_at.timestamp_micros()
        );
        assert!(stored.recorded_at >= sent.metadata.occurred_at - chrono::Duration::seconds(5));
    }
    assert_eq!((events[0].stream_version, events[1].stream_version), (1, 2));
    assert_eq!(store.read_stream("s-1", 2, 10).await.unwrap().len(), 1);
    assert_eq!(store.stream_version("s-1").await.unwrap(), 2);
    assert_eq!(store.stream_version("absent").await.unwrap(), 0);
    assert_eq!(store.head_position().await.unwrap(), 2);
}

async fn a_wrong_expected_version_is_a_typed_error_and_writes_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    store
        .append("s", ExpectedVersion::NoStream, vec![sample_event("t.a")])
        .await
        .unwrap();
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(2),
    ] {
        let error = store
            .append("s", expected, vec![sample_event("t.b")])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::WrongExpectedVersion { stream_id, actual: 1, .. } if stream_id == "s"),
            "{expected:?} gave {error:?}"
        );
    }
    let error = store
        .append(
            "absent",
            ExpectedVersion::StreamExists,
            vec![sample_event("t.b")],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::WrongExpectedVersion { actual: 0, .. }
    ));
    assert_eq!(store.head_position().await.unwrap(), 1);

    for expected in [
        ExpectedVersion::Exact(1),
        ExpectedVersion::StreamExists,
        ExpectedVersion::Any,
    ] {
        store
            .append("s", expected, vec![sample_event("t.c")])
            .await
            .unwrap();
    }
    assert_eq!(store.stream_version("s").await.unwrap(), 4);
}

async fn a_multi_stream_append_is_all_or_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    store
        .append(
            "taken",
            ExpectedVersion::NoStream,
            vec![sample_event("t.a")],
        )
        .await
        .unwrap();
    let error = store
        .append_streams(vec![
            StreamAppend {
                stream_id: "fresh".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![sample_event("t.b"), sample_event("t.b")],
            },
            StreamAppend {
                stream_id: "taken".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![sample_event("t.c")],
            },
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::WrongExpectedVersion { ref stream_id, .. } if stream_id == "taken")
    );
    assert_eq!(store.stream_version("fresh").await.unwrap(), 0);
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);

    let results = store
        .append_streams(vec![
            StreamAppend {
                stream_id: "fresh".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![sample_event("t.b"), sample_event("t.b")],
            },
            StreamAppend {
                stream_id: "taken".into(),
                expected: ExpectedVersion::Exact(1),
                events: vec![sample_event("t.c")],
            },
        ])
        .await
        .unwrap();
    assert_eq!(results[0].stream_version, 2);
    assert_eq!(results[1].stream_version, 2);
    assert_eq!(results[0].global_position, 3);
    assert_eq!(results[1].global_position, 4);
}

async fn reappending_the_same_event_ids_returns_the_first_result(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let events = vec![sample_event("t.a"), sample_event("t.b")];
    let first = store
        .append("s", ExpectedVersion::NoStream, events.clone())
        .await
        .unwrap();
    store
        .append("other", ExpectedVersion::Any, vec![sample_event("t.x")])
        .await
        .unwrap();
    // A retry, even with an expectation that no longer holds, is recognised as the same append.
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
        ExpectedVersion::Exact(0),
    ] {
        let again = store.append("s", expected, events.clone()).await.unwrap();
        assert_eq!(again, first);
    }
    // Concurrent retries of the same append store it once.
    let retries: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let events = vec![sample_event("t.c")];
            tokio::spawn(async move {
                let mut results = Vec::new();
                for _ in 0..4 {
                    results.push(
                        store
                            .append("t", ExpectedVersion::Any, events.clone())
                            .await
                            .unwrap(),
                    );
                }
                results
            })
        })
        .collect();
    for retry in retries {
        let results = retry.await.unwrap();
        assert!(results.windows(2).all(|w| w[0] == w[1]));
    }
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 3 + 8);
}

async fn a_partly_stored_append_is_an_idempotency_conflict(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let stored = sample_event("t.a");
    store
        .append("s", ExpectedVersion::Any, vec![stored.clone()])
        .await
        .unwrap();
    let error = store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![stored.clone(), sample_event("t.b")],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::IdempotencyConflict { event_id } if event_id == stored.event_id)
    );
    let error = store
        .append("elsewhere", ExpectedVersion::Any, vec![stored.clone()])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::IdempotencyConflict { .. }));
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);
}

async fn read_all_pages_through_the_log_in_position_order(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    for i in 0..25 {
        store
            .append(
                &format!("s-{}", i % 3),
                ExpectedVersion::Any,
                vec![sample_event("t.a")],
            )
            .await
            .unwrap();
    }
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.read_all(after, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = page.last().unwrap().global_position;
        seen.extend(page.into_iter().map(|e| e.global_position));
    }
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
    assert!(store.read_all(25, 10).await.unwrap().is_empty());
}

async fn sixty_four_concurrent_writers_to_one_stream_lose_no_update(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let writers: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let event = sample_event("t.increment");
                let mut conflicts = 0;
                loop {
                    let version = store.stream_version("hot").await.unwrap();
                    match store
                        .append("hot", ExpectedVersion::Exact(version), vec![event.clone()])
                        .await
                    {
                        Ok(result) => return (result.stream_version, conflicts),
                        Err(StoreError::WrongExpectedVersion { .. }) => conflicts += 1,
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                }
            })
        })
        .collect();
    let mut versions = Vec::new();
    for writer in writers {
        versions.push(writer.await.unwrap().0);
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=64).collect::<Vec<_>>());
    let events = store.read_stream("hot", 1, 1000).await.unwrap();
    assert_eq!(events.len(), 64);
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.stream_version == i as u64 + 1));
}

/// Two store objects on one database stand in for two processes. Each remembers the versions
/// it last wrote its streams at and plans `Any` appends on them; the other's appends make those
/// guesses stale, and a stale guess must still end in a correct, gap-free version.
async fn open_appends_from_two_stores_on_one_database_lose_no_update(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let stores = [db.open().await, db.open().await];
    // Taking turns: every append but the first meets a stream the other store moved.
    for turn in 0..6u64 {
        let result = stores[turn as usize % 2]
            .append("shared", ExpectedVersion::Any, vec![sample_event("t.turn")])
            .await
            .unwrap();
        assert_eq!(result.stream_version, turn + 1);
    }
    stores[1]
        .append(
            "other",
            ExpectedVersion::NoStream,
            vec![sample_event("t.turn")],
        )
        .await
        .unwrap();
    // Both at once, eight tasks each, on the same two streams.
    let tasks: Vec<_> = (0..16usize)
        .map(|task| {
            let store = stores[task % 2].clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    let stream = ["shared", "other"][(task + i) % 2];
                    let expected = [ExpectedVersion::Any, ExpectedVersion::StreamExists][i % 2];
                    store
                        .append(stream, expected, vec![sample_event("t.both")])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 6 turns + 80 on "shared", 1 + 80 on "other", each stream's versions without a gap.
    for (stream, count) in [("shared", 86), ("other", 81)] {
        let events = stores[0].read_stream(stream, 1, 1000).await.unwrap();
        let versions: Vec<u64> = events.iter().map(|e| e.stream_version).collect();
        assert_eq!(versions, (1..=count).collect::<Vec<_>>(), "{stream}");
        assert_eq!(stores[1].stream_version(stream).await.unwrap(), count);
    }
    assert_eq!(stores[1].read_all(0, 1000).await.unwrap().len(), 167);
}

async fn reopening_an_existing_database_keeps_its_events(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    {
        let store = db.open().await;
        store
            .append("s", ExpectedVersion::NoStream, vec![sample_event("t.a")])
            .await
            .unwrap();
    }
    let store = db.open().await;
    assert_eq!(store.head_position().await.unwrap(), 1);
    let result = store
        .append("s", ExpectedVersion::Exact(1), vec![sample_event("t.b")])
        .await
        .unwrap();
    assert_eq!((result.stream_version, result.global_position), (2, 2));
}

async fn a_subscription_catches_up_then_follows_live(backend: Backend) {
    use futures::StreamExt;
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    for _ in 0..5 {
        store
            .append("s", ExpectedVersion::Any, vec![sample_event("t.a")])
            .await
            .unwrap();
    }
    let mut subscription = Box::pin(keel_store::subscribe(store.clone(), 2, 2));
    let mut positions = Vec::new();
    for _ in 0..3 {
        positions.push(subscription.next().await.unwrap().unwrap().global_position);
    }
    assert_eq!(positions, vec![3, 4, 5]);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                store
                    .append("s", ExpectedVersion::Any, vec![sample_event("t.b")])
                    .await
                    .unwrap();
            }
        })
    };
    for expected in 6..=8 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), subscription.next())
            .await
            .expect("a live event arrives")
            .unwrap()
            .unwrap();
        assert_eq!(event.global_position, expected);
        assert_eq!(event.event_type, "t.b");
    }
    writer.await.unwrap();
}

async fn every_event_has_a_json_view(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let mut event = sample_event("t.a");
    event.payload =
        keel_domain::event::encode_payload(&serde_json::json!({"name": "acme", "seats": 3}))
            .unwrap();
    store
        .append("s", ExpectedVersion::Any, vec![event.clone()])
        .await
        .unwrap();
    let stored = store.read_all(0, 1).await.unwrap().remove(0);
    let json = serde_json::to_value(stored.to_json()).unwrap();
    assert_eq!(
        json["data"],
        serde_json::json!({"name": "acme", "seats": 3})
    );
    assert_eq!(json["event_type"], "t.a");
    assert_eq!(json["stream_version"], 1);
    assert_eq!(json["global_position"], 1);
    assert_eq!(json["event_id"], event.event_id.to_string());
    assert_eq!(
        json["actor"],
        serde_json::json!({"kind": "system", "id": "test"})
    );
}

/// The PostgreSQL writer keeps its connection from one group to the next. When the server ends
/// the store's connections, appends fail for a while (each dead connection fails once) and then
/// go on: none is lost, none is written twice, and positions stay contiguous.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_appends_go_on_after_the_server_ends_the_stores_connections() {
    let (db, store) = postgres_store_with_a_written_connection().await;
    db.drop_connections().await;

    let after = vec![sample_event("test.after")];
    let mut failures = 0;
    let appended = loop {
        match store
            .append("s-1", ExpectedVersion::Exact(1), after.clone())
            .await
        {
            Ok(appended) => break appended,
            // More than the pool's connections (16) and the writer's would be a connection
            // that is never replaced.
            Err(error) if failures < 20 => {
                failures += 1;
                eprintln!("append {failures} failed as its connection was gone: {error}");
            }
            Err(error) => panic!("appends did not recover after {failures} failures: {error}"),
        }
    };
    assert_eq!((appended.stream_version, appended.global_position), (2, 2));
    let log = store.read_all(0, 10).await.unwrap();
    let types: Vec<_> = log.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["test.first", "test.after"]);
    assert_eq!(log[1].event_id, after[0].event_id);
}

/// Closing the store's pool, as an interrupted `keel replay` does, ends although the store
/// keeps connections between uses (PostgreSQL: the writer's, the cross-process signal's;
/// both: the readers'), since `Pool::close` waits for every connection out of the pool.
async fn closing_the_pool_ends_while_connections_are_kept(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    written_and_read(&*store).await;
    let closed = async {
        match store.database() {
            keel_store::Database::Postgres(pool) => pool.close().await,
            keel_store::Database::Sqlite(pool) => pool.close().await,
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the pool closes");
}

/// With the smallest pool (`connections: 1`) the connections the store keeps for itself (its
/// writers', its signal's, its readers') come on top: concurrent reads, appends and other
/// users of the pool (the read models) all still get a connection, well before the pool's
/// ten-second acquire timeout.
async fn the_smallest_pool_still_serves_reads_appends_and_read_models(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let options = keel_store::StoreOptions {
        connections: 1,
        ..Default::default()
    };
    let store = db.open_with(&options).await;
    let bound = Duration::from_secs(5);
    for round in 0..3u64 {
        tokio::time::timeout(bound, written_and_read(&*store))
            .await
            .unwrap_or_else(|_| panic!("round {round}: reads or appends waited for a connection"));
        let pool_query = async {
            match store.database() {
                keel_store::Database::Postgres(pool) => {
                    sqlx::query_scalar::<_, i32>("SELECT 1")
                        .fetch_one(&pool)
                        .await
                }
                keel_store::Database::Sqlite(pool) => {
                    sqlx::query_scalar::<_, i32>("SELECT 1")
                        .fetch_one(&pool)
                        .await
                }
            }
        };
        let one = tokio::time::timeout(bound, pool_query)
            .await
            .unwrap_or_else(|_| panic!("round {round}: the pool had no connection left"))
            .unwrap();
        assert_eq!(one, 1);
    }
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 3);
}

/// Appends one event to a new stream of its own, then reads from eight tasks at once (more
/// than the store keeps readers for), so the store has used and kept connections of each kind.
async fn written_and_read(store: &dyn keel_store::EventStore) {
    let stream = format!("s-{}", uuid::Uuid::now_v7());
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![sample_event("test.written")],
        )
        .await
        .unwrap();
    let reads = (0..8).map(|_| store.read_stream(&stream, 1, 10));
    for events in futures::future::join_all(reads).await {
        assert_eq!(events.unwrap().len(), 1);
    }
    assert_eq!(store.stream_version(&stream).await.unwrap(), 1);
}

/// A PostgreSQL store whose writer has committed one event (`test.first` on `s-1`), so it
/// keeps a connection.
async fn postgres_store_with_a_written_connection(
) -> (TestDatabase, std::sync::Arc<dyn keel_store::EventStore>) {
    let db = TestDatabase::create(Backend::Postgres).await;
    let store = db.open().await;
    let first = vec![sample_event("test.first")];
    store
        .append("s-1", ExpectedVersion::NoStream, first)
        .await
        .unwrap();
    (db, store)
}
