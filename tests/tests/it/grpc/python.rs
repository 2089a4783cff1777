//! The official Python client, `kurrentdbclient` (pinned and installed by `scripts/test`), runs
//! its conformance checks (`scripts/examples/kurrentdb_conformance.py`) against the server.

use keel_tests::{app::spawn_app, Backend};

both_backends!(the_python_client_passes_its_conformance_checks);

async fn the_python_client_passes_its_conformance_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("pyco").await;
    let key = app.tenant_key(&tenant, &["*:write"]).await;
    let python = std::env::var("KEEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/examples/kurrentdb_conformance.py"
    );
    let uri = format!("esdb://admin:{key}@127.0.0.1:{}?tls=false", app.grpc_port);
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(uri)
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
