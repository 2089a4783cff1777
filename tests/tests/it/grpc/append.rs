//! `Streams.Append` and `Streams.BatchAppend`: every expected-revision kind, wrong-version
//! details, idempotent re-appends, byte-exact round trips.

use super::support::{client, json_event};
use bytes::Bytes;
use eventstore::{
    AppendToStreamOptions, BatchAppendOptions, CurrentRevision, Error, EventData, ExpectedRevision,
    ReadStreamOptions, StreamPosition,
};
use keel_tests::{app::spawn_app, Backend};
use uuid::Uuid;

both_backends!(
    events_round_trip_byte_for_byte_with_their_ids_and_content_type,
    every_expected_revision_kind_is_checked_with_details,
    re_appending_the_same_events_is_idempotent,
    batch_append_echoes_the_correlation_id_and_stream,
);

async fn events_round_trip_byte_for_byte_with_their_ids_and_content_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    let json_id = Uuid::now_v7();
    let binary_id = Uuid::now_v7();
    let custom = Bytes::from_static(b"\x00\xffcustom {\"not\": json");
    let events = vec![
        EventData::json(
            "OrderPlaced",
            &serde_json::json!({"total": 12.5, "items": ["a"]}),
        )
        .unwrap()
        .id(json_id)
        .metadata(Bytes::from_static(b"{\"trace\":\"t-1\"}")),
        EventData::binary("Blob", Bytes::from(binary.clone()))
            .id(binary_id)
            .metadata(custom.clone()),
    ];
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let written = client
        .append_to_stream("orders-1", &AppendToStreamOptions::default(), events)
        .await
        .expect("appended");
    assert_eq!(written.next_expected_version, 1);
    assert!(written.position.commit > 0);
    assert_eq!(written.position.commit, written.position.prepare);

    let mut read = client
        .read_stream("orders-1", &ReadStreamOptions::default())
        .await
        .expect("a read");
    let first = read.next().await.unwrap().expect("an event");
    let first = first.get_original_event();
    assert_eq!(first.id, json_id);
    assert_eq!(first.stream_id, "orders-1");
    assert_eq!(first.revision, 0);
    assert_eq!(first.event_type, "OrderPlaced");
    assert!(first.is_json);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&first.data).unwrap(),
        serde_json::json!({"total": 12.5, "items": ["a"]})
    );
    assert_eq!(&first.custom_metadata[..], b"{\"trace\":\"t-1\"}");
    assert!(first.created >= before && first.created <= chrono::Utc::now());
    let second = read.next().await.unwrap().expect("an event");
    let second = second.get_original_event();
    assert_eq!(second.id, binary_id);
    assert_eq!(second.revision, 1);
    assert!(!second.is_json);
    assert_eq!(
        second.metadata.get("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(&second.data[..], &binary[..]);
    assert_eq!(second.custom_metadata, custom);
    assert_eq!(second.position, written.position);
    assert!(read.next().await.unwrap().is_none());
}

async fn every_expected_revision_kind_is_checked_with_details(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let expecting = |revision| AppendToStreamOptions::default().expected_revision(revision);
    let wrong = |result: eventstore::Result<eventstore::WriteResult>| match result {
        Err(Error::WrongExpectedVersion { expected, current }) => (expected, current),
        other => panic!("expected a wrong expected version, got {other:?}"),
    };

    assert_eq!(
        wrong(
            client
                .append_to_stream(
                    "s",
                    &expecting(ExpectedRevision::StreamExists),
                    json_event("E", 0)
                )
                .await
        ),
        (ExpectedRevision::StreamExists, CurrentRevision::NoStream)
    );
    assert_eq!(
        wrong(
            client
                .append_to_stream(
                    "s",
                    &expecting(ExpectedRevision::Exact(0)),
                    json_event("E", 0)
                )
                .await
        ),
        (ExpectedRevision::Exact(0), CurrentRevision::NoStream)
    );
    let created = client
        .append_to_stream(
            "s",
            &expecting(ExpectedRevision::NoStream),
            json_event("E", 0),
        )
        .await
        .expect("no stream: created");
    assert_eq!(created.next_expected_version, 0);
    assert_eq!(
        wrong(
            client
                .append_to_stream(
                    "s",
                    &expecting(ExpectedRevision::NoStream),
                    json_event("E", 1)
                )
                .await
        ),
        (ExpectedRevision::NoStream, CurrentRevision::Current(0))
    );
    let exact = client
        .append_to_stream(
            "s",
            &expecting(ExpectedRevision::Exact(0)),
            json_event("E", 1),
        )
        .await
        .expect("exact");
    assert_eq!(exact.next_expected_version, 1);
    assert_eq!(
        wrong(
            client
                .append_to_stream(
                    "s",
                    &expecting(ExpectedRevision::Exact(0)),
                    json_event("E", 2)
                )
                .await
        ),
        (ExpectedRevision::Exact(0), CurrentRevision::Current(1))
    );
    let exists = client
        .append_to_stream(
            "s",
            &expecting(ExpectedRevision::StreamExists),
            json_event("E", 2),
        )
        .await
        .expect("stream exists");
    assert_eq!(exists.next_expected_version, 2);
    let any = client
        .append_to_stream(
            "s",
            &expecting(ExpectedRevision::Any),
            vec![json_event("E", 3), json_event("E", 4)],
        )
        .await
        .expect("any");
    assert_eq!(any.next_expected_version, 4);
    assert!(any.position > exists.position);
}

async fn re_appending_the_same_events_is_idempotent(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let events = vec![json_event("E", 0), json_event("E", 1)];
    let options = AppendToStreamOptions::default().expected_revision(ExpectedRevision::NoStream);
    let first = client
        .append_to_stream("idem", &options, events.clone())
        .await
        .unwrap();
    let again = client
        .append_to_stream("idem", &options, events.clone())
        .await
        .expect("the same append again succeeds");
    assert_eq!(again.next_expected_version, first.next_expected_version);
    assert_eq!(again.position, first.position);
    let any = AppendToStreamOptions::default();
    client.append_to_stream("idem", &any, events).await.unwrap();
    let all = client
        .read_stream("idem", &ReadStreamOptions::default().max_count(10))
        .await
        .unwrap();
    let mut all = all;
    let mut count = 0;
    while all.next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 2, "nothing stored twice");
}

async fn batch_append_echoes_the_correlation_id_and_stream(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let info = client.server_info().await.expect("server features");
    assert_eq!(info.version().to_string(), env!("CARGO_PKG_VERSION"));
    let batch = client
        .batch_append(&BatchAppendOptions::default())
        .await
        .expect("batch append is offered");
    let written = batch
        .append_to_stream(
            "batched",
            ExpectedRevision::NoStream,
            (0..50).map(|n| json_event("B", n)).collect::<Vec<_>>(),
        )
        .await
        .expect("appended");
    assert_eq!(written.stream_name(), "batched");
    assert_eq!(written.current_revision(), Some(49));
    assert_eq!(written.expected_version(), Some(ExpectedRevision::NoStream));
    let refused = batch
        .append_to_stream(
            "batched",
            ExpectedRevision::NoStream,
            vec![json_event("B", 99)],
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let mut read = client
        .read_stream(
            "batched",
            &ReadStreamOptions::default()
                .position(StreamPosition::End)
                .backwards()
                .max_count(1),
        )
        .await
        .unwrap();
    let last = read.next().await.unwrap().unwrap();
    assert_eq!(last.get_original_event().revision, 49);
}
