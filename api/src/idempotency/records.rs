//! Idempotency records: the first response to a command sent with an idempotency key, kept so
//! that a retry (same key, same request) gets that response again and changes nothing.
//!
//! A record is claimed before the command runs (`begin`), so two concurrent retries cannot both
//! run it: the second sees the claim and is told the request is in progress. A claim whose
//! request failed on the server side is released (`abandon`) so a retry can run it; a claim
//! left by a crashed process expires after [`STALE_CLAIM`]. Records are kept for [`RETENTION`].

use chrono::Utc;
use keel_store::write_turns::write_turn;
use keel_store::{Database, StoreError};
use std::time::Duration;

/// How long a finished record answers retries.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// After this long an unfinished claim is considered abandoned by a crashed process.
pub const STALE_CLAIM: Duration = Duration::from_secs(60);

/// A response as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The headers worth replaying (content type, ETag, Location, position).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What `begin` found.
#[derive(Debug, PartialEq)]
pub enum Begin {
    /// First time: the caller runs the request and then calls `complete` or `abandon`.
    New,
    /// Same key, same request, already answered: replay this.
    Completed(StoredResponse),
    /// Same key, same request, still being handled.
    InProgress,
    /// Same key, different request.
    Mismatch,
}

/// Idempotency records in the event store's database.
#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    db: Database,
}

type Row = (Vec<u8>, Option<i64>, Option<String>, Option<Vec<u8>>, i64);

impl IdempotencyStore {
    /// Records kept in `db` (its migrations create the table).
    pub fn new(db: Database) -> Self {
        IdempotencyStore { db }
    }

    /// Claims `key` for `scope` with a request hash, or reports what an earlier claim holds.
    pub async fn begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Begin, StoreError> {
        let now = Utc::now().timestamp_micros();
        if rand::random::<u8>() == 0 {
            self.expire(now).await?;
        }
        let claimed = match &self.db {
            Database::Sqlite(pool) => {
                let _turn = write_turn(pool).await;
                sqlx::query(
                    "INSERT INTO idempotency_records (scope, key, request_hash, created_at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(scope)
                .bind(key)
                .bind(request_hash)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
            }
            Database::Postgres(pool) => sqlx::query(
                "INSERT INTO idempotency_records (scope, key, request_hash) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(scope)
            .bind(key)
            .bind(request_hash)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        if claimed == 1 {
            return Ok(Begin::New);
        }
        let Some((hash, status, headers, body, created_at)) = self.find(scope, key).await? else {
            // Expired and removed between the insert and the read: claim it again.
            return Box::pin(self.begin(scope, key, request_hash)).await;
        };
        if hash != request_hash {
            return Ok(Begin::Mismatch);
        }
        match status {
            Some(status) => Ok(Begin::Completed(StoredResponse {
                status: status as u16,
                headers: headers
                    .and_then(|h| serde_json::from_str(&h).ok())
                    .unwrap_or_default(),
                body: body.unwrap_or_default(),
            })),
            None if now - created_at > STALE_CLAIM.as_micros() as i64 => {
                self.abandon(scope, key).await?;
                Box::pin(self.begin(scope, key, request_hash)).await
            }
            None => Ok(Begin::InProgress),
        }
    }

    /// Stores the response of a claimed request.
    pub async fn complete(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let headers = serde_json::to_string(&response.headers).expect("strings serialize");
        match &self.db {
            Database::Sqlite(pool) => {
                let _turn = write_turn(pool).await;
                sqlx::query(
                    "UPDATE idempotency_records SET status = ?, headers = ?, body = ? \
                     WHERE scope = ? AND key = ?",
                )
                .bind(response.status as i64)
                .bind(headers)
                .bind(&response.body)
                .bind(scope)
                .bind(key)
                .execute(pool)
                .await?;
            }
            Database::Postgres(pool) => {
                sqlx::query(
                    "UPDATE idempotency_records SET status = $1, headers = $2, body = $3 \
                     WHERE scope = $4 AND key = $5",
                )
                .bind(response.status as i32)
                .bind(headers)
                .bind(&response.body)
                .bind(scope)
                .bind(key)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Releases a claim whose request failed, so that a retry runs it.
    pub async fn abandon(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        match &self.db {
            Database::Sqlite(pool) => {
                let _turn = write_turn(pool).await;
                sqlx::query("DELETE FROM idempotency_records WHERE scope = ? AND key = ?")
                    .bind(scope)
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
            Database::Postgres(pool) => {
                sqlx::query("DELETE FROM idempotency_records WHERE scope = $1 AND key = $2")
                    .bind(scope)
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn find(&self, scope: &str, key: &str) -> Result<Option<Row>, StoreError> {
        Ok(match &self.db {
            Database::Sqlite(pool) => {
                sqlx::query_as::<_, Row>(
                    "SELECT request_hash, status, headers, body, created_at \
                 FROM idempotency_records WHERE scope = ? AND key = ?",
                )
                .bind(scope)
                .bind(key)
                .fetch_optional(pool)
                .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as::<_, (Vec<u8>, Option<i32>, Option<String>, Option<Vec<u8>>, i64)>(
                    "SELECT request_hash, status, headers, body, \
                 (extract(epoch from created_at) * 1000000)::bigint \
                 FROM idempotency_records WHERE scope = $1 AND key = $2",
                )
                .bind(scope)
                .bind(key)
                .fetch_optional(pool)
                .await?
                .map(|(h, s, hd, b, c)| (h, s.map(i64::from), hd, b, c))
            }
        })
    }

    async fn expire(&self, now: i64) -> Result<(), StoreError> {
        let cutoff = now - RETENTION.as_micros() as i64;
        match &self.db {
            Database::Sqlite(pool) => {
                let _turn = write_turn(pool).await;
                sqlx::query("DELETE FROM idempotency_records WHERE created_at < ?")
                    .bind(cutoff)
                    .execute(pool)
                    .await?;
            }
            Database::Postgres(pool) => {
                sqlx::query("DELETE FROM idempotency_records WHERE created_at < now() - interval '24 hours'")
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}
