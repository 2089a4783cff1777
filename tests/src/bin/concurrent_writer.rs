//! A separate writer process for the multi-process ordering and crash tests.
//!
//! Usage: `concurrent_writer <database-url> <appends> <concurrency> [--acks]`. Appends
//! `<appends>` batches of 1 to 3 events to random streams, from `<concurrency>` tasks at once,
//! then prints the number of events written and exits. With `--acks`, it also prints the id of
//! every event as soon as its append is acknowledged (one per line, `ack <uuid>`), so that a test
//! can kill it at any moment and know what the store promised to keep.

use keel_commands::store::{open, ExpectedVersion, StoreOptions};
use keel_tests::sample_event;
use rand::Rng;
use std::io::Write;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, appends, concurrency, acks) = match args.as_slice() {
        [_, url, appends, concurrency] => (url, appends, concurrency, false),
        [_, url, appends, concurrency, flag] if flag == "--acks" => {
            (url, appends, concurrency, true)
        }
        _ => {
            eprintln!("usage: concurrent_writer <database-url> <appends> <concurrency> [--acks]");
            std::process::exit(2);
        }
    };
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
                for _ in (task..appends).step_by(concurrency) {
                    let (stream, count) = {
                        let mut rng = rand::thread_rng();
                        (rng.gen_range(0..20), rng.gen_range(1..=3))
                    };
                    let events: Vec<_> = (0..count).map(|_| sample_event("test.written")).collect();
                    let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
                    store
                        .append(
                            &format!("writer-{label}-{stream}"),
                            ExpectedVersion::Any,
                            events,
                        )
                        .await
                        .expect("append");
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
