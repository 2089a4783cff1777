//! Prometheus metrics: requests per route and status, request latency, commands and their
//! outcomes, the read side's position, the NATS relay's ([`RelayMetrics`]) and the background
//! tasks' ([`TaskMetrics`]).

use crate::relay_metrics::RelayMetrics;
use crate::task_metrics::TaskMetrics;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The server's metrics, registered in their own registry (tests run many servers at once).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route pattern, method and status.
    pub requests: IntCounterVec,
    /// HTTP request latency by route pattern.
    pub request_seconds: HistogramVec,
    /// Commands by aggregate, command name and outcome (`ok`, `refused`, `conflict`, `error`).
    pub commands: IntCounterVec,
    /// Command latency (load, decide, append) by aggregate.
    pub command_seconds: HistogramVec,
    /// Position of the last event the tenant directory folded.
    pub directory_position: IntGauge,
    /// Position of the last committed event.
    pub head_position: IntGauge,
    /// Per projection: its checkpoint, its lag in events and seconds, and 1 if it is failed.
    pub projections: ProjectionGauges,
    /// The NATS relay's metrics (stay at zero when the relay is not configured).
    pub relay: RelayMetrics,
    /// The background tasks' metrics.
    pub tasks: TaskMetrics,
}

/// The projections' gauges, labelled by projection name.
#[derive(Clone)]
pub struct ProjectionGauges {
    position: IntGaugeVec,
    lag_events: IntGaugeVec,
    lag_seconds: GaugeVec,
    failed: IntGaugeVec,
}

impl ProjectionGauges {
    fn new(registry: &Registry) -> Self {
        let int = |name: &str, help: &str| {
            let gauge =
                IntGaugeVec::new(Opts::new(name, help), &["projection"]).expect("valid metric");
            registry
                .register(Box::new(gauge.clone()))
                .expect("metric names are unique");
            gauge
        };
        let lag_seconds = GaugeVec::new(
            Opts::new(
                "projection_lag_seconds",
                "Age of the oldest event a projection has not applied",
            ),
            &["projection"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(lag_seconds.clone()))
            .expect("metric names are unique");
        ProjectionGauges {
            position: int(
                "projection_position",
                "Global position a projection has applied",
            ),
            lag_events: int(
                "projection_lag_events",
                "Events between a projection and the head",
            ),
            lag_seconds,
            failed: int(
                "projection_failed",
                "1 if a projection is stopped on a failing event",
            ),
        }
    }
}

impl Metrics {
    /// Sets the projection gauges from their statuses.
    pub fn record_projections(&self, statuses: &[keel_projections::ProjectionStatus]) {
        for status in statuses {
            let gauges = &self.projections;
            gauges
                .position
                .with_label_values(&[status.name])
                .set(status.position as i64);
            gauges
                .lag_events
                .with_label_values(&[status.name])
                .set(status.lag_events as i64);
            gauges
                .lag_seconds
                .with_label_values(&[status.name])
                .set(status.lag_seconds);
            gauges
                .failed
                .with_label_values(&[status.name])
                .set(i64::from(status.state == "failed"));
        }
    }
}

impl Metrics {
    /// Fresh metrics.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("keel".into()), None).expect("valid prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency"),
            &["route"],
        )
        .expect("valid metric");
        let commands = IntCounterVec::new(
            Opts::new("commands_total", "Commands handled"),
            &["aggregate", "command", "outcome"],
        )
        .expect("valid metric");
        let command_seconds = HistogramVec::new(
            HistogramOpts::new("command_duration_seconds", "Command latency").buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["aggregate"],
        )
        .expect("valid metric");
        let directory_position = IntGauge::new(
            "directory_position",
            "Global position the tenant directory has folded",
        )
        .expect("valid metric");
        let head_position = IntGauge::new(
            "event_head_position",
            "Global position of the last committed event",
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(commands.clone()),
            Box::new(command_seconds.clone()),
            Box::new(directory_position.clone()),
            Box::new(head_position.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        let projections = ProjectionGauges::new(&registry);
        let relay = RelayMetrics::register(&registry);
        let tasks = TaskMetrics::register(&registry);
        Metrics {
            projections,
            relay,
            tasks,
            registry,
            requests,
            request_seconds,
            commands,
            command_seconds,
            directory_position,
            head_position,
        }
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("encoding to a Vec cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
