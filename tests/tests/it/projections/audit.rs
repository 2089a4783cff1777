//! The audit trail's hash chains: verification names the first changed, removed or
//! reordered record.

use super::support::{append_samples, execute, tenant};
use keel_projections::audit::{self, AuditFilter};
use keel_projections::RebuildMode;
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};

both_backends!(
    verification_names_the_first_changed_removed_or_reordered_record,
    audit_queries_filter_and_page_by_cursor,
);

async fn verification_names_the_first_changed_removed_or_reordered_record(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    // Two tenants of 1,500 records each: their chains pass a checkpoint (every 1,000).
    append_samples(&store, 3000, 2).await;
    keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    let database = store.database();
    let clean = audit::verify(&database, None, None).await.unwrap();
    assert!(clean.valid, "{clean:?}");
    assert_eq!(clean.chains.len(), 2);
    assert!(clean.chains.iter().all(|c| c.records == 1500));
    let t0 = tenant(0).to_string();

    execute(&store, &format!("UPDATE audit_records_g1 SET after_json = '{{\"n\":1}}' WHERE tenant_id = '{t0}' AND seq = 700")).await;
    let changed = audit::verify(&database, Some(tenant(0)), None)
        .await
        .unwrap();
    let broken = changed.chains[0]
        .first_broken
        .clone()
        .expect("the change is found");
    assert_eq!(broken.seq, 700);
    assert!(broken.reason.contains("content"), "{broken:?}");
    let other = audit::verify(&database, Some(tenant(1)), None)
        .await
        .unwrap();
    assert!(other.valid, "the other tenant's chain is untouched");

    keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    execute(
        &store,
        &format!("DELETE FROM audit_records_g1 WHERE tenant_id = '{t0}' AND seq = 42"),
    )
    .await;
    let removed = audit::verify(&database, Some(tenant(0)), None)
        .await
        .unwrap();
    assert_eq!(
        removed.chains[0].first_broken.as_ref().map(|b| b.seq),
        Some(42)
    );

    keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    execute(
        &store,
        &format!("UPDATE audit_records_g1 SET seq = -1 WHERE tenant_id = '{t0}' AND seq = 10"),
    )
    .await;
    execute(
        &store,
        &format!("UPDATE audit_records_g1 SET seq = 10 WHERE tenant_id = '{t0}' AND seq = 11"),
    )
    .await;
    execute(
        &store,
        &format!("UPDATE audit_records_g1 SET seq = 11 WHERE tenant_id = '{t0}' AND seq = -1"),
    )
    .await;
    let reordered = audit::verify(&database, Some(tenant(0)), None)
        .await
        .unwrap();
    assert_eq!(
        reordered.chains[0].first_broken.as_ref().map(|b| b.seq),
        Some(10)
    );

    keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    execute(
        &store,
        &format!("DELETE FROM audit_records_g1 WHERE tenant_id = '{t0}' AND seq > 1400"),
    )
    .await;
    let truncated = audit::verify(&database, Some(tenant(0)), None)
        .await
        .unwrap();
    let broken = truncated.chains[0]
        .first_broken
        .clone()
        .expect("the truncation is found");
    assert_eq!(broken.seq, 1401, "{broken:?}");
}

async fn audit_queries_filter_and_page_by_cursor(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    append_samples(&store, 250, 2).await;
    keel_projections::rebuild(&store.log(), "audit", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    let database = store.database();
    let mut filter = AuditFilter::tenant(tenant(1));
    let mut seen = Vec::new();
    loop {
        let page = audit::query(&database, &filter, 50).await.unwrap();
        assert!(page
            .items
            .iter()
            .all(|r| r.tenant_id == tenant(1).to_string()));
        seen.extend(page.items.iter().map(|r| r.seq));
        match page.next_cursor {
            Some(cursor) => filter.after_seq = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, (1..=125).collect::<Vec<u64>>());
    let mut by_entity = AuditFilter::tenant(tenant(1));
    by_entity.entity_type = Some("sample".into());
    by_entity.entity_id = Some("1".into());
    by_entity.action = Some("test.happened".into());
    assert_eq!(
        audit::query(&database, &by_entity, 500)
            .await
            .unwrap()
            .items
            .len(),
        125
    );
    by_entity.entity_id = Some("0".into());
    assert!(audit::query(&database, &by_entity, 500)
        .await
        .unwrap()
        .items
        .is_empty());

    let mut jsonl = Vec::new();
    audit::export(
        &database,
        &AuditFilter::tenant(tenant(0)),
        audit::ExportFormat::JsonLines,
        None,
        &mut jsonl,
    )
    .await
    .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 126, "125 records and the head");
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[125]["kind"], "head");
    assert!(lines[125]["signature"].is_null(), "no signer: unsigned");
    let mut csv = Vec::new();
    audit::export(
        &database,
        &AuditFilter::tenant(tenant(0)),
        audit::ExportFormat::Csv,
        None,
        &mut csv,
    )
    .await
    .unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(
        text.lines().count(),
        127,
        "a header, one line per record and the head"
    );
    assert!(text.starts_with("kind,tenant_id,seq,position,"));
}
