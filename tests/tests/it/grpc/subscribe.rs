//! Catch-up subscriptions: confirmation, history, then live events with no gap and no
//! duplicate at the hand-over while 8 writers append; filters; checkpoints.

use super::support::{client, json_event};
use eventstore::{
    AppendToStreamOptions, StreamPosition, SubscribeToAllOptions, SubscribeToStreamOptions,
    SubscriptionEvent, SubscriptionFilter,
};
use keel_tests::{app::spawn_app, Backend};
use std::collections::HashMap;
use std::time::Duration;

both_backends!(
    an_all_subscription_gets_every_event_once_in_order_across_the_hand_over,
    a_stream_subscription_gets_every_revision_once_in_order,
    filters_select_by_stream_and_type_and_checkpoints_arrive,
);

const WRITERS: u64 = 8;
const PER_WRITER: u64 = 40;
const HISTORY: u64 = 200;

async fn an_all_subscription_gets_every_event_once_in_order_across_the_hand_over(backend: Backend) {
    let app = spawn_app(backend).await;
    let writer = client(&app, &app.admin_key);
    let history: Vec<_> = (0..HISTORY).map(|n| json_event("H", n)).collect();
    writer
        .append_to_stream("w-history", &AppendToStreamOptions::default(), history)
        .await
        .unwrap();
    let subscriber = client(&app, &app.admin_key);
    let filter = SubscriptionFilter::on_stream_name().add_prefix("w-");
    let mut subscription = subscriber
        .subscribe_to_all(&SubscribeToAllOptions::default().filter(filter))
        .await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let client = writer.clone();
            tokio::spawn(async move {
                for n in 0..PER_WRITER {
                    client
                        .append_to_stream(
                            format!("w-{w}"),
                            &AppendToStreamOptions::default(),
                            json_event("L", n),
                        )
                        .await
                        .expect("appended");
                }
            })
        })
        .collect();
    let total = HISTORY + WRITERS * PER_WRITER;
    let mut last_position = 0;
    let mut next_revision: HashMap<String, u64> = HashMap::new();
    let mut seen = 0;
    while seen < total {
        let event = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .expect("events keep coming")
            .expect("the subscription stays up");
        let event = event.get_original_event();
        assert!(
            event.position.commit > last_position,
            "in order, no duplicate"
        );
        last_position = event.position.commit;
        let revision = next_revision.entry(event.stream_id.clone()).or_default();
        assert_eq!(event.revision, *revision, "no gap in {}", event.stream_id);
        *revision += 1;
        seen += 1;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(next_revision["w-history"], HISTORY);
    for w in 0..WRITERS {
        assert_eq!(next_revision[&format!("w-{w}")], PER_WRITER);
    }
    // Nothing more arrives: no duplicate after the last.
    let extra = tokio::time::timeout(Duration::from_millis(700), subscription.next()).await;
    assert!(extra.is_err(), "an unexpected event: {extra:?}");
}

async fn a_stream_subscription_gets_every_revision_once_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let writer = client(&app, &app.admin_key);
    writer
        .append_to_stream(
            "shared",
            &AppendToStreamOptions::default(),
            (0..50).map(|n| json_event("H", n)).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let mut subscription = writer
        .subscribe_to_stream(
            "shared",
            &SubscribeToStreamOptions::default().start_from(StreamPosition::Start),
        )
        .await;
    let first = subscription.next_subscription_event().await.unwrap();
    assert!(
        matches!(first, SubscriptionEvent::Confirmed(_)),
        "{first:?}"
    );
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let client = writer.clone();
            tokio::spawn(async move {
                for n in 0..20 {
                    client
                        .append_to_stream(
                            "shared",
                            &AppendToStreamOptions::default(),
                            json_event("L", n),
                        )
                        .await
                        .expect("any: never a conflict");
                }
            })
        })
        .collect();
    for expected in 0..50 + WRITERS * 20 {
        let event = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .expect("events keep coming")
            .unwrap();
        assert_eq!(event.get_original_event().revision, expected);
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

async fn filters_select_by_stream_and_type_and_checkpoints_arrive(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app, &app.admin_key);
    for (stream, event_type) in [
        ("cart-1", "ItemAdded"),
        ("order-1", "OrderPlaced"),
        ("order-2", "OrderPaid"),
        ("user-1", "Registered"),
    ] {
        client
            .append_to_stream(
                stream,
                &AppendToStreamOptions::default(),
                json_event(event_type, 0),
            )
            .await
            .unwrap();
    }
    let collect = |filter: SubscriptionFilter, n: usize| {
        let client = client.clone();
        async move {
            let mut subscription = client
                .subscribe_to_all(&SubscribeToAllOptions::default().filter(filter))
                .await;
            let mut types = Vec::new();
            for _ in 0..n {
                let event = tokio::time::timeout(Duration::from_secs(10), subscription.next())
                    .await
                    .unwrap()
                    .unwrap();
                types.push(event.get_original_event().event_type.clone());
            }
            types
        }
    };
    assert_eq!(
        collect(
            SubscriptionFilter::on_event_type().regex("^Order(Placed|Paid)$"),
            2
        )
        .await,
        ["OrderPlaced", "OrderPaid"]
    );
    assert_eq!(
        collect(
            SubscriptionFilter::on_stream_name()
                .add_prefix("cart-")
                .add_prefix("user-"),
            2
        )
        .await,
        ["ItemAdded", "Registered"]
    );
    assert_eq!(
        collect(
            SubscriptionFilter::on_stream_name().regex("^order-[0-9]+$"),
            2
        )
        .await,
        ["OrderPlaced", "OrderPaid"]
    );

    let mut subscription = client
        .subscribe_to_all(
            &SubscribeToAllOptions::default().filter(
                SubscriptionFilter::on_event_type()
                    .add_prefix("Nothing")
                    .max(1),
            ),
        )
        .await;
    let checkpoint = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let SubscriptionEvent::Checkpoint(position) =
                subscription.next_subscription_event().await.unwrap()
            {
                return position;
            }
        }
    })
    .await
    .expect("a checkpoint although nothing matched");
    assert!(checkpoint.commit > 0);
}
