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
//!
//! Up to [`IN_FLIGHT`] batches are in flight: the next batch is read and sent while the
//! previous one's acks are awaited. Acks are processed strictly in log order. The checkpoint is written by a
//! second loop in the same task, from the latest acknowledged position, so a slow database
//! write (SQLite's single writer is busy with commits) never holds up publishing; it may trail
//! the acknowledged position by a write, which a restart turns into absorbed duplicates.

use super::checkpoint::Checkpoint;
use super::config::RelayConfig;
use super::error::RelayError;
use super::jetstream;
use super::message::outgoing;
use super::status::RelayStatus;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::Context;
use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use keel_commands::store::{EventStore, RecordedEvent};
use std::collections::VecDeque;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// How long the relay waits for a wake-up before looking at the log anyway (wake-ups from
/// other processes can be lost; this bounds the delay).
const FALLBACK_POLL: Duration = Duration::from_millis(500);
/// First and longest wait after a failure.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// The header that makes JetStream refuse a message stored out of turn.
const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
/// Batches sent whose acks are not yet processed.
pub(crate) const IN_FLIGHT: usize = 2;

/// A connected relay, ready to [`run`](Relay::run).
pub struct Relay {
    config: RelayConfig,
    store: Arc<dyn EventStore>,
    context: Context,
    checkpoint: Checkpoint,
    status: Arc<RelayStatus>,
}

/// A batch sent to JetStream, its acks pending.
struct Sent {
    positions: Vec<u64>,
    acks: BoxFuture<'static, Vec<Result<PublishAck, PublishError>>>,
    /// Why sending stopped before the end of the batch, if it did.
    send_error: Option<(PublishErrorKind, String)>,
}

/// What one batch's acks say.
struct Acked {
    /// Position of the last event of the contiguous acknowledged prefix, if any.
    through: Option<u64>,
    stored: u64,
    duplicates: u64,
    error: Option<(PublishErrorKind, String)>,
}

impl Sent {
    async fn acked(self) -> Acked {
        let acks = self.acks.await;
        let mut outcome = Acked {
            through: None,
            stored: 0,
            duplicates: 0,
            error: None,
        };
        for (position, ack) in self.positions.into_iter().zip(acks) {
            match ack {
                Ok(ack) => {
                    if ack.duplicate {
                        outcome.duplicates += 1;
                    } else {
                        outcome.stored += 1;
                    }
                    outcome.through = Some(position);
                }
                Err(e) => {
                    outcome.error = Some((e.kind(), e.to_string()));
                    return outcome;
                }
            }
        }
        outcome.error = self.send_error;
        outcome
    }
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
    /// shown in the status and retried from the last acknowledged event with a bounded
    /// backoff; stopping at any await point loses nothing, since the checkpoint only covers
    /// acknowledged events.
    pub async fn run(self) {
        let (acked, checkpoints) = watch::channel(self.status.position());
        // Both loops live in this one task, so aborting it stops both at once.
        tokio::join!(self.publish(acked), self.write_checkpoints(checkpoints));
    }

    /// Keeps the checkpoint at the latest acknowledged position, coalescing positions that
    /// arrive while a write is in progress.
    async fn write_checkpoints(&self, mut acked: watch::Receiver<u64>) {
        while acked.changed().await.is_ok() {
            let position = *acked.borrow_and_update();
            while let Err(e) = self.checkpoint.save(position).await {
                warn!(stream = %self.config.stream, error = %e, "cannot write the relay checkpoint; retrying");
                tokio::time::sleep(BACKOFF.1).await;
            }
        }
    }

    async fn publish(&self, acked_tx: watch::Sender<u64>) {
        let mut head = self.store.watch_head();
        let mut acked = self.status.position();
        let mut sent = acked;
        let mut in_flight: VecDeque<Sent> = VecDeque::with_capacity(IN_FLIGHT);
        // The stream's last sequence once everything sent is stored, while the relay is in step
        // with the stream; `None` after a failure, when it must be read from the server again.
        let mut last_sequence: Option<u64> = None;
        let mut backoff = BACKOFF.0;
        loop {
            // Out of step with the stream (`None`), the relay sends nothing until what is in
            // flight is settled: the stream's last sequence read meanwhile would let a new
            // batch be stored ahead of in-flight messages that are about to be refused.
            let may_send =
                in_flight.is_empty() || (in_flight.len() < IN_FLIGHT && last_sequence.is_some());
            if may_send {
                head.borrow_and_update();
                let events = match self.store.read_all(sent, self.config.batch).await {
                    Ok(events) => events,
                    Err(e) => {
                        self.fail(&RelayError::from(e).to_string(), &mut backoff)
                            .await;
                        continue;
                    }
                };
                if !events.is_empty() {
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
                    sent = events.last().expect("not empty").global_position;
                    last_sequence = Some(base + events.len() as u64);
                    in_flight.push_back(self.send(&events, base).await);
                    continue;
                }
                if in_flight.is_empty() {
                    let _ = tokio::time::timeout(FALLBACK_POLL, head.changed()).await;
                    continue;
                }
            }
            let batch = in_flight.pop_front().expect("a batch is in flight");
            let outcome = batch.acked().await;
            let progressed = outcome.through.is_some();
            if let Some(position) = outcome.through {
                acked = position;
                self.status
                    .advanced(position, outcome.stored, outcome.duplicates);
                acked_tx.send_replace(position);
            }
            if outcome.duplicates > 0 {
                // Duplicates do not advance the stream: later predictions are off by as many.
                last_sequence = None;
            }
            let Some((kind, error)) = outcome.error else {
                self.status.healthy();
                backoff = BACKOFF.0;
                continue;
            };
            // Later batches were sent on the failed one's predictions: let them finish (what
            // they stored is in order and is republished as duplicates), then go on from the
            // last acknowledged event.
            for later in in_flight.drain(..) {
                let _ = later.acked().await;
            }
            sent = acked;
            last_sequence = None;
            // Expected after republished duplicates and after a lost message: re-read the
            // stream's state and go on at once if the batch made progress.
            if !(kind == PublishErrorKind::WrongLastSequence && progressed) {
                self.fail(&error, &mut backoff).await;
            }
        }
    }

    /// Re-reads the stream's last sequence, creating the stream again if it was deleted.
    async fn resync(&self) -> Result<u64, RelayError> {
        jetstream::ensure_stream(&self.context, &self.config).await?;
        jetstream::last_sequence(&self.context, &self.config.stream).await
    }

    async fn fail(&self, error: &str, backoff: &mut Duration) {
        warn!(stream = %self.config.stream, %error, "relay batch failed; retrying from the last acknowledged event");
        self.status.failed(error);
        tokio::time::sleep(*backoff).await;
        *backoff = (*backoff * 2).min(BACKOFF.1);
    }

    /// Sends `events` without waiting for acks; `base` is the stream's last sequence before
    /// the batch, so the i-th message expects `base + i`.
    async fn send(&self, events: &[RecordedEvent], base: u64) -> Sent {
        let mut pending = Vec::with_capacity(events.len());
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
                Ok(ack) => pending.push(ack.into_future()),
                Err(e) => {
                    send_error = Some((e.kind(), e.to_string()));
                    break;
                }
            }
        }
        Sent {
            positions: events
                .iter()
                .take(pending.len())
                .map(|e| e.global_position)
                .collect(),
            acks: join_all(pending).boxed(),
            send_error,
        }
    }
}
