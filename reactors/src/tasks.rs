//! The background tasks of `keel serve`: one cancellation token and one task tracker own them
//! all, a task that fails is logged and started again with a backoff, and every task's state is
//! kept for `/readyz` and `/metrics`.
//!
//! - [`Tasks::spawn`] runs a task until the token is cancelled. A task that returns an error,
//!   panics or ends on its own is **failing**: logged with its cause, shown as such with its
//!   restart count, and started again after a backoff (0.1 s doubling to 30 s; a task that ran
//!   for a minute since its last start begins again at 0.1 s).
//! - [`Tasks::spawn_leased`] does the same for a reactor that must run in one process only: it
//!   waits for the reactor's lease ([`crate::lease`]), keeps renewing it while the reactor runs,
//!   cancels the reactor as soon as a renewal finds the lease gone, and releases it on a clean
//!   stop. Until it holds the lease the task is on **standby**.
//! - [`Tasks::shutdown`] cancels the token, so each task finishes or abandons its current batch
//!   (each reactor's module says which, and that an abandoned one is redone, never lost), and
//!   waits for all of them up to a bound.

use crate::error::ReactorError;
use crate::lease::{Lease, Leases};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// First and longest wait before a failed task starts again.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(30));
/// A task that ran this long since its last start begins its backoff again from the shortest.
const STABLE: Duration = Duration::from_secs(60);

/// What a task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// It runs.
    Running,
    /// It waits for its reactor's lease, which another process holds.
    Standby,
    /// It failed and waits to start again.
    Failing,
    /// It stopped with the server.
    Stopped,
}

impl TaskState {
    /// The state's name on `/readyz` and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Standby => "standby",
            TaskState::Failing => "failing",
            TaskState::Stopped => "stopped",
        }
    }
}

/// One task as `/readyz` and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// Its name (`relay`, `billing_close`, ...).
    pub name: &'static str,
    /// What it is doing.
    pub state: TaskState,
    /// How often it was started again after failing.
    pub restarts: u64,
    /// Its last failure, if it ever failed.
    pub last_error: Option<String>,
}

/// The running task's future, given a token that is cancelled when it must stop.
pub type TaskBody =
    Box<dyn FnMut(CancellationToken) -> BoxFuture<'static, Result<(), ReactorError>> + Send>;
/// A leased reactor's future, given its lease and a token cancelled when it must stop (the
/// server stops, or the lease moved).
pub type LeasedBody =
    Box<dyn FnMut(Lease, CancellationToken) -> BoxFuture<'static, Result<(), ReactorError>> + Send>;

/// The background tasks of one process.
#[derive(Clone)]
pub struct Tasks {
    tracker: TaskTracker,
    cancel: CancellationToken,
    statuses: Arc<Mutex<BTreeMap<&'static str, TaskStatus>>>,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks::new()
    }
}

impl Tasks {
    /// No tasks yet.
    pub fn new() -> Tasks {
        Tasks {
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            statuses: Arc::default(),
        }
    }

    /// The token every task stops on.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The tracker every task runs on, for components that spawn tasks of their own on it
    /// (the projection workers).
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Every task's status, by name.
    pub fn statuses(&self) -> Vec<TaskStatus> {
        self.statuses
            .lock()
            .expect("not poisoned")
            .values()
            .cloned()
            .collect()
    }

    fn set(&self, name: &'static str, change: impl FnOnce(&mut TaskStatus)) {
        let mut statuses = self.statuses.lock().expect("not poisoned");
        let status = statuses.entry(name).or_insert(TaskStatus {
            name,
            state: TaskState::Running,
            restarts: 0,
            last_error: None,
        });
        change(status);
    }

    /// Runs `body` as task `name` until the token is cancelled, starting it again with a
    /// backoff whenever it fails (see the module doc).
    pub fn spawn(&self, name: &'static str, mut body: TaskBody) {
        let tasks = self.clone();
        self.set(name, |s| s.state = TaskState::Running);
        self.tracker.spawn(async move {
            let mut backoff = BACKOFF.0;
            loop {
                let started = Instant::now();
                tasks.set(name, |s| s.state = TaskState::Running);
                let run = AssertUnwindSafe(body(tasks.cancel.child_token())).catch_unwind();
                let error = match run.await {
                    Ok(Ok(())) if tasks.cancel.is_cancelled() => break,
                    Ok(Ok(())) => ReactorError::Ended,
                    Ok(Err(error)) => error,
                    Err(panic) => ReactorError::Panicked(panic_message(&*panic)),
                };
                if tasks.cancel.is_cancelled() {
                    tracing::warn!(task = name, %error, "background task failed while stopping");
                    break;
                }
                if started.elapsed() >= STABLE {
                    backoff = BACKOFF.0;
                }
                tracing::error!(task = name, %error, retry_in = ?backoff, "background task failed; starting it again");
                tasks.set(name, |s| {
                    s.state = TaskState::Failing;
                    s.restarts += 1;
                    s.last_error = Some(error.to_string());
                });
                tokio::select! {
                    _ = tasks.cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF.1);
            }
            tasks.set(name, |s| s.state = TaskState::Stopped);
        });
    }

    /// Runs reactor `name` as a task (see [`Tasks::spawn`]) in whichever process holds its
    /// lease: waits for the lease, renews it every third of its length while `body` runs,
    /// cancels `body` when a renewal finds it gone, and releases it when `body` returns.
    pub fn spawn_leased(&self, name: &'static str, leases: Leases, body: LeasedBody) {
        let tasks = self.clone();
        let body = Arc::new(tokio::sync::Mutex::new(body));
        self.spawn(
            name,
            Box::new(move |cancel| {
                let tasks = tasks.clone();
                let leases = leases.clone();
                let body = body.clone();
                async move { run_leased(&tasks, name, &leases, cancel, &body).await }.boxed()
            }),
        );
    }

    /// Stops every task: cancels the token and waits for the tasks to finish their current
    /// work, up to `bound`. Returns whether all of them did.
    pub async fn shutdown(&self, bound: Duration) -> bool {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(bound, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// Takes the lease of `name` (waiting on standby while another process holds it), then runs
/// `body` under it until it returns, the lease moves or `cancel` fires.
async fn run_leased(
    tasks: &Tasks,
    name: &'static str,
    leases: &Leases,
    cancel: CancellationToken,
    body: &tokio::sync::Mutex<LeasedBody>,
) -> Result<(), ReactorError> {
    let renew_every = leases.ttl() / 3;
    loop {
        let lease = loop {
            if let Some(lease) = leases.try_acquire(name).await? {
                break lease;
            }
            tasks.set(name, |s| s.state = TaskState::Standby);
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(renew_every) => {}
            }
        };
        tracing::info!(
            reactor = name,
            token = lease.token(),
            "took the reactor's lease"
        );
        tasks.set(name, |s| s.state = TaskState::Running);
        let held = cancel.child_token();
        let run = (body.lock().await)(lease.clone(), held.clone());
        let renew = async {
            loop {
                tokio::select! {
                    _ = held.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(renew_every) => {}
                }
                match lease.renew().await {
                    Ok(true) => {}
                    Ok(false) => {
                        held.cancel();
                        return Err(ReactorError::LeaseLost(name));
                    }
                    Err(error) => {
                        // Unable to renew, this process can no longer be sure it holds the
                        // lease: stop acting before it may expire.
                        held.cancel();
                        return Err(error);
                    }
                }
            }
        };
        let (result, renewal) = tokio::join!(
            async {
                let result = run.await;
                held.cancel();
                result
            },
            renew
        );
        match (result, renewal) {
            (Err(ReactorError::LeaseLost(_)), _) | (_, Err(ReactorError::LeaseLost(_))) => {
                tracing::warn!(
                    reactor = name,
                    "the reactor's lease moved to another process; standing by"
                );
                continue;
            }
            (result, renewal) => {
                if let Err(error) = lease.release().await {
                    tracing::warn!(reactor = name, %error, "cannot release the reactor's lease; it expires on its own");
                }
                result?;
                renewal?;
                return Ok(());
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_failing_task_is_reported_and_started_again_until_it_runs() {
        let tasks = Tasks::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        tasks.spawn(
            "flaky",
            Box::new(move |cancel| {
                let start = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    match start {
                        0 => Err(ReactorError::Command("first start fails".into())),
                        1 => panic!("second start panics"),
                        _ => {
                            cancel.cancelled().await;
                            Ok(())
                        }
                    }
                }
                .boxed()
            }),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let status = &tasks.statuses()[0];
        assert_eq!(status.state, TaskState::Failing);
        assert_eq!(status.restarts, 1);
        assert_eq!(status.last_error.as_deref(), Some("first start fails"));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let status = &tasks.statuses()[0];
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        assert_eq!(status.state, TaskState::Running);
        assert_eq!(status.restarts, 2);
        assert!(status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("second start panics")));
        assert!(tasks.shutdown(Duration::from_secs(1)).await);
        assert_eq!(tasks.statuses()[0].state, TaskState::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_on_its_own_counts_as_failed() {
        let tasks = Tasks::new();
        tasks.spawn("ends", Box::new(|_| async { Ok(()) }.boxed()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let status = &tasks.statuses()[0];
        assert_eq!(status.state, TaskState::Failing);
        assert_eq!(
            status.last_error.as_deref(),
            Some("the task ended on its own")
        );
        assert!(tasks.shutdown(Duration::from_secs(1)).await);
    }
}
