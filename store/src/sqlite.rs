//! The SQLite backend: one database file in WAL mode, the embedded default.
//!
//! Writes go through one dedicated connection driven by the group-commit writer: each
//! transaction is `BEGIN IMMEDIATE` (it takes SQLite's write lock up front, so reading versions
//! and writing them cannot race with another process) and carries every append queued meanwhile.
//! It begins in its turn at the file's write lock, ahead of the read models' transactions
//! ([`keel_log::write_turns`]).
//! `synchronous = FULL`: a committed append survives a power cut. Because SQLite has exactly one
//! writer at a time, global positions (the rowid) are assigned in commit order: a follower of
//! `read_all` never skips an event. Reads use a separate pool; WAL lets them run beside the writer.
//!
//! Other processes' commits are noticed by a light poll of the head position, which wakes local
//! followers; within one process, followers are woken right after each commit.

use crate::append::{AppendResult, StreamAppend};
use crate::group_commit::{resolve, GroupCommit, GroupWriter, Resolved};
use crate::group_decision::{plan_group, StoredId};
use crate::idle_connections::KeptConnections;
use crate::snapshot::Snapshot;
use crate::{EventStore, NewEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keel_domain::{Actor, TenantId};
use keel_log::write_turns::{take_turn, turns_of, Turns, Writer};
use keel_log::Head;
use keel_log::StoreError;
use keel_log::{EventLog, EventMetadata, RecordedEvent};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Row, Sqlite};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Rows per INSERT statement: 15 columns each stays well under SQLite's bind limit.
const INSERT_CHUNK: usize = 500;
/// How often other processes' commits are looked for.
const CROSS_PROCESS_POLL: Duration = Duration::from_millis(200);
/// Idle read connections kept for the store's reads (see [`KeptConnections`]).
const KEPT_READERS: usize = 4;

const EVENT_COLUMNS: &str = "global_position, event_id, stream_id, stream_version, tenant_id, \
     event_type, schema_version, occurred_at, recorded_at, actor_kind, actor_id, correlation_id, \
     causation_id, payload, source_ip";

/// The SQLite event store.
pub struct SqliteStore {
    reads: SqlitePool,
    readers: KeptConnections<Sqlite>,
    /// The file's write queue (snapshots are written on the read pool).
    turns: Arc<Turns>,
    appender: GroupCommit,
    head: Head,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or `sqlite::memory:`
    /// is not supported: the file is the store), applies migrations and starts the writer.
    /// The read pool holds `read_connections` for reads and read models, and the store's kept
    /// readers besides.
    pub async fn connect(url: &str, read_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536");
        let mut writer = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(read_connections.max(1) + KEPT_READERS as u32)
            .connect_with(options.clone())
            .await?;
        let head = Head::new(max_position(&reads).await?);
        let turns = turns_of(options.get_filename());
        let appender = GroupCommit::start(
            vec![SqliteWriter {
                conn: writer,
                turns: turns.clone(),
            }],
            head.clone(),
        );
        tokio::spawn(follow_other_processes(reads.clone(), head.clone()));
        Ok(SqliteStore {
            readers: KeptConnections::new(reads.clone(), KEPT_READERS),
            turns,
            reads,
            appender,
            head,
        })
    }

    /// The read pool, for read models kept in the same file.
    pub fn pool(&self) -> &SqlitePool {
        &self.reads
    }

    /// Runs a query for event rows on a kept reader.
    async fn fetch_events<'q>(
        &self,
        query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut reader = self.readers.take().await?;
        let rows = query.fetch_all(&mut *reader).await?;
        self.readers.keep(reader);
        rows.iter().map(decode_row).collect()
    }
}

async fn max_position(pool: &SqlitePool) -> Result<u64, StoreError> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(global_position) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(max.unwrap_or(0) as u64)
}

/// Advances the head when another process commits. Stops when the pool is closed.
async fn follow_other_processes(pool: SqlitePool, head: Head) {
    let mut ticker = tokio::time::interval(CROSS_PROCESS_POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        ticker.tick().await;
        if let Ok(position) = max_position(&pool).await {
            head.advance(position);
        }
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? \
             ORDER BY stream_version LIMIT ?"
        );
        let query = sqlx::query(&sql)
            .bind(stream_id)
            .bind(from_version as i64)
            .bind(limit as i64);
        self.fetch_events(query).await
    }

    async fn read_all(
        &self,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE global_position > ? \
             ORDER BY global_position LIMIT ?"
        );
        let query = sqlx::query(&sql)
            .bind(after_position as i64)
            .bind(limit as i64);
        self.fetch_events(query).await
    }

    async fn read_tenant(
        &self,
        tenant_id: keel_domain::TenantId,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = ? AND global_position > ? \
             ORDER BY global_position LIMIT ?"
        );
        let query = sqlx::query(&sql)
            .bind(tenant_id.0.as_bytes().to_vec())
            .bind(after_position as i64)
            .bind(limit as i64);
        self.fetch_events(query).await
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let mut reader = self.readers.take().await?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = ?")
                .bind(stream_id)
                .fetch_optional(&mut *reader)
                .await?;
        self.readers.keep(reader);
        Ok(version.unwrap_or(0) as u64)
    }

    async fn stream_versions(&self, stream_ids: &[String]) -> Result<Vec<u64>, StoreError> {
        let mut reader = self.readers.take().await?;
        let found: HashMap<String, i64> = sqlx::query_as(
            "SELECT stream_id, version FROM streams \
             WHERE stream_id IN (SELECT value FROM json_each(?))",
        )
        .bind(serde_json::to_string(stream_ids).expect("strings serialize"))
        .fetch_all(&mut *reader)
        .await?
        .into_iter()
        .collect();
        self.readers.keep(reader);
        Ok(crate::in_order(stream_ids, &found))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        let position = max_position(&self.reads).await?;
        self.head.advance(position);
        Ok(position)
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    fn database(&self) -> keel_log::Database {
        keel_log::Database::Sqlite(self.reads.clone())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append_streams(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        self.appender.append(appends).await
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        let mut reader = self.readers.take().await?;
        let row = sqlx::query(
            "SELECT stream_version, snapshot_version, payload FROM snapshots WHERE stream_id = ?",
        )
        .bind(stream_id)
        .fetch_optional(&mut *reader)
        .await?;
        self.readers.keep(reader);
        Ok(row.map(|row| Snapshot {
            stream_id: stream_id.to_owned(),
            stream_version: row.get::<i64, _>(0) as u64,
            snapshot_version: row.get::<i64, _>(1) as u16,
            payload: row.get(2),
        }))
    }

    async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let _turn = take_turn(&self.turns, Writer::Other).await;
        sqlx::query(
            "INSERT INTO snapshots (stream_id, stream_version, snapshot_version, payload, taken_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version, \
               snapshot_version = excluded.snapshot_version, payload = excluded.payload, \
               taken_at = excluded.taken_at \
             WHERE excluded.stream_version > snapshots.stream_version \
                OR excluded.snapshot_version <> snapshots.snapshot_version",
        )
        .bind(&snapshot.stream_id)
        .bind(snapshot.stream_version as i64)
        .bind(snapshot.snapshot_version as i64)
        .bind(&snapshot.payload)
        .bind(Utc::now().timestamp_micros())
        .execute(&self.reads)
        .await?;
        Ok(())
    }
}

fn decode_row(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get(0)?;
    let corrupt = |reason: &str| StoreError::Corrupt {
        position,
        reason: reason.to_owned(),
    };
    let uuid = |index: usize| -> Result<Uuid, StoreError> {
        let bytes: &[u8] = row.try_get(index)?;
        Uuid::from_slice(bytes).map_err(|_| corrupt("malformed uuid"))
    };
    let time = |index: usize| -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_micros(row.try_get(index)?).ok_or_else(|| corrupt("bad time"))
    };
    let causation: Option<&[u8]> = row.try_get(12)?;
    let actor_kind: &str = row.try_get(9)?;
    let actor = Actor::from_parts(actor_kind, row.try_get::<String, _>(10)?)
        .ok_or_else(|| corrupt("unknown actor kind"))?;
    Ok(RecordedEvent {
        event_id: uuid(1)?,
        stream_id: row.try_get(2)?,
        stream_version: row.try_get::<i64, _>(3)? as u64,
        global_position: position as u64,
        event_type: row.try_get(5)?,
        schema_version: row.try_get::<i64, _>(6)? as u16,
        metadata: EventMetadata {
            tenant_id: TenantId(uuid(4)?),
            actor,
            correlation_id: uuid(11)?,
            causation_id: causation
                .map(|b| Uuid::from_slice(b).map_err(|_| corrupt("malformed causation id")))
                .transpose()?,
            occurred_at: time(7)?,
            source_ip: row
                .try_get::<Option<String>, _>(14)?
                .map(|t| t.parse().map_err(|_| corrupt("malformed source ip")))
                .transpose()?,
        },
        recorded_at: time(8)?,
        payload: row.try_get(13)?,
    })
}

/// The single writing connection.
struct SqliteWriter {
    conn: SqliteConnection,
    /// The file's write queue, shared with the read models' transactions.
    turns: Arc<Turns>,
}

#[async_trait]
impl GroupWriter for SqliteWriter {
    async fn write_group(
        &mut self,
        units: &[&[StreamAppend]],
    ) -> Result<(Vec<Resolved>, u64), StoreError> {
        let _turn = take_turn(&self.turns, Writer::Events).await;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await?;
        match write_in_transaction(&mut self.conn, units).await {
            Ok(done) => {
                sqlx::query("COMMIT").execute(&mut self.conn).await?;
                Ok(done)
            }
            Err(error) => {
                // If the rollback fails too the connection is unusable; the next BEGIN fails
                // and reports it, so the original error is the one worth returning here.
                let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                Err(error)
            }
        }
    }
}

async fn write_in_transaction(
    conn: &mut SqliteConnection,
    units: &[&[StreamAppend]],
) -> Result<(Vec<Resolved>, u64), StoreError> {
    let streams: Vec<&str> = units
        .iter()
        .flat_map(|u| u.iter().map(|a| a.stream_id.as_str()))
        .collect();
    let ids: Vec<String> = units
        .iter()
        .flat_map(|u| u.iter().flat_map(|a| a.events.iter()))
        .map(|e| e.event_id.simple().to_string())
        .collect();

    let versions: HashMap<String, u64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT stream_id, version FROM streams WHERE stream_id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&streams).expect("strings serialize"))
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(s, v)| (s, v as u64))
    .collect();

    let stored: HashMap<Uuid, StoredId> = sqlx::query(
        "SELECT event_id, stream_id, stream_version, global_position FROM events \
         WHERE event_id IN (SELECT unhex(value) FROM json_each(?))",
    )
    .bind(serde_json::to_string(&ids).expect("strings serialize"))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let id = Uuid::from_slice(row.get::<&[u8], _>(0)).unwrap_or_default();
        let found = StoredId {
            stream_id: row.get(1),
            stream_version: row.get::<i64, _>(2) as u64,
            global_position: row.get::<i64, _>(3) as u64,
        };
        (id, found)
    })
    .collect();

    let plan = plan_group(units, &versions, &stored);
    let head: Option<i64> = sqlx::query_scalar("SELECT MAX(global_position) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let base = head.unwrap_or(0) as u64;
    let recorded_at = Utc::now().timestamp_micros();

    for (chunk_index, chunk) in plan.rows.chunks(INSERT_CHUNK).enumerate() {
        let offset = base + 1 + (chunk_index * INSERT_CHUNK) as u64;
        let mut insert =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
        insert.push_values(chunk.iter().enumerate(), |mut values, (i, row)| {
            let event: &NewEvent = row.event;
            let meta = &event.metadata;
            values
                .push_bind(offset as i64 + i as i64)
                .push_bind(event.event_id.as_bytes().to_vec())
                .push_bind(row.stream_id)
                .push_bind(row.stream_version as i64)
                .push_bind(meta.tenant_id.0.as_bytes().to_vec())
                .push_bind(event.event_type.as_str())
                .push_bind(event.schema_version as i64)
                .push_bind(meta.occurred_at.timestamp_micros())
                .push_bind(recorded_at)
                .push_bind(meta.actor.kind())
                .push_bind(meta.actor.id())
                .push_bind(meta.correlation_id.as_bytes().to_vec())
                .push_bind(meta.causation_id.map(|c| c.as_bytes().to_vec()))
                .push_bind(event.payload.as_slice())
                .push_bind(meta.source_ip.map(|ip| ip.to_string()));
        });
        insert.build().execute(&mut *conn).await?;
    }

    for (stream_id, version, _) in &plan.stream_versions {
        sqlx::query(
            "INSERT INTO streams (stream_id, version) VALUES (?, ?) \
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version",
        )
        .bind(*stream_id)
        .bind(*version as i64)
        .execute(&mut *conn)
        .await?;
    }

    let resolved = resolve(plan.outcomes, base);
    Ok((resolved, base + plan.rows.len() as u64))
}
