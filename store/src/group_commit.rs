//! Group commit: concurrent appends share one database transaction.
//!
//! Callers put their append on a queue and wait for its result. Writer tasks take everything
//! queued (up to a bound), commit it as one transaction via a backend's [`GroupWriter`], and
//! answer each caller. Under load a transaction carries many appends, so the cost of a commit
//! (an fsync) is shared; with no concurrency it carries one and adds no waiting.
//!
//! Lingering: when a transaction ends, its callers are answered and most send their next
//! append moments later (each task of a busy server waits for its previous command). Collecting
//! the next group at once would leave them out, so groups would alternate between the callers
//! queued during the transaction and those just answered, each about half of the callers. So
//! the writer waits, briefly (at most as long as the last transaction took, and never more
//! than [`MAX_LINGER`]), for as many appends as it just answered to arrive. A lone caller loses
//! nothing: its next append is the one the writer waits for.
//!
//! Failure isolation: if the transaction of a group fails as a whole (a database error, not a
//! refused append), each of its appends is retried alone, so one caller's bad luck is not
//! everyone's.

use crate::append::{AppendResult, StreamAppend};
use crate::group_decision::Outcome;
use async_trait::async_trait;
use keel_log::Head;
use keel_log::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::time::Instant;
use tracing::warn;

/// Most appends one transaction carries.
const MAX_GROUP: usize = 512;

/// The longest a writer waits for the callers it just answered to send their next append.
const MAX_LINGER: Duration = Duration::from_millis(2);

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
    /// Appends ever queued: with [`Queue::received`], how many are on their way.
    submitted: Arc<AtomicU64>,
}

/// The receiving side, shared by the writers, which collect one at a time.
struct Queue {
    receiver: mpsc::UnboundedReceiver<Job>,
    /// Appends ever taken off the queue.
    received: u64,
}

impl Queue {
    /// Takes the next append into `jobs`, waiting until `deadline` at most. `false` if none
    /// came (or the queue is closed).
    async fn take_until(&mut self, jobs: &mut Vec<Job>, deadline: Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.receiver.recv()).await {
            Ok(Some(job)) => {
                self.received += 1;
                jobs.push(job);
                true
            }
            _ => false,
        }
    }

    /// Takes what is queued, up to the group bound.
    fn take_queued(&mut self, jobs: &mut Vec<Job>) {
        while jobs.len() < MAX_GROUP {
            match self.receiver.try_recv() {
                Ok(job) => {
                    self.received += 1;
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
    }
}

impl GroupCommit {
    /// Starts one writer task per writer; they share the queue.
    pub(crate) fn start<W: GroupWriter>(writers: Vec<W>, head: Head) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let submitted = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Mutex::new(Queue {
            receiver,
            received: 0,
        }));
        for writer in writers {
            let writer = Writer {
                writer,
                queue: shared.clone(),
                submitted: submitted.clone(),
                head: head.clone(),
            };
            tokio::spawn(writer.run());
        }
        GroupCommit { queue, submitted }
    }

    /// Queues an append and waits for its result.
    #[tracing::instrument(level = "debug", name = "append", skip_all, fields(
        streams = unit.len(),
        events = unit.iter().map(|s| s.events.len()).sum::<usize>(),
    ))]
    pub(crate) async fn append(
        &self,
        unit: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let (reply, result) = oneshot::channel();
        // Counted before it is sent, so a writer never sees more received than submitted.
        self.submitted.fetch_add(1, Ordering::AcqRel);
        self.queue
            .send(Job { unit, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        result.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// One writer task and what it shares with the others.
struct Writer<W> {
    writer: W,
    queue: Arc<Mutex<Queue>>,
    submitted: Arc<AtomicU64>,
    head: Head,
}

/// What a writer remembers of its last group, to decide how long to linger.
struct LastGroup {
    /// Appends queued, ever, when its callers were answered, plus the number answered: the
    /// count of appends received once they have all sent their next one.
    expected: u64,
    /// How long its transaction took.
    took: Duration,
}

impl<W: GroupWriter> Writer<W> {
    async fn run(mut self) {
        let mut carried: Vec<Job> = Vec::new();
        let mut last: Option<LastGroup> = None;
        loop {
            let mut jobs = std::mem::take(&mut carried);
            {
                // Hold the queue only while collecting, so other writers can collect the next
                // group while this one commits.
                let mut queue = self.queue.lock().await;
                if jobs.is_empty() {
                    match queue.receiver.recv().await {
                        Some(job) => {
                            queue.received += 1;
                            jobs.push(job);
                        }
                        None => return,
                    }
                }
                queue.take_queued(&mut jobs);
                if let Some(last) = &last {
                    let deadline = Instant::now() + last.took.min(MAX_LINGER);
                    while jobs.len() < MAX_GROUP
                        && queue.received < last.expected
                        && queue.take_until(&mut jobs, deadline).await
                    {
                        queue.take_queued(&mut jobs);
                    }
                }
            }
            let started = Instant::now();
            let mut queued = None;
            let (retry, answered) = commit(
                &mut self.writer,
                jobs,
                &self.head,
                &self.submitted,
                &mut queued,
            )
            .await;
            carried = retry;
            last = Some(LastGroup {
                expected: queued.unwrap_or(0) + answered,
                took: started.elapsed(),
            });
        }
    }
}

/// Commits a group and answers its callers; returns the jobs to decide again in the next
/// transaction and how many callers were answered. `queued` is set, before the first answer,
/// to the number of appends ever submitted.
#[tracing::instrument(level = "debug", name = "group_commit", skip_all, fields(group = jobs.len()))]
async fn commit<W: GroupWriter>(
    writer: &mut W,
    jobs: Vec<Job>,
    head: &Head,
    submitted: &AtomicU64,
    queued: &mut Option<u64>,
) -> (Vec<Job>, u64) {
    let units: Vec<&[StreamAppend]> = jobs.iter().map(|j| j.unit.as_slice()).collect();
    let written = writer.write_group(&units).await;
    drop(units);
    queued.get_or_insert_with(|| submitted.load(Ordering::Acquire));
    match written {
        Ok((resolved, position)) => {
            tracing::debug!(position, "group committed");
            head.advance(position);
            let mut retry = Vec::new();
            let mut answered = 0;
            for (job, resolution) in jobs.into_iter().zip(resolved) {
                match resolution {
                    Resolved::Done(result) => {
                        // The caller may have given up waiting; its append stands regardless.
                        let _ = job.reply.send(result);
                        answered += 1;
                    }
                    Resolved::Retry => retry.push(job),
                }
            }
            (retry, answered)
        }
        Err(error) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
            (Vec::new(), 1)
        }
        Err(error) => {
            warn!(%error, appends = jobs.len(), "group commit failed; retrying its appends one by one");
            let mut retry = Vec::new();
            let mut answered = 0;
            for job in jobs {
                let (again, done) =
                    Box::pin(commit(writer, vec![job], head, submitted, queued)).await;
                retry.extend(again);
                answered += done;
            }
            (retry, answered)
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
