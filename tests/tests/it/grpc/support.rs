//! Helpers: a client of a test server with a given key, events with known bytes.

use eventstore::{Client, ClientSettings, EventData};
use keel_tests::app::TestApp;
use uuid::Uuid;

/// The official client, connected to `app` with `key` as the password.
pub fn client(app: &TestApp, key: &str) -> Client {
    let settings: ClientSettings =
        format!("esdb://admin:{key}@127.0.0.1:{}?tls=false", app.grpc_port)
            .parse()
            .expect("a valid connection string");
    Client::new(settings).expect("a client")
}

/// A client without credentials.
pub fn anonymous(app: &TestApp) -> Client {
    let settings: ClientSettings = format!("esdb://127.0.0.1:{}?tls=false", app.grpc_port)
        .parse()
        .expect("a valid connection string");
    Client::new(settings).expect("a client")
}

/// A JSON event `{"n": n}` of `event_type` with a fresh id.
pub fn json_event(event_type: &str, n: u64) -> EventData {
    EventData::json(event_type, &serde_json::json!({ "n": n }))
        .expect("JSON serializes")
        .id(Uuid::now_v7())
}

/// Lets the official Rust client connect once, so that it installs its TLS crypto provider as
/// the process default before a test server serving TLS does: the client insists on
/// installing its own (and panics if another is installed first), and every test of this
/// binary shares one process.
pub async fn let_the_rust_client_install_its_crypto_provider() {
    let app = keel_tests::app::spawn_app(keel_tests::Backend::Sqlite).await;
    let options = eventstore::ReadStreamOptions::default();
    // Whether the read finds anything does not matter: connecting is what installs it.
    let _ = client(&app, &app.admin_key)
        .read_stream("warm-up", &options)
        .await;
}
