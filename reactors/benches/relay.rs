//! The relay benchmark: how fast the NATS relay publishes a backlog, and how long an event
//! takes from its commit to a JetStream subscriber at a steady 1,000 events/s.
//!
//! Run it with `scripts/bench-nats` (or `cargo bench -p keel-projections --bench relay`).
//! Arguments: `--backend sqlite|postgres` (default sqlite), `--events N` (backlog, default
//! 100,000), `--seconds S` (paced run, default 10), `--batch N` (relay batch, default 1,000). NATS is `KEEL_BENCH_NATS_URL` (default
//! `nats://127.0.0.1:4222`); each run uses its own stream and subject prefix and deletes the
//! stream afterwards. PostgreSQL is the server at `KEEL_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`): a database `keel_bench_<uuid>` is created per run
//! and dropped after it.
//!
//! Per run:
//! 1. Throughput: the backlog is appended in bulk (appends of 1,000 events over 20 streams),
//!    then a relay starts from position 0; the figure is backlog / time until JetStream has
//!    acknowledged the last event (default batch: 1,000 publishes whose acks are awaited
//!    together).
//! 2. Latency: a second stream; the relay starts at the head; an ordered JetStream consumer
//!    subscribes; one event is appended every millisecond (each append its own task, so a slow
//!    commit does not slow the pace). Latency is from the append returning (the commit) to the
//!    consumer receiving the message.
//!
//! Each figure is the median of [`RUNS`] runs.

/// The allocator the `keel` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use keel_domain::{Actor, TenantId};
use keel_projections::published::RelayConfig;
use keel_reactors::relay::{Relay, RelayCheckpoint};
use keel_reactors::{Lease, Leases};
use keel_store::{
    self, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreOptions, StreamAppend,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Runs per figure; the figure is their median.
const RUNS: usize = 3;

struct Args {
    batch: usize,
    backend: String,
    events: usize,
    seconds: u64,
}

fn args() -> Result<Args> {
    let mut parsed = Args {
        batch: 1000,
        backend: "sqlite".into(),
        events: 100_000,
        seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--batch" => parsed.batch = it.next().context("--batch needs a value")?.parse()?,
            "--backend" => parsed.backend = it.next().context("--backend needs a value")?,
            "--events" => parsed.events = it.next().context("--events needs a value")?.parse()?,
            "--seconds" => {
                parsed.seconds = it.next().context("--seconds needs a value")?.parse()?
            }
            // cargo bench passes --bench.
            "--bench" => {}
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    anyhow::ensure!(
        matches!(parsed.backend.as_str(), "sqlite" | "postgres"),
        "--backend is sqlite or postgres"
    );
    anyhow::ensure!(
        parsed.events > 0 && parsed.seconds > 0,
        "--events and --seconds are positive"
    );
    Ok(parsed)
}

/// A fresh database for one run, removed by [`Database::remove`].
struct Database {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn pg_server() -> String {
    std::env::var("KEEL_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

async fn pg_admin(sql: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", pg_server())).await?;
    sqlx::query(sql).execute(&mut conn).await?;
    Ok(())
}

impl Database {
    async fn create(backend: &str) -> Result<Database> {
        if backend == "sqlite" {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("keel.db").display());
            return Ok(Database {
                url,
                _dir: Some(dir),
                pg_name: None,
            });
        }
        let name = format!("keel_bench_{}", Uuid::now_v7().simple());
        pg_admin(&format!("CREATE DATABASE \"{name}\"")).await?;
        Ok(Database {
            url: format!("{}/{name}", pg_server()),
            _dir: None,
            pg_name: Some(name),
        })
    }

    async fn remove(self) -> Result<()> {
        if let Some(name) = &self.pg_name {
            pg_admin(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
        }
        Ok(())
    }
}

fn event() -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "counter.incremented".into(),
        schema_version: 1,
        payload: keel_domain::event::encode_payload(&serde_json::json!({"by": 1, "note": "bench"}))
            .expect("encode"),
        metadata: EventMetadata::new(
            TenantId(uuid::Uuid::now_v7()),
            Actor::System("bench".into()),
        ),
    }
}

fn relay_config(batch: usize) -> RelayConfig {
    let url =
        std::env::var("KEEL_BENCH_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let id = Uuid::now_v7().simple().to_string();
    RelayConfig {
        stream: format!("KEEL_BENCH_{id}"),
        subject_prefix: format!("keel_bench_{id}.events"),
        batch,
        ..RelayConfig::new(url)
    }
}

async fn delete_stream(config: &RelayConfig) -> Result<()> {
    let client = async_nats::connect(&config.url).await?;
    jetstream::new(client).delete_stream(&config.stream).await?;
    Ok(())
}

/// The relay's lease, under a name of its own per call (a relay this bench aborted keeps the
/// previous one until it expires).
async fn lease(store: &Arc<dyn EventStore>) -> Result<Lease> {
    let name: &'static str = Box::leak(format!("bench-relay-{}", Uuid::now_v7()).into_boxed_str());
    Leases::new(store.database(), Duration::from_secs(600))
        .try_acquire(name)
        .await?
        .context("a fresh lease is free")
}

/// Runs `relay` in a task of its own under a fresh lease.
async fn run(relay: Relay, store: &Arc<dyn EventStore>) -> Result<tokio::task::JoinHandle<()>> {
    let lease = lease(store).await?;
    Ok(tokio::spawn(async move {
        let _ = relay.run(lease, CancellationToken::new()).await;
    }))
}

/// Events per second the relay publishes a backlog of `events` at.
async fn throughput(store: &Arc<dyn EventStore>, events: usize, batch: usize) -> Result<f64> {
    for chunk in 0..events.div_ceil(1000) {
        let n = (events - chunk * 1000).min(1000);
        store
            .append_streams(vec![StreamAppend {
                stream_id: format!("counter-{}", chunk % 20),
                expected: ExpectedVersion::Any,
                events: (0..n).map(|_| event()).collect(),
            }])
            .await?;
    }
    let head = store.head_position().await?;
    let config = relay_config(batch);
    let relay = Relay::start(config.clone(), store.clone()).await?;
    let status = relay.status();
    let started = Instant::now();
    let task = run(relay, store).await?;
    while status.position() < head {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "relay stuck: {:?}",
            status.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    task.abort();
    delete_stream(&config).await?;
    Ok(events as f64 / elapsed.as_secs_f64())
}

/// Commit-to-subscriber latencies (p50, p99, max) at 1,000 events/s for `seconds`.
async fn latency(
    store: &Arc<dyn EventStore>,
    seconds: u64,
    batch: usize,
) -> Result<(Duration, Duration, Duration)> {
    let config = relay_config(batch);
    let head = store.head_position().await?;
    let lease = lease(store).await?;
    RelayCheckpoint::open(store.database(), &config.stream)
        .await?
        .save(head, &lease)
        .await?;
    let relay = Relay::start(config.clone(), store.clone()).await?;
    let task = run(relay, store).await?;

    let client = async_nats::connect(&config.url).await?;
    let js = jetstream::new(client);
    let consumer = js
        .get_stream(&config.stream)
        .await?
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::New,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;

    let total = (seconds * 1000) as usize;
    let committed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = {
        let received = received.clone();
        tokio::spawn(async move {
            while received.lock().unwrap().len() < total {
                let Some(Ok(message)) = messages.next().await else {
                    break;
                };
                let at = Instant::now();
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("ce-id"))
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                received.lock().unwrap().insert(id, at);
            }
        })
    };

    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    let mut appends = Vec::with_capacity(total);
    for i in 0..total {
        ticks.tick().await;
        let store = store.clone();
        let committed = committed.clone();
        appends.push(tokio::spawn(async move {
            let e = event();
            let id = e.event_id.to_string();
            store
                .append(&format!("paced-{}", i % 20), ExpectedVersion::Any, vec![e])
                .await?;
            committed.lock().unwrap().insert(id, Instant::now());
            Ok::<_, anyhow::Error>(())
        }));
    }
    for append in appends {
        append.await??;
    }
    tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .context("not every event reached the subscriber")??;
    task.abort();
    delete_stream(&config).await?;

    let committed = committed.lock().unwrap();
    let received = received.lock().unwrap();
    let mut latencies: Vec<Duration> = committed
        .iter()
        .map(|(id, at)| {
            received
                .get(id)
                .map(|r| r.saturating_duration_since(*at))
                .context("an event never arrived")
        })
        .collect::<Result<_>>()?;
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok((pick(0.50), pick(0.99), *latencies.last().expect("events")))
}

fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let (mut rates, mut p50s, mut p99s, mut maxes) = (vec![], vec![], vec![], vec![]);
    for run in 1..=RUNS {
        let db = Database::create(&args.backend).await?;
        let outcome = async {
            let store = keel_store::open(&db.url, &StoreOptions::default()).await?;
            let rate = throughput(&store, args.events, args.batch).await?;
            let (p50, p99, max) = latency(&store, args.seconds, args.batch).await?;
            Ok::<_, anyhow::Error>((rate, p50, p99, max))
        }
        .await;
        db.remove().await?;
        let (rate, p50, p99, max) = outcome?;
        eprintln!(
            "run {run}: {rate:.0} events/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(p50),
            ms(p99),
            ms(max)
        );
        rates.push(rate);
        p50s.push(p50);
        p99s.push(p99);
        maxes.push(max);
    }
    let (rate, p50, p99, max) = (median(rates), median(p50s), median(p99s), median(maxes));
    println!(
        "| backend | relay throughput (backlog of {}) | p50 | p99 | max | targets |",
        args.events
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {rate:.0} events/s | {:.2} ms | {:.2} ms | {:.2} ms | ≥ 50,000/s: {}; p99 < 50 ms: {} |",
        args.backend,
        ms(p50),
        ms(p99),
        ms(max),
        if rate >= 50_000.0 { "met" } else { "missed" },
        if p99 < Duration::from_millis(50) { "met" } else { "missed" },
    );
    Ok(())
}
