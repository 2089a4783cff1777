//! The NATS relay's metrics: its position, its lag behind the log, whether it reaches
//! JetStream, and what it published.

use keel_reactors::relay::RelaySnapshot;
use prometheus::{IntCounter, IntGauge, Registry};

/// Relay metrics, registered with the server's other metrics.
#[derive(Clone)]
pub struct RelayMetrics {
    position: IntGauge,
    lag: IntGauge,
    connected: IntGauge,
    published: IntCounter,
    duplicates: IntCounter,
    failures: IntCounter,
}

impl RelayMetrics {
    /// Creates the relay metrics in `registry`.
    pub fn register(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            let gauge = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(gauge.clone()))
                .expect("metric names are unique");
            gauge
        };
        let counter = |name: &str, help: &str| {
            let counter = IntCounter::new(name, help).expect("valid metric");
            registry
                .register(Box::new(counter.clone()))
                .expect("metric names are unique");
            counter
        };
        RelayMetrics {
            position: gauge(
                "relay_position",
                "Global position of the last event JetStream acknowledged",
            ),
            lag: gauge(
                "relay_lag_events",
                "Committed events not yet acknowledged by JetStream",
            ),
            connected: gauge(
                "relay_connected",
                "1 if the relay's last batch reached JetStream, 0 if it is failing",
            ),
            published: counter("relay_published_total", "Events stored by JetStream"),
            duplicates: counter(
                "relay_duplicates_total",
                "Republished events JetStream absorbed as duplicates",
            ),
            failures: counter(
                "relay_failures_total",
                "Relay batches that failed and were retried from the checkpoint",
            ),
        }
    }

    /// Brings the metrics to the relay's current status; `head` is the log's head position.
    pub fn observe(&self, status: &RelaySnapshot, head: u64) {
        self.position.set(status.position as i64);
        self.lag.set(head.saturating_sub(status.position) as i64);
        self.connected.set(i64::from(status.connected));
        // The relay keeps the totals; counters only move forward to them.
        for (counter, total) in [
            (&self.published, status.published),
            (&self.duplicates, status.duplicates),
            (&self.failures, status.failures),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }
}
