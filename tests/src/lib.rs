//! Helpers shared by Keel's black-box tests: a fresh, isolated store per test on either
//! backend, and a small counter aggregate to drive the command handler with.
//!
//! Isolation: every SQLite store is a file in its own temporary directory; every PostgreSQL
//! store is a database of its own (`keel_test_<uuid>`), dropped when the test ends, also when
//! it fails. Tests can therefore run in parallel and leave nothing behind.

pub mod app;
pub mod audit_key;
pub mod bench_args;
pub mod counter;
pub mod cpu;
pub mod nats;
pub mod pace;

use keel_store::{open, EventLog, EventStore, StoreOptions};
use std::sync::Arc;

/// The read-only view of a store, as the read side takes it.
pub trait AsLog {
    /// The same store as an [`EventLog`].
    fn log(&self) -> Arc<dyn EventLog>;
}

impl AsLog for Arc<dyn EventStore> {
    fn log(&self) -> Arc<dyn EventLog> {
        self.clone()
    }
}

/// The backends every conformance test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// The PostgreSQL server the tests use: `KEEL_TEST_POSTGRES_URL` or the local default.
pub fn postgres_server_url() -> String {
    std::env::var("KEEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A fresh, empty database for one test; removed when dropped.
pub struct TestDatabase {
    /// The URL to open it with.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(#[allow(dead_code)] tempfile::TempDir),
    PostgresDatabase(String),
    /// Another [`TestDatabase`] owns it and cleans it up.
    Borrowed,
}

impl TestDatabase {
    /// Creates a fresh database on `backend`. Panics with a clear message if the server is
    /// unreachable: a test that cannot reach its database must fail, not skip.
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("keel.db").display());
                TestDatabase {
                    url,
                    cleanup: Cleanup::Directory(dir),
                }
            }
            Backend::Postgres => {
                let name = format!("keel_test_{}", uuid::Uuid::now_v7().simple());
                admin_execute(&format!("CREATE DATABASE \"{name}\"")).await;
                TestDatabase {
                    url: format!("{}/{name}", postgres_server_url()),
                    cleanup: Cleanup::PostgresDatabase(name),
                }
            }
        }
    }

    /// Ends every server connection to this PostgreSQL database, as a server restart or a
    /// network cut would; the clients find out when they next use them. Nothing on SQLite.
    pub async fn drop_connections(&self) {
        if let Cleanup::PostgresDatabase(name) = &self.cleanup {
            admin_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await;
        }
    }

    /// Opens the event store on this database (applying migrations).
    pub async fn open(&self) -> Arc<dyn EventStore> {
        self.open_with(&StoreOptions::default()).await
    }

    /// The same database again, for a second server or process on it; the original cleans it
    /// up (drop this one first).
    pub fn borrow(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            cleanup: Cleanup::Borrowed,
        }
    }

    /// Opens the event store with explicit options.
    pub async fn open_with(&self, options: &StoreOptions) -> Arc<dyn EventStore> {
        open(&self.url, options)
            .await
            .unwrap_or_else(|e| panic!("cannot open the event store at {}: {e}", self.url))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::PostgresDatabase(name) = &self.cleanup {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            // Drop may run inside a runtime (or while unwinding from a failed test), where
            // blocking on async work is not allowed: do it on a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build a cleanup runtime");
                runtime.block_on(admin_execute(&sql));
            })
            .join();
        }
    }
}

async fn admin_execute(sql: &str) {
    use sqlx::Connection;
    let url = format!("{}/postgres", postgres_server_url());
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {url}: {e} (scripts/test starts it)")
    });
    sqlx::query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
}

/// A new event with a fresh id, a small payload and system metadata.
pub fn sample_event(event_type: &str) -> keel_store::NewEvent {
    use keel_domain::{Actor, TenantId};
    use keel_store::{EventMetadata, NewEvent};
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        payload: keel_domain::event::encode_payload(
            &serde_json::json!({ "n": rand::random::<u32>() }),
        )
        .expect("encode"),
        metadata: EventMetadata::new(TenantId(uuid::Uuid::now_v7()), Actor::System("test".into())),
    }
}

/// Appends usage samples of `tenant` as the ingestion route does (`append_facts`, each event id
/// derived from the sample's idempotency key); returns the highest position.
pub async fn record_usage(
    store: &Arc<dyn EventStore>,
    tenant: keel_domain::TenantId,
    metadata: keel_store::EventMetadata,
    samples: Vec<keel_domain::usage::UsageRecorded>,
) -> Result<u64, keel_store::StoreError> {
    use keel_commands::facts::{append_facts, derived_id, Fact};
    use keel_domain::usage::{sample_cause, usage_stream, UsageEvent};
    let facts = samples
        .into_iter()
        .map(|sample| Fact {
            id: derived_id(&sample_cause(tenant, &sample.idempotency_key)),
            event: UsageEvent::Recorded(sample),
            metadata: metadata.clone(),
        })
        .collect();
    append_facts(&**store, &usage_stream(tenant), facts).await
}
