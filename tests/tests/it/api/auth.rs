//! Authentication and tenancy over HTTP: isolation (404), scopes (403), revoked and expired
//! keys (401), admin keys.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

both_backends!(
    a_tenant_key_sees_only_its_own_tenant,
    a_key_acts_only_within_its_scopes,
    a_revoked_key_is_refused_at_once,
    an_expired_key_is_refused,
    requests_without_a_valid_key_are_unauthorized,
    admin_keys_can_be_issued_and_revoked_but_not_the_last,
);

async fn a_tenant_key_sees_only_its_own_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let key_a = app.tenant_key(&a, &["*:admin"]).await;
    let get = |path: String| {
        let key = key_a.clone();
        let app = &app;
        async move { app.send(Method::GET, &path, Some(&key), None, &[]).await }
    };
    assert_eq!(get(format!("/v1/tenants/{a}")).await.status, StatusCode::OK);
    let other = get(format!("/v1/tenants/{b}")).await;
    let missing = get(format!("/v1/tenants/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.body, missing.body,
        "another tenant looks exactly like no tenant"
    );
    for path in ["members", "api-keys", "events"] {
        assert_eq!(
            get(format!("/v1/tenants/{b}/{path}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let rename = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{b}/rename"),
            Some(&key_a),
            Some(json!({"name": "Mine now"})),
            &[],
        )
        .await;
    assert_eq!(rename.status, StatusCode::NOT_FOUND);
    let list = get("/v1/tenants".into()).await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()]);
    assert_eq!(
        app.get(&format!("/v1/tenants/{b}")).await.body["name"],
        "Tenant tenant-b"
    );
}

async fn a_key_acts_only_within_its_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("scoped").await;
    let reader = app.tenant_key(&t, &["tenants:read"]).await;
    let show = app
        .send(
            Method::GET,
            &format!("/v1/tenants/{t}"),
            Some(&reader),
            None,
            &[],
        )
        .await;
    assert_eq!(show.status, StatusCode::OK);
    let rename = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{t}/rename"),
            Some(&reader),
            Some(json!({"name": "X"})),
            &[],
        )
        .await;
    assert_eq!(rename.status, StatusCode::FORBIDDEN);
    let members = app
        .send(
            Method::GET,
            &format!("/v1/tenants/{t}/members"),
            Some(&reader),
            None,
            &[],
        )
        .await;
    assert_eq!(members.status, StatusCode::FORBIDDEN);
    let writer = app.tenant_key(&t, &["tenants:write"]).await;
    let rename = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{t}/rename"),
            Some(&writer),
            Some(json!({"name": "X"})),
            &[],
        )
        .await;
    assert_eq!(rename.status, StatusCode::OK);
    let suspend = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{t}/suspend"),
            Some(&writer),
            Some(json!({"reason": "self"})),
            &[],
        )
        .await;
    assert_eq!(
        suspend.status,
        StatusCode::FORBIDDEN,
        "platform-only commands need an admin key"
    );
    let create = app
        .send(Method::POST, "/v1/tenants", Some(&writer), Some(json!({"name": "n", "slug": "nnn", "plan": "free", "data_region": "r", "owner_email": "a@b.io"})), &[])
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
}

async fn a_revoked_key_is_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("revoking").await;
    let key = app.tenant_key(&t, &["*:read"]).await;
    let keys = app.get(&format!("/v1/tenants/{t}/api-keys")).await.body;
    let key_id = keys[0]["id"].as_str().unwrap().to_owned();
    assert!(keys[0].get("secret").is_none() && keys[0].get("secret_hash").is_none());
    let show = |key: String| {
        let app = &app;
        let t = t.clone();
        async move {
            app.send(
                Method::GET,
                &format!("/v1/tenants/{t}"),
                Some(&key),
                None,
                &[],
            )
            .await
            .status
        }
    };
    assert_eq!(show(key.clone()).await, StatusCode::OK);
    let revoked = app
        .post(
            &format!("/v1/tenants/{t}/api-keys/{key_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(revoked.body["data"]["revoked"], true);
    assert_eq!(show(key).await, StatusCode::UNAUTHORIZED);
}

async fn an_expired_key_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("expiring").await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let reply = app
        .post(
            &format!("/v1/tenants/{t}/api-keys"),
            json!({"name": "short", "scopes": ["*:read"], "expires_at": expires_at}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let key = reply.body["data"]["secret"].as_str().unwrap().to_owned();
    let path = format!("/v1/tenants/{t}");
    assert_eq!(
        app.send(Method::GET, &path, Some(&key), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = app
            .send(Method::GET, &path, Some(&key), None, &[])
            .await
            .status;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the key never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn requests_without_a_valid_key_are_unauthorized(backend: Backend) {
    let app = spawn_app(backend).await;
    let unknown = format!("keel_{}", "u".repeat(43));
    for key in [None, Some("not-a-key"), Some(unknown.as_str())] {
        let reply = app.send(Method::GET, "/v1/tenants", key, None, &[]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
    }
    let reply = app.send(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
}

async fn admin_keys_can_be_issued_and_revoked_but_not_the_last(backend: Backend) {
    let app = spawn_app(backend).await;
    let issued = app.post("/v1/admin-keys", json!({"name": "ops"})).await;
    assert_eq!(issued.status, StatusCode::CREATED);
    let second = issued.body["data"]["secret"].as_str().unwrap().to_owned();
    let listed = app
        .send(Method::GET, "/v1/admin-keys", Some(&second), None, &[])
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let keys = listed.body.as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let first_id = keys.iter().find(|k| k["name"] == "configured").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_id = issued.body["data"]["id"].as_str().unwrap().to_owned();
    let revoke = app
        .send(
            Method::POST,
            &format!("/v1/admin-keys/{first_id}/revoke"),
            Some(&second),
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK);
    assert_eq!(
        app.get("/v1/tenants").await.status,
        StatusCode::UNAUTHORIZED
    );
    let last = app
        .send(
            Method::POST,
            &format!("/v1/admin-keys/{second_id}/revoke"),
            Some(&second),
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert_eq!(last.body["code"], "last_admin_key");
}
