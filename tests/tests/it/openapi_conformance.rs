//! The server answers as its OpenAPI document says: schemathesis (pinned in `scripts/test`)
//! generates requests for every documented operation, valid and invalid, against a server
//! holding a tenant with some data, and fails on a 5xx (but a documented 503, which carries
//! `Retry-After`), an undocumented status or content type, or a body or header that does not
//! match its schema.

use keel_tests::app::{spawn_app_with, TestApp};
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// The checks run on every response.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// What schemathesis treats as fine for `not_a_server_error`: a 503 is documented (with
/// `Retry-After`) where the database or a read-your-writes wait can cause it; whether an
/// operation documents it is `status_code_conformance`'s to check.
const CONFIG: &str = r#"
[checks.not_a_server_error]
expected-statuses = ["1xx", "2xx", "3xx", "4xx", "503"]
"#;

/// Upper bound on the run, far above what it takes, so that a hung server fails the test.
const BOUND: Duration = Duration::from_secs(110);

/// A tenant with a member, a key, a policy, an enabled workflow with a run, an integration
/// and usage, so that reads have something to answer with.
async fn some_data(app: &TestApp) {
    let tenant = app.create_tenant("conformance").await;
    let base = format!("/v1/tenants/{tenant}");
    let created = |reply: keel_tests::app::Reply| {
        assert!(reply.status.is_success(), "{:?}", reply.body);
        reply.body
    };
    created(
        app.post(
            &format!("{base}/members"),
            json!({"email": "ada@conformance.example", "role": "admin"}),
        )
        .await,
    );
    app.tenant_key(&tenant, &["*:read"]).await;
    created(
        app.post(
            &format!("{base}/policies"),
            json!({"name": "Admins", "document": {"kind": "access", "rules": [
                {"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}
            ]}}),
        )
        .await,
    );
    let workflow = created(
        app.post(
            &format!("{base}/workflows"),
            json!({"name": "Welcome", "trigger": {"type": "manual"}, "steps": [
                {"type": "action", "id": "record",
                 "action": {"kind": "set_field", "field": "context.greeted", "value": true}}
            ]}),
        )
        .await,
    );
    let workflow_url = format!(
        "{base}/workflows/{}",
        workflow["data"]["id"].as_str().unwrap()
    );
    created(app.post(&format!("{workflow_url}/enable"), json!({})).await);
    created(
        app.post(&format!("{workflow_url}/runs"), json!({"input": {"a": 1}}))
            .await,
    );
    created(
        app.post(
            &format!("{base}/integrations"),
            json!({"kind": "webhook", "name": "Hooks", "endpoint_url": "https://hooks.example/in",
                   "event_filter": ["*"]}),
        )
        .await,
    );
    let usage = app
        .post(
            &format!("{base}/usage"),
            json!({"events": [{"meter": "storage_bytes", "quantity": 5,
                   "timestamp": chrono::Utc::now(), "idempotency_key": "one"}]}),
        )
        .await;
    assert_eq!(usage.status, StatusCode::ACCEPTED, "{:?}", usage.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_answers_as_its_openapi_document_says() {
    // A short read-your-writes bound: generated `after_position`s far ahead of the log are
    // answered 503 at once instead of after the default two seconds.
    let app = spawn_app_with(Backend::Sqlite, |s| s.read_wait_ms = 20).await;
    some_data(&app).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).expect("the config is written");
    let schemathesis = std::env::var("KEEL_TEST_SCHEMATHESIS").unwrap_or("schemathesis".into());
    let mut command = tokio::process::Command::new(&schemathesis);
    command
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .arg("run")
        .arg(format!("{}/openapi.json", app.address))
        .args([
            "--header",
            &format!("Authorization: Bearer {}", app.admin_key),
        ])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args([
            "--max-examples",
            "10",
            "--seed",
            "20261207",
            "--workers",
            "2",
        ])
        .args(["--generation-database", "none", "--request-timeout", "10"])
        .kill_on_drop(true);
    let started = Instant::now();
    let output = tokio::time::timeout(BOUND, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran longer than {BOUND:?}"))
        .unwrap_or_else(|e| {
            panic!("cannot run {schemathesis} (scripts/test installs it with pip): {e}")
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found the server at odds with its document:\n{report}"
    );
    let total = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("Operations:"))
        .and_then(|counts| counts.split('/').nth(1))
        .and_then(|total| total.split_whitespace().next())
        .unwrap_or_else(|| panic!("schemathesis did not count the operations:\n{report}"));
    assert!(
        report.contains(&format!("Tested: {total}")),
        "schemathesis did not test every operation:\n{report}"
    );
    eprintln!("schemathesis passed in {:?}", started.elapsed());
}
