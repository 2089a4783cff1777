//! Connecting to NATS and making sure Keel's JetStream stream exists as configured.

use super::error::RelayError;
use super::worker::IN_FLIGHT;
use async_nats::jetstream::stream::RawMessageErrorKind;
use async_nats::jetstream::{self, stream, Context};
use async_nats::HeaderMap;
use keel_projections::published::message::headers::{GLOBAL_POSITION, MSG_ID};
use keel_projections::published::{RelayConfig, Retention};
use std::time::Duration;
use uuid::Uuid;

/// How long a publish waits for its acknowledgement before the batch is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects, checks the server has JetStream, and creates or updates the stream.
pub async fn connect(config: &RelayConfig) -> Result<Context, RelayError> {
    let client = async_nats::ConnectOptions::new()
        .name("keel-relay")
        // Reconnect quickly after an outage (the default backs off to several seconds): the
        // relay's lag is what a NATS restart costs.
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(1000))
        })
        .connect(&config.url)
        .await
        .map_err(|source| RelayError::Connect {
            url: config.url.clone(),
            source,
        })?;
    let context = jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        .ack_timeout(ACK_TIMEOUT)
        // One ack per batch (its last message), for every batch the relay keeps in flight. The
        // client's permits are held by the unconsumed ack futures, so fewer permits than that
        // would deadlock the relay: it awaits the oldest batch only after sending the next.
        .max_ack_inflight(IN_FLIGHT)
        .backpressure_on_inflight(true)
        .build(client);
    check_jetstream(&context, config).await?;
    ensure_stream(&context, config).await?;
    Ok(context)
}

/// Asks the server for its JetStream account information. A server started without `-js`
/// has no responder on the API subject (or answers with an error).
async fn check_jetstream(context: &Context, config: &RelayConfig) -> Result<(), RelayError> {
    let no_jetstream = |detail: String| RelayError::NoJetStream {
        url: config.url.clone(),
        detail,
    };
    // A plain request rather than the client's typed account query, whose strict decoding
    // rejects the answers of older (2.9) servers.
    let reply = context
        .client()
        .request("$JS.API.INFO", bytes::Bytes::new())
        .await
        .map_err(|e| no_jetstream(e.to_string()))?;
    let answer: serde_json::Value = serde_json::from_slice(&reply.payload)
        .map_err(|e| no_jetstream(format!("unreadable answer: {e}")))?;
    match answer.get("error") {
        Some(error) => Err(no_jetstream(error.to_string())),
        None => Ok(()),
    }
}

/// The stream configuration Keel wants.
pub fn stream_config(config: &RelayConfig) -> stream::Config {
    stream::Config {
        name: config.stream.clone(),
        description: Some("Keel's committed events (published by the relay)".into()),
        subjects: vec![config.stream_subjects()],
        retention: match config.retention {
            Retention::Limits => stream::RetentionPolicy::Limits,
            Retention::Interest => stream::RetentionPolicy::Interest,
            Retention::WorkQueue => stream::RetentionPolicy::WorkQueue,
        },
        num_replicas: config.replicas,
        duplicate_window: config.duplicate_window,
        max_age: config.max_age,
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

/// Creates the stream, or updates it to the configuration if it exists.
pub async fn ensure_stream(context: &Context, config: &RelayConfig) -> Result<(), RelayError> {
    context
        .create_or_update_stream(stream_config(config))
        .await
        .map_err(|e| RelayError::Stream {
            stream: config.stream.clone(),
            detail: e.to_string(),
        })?;
    Ok(())
}

/// What the stream holds at its end: its last sequence and, when its last message is one of
/// Keel's, that event's global position and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamEnd {
    /// The sequence of the stream's last message (0 if it never had one).
    pub sequence: u64,
    /// The global position and event id its last message carries, if it is Keel's.
    pub last_event: Option<(u64, Uuid)>,
}

/// Reads the stream's end. The last message is looked up by sequence; one removed meanwhile
/// (limits, a purge) or without Keel's headers leaves `last_event` empty.
pub async fn stream_end(context: &Context, stream: &str) -> Result<StreamEnd, RelayError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        RelayError::Publish(format!("cannot read the stream's state: {e}"))
    };
    let stream = context
        .get_stream(stream)
        .await
        .map_err(|e| unreadable(&e))?;
    let sequence = stream.cached_info().state.last_sequence;
    let last_event = match sequence {
        0 => None,
        sequence => match stream.get_raw_message(sequence).await {
            Ok(message) => keel_event(&message.headers),
            Err(e) if matches!(e.kind(), RawMessageErrorKind::NoMessageFound) => None,
            Err(e) => return Err(unreadable(&e)),
        },
    };
    Ok(StreamEnd {
        sequence,
        last_event,
    })
}

fn keel_event(headers: &HeaderMap) -> Option<(u64, Uuid)> {
    let position = headers.get(GLOBAL_POSITION)?.as_str().parse().ok()?;
    let id = headers.get(MSG_ID)?.as_str().parse().ok()?;
    Some((position, id))
}
