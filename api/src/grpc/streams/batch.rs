//! `Streams.BatchAppend`: a session of appends, each sent in one or more chunks under a
//! correlation id (options in the first, `is_final` on the last), each answered once with its
//! correlation id, stream and expected position echoed.

use super::append::{AppendScope, Appended, Appender, Proposed};
use super::expected::Expected;
use super::{proposed, MAX_APPEND_BYTES};
use crate::grpc::error::GrpcError;
use crate::grpc::proto::google::rpc;
use crate::grpc::proto::shared::{self, StreamIdentifier};
use crate::grpc::proto::streams::batch_append_req::options::ExpectedStreamPosition as Asked;
use crate::grpc::proto::streams::batch_append_req::Options;
use crate::grpc::proto::streams::batch_append_resp::{
    self, success, ExpectedStreamPosition as Echo,
};
use crate::grpc::proto::streams::{BatchAppendReq, BatchAppendResp};
use futures::Stream;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use tonic::{Code, Status, Streaming};

/// Batches begun and not yet final in one session, at most.
const MAX_OPEN_BATCHES: usize = 1024;

/// A batch being received.
#[derive(Default)]
struct Pending {
    options: Option<Options>,
    events: Vec<Proposed>,
    bytes: usize,
}

/// Runs a session: answers each batch when its last chunk arrives.
pub fn run<F>(
    appender: Arc<Appender>,
    mut messages: Streaming<BatchAppendReq>,
    writer_for: F,
) -> impl Stream<Item = Result<BatchAppendResp, Status>> + Send
where
    F: Fn(Option<&StreamIdentifier>) -> Result<AppendScope, GrpcError> + Send + Sync + 'static,
{
    async_stream::try_stream! {
        let mut pending: HashMap<Vec<u8>, Pending> = HashMap::new();
        while let Some(chunk) = messages.message().await? {
            let correlation = chunk
                .correlation_id
                .clone()
                .ok_or_else(|| GrpcError::InvalidArgument("every batch needs a correlation id".into()))?;
            let key = correlation.encode_to_vec();
            if !pending.contains_key(&key) && pending.len() >= MAX_OPEN_BATCHES {
                Err(GrpcError::InvalidArgument(format!("at most {MAX_OPEN_BATCHES} batches may be open at once")))?;
            }
            let batch = pending.entry(key.clone()).or_default();
            if chunk.options.is_some() {
                batch.options = chunk.options;
            }
            let mut refused = None;
            for m in chunk.proposed_messages {
                batch.bytes += m.data.len() + m.custom_metadata.len();
                match proposed(m.id.as_ref(), m.metadata, m.custom_metadata, m.data) {
                    Ok(event) => batch.events.push(event),
                    Err(error) => refused = Some(error),
                }
            }
            if batch.bytes > MAX_APPEND_BYTES {
                refused = Some(GrpcError::InvalidArgument(format!(
                    "an append may carry at most {MAX_APPEND_BYTES} bytes"
                )));
            }
            if !chunk.is_final && refused.is_none() {
                continue;
            }
            let batch = pending.remove(&key).unwrap_or_default();
            let options = batch.options.unwrap_or_default();
            let expected = match options.expected_stream_position {
                Some(Asked::StreamPosition(r)) => Expected::Exact(r),
                Some(Asked::NoStream(())) => Expected::NoStream,
                Some(Asked::StreamExists(())) => Expected::StreamExists,
                Some(Asked::Any(())) | None => Expected::Any,
            };
            let result = match refused {
                Some(error) => Err(error),
                None => match writer_for(options.stream_identifier.as_ref()) {
                    Ok(writer) => appender.append(&writer, expected, &batch.events).await,
                    Err(error) => Err(error),
                },
            };
            yield reply(correlation, options.stream_identifier, expected, result);
        }
    }
}

fn reply(
    correlation: shared::Uuid,
    stream: Option<StreamIdentifier>,
    expected: Expected,
    result: Result<Appended, GrpcError>,
) -> BatchAppendResp {
    let outcome = match result {
        Ok(Appended::Done { revision, position }) => {
            batch_append_resp::Result::Success(batch_append_resp::Success {
                current_revision_option: Some(match revision {
                    Some(r) => success::CurrentRevisionOption::CurrentRevision(r),
                    None => success::CurrentRevisionOption::NoStream(()),
                }),
                position_option: Some(match position {
                    Some(p) => success::PositionOption::Position(shared::AllStreamPosition {
                        commit_position: p,
                        prepare_position: p,
                    }),
                    None => success::PositionOption::NoPosition(()),
                }),
            })
        }
        Ok(Appended::WrongExpectedVersion { current }) => {
            batch_append_resp::Result::Error(wrong_version(current, expected))
        }
        Err(error) => batch_append_resp::Result::Error(error_status(error)),
    };
    BatchAppendResp {
        correlation_id: Some(correlation),
        result: Some(outcome),
        stream_identifier: stream,
        expected_stream_position: Some(match expected {
            Expected::Exact(r) => Echo::StreamPosition(r),
            Expected::NoStream => Echo::NoStream(()),
            Expected::StreamExists => Echo::StreamExists(()),
            Expected::Any => Echo::Any(()),
        }),
    }
}

fn any<M: Message>(name: &str, message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/event_store.client.{name}"),
        value: message.encode_to_vec(),
    }
}

fn wrong_version(current: Option<u64>, expected: Expected) -> rpc::Status {
    use shared::wrong_expected_version::{
        CurrentStreamRevisionOption as C, ExpectedStreamPositionOption as E,
    };
    let detail = shared::WrongExpectedVersion {
        current_stream_revision_option: Some(match current {
            Some(r) => C::CurrentStreamRevision(r),
            None => C::CurrentNoStream(()),
        }),
        expected_stream_position_option: Some(match expected {
            Expected::Exact(r) => E::ExpectedStreamPosition(r),
            Expected::Any => E::ExpectedAny(()),
            Expected::StreamExists => E::ExpectedStreamExists(()),
            Expected::NoStream => E::ExpectedNoStream(()),
        }),
    };
    rpc::Status {
        code: Code::FailedPrecondition as i32,
        message: format!(
            "wrong expected version: expected {}, current {}",
            expected.describe(),
            super::expected::describe_current(current)
        ),
        details: vec![any("WrongExpectedVersion", &detail)],
    }
}

fn error_status(error: GrpcError) -> rpc::Status {
    let details = match &error {
        GrpcError::StreamDeleted(name) => vec![any(
            "StreamDeleted",
            &shared::StreamDeleted {
                stream_identifier: Some(StreamIdentifier {
                    stream_name: name.as_bytes().to_vec(),
                }),
            },
        )],
        GrpcError::PermissionDenied(_) | GrpcError::Unauthenticated(_) => {
            vec![any("AccessDenied", &shared::AccessDenied {})]
        }
        GrpcError::InvalidArgument(message) => vec![any(
            "BadRequest",
            &shared::BadRequest {
                message: message.clone(),
            },
        )],
        _ => Vec::new(),
    };
    let status = Status::from(error);
    rpc::Status {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details,
    }
}
