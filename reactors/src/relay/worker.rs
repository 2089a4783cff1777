//! The relay worker: follows the event log from its checkpoint and publishes every event to
//! JetStream, in log order, advancing the checkpoint only over events JetStream has stored.
//!
//! Delivery guarantee: at least once into JetStream, and exactly once in practice: before
//! publishing, the relay reads which event the stream holds last and skips what it already
//! holds, and `Nats-Msg-Id` (the event id) lets JetStream absorb anything republished within
//! its duplicate window. Order: the stream holds events in global-position order, hence in
//! per-stream order, even across NATS outages.
//!
//! Every message carries `Nats-Expected-Last-Sequence`, so JetStream stores a message only
//! right after its predecessor and refuses every later one if one is lost. That is what lets a
//! batch be confirmed by one ack: all its messages but the last are published without a reply
//! (JetStream then sends no ack for them), and the last one's ack at the predicted sequence
//! proves the whole batch is stored. Anything else (an error, a timeout, a duplicate, another
//! sequence) leaves the batch unsettled: the relay reads the stream's end again, takes what it
//! holds as published and goes on from there. The stream must therefore be Keel's alone (give
//! no one else publish rights on its subjects). Per-message acks were the relay's main cost:
//! one reply subject, future, timer and JSON answer each.
//!
//! Up to [`IN_FLIGHT`] batches are in flight: the next batch is read and sent while the
//! previous one's ack is awaited. Acks are processed strictly in log order. The checkpoint is
//! written by a second loop in the same task, from the latest stored position, so a slow
//! database write (SQLite's single writer is busy with commits) never holds up publishing; it
//! may trail the stored position by a write, which a restart absorbs.

use super::checkpoint::RelayCheckpoint;
use super::error::RelayError;
use super::jetstream::{self, StreamEnd};
use super::status::RelayStatus;
use crate::error::ReactorError;
use crate::lease::Lease;
use async_nats::header::HeaderName;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::Context;
use futures::future::BoxFuture;
use futures::FutureExt;
use keel_log::{EventLog, RecordedEvent};
use keel_projections::published::message::outgoing;
use keel_projections::published::RelayConfig;
use std::collections::VecDeque;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How long the relay waits for a wake-up before looking at the log anyway (wake-ups from
/// other processes can be lost; this bounds the delay).
const FALLBACK_POLL: Duration = Duration::from_millis(500);
/// First and longest wait after a failure.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// The header that makes JetStream refuse a message stored out of turn.
const EXPECTED_LAST_SEQUENCE: HeaderName = HeaderName::from_static("Nats-Expected-Last-Sequence");
/// Batches sent whose acks are not yet processed.
pub(crate) const IN_FLIGHT: usize = 2;

/// A connected relay, ready to [`run`](Relay::run).
pub struct Relay {
    config: RelayConfig,
    store: Arc<dyn EventLog>,
    context: Context,
    checkpoint: RelayCheckpoint,
    status: Arc<RelayStatus>,
}

/// Where the stream stands, as far as the relay knows: its last sequence and the global
/// position of the last event it holds (0 when that is unknown, e.g. for a new stream).
#[derive(Debug, Clone, Copy)]
struct Tail {
    sequence: u64,
    position: u64,
}

/// A batch sent to JetStream, its ack pending.
struct Sent {
    /// The stream's last sequence before the batch.
    base: u64,
    /// Messages sent.
    sent: u64,
    /// Events of the batch the stream already held, so not sent.
    skipped: u64,
    /// Global position of the batch's last event.
    through: u64,
    /// The ack of the last message sent; `None` when nothing was sent.
    ack: Option<BoxFuture<'static, Result<PublishAck, PublishError>>>,
    /// Why sending stopped before the end of the batch, if it did.
    send_error: Option<String>,
}

/// What one batch's ack says.
enum Settled {
    /// The whole batch is in the stream.
    Stored {
        /// Global position of the batch's last event.
        through: u64,
        /// The stream's last sequence after it.
        sequence: u64,
        /// Messages stored.
        stored: u64,
        /// Events the stream held already.
        skipped: u64,
    },
    /// It is not known how much of the batch the stream holds. `expected` marks the answers
    /// a republished or lost message causes, after which the relay goes on at once.
    Unsettled { error: String, expected: bool },
}

impl Sent {
    async fn settle(self) -> Settled {
        if let Some(error) = self.send_error {
            return Settled::Unsettled {
                error,
                expected: false,
            };
        }
        let stored = Settled::Stored {
            through: self.through,
            sequence: self.base + self.sent,
            stored: self.sent,
            skipped: self.skipped,
        };
        let Some(ack) = self.ack else {
            return stored;
        };
        match ack.await {
            Ok(ack) if !ack.duplicate && ack.sequence == self.base + self.sent => stored,
            Ok(ack) => Settled::Unsettled {
                error: format!(
                    "JetStream stored the batch's last message at sequence {} (duplicate: {}), not {}",
                    ack.sequence,
                    ack.duplicate,
                    self.base + self.sent
                ),
                expected: true,
            },
            Err(e) => Settled::Unsettled {
                expected: e.kind() == PublishErrorKind::WrongLastSequence,
                error: e.to_string(),
            },
        }
    }
}

impl Relay {
    /// Connects to NATS, refuses a server without JetStream, creates or updates the stream and
    /// opens the checkpoint (applying the relay's migrations).
    pub async fn start(config: RelayConfig, store: Arc<dyn EventLog>) -> Result<Relay, RelayError> {
        let context = jetstream::connect(&config).await?;
        let checkpoint = RelayCheckpoint::open(store.database(), &config.stream).await?;
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

    /// Publishes under `lease` until `cancel` fires or the lease moves. Every failure (store,
    /// NATS) is logged, shown in the status and retried from the last acknowledged event with
    /// a bounded backoff. On cancellation it sends nothing more, settles the batches in flight
    /// and writes the checkpoint of what they stored; wherever it stops, nothing is lost,
    /// since the checkpoint only covers acknowledged events. A checkpoint write that finds the
    /// lease gone stops it with [`ReactorError::LeaseLost`].
    pub async fn run(&self, lease: Lease, cancel: CancellationToken) -> Result<(), ReactorError> {
        let (acked, checkpoints) = watch::channel(self.status.position());
        let publishing = cancel.child_token();
        let (_, written) = tokio::join!(self.publish(acked, &publishing), async {
            let written = self
                .write_checkpoints(checkpoints, &lease, &publishing)
                .await;
            if written.is_err() {
                publishing.cancel();
            }
            written
        });
        written
    }

    /// Keeps the checkpoint at the latest acknowledged position, coalescing positions that
    /// arrive while a write is in progress, until publishing ends.
    async fn write_checkpoints(
        &self,
        mut acked: watch::Receiver<u64>,
        lease: &Lease,
        publishing: &CancellationToken,
    ) -> Result<(), ReactorError> {
        while acked.changed().await.is_ok() {
            let position = *acked.borrow_and_update();
            loop {
                match self.checkpoint.save(position, lease).await {
                    Ok(()) => break,
                    Err(ReactorError::LeaseLost(reactor)) => {
                        return Err(ReactorError::LeaseLost(reactor))
                    }
                    // Stopping: the next holder reads the stream's end and skips what it holds.
                    Err(_) if publishing.is_cancelled() => return Ok(()),
                    Err(e) => {
                        warn!(stream = %self.config.stream, error = %e, "cannot write the relay checkpoint; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(BACKOFF.1) => {}
                            _ = publishing.cancelled() => {}
                        }
                    }
                }
            }
        }
        Ok(())
    }

    async fn publish(&self, acked_tx: watch::Sender<u64>, cancel: &CancellationToken) {
        let mut head = self.store.watch_head();
        let mut acked = self.status.position();
        let mut sent = acked;
        let mut in_flight: VecDeque<Sent> = VecDeque::with_capacity(IN_FLIGHT);
        // The stream's end once everything sent is stored, while the relay is in step with it;
        // `None` at start and after a failure, until it is read from the server again.
        let mut tail: Option<Tail> = None;
        // The stream's last sequence when the relay last knew it; `None` before the first read.
        let mut settled: Option<u64> = None;
        // A batch refused the way a lost or republished message makes it refused: the relay
        // goes on at once if the stream shows progress, and backs off if it does not.
        let mut refused: Option<(u64, String)> = None;
        let mut backoff = BACKOFF.0;
        loop {
            if cancel.is_cancelled() {
                // Finish cleanly: what the batches in flight stored is acknowledged, in order.
                for batch in in_flight.drain(..) {
                    match batch.settle().await {
                        Settled::Stored {
                            through,
                            stored,
                            skipped,
                            ..
                        } => {
                            self.status.advanced(through, stored, skipped);
                            acked_tx.send_replace(through);
                        }
                        Settled::Unsettled { .. } => break,
                    }
                }
                return;
            }
            if tail.is_none() {
                // Nothing is in flight here: every path that forgets the tail settles it first.
                let end = match self.stream_end().await {
                    Ok(end) => end,
                    Err(e) => {
                        self.fail(&e.to_string(), &mut backoff, cancel).await;
                        continue;
                    }
                };
                if let Some(before) = settled {
                    // After an unsettled batch, what the stream holds is what got published.
                    if end.position > acked {
                        acked = end.position;
                        self.status
                            .advanced(acked, end.sequence.saturating_sub(before), 0);
                        acked_tx.send_replace(acked);
                    }
                }
                if let Some((before, error)) = refused.take() {
                    if acked == before {
                        self.fail(&error, &mut backoff, cancel).await;
                    }
                }
                sent = acked;
                settled = Some(end.sequence);
                tail = Some(end);
            }
            if in_flight.len() < IN_FLIGHT {
                head.borrow_and_update();
                let events = match self.store.read_all(sent, self.config.batch).await {
                    Ok(events) => events,
                    Err(e) => {
                        self.fail(&RelayError::from(e).to_string(), &mut backoff, cancel)
                            .await;
                        continue;
                    }
                };
                if !events.is_empty() {
                    let before = tail.expect("read above");
                    let batch = self.send(&events, before).await;
                    sent = batch.through;
                    tail = Some(Tail {
                        sequence: before.sequence + batch.sent,
                        position: batch.through.max(before.position),
                    });
                    in_flight.push_back(batch);
                    continue;
                }
                if in_flight.is_empty() {
                    tokio::select! {
                        _ = tokio::time::timeout(FALLBACK_POLL, head.changed()) => {}
                        _ = cancel.cancelled() => {}
                    }
                    continue;
                }
            }
            let batch = in_flight.pop_front().expect("a batch is in flight");
            match batch.settle().await {
                Settled::Stored {
                    through,
                    sequence,
                    stored,
                    skipped,
                } => {
                    acked = through;
                    settled = Some(sequence);
                    self.status.advanced(through, stored, skipped);
                    acked_tx.send_replace(through);
                    self.status.healthy();
                    backoff = BACKOFF.0;
                }
                Settled::Unsettled { error, expected } => {
                    // Later batches were sent on this one's predictions: let them finish (what
                    // they stored is in order), then read how far the stream got.
                    for later in in_flight.drain(..) {
                        let _ = later.settle().await;
                    }
                    tail = None;
                    if expected {
                        refused = Some((acked, error));
                    } else {
                        self.fail(&error, &mut backoff, cancel).await;
                    }
                }
            }
        }
    }

    /// Reads the stream's end (creating the stream again if it was deleted), and the position
    /// of its last event if the store holds that very event: only then does the relay take
    /// everything up to it as published (the stream holds Keel's events in log order).
    async fn stream_end(&self) -> Result<Tail, RelayError> {
        jetstream::ensure_stream(&self.context, &self.config).await?;
        let StreamEnd {
            sequence,
            last_event,
        } = jetstream::stream_end(&self.context, &self.config.stream).await?;
        let mut position = 0;
        if let Some((last, id)) = last_event {
            let stored = self.store.read_all(last.saturating_sub(1), 1).await?;
            if stored
                .first()
                .is_some_and(|e| e.global_position == last && e.event_id == id)
            {
                position = last;
            }
        }
        Ok(Tail { sequence, position })
    }

    async fn fail(&self, error: &str, backoff: &mut Duration, cancel: &CancellationToken) {
        warn!(stream = %self.config.stream, %error, "relay batch failed; retrying from the last stored event");
        self.status.failed(error);
        tokio::select! {
            _ = tokio::time::sleep(*backoff) => {}
            _ = cancel.cancelled() => {}
        }
        *backoff = (*backoff * 2).min(BACKOFF.1);
    }

    /// Sends the events of `events` the stream does not hold yet (after `tail`), without
    /// waiting: the i-th message sent expects the stream at `tail.sequence + i`; only the last
    /// one asks for an ack.
    #[tracing::instrument(level = "debug", name = "relay_batch", skip_all, fields(
        stream = %self.config.stream,
        events = events.len(),
    ))]
    async fn send(&self, events: &[RecordedEvent], tail: Tail) -> Sent {
        let fresh: Vec<&RecordedEvent> = events
            .iter()
            .filter(|e| e.global_position > tail.position)
            .collect();
        let mut batch = Sent {
            base: tail.sequence,
            sent: 0,
            skipped: (events.len() - fresh.len()) as u64,
            through: events
                .last()
                .expect("a batch is never empty")
                .global_position,
            ack: None,
            send_error: None,
        };
        let client = self.context.client();
        for (i, event) in fresh.iter().enumerate() {
            let mut message = outgoing(&self.config.subject_prefix, self.config.format, event);
            message.headers.insert(
                EXPECTED_LAST_SEQUENCE,
                (tail.sequence + i as u64).to_string(),
            );
            let sent = if i + 1 == fresh.len() {
                match self
                    .context
                    .publish_with_headers(message.subject, message.headers, message.body)
                    .await
                {
                    Ok(ack) => {
                        batch.ack = Some(ack.into_future().boxed());
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            } else {
                client
                    .publish_with_headers(message.subject, message.headers, message.body)
                    .await
                    .map_err(|e| e.to_string())
            };
            match sent {
                Ok(()) => batch.sent += 1,
                Err(e) => {
                    batch.send_error = Some(e);
                    break;
                }
            }
        }
        tracing::debug!(
            sent = batch.sent,
            skipped = batch.skipped,
            through = batch.through,
            "batch sent"
        );
        batch
    }
}
