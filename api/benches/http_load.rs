//! The HTTP load benchmark: what the API adds to the command handler's cost.
//!
//! Run it with `scripts/bench-http` (or `cargo bench -p keel-api --bench http_load`). Argument:
//! `--seconds S`, the length of one timed run (default 3). On each backend (SQLite in a temporary
//! file, PostgreSQL in a database `keel_bench_http_<uuid>` created on `KEEL_BENCH_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432`, and dropped afterwards), each figure the median
//! of three runs, at 32 concurrent connections:
//! 1. the direct handler: `update_settings` through `CommandHandler<Tenant>` from 32 tasks;
//! 2. HTTP `POST /v1/tenants` (create-tenant): commands/s, p50, p99;
//! 3. HTTP `POST /v1/tenants/{id}/settings` over 1,000 tenants: commands/s, p50, p99;
//! 4. HTTP `GET /v1/tenants/{id}`: queries/s, p50, p99.
//!
//! The client runs in the same process on the same two cores as the server, so the HTTP figures
//! include the client's own CPU: they are a lower bound of what the server alone sustains.

use keel_api::config::Settings;
use keel_api::startup::Application;
use keel_commands::handler::{CommandHandler, HandlerConfig};
use keel_commands::store::{open, EventMetadata, StoreOptions};
use keel_domain::tenant::{Tenant, TenantCommand, UpdateSettings};
use keel_domain::{Actor, AggregateId, TenantId};
use reqwest::StatusCode;
use sqlx::Connection;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent connections (and direct-handler tasks).
const CONCURRENCY: usize = 32;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    println!("# HTTP load, {CONCURRENCY} connections, median of {RUNS} runs of {seconds} s\n");
    for backend in ["sqlite", "postgres"] {
        let database = Database::create(backend).await?;
        let report = measure(&database.url, duration).await;
        database.drop().await?;
        print_report(backend, &report?);
    }
    Ok(())
}

struct Report {
    direct: Figure,
    create: Figure,
    settings: Figure,
    detail: Figure,
}

async fn measure(url: &str, duration: Duration) -> anyhow::Result<Report> {
    let admin_key = format!("keel_{}", "b".repeat(43));
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        database_url: url.to_owned(),
        admin_key: Some(admin_key.clone().into()),
        log_level: "error".into(),
        ..Settings::default()
    };
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;
    let http = Http {
        client,
        base,
        key: admin_key,
    };
    let tenants = Arc::new(http.create_tenants(TENANTS).await?);
    let counter = Arc::new(AtomicU64::new(0));

    let direct = {
        let store = open(url, &StoreOptions::default()).await?;
        let handler = CommandHandler::<Tenant>::new(store, HandlerConfig::default());
        let tenants = tenants.clone();
        let counter = counter.clone();
        median(duration, move || {
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
    };
    let create = {
        let http = http.clone();
        median(duration, move || {
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
    };
    let settings = {
        let http = http.clone();
        let tenants = tenants.clone();
        median(duration, move || {
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
    };
    let detail = {
        let http = http.clone();
        let reads = Arc::new(AtomicU64::new(0));
        median(duration, move || {
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
    };
    handle.stop(true).await;
    Ok(Report {
        direct: direct?,
        create: create?,
        settings: settings?,
        detail: detail?,
    })
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
        for chunk in (0..count).collect::<Vec<_>>().chunks(CONCURRENCY) {
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

/// Runs `operation` from [`CONCURRENCY`] tasks for `duration`, [`RUNS`] times; the median run.
async fn median<F, Fut>(duration: Duration, operation: F) -> anyhow::Result<Figure>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let mut figures = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        figures.push(timed_run(duration, operation.clone()).await?);
    }
    figures.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    Ok(figures[RUNS / 2])
}

async fn timed_run<F, Fut>(duration: Duration, operation: F) -> anyhow::Result<Figure>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let operation = Arc::new(operation);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let operation = operation.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = Vec::new();
                while Instant::now() < deadline {
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
    })
}

fn print_report(backend: &str, report: &Report) {
    let row = |name: &str, f: &Figure| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} |",
            f.rate, f.p50_ms, f.p99_ms
        )
    };
    println!("## {backend}\n");
    println!("| measurement | ops/s | p50 ms | p99 ms |\n|---|---:|---:|---:|");
    row("direct handler: update settings (32 tasks)", &report.direct);
    row("HTTP POST /v1/tenants (create tenant)", &report.create);
    row("HTTP POST /v1/tenants/{id}/settings", &report.settings);
    row("HTTP GET /v1/tenants/{id}", &report.detail);
    let added = report.direct.rate / report.settings.rate - 1.0;
    let verdict = if added <= 0.25 { "PASS" } else { "FAIL" };
    println!(
        "\nHTTP adds {:.0}% to the direct handler's cost per command (target ≤ 25%): {verdict}\n",
        added * 100.0
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
