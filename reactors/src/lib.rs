//! Keel's reactors: code that follows the event log and acts.
//!
//! The rule of this crate: reactors act only through commands (`keel_commands::handler`), the
//! one entry point for facts no aggregate decides (`keel_commands::facts::append_facts`), and
//! their outbound clients (NATS). They read the log (`keel-log`) and the read models
//! (`keel-projections`), and record their progress beside them, each in the transaction that
//! checks their lease, so a crash repeats an action at most at the edge and never skips one.
//!
//! - [`relay`]: every committed event published to NATS JetStream, in order.
//! - [`billing_close`]: each tenant's invoice finalised once when a month has ended.
//! - [`domain_proofs`]: the DNS lookup of a custom domain's challenge record, and the daily
//!   re-check that un-verifies a domain whose proof is gone (or was never recorded).
//! - [`quota_alerts`]: the `usage.quota_threshold_crossed` events of the alerts the usage read
//!   model raised.
//! - [`flush`], [`api_calls`], [`access_denials`]: what the API counts in memory (API calls,
//!   access denials), appended as facts every interval and at shutdown.
//! - [`timers`]: durable timers (a scheduled decommission, a key's expiry) kept in a table,
//!   set and deleted from the log, fired through commands within a second of their time.
//! - [`lease`]: which process runs a reactor (owner, expiry, fencing token).
//! - [`tasks`]: one cancellation token and task tracker for every background task of
//!   `keel serve`, with restarts, backoff and the state `/readyz` and `/metrics` show.

pub mod access_denials;
pub mod api_calls;
pub mod billing_close;
pub mod domain_proofs;
pub mod error;
pub mod flush;
pub mod lease;
pub mod quota_alerts;
pub mod relay;
pub mod tasks;
pub mod timers;

pub use error::ReactorError;
pub use lease::{Lease, Leases};
pub use tasks::{TaskState, TaskStatus, Tasks};
