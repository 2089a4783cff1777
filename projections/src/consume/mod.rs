//! Projections fed from JetStream instead of the database's log (`keel project --from-nats`),
//! so read models can be folded by processes of their own.
//!
//! - [`decode`]: a relayed message back into the stored event, every field exact.
//! - [`source`]: the stream, where to start after a checkpoint, gap-free batches.
//! - [`worker`]: the loop folding those batches through the database worker's transaction.
//!
//! Delivery guarantee: exactly-once effect, as with the database worker. The read model's
//! rows and its checkpoint commit in one transaction, the checkpoint in the database is the
//! only record of progress (the consumer is ephemeral and acknowledges nothing), and a batch
//! applies only if the checkpoint is still where the batch starts, so a second writer of the
//! same projection (an in-process worker, another `keel project`) makes it a no-op instead of
//! applying events twice. Messages at or below the checkpoint (a relay that republished after
//! the duplicate window) are skipped. Global positions are gap-free, so a missing position
//! stops the worker with [`ProjectionError::SourceGap`](crate::ProjectionError::SourceGap)
//! instead of skipping an event.
//!
//! The process still needs the database: the read model and its checkpoint live there, and
//! projections that append events after a batch (usage thresholds) append them to the store.

pub mod decode;
pub mod source;
pub mod worker;

pub use source::Source;
pub use worker::NatsWorker;
