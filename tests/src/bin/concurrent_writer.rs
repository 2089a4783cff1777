//! A separate writer process for the multi-process ordering and crash tests.
//!
//! Usage: `concurrent_writer <database-url> <appends> <concurrency> [--acks] [--exact]`. Appends
//! `<appends>` batches of 1 to 3 events to random streams, from `<concurrency>` tasks at once,
//! then prints the number of events written and exits. With `--acks`, it also prints the id of
//! every event as soon as its append is acknowledged (one per line, `ack <uuid>`), so that a test
//! can kill it at any moment and know what the store promised to keep.
//!
//! By default every append expects any version; one in four goes to the streams `shared-0` to
//! `shared-3`, which every writer process uses. With `--exact`, every append expects the exact
//! version, as the command handler's do (on PostgreSQL the one-round-trip path): on the shared
//! streams the version read just before, read again after a conflict, so appends planned on a
//! stale version meet other processes' commits; otherwise on the task's own stream, whose version
//! it knows.

use keel_store::{open, EventStore, ExpectedVersion, NewEvent, StoreOptions};
use keel_tests::sample_event;
use rand::Rng;
use std::io::Write;
use std::sync::Arc;

/// Streams every writer process appends to.
const SHARED_STREAMS: u32 = 4;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (positional, flags): (Vec<&String>, Vec<&String>) =
        args.iter().skip(1).partition(|a| !a.starts_with("--"));
    let known = flags.iter().all(|f| *f == "--acks" || *f == "--exact");
    let [url, appends, concurrency] = positional.as_slice() else {
        usage();
    };
    if !known {
        usage();
    }
    let acks = flags.iter().any(|f| *f == "--acks");
    let exact = flags.iter().any(|f| *f == "--exact");
    let appends: usize = appends.parse().expect("appends is a number");
    let concurrency: usize = concurrency.parse().expect("concurrency is a number");
    let store = open(url, &StoreOptions::default())
        .await
        .expect("open the event store");
    let label = std::process::id();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut written = 0;
                let mut own_version = 0;
                for _ in (task..appends).step_by(concurrency) {
                    let (count, pick) = {
                        let mut rng = rand::thread_rng();
                        (rng.gen_range(1..=3), rng.gen_range(0..4 * SHARED_STREAMS))
                    };
                    let events: Vec<_> = (0..count).map(|_| sample_event("test.written")).collect();
                    let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
                    let shared = (pick < SHARED_STREAMS).then(|| format!("shared-{pick}"));
                    match (exact, shared) {
                        (false, Some(stream)) => {
                            append(&store, &stream, ExpectedVersion::Any, events).await
                        }
                        (false, None) => {
                            let stream = format!("writer-{label}-{}", pick % 20);
                            append(&store, &stream, ExpectedVersion::Any, events).await
                        }
                        (true, Some(stream)) => {
                            append_on_read_version(&store, &stream, events).await
                        }
                        (true, None) => {
                            let stream = format!("writer-{label}-task-{task}");
                            let expected = ExpectedVersion::Exact(own_version);
                            append(&store, &stream, expected, events).await;
                            own_version += count as u64;
                        }
                    }
                    if acks {
                        let mut out = std::io::stdout().lock();
                        for id in ids {
                            // Flushed per line: the test may kill this process at any moment.
                            let _ = writeln!(out, "ack {id}");
                        }
                        let _ = out.flush();
                    }
                    written += count;
                }
                written
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("writer task");
    }
    println!("{total}");
}

fn usage() -> ! {
    eprintln!("usage: concurrent_writer <database-url> <appends> <concurrency> [--acks] [--exact]");
    std::process::exit(2);
}

async fn append(
    store: &Arc<dyn EventStore>,
    stream: &str,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) {
    store
        .append(stream, expected, events)
        .await
        .expect("append");
}

/// Appends expecting the version just read; reads again after a conflict.
async fn append_on_read_version(store: &Arc<dyn EventStore>, stream: &str, events: Vec<NewEvent>) {
    loop {
        let version = store
            .stream_version(stream)
            .await
            .expect("read the version");
        match store
            .append(stream, ExpectedVersion::Exact(version), events.clone())
            .await
        {
            Ok(_) => return,
            Err(error) if error.is_conflict() => continue,
            Err(error) => panic!("append: {error}"),
        }
    }
}
