//! The audit trail over HTTP: records with before/after values (never secrets), filters,
//! read-your-writes, exports, verification, and tenant isolation.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

both_backends!(the_audit_trail_records_changes_and_serves_only_its_tenant);

async fn the_audit_trail_records_changes_and_serves_only_its_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_tenant("audited").await;
    let other = app.create_tenant("elsewhere").await;
    let base = format!("/v1/tenants/{id}");
    app.post(
        &format!("{base}/settings"),
        json!({"timezone": "Europe/Paris"}),
    )
    .await;
    let changed = app
        .post(
            &format!("{base}/settings"),
            json!({"timezone": "Asia/Tokyo", "require_mfa": true}),
        )
        .await;
    let position = changed
        .header("x-keel-position")
        .expect("a position")
        .to_owned();
    let key = app.tenant_key(&id, &["audit:read"]).await;
    let other_key = app.tenant_key(&other, &["audit:read"]).await;
    let no_scope = app.tenant_key(&id, &["members:read"]).await;

    let get = |path: String, key: String| {
        let app = &app;
        async move { app.send(Method::GET, &path, Some(&key), None, &[]).await }
    };
    let page = get(
        format!("{base}/audit?action=tenant.settings_updated&after_position={position}"),
        key.clone(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    let items = page.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1]["before"],
        json!({"timezone": "Europe/Paris", "require_mfa": null})
    );
    assert_eq!(
        items[1]["after"],
        json!({"timezone": "Asia/Tokyo", "require_mfa": true})
    );
    assert_eq!(items[1]["entity_type"], "tenant");
    assert_eq!(items[1]["actor_kind"], "api_key");
    assert_eq!(
        items[1]["source_ip"], "127.0.0.1",
        "the client's address is recorded"
    );
    assert_eq!(
        items[1]["correlation_id"],
        changed.header("x-request-id").expect("a request id"),
        "the request id is the correlation id"
    );

    // The key issued for this test is audited without its hash.
    let keys = get(
        format!("{base}/audit?action=tenant.api_key_issued&after_position=999999"),
        key.clone(),
    )
    .await;
    assert_eq!(
        keys.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a position not reached yet waits, then 503"
    );
    let keys = get(
        format!("{base}/audit?action=tenant.api_key_issued"),
        key.clone(),
    )
    .await;
    let issued = &keys.body["items"][0];
    assert_eq!(issued["entity_type"], "api_key");
    assert!(issued["after"]["secret_hash"].is_null());
    assert!(!keys.body.to_string().contains(&key[5..20]));

    let first = get(format!("{base}/audit?limit=2"), key.clone()).await;
    assert_eq!(first.body["items"][0]["seq"], 1);
    let cursor = first.body["next_cursor"].as_u64().expect("more pages");
    let second = get(format!("{base}/audit?limit=2&cursor={cursor}"), key.clone()).await;
    assert_eq!(second.body["items"][0]["seq"], 3);

    let csv = app
        .client
        .get(format!("{}{base}/audit/export?format=csv", app.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("kind,tenant_id,seq,"));
    assert!(text.contains("tenant.settings_updated"));
    let jsonl = app
        .client
        .get(format!("{}{base}/audit/export", app.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(jsonl
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));

    let verified = get(format!("{base}/audit/verify"), key.clone()).await;
    assert_eq!(verified.body["valid"], true, "{:?}", verified.body);
    assert!(verified.body["records"].as_u64().unwrap() >= 5);

    for path in [
        format!("{base}/audit"),
        format!("{base}/audit/export"),
        format!("{base}/audit/verify"),
    ] {
        assert_eq!(
            get(path.clone(), other_key.clone()).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            get(path.clone(), no_scope.clone()).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let bad = get(format!("{base}/audit?limit=0"), key.clone()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["errors"][0]["field"], "limit");
    let bad = get(format!("{base}/audit/export?format=xml"), key.clone()).await;
    assert_eq!(bad.body["errors"][0]["field"], "format");

    let status = app.get("/v1/projections").await;
    assert_eq!(status.status, StatusCode::OK);
    assert!(status.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "audit"));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("keel_projection_lag_events{projection=\"audit\"}"),
        "{metrics}"
    );
    assert_eq!(
        app.client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
