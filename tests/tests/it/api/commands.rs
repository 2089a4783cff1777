//! Command semantics over HTTP: optimistic concurrency with ETag/If-Match, Idempotency-Key,
//! read-your-writes, and concurrent commands on one tenant.

use keel_tests::app::{spawn_app, spawn_app_with};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

both_backends!(
    a_stale_if_match_is_refused_and_appends_nothing,
    a_retried_command_with_the_same_idempotency_key_appends_nothing,
    the_same_idempotency_key_with_another_body_is_refused,
    a_read_waits_for_the_position_it_names_or_answers_503,
    concurrent_commands_on_one_tenant_all_apply,
    a_secret_is_shown_once_even_to_an_idempotent_retry,
);

async fn head(app: &keel_tests::app::TestApp) -> u64 {
    app.get("/readyz").await.body["head_position"]
        .as_u64()
        .unwrap()
}

async fn a_stale_if_match_is_refused_and_appends_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("matching").await;
    let path = format!("/v1/tenants/{t}/rename");
    let first = app
        .send(
            Method::POST,
            &path,
            Some(&app.admin_key),
            Some(json!({"name": "One"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("etag"), Some("\"3\""));
    let before = head(&app).await;
    let stale = app
        .send(
            Method::POST,
            &path,
            Some(&app.admin_key),
            Some(json!({"name": "Two"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(head(&app).await, before);
    let garbage = app
        .send(
            Method::POST,
            &path,
            Some(&app.admin_key),
            Some(json!({"name": "Two"})),
            &[("if-match", "yesterday")],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.body["errors"][0]["field"], "If-Match");
    let shown = app.get(&format!("/v1/tenants/{t}")).await;
    assert_eq!(shown.header("etag"), Some("\"3\""));
    assert_eq!(shown.body["name"], "One");
}

async fn a_retried_command_with_the_same_idempotency_key_appends_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"name": "Once", "slug": "once", "plan": "free", "data_region": "eu", "owner_email": "a@once.io"});
    let headers = [("idempotency-key", "create-once-1")];
    let first = app
        .send(
            Method::POST,
            "/v1/tenants",
            Some(&app.admin_key),
            Some(body.clone()),
            &headers,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let before = head(&app).await;
    let again = app
        .send(
            Method::POST,
            "/v1/tenants",
            Some(&app.admin_key),
            Some(body),
            &headers,
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(head(&app).await, before);
    let listed = app.get("/v1/tenants").await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // A refusal is an answer too: it is replayed, not re-decided.
    let t = first.body["data"]["id"].as_str().unwrap();
    let rename = format!("/v1/tenants/{t}/rename");
    let key = [("idempotency-key", "rename-1")];
    let refused = app
        .send(
            Method::POST,
            &rename,
            Some(&app.admin_key),
            Some(json!({"name": ""})),
            &key,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let replayed = app
        .send(
            Method::POST,
            &rename,
            Some(&app.admin_key),
            Some(json!({"name": ""})),
            &key,
        )
        .await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        replayed.header("content-type"),
        Some("application/problem+json")
    );
}

async fn the_same_idempotency_key_with_another_body_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("reused").await;
    let path = format!("/v1/tenants/{t}/rename");
    let key = [("idempotency-key", "k-1")];
    let first = app
        .send(
            Method::POST,
            &path,
            Some(&app.admin_key),
            Some(json!({"name": "A"})),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let before = head(&app).await;
    let other = app
        .send(
            Method::POST,
            &path,
            Some(&app.admin_key),
            Some(json!({"name": "B"})),
            &key,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.body["code"], "idempotency_key_reused");
    assert_eq!(head(&app).await, before);
    assert_eq!(app.get(&format!("/v1/tenants/{t}")).await.body["name"], "A");
}

async fn a_read_waits_for_the_position_it_names_or_answers_503(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.read_wait_ms = 200).await;
    let t = app.create_tenant("fresh").await;
    let reply = app
        .post(&format!("/v1/tenants/{t}/rename"), json!({"name": "Fresh"}))
        .await;
    let position = reply.body["global_position"].as_u64().unwrap();
    let read = app
        .get(&format!("/v1/tenants?after_position={position}"))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["items"][0]["name"], "Fresh");
    let header = app
        .send(
            Method::GET,
            "/v1/tenants",
            Some(&app.admin_key),
            None,
            &[("x-keel-after-position", &position.to_string())],
        )
        .await;
    assert_eq!(header.status, StatusCode::OK);
    let future = app
        .get(&format!("/v1/tenants?after_position={}", position + 1000))
        .await;
    assert_eq!(future.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(future.header("retry-after"), Some("1"));
    let garbage = app.get("/v1/tenants?after_position=soon").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

async fn concurrent_commands_on_one_tenant_all_apply(backend: Backend) {
    let app = std::sync::Arc::new(spawn_app(backend).await);
    let t = app.create_tenant("crowded").await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let app = app.clone();
            let t = t.clone();
            tokio::spawn(async move {
                app.post(
                    &format!("/v1/tenants/{t}/feature-flags"),
                    json!({"flag": format!("flag_{i}"), "enabled": true}),
                )
                .await
                .status
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let shown = app.get(&format!("/v1/tenants/{t}")).await;
    assert_eq!(shown.body["feature_flags"].as_object().unwrap().len(), 32);
    assert_eq!(shown.header("etag"), Some("\"34\""));
}

async fn a_secret_is_shown_once_even_to_an_idempotent_retry(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("secretive").await;
    let path = format!("/v1/tenants/{t}/api-keys");
    let body = json!({"name": "ci", "scopes": ["*:read"]});
    let key = [("idempotency-key", "issue-ci-key")];
    let first = app
        .send(
            Method::POST,
            &path,
            Some(&app.admin_key),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let secret = first.body["data"]["secret"].as_str().unwrap().to_owned();
    let again = app
        .send(Method::POST, &path, Some(&app.admin_key), Some(body), &key)
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body["data"]["id"], first.body["data"]["id"]);
    assert_eq!(again.body["data"]["secret"], serde_json::Value::Null);
    let events = app
        .get(&format!("/v1/tenants/{t}/events?limit=1000"))
        .await
        .body
        .to_string();
    assert!(!events.contains(&secret));
    let issued = app
        .get(&format!("/v1/tenants/{t}/events?limit=1000"))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "tenant.api_key_issued")
        .cloned()
        .unwrap();
    assert!(issued["data"].get("secret_hash").is_none(), "{issued}");
}
