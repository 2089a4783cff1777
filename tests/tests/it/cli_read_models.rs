//! The `keel` tools over the read models, on both backends: `audit verify` on an intact and on
//! a tampered database, `audit export` in both formats, `replay` with its report, `--check`,
//! and a replay interrupted and then resumed.

use crate::projections::support::{append_samples, execute, tenant};
use clap::Parser;
use keel_api::cli::{run, run_until, Cli, CliError};
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};
use serde_json::Value;
use std::time::Duration;

both_backends!(
    audit_verify_passes_then_names_the_first_tampered_record,
    audit_export_streams_a_tenants_records_as_jsonl_and_csv,
    replay_reports_rows_and_checksum_and_check_compares,
    an_interrupted_replay_resumes_and_ends_as_a_full_one,
);

/// Runs `keel <args>` on `db`; the output, or the error.
async fn keel(db: &TestDatabase, args: &[&str]) -> (String, Result<(), CliError>) {
    let config = keel_tests::audit_key::test_config_file()
        .display()
        .to_string();
    let mut argv = vec!["keel", "--config", &config, "--database-url", &db.url];
    argv.extend_from_slice(args);
    let mut out = Vec::new();
    let result = run(
        Cli::try_parse_from(argv).expect("the arguments parse"),
        &mut out,
    )
    .await;
    (String::from_utf8(out).expect("UTF-8"), result)
}

/// A database with 300 events of two tenants, folded into the audit trail by a blue/green
/// replay (its tables are generation 2: `audit_records_g2`).
async fn filled(backend: Backend) -> TestDatabase {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_samples(&store, 300, 2).await;
    let (_, replayed) = keel(&db, &["replay", "audit"]).await;
    replayed.expect("the replay succeeds");
    db
}

async fn audit_verify_passes_then_names_the_first_tampered_record(backend: Backend) {
    let db = filled(backend).await;
    let (out, result) = keel(&db, &["audit", "verify"]).await;
    result.unwrap();
    let key = keel_tests::audit_key::test_audit_signer()
        .public()
        .key_id
        .clone();
    assert_eq!(
        out,
        format!(
            "tenant {}: 150 records, chain intact, 0 checkpoints signed by key {key}\ntenant {}: 150 records, chain intact, 0 checkpoints signed by key {key}\n",
            tenant(0),
            tenant(1)
        )
    );

    let store = db.open().await;
    execute(
        &store,
        &format!(
            "UPDATE audit_records_g2 SET actor_id = 'mallory' WHERE tenant_id = '{}' AND seq = 42",
            tenant(1)
        ),
    )
    .await;
    let (out, result) = keel(&db, &["audit", "verify"]).await;
    let error = result.unwrap_err();
    assert_eq!(error.exit_code(), 1);
    assert_eq!(
        error.to_string(),
        "audit verification failed: 1 of 2 chains broken"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "tenant {}: 150 records, chain intact, 0 checkpoints signed by key {}",
            tenant(0),
            keel_tests::audit_key::test_audit_signer().public().key_id
        )
    );
    assert!(
        lines[1].starts_with(&format!(
            "tenant {}: BROKEN at record 42 (event position ",
            tenant(1)
        )),
        "{out}"
    );
    let (json, _) = keel(
        &db,
        &[
            "--json",
            "audit",
            "verify",
            "--tenant",
            &tenant(1).to_string(),
        ],
    )
    .await;
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["chains"][0]["first_broken"]["seq"], 42);
}

async fn audit_export_streams_a_tenants_records_as_jsonl_and_csv(backend: Backend) {
    let db = filled(backend).await;
    let t0 = tenant(0).to_string();
    let (jsonl, result) = keel(&db, &["audit", "export", "--tenant", &t0]).await;
    result.unwrap();
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (records, rest): (Vec<Value>, Vec<Value>) =
        lines.into_iter().partition(|l| l["kind"] == "record");
    assert_eq!(records.len(), 150);
    assert_eq!(
        rest.len(),
        1,
        "the head, and no checkpoint below 1,000 records"
    );
    assert_eq!(rest[0]["kind"], "head");
    assert_eq!(rest[0]["hash"], records[149]["hash"]);
    assert!(records.iter().all(|r| r["tenant_id"] == t0.as_str()));
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=150).collect::<Vec<_>>());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.csv");
    let path = file.display().to_string();
    let (out, result) = keel(
        &db,
        &[
            "audit", "export", "--tenant", &t0, "--format", "csv", "--output", &path,
        ],
    )
    .await;
    result.unwrap();
    assert_eq!(out, "");
    let csv = std::fs::read_to_string(&file).unwrap();
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        rows[0].starts_with("kind,tenant_id,seq,position,event_id"),
        "{}",
        rows[0]
    );
    assert_eq!(rows.len(), 152, "the header, 150 records and the head");
    // Never overwrites a file.
    let (_, again) = keel(
        &db,
        &[
            "audit", "export", "--tenant", &t0, "--format", "csv", "--output", &path,
        ],
    )
    .await;
    assert!(again.unwrap_err().to_string().contains("cannot create"));

    // A time window before everything is empty; an inverted one is refused.
    let (empty, result) = keel(
        &db,
        &[
            "audit",
            "export",
            "--tenant",
            &t0,
            "--to",
            "2000-01-01T00:00:00Z",
        ],
    )
    .await;
    result.unwrap();
    assert_eq!(empty, "");
    let (_, inverted) = keel(
        &db,
        &[
            "audit",
            "export",
            "--tenant",
            &t0,
            "--from",
            "2030-01-01T00:00:00Z",
            "--to",
            "2000-01-01T00:00:00Z",
        ],
    )
    .await;
    assert!(matches!(
        inverted,
        Err(CliError::InvalidArgument { argument: "to", .. })
    ));
}

async fn replay_reports_rows_and_checksum_and_check_compares(backend: Backend) {
    let db = filled(backend).await;
    let store = db.open().await;
    let before = keel_projections::checksum(&store.log(), "audit")
        .await
        .unwrap();
    let (json, result) = keel(&db, &["--json", "replay", "audit"]).await;
    result.unwrap();
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["checksum"],
        before.as_str(),
        "a rebuild gives the same tables"
    );
    assert_eq!(report["events"], 300);
    assert_eq!(
        report["generation"], 3,
        "blue/green: a new generation serves"
    );
    let rows: Vec<(String, u64)> = serde_json::from_value(report["rows"].clone()).unwrap();
    assert!(
        rows.contains(&("audit_records".to_owned(), 300)),
        "{rows:?}"
    );

    let (out, result) = keel(&db, &["replay", "audit", "--check"]).await;
    result.unwrap();
    assert!(
        out.starts_with("audit: a fresh rebuild to position 300 matches the serving tables"),
        "{out}"
    );

    execute(
        &store,
        "UPDATE audit_records_g3 SET action = 'forged' WHERE seq = 5",
    )
    .await;
    let (out, result) = keel(&db, &["replay", "audit", "--check"]).await;
    assert!(matches!(result, Err(CliError::Failed(_))), "{result:?}");
    assert!(
        out.starts_with("audit: differs from a fresh rebuild to position 300: "),
        "{out}"
    );

    let (_, unknown) = keel(&db, &["replay", "nothing"]).await;
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "no projection is named `nothing`"
    );
}

async fn an_interrupted_replay_resumes_and_ends_as_a_full_one(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_samples(&store, 30_000, 3).await;
    // Signed as the tools sign (the tests' key), so the checksums compare.
    let signed = keel_projections::projection_with(
        "audit",
        std::sync::Arc::new(keel_domain::billing::Catalogue::builtin()),
        Some(std::sync::Arc::new(
            keel_tests::audit_key::test_audit_signer(),
        )),
    )
    .unwrap();
    keel_projections::rebuild_with(
        &store.log(),
        &signed,
        keel_projections::RebuildMode::Reset,
        |_| {},
    )
    .await
    .unwrap();
    let full = keel_projections::checksum(&store.log(), "audit")
        .await
        .unwrap();

    // Interrupted (as Ctrl-C does) once the new generation holds a committed batch: mid-way
    // through the log whatever the machine's speed (batches of 5,000 out of 30,000).
    let config = keel_tests::audit_key::test_config_file()
        .display()
        .to_string();
    let argv = [
        "keel",
        "--config",
        &config,
        "--database-url",
        &db.url,
        "replay",
        "audit",
    ];
    let mut out = Vec::new();
    let database = store.database();
    let interrupt = async move {
        use keel_projections::framework::checkpoint::{checkpoint, generations};
        loop {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let Some(building) = generations(&database, "audit").await.unwrap().building else {
                continue;
            };
            if checkpoint(&database, "audit", building)
                .await
                .unwrap()
                .position
                > 0
            {
                break;
            }
        }
    };
    let result = run_until(Cli::try_parse_from(argv).unwrap(), &mut out, interrupt).await;
    let error = result.expect_err("interrupted before the end");
    assert!(matches!(error, CliError::Interrupted(_)), "{error:?}");
    assert_eq!(error.exit_code(), 130);
    let statuses = keel_projections::status(&store.log()).await.unwrap();
    let audit = statuses.iter().find(|s| s.name == "audit").unwrap();
    assert_eq!(audit.generation, 1, "the old tables still serve");
    assert!(audit.building_generation.is_some(), "{audit:?}");
    assert_eq!(
        keel_projections::checksum(&store.log(), "audit")
            .await
            .unwrap(),
        full
    );

    // Run again: it resumes (reads fewer than all events) and ends with the same tables.
    let (json, result) = keel(&db, &["--json", "replay", "audit"]).await;
    result.unwrap();
    let report: Value = serde_json::from_str(&json).unwrap();
    assert!(report["events"].as_u64().unwrap() < 30_000, "{report}");
    assert_eq!(report["checksum"], full.as_str());
    assert_eq!(report["generation"], 2);
}
