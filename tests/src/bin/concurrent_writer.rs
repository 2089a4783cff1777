//! A separate writer process for the multi-process ordering and crash tests.
//!
//! Usage: `concurrent_writer <database-url> <appends> <concurrency> [--acks]`. Appends
//! `<appends>` batches of 1 to 3 events to random streams, from `<concurrency>` tasks at once,
//! then prints the number of events written and exits. Half the appends expect any version on
//! this process's own streams; the other half expect the exact version they read, on streams
//! shared by every writer process, and read again after a conflict. With `--acks`, it also prints the id of
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
                for (i, _) in (task..appends).step_by(concurrency).enumerate() {
                    let count = rand::thread_rng().gen_range(1..=3);
                    let events: Vec<_> = (0..count).map(|_| sample_event("test.written")).collect();
                    let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
                    if i % 2 == 0 {
                        // Any version: the store decides on locked rows.
                        let stream = rand::thread_rng().gen_range(0..20);
                        store
                            .append(
                                &format!("writer-{label}-{stream}"),
                                ExpectedVersion::Any,
                                events,
                            )
                            .await
                            .expect("append");
                    } else {
                        // An exact version, as the command handler appends, on streams every
                        // writer process shares, so that appends planned on a stale version
                        // meet each other across processes.
                        let stream = format!("shared-{}", rand::thread_rng().gen_range(0..4));
                        loop {
                            let version = store.stream_version(&stream).await.expect("version");
                            match store
                                .append(&stream, ExpectedVersion::Exact(version), events.clone())
                                .await
                            {
                                Ok(_) => break,
                                Err(error) if error.is_conflict() => continue,
                                Err(error) => panic!("append: {error}"),
                            }
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
