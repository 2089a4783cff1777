//! When each API key was last used, so that key lists show stale keys worth revoking.
//!
//! Authentication notes each use in memory (one map insert); a flusher writes the latest use
//! of each key to `api_key_last_used` every interval and at shutdown, keeping the later time
//! when several processes write the same key. A list answers with the later of the stored time
//! and this process's unflushed one, so a key shows as used from the request that used it on.
//! A crash loses at most one interval of uses: an indication, not a record.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use keel_reactors::flush::Flush;
use keel_store::write_turns::write_turn;
use keel_store::{Database, EventStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Uses of keys since the last flush.
#[derive(Default)]
pub struct KeyUse {
    seen: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl KeyUse {
    /// Notes that `key_id` authenticated a request now.
    pub fn record(&self, key_id: Uuid) {
        self.seen
            .lock()
            .expect("not poisoned")
            .insert(key_id, Utc::now());
    }

    /// When each of `keys` was last used, if ever (as far as stored and seen here).
    pub async fn last_used(
        &self,
        db: &Database,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, DateTime<Utc>>, StoreError> {
        let ids: Vec<String> = keys.iter().map(Uuid::to_string).collect();
        let rows: Vec<(String, i64)> = match db {
            Database::Sqlite(pool) => {
                let placeholders = vec!["?"; ids.len()].join(", ");
                let sql = format!(
                    "SELECT key_id, last_used_at FROM api_key_last_used \
                     WHERE key_id IN ({placeholders})"
                );
                let mut query = sqlx::query_as(&sql);
                for id in &ids {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT key_id, last_used_at FROM api_key_last_used \
                     WHERE key_id = ANY($1)",
                )
                .bind(&ids)
                .fetch_all(pool)
                .await?
            }
        };
        let mut used: HashMap<Uuid, DateTime<Utc>> = rows
            .into_iter()
            .filter_map(|(id, micros)| {
                Some((id.parse().ok()?, DateTime::from_timestamp_micros(micros)?))
            })
            .collect();
        let seen = self.seen.lock().expect("not poisoned");
        for key in keys {
            if let Some(&at) = seen.get(key) {
                let stored = used.entry(*key).or_insert(at);
                *stored = (*stored).max(at);
            }
        }
        Ok(used)
    }

    async fn write(&self, db: &Database) -> Result<(), StoreError> {
        let seen: Vec<(Uuid, DateTime<Utc>)> =
            std::mem::take(&mut *self.seen.lock().expect("not poisoned"))
                .into_iter()
                .collect();
        for (written, (key_id, at)) in seen.iter().enumerate() {
            if let Err(error) = upsert(db, *key_id, at.timestamp_micros()).await {
                self.keep(seen[written..].iter().copied());
                return Err(error);
            }
        }
        Ok(())
    }

    /// Puts back uses that could not be written, unless a later use replaced them.
    fn keep(&self, unwritten: impl Iterator<Item = (Uuid, DateTime<Utc>)>) {
        let mut seen = self.seen.lock().expect("not poisoned");
        for (key_id, at) in unwritten {
            let latest = seen.entry(key_id).or_insert(at);
            *latest = (*latest).max(at);
        }
    }
}

async fn upsert(db: &Database, key_id: Uuid, micros: i64) -> Result<(), StoreError> {
    match db {
        Database::Sqlite(pool) => {
            let _turn = write_turn(pool).await;
            sqlx::query(
                "INSERT INTO api_key_last_used (key_id, last_used_at) VALUES (?, ?) \
                 ON CONFLICT (key_id) DO UPDATE \
                 SET last_used_at = max(last_used_at, excluded.last_used_at)",
            )
            .bind(key_id.to_string())
            .bind(micros)
            .execute(pool)
            .await?;
        }
        Database::Postgres(pool) => {
            sqlx::query(
                "INSERT INTO api_key_last_used (key_id, last_used_at) VALUES ($1, $2) \
                 ON CONFLICT (key_id) DO UPDATE SET last_used_at = \
                 GREATEST(api_key_last_used.last_used_at, excluded.last_used_at)",
            )
            .bind(key_id.to_string())
            .bind(micros)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

impl Flush for KeyUse {
    fn name(&self) -> &'static str {
        "the key use record"
    }

    fn flush<'a>(
        &'a self,
        store: &'a Arc<dyn EventStore>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.write(&store.database()).await })
    }
}
