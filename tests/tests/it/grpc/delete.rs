//! `Streams.Delete` (soft: written again from the next revision) and `Streams.Tombstone`
//! (never again), with the errors clients recognise; `UNIMPLEMENTED` for what Keel lacks.

use super::support::{client, json_event};
use eventstore::{
    AppendToStreamOptions, DeleteStreamOptions, Error, ExpectedRevision,
    PersistentSubscriptionOptions, ReadStreamOptions, TombstoneStreamOptions,
};
use keel_tests::{app::spawn_app, Backend};

both_backends!(
    a_soft_deleted_stream_is_written_again_from_the_next_revision,
    a_tombstoned_stream_is_never_written_or_read_again,
    what_keel_does_not_offer_is_unimplemented,
);

async fn revisions(client: &eventstore::Client, stream: &str) -> eventstore::Result<Vec<u64>> {
    let mut read = client
        .read_stream(stream, &ReadStreamOptions::default())
        .await?;
    let mut revisions = Vec::new();
    while let Some(event) = read.next().await? {
        revisions.push(event.get_original_event().revision);
    }
    Ok(revisions)
}

async fn a_soft_deleted_stream_is_written_again_from_the_next_revision(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    client
        .append_to_stream(
            "soft",
            &AppendToStreamOptions::default(),
            vec![json_event("E", 0), json_event("E", 1)],
        )
        .await
        .unwrap();
    let wrong = client
        .delete_stream(
            "soft",
            &DeleteStreamOptions::default().expected_revision(ExpectedRevision::Exact(0)),
        )
        .await;
    assert!(
        wrong.is_err(),
        "the expected revision is checked: {wrong:?}"
    );
    let deleted = client
        .delete_stream(
            "soft",
            &DeleteStreamOptions::default().expected_revision(ExpectedRevision::Exact(1)),
        )
        .await
        .unwrap();
    assert!(deleted.is_some());
    assert!(matches!(
        revisions(&client, "soft").await,
        Err(Error::ResourceNotFound)
    ));
    let again = client
        .append_to_stream(
            "soft",
            &AppendToStreamOptions::default().expected_revision(ExpectedRevision::NoStream),
            json_event("E", 2),
        )
        .await
        .expect("a deleted stream is written again");
    assert_eq!(again.next_expected_version, 2, "from the next revision");
    client
        .append_to_stream(
            "soft",
            &AppendToStreamOptions::default().expected_revision(ExpectedRevision::Exact(2)),
            json_event("E", 3),
        )
        .await
        .unwrap();
    assert_eq!(
        revisions(&client, "soft").await.unwrap(),
        vec![2, 3],
        "only the new life"
    );
}

async fn a_tombstoned_stream_is_never_written_or_read_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    client
        .append_to_stream(
            "gone",
            &AppendToStreamOptions::default(),
            json_event("E", 0),
        )
        .await
        .unwrap();
    client
        .tombstone_stream("gone", &TombstoneStreamOptions::default())
        .await
        .unwrap();
    let write = client
        .append_to_stream(
            "gone",
            &AppendToStreamOptions::default(),
            json_event("E", 1),
        )
        .await;
    assert!(matches!(write, Err(Error::ResourceDeleted)), "{write:?}");
    assert!(matches!(
        revisions(&client, "gone").await,
        Err(Error::ResourceDeleted)
    ));
    let delete = client
        .delete_stream("gone", &DeleteStreamOptions::default())
        .await;
    assert!(matches!(delete, Err(Error::ResourceDeleted)), "{delete:?}");
    // A stream never written can be tombstoned too, so it is never created.
    client
        .tombstone_stream(
            "never",
            &TombstoneStreamOptions::default().expected_revision(ExpectedRevision::NoStream),
        )
        .await
        .unwrap();
    let write = client
        .append_to_stream(
            "never",
            &AppendToStreamOptions::default(),
            json_event("E", 0),
        )
        .await;
    assert!(matches!(write, Err(Error::ResourceDeleted)), "{write:?}");
}

async fn what_keel_does_not_offer_is_unimplemented(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    let result = client
        .create_persistent_subscription("s", "group", &PersistentSubscriptionOptions::default())
        .await;
    assert!(
        matches!(result, Err(Error::UnsupportedFeature)),
        "{result:?}"
    );
}
