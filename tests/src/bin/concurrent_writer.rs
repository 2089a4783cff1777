//! A separate writer process for the multi-process ordering tests.
//!
//! Usage: `concurrent_writer <database-url> <appends> <concurrency>`. Appends `<appends>`
//! batches of 1 to 3 events to random streams, from `<concurrency>` tasks at once, then prints
//! the number of events written and exits.

use keel_commands::store::{open, ExpectedVersion, StoreOptions};
use keel_tests::sample_event;
use rand::Rng;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, appends, concurrency] = args.as_slice() else {
        eprintln!("usage: concurrent_writer <database-url> <appends> <concurrency>");
        std::process::exit(2);
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
                    let events = (0..count).map(|_| sample_event("test.written")).collect();
                    store
                        .append(
                            &format!("writer-{label}-{stream}"),
                            ExpectedVersion::Any,
                            events,
                        )
                        .await
                        .expect("append");
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
