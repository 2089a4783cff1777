//! A handler failing on an event: the projection stops there, visibly; retry tries again;
//! parking moves on while later events of the same stream wait; unparking applies them in order.

use super::support::scalar;
use async_trait::async_trait;
use keel_projections::db::{Param, Tx};
use keel_projections::framework::batch::BatchStep;
use keel_projections::framework::operate::{
    park_failed, projection_status, retry_projection, unpark_stream,
};
use keel_projections::framework::worker::Worker;
use keel_projections::projection::ColumnType;
use keel_projections::{Projection, ProjectionError, TableSpec, Tables};
use keel_store::{EventStore, ExpectedVersion, RecordedEvent};
use keel_tests::AsLog;
use keel_tests::{sample_event, Backend, TestDatabase};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

both_backends!(a_failing_event_stops_the_projection_until_retried_or_parked);

/// Records every event it applies, in order; refuses `test.poison` while `broken`.
struct Flaky {
    broken: Arc<AtomicBool>,
}

static FLAKY_TABLES: &[TableSpec] = &[TableSpec {
    base: "flaky_rows",
    columns: &[
        ("applied", ColumnType::Int),
        ("position", ColumnType::Int),
        ("stream_id", ColumnType::Text),
        ("stream_version", ColumnType::Int),
    ],
    key: &["applied"],
    indexes: &[],
    updated_in_place: false,
}];

#[async_trait]
impl Projection for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn handles(&self, event_type: &str) -> bool {
        event_type.starts_with("test.")
    }
    fn tables(&self) -> &'static [TableSpec] {
        FLAKY_TABLES
    }
    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let table = tables.name("flaky_rows");
        let applied: i64 = keel_projections::with_tx!(&mut *tx, conn => {
            sqlx::query_scalar(&format!("SELECT COALESCE(MAX(applied), 0) FROM {table}"))
                .fetch_one(&mut *conn).await?
        });
        let mut rows = Vec::new();
        for (i, event) in events.iter().enumerate() {
            if event.event_type == "test.poison" && self.broken.load(Ordering::SeqCst) {
                return Err(ProjectionError::handler(
                    event.global_position,
                    "poison refused",
                ));
            }
            rows.push(vec![
                Param::Int(applied + 1 + i as i64),
                Param::Int(event.global_position as i64),
                Param::Text(event.stream_id.clone()),
                Param::Int(event.stream_version as i64),
            ]);
        }
        keel_projections::db::insert_rows(
            tx,
            &table,
            &["applied", "position", "stream_id", "stream_version"],
            &rows,
            "",
        )
        .await
    }
}

async fn append(store: &Arc<dyn EventStore>, stream: &str, event_type: &str) -> u64 {
    store
        .append(stream, ExpectedVersion::Any, vec![sample_event(event_type)])
        .await
        .unwrap()
        .global_position
}

async fn stream_versions(store: &Arc<dyn EventStore>, stream: &str) -> Vec<i64> {
    keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_scalar::<_, i64>("SELECT stream_version FROM flaky_rows WHERE stream_id = $1 ORDER BY applied")
            .bind(stream).fetch_all(pool).await.unwrap()
    })
}

async fn a_failing_event_stops_the_projection_until_retried_or_parked(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    keel_projections::migrate::migrate(&store.database())
        .await
        .unwrap();
    append(&store, "a", "test.ok").await;
    let poison = append(&store, "a", "test.poison").await;
    append(&store, "b", "test.ok").await;
    append(&store, "a", "test.ok").await;
    append(&store, "b", "test.ok").await;

    let broken = Arc::new(AtomicBool::new(true));
    let flaky: Arc<dyn Projection> = Arc::new(Flaky {
        broken: broken.clone(),
    });
    let worker = Worker::new(flaky.clone(), store.clone(), 100);
    worker.prepare().await.unwrap();
    let BatchStep::Failed(failure) = worker.catch_up().await.unwrap() else {
        panic!("the poison stops the projection");
    };
    assert_eq!(failure.position, poison);
    assert!(
        failure.error.contains("poison refused"),
        "{}",
        failure.error
    );
    let status = projection_status(flaky.as_ref(), &store.log())
        .await
        .unwrap();
    assert_eq!(
        (status.state, status.failed_position, status.position),
        ("failed", Some(poison), poison - 1)
    );
    assert_eq!(
        stream_versions(&store, "a").await,
        vec![1],
        "events before the failure are applied"
    );

    // Retrying while the handler is still broken fails at the same event again.
    assert!(retry_projection(flaky.as_ref(), &store.log())
        .await
        .unwrap());
    assert!(
        matches!(worker.catch_up().await.unwrap(), BatchStep::Failed(f) if f.position == poison)
    );

    // Parked: the projection moves on; stream a's later event waits behind the parked one.
    assert_eq!(
        park_failed(flaky.as_ref(), &store.log()).await.unwrap(),
        poison
    );
    assert_eq!(worker.catch_up().await.unwrap(), BatchStep::CaughtUp);
    assert_eq!(stream_versions(&store, "b").await, vec![1, 2]);
    assert_eq!(stream_versions(&store, "a").await, vec![1]);
    assert_eq!(
        projection_status(flaky.as_ref(), &store.log())
            .await
            .unwrap()
            .dead_letters,
        2
    );
    append(&store, "a", "test.ok").await;
    worker.catch_up().await.unwrap();
    assert_eq!(
        projection_status(flaky.as_ref(), &store.log())
            .await
            .unwrap()
            .dead_letters,
        3
    );

    // Unparking while still broken changes nothing; once fixed, stream a is applied in order.
    assert!(unpark_stream(flaky.as_ref(), &store.log(), "a")
        .await
        .is_err());
    assert_eq!(stream_versions(&store, "a").await, vec![1]);
    broken.store(false, Ordering::SeqCst);
    assert_eq!(
        unpark_stream(flaky.as_ref(), &store.log(), "a")
            .await
            .unwrap(),
        3
    );
    assert_eq!(stream_versions(&store, "a").await, vec![1, 2, 3, 4]);
    let status = projection_status(flaky.as_ref(), &store.log())
        .await
        .unwrap();
    assert_eq!(
        (status.state, status.dead_letters, status.lag_events),
        ("running", 0, 0)
    );
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM flaky_rows").await, 6);
}
