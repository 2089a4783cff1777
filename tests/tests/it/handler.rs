//! The command handler on both backends: no lost updates under concurrency, conflicts,
//! refusals, snapshots and upcasting.

use keel_commands::handler::{CommandError, CommandHandler, Conflict, HandlerConfig};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent};
use keel_tests::counter::{Counter, CounterCommand, OverLimit, LIMIT};
use keel_tests::{Backend, TestDatabase};
use std::sync::Arc;
use std::time::Duration;

both_backends!(
    concurrent_commands_on_one_aggregate_all_apply,
    handlers_with_separate_caches_lose_no_update,
    a_stale_expected_version_is_refused_and_appends_nothing,
    a_refusal_appends_nothing,
    outcomes_report_where_each_command_landed,
    state_from_snapshot_and_tail_equals_full_replay,
    old_event_versions_are_upcast_when_loading,
    states_of_several_aggregates_follow_another_processs_writes,
);

fn counter() -> AggregateId {
    AggregateId {
        tenant_id: TenantId(uuid::Uuid::now_v7()),
        id: uuid::Uuid::now_v7(),
    }
}

fn meta(id: AggregateId) -> EventMetadata {
    EventMetadata::new(id.tenant_id, Actor::System("test".into()))
}

fn increment(by: u64) -> CounterCommand {
    CounterCommand::Increment { by }
}

async fn concurrent_commands_on_one_aggregate_all_apply(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let handler = CommandHandler::<Counter>::new(db.open().await, HandlerConfig::default());
    let id = counter();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let handler = handler.clone();
            tokio::spawn(async move { handler.execute(id, increment(1), meta(id), None).await })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().unwrap().stream_version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=64).collect::<Vec<_>>());
    assert_eq!(handler.state(id).await.unwrap().state.value, 64);
}

async fn handlers_with_separate_caches_lose_no_update(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    // Two handlers stand for two processes: each has its own cache and queue.
    let handlers = [
        CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default()),
        CommandHandler::<Counter>::new(
            store.clone(),
            HandlerConfig {
                max_attempts: 100,
                ..HandlerConfig::default()
            },
        ),
    ];
    let handlers = [handlers[0].clone(), handlers[1].clone()];
    let id = counter();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let handler = handlers[i % 2].clone();
            tokio::spawn(async move {
                loop {
                    match handler.execute(id, increment(1), meta(id), None).await {
                        Ok(outcome) => return outcome,
                        Err(CommandError::Conflict(Conflict::Contention { .. })) => continue,
                        Err(other) => panic!("{other}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for handler in &handlers {
        assert_eq!(handler.state(id).await.unwrap().state.value, 40);
    }
    assert_eq!(
        store
            .stream_version(&id.stream_id("counter"))
            .await
            .unwrap(),
        40
    );
}

async fn a_stale_expected_version_is_refused_and_appends_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let first = CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default());
    let second = CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default());
    let id = counter();
    first
        .execute(id, increment(1), meta(id), Some(0))
        .await
        .unwrap();
    // `second` has not seen version 1 yet; an expectation of 1 must still be honoured.
    second
        .execute(id, increment(1), meta(id), Some(1))
        .await
        .unwrap();
    // `first` caches version 1; the stream is at 2.
    let error = first
        .execute(id, increment(1), meta(id), Some(1))
        .await
        .unwrap_err();
    match error {
        CommandError::Conflict(Conflict::ExpectedVersion {
            expected, actual, ..
        }) => {
            assert_eq!((expected, actual), (1, 2))
        }
        other => panic!("expected a version conflict, got {other}"),
    }
    assert_eq!(
        store
            .stream_version(&id.stream_id("counter"))
            .await
            .unwrap(),
        2
    );
}

async fn a_refusal_appends_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default());
    let id = counter();
    handler
        .execute(id, increment(LIMIT), meta(id), None)
        .await
        .unwrap();
    let error = handler
        .execute(id, increment(1), meta(id), None)
        .await
        .unwrap_err();
    assert!(matches!(error, CommandError::Domain(OverLimit)));
    let touched = handler
        .execute(id, CounterCommand::Touch, meta(id), None)
        .await
        .unwrap();
    assert_eq!((touched.stream_version, touched.global_position), (1, None));
    assert_eq!(store.head_position().await.unwrap(), 1);
}

async fn outcomes_report_where_each_command_landed(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default());
    let ids: Vec<AggregateId> = (0..4).map(|_| counter()).collect();
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let handler = handler.clone();
            let id = ids[i % 4];
            tokio::spawn(async move {
                let outcome = handler
                    .execute(id, increment(i as u64 + 1), meta(id), None)
                    .await
                    .unwrap();
                (i as u64 + 1, outcome)
            })
        })
        .collect();
    for task in tasks {
        let (by, outcome) = task.await.unwrap();
        let position = outcome.global_position.expect("an event was written");
        let stored = store.read_all(position - 1, 1).await.unwrap().remove(0);
        assert_eq!(stored.global_position, position);
        assert_eq!(stored.stream_id, outcome.stream_id);
        assert_eq!(stored.stream_version, outcome.stream_version);
        let event: keel_tests::counter::CounterEvent = stored.decode().unwrap();
        assert_eq!(event, outcome.events[0]);
        assert_eq!(outcome.events.len(), 1);
        let keel_tests::counter::CounterEvent::Incremented(e) = event;
        assert_eq!(e.by, by);
    }
}

async fn state_from_snapshot_and_tail_equals_full_replay(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let config = HandlerConfig {
        snapshot_every: 10,
        ..HandlerConfig::default()
    };
    let handler = CommandHandler::<Counter>::new(store.clone(), config.clone());
    let id = counter();
    for by in 1..=95 {
        handler
            .execute(id, increment(by), meta(id), None)
            .await
            .unwrap();
    }
    let stream = id.stream_id("counter");
    let snapshot = wait_for_snapshot(&*store, &stream, 90).await;
    assert!(snapshot.stream_version >= 90);

    let fresh = CommandHandler::<Counter>::new(store.clone(), config);
    let from_snapshot = fresh.state(id).await.unwrap();
    let replayed = fresh.state_at(id, u64::MAX).await.unwrap();
    assert_eq!(from_snapshot.version, 95);
    assert_eq!(from_snapshot.state, replayed.state);
    assert_eq!(from_snapshot.state.history, (1..=95).collect::<Vec<_>>());
    let earlier = fresh.state_at(id, 3).await.unwrap();
    assert_eq!(earlier.state.history, vec![1, 2, 3]);
}

async fn wait_for_snapshot(
    store: &dyn EventStore,
    stream: &str,
    at_least: u64,
) -> keel_store::Snapshot {
    for _ in 0..200 {
        if let Some(snapshot) = store.load_snapshot(stream).await.unwrap() {
            if snapshot.stream_version >= at_least {
                return snapshot;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no snapshot at version {at_least} of {stream} within 2 s");
}

async fn old_event_versions_are_upcast_when_loading(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store: Arc<dyn EventStore> = db.open().await;
    let id = counter();
    // Version 1 of `counter.incremented` called the field `amount`.
    let old = NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "counter.incremented".into(),
        schema_version: 1,
        payload: keel_domain::event::encode_payload(&serde_json::json!({ "amount": 5 })).unwrap(),
        metadata: meta(id),
    };
    store
        .append(
            &id.stream_id("counter"),
            ExpectedVersion::NoStream,
            vec![old],
        )
        .await
        .unwrap();
    let handler = CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default());
    assert_eq!(handler.state(id).await.unwrap().state.value, 5);
    let outcome = handler
        .execute(id, increment(1), meta(id), None)
        .await
        .unwrap();
    assert_eq!(outcome.state.value, 6);
    let stored = store
        .read_stream(&id.stream_id("counter"), 1, 10)
        .await
        .unwrap();
    assert_eq!(
        stored[0].schema_version, 1,
        "the stored event is never rewritten"
    );
    assert_eq!(stored[1].schema_version, 2);
}

async fn states_of_several_aggregates_follow_another_processs_writes(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    // Two handlers stand for two processes, each with its own cache.
    let reader = CommandHandler::<Counter>::new(store.clone(), HandlerConfig::default());
    let writer = CommandHandler::<Counter>::new(store, HandlerConfig::default());
    let (a, b, missing) = (counter(), counter(), counter());
    for (id, by) in [(a, 1), (b, 2)] {
        writer
            .execute(id, increment(by), meta(id), None)
            .await
            .unwrap();
    }
    let values = |states: Vec<keel_commands::handler::Loaded<Counter>>| {
        states
            .iter()
            .map(|l| (l.version, l.state.value))
            .collect::<Vec<_>>()
    };
    let ids = [b, missing, a];
    assert_eq!(
        values(reader.states(&ids).await.unwrap()),
        [(1, 2), (0, 0), (1, 1)],
        "in the order asked, a missing stream at version 0"
    );
    // The reader's cache now holds both; the writer moves one on.
    writer
        .execute(a, increment(5), meta(a), None)
        .await
        .unwrap();
    assert_eq!(
        values(reader.states(&ids).await.unwrap()),
        [(1, 2), (0, 0), (2, 6)],
        "a cached state behind the store is loaded again"
    );
}
