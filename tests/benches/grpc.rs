//! The KurrentDB gRPC protocol under load, with the official Rust client (`eventstore`) against
//! a real in-process server on each backend (docs/BENCHMARKS.md, "gRPC"):
//! single-event appends/s from 1, 8 and 32 tasks, in the same run as the same append straight
//! to the server's own store and through the gRPC append logic in process, and as the core's
//! direct command handler (the server's own) and HTTP (a settings update); batch appends (100
//! events per Append) in events/s; a `$all` catch-up read in events/s; subscription delivery
//! latency p50/p99 (from sending the append, so it includes the append's own round trip and
//! commit).
//!
//! `cargo bench -p keel-tests --bench grpc -- [--backend sqlite|postgres|all] [--seconds S]
//! [--runs N]`. Each figure is the median of the runs. PostgreSQL is `KEEL_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432`), in a database of the run's own.

/// The allocator the `keel` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use eventstore::{
    AppendToStreamOptions, Client, ClientSettings, EventData, ReadAllOptions, StreamPosition,
    SubscribeToAllOptions, SubscriptionFilter,
};
use keel_api::grpc::names::NAMESPACE;
use keel_api::grpc::payload::{self, ClientPayload, CLIENT_TYPE_PREFIX};
use keel_api::grpc::streams::append::{Appender, Proposed, Writer};
use keel_api::grpc::streams::expected::Expected;
use keel_commands::handler::CommandHandler;
use keel_commands::store::{EventMetadata, EventStore, ExpectedVersion, NewEvent};
use keel_domain::tenant::{Tenant, TenantCommand, UpdateSettings};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_tests::app::{spawn_app_with, TestApp};
use keel_tests::Backend;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Options {
    backends: Vec<Backend>,
    seconds: f64,
    runs: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let backends = match value("--backend").as_deref() {
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    Options {
        backends,
        seconds: value("--seconds")
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
        runs: value("--runs").and_then(|s| s.parse().ok()).unwrap_or(3),
    }
}

fn client(app: &TestApp) -> Client {
    let settings: ClientSettings = format!(
        "esdb://admin:{}@127.0.0.1:{}?tls=false",
        app.admin_key, app.grpc_port
    )
    .parse()
    .expect("a connection string");
    Client::new(settings).expect("a client")
}

/// The benchmark's small JSON event body.
fn event_json(n: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "n": n, "note": "a small JSON event" })).expect("JSON")
}

fn event(n: u64) -> EventData {
    EventData::json(
        "Benchmarked",
        &serde_json::json!({ "n": n, "note": "a small JSON event" }),
    )
    .expect("JSON")
    .id(Uuid::now_v7())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    values[values.len() / 2]
}

/// Operations per second from `tasks` tasks, each calling `op(task, n)` for its `n`-th
/// operation until the time is up.
async fn rate<Op, Fut>(tasks: usize, seconds: f64, ops_per_call: u64, op: Op) -> f64
where
    Op: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    op(task, done).await;
                    done += ops_per_call;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("a worker");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// A stream name per task, new for each measurement.
fn streams(kind: &str) -> Arc<Vec<String>> {
    Arc::new(
        (0..TASKS[TASKS.len() - 1])
            .map(|t| format!("{kind}-{t}-{}", Uuid::now_v7().simple()))
            .collect(),
    )
}

/// The five ways of making one change, side by side, at `tasks` concurrent tasks.
struct Paths {
    client: Client,
    store: Arc<dyn EventStore>,
    handler: CommandHandler<Tenant>,
    http: reqwest::Client,
    address: String,
    admin_key: String,
    /// One tenant per task (the direct handler's and HTTP's settings updates).
    tenants: Arc<Vec<TenantId>>,
}

impl Paths {
    /// Single-event gRPC `Append`s, each task on its own stream, `any` expected.
    async fn grpc(&self, tasks: usize, seconds: f64) -> f64 {
        let (client, streams) = (self.client.clone(), streams("single"));
        rate(tasks, seconds, 1, move |task, n| {
            let (client, streams) = (client.clone(), streams.clone());
            async move {
                client
                    .append_to_stream(
                        streams[task].as_str(),
                        &AppendToStreamOptions::default(),
                        event(n),
                    )
                    .await
                    .expect("appended");
            }
        })
        .await
    }

    /// The same append through Keel's gRPC append logic called in process (the stream's
    /// state, the expected-revision check, the store): everything but the transport.
    async fn append_handler(&self, tasks: usize, seconds: f64) -> f64 {
        let appender = Arc::new(Appender::new(self.store.clone()));
        let streams = streams("handler");
        let tenant = TenantId::new();
        rate(tasks, seconds, 1, move |task, n| {
            let (appender, streams) = (appender.clone(), streams.clone());
            async move {
                let writer = Writer {
                    stream_id: format!("{NAMESPACE}{tenant}:{}", streams[task]),
                    name: streams[task].clone(),
                    tenant,
                    actor: Actor::System("bench".into()),
                    source_ip: None,
                };
                let proposed = Proposed {
                    id: Uuid::now_v7(),
                    event_type: "Benchmarked".into(),
                    content_type: "application/json".into(),
                    data: event_json(n),
                    metadata: Vec::new(),
                };
                appender
                    .append(&writer, Expected::Any, &[proposed])
                    .await
                    .expect("appended");
            }
        })
        .await
    }

    /// The same event appended straight to the store (`ExpectedVersion::Any`).
    async fn store(&self, tasks: usize, seconds: f64) -> f64 {
        let (store, streams) = (self.store.clone(), streams("store"));
        let tenant = TenantId::new();
        rate(tasks, seconds, 1, move |task, n| {
            let (store, streams) = (store.clone(), streams.clone());
            async move {
                let event = NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: format!("{CLIENT_TYPE_PREFIX}Benchmarked"),
                    schema_version: 1,
                    payload: payload::encode(&ClientPayload {
                        content_type: "application/json".into(),
                        data: payload::Body::new(event_json(n)),
                        metadata: payload::Body::new(Vec::new()),
                        revision: n,
                        epoch: 0,
                    }),
                    metadata: EventMetadata::new(tenant, Actor::System("bench".into())),
                };
                store
                    .append(
                        &format!("{NAMESPACE}{tenant}:{}", streams[task]),
                        ExpectedVersion::Any,
                        vec![event],
                    )
                    .await
                    .expect("appended");
            }
        })
        .await
    }

    /// The core's direct handler: `update_settings` through `CommandHandler<Tenant>`, each
    /// task on its own tenant.
    async fn command_handler(&self, tasks: usize, seconds: f64) -> f64 {
        let (handler, tenants) = (self.handler.clone(), self.tenants.clone());
        rate(tasks, seconds, 1, move |task, n| {
            let (handler, tenant) = (handler.clone(), tenants[task]);
            async move {
                let metadata = EventMetadata::new(tenant, Actor::System("bench".into()));
                let command = TenantCommand::UpdateSettings(settings_change(n));
                handler
                    .execute(AggregateId::tenant(tenant), command, metadata, None)
                    .await
                    .expect("updated");
            }
        })
        .await
    }

    /// The same command over HTTP: `POST /v1/tenants/{id}/settings`.
    async fn http(&self, tasks: usize, seconds: f64) -> f64 {
        let (http, tenants) = (self.http.clone(), self.tenants.clone());
        let (address, key) = (
            Arc::new(self.address.clone()),
            Arc::new(self.admin_key.clone()),
        );
        rate(tasks, seconds, 1, move |task, n| {
            let (http, tenant) = (http.clone(), tenants[task]);
            let (address, key) = (address.clone(), key.clone());
            async move {
                let status = http
                    .post(format!("{address}/v1/tenants/{tenant}/settings"))
                    .bearer_auth(key.as_str())
                    .json(&settings_change(n))
                    .send()
                    .await
                    .expect("an answer")
                    .status();
                assert_eq!(status, reqwest::StatusCode::OK);
            }
        })
        .await
    }
}

fn settings_change(n: u64) -> UpdateSettings {
    UpdateSettings {
        session_timeout_minutes: Some(61 + (n % 1380) as u32),
        ..UpdateSettings::default()
    }
}

/// Events per second appended in Appends of 100 events from 4 tasks.
async fn batch_appends(client: &Client, seconds: f64) -> f64 {
    let (client, streams) = (client.clone(), streams("batch"));
    rate(4, seconds, 100, move |task, done| {
        let (client, streams) = (client.clone(), streams.clone());
        async move {
            let events: Vec<_> = (0..100).map(|n| event(done + n)).collect();
            client
                .append_to_stream(
                    streams[task].as_str(),
                    &AppendToStreamOptions::default(),
                    events,
                )
                .await
                .expect("appended");
        }
    })
    .await
}

/// Events per second of a forward read of the whole `$all`, and how many there were.
async fn all_read(client: &Client) -> (f64, u64) {
    let start = Instant::now();
    let mut read = client
        .read_all(
            &ReadAllOptions::default()
                .position(StreamPosition::Start)
                .max_count(usize::MAX),
        )
        .await
        .expect("a read");
    let mut count = 0u64;
    while read.next().await.expect("events").is_some() {
        count += 1;
    }
    (count as f64 / start.elapsed().as_secs_f64(), count)
}

/// Milliseconds from sending a single-event append to a live `$all` subscriber receiving it,
/// over `samples` appends: p50, p99.
async fn subscription_latency(client: &Client, samples: usize) -> (f64, f64) {
    let stream = format!("latency-{}", Uuid::now_v7().simple());
    let filter = SubscriptionFilter::on_stream_name().add_prefix(stream.clone());
    let mut subscription = client
        .subscribe_to_all(
            &SubscribeToAllOptions::default()
                .position(StreamPosition::End)
                .filter(filter),
        )
        .await;
    // The request goes out on the first read: wait for its confirmation before appending.
    loop {
        let first = subscription
            .next_subscription_event()
            .await
            .expect("confirmed");
        if matches!(first, eventstore::SubscriptionEvent::Confirmed(_)) {
            break;
        }
    }
    // Warm up: the subscription is live once it delivers the first event.
    client
        .append_to_stream(stream.as_str(), &AppendToStreamOptions::default(), event(0))
        .await
        .expect("appended");
    subscription.next().await.expect("the first event");
    let mut latencies = Vec::with_capacity(samples);
    for n in 1..=samples as u64 {
        let sent = Instant::now();
        client
            .append_to_stream(stream.as_str(), &AppendToStreamOptions::default(), event(n))
            .await
            .expect("appended");
        subscription.next().await.expect("the event");
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles(latencies)
}

/// p50 and p99.
fn percentiles(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let at = |q: f64| values[((values.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// The five ways of appending one change, by name, in the order printed.
const PATHS: [&str; 5] = [
    "store append (direct)",
    "gRPC append logic, in process",
    "gRPC Append (eventstore client)",
    "command handler: update settings",
    "HTTP: update settings",
];

/// Concurrent tasks of the single-change measurements.
const TASKS: [usize; 3] = [1, 8, 32];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    for backend in &options.backends {
        let app = spawn_app_with(*backend, |s| s.log_level = "error".into()).await;
        eprintln!("{backend:?}: running");
        let mut tenants = Vec::new();
        for t in 0..TASKS[TASKS.len() - 1] {
            let id = app.create_tenant(&format!("bench-{t}")).await;
            tenants.push(TenantId(id.parse().expect("a tenant id")));
        }
        // The server's own handler and store: the direct paths share its group commit and
        // wake its projection workers as gRPC's appends do.
        let handler = app.tenants.clone();
        let paths = Paths {
            client: client(&app),
            store: handler.store().clone(),
            handler,
            http: app.client.clone(),
            address: app.address.clone(),
            admin_key: app.admin_key.clone(),
            tenants: Arc::new(tenants),
        };
        // single[path][tasks] holds one rate per run.
        let mut single = vec![vec![Vec::new(); TASKS.len()]; PATHS.len()];
        let (mut batch, mut read) = (Vec::new(), Vec::new());
        let (mut p50, mut p99) = (Vec::new(), Vec::new());
        let mut log_size = 0;
        for _ in 0..options.runs {
            for (t, tasks) in TASKS.into_iter().enumerate() {
                let seconds = options.seconds;
                single[0][t].push(paths.store(tasks, seconds).await);
                single[1][t].push(paths.append_handler(tasks, seconds).await);
                single[2][t].push(paths.grpc(tasks, seconds).await);
                single[3][t].push(paths.command_handler(tasks, seconds).await);
                single[4][t].push(paths.http(tasks, seconds).await);
            }
            batch.push(batch_appends(&paths.client, options.seconds).await);
            let (rate, count) = all_read(&paths.client).await;
            read.push(rate);
            log_size = count;
            let (a, b) = subscription_latency(&paths.client, 200).await;
            p50.push(a);
            p99.push(b);
        }
        println!(
            "backend: {backend:?} (median of {} runs of {} s)",
            options.runs, options.seconds
        );
        println!(
            "  single changes/s {:>34} {:>8} {:>8}",
            "1 task", "8 tasks", "32 tasks"
        );
        for (path, rates) in PATHS.iter().zip(&single) {
            let cells: Vec<String> = rates
                .iter()
                .map(|runs| format!("{:>8.0}", median(runs.clone())))
                .collect();
            println!("  {path:<40} {}", cells.join(" "));
        }
        for (t, tasks) in TASKS.into_iter().enumerate() {
            let over = |path: usize| median(single[0][t].clone()) / median(single[path][t].clone());
            println!(
                "  gRPC Append costs {:+.0}% per append over the store's append and {:+.0}% over \
                 the append logic in process ({tasks} tasks)",
                (over(2) - 1.0) * 100.0,
                (median(single[1][t].clone()) / median(single[2][t].clone()) - 1.0) * 100.0,
            );
        }
        println!(
            "  appends of 100 events, 4 tasks: {:>8.0} events/s",
            median(batch)
        );
        println!(
            "  $all catch-up read ({log_size} events): {:>8.0} events/s",
            median(read)
        );
        println!(
            "  subscription delivery (send to receipt): p50 {:.2} ms, p99 {:.2} ms",
            median(p50),
            median(p99)
        );
        app.server.stop(true).await;
    }
}
