//! Publishing over NATS JetStream: every committed event reaches a subscriber once, in order,
//! with its CloudEvents and Keel headers; a killed relay and a NATS outage lose nothing; a
//! consumer written without Keel's code (Python) decodes the events.

use async_nats::jetstream::Message;
use keel_reactors::relay::{Relay, RelayCheckpoint};
use keel_store::{EventStore, ExpectedVersion, RecordedEvent, StreamAppend};
use keel_tests::app::{spawn_app_with, TestApp};
use keel_tests::nats::{PrivateNats, TestStream};
use keel_tests::{sample_event, Backend, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

both_backends!(
    every_event_is_published_once_in_order_with_all_headers,
    a_killed_relay_resumes_from_its_checkpoint_and_duplicates_are_absorbed,
    events_committed_while_nats_is_down_are_published_when_it_returns,
);

/// Commands of several kinds on two tenants; returns the tenant ids.
async fn some_commands(app: &TestApp, tag: &str) -> Vec<String> {
    let mut tenants = Vec::new();
    for i in 0..2 {
        let id = app.create_tenant(&format!("{tag}-{i}")).await;
        for name in ["Renamed once", "Renamed twice"] {
            let reply = app
                .post(&format!("/v1/tenants/{id}/rename"), json!({ "name": name }))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        }
        tenants.push(id);
    }
    let reply = app
        .post(
            &format!("/v1/tenants/{}/suspend", tenants[0]),
            json!({ "reason": "unpaid invoices" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    tenants
}

/// Polls `/readyz` until the relay has published everything committed (bounded).
pub(crate) async fn wait_until_published(app: &TestApp) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let reply = app.get("/readyz").await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let relay = &reply.body["relay"];
        if relay["lag"] == 0 && relay["position"] == reply.body["head_position"] {
            return reply.body;
        }
        last = reply.body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay did not catch up: {last}");
}

fn header(message: &Message, name: &str) -> Option<String> {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_owned())
}

/// Checks that `messages` are exactly `events`, one each, in order, with every header.
fn assert_published_as_stored(stream: &TestStream, messages: &[Message], events: &[RecordedEvent]) {
    assert_eq!(messages.len(), events.len(), "one message per event");
    let mut versions: HashMap<&str, u64> = HashMap::new();
    for (message, event) in messages.iter().zip(events) {
        let (aggregate, fact) = event.event_type.split_once('.').unwrap();
        assert_eq!(
            message.subject.as_str(),
            format!(
                "{}.{}.{aggregate}.{fact}",
                stream.prefix, event.metadata.tenant_id
            )
        );
        let id = event.event_id.to_string();
        let expect = [
            ("ce-specversion", "1.0".to_owned()),
            ("ce-id", id.clone()),
            (
                "ce-source",
                format!("/keel/tenants/{}", event.metadata.tenant_id),
            ),
            ("ce-type", event.event_type.clone()),
            ("ce-subject", event.stream_id.clone()),
            ("Content-Type", "application/msgpack".to_owned()),
            ("Keel-Stream-Version", event.stream_version.to_string()),
            ("Keel-Global-Position", event.global_position.to_string()),
            ("Keel-Tenant-Id", event.metadata.tenant_id.to_string()),
            ("Keel-Schema-Version", event.schema_version.to_string()),
            (
                "Keel-Correlation-Id",
                event.metadata.correlation_id.to_string(),
            ),
            (
                "Keel-Actor",
                serde_json::to_string(&event.metadata.actor).unwrap(),
            ),
            (
                "Keel-Recorded-At",
                event
                    .recorded_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
            ("Nats-Msg-Id", id),
        ];
        for (name, value) in expect {
            assert_eq!(
                header(message, name).as_deref(),
                Some(value.as_str()),
                "header {name}"
            );
        }
        assert_eq!(
            header(message, "Keel-Causation-Id"),
            event.metadata.causation_id.map(|c| c.to_string())
        );
        let time = header(message, "ce-time").expect("ce-time");
        let time = chrono::DateTime::parse_from_rfc3339(&time).expect("ce-time is RFC 3339");
        assert_eq!(
            time.timestamp_micros(),
            event.metadata.occurred_at.timestamp_micros()
        );
        assert_eq!(
            &message.payload[..],
            &event.outward_payload()[..],
            "the body is the stored payload (secret fields removed)"
        );
        // Per-stream order: each stream's versions arrive 1, 2, 3...
        let seen = versions.entry(event.stream_id.as_str()).or_insert(0);
        assert_eq!(
            header(message, "Keel-Stream-Version").unwrap(),
            (*seen + 1).to_string(),
            "stream {} out of order",
            event.stream_id
        );
        *seen += 1;
    }
}

async fn every_event_is_published_once_in_order_with_all_headers(backend: Backend) {
    let stream = TestStream::new();
    let app = spawn_app_with(backend, |s| stream.configure(s)).await;
    let tenants = some_commands(&app, "pub").await;
    let ready = wait_until_published(&app).await;
    assert_eq!(ready["relay"]["status"], "ok");

    let events = app.db.open().await.read_all(0, 100_000).await.unwrap();
    let messages = stream.read(None, events.len()).await;
    assert_published_as_stored(&stream, &messages, &events);
    assert_eq!(
        stream.message_count().await,
        events.len() as u64,
        "nothing twice"
    );

    // Subjects let a consumer take one tenant, or one event type.
    let tenant = &tenants[1];
    let own: Vec<_> = events
        .iter()
        .filter(|e| e.metadata.tenant_id.to_string() == *tenant)
        .collect();
    let filtered = stream
        .read(Some(&format!("{}.{tenant}.>", stream.prefix)), own.len())
        .await;
    let ids: Vec<_> = filtered
        .iter()
        .map(|m| header(m, "ce-id").unwrap())
        .collect();
    assert_eq!(
        ids,
        own.iter()
            .map(|e| e.event_id.to_string())
            .collect::<Vec<_>>()
    );
    let suspended = stream
        .read(Some(&format!("{}.*.tenant.suspended", stream.prefix)), 1)
        .await;
    assert_eq!(
        header(&suspended[0], "Keel-Tenant-Id").as_deref(),
        Some(tenants[0].as_str())
    );

    let metrics = app
        .send(reqwest::Method::GET, "/metrics", None, None, &[])
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = app.metrics().await;
    let head = events.last().unwrap().global_position;
    assert!(
        text.contains(&format!("keel_relay_position {head}")),
        "{text}"
    );
    assert!(text.contains("keel_relay_lag_events 0"), "{text}");
    assert!(text.contains("keel_relay_connected 1"), "{text}");
    assert!(
        text.contains(&format!("keel_relay_published_total {}", events.len())),
        "{text}"
    );
}

/// Appends `count` events over 20 streams, in appends of 50.
async fn append_many(store: &Arc<dyn EventStore>, count: usize) {
    for chunk in 0..count / 50 {
        let stream_id = format!("counter-{}", chunk % 20);
        store
            .append_streams(vec![StreamAppend {
                stream_id,
                expected: ExpectedVersion::Any,
                events: (0..50)
                    .map(|_| sample_event("counter.incremented"))
                    .collect(),
            }])
            .await
            .unwrap();
    }
}

pub(crate) async fn wait_for_position(relay: &keel_reactors::relay::RelayStatus, position: u64) {
    for _ in 0..600 {
        if relay.position() >= position {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the relay stopped at {:?}, short of {position}",
        relay.snapshot()
    );
}

async fn a_killed_relay_resumes_from_its_checkpoint_and_duplicates_are_absorbed(backend: Backend) {
    let stream = TestStream::new();
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_many(&store, 5000).await;

    let relay = Relay::start(stream.relay_config(), store.clone())
        .await
        .unwrap();
    let status = relay.status();
    let task = keel_tests::nats::run_relay(relay, &store).await;
    wait_for_position(&status, 1000).await;
    task.abort();
    let _ = task.await;
    let killed_at = status.position();
    assert!(killed_at < 5000, "killed mid-stream, at {killed_at}");

    // Rewind the checkpoint as if the relay had died between JetStream's ack and the
    // checkpoint write: everything since is in the stream already and must be absorbed (the
    // relay finds the stream's last event and skips what it holds), never stored twice.
    // (The checkpoint may trail the acknowledged position by one write, never lead it.)
    let checkpoint = RelayCheckpoint::open(store.database(), &stream.name)
        .await
        .unwrap();
    let saved = checkpoint.load().await.unwrap();
    assert!(saved <= killed_at, "checkpoint {saved}, acked {killed_at}");
    let rewound = saved.saturating_sub(500);
    checkpoint
        .save(rewound, &keel_tests::nats::test_lease(&store).await)
        .await
        .unwrap();
    append_many(&store, 1000).await;

    let relay = Relay::start(stream.relay_config(), store.clone())
        .await
        .unwrap();
    let status = relay.status();
    let task = keel_tests::nats::run_relay(relay, &store).await;
    wait_for_position(&status, 6000).await;
    task.abort();
    let snapshot = status.snapshot();
    assert!(
        snapshot.duplicates >= killed_at - rewound,
        "republished events were absorbed: {snapshot:?}"
    );
    assert_eq!(snapshot.published + snapshot.duplicates, 6000 - rewound);

    let events = store.read_all(0, 100_000).await.unwrap();
    assert_eq!(stream.message_count().await, 6000, "no event stored twice");
    let messages = stream.read(None, events.len()).await;
    let ids: Vec<_> = messages
        .iter()
        .map(|m| header(m, "ce-id").unwrap())
        .collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    let positions: Vec<u64> = messages
        .iter()
        .map(|m| header(m, "Keel-Global-Position").unwrap().parse().unwrap())
        .collect();
    if let Some(i) = (0..positions.len()).find(|&i| positions[i] != i as u64 + 1) {
        panic!(
            "out of log order at stream sequence {}: positions {:?} (killed at {killed_at}, rewound to {rewound})",
            i + 1,
            &positions[i.saturating_sub(3)..(i + 5).min(positions.len())]
        );
    }
    assert_eq!(
        ids,
        events
            .iter()
            .map(|e| e.event_id.to_string())
            .collect::<Vec<_>>()
    );
}

async fn events_committed_while_nats_is_down_are_published_when_it_returns(backend: Backend) {
    let mut nats = PrivateNats::start().await;
    let stream = TestStream::on(nats.url.clone());
    let app = spawn_app_with(backend, |s| stream.configure(s)).await;
    let first = app.create_tenant("outage-before").await;
    wait_until_published(&app).await;

    nats.kill().await;
    // The server keeps accepting commands while NATS is down.
    let mut during = Vec::new();
    for i in 0..3 {
        during.push(app.create_tenant(&format!("outage-during-{i}")).await);
        let reply = app
            .post(
                &format!("/v1/tenants/{first}/rename"),
                json!({ "name": format!("Name {i}") }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let mut failing = None;
    for _ in 0..200 {
        let ready = app.get("/readyz").await;
        assert_eq!(
            ready.status,
            StatusCode::OK,
            "a NATS outage does not make the server unready"
        );
        if ready.body["relay"]["status"] == "failing" {
            failing = Some(ready.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failing = failing.expect("readyz shows the relay failing while NATS is down");
    assert!(failing["relay"]["lag"].as_u64().unwrap() > 0, "{failing}");

    nats.restart().await;
    wait_until_published(&app).await;
    let events = app.db.open().await.read_all(0, 100_000).await.unwrap();
    let messages = stream.read(None, events.len()).await;
    assert_published_as_stored(&stream, &messages, &events);
    assert_eq!(stream.message_count().await, events.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_python_consumer_decodes_the_events_and_the_cloudevents_sdk_accepts_them() {
    let stream = TestStream::new();
    let app = spawn_app_with(Backend::Sqlite, |s| stream.configure(s)).await;
    let tenants = some_commands(&app, "py").await;
    wait_until_published(&app).await;
    let events = app.db.open().await.read_all(0, 100_000).await.unwrap();

    let python = std::env::var("KEEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/examples/consume.py"
    );
    let run = |extra: Vec<String>| {
        let mut command = std::process::Command::new(&python);
        command.arg(script).args([
            "--server",
            &stream.url,
            "--stream",
            &stream.name,
            "--prefix",
            &stream.prefix,
        ]);
        command.args(extra);
        let output = command.output().unwrap_or_else(|e| {
            panic!("cannot run {python} (install Python 3; scripts/test installs nats-py, cloudevents, msgpack): {e}")
        });
        assert!(
            output.status.success(),
            "the Python consumer failed (scripts/test installs its packages): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
            .collect::<Vec<_>>()
    };

    let all = run(vec![
        "--durable".into(),
        "all".into(),
        "--count".into(),
        events.len().to_string(),
    ]);
    assert_eq!(all.len(), events.len());
    for (line, event) in all.iter().zip(&events) {
        let view = event.outward_json();
        assert_eq!(line["id"], view.event_id.to_string());
        assert_eq!(line["type"], view.event_type);
        assert_eq!(line["stream"], view.stream_id);
        assert_eq!(line["version"], view.stream_version);
        assert_eq!(line["position"], view.global_position);
        assert_eq!(line["tenant"], view.tenant_id.to_string());
        assert_eq!(line["source"], format!("/keel/tenants/{}", view.tenant_id));
        assert_eq!(line["content_type"], "application/msgpack");
        assert_eq!(
            line["data"], view.data,
            "the MessagePack body decodes to the payload"
        );
    }

    // A durable consumer of one event type; started again, it resumes after its last ack.
    let suspended = run(vec![
        "--durable".into(),
        "suspensions".into(),
        "--type".into(),
        "tenant.suspended".into(),
        "--count".into(),
        "1".into(),
    ]);
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0]["tenant"], tenants[0]);
    let again = run(vec![
        "--durable".into(),
        "suspensions".into(),
        "--type".into(),
        "tenant.suspended".into(),
        "--idle".into(),
        "2".into(),
    ]);
    assert!(
        again.is_empty(),
        "a durable consumer does not see acked events again: {again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_refuses_to_start_on_a_nats_server_without_jetstream() {
    let nats = PrivateNats::start_without_jetstream().await;
    let stream = TestStream::on(nats.url.clone());
    let db = TestDatabase::create(Backend::Sqlite).await;
    let mut settings = keel_api::config::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db.url.clone(),
        admin_key: Some(keel_tests::app::test_admin_key().into()),
        grpc_listen: "127.0.0.1:0".into(),
        ..Default::default()
    };
    stream.configure(&mut settings);
    let error = match keel_api::startup::Application::build(settings).await {
        Ok(_) => panic!("the server started without JetStream"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("has no JetStream (start nats-server with -js)"),
        "{error}"
    );
}

#[test]
fn nats_settings_are_validated_with_the_setting_named() {
    let with = |change: fn(&mut keel_api::config::Settings)| {
        let mut settings = keel_api::config::Settings {
            nats_url: Some("nats://127.0.0.1:4222".into()),
            ..Default::default()
        };
        change(&mut settings);
        settings.validate().map_err(|e| e.to_string())
    };
    assert!(with(|_| {}).is_ok());
    type Change = fn(&mut keel_api::config::Settings);
    let cases: [(Change, &str); 7] = [
        (|s| s.nats_url = Some("http://nats".into()), "`nats_url`"),
        (|s| s.nats_stream = "has.dots".into(), "`nats_stream`"),
        (
            |s| s.nats_subject_prefix = "keel.>".into(),
            "`nats_subject_prefix`",
        ),
        (
            |s| s.nats_duplicate_window_secs = 0,
            "`nats_duplicate_window_secs`",
        ),
        (|s| s.nats_replicas = 7, "`nats_replicas`"),
        (|s| s.nats_retention = "forever".into(), "`nats_retention`"),
        (|s| s.nats_body_format = "xml".into(), "`nats_body_format`"),
    ];
    for (change, setting) in cases {
        let error = with(change).expect_err(setting);
        assert!(error.contains(setting), "{error} should name {setting}");
    }
}
