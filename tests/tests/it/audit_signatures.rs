//! Signed audit checkpoints: whoever can write to the database can rewrite a chain and
//! recompute every hash after the change, but not sign its checkpoints, so
//! `keel audit verify --public-key` names the first forged checkpoint, in the database and in
//! an export verified offline.

use crate::projections::support::{append_samples, execute, tenant};
use clap::Parser;
use keel_api::cli::{run, Cli, CliError};
use keel_projections::audit::record::{AuditRow, COLUMNS};
use keel_projections::audit::AuditSigner;
use keel_tests::audit_key::{test_audit_signer, test_config_file};
use keel_tests::{Backend, TestDatabase};
use std::sync::Arc;

both_backends!(a_rewritten_chain_with_forged_checkpoints_fails_verification_with_the_public_key);

async fn keel(db: &TestDatabase, args: &[&str]) -> (String, Result<(), CliError>) {
    let config = test_config_file().display().to_string();
    let mut argv = vec!["keel", "--config", &config, "--database-url", &db.url];
    argv.extend_from_slice(args);
    let mut out = Vec::new();
    let result = run(Cli::try_parse_from(argv).expect("arguments"), &mut out).await;
    (String::from_utf8(out).expect("UTF-8"), result)
}

/// Changes record 500 and re-chains every record after it, as a database writer would:
/// every hash holds again. Each checkpoint is then rewritten by `sign` (its new hash, and a
/// signature of the writer's making or none).
async fn rewrite_chain(
    store: &Arc<dyn keel_store::EventStore>,
    t0: &str,
    sign: impl Fn(&str, i64, i64, &str) -> (Option<String>, Option<String>),
) {
    let database = store.database();
    let sql = format!("SELECT {COLUMNS} FROM audit_records WHERE tenant_id = $1 ORDER BY seq");
    let rows: Vec<AuditRow> = keel_projections::with_pool!(&database, pool => {
        sqlx::query_as(&sql).bind(t0).fetch_all(pool).await.unwrap()
    });
    let table = "audit_records_g2";
    let mut prev = rows[498].hash.clone();
    for mut row in rows.into_iter().skip(499) {
        if row.seq == 500 {
            row.actor_id = "mallory".into();
        }
        row.prev_hash = prev;
        row.hash = row.hashed().hash();
        execute(store, &format!(
            "UPDATE {table} SET actor_id = '{}', prev_hash = '{}', hash = '{}' WHERE tenant_id = '{t0}' AND seq = {}",
            row.actor_id, row.prev_hash, row.hash, row.seq
        ))
        .await;
        if row.seq % 1000 == 0 {
            let (key_id, signature) = sign(t0, row.seq, row.position, &row.hash);
            let text = |v: Option<String>| v.map_or("NULL".into(), |v| format!("'{v}'"));
            execute(store, &format!(
                "UPDATE audit_chain_checkpoints_g2 SET hash = '{}', key_id = {}, signature = {} WHERE tenant_id = '{t0}' AND seq = {}",
                row.hash, text(key_id), text(signature), row.seq
            ))
            .await;
        }
        prev = row.hash;
    }
    execute(
        store,
        &format!("UPDATE audit_heads_g2 SET hash = '{prev}' WHERE tenant_id = '{t0}'"),
    )
    .await;
}

async fn a_rewritten_chain_with_forged_checkpoints_fails_verification_with_the_public_key(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    // One tenant of 2,100 records: checkpoints 1000 and 2000, signed by the replay.
    append_samples(&store, 2100, 1).await;
    let (_, replayed) = keel(&db, &["replay", "audit"]).await;
    replayed.unwrap();
    let public = test_audit_signer().public().view().public_key_base64;
    let (out, result) = keel(&db, &["audit", "verify", "--public-key", &public]).await;
    result.unwrap();
    assert!(
        out.contains("2100 records, chain intact, 2 checkpoints signed by key"),
        "{out}"
    );
    let t0 = tenant(0).to_string();

    // Unsigned checkpoints: the hashes alone hold, the signatures do not.
    rewrite_chain(&store, &t0, |_, _, _, _| (None, None)).await;
    let hashes_only = keel_projections::audit::verify(&store.database(), None, None)
        .await
        .unwrap();
    assert!(
        hashes_only.valid,
        "without a key the rewrite goes unseen: {hashes_only:?}"
    );
    let (out, result) = keel(&db, &["audit", "verify", "--public-key", &public]).await;
    assert_eq!(result.unwrap_err().exit_code(), 1);
    assert!(
        out.contains("BROKEN at record 1000") && out.contains("checkpoint 1000: it is unsigned"),
        "{out}"
    );

    // Checkpoints signed with another key, under its own id or under the real key's id.
    let forger = AuditSigner::from_seed([9; 32]);
    rewrite_chain(&store, &t0, |t, seq, position, hash| {
        let (key, signature) = forger.sign(t, seq, position, hash);
        (Some(key), Some(signature))
    })
    .await;
    let (out, result) = keel(&db, &["audit", "verify", "--public-key", &public]).await;
    assert!(result.is_err());
    assert!(
        out.contains("checkpoint 1000: it is signed by key"),
        "{out}"
    );
    let real_id = test_audit_signer().public().key_id.clone();
    rewrite_chain(&store, &t0, |t, seq, position, hash| {
        (
            Some(real_id.clone()),
            Some(forger.sign(t, seq, position, hash).1),
        )
    })
    .await;
    let (out, result) = keel(&db, &["audit", "verify", "--public-key", &public]).await;
    assert!(result.is_err());
    assert!(
        out.contains("checkpoint 1000: its signature does not verify"),
        "{out}"
    );

    // An export carries the forged checkpoints: verified offline, it fails the same way.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl").display().to_string();
    let (_, exported) = keel(
        &db,
        &["audit", "export", "--tenant", &t0, "--output", &file],
    )
    .await;
    exported.unwrap();
    let (out, result) = keel(
        &db,
        &[
            "audit",
            "verify",
            "--export",
            &file,
            "--public-key",
            &public,
        ],
    )
    .await;
    assert!(result.is_err());
    assert!(
        out.contains("BROKEN at record 1000")
            && out.contains("checkpoint 1000: its signature does not verify"),
        "{out}"
    );
}
