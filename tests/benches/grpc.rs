//! The KurrentDB gRPC protocol under load, with the official Rust client (`eventstore`) against
//! a real in-process server on each backend (docs/BENCHMARKS.md, "gRPC"):
//! single-event appends/s from 1, 8 and 32 tasks; batch appends (100 events per Append) in
//! events/s; a `$all` catch-up read in events/s; subscription delivery latency p50/p99.
//!
//! `cargo bench -p keel-tests --bench grpc -- [--backend sqlite|postgres|all] [--seconds S]
//! [--runs N]`. Each figure is the median of the runs. PostgreSQL is `KEEL_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432`), in a database of the run's own.

use eventstore::{
    AppendToStreamOptions, Client, ClientSettings, EventData, ReadAllOptions, StreamPosition,
    SubscribeToAllOptions, SubscriptionFilter,
};
use keel_tests::app::{spawn_app_with, TestApp};
use keel_tests::Backend;
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

/// Single-event appends per second from `tasks` tasks, each on its own stream.
async fn single_appends(client: &Client, tasks: usize, seconds: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|t| {
            let client = client.clone();
            let stream = format!("single-{t}-{}", Uuid::now_v7().simple());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    client
                        .append_to_stream(
                            stream.as_str(),
                            &AppendToStreamOptions::default(),
                            event(done),
                        )
                        .await
                        .expect("appended");
                    done += 1;
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

/// Events per second appended in Appends of 100 events from 4 tasks.
async fn batch_appends(client: &Client, seconds: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            let stream = format!("batch-{t}-{}", Uuid::now_v7().simple());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let events: Vec<_> = (0..100).map(|n| event(done + n)).collect();
                    client
                        .append_to_stream(
                            stream.as_str(),
                            &AppendToStreamOptions::default(),
                            events,
                        )
                        .await
                        .expect("appended");
                    done += 100;
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

/// Milliseconds from sending an append to a live `$all` subscriber receiving it: p50, p99.
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
    latencies.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    for backend in &options.backends {
        let app = spawn_app_with(*backend, |s| s.log_level = "error".into()).await;
        eprintln!("{backend:?}: running");
        let client = client(&app);
        let mut single: Vec<Vec<f64>> = vec![Vec::new(); 3];
        let (mut batch, mut read, mut p50, mut p99) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut log_size = 0;
        for _ in 0..options.runs {
            for (i, tasks) in [1, 8, 32].into_iter().enumerate() {
                single[i].push(single_appends(&client, tasks, options.seconds).await);
            }
            batch.push(batch_appends(&client, options.seconds).await);
            let (rate, count) = all_read(&client).await;
            read.push(rate);
            log_size = count;
            let (a, b) = subscription_latency(&client, 200).await;
            p50.push(a);
            p99.push(b);
        }
        println!(
            "backend: {backend:?} (median of {} runs of {} s)",
            options.runs, options.seconds
        );
        for (i, tasks) in [1, 8, 32].into_iter().enumerate() {
            println!(
                "  single-event appends, {tasks:>2} tasks: {:>8.0} events/s",
                median(single[i].clone())
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
