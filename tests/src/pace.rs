//! Pacing for the benchmarks: tasks that together start at most a given number of operations
//! per second, so that two paths can be compared at the same load.
//!
//! At full speed a slower path serves fewer operations per second, and whatever costs the same
//! per batch (a group commit, a projection worker's batch) is then shared by fewer operations:
//! the slower path looks dearer per operation than it is. Paced at a rate both paths reach,
//! each pays for the same batches.

use std::time::{Duration, Instant};

/// When one of `tasks` tasks may start its next operation.
pub struct Pacer {
    interval: Option<Duration>,
    next: tokio::time::Instant,
}

impl Pacer {
    /// Task `task` of `tasks`, which together start `rate` operations per second (`None`: no
    /// limit) from `start` on; the tasks are staggered across one interval.
    pub fn new(rate: Option<f64>, tasks: usize, task: usize, start: Instant) -> Pacer {
        let interval = rate.map(|r| Duration::from_secs_f64(tasks as f64 / r));
        let offset = interval
            .unwrap_or_default()
            .mul_f64(task as f64 / tasks as f64);
        Pacer {
            interval,
            next: tokio::time::Instant::from_std(start) + offset,
        }
    }

    /// Waits until the next operation may start (at once without a limit).
    pub async fn wait(&mut self) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = tokio::time::Instant::now();
        // Only a wait that is due later sleeps: the timer's granularity is a millisecond, so
        // even a sleep until now would take up to one.
        if self.next > now {
            tokio::time::sleep_until(self.next).await;
        }
        // Behind schedule (the path is slower than the rate) the task runs back to back,
        // rather than in bursts that catch up.
        self.next = (self.next + interval).max(tokio::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paced_tasks_start_at_their_rate_and_unpaced_ones_at_once() {
        let begun = tokio::time::Instant::now();
        let start = begun.into_std();
        let mut unpaced = Pacer::new(None, 4, 3, start);
        for _ in 0..3 {
            unpaced.wait().await;
        }
        assert_eq!(begun.elapsed(), Duration::ZERO);
        let mut paced = Pacer::new(Some(100.0), 4, 2, start);
        for _ in 0..3 {
            paced.wait().await;
        }
        // 4 tasks at 100/s: each every 40 ms, task 2 of 4 offset by 20 ms.
        assert_eq!(begun.elapsed(), Duration::from_millis(20 + 2 * 40));
    }
}
