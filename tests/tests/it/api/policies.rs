//! Policies over HTTP: a tenant's and the platform's policies from draft to archive, decisions
//! with their reasons, validation naming the field, tenant isolation and scopes.

use keel_tests::app::{spawn_app, Reply, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(
    a_policy_is_drafted_revised_published_shown_and_listed,
    a_decision_names_the_policy_version_and_rule,
    a_platform_deny_wins_over_a_tenant_allow,
    an_invalid_cidr_is_refused_naming_the_field,
    policies_are_isolated_by_tenant_and_scope,
    an_archived_policy_refuses_further_commands,
);

/// An access document with the given rules.
fn access(rules: Value) -> Value {
    json!({"kind": "access", "rules": rules})
}

/// Drafts a policy under `base` (`/v1/tenants/{id}` or `/v1/platform`) as the admin and returns
/// its id; panics unless it is drafted.
async fn draft(app: &TestApp, base: &str, name: &str, document: Value) -> String {
    let reply = app
        .post(
            &format!("{base}/policies"),
            json!({"name": name, "document": document}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["data"]["id"].as_str().expect("an id").to_owned()
}

/// Runs a command on a policy as the admin; panics unless it succeeds.
async fn command(app: &TestApp, policy: &str, action: &str, body: Value) -> Reply {
    let reply = app.post(&format!("{policy}/{action}"), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{action}: {:?}", reply.body);
    reply
}

/// Asks for a decision under tenant `tenant` with `key`.
async fn decide(app: &TestApp, tenant: &str, key: &str, request: Value) -> Reply {
    let reply = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{tenant}/policy-decisions"),
            Some(key),
            Some(request),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply
}

async fn a_policy_is_drafted_revised_published_shown_and_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("policied").await;
    let base = format!("/v1/tenants/{tenant}");
    let drafted = app
        .post(
            &format!("{base}/policies"),
            json!({"name": "Admins only", "document": access(json!([
                {"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}
            ]))}),
        )
        .await;
    assert_eq!(drafted.status, StatusCode::CREATED, "{:?}", drafted.body);
    let id = drafted.body["data"]["id"].as_str().unwrap().to_owned();
    let url = format!("{base}/policies/{id}");
    assert_eq!(drafted.header("location"), Some(url.as_str()));
    assert_eq!(drafted.header("etag"), Some("\"1\""));
    assert_eq!(drafted.body["data"]["tenant_id"], tenant.as_str());
    assert_eq!(drafted.body["data"]["platform_wide"], false);
    assert_eq!(drafted.body["data"]["kind"], "access");
    assert_eq!(drafted.body["data"]["status"], "inactive");
    assert_eq!(drafted.body["data"]["versions"][0]["status"], "draft");

    let revised = command(
        &app,
        &url,
        "revise",
        json!({"document": access(json!([
            {"effect": "allow", "roles": ["admin", "owner"], "actions": ["*"], "resources": ["*"]}
        ]))}),
    )
    .await;
    assert_eq!(revised.body["data"]["latest_version"], 2);
    let published = command(&app, &url, "publish", json!({"version": 2})).await;
    assert_eq!(published.body["data"]["status"], "active");
    assert_eq!(published.body["data"]["active_version"], 2);
    let position = published.body["global_position"].as_u64().unwrap();

    let shown = app.get(&format!("{url}?after_position={position}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.header("etag"), Some("\"3\""));
    assert_eq!(shown.body["name"], "Admins only");
    let versions = shown.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["number"], 1);
    assert_eq!(versions[0]["status"], "superseded");
    assert_eq!(versions[1]["status"], "active");
    assert_eq!(versions[1]["document"]["kind"], "access");
    assert_eq!(
        versions[1]["document"]["rules"][0]["roles"],
        json!(["admin", "owner"])
    );

    let second = draft(
        &app,
        &base,
        "Later",
        access(json!([
            {"effect": "deny", "roles": ["*"], "actions": ["delete"], "resources": ["*"]}
        ])),
    )
    .await;
    let listed = app.get(&format!("{base}/policies")).await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body.as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str(), second.as_str()], "oldest first");
    assert_eq!(items[0]["status"], "active");
    assert_eq!(items[0]["active_version"], 2);
    assert_eq!(items[1]["status"], "inactive");
    assert!(
        items[0].get("versions").is_none(),
        "the list shows summaries"
    );
    let platform = app.get("/v1/platform/policies").await;
    assert_eq!(
        platform.body,
        json!([]),
        "tenant policies are not platform-wide"
    );
}

async fn a_decision_names_the_policy_version_and_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("deciding").await;
    let base = format!("/v1/tenants/{tenant}");
    let id = draft(
        &app,
        &base,
        "Workflows",
        access(json!([
            {"effect": "allow", "roles": ["admin"], "actions": ["workflows.*"], "resources": ["*"]},
            {"effect": "deny", "roles": ["*"], "actions": ["workflows.delete"], "resources": ["*"],
             "description": "nobody deletes workflows"}
        ])),
    )
    .await;
    let url = format!("{base}/policies/{id}");
    let reader = app.tenant_key(&tenant, &["policies:read"]).await;
    let request = json!({"role": "admin", "action": "workflows.run", "resource": "workflows/1"});

    let nothing_in_force = decide(&app, &tenant, &reader, request.clone()).await;
    assert_eq!(
        nothing_in_force.body["effect"], "deny",
        "a draft is not in force"
    );
    assert_eq!(
        nothing_in_force.body["reasons"][0]["code"],
        "no_access_rule"
    );
    assert_eq!(nothing_in_force.body["reasons"][0]["source"], Value::Null);

    command(&app, &url, "publish", json!({"version": 1})).await;
    let allowed = decide(&app, &tenant, &reader, request).await;
    assert_eq!(allowed.body["effect"], "allow", "{:?}", allowed.body);
    assert_eq!(allowed.body["allowed"], true);
    let reason = &allowed.body["reasons"][0];
    assert_eq!(reason["code"], "access_allowed");
    assert_eq!(reason["source"]["policy_id"], id.as_str());
    assert_eq!(reason["source"]["name"], "Workflows");
    assert_eq!(reason["source"]["version"], 1);
    assert_eq!(reason["source"]["rule_index"], 0);
    assert_eq!(allowed.body["evaluated"][0]["policy_id"], id.as_str());

    let denied = decide(
        &app,
        &tenant,
        &reader,
        json!({"role": "admin", "action": "workflows.delete", "resource": "workflows/1",
               "ip": "10.1.2.3", "at": "2030-01-01T00:00:00Z", "mfa": "verified"}),
    )
    .await;
    assert_eq!(denied.body["effect"], "deny");
    assert_eq!(denied.body["allowed"], false);
    assert_eq!(denied.body["at"], "2030-01-01T00:00:00Z");
    let reasons = denied.body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "only the violation: {reasons:?}");
    assert_eq!(reasons[0]["code"], "access_denied");
    assert_eq!(reasons[0]["source"]["policy_id"], id.as_str());
    assert_eq!(reasons[0]["source"]["version"], 1);
    assert_eq!(reasons[0]["source"]["rule_index"], 1);
    assert_eq!(reasons[0]["source"]["platform_wide"], false);
    let description = reasons[0]["description"].as_str().unwrap();
    assert!(
        description.contains("Workflows")
            && description.contains("v1")
            && description.contains("nobody deletes workflows"),
        "{description}"
    );

    let bad = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{tenant}/policy-decisions"),
            Some(&reader),
            Some(json!({"role": "admin", "action": "x", "resource": "y", "ip": "not an ip"})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "ip");
    let empty = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{tenant}/policy-decisions"),
            Some(&reader),
            Some(json!({"role": " ", "action": "x", "resource": "y"})),
            &[],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.body["errors"][0]["field"], "role");
}

async fn a_platform_deny_wins_over_a_tenant_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("overruled").await;
    let platform = draft(
        &app,
        "/v1/platform",
        "No exports",
        access(json!([
            {"effect": "deny", "roles": ["*"], "actions": ["billing.export"], "resources": ["*"]}
        ])),
    )
    .await;
    let platform_url = format!("/v1/platform/policies/{platform}");
    let drafted = app.get(&platform_url).await;
    assert_eq!(drafted.body["platform_wide"], true);
    assert_eq!(
        drafted.body["tenant_id"],
        "00000000-0000-0000-0000-000000000000"
    );
    command(&app, &platform_url, "publish", json!({"version": 1})).await;
    let base = format!("/v1/tenants/{tenant}");
    let own = draft(
        &app,
        &base,
        "Admins do anything",
        access(json!([
            {"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}
        ])),
    )
    .await;
    command(
        &app,
        &format!("{base}/policies/{own}"),
        "publish",
        json!({"version": 1}),
    )
    .await;

    let key = app.tenant_key(&tenant, &["policies:read"]).await;
    let denied = decide(
        &app,
        &tenant,
        &key,
        json!({"role": "admin", "action": "billing.export", "resource": "invoices"}),
    )
    .await;
    assert_eq!(denied.body["effect"], "deny", "{:?}", denied.body);
    let reasons = denied.body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0]["code"], "access_denied");
    assert_eq!(reasons[0]["source"]["policy_id"], platform.as_str());
    assert_eq!(reasons[0]["source"]["platform_wide"], true);
    assert_eq!(reasons[0]["source"]["rule_index"], 0);
    let evaluated: Vec<&str> = denied.body["evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        evaluated,
        [platform.as_str(), own.as_str()],
        "platform first, the tenant on top"
    );

    let allowed = decide(
        &app,
        &tenant,
        &key,
        json!({"role": "admin", "action": "billing.read", "resource": "invoices"}),
    )
    .await;
    assert_eq!(
        allowed.body["effect"], "allow",
        "the tenant's allow holds elsewhere"
    );
    assert_eq!(
        allowed.body["reasons"][0]["source"]["policy_id"],
        own.as_str()
    );

    command(&app, &platform_url, "deactivate", json!({})).await;
    let lifted = decide(
        &app,
        &tenant,
        &key,
        json!({"role": "admin", "action": "billing.export", "resource": "invoices"}),
    )
    .await;
    assert_eq!(
        lifted.body["effect"], "allow",
        "a deactivated policy is out of force"
    );
    let listed = app.get("/v1/platform/policies").await;
    assert_eq!(listed.body[0]["id"], platform.as_str());
    assert_eq!(listed.body[0]["status"], "inactive");
}

async fn an_invalid_cidr_is_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("ranges").await;
    let base = format!("/v1/tenants/{tenant}");
    let document = |cidr: &str| {
        json!({"kind": "ip_allowlist", "rules": [
            {"cidr": "10.0.0.0/8", "description": "office"},
            {"cidr": cidr}
        ]})
    };
    let refused = app
        .post(
            &format!("{base}/policies"),
            json!({"name": "Offices", "document": document("10.0.0.300/8")}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        refused.body
    );
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(refused.body["code"], "invalid");
    assert_eq!(refused.body["errors"][0]["field"], "document.rules[1].cidr");
    assert_eq!(
        app.get(&format!("{base}/policies")).await.body,
        json!([]),
        "nothing was drafted"
    );

    let id = draft(&app, &base, "Offices", document("192.168.0.0/16")).await;
    let revise = app
        .post(
            &format!("{base}/policies/{id}/revise"),
            json!({"document": document("192.168.0.1/16")}),
        )
        .await;
    assert_eq!(
        revise.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "host bits are set"
    );
    assert_eq!(revise.body["errors"][0]["field"], "document.rules[1].cidr");
    let unknown_kind = app
        .post(
            &format!("{base}/policies"),
            json!({"name": "X", "document": {"kind": "firewall", "rules": []}}),
        )
        .await;
    assert_eq!(unknown_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn policies_are_isolated_by_tenant_and_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_tenant("policy-a").await;
    let b = app.create_tenant("policy-b").await;
    let document = access(json!([
        {"effect": "allow", "roles": ["*"], "actions": ["*"], "resources": ["*"]}
    ]));
    let policy = draft(&app, &format!("/v1/tenants/{a}"), "A's", document.clone()).await;
    let key_b = app.tenant_key(&b, &["*:admin"]).await;
    let as_b = |method: Method, path: String, body: Option<Value>| {
        let key = key_b.clone();
        let app = &app;
        async move { app.send(method, &path, Some(&key), body, &[]).await }
    };
    let missing = as_b(
        Method::GET,
        format!("/v1/tenants/{b}/policies/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for path in [
        format!("/v1/tenants/{a}/policies/{policy}"),
        format!("/v1/tenants/{b}/policies/{policy}"),
    ] {
        let reply = as_b(Method::GET, path.clone(), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            reply.body, missing.body,
            "another tenant's policy looks exactly like none"
        );
        let revise = as_b(
            Method::POST,
            format!("{path}/revise"),
            Some(json!({"document": document})),
        )
        .await;
        assert_eq!(revise.status, StatusCode::NOT_FOUND, "{path}/revise");
    }
    assert_eq!(
        as_b(Method::GET, format!("/v1/tenants/{a}/policies"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let decision = json!({"role": "admin", "action": "x", "resource": "y"});
    let other = as_b(
        Method::POST,
        format!("/v1/tenants/{a}/policy-decisions"),
        Some(decision),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        as_b(Method::GET, format!("/v1/tenants/{b}/policies"), None)
            .await
            .body,
        json!([])
    );
    // Even an admin key finds A's policy only under A, and not among platform-wide ones.
    assert_eq!(
        app.get(&format!("/v1/tenants/{b}/policies/{policy}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/v1/platform/policies/{policy}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let publish = app
        .post(
            &format!("/v1/tenants/{b}/policies/{policy}/publish"),
            json!({"version": 1}),
        )
        .await;
    assert_eq!(publish.status, StatusCode::NOT_FOUND);
    let unknown_tenant = app
        .post(
            &format!("/v1/tenants/{}/policies", uuid::Uuid::now_v7()),
            json!({"name": "X", "document": document}),
        )
        .await;
    assert_eq!(unknown_tenant.status, StatusCode::NOT_FOUND);

    let reader = app.tenant_key(&a, &["policies:read"]).await;
    let read = app
        .send(
            Method::GET,
            &format!("/v1/tenants/{a}/policies/{policy}"),
            Some(&reader),
            None,
            &[],
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let write = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{a}/policies/{policy}/publish"),
            Some(&reader),
            Some(json!({"version": 1})),
            &[],
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert!(
        write.body["detail"]
            .as_str()
            .unwrap()
            .contains("policies:write"),
        "{:?}",
        write.body
    );
    let draft_refused = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{a}/policies"),
            Some(&reader),
            Some(json!({"name": "X", "document": document})),
            &[],
        )
        .await;
    assert_eq!(draft_refused.status, StatusCode::FORBIDDEN);
    let unscoped = app.tenant_key(&a, &["tenants:read"]).await;
    let decide_refused = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{a}/policy-decisions"),
            Some(&unscoped),
            Some(json!({"role": "admin", "action": "x", "resource": "y"})),
            &[],
        )
        .await;
    assert_eq!(
        decide_refused.status,
        StatusCode::FORBIDDEN,
        "deciding needs policies:read"
    );

    let writer = app.tenant_key(&a, &["policies:write"]).await;
    let published = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{a}/policies/{policy}/publish"),
            Some(&writer),
            Some(json!({"version": 1})),
            &[],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{:?}", published.body);
    let full = app.tenant_key(&a, &["*:admin"]).await;
    let platform_draft = app
        .send(
            Method::POST,
            "/v1/platform/policies",
            Some(&full),
            Some(json!({"name": "Mine", "document": document})),
            &[],
        )
        .await;
    assert_eq!(
        platform_draft.status,
        StatusCode::FORBIDDEN,
        "only platform admins draft platform policies"
    );
    let platform_list = app
        .send(Method::GET, "/v1/platform/policies", Some(&full), None, &[])
        .await;
    assert_eq!(platform_list.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v1/platform/policies").await.body, json!([]));
}

async fn an_archived_policy_refuses_further_commands(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = draft(
        &app,
        "/v1/platform",
        "Short-lived",
        access(json!([
            {"effect": "allow", "roles": ["*"], "actions": ["read"], "resources": ["*"]}
        ])),
    )
    .await;
    let url = format!("/v1/platform/policies/{id}");
    command(&app, &url, "publish", json!({"version": 1})).await;
    let archived = command(&app, &url, "archive", json!({})).await;
    assert_eq!(archived.body["data"]["status"], "archived");
    assert_eq!(archived.body["data"]["active_version"], Value::Null);
    let steps = [
        (
            "revise",
            json!({"document": access(json!([
                {"effect": "allow", "roles": ["*"], "actions": ["write"], "resources": ["*"]}
            ]))}),
        ),
        ("publish", json!({"version": 1})),
        ("deactivate", json!({})),
        ("archive", json!({})),
    ];
    for (action, body) in steps {
        let refused = app.post(&format!("{url}/{action}"), body).await;
        assert_eq!(
            refused.status,
            StatusCode::CONFLICT,
            "{action}: {:?}",
            refused.body
        );
        assert_eq!(refused.body["code"], "archived", "{action}");
    }
    let shown = app.get(&url).await;
    assert_eq!(shown.body["status"], "archived");
    assert_eq!(
        shown.body["versions"][0]["status"], "retired",
        "versions are kept"
    );
    assert_eq!(
        shown.header("etag"),
        Some("\"4\""),
        "archiving deactivated first; refusals append nothing"
    );
    let unknown = app
        .post(&format!("{url}/deactivate"), json!({"force": true}))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
}
