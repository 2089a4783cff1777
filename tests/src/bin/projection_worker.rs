//! A projection worker in a process of its own, for crash tests: it applies a projection
//! (`audit` unless named) in small batches and prints each new checkpoint (`at <position>`),
//! until it is killed or has caught up with `<target>` events.
//!
//! Usage: `projection_worker <database url> <batch size> <target position> [<projection>]`

use keel_projections::framework::batch::BatchStep;
use keel_projections::framework::worker::Worker;
use keel_tests::AsLog;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, batch, target, name) = match args.as_slice() {
        [_, url, batch, target] => (url, batch, target, "audit"),
        [_, url, batch, target, name] => (url, batch, target, name.as_str()),
        _ => panic!(
            "usage: projection_worker <database url> <batch size> <target position> [<projection>]"
        ),
    };
    let batch: usize = batch.parse().expect("a batch size");
    let target: u64 = target.parse().expect("a target position");
    let store = keel_store::open(url, &Default::default())
        .await
        .expect("open the store");
    keel_projections::setup(&store.log())
        .await
        .expect("set up the read side");
    let projection = keel_projections::projection(name).expect("a known projection");
    let worker = Worker::new(projection, store, batch);
    loop {
        match worker.step().await.expect("a step") {
            BatchStep::Applied { to, .. } => {
                println!("at {to}");
                if to >= target {
                    return;
                }
            }
            BatchStep::CaughtUp => tokio::time::sleep(Duration::from_millis(20)).await,
            BatchStep::Failed(failure) => panic!("the projection failed: {failure:?}"),
        }
    }
}
