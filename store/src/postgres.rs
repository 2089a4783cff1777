//! The PostgreSQL backend: production, several processes may append at once.
//!
//! ## Gap-free global order
//! An append transaction first locks the rows of its streams (sorted by stream id, so writers
//! cannot deadlock) and checks expected versions and event ids; all of that runs concurrently
//! across connections and processes. Only its last steps are serialised: take positions from the
//! single-row counter `event_log_head` (its row lock is held until commit), insert the events,
//! commit. Positions are therefore handed out in commit order: when a transaction can take
//! positions, every transaction with lower positions has committed and is visible. A reader that
//! follows `read_all` from its checkpoint never meets a gap that fills later, so it never skips
//! an event, and a rolled-back transaction releases its positions for the next one.
//!
//! ## One round trip per group
//! Every write goes through the server-side function `keel_append_expecting`, a compare-and-set
//! of the stream versions followed by the positions and the insert. When each append of a group
//! names the exact version its streams must be at (the command handler's always do), the group
//! is planned on those versions and the function is called alone in autocommit: one round trip,
//! and the counter row is locked only for the insert and the commit's WAL flush, not across the
//! network. If the assumption was wrong (a conflict, a replayed event id, a claim already taken),
//! the function writes nothing and the group is decided again on locked rows, which gives every
//! caller its exact answer. Appends that leave the version open (`Any`, `StreamExists`) take
//! the same path, planned on the version the store last saw the stream at
//! ([`crate::known_versions`]; a stream it has not seen is assumed new).
//!
//! ## Live notification
//! Commits wake local followers at once. Other processes learn of them through a coalesced
//! `pg_notify` sent after the commit on a separate connection (never inside the append
//! transaction: `NOTIFY` there takes a global lock at commit). A follower also re-reads every
//! half second, so a lost signal delays it, never stalls it.

use crate::append::{AppendResult, ExpectedVersion, StreamAppend};
use crate::group_commit::{resolve, GroupCommit, GroupWriter, Resolved};
use crate::group_decision::{plan_group, GroupPlan, Outcome, StoredId};
use crate::idle_connections::KeptConnections;
use crate::known_versions::KnownVersions;
use crate::snapshot::Snapshot;
use crate::EventStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use keel_domain::{Actor, TenantId};
use keel_log::Head;
use keel_log::StoreError;
use keel_log::{EventLog, EventMetadata, RecordedEvent};
use sqlx::postgres::{PgConnection, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection as _, Postgres, Row};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::warn;
use uuid::Uuid;

/// The notification channel that carries "the head moved to N" between processes.
const CHANNEL: &str = "keel_events";
/// How often a transaction lost a race to create the same new stream before giving up.
const MAX_RACE_RETRIES: usize = 8;
/// Idle connections kept for the store's reads (see [`KeptConnections`]).
const KEPT_READERS: usize = 4;

const EVENT_COLUMNS: &str = "global_position, event_id, stream_id, stream_version, tenant_id, \
     event_type, schema_version, occurred_at, recorded_at, actor_kind, actor_id, correlation_id, \
     causation_id, payload, source_ip";

/// The PostgreSQL event store.
pub struct PostgresStore {
    pool: PgPool,
    readers: KeptConnections<Postgres>,
    appender: GroupCommit,
    head: Head,
}

impl PostgresStore {
    /// Connects to `url`, applies migrations, and starts `writers` group-commit writers and the
    /// cross-process notification tasks. `connections` are for reads and read models; the
    /// pool holds more: the ones the writers, the notifications and the kept readers keep, so
    /// that those never leave the rest of the pool without a connection.
    pub async fn connect(url: &str, connections: u32, writers: u32) -> Result<Self, StoreError> {
        let writers = writers.max(1);
        // One each for the writers, the notification signal and the notification listener.
        let kept_by_the_store = writers + 1 + 1 + KEPT_READERS as u32;
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1) + kept_by_the_store)
            // A ping before every use would add a round trip to every append; a broken
            // connection is reported by the statement that uses it instead.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let position: i64 = sqlx::query_scalar("SELECT position FROM event_log_head")
            .fetch_one(&pool)
            .await?;
        let head = Head::new(position as u64);
        let (local_commits, committed) = watch::channel(0u64);
        let known = Arc::new(KnownVersions::default());
        let appender = GroupCommit::start(
            (0..writers)
                .map(|_| PgWriter {
                    connection: KeptConnections::new(pool.clone(), 1),
                    local_commits: local_commits.clone(),
                    known: known.clone(),
                })
                .collect(),
            head.clone(),
        );
        tokio::spawn(signal_other_processes(pool.clone(), committed));
        let listener = PgListener::connect_with(&pool).await?;
        tokio::spawn(follow_other_processes(listener, head.clone()));
        Ok(PostgresStore {
            readers: KeptConnections::new(pool.clone(), KEPT_READERS),
            pool,
            appender,
            head,
        })
    }

    /// The connection pool, for read models kept in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Sends the latest local commit position to other processes. The watch channel coalesces:
/// however many commits happen while one `pg_notify` is in flight, the next carries only the
/// newest position.
async fn signal_other_processes(pool: PgPool, mut committed: watch::Receiver<u64>) {
    // Kept between signals, as the writers keep theirs.
    let connection = KeptConnections::new(pool.clone(), 1);
    while committed.changed().await.is_ok() {
        let position = *committed.borrow_and_update();
        // One statement, its own implicit transaction, committed without waiting for the WAL
        // flush: the signal is only a hint (followers also poll), so it must not cost an fsync
        // per append. The position is a number, so formatting it into the SQL is safe.
        let sql = format!(
            "SET LOCAL synchronous_commit = off; SELECT pg_notify('{CHANNEL}', '{position}')"
        );
        if let Err(error) = signal(&connection, &sql).await {
            warn!(%error, "could not signal other processes of new events");
        }
        if pool.is_closed() {
            return;
        }
    }
}

/// Runs `sql` on the kept connection (or one from the pool), and keeps it for the next signal.
async fn signal(connection: &KeptConnections<Postgres>, sql: &str) -> Result<(), sqlx::Error> {
    let mut kept = connection.take().await?;
    // A query without arguments goes as one simple query, so both statements run in it.
    sqlx::Executor::execute(&mut *kept, sql).await?;
    connection.keep(kept);
    Ok(())
}

/// Advances the head on other processes' signals.
async fn follow_other_processes(mut listener: PgListener, head: Head) {
    if let Err(error) = listener.listen(CHANNEL).await {
        warn!(%error, "cannot listen for other processes' events; followers fall back to polling");
        return;
    }
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match notification.payload().parse() {
                Ok(position) => head.advance(position),
                Err(_) => head.poke(),
            },
            // The connection dropped and will be re-established: signals may have been missed.
            Ok(None) => head.poke(),
            // The pool is closing, which waits for this listener's connection: let go of it.
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                warn!(%error, "event notification listener failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[async_trait]
impl EventLog for PostgresStore {
    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 \
             ORDER BY stream_version LIMIT $3"
        );
        let query = sqlx::query(&sql)
            .bind(stream_id)
            .bind(from_version as i64)
            .bind(limit as i64);
        fetch_events(query, &self.readers, limit).await
    }

    async fn read_all(
        &self,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE global_position > $1 \
             ORDER BY global_position LIMIT $2"
        );
        let query = sqlx::query(&sql)
            .bind(after_position as i64)
            .bind(limit as i64);
        fetch_events(query, &self.readers, limit).await
    }

    async fn read_tenant(
        &self,
        tenant_id: keel_domain::TenantId,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND global_position > $2 \
             ORDER BY global_position LIMIT $3"
        );
        let query = sqlx::query(&sql)
            .bind(tenant_id.0)
            .bind(after_position as i64)
            .bind(limit as i64);
        fetch_events(query, &self.readers, limit).await
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let mut reader = self.readers.take().await?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = $1")
                .bind(stream_id)
                .fetch_optional(&mut *reader)
                .await?;
        self.readers.keep(reader);
        Ok(version.unwrap_or(0) as u64)
    }

    async fn stream_versions(&self, stream_ids: &[String]) -> Result<Vec<u64>, StoreError> {
        let mut reader = self.readers.take().await?;
        let found: HashMap<String, i64> =
            sqlx::query_as("SELECT stream_id, version FROM streams WHERE stream_id = ANY($1)")
                .bind(stream_ids)
                .fetch_all(&mut *reader)
                .await?
                .into_iter()
                .collect();
        self.readers.keep(reader);
        Ok(crate::in_order(stream_ids, &found))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        // The counter is only advanced by transactions that commit (a rollback undoes it), so
        // its committed value is exactly the highest visible position.
        let position: i64 = sqlx::query_scalar("SELECT position FROM event_log_head")
            .fetch_one(&self.pool)
            .await?;
        self.head.advance(position as u64);
        Ok(position as u64)
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    fn database(&self) -> keel_log::Database {
        keel_log::Database::Postgres(self.pool.clone())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append_streams(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        self.appender.append(appends).await
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        let mut reader = self.readers.take().await?;
        let row = sqlx::query(
            "SELECT stream_version, snapshot_version, payload FROM snapshots WHERE stream_id = $1",
        )
        .bind(stream_id)
        .fetch_optional(&mut *reader)
        .await?;
        self.readers.keep(reader);
        Ok(row.map(|row| Snapshot {
            stream_id: stream_id.to_owned(),
            stream_version: row.get::<i64, _>(0) as u64,
            snapshot_version: row.get::<i32, _>(1) as u16,
            payload: row.get(2),
        }))
    }

    async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (stream_id, stream_version, snapshot_version, payload) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version, \
               snapshot_version = excluded.snapshot_version, payload = excluded.payload, \
               taken_at = now() \
             WHERE excluded.stream_version > snapshots.stream_version \
                OR excluded.snapshot_version <> snapshots.snapshot_version",
        )
        .bind(&snapshot.stream_id)
        .bind(snapshot.stream_version as i64)
        .bind(snapshot.snapshot_version as i32)
        .bind(&snapshot.payload)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Runs a query for at most `limit` event rows, decoding each as it arrives instead of
/// materialising the whole page of rows first.
async fn fetch_events(
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    readers: &KeptConnections<Postgres>,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut reader = readers.take().await?;
    // Bounded: a caller's huge limit must not reserve memory for rows that do not exist.
    let mut events = Vec::with_capacity(limit.min(1024));
    {
        let mut rows = query.fetch(&mut *reader);
        while let Some(row) = rows.try_next().await? {
            events.push(decode_row(&row)?);
        }
    }
    readers.keep(reader);
    Ok(events)
}

fn decode_row(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get(0)?;
    let actor_kind: &str = row.try_get(9)?;
    let actor = Actor::from_parts(actor_kind, row.try_get::<String, _>(10)?).ok_or_else(|| {
        StoreError::Corrupt {
            position,
            reason: format!("unknown actor kind `{actor_kind}`"),
        }
    })?;
    Ok(RecordedEvent {
        event_id: row.try_get(1)?,
        stream_id: row.try_get(2)?,
        stream_version: row.try_get::<i64, _>(3)? as u64,
        global_position: position as u64,
        event_type: row.try_get(5)?,
        schema_version: row.try_get::<i32, _>(6)? as u16,
        metadata: EventMetadata {
            tenant_id: TenantId(row.try_get(4)?),
            actor,
            correlation_id: row.try_get(11)?,
            causation_id: row.try_get(12)?,
            occurred_at: row.try_get(7)?,
            source_ip: parse_source_ip(row.try_get(14)?, position)?,
        },
        recorded_at: row.try_get::<DateTime<Utc>, _>(8)?,
        payload: row.try_get(13)?,
    })
}

/// A stored source IP, which Keel wrote from an `IpAddr`.
fn parse_source_ip(text: Option<String>, position: i64) -> Result<Option<IpAddr>, StoreError> {
    text.map(|t| {
        t.parse().map_err(|_| StoreError::Corrupt {
            position,
            reason: format!("malformed source ip `{t}`"),
        })
    })
    .transpose()
}

/// One group-commit writer. It keeps the connection its last group succeeded on (see
/// [`KeptConnections`]); after a failed group the connection goes back to the pool, which closes
/// it if it is broken, and the next group takes another.
struct PgWriter {
    connection: KeptConnections<Postgres>,
    local_commits: watch::Sender<u64>,
    /// Shared by the writers, so a stream written by one is planned right by the next.
    known: Arc<KnownVersions>,
}

/// A transaction lost a race to another one that created one of its streams or stored one of
/// its event ids after it looked.
struct LostRace;

/// `keel_append_expecting` wrote nothing although the database is fine: a stream was not at
/// the version planned on (SQLSTATE KL409), or an event id or stream version is already stored
/// (a unique violation).
struct NotAsPlanned;

/// The SQLSTATE `keel_append_expecting` raises when a stream is not where the plan assumed.
const STREAM_MOVED: &str = "KL409";

#[async_trait]
impl GroupWriter for PgWriter {
    async fn write_group(
        &mut self,
        units: &[&[StreamAppend]],
    ) -> Result<(Vec<Resolved>, u64), StoreError> {
        let mut connection = self.connection.take().await?;
        let done = match self.try_expected(&mut connection, units).await? {
            Some(done) => done,
            None => self.write_locked(&mut connection, units).await?,
        };
        self.connection.keep(connection);
        if done.1 > 0 {
            self.local_commits.send_replace(done.1);
        }
        Ok(done)
    }
}

impl PgWriter {
    /// The fast path, one round trip: plan the group on the versions its streams are assumed
    /// at (the exact versions the appends name, as the command handler's do, or else the
    /// versions last seen) and no stored ids, and let `keel_append_expecting` check that
    /// assumption as it writes, in autocommit. `None` if the plan refuses an append or the
    /// assumption was wrong (a conflict, a replay, a stream moved by another process): the
    /// group is then decided again on locked rows, which gives every caller the exact answer.
    async fn try_expected(
        &self,
        connection: &mut PgConnection,
        units: &[&[StreamAppend]],
    ) -> Result<Option<(Vec<Resolved>, u64)>, StoreError> {
        let assumed = assumed_versions(units, &self.known);
        let plan = plan_group(units, &assumed, &HashMap::new());
        if plan.rows.is_empty() || !plan.outcomes.iter().all(|o| matches!(o, Outcome::Write(_))) {
            return Ok(None);
        }
        match append_expecting(&mut *connection, &plan, &assumed).await? {
            Ok(base) => {
                self.remember_written(&plan);
                let end = base + plan.rows.len() as u64;
                Ok(Some((resolve(plan.outcomes, base), end)))
            }
            Err(_) => Ok(None),
        }
    }

    /// Remembers the versions a committed plan left its streams at.
    fn remember_written(&self, plan: &GroupPlan<'_>) {
        self.known
            .remember(plan.stream_versions.iter().map(|(s, v, _)| (*s, *v)));
    }

    /// The general path: lock the streams, look up the event ids, decide every append exactly
    /// (expected versions, replays, refusals), write. Retried when it loses a race to create a
    /// stream, since the stream's version is then known.
    async fn write_locked(
        &self,
        connection: &mut PgConnection,
        units: &[&[StreamAppend]],
    ) -> Result<(Vec<Resolved>, u64), StoreError> {
        for _ in 0..MAX_RACE_RETRIES {
            // On a lost race the transaction is rolled back (dropped) and decided again: the
            // stream now exists, so its expected version is checked against the winner's.
            if let Ok(done) = self.try_locked(connection, units).await? {
                return Ok(done);
            }
        }
        Err(StoreError::InvalidAppend(
            "too much contention creating the same streams; try again".into(),
        ))
    }

    async fn try_locked(
        &self,
        connection: &mut PgConnection,
        units: &[&[StreamAppend]],
    ) -> Result<Result<(Vec<Resolved>, u64), LostRace>, StoreError> {
        let mut streams: Vec<&str> = units
            .iter()
            .flat_map(|u| u.iter().map(|a| a.stream_id.as_str()))
            .collect();
        streams.sort_unstable();
        streams.dedup();
        let ids: Vec<Uuid> = units
            .iter()
            .flat_map(|u| u.iter().flat_map(|a| a.events.iter().map(|e| e.event_id)))
            .collect();

        let mut tx = connection.begin().await?;
        let versions: HashMap<String, u64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT stream_id, version FROM streams WHERE stream_id = ANY($1) \
             ORDER BY stream_id FOR UPDATE",
        )
        .bind(&streams)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(s, v)| (s, v as u64))
        .collect();
        let stored: HashMap<Uuid, StoredId> = sqlx::query_as::<_, (Uuid, String, i64, i64)>(
            "SELECT event_id, stream_id, stream_version, global_position FROM events \
             WHERE event_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(id, stream_id, version, position)| {
            let found = StoredId {
                stream_id,
                stream_version: version as u64,
                global_position: position as u64,
            };
            (id, found)
        })
        .collect();

        self.known
            .remember(versions.iter().map(|(s, v)| (s.as_str(), *v)));
        let plan = plan_group(units, &versions, &stored);
        if plan.rows.is_empty() {
            tx.rollback().await?;
            return Ok(Ok((resolve(plan.outcomes, 0), 0)));
        }
        // The streams that exist are locked, so the versions written over are the ones read.
        // Only a stream believed new can have been created meanwhile, or an event id stored
        // by a transaction that committed after the look-up: decide again, then they are seen.
        let Ok(base) = append_expecting(&mut *tx, &plan, &versions).await? else {
            return Ok(Err(LostRace));
        };
        tx.commit().await?;
        self.remember_written(&plan);
        Ok(Ok((
            resolve(plan.outcomes, base),
            base + plan.rows.len() as u64,
        )))
    }
}

/// The version each stream of the group is assumed at: the one its first append in the group
/// names, or for an append that leaves it open (`Any`, `StreamExists`) the one last seen.
/// Absent means "no stream", which is also the guess for a stream not seen yet.
fn assumed_versions(units: &[&[StreamAppend]], known: &KnownVersions) -> HashMap<String, u64> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut versions = HashMap::new();
    for append in units.iter().flat_map(|u| u.iter()) {
        if !seen.insert(append.stream_id.as_str()) {
            continue;
        }
        let version = match append.expected {
            ExpectedVersion::Exact(version) => version,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Any | ExpectedVersion::StreamExists => {
                known.get(&append.stream_id).unwrap_or(0)
            }
        };
        if version > 0 {
            versions.insert(append.stream_id.clone(), version);
        }
    }
    versions
}

/// Writes a planned group with `keel_append_expecting` (see its migration): moves each stream
/// from its version in `versions` (absent = new) to the planned one, takes positions, inserts
/// the rows. Returns the position before the first row, or why nothing was written.
async fn append_expecting<'e, E>(
    executor: E,
    plan: &GroupPlan<'_>,
    versions: &HashMap<String, u64>,
) -> Result<Result<u64, NotAsPlanned>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let streams = &plan.stream_versions;
    let rows = &plan.rows;
    let base = sqlx::query_scalar::<_, i64>(
        "SELECT keel_append_expecting($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16)",
    )
    .bind(streams.iter().map(|(s, _, _)| *s).collect::<Vec<_>>())
    .bind(
        streams
            .iter()
            .map(|(s, _, is_new)| match is_new {
                true => 0,
                false => versions.get(*s).copied().unwrap_or(0) as i64,
            })
            .collect::<Vec<_>>(),
    )
    .bind(
        streams
            .iter()
            .map(|(_, v, _)| *v as i64)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.event.event_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.stream_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.stream_version as i64)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.tenant_id.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.event_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.schema_version as i32)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.occurred_at)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.actor.kind())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.actor.id())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.correlation_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.causation_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.payload.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event.metadata.source_ip.map(|ip| ip.to_string()))
            .collect::<Vec<_>>(),
    )
    .fetch_one(executor)
    .await;
    match base {
        Ok(base) => Ok(Ok(base as u64)),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(STREAM_MOVED) => {
            Ok(Err(NotAsPlanned))
        }
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(Err(NotAsPlanned)),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::append::NewEvent;
    use keel_domain::Actor;

    fn append(stream: &str, expected: ExpectedVersion) -> StreamAppend {
        StreamAppend {
            stream_id: stream.into(),
            expected,
            events: vec![NewEvent {
                event_id: Uuid::now_v7(),
                event_type: "test.happened".into(),
                schema_version: 1,
                payload: vec![0x80],
                metadata: EventMetadata::new(TenantId::PLATFORM, Actor::System("test".into())),
            }],
        }
    }

    #[test]
    fn the_first_append_to_a_stream_decides_its_assumed_version() {
        let units = [
            vec![
                append("a", ExpectedVersion::Exact(3)),
                append("claim", ExpectedVersion::NoStream),
            ],
            vec![append("a", ExpectedVersion::Exact(4))],
            vec![append("b", ExpectedVersion::Exact(0))],
        ];
        let units: Vec<&[StreamAppend]> = units.iter().map(Vec::as_slice).collect();
        let assumed = assumed_versions(&units, &KnownVersions::default());
        // Absent means "no stream": the claim and `b` are planned as new streams.
        assert_eq!(assumed, HashMap::from([("a".to_string(), 3)]));
    }

    #[test]
    fn an_open_expectation_assumes_the_version_last_seen() {
        let known = KnownVersions::default();
        known.remember([("b", 7), ("a", 9)]);
        for open in [ExpectedVersion::Any, ExpectedVersion::StreamExists] {
            let units = [
                vec![append("a", ExpectedVersion::Exact(3))],
                vec![append("b", open), append("unseen", open)],
            ];
            let units: Vec<&[StreamAppend]> = units.iter().map(Vec::as_slice).collect();
            // The exact version wins over the one seen; a stream not seen is assumed new.
            assert_eq!(
                assumed_versions(&units, &known),
                HashMap::from([("a".to_string(), 3), ("b".to_string(), 7)])
            );
        }
    }
}
