//! `Streams.Read` with a count: a stream or `$all`, forwards or backwards.

use super::source::{stream_backwards, Log, NextPage, PAGE};
use super::state::StreamState;
use super::{Reader, StreamRange};
use crate::grpc::error::GrpcError;
use crate::grpc::filter::Filter;
use crate::grpc::proto::streams::read_req::options::{all_options::AllOption, AllOptions};
use crate::grpc::proto::streams::read_resp::{Content, ReadEvent};
use crate::grpc::proto::streams::ReadResp;
use futures::Stream;
use keel_store::RecordedEvent;
use tonic::Status;

/// Reads `count` events of a stream in `range`.
pub fn stream(
    reader: Reader,
    range: StreamRange,
    forwards: bool,
    count: u64,
) -> impl Stream<Item = Result<ReadResp, Status>> + Send {
    async_stream::try_stream! {
        let mut left = count;
        if forwards {
            let mut next = range.forward_from;
            while left > 0 && next <= range.highest {
                let limit = left.min(PAGE as u64).min(range.highest - next + 1) as usize;
                let events = reader.store.read_stream(&range.stream_id, next, limit).await.map_err(GrpcError::from)?;
                let Some(last) = events.last() else { break };
                next = last.stream_version + 1;
                for event in &events {
                    if let Some(read) = reader.visible(event) {
                        left -= 1;
                        yield event_reply(read);
                    }
                }
            }
        } else {
            let mut next = range.backward_from.min(range.highest);
            while left > 0 && next >= range.lowest && next > 0 {
                let limit = left.min(PAGE as u64) as usize;
                let events = stream_backwards(&*reader.store, &range.stream_id, next, range.lowest, limit).await.map_err(GrpcError::from)?;
                let Some(last) = events.last() else { break };
                next = last.stream_version - 1;
                for event in &events {
                    if let Some(read) = reader.visible(event) {
                        left -= 1;
                        yield event_reply(read);
                    }
                }
            }
        }
    }
}

/// Reads `count` events of the caller's `$all`, from `options`, through `filter`.
pub fn all(
    reader: Reader,
    options: Option<AllOptions>,
    forwards: bool,
    count: u64,
    filter: Option<Filter>,
) -> impl Stream<Item = Result<ReadResp, Status>> + Send {
    async_stream::try_stream! {
        let log = reader.log();
        let store = reader.store.clone();
        let option = options.and_then(|o| o.all_option);
        let mut left = count;
        if forwards {
            let mut after = match option {
                None | Some(AllOption::Start(_)) => 0,
                Some(AllOption::Position(p)) => p.commit_position.saturating_sub(1),
                Some(AllOption::End(_)) => u64::MAX,
            };
            let mut next = (left > 0 && after < u64::MAX)
                .then(|| NextPage::start(log, store.clone(), after, PAGE));
            while let Some(page) = next.take() {
                if left == 0 { break }
                let events = page.events().await.map_err(GrpcError::from)?;
                let Some(last) = events.last() else { break };
                after = last.global_position;
                // Read on while this page is sent (dropped unread if the count is reached).
                next = Some(NextPage::start(log, store.clone(), after, PAGE));
                for read in pass(&reader, &events, filter.as_ref()) {
                    if left == 0 { break }
                    left -= 1;
                    yield event_reply(read);
                }
            }
        } else {
            let mut before = match option {
                Some(AllOption::Position(p)) => p.commit_position,
                None | Some(AllOption::End(_)) => store.head_position().await.map_err(GrpcError::from)?.saturating_add(1),
                Some(AllOption::Start(_)) => 0,
            };
            while left > 0 && before > 1 {
                let events = log.before(&*store, before, PAGE).await.map_err(GrpcError::from)?;
                let Some(last) = events.last() else { break };
                before = last.global_position;
                for read in pass(&reader, &events, filter.as_ref()) {
                    if left == 0 { break }
                    left -= 1;
                    yield event_reply(read);
                }
            }
        }
    }
}

/// The events of a page the caller sees and the filter lets through.
fn pass<'a>(
    reader: &'a Reader,
    events: &'a [RecordedEvent],
    filter: Option<&'a Filter>,
) -> impl Iterator<Item = ReadEvent> + 'a {
    events
        .iter()
        .filter_map(|e| reader.visible(e))
        .filter(move |read| filter.is_none_or(|f| f.matches(read)))
}

/// A reply carrying one event.
pub fn event_reply(read: ReadEvent) -> ReadResp {
    ReadResp {
        content: Some(Content::Event(read)),
    }
}

/// The versions of a client stream a read covers, or `None` if it has no readable events.
pub fn client_range(stream_id: &str, state: StreamState) -> Option<StreamRange> {
    match state {
        StreamState::Live { version, epoch, .. } => Some(StreamRange {
            stream_id: stream_id.to_owned(),
            lowest: epoch,
            highest: version,
            forward_from: epoch,
            backward_from: version,
        }),
        _ => None,
    }
}

/// Used by the `Log` of a reader.
impl Reader {
    /// The part of the log the caller sees.
    pub fn log(&self) -> Log {
        self.caller.tenant().map_or(Log::All, Log::Tenant)
    }
}
