//! Reports over HTTP: the platform overview, a tenant's activity and compliance reports with
//! recorded access denials, JSON and CSV, tenant isolation and scopes, and bad ranges naming
//! the parameter.

use keel_tests::app::{spawn_app_with, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    reports_cover_tenants_usage_members_keys_policies_and_denials,
    reports_refuse_bad_ranges_other_tenants_and_missing_scopes,
);

/// `GET path` with `key`, asserting 200; the JSON body.
async fn report(app: &TestApp, path: &str, key: &str) -> Value {
    let reply = app.send(Method::GET, path, Some(key), None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
    reply.body
}

/// `GET path` with `key` and extra headers; status, content type and body text.
async fn raw(
    app: &TestApp,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut request = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

/// Polls `path` until `done` holds of its body (bounded: 10 s).
async fn poll(app: &TestApp, path: &str, key: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let body = report(app, path, key).await;
        if done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never got there: {:?}", report(app, path, key).await);
}

async fn reports_cover_tenants_usage_members_keys_policies_and_denials(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.usage_flush_ms = 100).await;
    let a = app.create_tenant("reported").await;
    let b = app.create_tenant("paused").await;
    let suspended = app
        .post(
            &format!("/v1/tenants/{b}/suspend"),
            json!({"reason": "unpaid"}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{:?}", suspended.body);
    let base = format!("/v1/tenants/{a}");
    let added = app
        .post(
            &format!("{base}/members"),
            json!({"email": "dev@reported.example", "role": "member"}),
        )
        .await;
    assert!(added.status.is_success(), "{:?}", added.body);
    let key = app.tenant_key(&a, &["reports:read", "policies:read"]).await;
    let drafted = app
        .post(
            &format!("{base}/policies"),
            json!({"name": "Admins only", "document": {"kind": "access", "rules": [
                {"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}
            ]}}),
        )
        .await;
    assert_eq!(drafted.status, StatusCode::CREATED, "{:?}", drafted.body);
    let policy = drafted.body["data"]["id"].as_str().unwrap().to_owned();
    let published = app
        .post(
            &format!("{base}/policies/{policy}/publish"),
            json!({"version": 1}),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{:?}", published.body);

    // One allowed and two denied decisions; only the denials are recorded.
    for (role, subject) in [("admin", "ada"), ("viewer", "bob"), ("guest", "eve")] {
        let decided = app
            .send(
                Method::POST,
                &format!("{base}/policy-decisions"),
                Some(&key),
                Some(
                    json!({"role": role, "action": "tenants.suspend", "resource": "tenants/1",
                            "ip": "10.0.0.7", "subject": subject}),
                ),
                &[],
            )
            .await;
        assert_eq!(decided.status, StatusCode::OK, "{:?}", decided.body);
        assert_eq!(decided.body["allowed"], role == "admin");
    }

    poll(&app, &format!("{base}/reports/compliance"), &key, |body| {
        body["access_denials"]["total"] == 2
    })
    .await;
    // The denials are in the log; each report below reads after every read model it draws on
    // (audit, usage, reports) has folded the whole log, as they advance independently.
    let head = app.db.open().await.head_position().await.unwrap();
    let after = format!("after_position={head}");
    let compliance = report(&app, &format!("{base}/reports/compliance?{after}"), &key).await;
    let denials = &compliance["access_denials"];
    assert_eq!(denials["omitted"], 0);
    assert_eq!(denials["truncated"], false);
    let subjects: Vec<&str> = denials["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["bob", "eve"]);
    let denial = &denials["items"][0];
    assert_eq!(denial["role"], "viewer");
    assert_eq!(denial["action"], "tenants.suspend");
    assert_eq!(denial["ip"], "10.0.0.7");
    assert_eq!(denial["reasons"][0]["code"], "no_access_rule");
    let versions = compliance["policy_versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0]["policy_id"], policy.as_str());
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["platform_wide"], false);
    assert_eq!(versions[0]["active_until"], Value::Null);
    let member_actions: Vec<&str> = compliance["member_changes"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        member_actions,
        ["tenant.member_added", "tenant.member_added"],
        "the owner and the developer"
    );
    let keys = compliance["key_changes"]["items"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["action"], "tenant.api_key_issued");
    assert_eq!(
        keys[0]["details"]["scopes"],
        json!(["reports:read", "policies:read"])
    );
    assert_eq!(compliance["audit_chain"]["valid"], true);
    assert!(compliance["audit_chain"]["records"].as_u64().unwrap() >= 6);

    let activity = report(&app, &format!("{base}/reports/activity?{after}"), &key).await;
    assert_eq!(
        activity["members"],
        json!({"added": 2, "removed": 0, "role_changed": 0})
    );
    assert_eq!(activity["keys"], json!({"issued": 1, "revoked": 0}));
    assert_eq!(activity["policies"]["actions"]["policy.published"], 1);
    assert_eq!(
        activity["policies"]["in_force_at_end"][0]["policy_id"],
        policy.as_str()
    );
    let seats = activity["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["meter"] == "seats")
        .unwrap();
    let points = seats["points"].as_array().unwrap();
    assert_eq!(
        points.len(),
        31,
        "a point per day the default 30 days touch"
    );
    assert_eq!(points.last().unwrap()["value"], 2);
    assert_eq!(points[0]["value"], 0);
    let seats_quota = activity["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["meter"] == "seats")
        .unwrap();
    assert_eq!(
        (seats_quota["used"].clone(), seats_quota["limit"].clone()),
        (json!(2), json!(30))
    );
    assert!(activity["actors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["actor_kind"] == "api_key"));

    let overview = report(
        &app,
        &format!("/v1/reports/overview?{after}"),
        &app.admin_key,
    )
    .await;
    assert_eq!(overview["tenants"]["total"], 2);
    assert_eq!(
        overview["tenants"]["by_status"],
        json!({"active": 1, "suspended": 1})
    );
    assert_eq!(overview["tenants"]["by_plan"], json!({"standard": 2}));
    let months = overview["months"].as_array().unwrap();
    let new: u64 = months
        .iter()
        .map(|m| m["new_tenants"].as_u64().unwrap())
        .sum();
    assert_eq!(new, 2);
    let this_month = months.last().unwrap();
    assert_eq!(this_month["churned_tenants"], 0);
    assert_eq!(
        this_month["mrr_by_plan"][0]["tenants"], 1,
        "the suspended tenant pays nothing"
    );
    let standard = keel_domain::billing::Catalogue::builtin()
        .price(keel_domain::shared::Plan::Standard)
        .base_price_minor;
    assert_eq!(this_month["mrr_by_plan"][0]["amount_minor"], standard);
    assert_eq!(this_month["mrr_total_minor"], standard);
    assert_eq!(this_month["currency"], "USD");
    let platform_seats = overview["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["meter"] == "seats")
        .unwrap();
    assert_eq!(
        platform_seats["points"].as_array().unwrap().last().unwrap()["value"],
        3,
        "two seats of one tenant and one of the other"
    );

    // CSV: by `format` or by `Accept`, one header, a section per row.
    let (status, content_type, csv) = raw(
        &app,
        &format!("{base}/reports/compliance?format=csv"),
        &key,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("section,at,until,policy_id,"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("denial,")).count(),
        2,
        "{csv}"
    );
    assert!(
        lines.contains(&"denials_total,,,,,,,,,,,,,,,,,,,,,2"),
        "{csv}"
    );
    let (_, content_type, csv) = raw(
        &app,
        "/v1/reports/overview",
        &app.admin_key,
        &[("accept", "text/csv")],
    )
    .await;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert!(csv.starts_with("section,month,status,plan,tenants,"));
    assert!(csv.contains("\r\ntenants,,suspended,standard,1,"), "{csv}");
    let (_, content_type, csv) = raw(
        &app,
        &format!("{base}/reports/activity?format=csv&granularity=month"),
        &key,
        &[],
    )
    .await;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert!(csv.contains("\r\nmembers,,,,,,,,,,added,2,"), "{csv}");
    let (_, content_type, _) = raw(
        &app,
        &format!("{base}/reports/activity?format=json"),
        &key,
        &[("accept", "text/csv")],
    )
    .await;
    assert_eq!(
        content_type, "application/json",
        "`format` wins over Accept"
    );
}

async fn reports_refuse_bad_ranges_other_tenants_and_missing_scopes(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let a = app.create_tenant("guarded").await;
    let b = app.create_tenant("outsider").await;
    let key = app.tenant_key(&a, &["reports:read"]).await;
    let other = app.tenant_key(&b, &["*:admin"]).await;
    let unscoped = app.tenant_key(&a, &["audit:read"]).await;
    let base = format!("/v1/tenants/{a}/reports");
    for report in ["activity", "compliance"] {
        let path = format!("{base}/{report}");
        let foreign = app.send(Method::GET, &path, Some(&other), None, &[]).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{report}");
        let missing = app
            .send(Method::GET, &path, Some(&unscoped), None, &[])
            .await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "{report}");
        let absent = app
            .send(
                Method::GET,
                &format!("/v1/tenants/{}/reports/{report}", uuid::Uuid::now_v7()),
                Some(&app.admin_key),
                None,
                &[],
            )
            .await;
        assert_eq!(absent.status, StatusCode::NOT_FOUND, "{report}");
    }
    let overview = app
        .send(Method::GET, "/v1/reports/overview", Some(&key), None, &[])
        .await;
    assert_eq!(overview.status, StatusCode::FORBIDDEN, "admin keys only");

    let cases = [
        (
            "activity",
            "from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            "from",
        ),
        ("compliance", "from=yesterday", "from"),
        ("activity", "to=2026-11-31T00:00:00Z", "to"),
        (
            "compliance",
            "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to",
        ),
        ("activity", "granularity=hour", "granularity"),
        ("compliance", "granularity=day", "granularity"),
        ("activity", "format=xml", "format"),
    ];
    for (report, query, field) in cases {
        let reply = app
            .send(
                Method::GET,
                &format!("{base}/{report}?{query}"),
                Some(&key),
                None,
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{report}?{query}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(reply.body["errors"][0]["field"], field, "{report}?{query}");
    }
    let bad_overview = app
        .send(
            Method::GET,
            "/v1/reports/overview?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
            Some(&app.admin_key),
            None,
            &[],
        )
        .await;
    assert_eq!(bad_overview.body["errors"][0]["field"], "from");
}
