//! The official Python and Node clients run their conformance checks against the server, over
//! TLS (both send credentials only over TLS): `kurrentdbclient` runs
//! `scripts/examples/kurrentdb_conformance.py`, `@kurrent/kurrentdb-client` runs
//! `scripts/examples/node/kurrentdb_conformance.mjs`. `scripts/test` installs both, pinned.

use keel_tests::{app::spawn_app_with, Backend};

both_backends!(
    the_python_client_passes_its_conformance_checks,
    the_node_client_passes_its_conformance_checks
);

async fn the_python_client_passes_its_conformance_checks(backend: Backend) {
    passes_its_conformance_checks(backend, &PYTHON).await
}

async fn the_node_client_passes_its_conformance_checks(backend: Backend) {
    passes_its_conformance_checks(backend, &NODE).await
}

/// An official client and how to run its checks.
struct OfficialClient {
    /// What the failure messages call it.
    name: &'static str,
    /// The variable naming its interpreter, and the interpreter otherwise.
    interpreter: (&'static str, &'static str),
    /// The checks, a script in the repository.
    script: &'static str,
    /// The connection string's scheme and the name of its CA-file option.
    scheme: &'static str,
    ca_option: &'static str,
}

const PYTHON: OfficialClient = OfficialClient {
    name: "the Python client",
    interpreter: ("KEEL_TEST_PYTHON", "python3"),
    script: concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/examples/kurrentdb_conformance.py"
    ),
    scheme: "esdb",
    ca_option: "tlsCaFile",
};

const NODE: OfficialClient = OfficialClient {
    name: "the Node client",
    interpreter: ("KEEL_TEST_NODE", "node"),
    script: concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/examples/node/kurrentdb_conformance.mjs"
    ),
    scheme: "kurrentdb",
    ca_option: "tlsCAFile",
};

/// Runs `client`'s checks against a server on `backend` serving gRPC over TLS, with a
/// tenant's key, and fails unless every check passed.
async fn passes_its_conformance_checks(backend: Backend, client: &OfficialClient) {
    super::support::let_the_rust_client_install_its_crypto_provider().await;
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
    let tenant = app.create_tenant("conformance").await;
    let key = app.tenant_key(&tenant, &["*:write"]).await;
    let (variable, default) = client.interpreter;
    let interpreter = std::env::var(variable).unwrap_or_else(|_| default.into());
    let uri = format!(
        "{}://admin:{key}@localhost:{}?{}={}",
        client.scheme,
        app.grpc_port,
        client.ca_option,
        cert.display()
    );
    let output = tokio::process::Command::new(&interpreter)
        .arg(client.script)
        .arg(uri)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{interpreter} does not run: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed:\n{stdout}\n{stderr}",
        client.name
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
