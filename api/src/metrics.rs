//! Prometheus metrics: requests per route and status, request latency, commands and their
//! outcomes, the read side's position, and the NATS relay's ([`RelayMetrics`]).

use crate::relay_metrics::RelayMetrics;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
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
    /// The NATS relay's metrics (stay at zero when the relay is not configured).
    pub relay: RelayMetrics,
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
        let relay = RelayMetrics::register(&registry);
        Metrics {
            relay,
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
