//! The NATS relay: every committed event, published to JetStream exactly as stored, in order.
//!
//! What it publishes to and how messages look is shared with the consumer that folds them, so
//! it lives in `keel_projections::published` (settings and message format).
//!
//! - [`jetstream`]: connecting, refusing a server without JetStream, creating or updating the
//!   stream.
//! - [`checkpoint`]: the relay's position in its own table, with its own migrations.
//! - [`worker`]: the loop that follows the log and publishes batches; its module doc states
//!   the delivery and ordering guarantees.
//! - [`status`]: what `/metrics` and `/readyz` show.
//!
//! The relay is independent of the projection workers: it only uses the public `EventLog`
//! trait (`read_all`, `watch_head`, `database`).

pub mod checkpoint;
pub mod error;
pub mod jetstream;
pub mod status;
pub mod worker;

pub use checkpoint::RelayCheckpoint;
pub use error::RelayError;
pub use keel_projections::published::{BodyFormat, InvalidRelaySetting, RelayConfig, Retention};
pub use status::{RelaySnapshot, RelayStatus};
pub use worker::Relay;
