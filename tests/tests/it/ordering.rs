//! Global order without gaps: a follower of `read_all` must receive every event exactly once,
//! in order, while writers in several processes commit concurrently and out of sequence.

use futures::StreamExt;
use keel_store::{subscribe, ExpectedVersion};
use keel_tests::{sample_event, Backend, TestDatabase};
use std::collections::HashSet;
use std::time::Duration;

both_backends!(a_follower_misses_nothing_while_several_processes_append);

/// Appends per writer process, and that process's concurrent tasks.
const APPENDS_PER_PROCESS: usize = 400;
const TASKS_PER_PROCESS: usize = 8;

async fn a_follower_misses_nothing_while_several_processes_append(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;

    // The follower starts before any writer, so it reads while they commit.
    let follower = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut events = Box::pin(subscribe(store, 0, 50));
            while let Ok(Some(event)) =
                tokio::time::timeout(Duration::from_secs(5), events.next()).await
            {
                let event = event.expect("read_all");
                seen.push((event.global_position, event.event_id));
            }
            seen
        })
    };

    // One writer process expects any version, the other exact versions (the command handler's
    // way): on the streams they share, each meets commits of the other process, so exact
    // versions conflict and the any-writer's remembered versions go stale, and PostgreSQL's
    // one-round-trip and locked paths commit interleaved.
    let writers: Vec<_> = [None, Some("--exact")]
        .into_iter()
        .map(|mode| {
            let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_concurrent_writer"));
            command.args([
                db.url.as_str(),
                &APPENDS_PER_PROCESS.to_string(),
                &TASKS_PER_PROCESS.to_string(),
            ]);
            command.args(mode);
            command.kill_on_drop(true).output()
        })
        .collect();
    // This process writes too, so commits interleave across three processes.
    let local = {
        let store = store.clone();
        tokio::spawn(async move {
            let tasks: Vec<_> = (0..8u64)
                .map(|task| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        for i in 0..50u64 {
                            // The exact version on this task's own stream.
                            store
                                .append(
                                    &format!("local-{task}"),
                                    ExpectedVersion::Exact(i),
                                    vec![sample_event("t.local")],
                                )
                                .await
                                .unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            8 * 50
        })
    };

    let mut total: usize = local.await.unwrap();
    for output in futures::future::join_all(writers).await {
        let output = output.expect("run the writer process");
        assert!(
            output.status.success(),
            "writer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        total += String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<usize>()
            .expect("the writer prints its count");
    }

    let seen = follower.await.unwrap();
    let stored: Vec<_> = store.read_all(0, 100_000).await.unwrap();
    assert_eq!(stored.len(), total, "every append was stored");
    assert_eq!(seen.len(), total, "the follower received every event");
    let positions: Vec<u64> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        positions,
        (1..=total as u64).collect::<Vec<_>>(),
        "in order, no gaps"
    );
    let seen_ids: HashSet<_> = seen.iter().map(|(_, id)| *id).collect();
    let stored_ids: HashSet<_> = stored.iter().map(|e| e.event_id).collect();
    assert_eq!(seen_ids, stored_ids);
}
