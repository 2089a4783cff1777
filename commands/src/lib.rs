//! Keel's write side: the event store and command handling.
//!
//! - [`store`]: the [`EventStore`](store::EventStore) trait, the event envelope, and the SQLite
//!   (embedded default) and PostgreSQL (production) backends. Appends are atomic across streams,
//!   idempotent by event id, and checked against expected versions; `read_all` hands out events in
//!   a global order that a follower can never skip.
//! - [`idempotency`]: stored first responses of commands sent with an idempotency key.
//! - [`handler`]: the generic [`CommandHandler`](handler::CommandHandler): load an aggregate
//!   (snapshot + tail, cached), call its pure `decide`, append with the expected version, retry on
//!   conflict where allowed.
//! - [`secrets`]: AES-256-GCM encryption of integration secrets with a keyring of rotatable
//!   keys, so that events only ever hold them encrypted.

pub mod handler;
pub mod idempotency;
pub mod secrets;
pub mod store;
