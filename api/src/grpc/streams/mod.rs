//! The `Streams` service: append, read (and subscribe), delete, tombstone, batch append.

pub mod append;
pub mod batch;
pub mod expected;
pub mod read;
pub mod source;
pub mod state;
pub mod subscribe;

use self::append::{AppendScope, Appended, Marker, Proposed};
use self::expected::Expected;
use self::state::StreamState;
use super::auth::authenticate;
use super::convert::{from_proto_uuid, to_read_event, UuidFormat};
use super::error::GrpcError;
use super::filter::Filter;
use super::names::{GrpcCaller, StreamTarget};
use super::proto::shared::{Empty, StreamIdentifier};
use super::proto::streams::read_req::options::{
    self as read_options, stream_options::RevisionOption, CountOption, FilterOption, ReadDirection,
    StreamOption,
};
use super::proto::streams::read_resp::{Content, ReadEvent, StreamNotFound};
use super::proto::streams::streams_server::Streams;
use super::proto::streams::{self as pb, append_resp, ReadResp};
use super::GrpcContext;
use crate::auth::Access;
use futures::stream::BoxStream;
use futures::StreamExt;
use keel_store::{EventStore, RecordedEvent};
use std::collections::HashMap;
use std::sync::Arc;
use tonic::{Request, Response, Status, Streaming};

/// The most bytes (data and metadata) one append may carry.
pub const MAX_APPEND_BYTES: usize = 16 * 1024 * 1024;

/// The `Streams` service over Keel's store.
#[derive(Clone)]
pub struct StreamsService {
    ctx: GrpcContext,
}

impl StreamsService {
    /// The service for this context.
    pub fn new(ctx: GrpcContext) -> StreamsService {
        StreamsService { ctx }
    }

    fn caller<T>(&self, request: &Request<T>, access: Access) -> Result<GrpcCaller, GrpcError> {
        authenticate(
            &self.ctx.directory,
            &self.ctx.api_calls,
            &self.ctx.key_use,
            request.metadata(),
            access,
        )
    }

    fn writer<T>(
        &self,
        request: &Request<T>,
        stream: Option<&StreamIdentifier>,
    ) -> Result<AppendScope, GrpcError> {
        let caller = self.caller(request, Access::Write)?;
        let name_bytes = stream.map(|s| s.stream_name.as_slice()).unwrap_or_default();
        let target = caller.resolve(name_bytes)?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let (stream_id, tenant) = caller.writable(target, &name)?;
        Ok(AppendScope {
            stream_id,
            name,
            tenant,
            actor: caller.actor(),
            source_ip: request.remote_addr().map(|a| a.ip()),
        })
    }
}

/// What readers share: the store, the caller, the id format it asked for.
#[derive(Clone)]
pub struct Reader {
    /// The store.
    pub store: Arc<dyn EventStore>,
    /// The caller.
    pub caller: GrpcCaller,
    /// How the caller wants event ids.
    pub uuid: UuidFormat,
}

impl Reader {
    /// The protocol's view of `event`, if the caller may see it (and it is not a marker).
    pub fn visible(&self, event: &RecordedEvent) -> Option<ReadEvent> {
        if !self.caller.may_see(event) {
            return None;
        }
        to_read_event(event, &self.caller, self.uuid)
    }
}

/// The Keel versions of a stream a read covers.
#[derive(Debug, Clone)]
pub struct StreamRange {
    /// The Keel stream id.
    pub stream_id: String,
    /// The first readable version.
    pub lowest: u64,
    /// The last version.
    pub highest: u64,
    /// Where a forward read starts.
    pub forward_from: u64,
    /// Where a backward read starts.
    pub backward_from: u64,
}

/// Where a read or subscription of a stream starts.
#[derive(Debug, Clone, Copy)]
enum ReadFrom {
    Start,
    Revision(u64),
    End,
}

type ReplyStream = BoxStream<'static, Result<ReadResp, Status>>;

/// The [`Expected`] of a request's `expected_stream_revision`: append, delete and tombstone
/// requests each have their own generated enum `E` with the same four variants.
macro_rules! expected_revision {
    ($e:ident, $value:expr) => {
        match $value {
            Some($e::Revision(r)) => Expected::Exact(r),
            Some($e::NoStream(_)) => Expected::NoStream,
            Some($e::StreamExists(_)) => Expected::StreamExists,
            Some($e::Any(_)) | None => Expected::Any,
        }
    };
}

#[tonic::async_trait]
impl Streams for StreamsService {
    type ReadStream = ReplyStream;

    async fn read(&self, request: Request<pb::ReadReq>) -> Result<Response<ReplyStream>, Status> {
        let caller = self.caller(&request, Access::Read)?;
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| GrpcError::InvalidArgument("a read needs options".into()))?;
        let reader = Reader {
            store: self.ctx.store.clone(),
            caller,
            uuid: match options.uuid_option.and_then(|u| u.content) {
                Some(read_options::uuid_option::Content::Structured(_)) => UuidFormat::Structured,
                _ => UuidFormat::String,
            },
        };
        let forwards = options.read_direction() == ReadDirection::Forwards;
        let filter = match &options.filter_option {
            Some(FilterOption::Filter(f)) => Some(Filter::new(f)?),
            _ => None,
        };
        let count = match options.count_option {
            Some(CountOption::Subscription(_)) => None,
            Some(CountOption::Count(count)) => Some(count),
            None => Some(u64::MAX),
        };
        let replies: ReplyStream = match options.stream_option {
            Some(StreamOption::All(all)) => match count {
                Some(count) => read::all(reader, Some(all), forwards, count, filter).boxed(),
                None => subscribe::all(reader, all, filter, self.ctx.stop.clone()).boxed(),
            },
            Some(StreamOption::Stream(stream)) => {
                let name = stream
                    .stream_identifier
                    .map(|s| s.stream_name)
                    .unwrap_or_default();
                let from = match stream.revision_option {
                    Some(RevisionOption::Revision(r)) => ReadFrom::Revision(r),
                    Some(RevisionOption::End(_)) => ReadFrom::End,
                    _ => ReadFrom::Start,
                };
                let target = reader.caller.resolve(&name)?;
                match count {
                    Some(count) => {
                        read_stream(reader, target, &name, from, forwards, count).await?
                    }
                    None => {
                        let start = subscription_start(&reader, &target, from).await?;
                        subscribe::stream(reader, target, name, start, self.ctx.stop.clone())
                            .boxed()
                    }
                }
            }
            None => {
                return Err(
                    GrpcError::InvalidArgument("a read needs a stream or $all".into()).into(),
                )
            }
        };
        Ok(Response::new(replies))
    }

    async fn append(
        &self,
        request: Request<Streaming<pb::AppendReq>>,
    ) -> Result<Response<pb::AppendResp>, Status> {
        use pb::append_req::{options::ExpectedStreamRevision as E, Content as C};
        let (metadata, extensions, mut messages) = request.into_parts();
        let first = messages.message().await?;
        let Some(pb::AppendReq {
            content: Some(C::Options(options)),
        }) = first
        else {
            return Err(
                GrpcError::InvalidArgument("an append starts with its options".into()).into(),
            );
        };
        let request = Request::from_parts(metadata, extensions, ());
        let writer = self.writer(&request, options.stream_identifier.as_ref())?;
        let expected = expected_revision!(E, options.expected_stream_revision);
        let mut events = Vec::new();
        let mut bytes = 0;
        while let Some(message) = messages.message().await? {
            let Some(C::ProposedMessage(m)) = message.content else {
                return Err(GrpcError::InvalidArgument(
                    "an append sends its options only once".into(),
                )
                .into());
            };
            bytes += m.data.len() + m.custom_metadata.len();
            if bytes > MAX_APPEND_BYTES {
                return Err(GrpcError::InvalidArgument(format!(
                    "an append may carry at most {MAX_APPEND_BYTES} bytes"
                ))
                .into());
            }
            events.push(proposed(
                m.id.as_ref(),
                m.metadata,
                m.custom_metadata,
                m.data,
            )?);
        }
        let outcome = self.ctx.appender.append(&writer, expected, &events).await?;
        Ok(Response::new(append_reply(outcome, expected)))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteReq>,
    ) -> Result<Response<pb::DeleteResp>, Status> {
        use pb::delete_req::options::ExpectedStreamRevision as E;
        use pb::delete_resp::{Position, PositionOption};
        let options = request.get_ref().options.clone().unwrap_or_default();
        let writer = self.writer(&request, options.stream_identifier.as_ref())?;
        let expected = expected_revision!(E, options.expected_stream_revision);
        let position = self
            .ctx
            .appender
            .mark(&writer, expected, Marker::Deleted)
            .await?;
        Ok(Response::new(pb::DeleteResp {
            position_option: Some(match position {
                Some(p) => PositionOption::Position(Position {
                    commit_position: p,
                    prepare_position: p,
                }),
                None => PositionOption::NoPosition(Empty {}),
            }),
        }))
    }

    async fn tombstone(
        &self,
        request: Request<pb::TombstoneReq>,
    ) -> Result<Response<pb::TombstoneResp>, Status> {
        use pb::tombstone_req::options::ExpectedStreamRevision as E;
        use pb::tombstone_resp::{Position, PositionOption};
        let options = request.get_ref().options.clone().unwrap_or_default();
        let writer = self.writer(&request, options.stream_identifier.as_ref())?;
        let expected = expected_revision!(E, options.expected_stream_revision);
        let position = self
            .ctx
            .appender
            .mark(&writer, expected, Marker::Tombstoned)
            .await?;
        Ok(Response::new(pb::TombstoneResp {
            position_option: Some(match position {
                Some(p) => PositionOption::Position(Position {
                    commit_position: p,
                    prepare_position: p,
                }),
                None => PositionOption::NoPosition(Empty {}),
            }),
        }))
    }

    type BatchAppendStream = BoxStream<'static, Result<pb::BatchAppendResp, Status>>;

    async fn batch_append(
        &self,
        request: Request<Streaming<pb::BatchAppendReq>>,
    ) -> Result<Response<Self::BatchAppendStream>, Status> {
        let (metadata, extensions, messages) = request.into_parts();
        let auth = Request::from_parts(metadata, extensions, ());
        // Authenticated once for the whole session; each stream is checked as it comes.
        self.caller(&auth, Access::Write)?;
        let service = self.clone();
        let writer_for = move |stream: Option<&StreamIdentifier>| service.writer(&auth, stream);
        Ok(Response::new(
            batch::run(self.ctx.appender.clone(), messages, writer_for).boxed(),
        ))
    }
}

/// A proposed event from the protocol's fields.
pub fn proposed(
    id: Option<&super::proto::shared::Uuid>,
    mut metadata: HashMap<String, String>,
    custom_metadata: Vec<u8>,
    data: Vec<u8>,
) -> Result<Proposed, GrpcError> {
    let id = from_proto_uuid(id)
        .ok_or_else(|| GrpcError::InvalidArgument("every event needs a valid id".into()))?;
    let event_type = metadata
        .remove("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GrpcError::InvalidArgument(format!("event {id} has no `type`")))?;
    Ok(Proposed {
        id,
        event_type,
        content_type: metadata
            .remove("content-type")
            .unwrap_or_else(|| "application/octet-stream".into()),
        data,
        metadata: custom_metadata,
    })
}

/// The `Append` reply for an outcome.
fn append_reply(outcome: Appended, expected: Expected) -> pb::AppendResp {
    use append_resp::success::{CurrentRevisionOption, PositionOption};
    use append_resp::wrong_expected_version::{
        CurrentRevisionOption as Current, CurrentRevisionOption2060 as Current2060,
        ExpectedRevisionOption as Wanted, ExpectedRevisionOption2060 as Wanted2060,
    };
    let result = match outcome {
        Appended::Done { revision, position } => {
            append_resp::Result::Success(append_resp::Success {
                current_revision_option: Some(match revision {
                    Some(r) => CurrentRevisionOption::CurrentRevision(r),
                    None => CurrentRevisionOption::NoStream(Empty {}),
                }),
                position_option: Some(match position {
                    Some(p) => PositionOption::Position(append_resp::Position {
                        commit_position: p,
                        prepare_position: p,
                    }),
                    None => PositionOption::NoPosition(Empty {}),
                }),
            })
        }
        Appended::WrongExpectedVersion { current } => {
            append_resp::Result::WrongExpectedVersion(append_resp::WrongExpectedVersion {
                current_revision_option_20_6_0: Some(match current {
                    Some(r) => Current2060::CurrentRevision2060(r),
                    None => Current2060::NoStream2060(Empty {}),
                }),
                expected_revision_option_20_6_0: Some(match expected {
                    Expected::Exact(r) => Wanted2060::ExpectedRevision2060(r),
                    Expected::Any => Wanted2060::Any2060(Empty {}),
                    Expected::StreamExists => Wanted2060::StreamExists2060(Empty {}),
                    // The legacy fields have no "no stream": it was sent as revision -1.
                    Expected::NoStream => Wanted2060::ExpectedRevision2060(u64::MAX),
                }),
                current_revision_option: Some(match current {
                    Some(r) => Current::CurrentRevision(r),
                    None => Current::CurrentNoStream(Empty {}),
                }),
                expected_revision_option: Some(match expected {
                    Expected::Exact(r) => Wanted::ExpectedRevision(r),
                    Expected::Any => Wanted::ExpectedAny(Empty {}),
                    Expected::StreamExists => Wanted::ExpectedStreamExists(Empty {}),
                    Expected::NoStream => Wanted::ExpectedNoStream(Empty {}),
                }),
            })
        }
    };
    pb::AppendResp {
        result: Some(result),
    }
}

/// The reply that a stream does not exist.
fn not_found(name: &[u8]) -> ReadResp {
    ReadResp {
        content: Some(Content::StreamNotFound(StreamNotFound {
            stream_identifier: Some(StreamIdentifier {
                stream_name: name.to_vec(),
            }),
        })),
    }
}

/// The readable versions of `target` (`None`: the stream does not exist for this caller).
async fn range_of(
    reader: &Reader,
    target: &StreamTarget,
    name: &[u8],
) -> Result<Option<(StreamRange, StreamState)>, GrpcError> {
    match target {
        StreamTarget::System => Ok(None),
        StreamTarget::Client { stream_id, .. } => {
            let state = StreamState::load(&*reader.store, stream_id).await?;
            if state == StreamState::Tombstoned {
                return Err(GrpcError::StreamDeleted(
                    String::from_utf8_lossy(name).into_owned(),
                ));
            }
            Ok(read::client_range(stream_id, state).map(|r| (r, state)))
        }
        StreamTarget::Keel { stream_id } => {
            let version = reader.store.stream_version(stream_id).await?;
            let first = reader.store.read_stream(stream_id, 1, 1).await?;
            if version == 0 || !first.first().is_some_and(|e| reader.caller.may_see(e)) {
                return Ok(None);
            }
            let range = StreamRange {
                stream_id: stream_id.clone(),
                lowest: 1,
                highest: version,
                forward_from: 1,
                backward_from: version,
            };
            Ok(Some((range, StreamState::Absent)))
        }
    }
}

/// The Keel version of revision `revision` of a stream read as `range`.
fn version_of(target: &StreamTarget, state: StreamState, revision: u64) -> u64 {
    match target {
        StreamTarget::Client { .. } => state.version_of(revision).unwrap_or(u64::MAX),
        _ => revision.saturating_add(1),
    }
}

async fn read_stream(
    reader: Reader,
    target: StreamTarget,
    name: &[u8],
    from: ReadFrom,
    forwards: bool,
    count: u64,
) -> Result<ReplyStream, GrpcError> {
    let Some((mut range, state)) = range_of(&reader, &target, name).await? else {
        return Ok(futures::stream::iter([Ok(not_found(name))]).boxed());
    };
    match from {
        ReadFrom::Start => {
            range.backward_from = range.lowest;
        }
        ReadFrom::End => {
            range.forward_from = range.highest + 1;
        }
        ReadFrom::Revision(r) => {
            let version = version_of(&target, state, r);
            range.forward_from = version.max(range.lowest);
            range.backward_from = if version < range.lowest { 0 } else { version };
        }
    }
    Ok(read::stream(reader, range, forwards, count).boxed())
}

/// The Keel version after which a stream subscription starts delivering.
async fn subscription_start(
    reader: &Reader,
    target: &StreamTarget,
    from: ReadFrom,
) -> Result<u64, GrpcError> {
    let Some(stream_id) = target.stream_id() else {
        return Err(GrpcError::PermissionDenied(
            "Keel has no system streams to subscribe to".into(),
        ));
    };
    let state = match target {
        StreamTarget::Client { .. } => StreamState::load(&*reader.store, stream_id).await?,
        _ => StreamState::Absent,
    };
    let version = reader.store.stream_version(stream_id).await?;
    Ok(match (from, state) {
        (ReadFrom::End, _) => version,
        (ReadFrom::Start, StreamState::Live { epoch, .. }) => epoch.saturating_sub(1),
        (ReadFrom::Start, StreamState::Deleted { version, .. }) => version,
        (ReadFrom::Start, _) => 0,
        (ReadFrom::Revision(r), _) => match target {
            StreamTarget::Client { .. } => state.version_of(r).unwrap_or(version),
            _ => r.saturating_add(1),
        },
    })
}
