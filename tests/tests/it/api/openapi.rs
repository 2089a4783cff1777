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
    "GET /v1/tenants/{tenant_id}/audit",
    "GET /v1/tenants/{tenant_id}/audit/export",
    "GET /v1/tenants/{tenant_id}/audit/verify",
    "GET /.well-known/keel-audit-key",
    "GET /v1/projections",
    "POST /v1/tenants/{tenant_id}/usage",
    "GET /v1/tenants/{tenant_id}/usage",
    "GET /v1/tenants/{tenant_id}/quotas",
    "GET /v1/reports/overview",
    "GET /v1/tenants/{tenant_id}/reports/activity",
    "GET /v1/tenants/{tenant_id}/reports/compliance",
    "GET /v1/plans",
    "GET /v1/tenants/{tenant_id}/invoices/draft",
    "GET /v1/tenants/{tenant_id}/invoices",
    "GET /v1/tenants/{tenant_id}/invoices/{invoice_id}",
    "POST /v1/tenants/{tenant_id}/invoices/{invoice_id}/credit-notes",
    "GET /v1/tenants/{tenant_id}/workflows",
    "POST /v1/tenants/{tenant_id}/workflows",
    "GET /v1/tenants/{tenant_id}/workflows/{workflow_id}",
    "POST /v1/tenants/{tenant_id}/workflows/{workflow_id}/revise",
    "POST /v1/tenants/{tenant_id}/workflows/{workflow_id}/enable",
    "POST /v1/tenants/{tenant_id}/workflows/{workflow_id}/disable",
    "POST /v1/tenants/{tenant_id}/workflows/{workflow_id}/archive",
    "POST /v1/tenants/{tenant_id}/workflows/{workflow_id}/runs",
    "GET /v1/tenants/{tenant_id}/workflow-runs",
    "GET /v1/tenants/{tenant_id}/workflow-runs/{run_id}",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/start",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/complete",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/fail",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/time-out",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/approve",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/reject",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/fail",
    "POST /v1/tenants/{tenant_id}/workflow-runs/{run_id}/cancel",
    "GET /v1/tenants/{tenant_id}/integrations",
    "POST /v1/tenants/{tenant_id}/integrations",
    "GET /v1/tenants/{tenant_id}/integrations/{integration_id}",
    "POST /v1/tenants/{tenant_id}/integrations/{integration_id}/endpoint",
    "POST /v1/tenants/{tenant_id}/integrations/{integration_id}/filter",
    "POST /v1/tenants/{tenant_id}/integrations/{integration_id}/rotate-secret",
    "POST /v1/tenants/{tenant_id}/integrations/{integration_id}/enable",
    "POST /v1/tenants/{tenant_id}/integrations/{integration_id}/disable",
    "POST /v1/tenants/{tenant_id}/integrations/{integration_id}/deliveries",
    "GET /v1/admin-keys",
    "POST /v1/admin-keys",
    "POST /v1/admin-keys/{key_id}/revoke",
    "GET /v1/tenants/{tenant_id}/policies",
    "POST /v1/tenants/{tenant_id}/policies",
    "GET /v1/tenants/{tenant_id}/policies/{policy_id}",
    "POST /v1/tenants/{tenant_id}/policies/{policy_id}/revise",
    "POST /v1/tenants/{tenant_id}/policies/{policy_id}/publish",
    "POST /v1/tenants/{tenant_id}/policies/{policy_id}/deactivate",
    "POST /v1/tenants/{tenant_id}/policies/{policy_id}/archive",
    "POST /v1/tenants/{tenant_id}/policy-decisions",
    "GET /v1/platform/policies",
    "POST /v1/platform/policies",
    "GET /v1/platform/policies/{policy_id}",
    "POST /v1/platform/policies/{policy_id}/revise",
    "POST /v1/platform/policies/{policy_id}/publish",
    "POST /v1/platform/policies/{policy_id}/deactivate",
    "POST /v1/platform/policies/{policy_id}/archive",
];

/// `path` with every `{name}` placeholder replaced by `value(name)`.
pub fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = start + rest[start..].find('}').expect("a closed placeholder");
        filled.push_str(&rest[..start]);
        filled.push_str(&value(&rest[start + 1..end]));
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    filled
}

/// The documented operations as `METHOD /path`.
pub async fn documented(app: &keel_tests::app::TestApp) -> BTreeSet<String> {
    let doc = app.get("/openapi.json").await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
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
        let concrete = fill(path, |name| match name {
            "meter" => "api_calls".into(),
            "domain" => "a.example".into(),
            "step_id" => "first".into(),
            _ => uuid::Uuid::now_v7().to_string(),
        });
        let reply = app
            .send(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                None,
                None,
                &[],
            )
            .await;
        let public = path == "/healthz"
            || path == "/readyz"
            || path == "/metrics"
            || path == "/openapi.json"
            || path == "/.well-known/keel-audit-key";
        let expected = if public {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(reply.status, expected, "{operation}");
    }
}
