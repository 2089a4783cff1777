//! `Streams.Read`: a stream and `$all`, forwards and backwards, from a revision or position,
//! with counts; the missing-stream answer.

use super::support::{client, json_event};
use eventstore::{
    AppendToStreamOptions, Error, Position, ReadAllOptions, ReadStream, ReadStreamOptions,
    ResolvedEvent, StreamPosition,
};
use keel_tests::{app::spawn_app, Backend};

both_backends!(
    streams_read_both_ways_from_any_revision_with_counts,
    all_reads_both_ways_from_any_position,
    all_reads_page_on_past_500_events_and_stop_at_their_count,
    a_missing_stream_is_not_found,
);

async fn drain(mut read: ReadStream) -> Vec<ResolvedEvent> {
    let mut events = Vec::new();
    while let Some(event) = read.next().await.expect("a read") {
        events.push(event);
    }
    events
}

async fn read_long(client: &eventstore::Client, options: ReadStreamOptions) -> Vec<ResolvedEvent> {
    drain(client.read_stream("long", &options).await.unwrap()).await
}

fn revisions(events: &[ResolvedEvent]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e.get_original_event().revision)
        .collect()
}

async fn streams_read_both_ways_from_any_revision_with_counts(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let events: Vec<_> = (0..1200).map(|n| json_event("E", n)).collect();
    client
        .append_to_stream("long", &AppendToStreamOptions::default(), events)
        .await
        .unwrap();
    let all = read_long(&client, ReadStreamOptions::default().max_count(5000)).await;
    assert_eq!(
        revisions(&all),
        (0..1200).collect::<Vec<_>>(),
        "paged past 500"
    );
    let from = read_long(
        &client,
        ReadStreamOptions::default()
            .position(StreamPosition::Position(700))
            .max_count(3),
    )
    .await;
    assert_eq!(revisions(&from), vec![700, 701, 702]);
    let back = read_long(
        &client,
        ReadStreamOptions::default()
            .position(StreamPosition::End)
            .backwards()
            .max_count(3),
    )
    .await;
    assert_eq!(revisions(&back), vec![1199, 1198, 1197]);
    let back_from = read_long(
        &client,
        ReadStreamOptions::default()
            .position(StreamPosition::Position(2))
            .backwards()
            .max_count(10),
    )
    .await;
    assert_eq!(revisions(&back_from), vec![2, 1, 0]);
    let past_end = read_long(
        &client,
        ReadStreamOptions::default().position(StreamPosition::Position(5000)),
    )
    .await;
    assert!(past_end.is_empty());
}

async fn all_reads_both_ways_from_any_position(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    for stream in ["a", "b", "c"] {
        let events: Vec<_> = (0..3).map(|n| json_event("E", n)).collect();
        client
            .append_to_stream(stream, &AppendToStreamOptions::default(), events)
            .await
            .unwrap();
    }
    let forwards = drain(
        client
            .read_all(&ReadAllOptions::default().max_count(100_000))
            .await
            .unwrap(),
    )
    .await;
    let ours: Vec<_> = forwards
        .iter()
        .filter(|e| ["a", "b", "c"].contains(&e.get_original_event().stream_id.as_str()))
        .collect();
    assert_eq!(ours.len(), 9);
    let positions: Vec<u64> = forwards
        .iter()
        .map(|e| e.get_original_event().position.commit)
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in log order");
    // Keel's own events (the admin key's registration) come first, as JSON.
    assert!(forwards[0].get_original_event().is_json);

    let backwards = drain(
        client
            .read_all(
                &ReadAllOptions::default()
                    .position(StreamPosition::End)
                    .backwards()
                    .max_count(4),
            )
            .await
            .unwrap(),
    )
    .await;
    let back: Vec<u64> = backwards
        .iter()
        .map(|e| e.get_original_event().position.commit)
        .collect();
    let mut expected: Vec<u64> = positions.iter().rev().take(4).copied().collect();
    assert_eq!(back, expected);

    let middle = positions[positions.len() - 5];
    let at = Position {
        commit: middle,
        prepare: middle,
    };
    let from = drain(
        client
            .read_all(
                &ReadAllOptions::default()
                    .position(StreamPosition::Position(at))
                    .max_count(2),
            )
            .await
            .unwrap(),
    )
    .await;
    let from: Vec<u64> = from
        .iter()
        .map(|e| e.get_original_event().position.commit)
        .collect();
    assert_eq!(
        from,
        positions[positions.len() - 5..positions.len() - 3].to_vec()
    );
    let before = drain(
        client
            .read_all(
                &ReadAllOptions::default()
                    .position(StreamPosition::Position(at))
                    .backwards()
                    .max_count(2),
            )
            .await
            .unwrap(),
    )
    .await;
    let before: Vec<u64> = before
        .iter()
        .map(|e| e.get_original_event().position.commit)
        .collect();
    expected = vec![
        positions[positions.len() - 6],
        positions[positions.len() - 7],
    ];
    assert_eq!(before, expected);
}

async fn a_missing_stream_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let mut read = client
        .read_stream("nothing-here", &ReadStreamOptions::default())
        .await
        .unwrap();
    assert!(matches!(read.next().await, Err(Error::ResourceNotFound)));
}

/// `$all` forwards is read page by page (500 events), the next page while the last is sent:
/// every event once, in order, across pages, and a count that ends inside a page is kept.
async fn all_reads_page_on_past_500_events_and_stop_at_their_count(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    for batch in 0..3 {
        let events: Vec<_> = (0..400).map(|n| json_event("E", batch * 400 + n)).collect();
        client
            .append_to_stream("paged", &AppendToStreamOptions::default(), events)
            .await
            .unwrap();
    }
    let read = |count: usize| {
        let client = client.clone();
        async move {
            let options = ReadAllOptions::default().max_count(count);
            drain(client.read_all(&options).await.unwrap()).await
        }
    };
    let everything = read(100_000).await;
    let revisions: Vec<u64> = everything
        .iter()
        .filter(|e| e.get_original_event().stream_id == "paged")
        .map(|e| e.get_original_event().revision)
        .collect();
    assert_eq!(
        revisions,
        (0..1200).collect::<Vec<_>>(),
        "each event once, in order"
    );
    let positions: Vec<u64> = everything
        .iter()
        .map(|e| e.get_original_event().position.commit)
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in log order");

    let some = read(700).await;
    let some: Vec<u64> = some
        .iter()
        .map(|e| e.get_original_event().position.commit)
        .collect();
    assert_eq!(some, positions[..700].to_vec(), "the first 700, no more");
}
