//! The background tasks' metrics: which are failing, how often each was started again, and
//! which reactors this process runs (holds the lease of) rather than stands by for.

use keel_reactors::{TaskState, TaskStatus};
use prometheus::{IntGaugeVec, Opts, Registry};

/// Gauges labelled by task name.
#[derive(Clone)]
pub struct TaskMetrics {
    failing: IntGaugeVec,
    restarts: IntGaugeVec,
    running: IntGaugeVec,
}

impl TaskMetrics {
    /// Creates the task metrics in `registry`.
    pub fn register(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            let gauge = IntGaugeVec::new(Opts::new(name, help), &["task"]).expect("valid metric");
            registry
                .register(Box::new(gauge.clone()))
                .expect("metric names are unique");
            gauge
        };
        TaskMetrics {
            failing: gauge(
                "background_task_failing",
                "1 while a background task has failed and waits to start again",
            ),
            restarts: gauge(
                "background_task_restarts",
                "How often a background task was started again after failing",
            ),
            running: gauge(
                "background_task_running",
                "1 if the task runs in this process (for a reactor: this process holds its lease)",
            ),
        }
    }

    /// Sets the gauges from the tasks' statuses.
    pub fn observe(&self, statuses: &[TaskStatus]) {
        for status in statuses {
            let label = [status.name];
            self.failing
                .with_label_values(&label)
                .set(i64::from(status.state == TaskState::Failing));
            self.restarts
                .with_label_values(&label)
                .set(status.restarts as i64);
            self.running
                .with_label_values(&label)
                .set(i64::from(status.state == TaskState::Running));
        }
    }
}
