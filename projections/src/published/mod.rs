//! Keel's events as published to NATS JetStream, shared by the side that writes the stream (the
//! relay, a reactor in `keel-reactors`) and the side that folds it (`consume`, here).
//!
//! - [`config`]: what is published to (stream, subject prefix, duplicate window, replicas,
//!   retention, body format) and its validation.
//! - [`message`]: subject `<prefix>.<tenant_id>.<aggregate>.<fact>`, CloudEvents and Keel
//!   headers, body (the stored MessagePack or its JSON view).

pub mod config;
pub mod message;

pub use config::{BodyFormat, InvalidRelaySetting, RelayConfig, Retention};
