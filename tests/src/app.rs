//! A running Keel server for one test: its own database (see [`TestDatabase`]), the server on
//! a free port, a known admin key, and a client whose helpers return status and JSON body.

use crate::{Backend, TestDatabase};
use keel_api::config::Settings;
use keel_api::startup::Application;
use keel_commands::handler::CommandHandler;
use keel_domain::tenant::Tenant;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A server under test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The port the KurrentDB gRPC protocol is served on.
    pub grpc_port: u16,
    /// A platform admin key.
    pub admin_key: String,
    /// The database (dropped with the app).
    pub db: TestDatabase,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// Stops the server gracefully.
    pub server: actix_web::dev::ServerHandle,
    /// Resolves when the server has stopped.
    pub stopped: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The server's own tenant command handler (its store, cache and group commit): the
    /// server's command path without HTTP, for benchmarks that compare the two.
    pub tenants: CommandHandler<Tenant>,
    settings: Settings,
}

/// An API key just issued.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// Its id.
    pub id: String,
    /// Its secret, for `Authorization: Bearer`.
    pub secret: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON (`Null` if empty or not JSON).
    pub body: Value,
}

impl Reply {
    /// Asserts a 422 problem document whose first failing field is `field`.
    #[track_caller]
    pub fn assert_invalid(&self, field: &str) {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {:?}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["errors"][0]["field"], field, "{:?}", self.body);
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The `external_projections` setting that names every projection: the server then runs no
/// projection worker, as when `keel project` processes elsewhere fold the log.
pub fn every_projection_external() -> String {
    keel_projections::registry()
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// The admin key every test server accepts.
pub fn test_admin_key() -> String {
    format!("keel_{}", "t".repeat(43))
}

/// The integration secret keys every test server is configured with (`KEEL_SECRET_KEYS`): one
/// key, `test1`, of the 32 bytes 0, 1, ... 31. Tests that need a server without keys set
/// `secret_keys` to `None` in [`spawn_app_with`].
pub const TEST_SECRET_KEYS: &str = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Starts a server on `backend` with default settings.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a server on `backend`, letting the test adjust the settings first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDatabase::create(backend).await, adjust).await
}

/// Starts a server on an existing database (a copy, a database an older release left),
/// letting the test adjust the settings first.
pub async fn spawn_app_on(db: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let admin_key = test_admin_key();
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("valid address"),
        database_url: db.url.clone(),
        admin_key: Some(admin_key.clone().into()),
        secret_keys: Some(TEST_SECRET_KEYS.to_owned().into()),
        log_level: "warn".into(),
        grpc_listen: "127.0.0.1:0".into(),
        audit_signing_key_file: Some(crate::audit_key::test_audit_key_file().to_owned()),
        ..Settings::default()
    };
    adjust(&mut settings);
    settings.validate().expect("test settings are valid");
    start(db, admin_key, settings).await
}

async fn start(db: TestDatabase, admin_key: String, settings: Settings) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("the server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let grpc_port = app.grpc_port().unwrap_or(0);
    let server = app.handle();
    let tenants = app.tenant_handler();
    let stopped = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        grpc_port,
        admin_key,
        db,
        client: reqwest::Client::new(),
        server,
        stopped,
        tenants,
        settings,
    }
}

impl TestApp {
    /// Stops the server gracefully (as SIGTERM does) and starts a new one on the same database.
    pub async fn restart(self) -> TestApp {
        let (admin_key, settings) = (self.admin_key.clone(), self.settings.clone());
        let db = self.stop().await;
        start(db, admin_key, settings).await
    }

    /// A second server on this app's database, with this app's settings adjusted by `adjust`:
    /// two nodes of one deployment. Stop it before this app (whose drop removes the database).
    pub async fn beside(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        start(self.db.borrow(), self.admin_key.clone(), settings).await
    }

    /// Stops the server gracefully (as SIGTERM does), waits until it has stopped, and hands
    /// back its database (removed when that is dropped).
    pub async fn stop(self) -> TestDatabase {
        self.server.stop(true).await;
        self.stopped
            .await
            .expect("the server task")
            .expect("the server stopped cleanly");
        self.db
    }

    /// Sends a request with `key` (if any) and an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `POST` as the admin.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&self.admin_key), Some(body), &[])
            .await
    }

    /// The Prometheus text of `/metrics`; panics unless it answers 200.
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("a text body")
    }

    /// `GET` as the admin.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(&self.admin_key), None, &[])
            .await
    }

    /// Creates a tenant and returns its id; panics unless it is created.
    pub async fn create_tenant(&self, slug: &str) -> String {
        let reply = self
            .post(
                "/v1/tenants",
                serde_json::json!({
                    "name": format!("Tenant {slug}"),
                    "slug": slug,
                    "plan": "standard",
                    "data_region": "eu-west-1",
                    "owner_email": format!("owner@{slug}.example"),
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["data"]["id"].as_str().expect("an id").to_owned()
    }

    /// Issues an API key for a tenant with `scopes` (a service key); returns its secret.
    pub async fn tenant_key(&self, tenant: &str, scopes: &[&str]) -> String {
        let body = serde_json::json!({ "name": "test key", "scopes": scopes });
        self.issue_key(tenant, body).await.secret
    }

    /// Issues a key of a tenant bound to `member`, with `scopes`.
    pub async fn member_key(&self, tenant: &str, member: &str, scopes: &[&str]) -> IssuedKey {
        let body =
            serde_json::json!({ "name": "member key", "scopes": scopes, "member_id": member });
        self.issue_key(tenant, body).await
    }

    /// Issues the key `body` describes, as the admin; panics unless it is issued.
    async fn issue_key(&self, tenant: &str, body: Value) -> IssuedKey {
        let reply = self
            .post(&format!("/v1/tenants/{tenant}/api-keys"), body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let field = |name: &str| {
            reply.body["data"][name]
                .as_str()
                .unwrap_or_else(|| panic!("an issued key has a {name}"))
                .to_owned()
        };
        IssuedKey {
            id: field("id"),
            secret: field("secret"),
        }
    }
}
