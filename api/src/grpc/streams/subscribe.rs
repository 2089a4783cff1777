//! Catch-up subscriptions: the confirmation first, then the history, then live events, with
//! no gap and no duplicate at the hand-over: one loop reads the store from its last delivered
//! position whether it is behind or live, and only waits (on the store's head signal) when a
//! read comes back empty. The `$all` log is read gap-free by the store (see
//! `keel_store`); a stream's versions are assigned under its lock.

use super::source::{Log, PAGE};
use super::Reader;
use crate::grpc::error::GrpcError;
use crate::grpc::filter::Filter;
use crate::grpc::names::StreamTarget;
use crate::grpc::payload::{Stored, TOMBSTONED_TYPE};
use crate::grpc::proto::streams::read_req::options::{all_options::AllOption, AllOptions};
use crate::grpc::proto::streams::read_resp::{
    CaughtUp, Checkpoint, Content, SubscriptionConfirmation,
};
use crate::grpc::proto::streams::ReadResp;
use futures::Stream;
use std::time::Duration;
use tokio::sync::watch;
use tonic::Status;
use uuid::Uuid;

/// How long a live subscription waits for a wake-up before looking at the store anyway
/// (wake-ups from other processes are coalesced and may be lost).
const FALLBACK_POLL: Duration = Duration::from_millis(500);

fn confirmation() -> ReadResp {
    ReadResp {
        content: Some(Content::Confirmation(SubscriptionConfirmation {
            subscription_id: Uuid::now_v7().to_string(),
        })),
    }
}

fn caught_up() -> ReadResp {
    ReadResp {
        content: Some(Content::CaughtUp(CaughtUp {})),
    }
}

fn checkpoint(position: u64) -> ReadResp {
    ReadResp {
        content: Some(Content::Checkpoint(Checkpoint {
            commit_position: position,
            prepare_position: position,
        })),
    }
}

/// Waits until the store's head may have moved, the fallback poll passed, or the server
/// stops; `false` when it stops.
async fn wait(head: &mut watch::Receiver<u64>, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::timeout(FALLBACK_POLL, head.changed()) => true,
        _ = stop.changed() => !*stop.borrow(),
    }
}

/// A subscription to one stream, delivering the events after Keel version `after`.
pub fn stream(
    reader: Reader,
    target: StreamTarget,
    name: Vec<u8>,
    mut after: u64,
    mut stop: watch::Receiver<bool>,
) -> impl Stream<Item = Result<ReadResp, Status>> + Send {
    async_stream::try_stream! {
        yield confirmation();
        let stream_id = target.stream_id().unwrap_or_default().to_owned();
        let mut head = reader.store.watch_head();
        let mut live = false;
        loop {
            head.borrow_and_update();
            let events = reader.store.read_stream(&stream_id, after + 1, PAGE).await.map_err(GrpcError::from)?;
            if events.is_empty() {
                if !live {
                    live = true;
                    yield caught_up();
                }
                if !wait(&mut head, &mut stop).await {
                    break;
                }
                continue;
            }
            for event in &events {
                after = event.stream_version;
                if event.event_type == TOMBSTONED_TYPE && matches!(Stored::decode(event), Some(Stored::Tombstoned)) {
                    Err(GrpcError::StreamDeleted(String::from_utf8_lossy(&name).into_owned()))?;
                }
                if let Some(read) = reader.visible(event) {
                    yield super::read::event_reply(read);
                }
            }
        }
    }
}

/// A subscription to the caller's `$all`, through `filter`, with checkpoints.
pub fn all(
    reader: Reader,
    options: AllOptions,
    filter: Option<Filter>,
    mut stop: watch::Receiver<bool>,
) -> impl Stream<Item = Result<ReadResp, Status>> + Send {
    async_stream::try_stream! {
        let log: Log = reader.log();
        let store = reader.store.clone();
        let mut after = match options.all_option {
            Some(AllOption::Position(p)) => p.commit_position,
            Some(AllOption::End(_)) => store.head_position().await.map_err(GrpcError::from)?,
            _ => 0,
        };
        yield confirmation();
        let checkpoint_every = filter.as_ref().map(|f| f.checkpoint_every);
        let mut scanned = 0u64;
        let mut checkpointed = after;
        let mut head = store.watch_head();
        let mut live = false;
        loop {
            head.borrow_and_update();
            let events = log.after(&*store, after, PAGE).await.map_err(GrpcError::from)?;
            if events.is_empty() {
                // A filtered subscriber learns how far the server looked even when nothing
                // matched, so it can resume from there.
                if checkpoint_every.is_some() && checkpointed < after {
                    checkpointed = after;
                    yield checkpoint(after);
                }
                if !live {
                    live = true;
                    yield caught_up();
                }
                if !wait(&mut head, &mut stop).await {
                    break;
                }
                continue;
            }
            for event in &events {
                after = event.global_position;
                if let Some(read) = reader.visible(event) {
                    if filter.as_ref().is_none_or(|f| f.matches(&read)) {
                        yield super::read::event_reply(read);
                    }
                }
                if let Some(every) = checkpoint_every {
                    scanned += 1;
                    if scanned >= every {
                        scanned = 0;
                        checkpointed = after;
                        yield checkpoint(after);
                    }
                }
            }
        }
    }
}
