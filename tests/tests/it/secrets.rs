//! No secret leaves Keel: every secret-bearing event type (`keel_domain::event_types`), on every
//! outward path (NATS through a real JetStream, gRPC reads and subscriptions, the HTTP event
//! view, `keel events read` and `keel tenant export`), goes out without its secret fields, and
//! every other event goes out exactly as stored.

use super::api::integrations::{id_of, register, registration};
use super::cli::{export, json_lines, keel};
use super::grpc::support::client;
use super::nats::wait_until_published;
use eventstore::{ReadAllOptions, SubscribeToAllOptions};
use keel_domain::event_types::{secret_bearing, secret_fields};
use keel_domain::TenantId;
use keel_store::RecordedEvent;
use keel_tests::app::{spawn_app_with, TestApp};
use keel_tests::nats::TestStream;
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use uuid::Uuid;

both_backends!(no_path_shows_a_secret_and_other_events_go_out_as_stored);

/// One event of every secret-bearing type, and ordinary ones around them.
async fn secret_bearing_events(app: &TestApp) -> String {
    let tenant = app.create_tenant("vault").await;
    app.tenant_key(&tenant, &["*:read"]).await;
    let admin_key = app
        .post("/v1/admin-keys", json!({"name": "second operator"}))
        .await;
    assert_eq!(
        admin_key.status,
        StatusCode::CREATED,
        "{:?}",
        admin_key.body
    );
    let id = id_of(&register(app, &tenant, registration("Hook")).await);
    let rotated = app
        .post(
            &format!("/v1/tenants/{tenant}/integrations/{id}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    let renamed = app
        .post(
            &format!("/v1/tenants/{tenant}/rename"),
            json!({"name": "Vault Inc"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    tenant
}

/// The stored event as JSON, and the text of each of its secret values.
fn stored(event: &RecordedEvent) -> (Value, Vec<String>) {
    let data = event.to_json().data;
    let secrets = secret_fields(&event.event_type)
        .iter()
        .map(|field| {
            let value = &data[*field];
            assert!(!value.is_null(), "{} stores {field}", event.event_type);
            value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned)
        })
        .collect();
    (data, secrets)
}

/// What one outward path showed of the log.
struct Path<'a> {
    name: &'static str,
    events: &'a HashMap<Uuid, RecordedEvent>,
    secret_types_seen: BTreeSet<String>,
}

impl<'a> Path<'a> {
    fn new(name: &'static str, events: &'a HashMap<Uuid, RecordedEvent>) -> Self {
        Path {
            name,
            events,
            secret_types_seen: BTreeSet::new(),
        }
    }

    /// Checks what the path showed of event `id`: its payload as JSON and the whole text it
    /// sent. Events appended after the scenario (the API's usage flushes) are not checked.
    fn shown(&mut self, id: Uuid, shown: &Value, text: &str) {
        let Some(event) = self.events.get(&id) else {
            return;
        };
        let path = self.name;
        let (mut expected, secrets) = stored(event);
        for field in secret_fields(&event.event_type) {
            expected.as_object_mut().unwrap().remove(*field);
            assert!(
                shown.get(field).is_none(),
                "{path}: {} shows {field}",
                event.event_type
            );
            self.secret_types_seen.insert(event.event_type.clone());
        }
        for secret in secrets {
            assert!(
                !text.contains(&secret),
                "{path}: {} leaks a secret",
                event.event_type
            );
        }
        assert_eq!(shown, &expected, "{path}: {}", event.event_type);
    }

    /// Checks that the path showed an event of each of `types`.
    fn covered(self, types: &BTreeSet<String>) {
        assert_eq!(&self.secret_types_seen, types, "{}", self.name);
    }
}

fn event_id(line: &Value) -> Uuid {
    line["event_id"].as_str().unwrap().parse().unwrap()
}

async fn no_path_shows_a_secret_and_other_events_go_out_as_stored(backend: Backend) {
    let stream = TestStream::new();
    let app = spawn_app_with(backend, |s| stream.configure(s)).await;
    let tenant = secret_bearing_events(&app).await;
    let events = app.db.open().await.read_all(0, 100_000).await.unwrap();
    let declared: BTreeSet<String> = secret_bearing().map(|(t, _)| t.to_owned()).collect();
    let by_id: HashMap<Uuid, RecordedEvent> =
        events.iter().map(|e| (e.event_id, e.clone())).collect();

    // NATS: a secret-bearing body lacks its fields, every other body is the stored bytes.
    wait_until_published(&app).await;
    let mut nats = Path::new("NATS", &by_id);
    for (message, event) in stream.read(None, events.len()).await.iter().zip(&events) {
        let body = keel_domain::event::payload_to_json(&message.payload).unwrap();
        nats.shown(event.event_id, &body, &body.to_string());
        if secret_fields(&event.event_type).is_empty() {
            assert_eq!(&message.payload[..], &event.payload[..], "byte for byte");
        }
    }
    nats.covered(&declared);

    // gRPC: `$all` read and subscribed to from the start, as the admin.
    let grpc = client(&app, &app.admin_key);
    let mut read = grpc
        .read_all(&ReadAllOptions::default().max_count(events.len()))
        .await
        .unwrap();
    let mut subscription = grpc
        .subscribe_to_all(&SubscribeToAllOptions::default())
        .await;
    let (mut reads, mut subscribes) = (
        Path::new("gRPC read", &by_id),
        Path::new("gRPC subscribe", &by_id),
    );
    while let Some(resolved) = read.next().await.unwrap() {
        let subscribed = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .expect("the subscription keeps up")
            .unwrap();
        for (path, resolved) in [(&mut reads, &resolved), (&mut subscribes, &subscribed)] {
            let shown = resolved.get_original_event();
            let data: Value = serde_json::from_slice(&shown.data).unwrap();
            path.shown(shown.id, &data, &String::from_utf8_lossy(&shown.data));
        }
    }
    reads.covered(&declared);
    subscribes.covered(&declared);

    // HTTP: the event view of the tenant and of the platform (the admin keys' events).
    let mut http = Path::new("HTTP", &by_id);
    for owner in [tenant.clone(), TenantId::PLATFORM.to_string()] {
        let page = app
            .get(&format!("/v1/tenants/{owner}/events?limit=1000"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            http.shown(event_id(item), &item["data"], &item.to_string());
        }
    }
    http.covered(&declared);

    // The tools: `keel events read` over the whole log, and a tenant's export (which holds
    // the tenant's events, so not the platform's admin keys).
    let mut tool = Path::new("keel events", &by_id);
    for line in json_lines(&keel(&app, &["--json", "events", "read"]).await.unwrap()) {
        tool.shown(event_id(&line), &line["data"], &line.to_string());
    }
    tool.covered(&declared);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("export");
    export(&app, &tenant, &output).await;
    let mut exported = Path::new("export", &by_id);
    for line in json_lines(&std::fs::read_to_string(output.join("events.jsonl")).unwrap()) {
        exported.shown(event_id(&line), &line["data"], &line.to_string());
    }
    let tenant_types = declared
        .iter()
        .filter(|t| !t.starts_with("platform."))
        .cloned()
        .collect();
    exported.covered(&tenant_types);
}
