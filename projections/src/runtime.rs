//! The running workers of a server: one task per projection, stopped together.
//!
//! A server may leave some projections to another process (`keel project`, configured with
//! `external_projections`): it runs no worker for them, and read-your-writes waits on them
//! poll their checkpoint in the database instead of a worker's position.

use crate::framework::checkpoint;
use crate::framework::worker::{Worker, DEFAULT_BATCH};
use crate::projection::Projection;
use keel_log::{Database, EventLog};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often a read-your-writes wait on a projection run elsewhere reads its checkpoint.
const EXTERNAL_POLL: Duration = Duration::from_millis(25);

/// Every projection's worker, running in its own task.
pub struct Workers {
    db: Database,
    positions: HashMap<&'static str, watch::Receiver<u64>>,
    stop: CancellationToken,
    /// The tasks, when these workers own them ([`Workers::start`]); a server's tracker owns
    /// them otherwise ([`Workers::start_on`]).
    tasks: Option<TaskTracker>,
}

impl Workers {
    /// Sets up and starts a worker for each projection, in tasks of their own that
    /// [`Workers::stop`] stops. Set-up errors (the database is unreachable) are returned;
    /// later errors are logged and retried by each worker.
    pub async fn start(
        log: Arc<dyn EventLog>,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Result<Workers, crate::ProjectionError> {
        let tasks = TaskTracker::new();
        let mut workers =
            Workers::start_on(log, projections, &tasks, CancellationToken::new()).await?;
        workers.tasks = Some(tasks);
        Ok(workers)
    }

    /// [`Workers::start`], the tasks on `tracker` and stopping when `stop` fires: how a server
    /// runs them beside its other background tasks.
    pub async fn start_on(
        log: Arc<dyn EventLog>,
        projections: Vec<Arc<dyn Projection>>,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<Workers, crate::ProjectionError> {
        crate::migrate::migrate(&log.database()).await?;
        let mut positions = HashMap::new();
        for projection in projections {
            let worker = Worker::new(projection, log.clone(), DEFAULT_BATCH);
            worker.prepare().await?;
            positions.insert(worker.name(), worker.position());
            tracker.spawn(worker.run(stop.clone()));
        }
        Ok(Workers {
            db: log.database(),
            positions,
            stop,
            tasks: None,
        })
    }

    /// The checkpoint of a projection as its worker last saw it.
    pub fn position(&self, name: &str) -> Option<u64> {
        self.positions.get(name).map(|p| *p.borrow())
    }

    /// Waits until projection `name` has applied everything up to `position`, at most
    /// `timeout`. Returns whether it got there (false also for an unknown name). A
    /// projection that runs in another process is followed through its checkpoint row.
    pub async fn wait_for(&self, name: &str, position: u64, timeout: Duration) -> bool {
        let Some(receiver) = self.positions.get(name) else {
            return tokio::time::timeout(timeout, self.poll_checkpoint(name, position))
                .await
                .unwrap_or(false);
        };
        let mut receiver = receiver.clone();
        tokio::time::timeout(timeout, receiver.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Reads the active checkpoint of `name` until it reaches `position`; false if no
    /// projection has that name. Database errors count as "not yet" (the wait is bounded).
    async fn poll_checkpoint(&self, name: &str, position: u64) -> bool {
        if crate::projection(name).is_err() {
            return false;
        }
        loop {
            if let Ok(generations) = checkpoint::generations(&self.db, name).await {
                let current = checkpoint::checkpoint(&self.db, name, generations.active).await;
                if current.is_ok_and(|c| c.position >= position) {
                    return true;
                }
            }
            tokio::time::sleep(EXTERNAL_POLL).await;
        }
    }

    /// The names of the running projections.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.positions.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Asks every worker to stop after its current batch and, if these workers own their
    /// tasks, waits for them.
    pub async fn stop(&self) {
        self.stop.cancel();
        if let Some(tasks) = &self.tasks {
            tasks.close();
            tasks.wait().await;
        }
    }
}
