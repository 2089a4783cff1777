//! The HTTP load benchmark: what the API adds to the command handler's cost.
//!
//! Run it with `scripts/bench-http` (or `cargo bench -p keel-tests --bench http_load`; `-- --help`
//! explains each option). Arguments:
//! `--seconds S`, the length of one timed run (default 3); `--backend sqlite|postgres|all`
//! (default all); `--only direct,settings,...`, some of the phases below by name (`direct`,
//! `create`, `settings`, `detail`, `healthz`, `policies`; default all), e.g. to profile one;
//! `--external-projections`, to run the server without its projection workers;
//! `--connections N`, the concurrency (default 32); `--rate R`, to pace every phase at `R`
//! operations/s in all (default: as fast as it goes), so that paths compare at the same load.
//! On each backend (SQLite in a temporary file, PostgreSQL in a database
//! `keel_bench_http_<uuid>` created on `KEEL_BENCH_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432`, and dropped afterwards), each figure the median of
//! three runs, at 32 concurrent connections unless told otherwise:
//! 1. the direct handler: `update_settings` through the server's own `CommandHandler<Tenant>`
//!    (the routes' store, cache and group commit) from as many tasks;
//! 2. HTTP `POST /v1/tenants` (create-tenant): commands/s, p50, p99;
//! 3. HTTP `POST /v1/tenants/{id}/settings` over 1,000 tenants: commands/s, p50, p99;
//! 4. HTTP `GET /v1/tenants/{id}`: queries/s, p50, p99;
//! 5. the floor under every request: `GET /healthz` through Keel's middleware (request id,
//!    span, metrics, error handling; no key, no body), and `GET /` on a bare actix-web server
//!    in the same process with two workers and no middleware at all (once, first);
//! 6. `GET /v1/tenants/{id}/policies` for a tenant with 5 policies and 20,000 usage samples
//!    of history: lists read the `resources` read model, or with `--external-projections`
//!    (nobody folds it) the whole tenant's log, as every list did before that read model.
//!
//! The client runs in the same process on the same two cores as the server, so the HTTP rates
//! include the client's own CPU: they are a lower bound of what the server alone sustains. To
//! tell the two apart the client runs on its own runtime (threads named `load-client`), and each
//! run records the CPU time of the process's threads: the client's, and everyone else's (the
//! server's: actix workers, the store's writers, the projection workers, SQLite itself). Per
//! operation, the server's CPU is then comparable between the direct handler and HTTP. The
//! database server's CPU (PostgreSQL runs in other processes) is in neither; the "machine CPU"
//! column has it: all the machine's busy time (from `/proc/stat`, steal excluded) per
//! operation, the client's threads excluded. The last column is the share of the machine's
//! time the hypervisor stole for other guests: a run with much steal ran on a busy host, and
//! its figures are not comparable with a quiet run's.

/// The allocator the `keel` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use keel_api::config::Settings;
use keel_api::startup::Application;
use keel_domain::tenant::{TenantCommand, UpdateSettings};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::EventMetadata;
use keel_tests::app::every_projection_external;
use keel_tests::bench_args::BenchArgs;
use keel_tests::cpu::{client_runtime, CpuPerOp, CpuSample};
use keel_tests::pace::Pacer;
use keel_tests::Backend;
use reqwest::StatusCode;
use sqlx::Connection;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// The phases, by the names `--only` takes.
const PHASES: [&str; 6] = [
    "direct", "create", "settings", "detail", "healthz", "policies",
];

/// The benchmark's options (`--help` lists them).
#[derive(Debug, Parser)]
#[command(about = "What the HTTP API adds to the command handler's cost (docs/BENCHMARKS.md)")]
struct Options {
    #[command(flatten)]
    common: BenchArgs,
    /// Concurrent connections (and direct-handler tasks).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    connections: u64,
    /// Only these phases, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_parser = PHASES)]
    only: Option<Vec<String>>,
}

/// The options, parsed once.
fn options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(Options::parse)
}

/// Concurrent connections (and direct-handler tasks): `--connections N`, default 32.
fn concurrency() -> usize {
    options().connections as usize
}

/// Tenants the settings updates and reads go round.
const TENANTS: usize = 1_000;
/// Timed runs per figure.
const RUNS: usize = 3;

/// One timed run: operations per second and latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Figure {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// What an operation cost the server, the client and the machine.
    cpu: CpuPerOp,
}

/// The phases a run measures.
struct Phases(Option<Vec<String>>);

impl Phases {
    fn wants(&self, phase: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|only| only.iter().any(|p| p == phase))
    }

    /// The figure `measure` gives if `phase` is wanted (it is not started otherwise).
    async fn run(
        &self,
        phase: &str,
        measure: impl Future<Output = anyhow::Result<Figure>>,
    ) -> anyhow::Result<Option<Figure>> {
        if self.wants(phase) {
            measure.await.map(Some)
        } else {
            Ok(None)
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options();
    let seconds = options.common.seconds;
    let phases = Phases(options.only.clone());
    let duration = Duration::from_secs_f64(seconds);
    println!(
        "# HTTP load, {} connections, median of {RUNS} runs of {seconds} s\n",
        concurrency()
    );
    if phases.0.is_none() {
        let floor = bare_actix(duration).await?;
        println!(
            "HTTP floor, bare actix-web `GET /` (no middleware): {:.0} requests/s, p50 {:.2} ms, \
             p99 {:.2} ms, server CPU {:.0} µs/request, client CPU {:.0} µs/request\n",
            floor.rate, floor.p50_ms, floor.p99_ms, floor.cpu.server_us, floor.cpu.client_us
        );
    }
    for backend in options.common.backend.list() {
        let backend = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let database = Database::create(backend).await?;
        let report = measure(&database.url, duration, &phases).await;
        database.drop().await?;
        print_report(backend, &report?);
    }
    Ok(())
}

/// The figures of the phases measured.
struct Report {
    direct: Option<Figure>,
    create: Option<Figure>,
    settings: Option<Figure>,
    detail: Option<Figure>,
    healthz: Option<Figure>,
    policies: Option<Figure>,
}

async fn measure(url: &str, duration: Duration, phases: &Phases) -> anyhow::Result<Report> {
    // The HTTP client's own runtime, so that its CPU is told apart from the server's.
    let client_runtime = client_runtime()?;
    let report = measure_with(url, duration, client_runtime.handle(), phases).await;
    client_runtime.shutdown_background();
    report
}

async fn measure_with(
    url: &str,
    duration: Duration,
    client_runtime: &Handle,
    phases: &Phases,
) -> anyhow::Result<Report> {
    let admin_key = format!("keel_{}", "b".repeat(43));
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        database_url: url.to_owned(),
        admin_key: Some(admin_key.clone().into()),
        log_level: "error".into(),
        grpc_listen: "off".into(),
        // `--external-projections`: the server runs no projection worker (as when `keel
        // project` processes on other machines fold the log), so both sides measure the
        // command path alone.
        external_projections: if options().common.external_projections {
            every_projection_external()
        } else {
            String::new()
        },
        ..Settings::default()
    };
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let handler = app.tenant_handler();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency())
        .build()?;
    let http = Http {
        client,
        base,
        key: admin_key,
    };
    let tenants = {
        let http = http.clone();
        Arc::new(
            client_runtime
                .spawn(async move { http.create_tenants(TENANTS).await })
                .await??,
        )
    };
    let counter = Arc::new(AtomicU64::new(0));
    let listed_tenant = tenants[0];

    let direct = phases
        .run("direct", async {
            let handler = handler.clone();
            let tenants = tenants.clone();
            let counter = counter.clone();
            median(duration, &Handle::current(), move || {
                let handler = handler.clone();
                let tenants = tenants.clone();
                let counter = counter.clone();
                async move {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let tenant = tenants[n as usize % tenants.len()];
                    let metadata = EventMetadata::new(tenant, Actor::System("bench".into()));
                    let command = TenantCommand::UpdateSettings(settings_change(n));
                    handler
                        .execute(AggregateId::tenant(tenant), command, metadata, None)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            })
            .await
        })
        .await?;
    let create = phases
        .run("create", async {
            let http = http.clone();
            median(duration, client_runtime, move || {
                let http = http.clone();
                async move {
                    let body = serde_json::json!({
                        "name": "Bench", "slug": format!("b-{}", uuid::Uuid::now_v7().simple()),
                        "plan": "standard", "data_region": "eu-west-1", "owner_email": "o@bench.io",
                    });
                    expect(http.post("/v1/tenants", &body).await, StatusCode::CREATED)
                }
            })
            .await
        })
        .await?;
    let settings = phases
        .run("settings", async {
            let http = http.clone();
            let tenants = tenants.clone();
            median(duration, client_runtime, move || {
                let http = http.clone();
                let tenants = tenants.clone();
                let counter = counter.clone();
                async move {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let tenant = tenants[n as usize % tenants.len()];
                    let body = serde_json::to_value(settings_change(n)).expect("serializable");
                    expect(
                        http.post(&format!("/v1/tenants/{tenant}/settings"), &body)
                            .await,
                        StatusCode::OK,
                    )
                }
            })
            .await
        })
        .await?;
    let detail = phases
        .run("detail", async {
            let http = http.clone();
            let reads = Arc::new(AtomicU64::new(0));
            median(duration, client_runtime, move || {
                let http = http.clone();
                let tenants = tenants.clone();
                let reads = reads.clone();
                async move {
                    let n = reads.fetch_add(1, Ordering::Relaxed) as usize;
                    expect(
                        http.get(&format!("/v1/tenants/{}", tenants[n % tenants.len()]))
                            .await,
                        StatusCode::OK,
                    )
                }
            })
            .await
        })
        .await?;
    let healthz = phases
        .run(
            "healthz",
            get_loop(&http, "/healthz", duration, client_runtime),
        )
        .await?;
    let policies = phases
        .run("policies", async {
            let path = policy_list(&http, listed_tenant, client_runtime).await?;
            get_loop(&http, path, duration, client_runtime).await
        })
        .await?;
    handle.stop(true).await;
    Ok(Report {
        direct,
        create,
        settings,
        detail,
        healthz,
        policies,
    })
}

/// Usage samples in the history of the tenant whose policies are listed.
const HISTORY: usize = 20_000;
/// Policies that tenant has.
const POLICIES: usize = 5;

/// Gives `tenant` a history of `HISTORY` usage samples and `POLICIES` policies; returns the
/// path that lists them.
async fn policy_list(
    http: &Http,
    tenant: TenantId,
    client_runtime: &Handle,
) -> anyhow::Result<String> {
    let http = http.clone();
    client_runtime
        .spawn(async move {
            let base = format!("/v1/tenants/{tenant}");
            let now = chrono::Utc::now().to_rfc3339();
            for batch in 0..HISTORY / 1_000 {
                let events: Vec<_> = (0..1_000)
                    .map(|i| {
                        serde_json::json!({
                            "meter": "compute_seconds", "quantity": 1, "timestamp": now,
                            "idempotency_key": format!("h-{batch}-{i}"),
                        })
                    })
                    .collect();
                let body = serde_json::json!({ "events": events });
                let status = http.post(&format!("{base}/usage"), &body).await;
                anyhow::ensure!(status.is_success(), "usage samples: HTTP {status}");
            }
            for i in 0..POLICIES {
                let body = serde_json::json!({"name": format!("Policy {i}"), "document": {
                    "kind": "access",
                    "rules": [{"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}],
                }});
                let status = http.post(&format!("{base}/policies"), &body).await;
                anyhow::ensure!(status == StatusCode::CREATED, "draft policy: HTTP {status}");
            }
            Ok(format!("{base}/policies"))
        })
        .await?
}

/// `GET path` from `concurrency()` connections.
async fn get_loop(
    http: &Http,
    path: impl Into<String>,
    duration: Duration,
    client_runtime: &Handle,
) -> anyhow::Result<Figure> {
    let http = http.clone();
    let path: Arc<str> = path.into().into();
    median(duration, client_runtime, move || {
        let http = http.clone();
        let path = path.clone();
        async move { expect(http.get(&path).await, StatusCode::OK) }
    })
    .await
}

/// The cost of HTTP alone: a bare actix-web server (two workers, as `keel serve` runs on two
/// cores; no middleware, no state) answering `GET /` with two bytes.
async fn bare_actix(duration: Duration) -> anyhow::Result<Figure> {
    use actix_web::{web, App, HttpServer};
    let client_runtime = client_runtime()?;
    let server = HttpServer::new(|| App::new().route("/", web::get().to(|| async { "ok" })))
        .workers(2)
        .disable_signals()
        .bind("127.0.0.1:0")?;
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    let http = Http {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency())
            .build()?,
        base: format!("http://127.0.0.1:{port}"),
        key: String::new(),
    };
    let figure = get_loop(&http, "/", duration, client_runtime.handle()).await;
    handle.stop(true).await;
    client_runtime.shutdown_background();
    figure
}

/// `Ok` if the status is the expected one.
fn expect(status: StatusCode, expected: StatusCode) -> Result<(), String> {
    if status == expected {
        Ok(())
    } else {
        Err(format!("HTTP {status}, expected {expected}"))
    }
}

/// A settings change that always changes something: timeouts run over 61-1440 minutes (never
/// the default 60), and consecutive commands to one tenant are `TENANTS` apart in `n`, which is
/// not a multiple of the 1,380 values, so their timeouts differ.
fn settings_change(n: u64) -> UpdateSettings {
    UpdateSettings {
        session_timeout_minutes: Some(61 + (n % 1380) as u32),
        ..UpdateSettings::default()
    }
}

#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Http {
    async fn post(&self, path: &str, body: &serde_json::Value) -> StatusCode {
        match self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
        {
            Ok(response) => response.status(),
            Err(_) => StatusCode::BAD_GATEWAY,
        }
    }

    async fn get(&self, path: &str) -> StatusCode {
        match self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
        {
            Ok(response) => {
                let status = response.status();
                // Read the body: a query is not served until its body is.
                let _ = response.bytes().await;
                status
            }
            Err(_) => StatusCode::BAD_GATEWAY,
        }
    }

    async fn create_tenants(&self, count: usize) -> anyhow::Result<Vec<TenantId>> {
        let mut ids = Vec::with_capacity(count);
        for chunk in (0..count).collect::<Vec<_>>().chunks(concurrency()) {
            let replies = futures::future::join_all(chunk.iter().map(|i| {
                let body = serde_json::json!({
                    "name": format!("Tenant {i}"), "slug": format!("tenant-{i}"), "plan": "standard",
                    "data_region": "eu-west-1", "owner_email": format!("owner@t{i}.io"),
                });
                self.client
                    .post(format!("{}/v1/tenants", self.base))
                    .bearer_auth(&self.key)
                    .json(&body)
                    .send()
            }))
            .await;
            for reply in replies {
                let value: serde_json::Value = reply?.error_for_status()?.json().await?;
                let id = value["data"]["id"].as_str().unwrap_or_default().parse()?;
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

/// Runs `operation` from `concurrency()` tasks for `duration`, [`RUNS`] times; the median run.
async fn median<F, Fut>(
    duration: Duration,
    runtime: &Handle,
    operation: F,
) -> anyhow::Result<Figure>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let mut figures = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        figures.push(timed_run(duration, runtime, operation.clone()).await?);
    }
    figures.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    Ok(figures[RUNS / 2])
}

/// One run of `operation` from `concurrency()` tasks spawned on `runtime`.
async fn timed_run<F, Fut>(
    duration: Duration,
    runtime: &Handle,
    operation: F,
) -> anyhow::Result<Figure>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let operation = Arc::new(operation);
    let cpu_before = CpuSample::now()?;
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency())
        .map(|task| {
            let operation = operation.clone();
            let mut pacer = Pacer::new(options().common.rate, concurrency(), task, started);
            runtime.spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = Vec::new();
                while Instant::now() < deadline {
                    pacer.wait().await;
                    let begun = Instant::now();
                    match operation().await {
                        Ok(()) => latencies.push(begun.elapsed()),
                        Err(error) => failures.push(error),
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for task in tasks {
        let (mut task_latencies, mut task_failures) = task.await?;
        latencies.append(&mut task_latencies);
        failures.append(&mut task_failures);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_before.per_op(&CpuSample::now()?, latencies.len() as u64);
    anyhow::ensure!(
        failures.is_empty(),
        "{} operations failed, the first with: {}",
        failures.len(),
        failures[0]
    );
    anyhow::ensure!(!latencies.is_empty(), "no operation completed");
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    Ok(Figure {
        rate: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        cpu,
    })
}

fn print_report(backend: &str, report: &Report) {
    let row = |name: &str, figure: &Option<Figure>| {
        if let Some(f) = figure {
            println!(
                "| {name} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
                f.rate,
                f.p50_ms,
                f.p99_ms,
                f.cpu.server_us,
                f.cpu.machine_us,
                f.cpu.client_us,
                f.cpu.steal_pct
            )
        }
    };
    println!("## {backend}\n");
    if let Some(rate) = options().common.rate {
        println!("Every phase paced at {rate:.0} operations/s (`--rate`).\n");
    }
    println!(
        "| measurement | ops/s | p50 ms | p99 ms | server CPU µs/op | machine CPU µs/op | client CPU µs/op | steal % |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    row(
        "direct handler: update settings (as many tasks)",
        &report.direct,
    );
    row("HTTP POST /v1/tenants (create tenant)", &report.create);
    row("HTTP POST /v1/tenants/{id}/settings", &report.settings);
    row("HTTP GET /v1/tenants/{id}", &report.detail);
    row(
        "HTTP GET /healthz (Keel's middleware only)",
        &report.healthz,
    );
    row(
        "HTTP GET /v1/tenants/{id}/policies (5 policies, 20,000 events of history)",
        &report.policies,
    );
    let (Some(direct), Some(settings)) = (&report.direct, &report.settings) else {
        println!();
        return;
    };
    let verdict = |added: f64| if added <= 0.25 { "PASS" } else { "FAIL" };
    let by_cpu = settings.cpu.server_us / direct.cpu.server_us - 1.0;
    // Paced, both paths run at the same rate if they can: only their CPU compares.
    println!();
    if options().common.rate.is_none() {
        let by_rate = direct.rate / settings.rate - 1.0;
        println!(
            "HTTP adds {:.0}% to the direct handler's cost per command by throughput, client \
             included (target ≤ 25%): {}",
            by_rate * 100.0,
            verdict(by_rate)
        );
    }
    println!(
        "HTTP adds {:.0}% to the direct handler's server CPU per command, client excluded \
         (target ≤ 25%): {}",
        by_cpu * 100.0,
        verdict(by_cpu)
    );
    let by_machine = settings.cpu.machine_us / direct.cpu.machine_us - 1.0;
    println!(
        "HTTP adds {:.0}% to the machine's CPU per command (database server included, client \
         excluded; target ≤ 25%): {}\n",
        by_machine * 100.0,
        verdict(by_machine)
    );
}

/// A scratch database for one backend, removed by [`Database::drop`].
struct Database {
    url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    async fn create(backend: &str) -> anyhow::Result<Database> {
        if backend == "sqlite" {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            return Ok(Database {
                url,
                postgres: None,
                _dir: Some(dir),
            });
        }
        let server = std::env::var("KEEL_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("keel_bench_http_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        Ok(Database {
            url: format!("{server}/{name}"),
            postgres: Some((server, name)),
            _dir: None,
        })
    }

    async fn drop(self) -> anyhow::Result<()> {
        if let Some((server, name)) = &self.postgres {
            let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}
