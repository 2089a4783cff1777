//! The relay worker: follows the event log from its checkpoint and publishes every event to
//! JetStream, in log order, advancing the checkpoint only over acknowledged events.
//!
//! Delivery guarantee: at least once into JetStream, and exactly once within the duplicate
//! window (`Nats-Msg-Id` is the event id, so a republished event is answered "duplicate" and
//! not stored again). Order: the stream holds events in global-position order, hence in
//! per-stream order, even across NATS outages. A batch is published without waiting for each
//! ack (acks are awaited together), and every message carries `Nats-Expected-Last-Sequence`:
//! if a message in the middle of a batch is lost (a connection that drops), JetStream refuses
//! every later one instead of storing it ahead of the lost one, and the relay resumes from the
//! last contiguous acknowledged event. The stream must therefore be Keel's alone (give no one
//! else publish rights on its subjects).

use super::checkpoint::Checkpoint;
use super::config::RelayConfig;
use super::error::RelayError;
use super::jetstream;
use super::message::outgoing;
use super::status::RelayStatus;
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::Context;
use futures::future::join_all;
use keel_commands::store::{EventStore, RecordedEvent};
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// How long the relay waits for a wake-up before looking at the log anyway (wake-ups from
/// other processes can be lost; this bounds the delay).
const FALLBACK_POLL: Duration = Duration::from_millis(500);
/// First and longest wait after a failure.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// The header that makes JetStream refuse a message stored out of turn.
const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";

/// A connected relay, ready to [`run`](Relay::run).
pub struct Relay {
    config: RelayConfig,
    store: Arc<dyn EventStore>,
    context: Context,
    checkpoint: Checkpoint,
    status: Arc<RelayStatus>,
}

/// What one batch achieved.
struct BatchOutcome {
    /// Position of the last event of the contiguous acknowledged prefix, if any.
    acked_through: Option<u64>,
    /// The stream's last sequence after the prefix.
    last_sequence: u64,
    stored: u64,
    duplicates: u64,
    error: Option<(PublishErrorKind, String)>,
}

impl Relay {
    /// Connects to NATS, refuses a server without JetStream, creates or updates the stream and
    /// opens the checkpoint (applying the relay's migrations).
    pub async fn start(
        config: RelayConfig,
        store: Arc<dyn EventStore>,
    ) -> Result<Relay, RelayError> {
        let context = jetstream::connect(&config).await?;
        let checkpoint = Checkpoint::open(store.database(), &config.stream).await?;
        let status = Arc::new(RelayStatus::new(checkpoint.load().await?));
        status.healthy();
        info!(stream = %config.stream, position = status.position(), "relay connected to JetStream");
        Ok(Relay {
            config,
            store,
            context,
            checkpoint,
            status,
        })
    }

    /// The relay's live status (shared with `/metrics` and `/readyz`).
    pub fn status(&self) -> Arc<RelayStatus> {
        self.status.clone()
    }

    /// Publishes until the task is dropped or aborted. Every failure (store, NATS) is logged,
    /// shown in the status and retried from the checkpoint with a bounded backoff; stopping at
    /// any await point loses nothing, since the checkpoint only covers acknowledged events.
    pub async fn run(self) {
        let mut head = self.store.watch_head();
        let mut position = self.status.position();
        // The stream's last sequence while the relay is in step with it; `None` after a
        // failure, when it must be read again from the server.
        let mut last_sequence: Option<u64> = None;
        let mut backoff = BACKOFF.0;
        loop {
            head.borrow_and_update();
            let events = match self.store.read_all(position, self.config.batch).await {
                Ok(events) => events,
                Err(e) => {
                    self.fail(&RelayError::from(e).to_string(), &mut backoff)
                        .await;
                    continue;
                }
            };
            if events.is_empty() {
                let _ = tokio::time::timeout(FALLBACK_POLL, head.changed()).await;
                continue;
            }
            let base = match last_sequence {
                Some(sequence) => sequence,
                None => match self.resync().await {
                    Ok(sequence) => sequence,
                    Err(e) => {
                        self.fail(&e.to_string(), &mut backoff).await;
                        continue;
                    }
                },
            };
            let outcome = self.publish(&events, base).await;
            if let Some(acked) = outcome.acked_through {
                if let Err(e) = self.checkpoint.save(acked).await {
                    // The events are in JetStream; republishing them later is absorbed.
                    last_sequence = None;
                    self.fail(&RelayError::from(e).to_string(), &mut backoff)
                        .await;
                    continue;
                }
                position = acked;
                self.status
                    .advanced(acked, outcome.stored, outcome.duplicates);
            }
            match outcome.error {
                None => {
                    last_sequence = Some(outcome.last_sequence);
                    self.status.healthy();
                    backoff = BACKOFF.0;
                }
                // Expected after republished duplicates (they do not advance the stream) and
                // after a lost message: read the stream's state and go on from the checkpoint.
                Some((PublishErrorKind::WrongLastSequence, _))
                    if outcome.acked_through.is_some() =>
                {
                    last_sequence = None;
                }
                Some((_, error)) => {
                    last_sequence = None;
                    self.fail(&error, &mut backoff).await;
                }
            }
        }
    }

    /// Re-reads the stream's last sequence, creating the stream again if it was deleted.
    async fn resync(&self) -> Result<u64, RelayError> {
        jetstream::ensure_stream(&self.context, &self.config).await?;
        jetstream::last_sequence(&self.context, &self.config.stream).await
    }

    async fn fail(&self, error: &str, backoff: &mut Duration) {
        warn!(stream = %self.config.stream, %error, "relay batch failed; retrying from the checkpoint");
        self.status.failed(error);
        tokio::time::sleep(*backoff).await;
        *backoff = (*backoff * 2).min(BACKOFF.1);
    }

    /// Publishes `events` without waiting between them, then awaits their acks together.
    /// `base` is the stream's last sequence before the batch.
    async fn publish(&self, events: &[RecordedEvent], base: u64) -> BatchOutcome {
        let mut pending: Vec<PublishAckFuture> = Vec::with_capacity(events.len());
        let mut send_error = None;
        for (i, event) in events.iter().enumerate() {
            let mut message = outgoing(&self.config.subject_prefix, self.config.format, event);
            message
                .headers
                .insert(EXPECTED_LAST_SEQUENCE, (base + i as u64).to_string());
            match self
                .context
                .publish_with_headers(message.subject, message.headers, message.body)
                .await
            {
                Ok(ack) => pending.push(ack),
                Err(e) => {
                    send_error = Some((e.kind(), e.to_string()));
                    break;
                }
            }
        }
        let acks = join_all(pending.into_iter().map(IntoFuture::into_future)).await;
        let mut outcome = BatchOutcome {
            acked_through: None,
            last_sequence: base,
            stored: 0,
            duplicates: 0,
            error: None,
        };
        for (event, ack) in events.iter().zip(acks) {
            match ack {
                Ok(ack) => {
                    if ack.duplicate {
                        outcome.duplicates += 1;
                    } else {
                        outcome.stored += 1;
                        outcome.last_sequence = ack.sequence;
                    }
                    outcome.acked_through = Some(event.global_position);
                }
                Err(e) => {
                    outcome.error = Some((e.kind(), e.to_string()));
                    return outcome;
                }
            }
        }
        outcome.error = send_error;
        outcome
    }
}
