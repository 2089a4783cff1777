//! Group commit: concurrent appends share one database transaction.
//!
//! Callers put their append on a queue and wait for its result. Writer tasks take everything
//! queued (up to a bound), commit it as one transaction via a backend's [`GroupWriter`], and
//! answer each caller. Under load a transaction carries many appends, so the cost of a commit
//! (an fsync) is shared; with no concurrency it carries one and adds no waiting.
//!
//! Failure isolation: if the transaction of a group fails as a whole (a database error, not a
//! refused append), each of its appends is retried alone, so one caller's bad luck is not
//! everyone's.

use super::envelope::{AppendResult, StreamAppend};
use super::error::StoreError;
use super::head::Head;
use super::plan::Outcome;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};
use tracing::warn;

/// Most appends one transaction carries.
const MAX_GROUP: usize = 512;

/// The result of one append within a group.
pub(crate) enum Resolved {
    /// Written or replayed, or refused.
    Done(Result<Vec<AppendResult>, StoreError>),
    /// Decide again in the next transaction (it shares event ids with an earlier append).
    Retry,
}

/// A backend's way of committing a group of appends in one transaction.
#[async_trait]
pub(crate) trait GroupWriter: Send + 'static {
    /// Decides and commits `units`; returns one resolution per unit and the new head position.
    /// An `Err` means the transaction failed as a whole and nothing was written.
    async fn write_group(
        &mut self,
        units: &[&[StreamAppend]],
    ) -> Result<(Vec<Resolved>, u64), StoreError>;
}

struct Job {
    unit: Vec<StreamAppend>,
    reply: oneshot::Sender<Result<Vec<AppendResult>, StoreError>>,
}

/// The queue side: cheap to clone, used by the store's `append_streams`.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Job>,
}

impl GroupCommit {
    /// Starts one writer task per writer; they share the queue.
    pub(crate) fn start<W: GroupWriter>(writers: Vec<W>, head: Head) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        for writer in writers {
            tokio::spawn(run_writer(writer, receiver.clone(), head.clone()));
        }
        GroupCommit { queue }
    }

    /// Queues an append and waits for its result.
    pub(crate) async fn append(
        &self,
        unit: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Job { unit, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        result.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run_writer<W: GroupWriter>(
    mut writer: W,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    head: Head,
) {
    let mut carried: Vec<Job> = Vec::new();
    loop {
        let mut jobs = std::mem::take(&mut carried);
        {
            // Hold the queue only while collecting, so other writers can collect the next
            // group while this one commits.
            let mut queue = receiver.lock().await;
            if jobs.is_empty() {
                match queue.recv().await {
                    Some(job) => jobs.push(job),
                    None => return,
                }
            }
            while jobs.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        carried = commit(&mut writer, jobs, &head).await;
    }
}

/// Commits a group; returns the jobs to decide again in the next transaction.
async fn commit<W: GroupWriter>(writer: &mut W, jobs: Vec<Job>, head: &Head) -> Vec<Job> {
    let units: Vec<&[StreamAppend]> = jobs.iter().map(|j| j.unit.as_slice()).collect();
    let written = writer.write_group(&units).await;
    drop(units);
    match written {
        Ok((resolved, position)) => {
            head.advance(position);
            let mut retry = Vec::new();
            for (job, resolution) in jobs.into_iter().zip(resolved) {
                match resolution {
                    Resolved::Done(result) => {
                        // The caller may have given up waiting; its append stands regardless.
                        let _ = job.reply.send(result);
                    }
                    Resolved::Retry => retry.push(job),
                }
            }
            retry
        }
        Err(error) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
            Vec::new()
        }
        Err(error) => {
            warn!(%error, appends = jobs.len(), "group commit failed; retrying its appends one by one");
            let mut retry = Vec::new();
            for job in jobs {
                retry.extend(Box::pin(commit(writer, vec![job], head)).await);
            }
            retry
        }
    }
}

/// Turns a plan's outcomes into caller results, given the position before the first new row.
pub(crate) fn resolve(outcomes: Vec<Outcome>, base: u64) -> Vec<Resolved> {
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Write(ends) => Resolved::Done(Ok(ends
                .into_iter()
                .map(|(stream_version, row)| AppendResult {
                    stream_version,
                    global_position: base + 1 + row as u64,
                })
                .collect())),
            Outcome::Replay(results) => Resolved::Done(Ok(results)),
            Outcome::Refused(error) => Resolved::Done(Err(error)),
            Outcome::Deferred => Resolved::Retry,
        })
        .collect()
}
