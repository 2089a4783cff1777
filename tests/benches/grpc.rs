//! The KurrentDB gRPC protocol under load, with the official Rust client (`eventstore`) against
//! a real in-process server on each backend (docs/BENCHMARKS.md, "gRPC"):
//! single-event appends/s from 1, 8 and 32 tasks, in the same run as the same append straight
//! to the server's own store and through the gRPC append logic in process, and as the core's
//! direct command handler (the server's own) and HTTP (a settings update), and beside a gRPC
//! call that does no work (`ServerFeatures.GetSupportedMethods`: the transport's floor);
//! batch appends (100 events per Append) in events/s; a `$all` catch-up read in events/s;
//! subscription delivery latency p50/p99 (from sending the append, so it includes the append's
//! own round trip and commit).
//!
//! The clients (the `eventstore` client and HTTP's) run on their own runtime, whose threads
//! are named `load-client`, and every single-change figure also records the CPU an operation
//! cost (see `keel_tests::cpu`): the server's threads, and the whole machine's (PostgreSQL's
//! processes included) without the client's threads. On two cores shared by client, server
//! and database the rates mix the client's cost in; the machine CPU per change does not, so it
//! is the comparison the target is checked by.
//!
//! `cargo bench -p keel-tests --bench grpc -- [--backend sqlite|postgres|all] [--seconds S]
//! [--runs N] [--external-projections] [--rate R]` (`-- --help` explains each). Each figure is
//! the median of the runs.
//! `--rate R` paces every measurement: its tasks together start at most `R` calls per second
//! (see `keel_tests::pace`), so that the paths compare at the same load. PostgreSQL is
//! `KEEL_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`), in a database of
//! the run's own.

/// The allocator the `keel` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use eventstore::{
    AppendToStreamOptions, Client, ClientSettings, EventData, ReadAllOptions, StreamPosition,
    SubscribeToAllOptions, SubscriptionFilter,
};
use keel_api::grpc::names::NAMESPACE;
use keel_api::grpc::payload::{self, ClientPayload, CLIENT_TYPE_PREFIX};
use keel_api::grpc::proto::server_features::SupportedMethods;
use keel_api::grpc::proto::shared::Empty;
use keel_api::grpc::streams::append::{AppendScope, Appender, Proposed};
use keel_api::grpc::streams::expected::Expected;
use keel_commands::handler::CommandHandler;
use keel_domain::tenant::{Tenant, TenantCommand, UpdateSettings};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent};
use keel_tests::app::{every_projection_external, spawn_app_with, TestApp};
use keel_tests::bench_args::BenchArgs;
use keel_tests::cpu::{client_runtime, CpuPerOp, CpuSample};
use keel_tests::pace::Pacer;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tonic::codec::ProstCodec;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use uuid::Uuid;

/// The benchmark's options (`--help` lists them).
#[derive(Debug, Parser)]
#[command(about = "The KurrentDB gRPC protocol under load (docs/BENCHMARKS.md, \"gRPC\")")]
struct Options {
    #[command(flatten)]
    common: BenchArgs,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
}

/// The options, parsed once.
fn options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(Options::parse)
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

/// One measurement: operations per second and what an operation cost.
#[derive(Debug, Clone, Copy)]
struct Figure {
    rate: f64,
    cpu: CpuPerOp,
}

/// Operations per second from `tasks` tasks spawned on `runtime`, each calling `op(task, n)`
/// for its `n`-th operation until the time is up, and the CPU an operation cost.
async fn rate<Op, Fut>(
    runtime: &Handle,
    tasks: usize,
    seconds: f64,
    ops_per_call: u64,
    op: Op,
) -> Figure
where
    Op: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let before = CpuSample::now().expect("CPU times");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let op = op.clone();
            let mut pacer = Pacer::new(options().common.rate, tasks, task, start);
            runtime.spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    pacer.wait().await;
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
    let elapsed = start.elapsed().as_secs_f64();
    let after = CpuSample::now().expect("CPU times");
    Figure {
        rate: total as f64 / elapsed,
        cpu: before.per_op(&after, total),
    }
}

/// A stream name per task, new for each measurement.
fn streams(kind: &str) -> Arc<Vec<String>> {
    Arc::new(
        (0..TASKS[TASKS.len() - 1])
            .map(|t| format!("{kind}-{t}-{}", Uuid::now_v7().simple()))
            .collect(),
    )
}

/// The five ways of making one change, and the transport's floor, side by side, at `tasks`
/// concurrent tasks.
struct Paths {
    /// The runtime of the server's own paths (the process's main runtime).
    server: Handle,
    /// The clients' runtime.
    clients: Handle,
    client: Client,
    /// One HTTP/2 connection to the gRPC port, as the `eventstore` client keeps one.
    channel: Channel,
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
    async fn grpc(&self, tasks: usize, seconds: f64) -> Figure {
        let (client, streams) = (self.client.clone(), streams("single"));
        rate(&self.clients, tasks, seconds, 1, move |task, n| {
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

    /// The floor under every gRPC call: `ServerFeatures.GetSupportedMethods`, which reads no
    /// key and touches no store, over one HTTP/2 connection.
    async fn no_work(&self, tasks: usize, seconds: f64) -> Figure {
        let channel = self.channel.clone();
        rate(&self.clients, tasks, seconds, 1, move |_, _| {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            async move {
                grpc.ready().await.expect("a ready channel");
                let codec: ProstCodec<Empty, SupportedMethods> = ProstCodec::default();
                grpc.unary(
                    tonic::Request::new(Empty {}),
                    PathAndQuery::from_static(
                        "/event_store.client.server_features.ServerFeatures/GetSupportedMethods",
                    ),
                    codec,
                )
                .await
                .expect("the supported methods");
            }
        })
        .await
    }

    /// The same append through Keel's gRPC append logic called in process (the stream's
    /// state, the expected-revision check, the store): everything but the transport.
    async fn append_handler(&self, tasks: usize, seconds: f64) -> Figure {
        let appender = Arc::new(Appender::new(self.store.clone()));
        let streams = streams("handler");
        let tenant = TenantId(uuid::Uuid::now_v7());
        rate(&self.server, tasks, seconds, 1, move |task, n| {
            let (appender, streams) = (appender.clone(), streams.clone());
            async move {
                let writer = AppendScope {
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
    async fn store(&self, tasks: usize, seconds: f64) -> Figure {
        let (store, streams) = (self.store.clone(), streams("store"));
        let tenant = TenantId(uuid::Uuid::now_v7());
        rate(&self.server, tasks, seconds, 1, move |task, n| {
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
    async fn command_handler(&self, tasks: usize, seconds: f64) -> Figure {
        let (handler, tenants) = (self.handler.clone(), self.tenants.clone());
        rate(&self.server, tasks, seconds, 1, move |task, n| {
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
    async fn http(&self, tasks: usize, seconds: f64) -> Figure {
        let (http, tenants) = (self.http.clone(), self.tenants.clone());
        let (address, key) = (
            Arc::new(self.address.clone()),
            Arc::new(self.admin_key.clone()),
        );
        rate(&self.clients, tasks, seconds, 1, move |task, n| {
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
async fn batch_appends(paths: &Paths, seconds: f64) -> f64 {
    let (client, streams) = (paths.client.clone(), streams("batch"));
    let figure = rate(&paths.clients, 4, seconds, 100, move |task, done| {
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
    .await;
    figure.rate
}

/// Events per second of a forward read of the whole `$all`, and how many there were.
async fn all_read(client: Client) -> (f64, u64) {
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
async fn subscription_latency(client: Client, samples: usize) -> (f64, f64) {
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

/// The five ways of appending one change and the transport's floor, by name, in the order
/// printed.
const PATHS: [&str; 6] = [
    "store append (direct)",
    "gRPC append logic, in process",
    "gRPC Append (eventstore client)",
    "command handler: update settings",
    "HTTP: update settings",
    "gRPC call with no work (GetSupportedMethods)",
];

/// Concurrent tasks of the single-change measurements.
const TASKS: [usize; 3] = [1, 8, 32];

/// The run whose rate is the median of `runs`.
fn median_figure(runs: &[Figure]) -> Figure {
    let mut runs = runs.to_vec();
    runs.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    runs[runs.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let seconds = options.common.seconds;
    let clients = client_runtime().expect("the clients' runtime");
    for backend in options.common.backend.list() {
        let app = spawn_app_with(backend, |s| {
            s.log_level = "error".into();
            if options.common.external_projections {
                s.external_projections = every_projection_external();
            }
        })
        .await;
        eprintln!("{backend:?}: running");
        let mut tenants = Vec::new();
        for t in 0..TASKS[TASKS.len() - 1] {
            let id = app.create_tenant(&format!("bench-{t}")).await;
            tenants.push(TenantId(id.parse().expect("a tenant id")));
        }
        // The server's own handler and store: the direct paths share its group commit and
        // wake its projection workers as gRPC's appends do.
        let handler = app.tenants.clone();
        // The clients' connection tasks are spawned where the clients are made and first used:
        // on the clients' runtime.
        let client = {
            let _clients = clients.enter();
            client(&app)
        };
        let endpoint = Channel::from_shared(format!("http://127.0.0.1:{}", app.grpc_port))
            .expect("an address");
        let channel = clients
            .spawn(async move { endpoint.connect().await })
            .await
            .expect("connecting")
            .expect("a channel to the gRPC port");
        let paths = Paths {
            server: Handle::current(),
            clients: clients.handle().clone(),
            client,
            channel,
            store: handler.store().clone(),
            handler,
            http: reqwest::Client::new(),
            address: app.address.clone(),
            admin_key: app.admin_key.clone(),
            tenants: Arc::new(tenants),
        };
        // single[path][tasks] holds one figure per run.
        let mut single = vec![vec![Vec::new(); TASKS.len()]; PATHS.len()];
        let (mut batch, mut read) = (Vec::new(), Vec::new());
        let (mut p50, mut p99) = (Vec::new(), Vec::new());
        let mut log_size = 0;
        for _ in 0..options.runs {
            for (t, tasks) in TASKS.into_iter().enumerate() {
                single[0][t].push(paths.store(tasks, seconds).await);
                single[1][t].push(paths.append_handler(tasks, seconds).await);
                single[2][t].push(paths.grpc(tasks, seconds).await);
                single[3][t].push(paths.command_handler(tasks, seconds).await);
                single[4][t].push(paths.http(tasks, seconds).await);
                single[5][t].push(paths.no_work(tasks, seconds).await);
            }
            batch.push(batch_appends(&paths, seconds).await);
            let (rate, count) = clients
                .spawn(all_read(paths.client.clone()))
                .await
                .expect("the read");
            read.push(rate);
            log_size = count;
            let (a, b) = clients
                .spawn(subscription_latency(paths.client.clone(), 200))
                .await
                .expect("the samples");
            p50.push(a);
            p99.push(b);
        }
        let figures: Vec<Vec<Figure>> = single
            .iter()
            .map(|by_tasks| by_tasks.iter().map(|runs| median_figure(runs)).collect())
            .collect();
        println!(
            "backend: {backend:?} (median of {} runs of {} s)",
            options.runs, seconds
        );
        let table = |title: &str, cell: &dyn Fn(&Figure) -> f64| {
            println!(
                "  {title:<40} {:>8} {:>8} {:>8}",
                "1 task", "8 tasks", "32 tasks"
            );
            for (path, by_tasks) in PATHS.iter().zip(&figures) {
                let cells: Vec<String> = by_tasks
                    .iter()
                    .map(|f| format!("{:>8.0}", cell(f)))
                    .collect();
                println!("  {path:<40} {}", cells.join(" "));
            }
        };
        table("single changes/s", &|f| f.rate);
        table("machine CPU µs per change", &|f| f.cpu.machine_us);
        table("server CPU µs per change", &|f| f.cpu.server_us);
        table("client CPU µs per change", &|f| f.cpu.client_us);
        table("steal %", &|f| f.cpu.steal_pct);
        for (t, tasks) in TASKS.into_iter().enumerate() {
            let (logic, grpc) = (&figures[1][t], &figures[2][t]);
            println!(
                "  gRPC Append over the append logic in process ({tasks} tasks): {:+.0}% machine \
                 CPU per append (target ≤ 25%), {:+.0}% by throughput",
                (grpc.cpu.machine_us / logic.cpu.machine_us - 1.0) * 100.0,
                (logic.rate / grpc.rate - 1.0) * 100.0,
            );
            println!(
                "    the allowance is {:.0} µs; a gRPC call with no work costs {:.0} µs of machine \
                 CPU",
                logic.cpu.machine_us * 0.25,
                figures[5][t].cpu.machine_us,
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
    clients.shutdown_background();
}
