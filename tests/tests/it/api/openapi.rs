//! The OpenAPI document covers every route, and every documented route exists.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;

both_backends!(every_route_is_documented_and_every_documented_route_exists);

/// Every route the server registers. Routes are registered only through `utoipa-actix-web`'s
/// `service()`, which documents them; this list makes a new route a conscious addition.
const ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
    "POST /v1/tenants",
    "GET /v1/tenants",
    "GET /v1/tenants/{tenant_id}",
    "POST /v1/tenants/{tenant_id}/rename",
    "POST /v1/tenants/{tenant_id}/branding",
    "POST /v1/tenants/{tenant_id}/settings",
    "POST /v1/tenants/{tenant_id}/plan",
    "POST /v1/tenants/{tenant_id}/quota-overrides",
    "POST /v1/tenants/{tenant_id}/quota-overrides/{meter}/clear",
    "POST /v1/tenants/{tenant_id}/feature-flags",
    "POST /v1/tenants/{tenant_id}/suspend",
    "POST /v1/tenants/{tenant_id}/reactivate",
    "POST /v1/tenants/{tenant_id}/decommission/schedule",
    "POST /v1/tenants/{tenant_id}/decommission/cancel",
    "POST /v1/tenants/{tenant_id}/decommission",
    "GET /v1/tenants/{tenant_id}/members",
    "POST /v1/tenants/{tenant_id}/members",
    "POST /v1/tenants/{tenant_id}/members/{member_id}/role",
    "POST /v1/tenants/{tenant_id}/members/{member_id}/remove",
    "POST /v1/tenants/{tenant_id}/domains",
    "POST /v1/tenants/{tenant_id}/domains/{domain}/verify",
    "POST /v1/tenants/{tenant_id}/domains/{domain}/remove",
    "GET /v1/tenants/{tenant_id}/api-keys",
    "POST /v1/tenants/{tenant_id}/api-keys",
    "POST /v1/tenants/{tenant_id}/api-keys/{key_id}/revoke",
    "GET /v1/tenants/{tenant_id}/events",
    "GET /v1/admin-keys",
    "POST /v1/admin-keys",
    "POST /v1/admin-keys/{key_id}/revoke",
];

/// The documented operations as `METHOD /path`.
pub async fn documented(app: &keel_tests::app::TestApp) -> BTreeSet<String> {
    let doc = app.get("/openapi.json").await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} documents its responses");
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations
}

async fn every_route_is_documented_and_every_documented_route_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let operations = documented(&app).await;
    let expected: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(operations, expected);
    for operation in &operations {
        let (method, path) = operation.split_once(' ').unwrap();
        let concrete = path
            .replace("{tenant_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{member_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{key_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{meter}", "api_calls")
            .replace("{domain}", "a.example");
        let reply = app
            .send(Method::from_bytes(method.as_bytes()).unwrap(), &concrete, None, None, &[])
            .await;
        let public = path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/openapi.json";
        let expected = if public { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
        assert_eq!(reply.status, expected, "{operation}");
    }
}
