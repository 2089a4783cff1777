//! Audit exports an auditor verifies alone: the standard-library Python script of
//! `scripts/examples/` re-verifies a real export (JSON Lines and CSV) and rejects a tampered
//! one, `keel audit verify --export` checks the signatures with the key served on
//! `/.well-known/keel-audit-key`; signing off is said everywhere; the embedded default
//! generates its key; an audit trail of an older encoding is rebuilt on upgrade and verifies.

use clap::Parser;
use keel_api::cli::{run, Cli};
use keel_tests::app::{spawn_app, spawn_app_on, spawn_app_with, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;

both_backends!(
    an_auditor_script_verifies_a_real_export_and_finds_a_tampered_one,
    with_signing_off_readyz_verify_and_the_compliance_report_say_unsigned,
    an_audit_trail_of_an_older_version_is_rebuilt_on_upgrade_and_verifies,
);

/// Some audited changes of a tenant (with before/after values and a source IP); its id, a key
/// with `audit:read` and `reports:read`, and the position of the last change.
async fn audited(app: &TestApp) -> (String, String, String) {
    let id = app.create_tenant("audited").await;
    for zone in ["Europe/Paris", "Asia/Tokyo"] {
        app.post(
            &format!("/v1/tenants/{id}/settings"),
            json!({ "timezone": zone }),
        )
        .await;
    }
    let key = app.tenant_key(&id, &["audit:read", "reports:read"]).await;
    let last = app
        .post(
            &format!("/v1/tenants/{id}/settings"),
            json!({ "require_mfa": true }),
        )
        .await;
    let position = last
        .header("x-keel-position")
        .expect("a position")
        .to_owned();
    (id, key, position)
}

async fn export(app: &TestApp, id: &str, key: &str, position: &str, format: &str) -> String {
    let response = app
        .client
        .get(format!(
            "{}/v1/tenants/{id}/audit/export?format={format}&after_position={position}",
            app.address
        ))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// Runs the example script on `path`: success, and what it printed (or why it failed).
fn script(path: &Path) -> (bool, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/examples/verify_audit.py"
    );
    let python = std::env::var("KEEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

async fn keel_verify_export(path: &Path, public_key: &str) -> (String, bool) {
    let path = path.display().to_string();
    let argv = [
        "keel",
        "audit",
        "verify",
        "--export",
        &path,
        "--public-key",
        public_key,
    ];
    let mut out = Vec::new();
    let result = run(Cli::try_parse_from(argv).unwrap(), &mut out).await;
    (String::from_utf8(out).unwrap(), result.is_ok())
}

async fn an_auditor_script_verifies_a_real_export_and_finds_a_tampered_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, key, position) = audited(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("audit.jsonl");
    let csv = dir.path().join("audit.csv");
    let text = export(&app, &id, &key, &position, "jsonl").await;
    std::fs::write(&jsonl, &text).unwrap();
    std::fs::write(&csv, export(&app, &id, &key, &position, "csv").await).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let settings = lines
        .iter()
        .rfind(|l| l["action"] == "tenant.settings_updated")
        .expect("a settings change");
    assert_eq!(settings["source_ip"], "127.0.0.1");
    assert!(settings["source_ip_digest"].is_string() && settings["salt"].is_string());
    assert!(
        settings["occurred_at_us"].is_i64(),
        "the time as hashed: {settings}"
    );
    assert!(
        settings["before"].is_string(),
        "the JSON text as committed to"
    );
    assert_eq!(lines.last().unwrap()["kind"], "head");

    for file in [&jsonl, &csv] {
        let (ok, out) = script(file);
        assert!(ok, "{}: {out}", file.display());
        assert!(out.starts_with("OK: records up to"), "{out}");
    }
    let served = app.get("/.well-known/keel-audit-key").await;
    assert_eq!(served.status, StatusCode::OK);
    let public = served.body["public_key_base64"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        served.body["key_id"],
        keel_tests::audit_key::test_audit_signer().public().key_id
    );
    let (out, ok) = keel_verify_export(&jsonl, &public).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("chain intact, 0 checkpoints signed by key"),
        "{out}"
    );

    // A changed actor breaks the record's hash; a changed value its commitment.
    for (field, value, finding) in [
        ("actor_id", json!("mallory"), "does not match its hash"),
        (
            "after",
            json!("{\"timezone\":\"UTC\"}"),
            "does not match its commitment",
        ),
    ] {
        let mut tampered = lines.clone();
        let index = tampered
            .iter()
            .position(|l| l["action"] == "tenant.settings_updated")
            .unwrap();
        tampered[index][field] = value;
        let body: String = tampered.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&jsonl, body).unwrap();
        let (ok, out) = script(&jsonl);
        assert!(!ok, "{field}: {out}");
        assert!(out.contains(finding), "{field}: {out}");
        let (out, ok) = keel_verify_export(&jsonl, &public).await;
        assert!(!ok && out.contains("BROKEN"), "{field}: {out}");
    }
    // An export cut short lacks its head.
    let cut: String = lines[..lines.len() - 1]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&jsonl, cut).unwrap();
    assert!(!script(&jsonl).0);
}

async fn with_signing_off_readyz_verify_and_the_compliance_report_say_unsigned(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.audit_signing = "off".into();
        s.audit_signing_key_file = None;
    })
    .await;
    let (id, key, position) = audited(&app).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.body["audit_signing"], "unsigned", "{:?}", ready.body);
    assert_eq!(
        app.get("/.well-known/keel-audit-key").await.status,
        StatusCode::NOT_FOUND
    );
    let verified = verify(&app, &id, &key).await;
    assert_eq!(verified.body["signatures"], "unsigned");
    let report = app
        .send(
            Method::GET,
            &format!("/v1/tenants/{id}/reports/compliance?after_position={position}"),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    assert_eq!(report.body["audit_chain"]["signatures"], "unsigned");
    assert_eq!(report.body["audit_chain"]["valid"], true);
    let text = export(&app, &id, &key, &position, "jsonl").await;
    let head: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(head["signature"].is_null(), "{head}");

    if backend == Backend::Postgres {
        // Neither a key nor `off`: the server refuses to start, naming the setting.
        let mut settings = keel_api::config::Settings {
            database_url: app.db.url.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            grpc_listen: "off".into(),
            ..Default::default()
        };
        settings.audit_signing_key_file = None;
        let refused = keel_api::startup::Application::build(settings).await;
        let error = format!("{:#}", refused.err().expect("refused"));
        assert!(error.contains("audit_signing_key_file"), "{error}");
    } else {
        // The embedded default makes its own key beside the database, readable by its owner.
        let second = app
            .beside(|s| {
                s.audit_signing = "on".into();
                s.audit_signing_key_file = None;
            })
            .await;
        let file = app.db.url.strip_prefix("sqlite://").map(Path::new).unwrap();
        let key_file = file.parent().unwrap().join("audit-signing-key.pem");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let served = second.get("/.well-known/keel-audit-key").await;
        let signer = keel_projections::audit::AuditSigner::read_pem_file(&key_file).unwrap();
        assert_eq!(served.body["key_id"], signer.public().key_id);
        second.stop().await;
    }
}

async fn an_audit_trail_of_an_older_version_is_rebuilt_on_upgrade_and_verifies(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, key, position) = audited(&app).await;
    export(&app, &id, &key, &position, "jsonl").await;
    let db = app.stop().await;
    // As a database of the previous release left it: version 1 rows, which no longer verify
    // under the current encoding, and no salts.
    let store = db.open().await;
    for sql in [
        "UPDATE projection_state SET version = 1 WHERE name = 'audit'",
        "UPDATE audit_records_g1 SET hash = 'v1'",
        "DELETE FROM audit_salts",
    ] {
        keel_projections::with_pool!(&store.database(), pool => {
            sqlx::query(sql).execute(pool).await.unwrap();
        });
    }
    drop(store);
    let app = spawn_app_on(db, |_| {}).await;
    let page = app
        .send(
            Method::GET,
            &format!("/v1/tenants/{id}/audit?after_position={position}"),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    let verified = verify(&app, &id, &key).await;
    assert_eq!(verified.body["valid"], true, "{:?}", verified.body);
    assert_eq!(verified.body["signatures"], "verified");
    assert!(verified.body["records"].as_u64().unwrap() >= 4);
}

/// `GET .../audit/verify` of tenant `id` with `key`.
async fn verify(app: &TestApp, id: &str, key: &str) -> keel_tests::app::Reply {
    let path = format!("/v1/tenants/{id}/audit/verify");
    app.send(Method::GET, &path, Some(key), None, &[]).await
}
