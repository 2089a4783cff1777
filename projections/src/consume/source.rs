//! Reading Keel's JetStream stream from a position: find the first message after a
//! checkpoint, then hand out the events that follow it in gap-free batches.
//!
//! The relay publishes every event in global order, so the stream's global positions rise
//! with its sequence numbers, except where a relay restarted from an older checkpoint after
//! the duplicate window and stored some events again. Where to start is found by bisection
//! over the stream's sequences: the first message whose position exceeds the checkpoint. A
//! rise from "at or below the checkpoint" to "above it" only ever happens at the position
//! right after the checkpoint (positions grow one by one, and a republished run starts lower
//! than what precedes it), so the bisection lands on the next event even in a stream with
//! republished runs. From there on nothing is missing: each relay run publishes contiguously
//! from its checkpoint (never beyond what JetStream acknowledged) onwards, so anything still at
//! or below the cursor is a duplicate and is skipped.
//!
//! Messages are read with an ordered consumer: ephemeral, no acknowledgements, recreated by
//! the client from the last sequence it delivered if a message goes missing in transit. The
//! projection's checkpoint in the database stays the only record of progress.

use super::decode;
use crate::error::ProjectionError;
use crate::published::{BodyFormat, RelayConfig};
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::stream::{RetentionPolicy, Stream};
use async_nats::jetstream::Message;
use futures::StreamExt;
use keel_log::RecordedEvent;
use std::time::Duration;
use tokio::time::Instant;

/// How long a batch keeps collecting once its first message arrived: the relay publishes in
/// bursts, and a few milliseconds turn a burst into one transaction instead of many.
const LINGER: Duration = Duration::from_millis(10);

/// Keel's stream on a NATS server, checked to be able to feed projections.
pub struct Source {
    stream: Stream,
    name: String,
    subjects: String,
}

impl Source {
    /// Connects to the stream `config` names. Refuses JSON bodies (they do not give back
    /// the stored payload exactly), a stream that does not exist (the relay creates it), and
    /// retention other than `limits`: under `interest` or `workqueue` JetStream deletes
    /// messages a stopped projection has not read yet.
    pub async fn connect(config: &RelayConfig) -> Result<Source, ProjectionError> {
        if config.format == BodyFormat::Json {
            return Err(ProjectionError::SourceSetup(
                "nats_body_format is json: projections need the stored MessagePack bytes, which the JSON view cannot give back exactly; publish with nats_body_format = msgpack".into(),
            ));
        }
        let client = async_nats::ConnectOptions::new()
            .name("keel-project")
            .connect(&config.url)
            .await
            .map_err(|e| {
                ProjectionError::Nats(format!("cannot connect to NATS at {}: {e}", config.url))
            })?;
        let context = async_nats::jetstream::new(client);
        let stream = context.get_stream(&config.stream).await.map_err(|e| {
            ProjectionError::SourceSetup(format!(
                "cannot open the JetStream stream `{}` at {}: {e} (the relay, `keel serve` with nats_url set, creates it)",
                config.stream, config.url
            ))
        })?;
        let retention = stream.cached_info().config.retention;
        if retention != RetentionPolicy::Limits {
            return Err(ProjectionError::SourceSetup(format!(
                "the stream `{}` has {retention:?} retention, which deletes messages a stopped projection has not read; use nats_retention = limits",
                config.stream
            )));
        }
        Ok(Source {
            stream,
            name: config.stream.clone(),
            subjects: config.stream_subjects(),
        })
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A cursor delivering the events after `position`.
    pub async fn open_after(&self, position: u64) -> Result<StreamCursor, ProjectionError> {
        let state = self.stream.get_info().await.map_err(nats)?.state;
        let start = self
            .first_sequence_after(position, state.first_sequence, state.last_sequence)
            .await?;
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: self.subjects.clone(),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await
            .map_err(nats)?;
        Ok(StreamCursor {
            after: position,
            stream: self.name.clone(),
            messages: consumer.messages().await.map_err(nats)?,
            deferred: None,
        })
    }

    /// The sequence of the first message whose position exceeds `position`, by bisection
    /// (see the module doc); `last + 1` if there is none yet.
    async fn first_sequence_after(
        &self,
        position: u64,
        first: u64,
        last: u64,
    ) -> Result<u64, ProjectionError> {
        // Invariant: every message before `low` is at or below `position` as far as the
        // bisection looked, and the message at `high` (if any) is above it.
        let (mut low, mut high) = (first.max(1), last + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.at_or_after(middle).await? {
                Some((sequence, found)) if found <= position => low = sequence + 1,
                // Above it, or nothing at or after `middle`: messages between `middle` and
                // the one found were deleted, so a consumer starting at `middle` begins there.
                _ => high = middle,
            }
        }
        Ok(low)
    }

    /// The sequence and position of the first message at or after `sequence`.
    async fn at_or_after(&self, sequence: u64) -> Result<Option<(u64, u64)>, ProjectionError> {
        let message = self
            .stream
            .raw_message_builder()
            .sequence(sequence)
            .next_by_subject(self.subjects.clone())
            .send()
            .await;
        match message {
            Ok(message) => {
                let position = decode::position(Some(&message.headers)).map_err(|reason| {
                    ProjectionError::SourceMessage {
                        stream: self.name.clone(),
                        sequence: message.sequence,
                        reason,
                    }
                })?;
                Ok(Some((message.sequence, position)))
            }
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound =>
            {
                Ok(None)
            }
            Err(e) => Err(nats(e)),
        }
    }
}

/// The events of the stream after a position, gap-free.
pub struct StreamCursor {
    after: u64,
    stream: String,
    messages: Ordered,
    /// An error met after events that were handed out first; returned by the next batch.
    deferred: Option<ProjectionError>,
}

impl StreamCursor {
    /// The position of the last event handed out (or skipped to).
    pub fn after(&self) -> u64 {
        self.after
    }

    /// Treats everything up to `position` as handed out: later messages at or below it are
    /// skipped (another writer applied them).
    pub fn skip_to(&mut self, position: u64) {
        self.after = self.after.max(position);
    }

    /// Up to `max` events directly following [`after`](StreamCursor::after), in order. Waits at most
    /// `idle` for the first one (an empty batch then), then collects what follows within
    /// [`LINGER`]. Duplicates (positions already handed out) are skipped; a message beyond the
    /// next position is a gap and an error, as is a message that is not a Keel event.
    pub async fn next_batch(
        &mut self,
        max: usize,
        idle: Duration,
    ) -> Result<Vec<RecordedEvent>, ProjectionError> {
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        let mut events = Vec::new();
        let mut deadline = Instant::now() + idle;
        while events.len() < max {
            let next = match tokio::time::timeout_at(deadline, self.messages.next()).await {
                Err(_) => break,
                Ok(None) => Err(ProjectionError::Nats("the consumer ended".into())),
                Ok(Some(Err(e))) => Err(nats(e)),
                Ok(Some(Ok(message))) => self.follows(&message),
            };
            match next {
                Ok(None) => continue,
                Ok(Some(event)) => {
                    self.after = event.global_position;
                    if events.is_empty() {
                        deadline = Instant::now() + LINGER;
                    }
                    events.push(event);
                }
                // The events before the failure are good: they are folded first, and the
                // error comes with the next batch.
                Err(error) if !events.is_empty() => {
                    self.deferred = Some(error);
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(events)
    }

    /// The event `message` carries if it is the next one, `None` for a duplicate, an error
    /// for a gap or a message that is no Keel event.
    fn follows(&self, message: &Message) -> Result<Option<RecordedEvent>, ProjectionError> {
        let event =
            decode::decode(message.headers.as_ref(), &message.payload).map_err(|reason| {
                ProjectionError::SourceMessage {
                    stream: self.stream.clone(),
                    sequence: message.info().map(|i| i.stream_sequence).unwrap_or(0),
                    reason,
                }
            })?;
        let position = event.global_position;
        if position <= self.after {
            return Ok(None);
        }
        if position != self.after + 1 {
            return Err(ProjectionError::SourceGap {
                stream: self.stream.clone(),
                after: self.after,
                found: position,
                missing: position - self.after - 1,
            });
        }
        Ok(Some(event))
    }
}

fn nats(error: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Nats(error.to_string())
}
