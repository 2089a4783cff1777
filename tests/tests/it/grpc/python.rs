//! The official Python client, `kurrentdbclient` (pinned and installed by `scripts/test`), runs
//! its conformance checks (`scripts/examples/kurrentdb_conformance.py`) against the server,
//! over TLS: the Python client sends credentials only over TLS.

use keel_tests::{app::spawn_app_with, Backend};

both_backends!(the_python_client_passes_its_conformance_checks);

async fn the_python_client_passes_its_conformance_checks(backend: Backend) {
    let certificate = rcgen::generate_simple_self_signed(vec!["localhost".into()])
        .expect("a self-signed certificate");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certificate.cert.pem()).unwrap();
    std::fs::write(&key, certificate.key_pair.serialize_pem()).unwrap();
    let (tls_cert, tls_key) = (cert.clone(), key);
    let app = spawn_app_with(backend, move |settings| {
        settings.grpc_tls_cert = Some(tls_cert);
        settings.grpc_tls_key = Some(tls_key);
    })
    .await;
    let tenant = app.create_tenant("pyco").await;
    let key = app.tenant_key(&tenant, &["*:write"]).await;
    let python = std::env::var("KEEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/examples/kurrentdb_conformance.py"
    );
    let uri = format!(
        "esdb://admin:{key}@localhost:{}?tlsCaFile={}",
        app.grpc_port,
        cert.display()
    );
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
