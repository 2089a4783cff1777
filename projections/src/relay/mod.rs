//! The NATS relay: every committed event, published to JetStream exactly as stored, in order.
//!
//! - [`config`]: what to publish to (stream, subject prefix, duplicate window, replicas,
//!   retention, body format) and its validation.
//! - [`message`]: subject `<prefix>.<tenant_id>.<aggregate>.<fact>`, CloudEvents and Keel
//!   headers, body (the stored MessagePack or its JSON view).
//! - [`jetstream`]: connecting, refusing a server without JetStream, creating or updating the
//!   stream.
//! - [`checkpoint`]: the relay's position in its own table, with its own migrations.
//! - [`worker`]: the loop that follows the log and publishes batches; its module doc states
//!   the delivery and ordering guarantees.
//! - [`status`]: what `/metrics` and `/readyz` show.
//!
//! The relay is independent of the projection workers: it only uses the public `EventStore`
//! trait (`read_all`, `watch_head`, `database`).

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod jetstream;
pub mod message;
pub mod status;
pub mod worker;

pub use checkpoint::Checkpoint;
pub use config::{BodyFormat, InvalidRelaySetting, RelayConfig, Retention};
pub use error::RelayError;
pub use status::{RelaySnapshot, RelayStatus};
pub use worker::Relay;
