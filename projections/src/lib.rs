//! Keel's read side: read models folded from the event log.
//!
//! - [`directory`]: the tenant directory, an in-memory read model of every tenant's summary
//!   and every API key (by hash), followed live from the log. The HTTP API authenticates
//!   requests and lists tenants from it without touching the database per request.
//!
//! - [`relay`]: the NATS relay, publishing every committed event to JetStream from its own
//!   checkpoint.
//!
//! Durable read models kept in database tables (usage, audit, billing, reports), with
//! checkpointed workers, are not built yet.

pub mod directory;
pub mod relay;

pub use directory::{Directory, KeyEntry, TenantFilter, TenantSummary};
