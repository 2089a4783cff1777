//! The read-side benchmark: rebuild throughput of each projection from a stored log, next to
//! the raw `read_all` rate of the same run, and query latency on the built read models.
//!
//! `cargo bench -p keel-projections --bench rebuild -- [--events N] [--backend sqlite|postgres|all] [--runs R] [--mode blue-green|reset] [--batch B] [--keel PATH]`
//! (defaults: 1,000,000 events, all backends, 3 runs, batches of `REBUILD_BATCH`; `scripts/bench-read-side` builds the
//! `keel` binary and passes `--keel`). PostgreSQL is the server at
//! `KEEL_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`); the benchmark
//! creates a database `keel_bench_<uuid>` there and drops it at the end. SQLite runs in a
//! temporary file.
//!
//! The log: `N` events, half of them audited (`test.happened`, over 1,000 tenants) and half
//! usage samples (`usage.recorded` of `compute_seconds`, over the same tenants, spread over
//! 30 days). Each run: `read_all` of the whole log in pages of 1,000; a rebuild of `audit`
//! (one audit row per audited event), of `usage`, and of `billing` and `reports` (which no
//! event of this log concerns: their rate is that of reading and skipping), blue/green as
//! `keel replay` does by default (`--mode reset` for a reset-and-replay of the live tables instead). Rates are events of
//! the whole log per second (each projection reads all of it). Then 1,000 queries each:
//! usage of one tenant by day over 30 days, and an audit page (100 records, filtered by
//! action) of one tenant at a random cursor; p50 and p99. Figures are medians over the runs.
//!
//! With `--keel PATH` each run also times `PATH replay audit` (the operator's command, blue/green
//! as by default, a separate process on the same database) next to the library rebuild.

/// The allocator the `keel` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context, Result};
use chrono::{Duration as Days, TimeZone, Utc};
use keel_domain::usage::{UsageEvent, UsageRecorded};
use keel_domain::{Actor, TenantId};
use keel_projections::audit::{self, AuditFilter};
use keel_projections::framework::rebuild::rebuild_projection;
use keel_projections::framework::worker::REBUILD_BATCH;
use keel_projections::RebuildMode;
use keel_store::{
    open, EventLog, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreOptions,
    StreamAppend,
};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANTS: u128 = 1000;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let events: usize = flag("--events")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let runs: usize = flag("--runs").map(|v| v.parse()).transpose()?.unwrap_or(3);
    let backend = flag("--backend").unwrap_or_else(|| "all".into());
    let keel = flag("--keel");
    if !["all", "sqlite", "postgres"].contains(&backend.as_str()) {
        bail!("--backend must be sqlite, postgres or all");
    }
    let mode = match flag("--mode").as_deref() {
        None | Some("blue-green") => RebuildMode::BlueGreen,
        Some("reset") => RebuildMode::Reset,
        Some(_) => bail!("--mode must be blue-green or reset"),
    };
    let batch = flag("--batch")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(REBUILD_BATCH);
    let mode = How { mode, batch };
    println!(
        "events: {events}, runs: {runs}, rebuilds: {mode:?}, cores: {}",
        std::thread::available_parallelism()?.get()
    );
    if backend != "postgres" {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench("sqlite", &url, events, runs, mode, keel.as_deref()).await?;
    }
    if backend != "sqlite" {
        let server = std::env::var("KEEL_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("keel_bench_{}", uuid::Uuid::now_v7().simple());
        admin(&server, &format!("CREATE DATABASE \"{name}\"")).await?;
        let result = bench(
            "postgres",
            &format!("{server}/{name}"),
            events,
            runs,
            mode,
            keel.as_deref(),
        )
        .await;
        admin(
            &server,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        )
        .await?;
        result?;
    }
    Ok(())
}

async fn admin(server: &str, sql: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .context("connect to PostgreSQL")?;
    sqlx::query(sql).execute(&mut conn).await?;
    Ok(())
}

/// How the benchmark rebuilds: the mode, and events per batch.
#[derive(Debug, Clone, Copy)]
struct How {
    mode: RebuildMode,
    batch: usize,
}

async fn bench(
    backend: &str,
    url: &str,
    events: usize,
    runs: usize,
    mode: How,
    keel: Option<&str>,
) -> Result<()> {
    let writer = open(url, &StoreOptions::default()).await?;
    let started = Instant::now();
    seed(&writer, events).await?;
    let store: Arc<dyn EventLog> = writer;
    println!(
        "\n## {backend}: seeded {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    keel_projections::setup(&store).await?;
    let (mut read, mut audit_rate, mut usage_rate) = (Vec::new(), Vec::new(), Vec::new());
    let (mut billing_rate, mut reports_rate, mut cli_rate) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        read.push(rate(events, read_all(&store).await?));
        audit_rate.push(rate(events, rebuild(&store, "audit", mode).await?));
        usage_rate.push(rate(events, rebuild(&store, "usage", mode).await?));
        billing_rate.push(rate(events, rebuild(&store, "billing", mode).await?));
        reports_rate.push(rate(events, rebuild(&store, "reports", mode).await?));
        if let Some(keel) = keel {
            cli_rate.push(rate(events, replay_cli(keel, url).await?));
        }
    }
    let (usage_p50, usage_p99) = usage_queries(&store).await?;
    let (audit_p50, audit_p99) = audit_queries(&store).await?;
    let audit_rows: i64 = keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_records").fetch_one(pool).await?
    });
    println!("\n| measure | {backend} (median of {runs}) |\n|---|---|");
    println!(
        "| raw read_all (pages of 1,000) | {:.0} events/s |",
        median(read)
    );
    println!(
        "| rebuild audit ({audit_rows} rows) | {:.0} events/s |",
        median(audit_rate)
    );
    println!("| rebuild usage | {:.0} events/s |", median(usage_rate));
    // This log holds no plan, tenant or policy events: these two read it and skip everything.
    println!(
        "| rebuild billing (no event of this log applies) | {:.0} events/s |",
        median(billing_rate)
    );
    println!(
        "| rebuild reports (no event of this log applies) | {:.0} events/s |",
        median(reports_rate)
    );
    if !cli_rate.is_empty() {
        println!(
            "| `keel replay audit` (blue/green, own process) | {:.0} events/s |",
            median(cli_rate)
        );
    }
    println!("| usage query (30 days by day), p50 / p99 | {usage_p50:.2} ms / {usage_p99:.2} ms |");
    println!("| audit page (100, by action, at a cursor), p50 / p99 | {audit_p50:.2} ms / {audit_p99:.2} ms |");
    Ok(())
}

fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn tenant(n: u128) -> TenantId {
    TenantId(uuid::Uuid::from_u128(n + 1))
}

async fn seed(store: &Arc<dyn EventStore>, events: usize) -> Result<()> {
    let start = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let mut rng = rand::thread_rng();
    let mut appended = 0;
    while appended < events {
        let mut appends: BTreeMap<String, Vec<NewEvent>> = BTreeMap::new();
        for i in appended..(appended + 1000).min(events) {
            let n = rng.gen_range(0..TENANTS);
            let metadata = EventMetadata::new(tenant(n), Actor::System("bench".into()));
            let event = if i % 2 == 0 {
                NewEvent {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: "test.happened".into(),
                    schema_version: 1,
                    payload: keel_domain::event::encode_payload(
                        &serde_json::json!({"n": i, "setting": "timezone"}),
                    )?,
                    metadata,
                }
            } else {
                let at = start + Days::seconds(rng.gen_range(0..30 * 86_400));
                let sample = UsageRecorded::new(
                    "compute_seconds",
                    rng.gen_range(1..100),
                    at,
                    &format!("k{i}"),
                    BTreeMap::new(),
                    Utc::now(),
                )?;
                NewEvent::from_domain(&UsageEvent::Recorded(sample), metadata)?
            };
            let stream = if i % 2 == 0 {
                format!("sample-{n}")
            } else {
                format!("usage-{}", tenant(n))
            };
            appends.entry(stream).or_default().push(event);
        }
        let batch: Vec<StreamAppend> = appends
            .into_iter()
            .map(|(stream_id, events)| StreamAppend {
                stream_id,
                expected: ExpectedVersion::Any,
                events,
            })
            .collect();
        store.append_streams(batch).await?;
        appended = (appended + 1000).min(events);
    }
    Ok(())
}

async fn read_all(store: &Arc<dyn EventLog>) -> Result<Duration> {
    let started = Instant::now();
    let mut position = 0;
    loop {
        let page = store.read_all(position, 1000).await?;
        let Some(last) = page.last() else { break };
        position = last.global_position;
    }
    Ok(started.elapsed())
}

async fn rebuild(store: &Arc<dyn EventLog>, name: &str, how: How) -> Result<Duration> {
    let projection = keel_projections::projection(name)?;
    let started = Instant::now();
    rebuild_projection(&projection, store, how.mode, how.batch, |_| {}).await?;
    Ok(started.elapsed())
}

/// Runs `keel replay audit` against the database as an operator would, from start to exit.
async fn replay_cli(keel: &str, url: &str) -> Result<Duration> {
    let started = Instant::now();
    let output = tokio::process::Command::new(keel)
        .args(["replay", "audit", "--json", "--database-url", url])
        .output()
        .await
        .with_context(|| format!("running {keel}"))?;
    if !output.status.success() {
        bail!(
            "keel replay audit failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(started.elapsed())
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

async fn usage_queries(store: &Arc<dyn EventLog>) -> Result<(f64, f64)> {
    let db = store.database();
    let from = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let mut samples = Vec::with_capacity(1000);
    for i in 0..1000u128 {
        let started = Instant::now();
        let points = keel_projections::usage::usage(
            &db,
            tenant(i % TENANTS),
            "compute_seconds",
            "day",
            from,
            from + Days::days(30),
        )
        .await?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(points);
    }
    Ok(percentiles(samples))
}

async fn audit_queries(store: &Arc<dyn EventLog>) -> Result<(f64, f64)> {
    let db = store.database();
    let mut rng = rand::thread_rng();
    let mut samples = Vec::with_capacity(1000);
    for i in 0..1000u128 {
        let mut filter = AuditFilter::tenant(tenant(i % TENANTS));
        filter.action = Some("test.happened".into());
        filter.after_seq = Some(rng.gen_range(0..400));
        let started = Instant::now();
        let page = audit::query(&db, &filter, 100).await?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(page);
    }
    Ok(percentiles(samples))
}
