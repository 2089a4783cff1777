//! Workflows over HTTP: a workflow defined, enabled and run to completion through an approval by
//! two members, disabled workflows refusing runs, invalid definitions refused naming the field,
//! tenant isolation and scopes, and a rejected run that cannot be approved.

use keel_tests::app::{spawn_app, Reply, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(
    a_run_is_driven_over_http_to_completion_through_two_approvals,
    a_disabled_workflow_cannot_start_runs,
    invalid_definitions_are_refused_naming_the_field,
    another_tenants_workflows_and_runs_are_not_found,
    a_key_without_workflows_write_is_forbidden,
    a_rejected_run_cannot_be_approved,
);

/// A tenant with two admins (besides its owner) and a key with `workflows:write`.
struct Tenant<'a> {
    app: &'a TestApp,
    id: String,
    key: String,
    admins: [String; 2],
    owner: String,
}

impl<'a> Tenant<'a> {
    async fn new(app: &'a TestApp, slug: &str) -> Tenant<'a> {
        let id = app.create_tenant(slug).await;
        for name in ["ada", "grace"] {
            let reply = app
                .post(
                    &format!("/v1/tenants/{id}/members"),
                    json!({"email": format!("{name}@{slug}.example"), "role": "admin"}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        }
        let members = app.get(&format!("/v1/tenants/{id}/members")).await.body;
        let member = |email: String| {
            members
                .as_array()
                .expect("members")
                .iter()
                .find(|m| m["email"] == email.as_str())
                .and_then(|m| m["id"].as_str())
                .expect("the member is listed")
                .to_owned()
        };
        let admins = [
            member(format!("ada@{slug}.example")),
            member(format!("grace@{slug}.example")),
        ];
        let owner = member(format!("owner@{slug}.example"));
        let key = app.tenant_key(&id, &["workflows:write"]).await;
        Tenant {
            app,
            id,
            key,
            admins,
            owner,
        }
    }

    /// Sends a request with the tenant's key; `path` is below `/v1/tenants/{id}`.
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let path = format!("/v1/tenants/{}{path}", self.id);
        self.app
            .send(method, &path, Some(&self.key), body, &[])
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// Posts and requires a success with `status`.
    async fn expect(&self, status: StatusCode, path: &str, body: Value) -> Value {
        let reply = self.post(path, body).await;
        assert_eq!(reply.status, status, "{path}: {:?}", reply.body);
        reply.body
    }

    /// Defines the review workflow and returns its id.
    async fn define(&self) -> String {
        let reply = self.post("/workflows", review_workflow()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let id = reply.body["data"]["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            reply.header("location"),
            Some(format!("/v1/tenants/{}/workflows/{id}", self.id).as_str())
        );
        id
    }

    /// Defines and enables the review workflow, starts a run and drives it up to its approval
    /// request; returns the run's path below the tenant.
    async fn run_until_approval(&self) -> String {
        let workflow = self.define().await;
        self.expect(
            StatusCode::OK,
            &format!("/workflows/{workflow}/enable"),
            json!({}),
        )
        .await;
        let reply = self
            .post(
                &format!("/workflows/{workflow}/runs"),
                json!({"input": {"seats": 250}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let run = reply.body["data"]["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            reply.header("location"),
            Some(format!("/v1/tenants/{}/workflow-runs/{run}", self.id).as_str())
        );
        assert_eq!(reply.body["data"]["workflow_id"], workflow.as_str());
        assert_eq!(reply.body["data"]["status"], "running");
        assert_eq!(reply.body["data"]["current_step"], "check");
        let run = format!("/workflow-runs/{run}");
        self.expect(
            StatusCode::OK,
            &format!("{run}/steps/check/start"),
            json!({"attempt": 1}),
        )
        .await;
        self.expect(
            StatusCode::OK,
            &format!("{run}/steps/check/complete"),
            json!({"attempt": 1, "result": true}),
        )
        .await;
        let body = self
            .expect(
                StatusCode::OK,
                &format!("{run}/steps/sign-off/start"),
                json!({"attempt": 1}),
            )
            .await;
        assert_eq!(body["data"]["status"], "awaiting_approval");
        run
    }

    /// A member's decision on the sign-off step.
    fn decision(member: &str) -> Value {
        json!({"step_id": "sign-off", "member_id": member})
    }
}

/// A manual workflow: a condition on the input, an approval by two admins, then a field set.
fn review_workflow() -> Value {
    json!({
        "name": "Large upgrade review",
        "trigger": {"type": "manual"},
        "steps": [
            {"type": "condition", "id": "check", "condition": "input.seats > 100",
             "on_true": "sign-off"},
            {"type": "approval", "id": "sign-off", "approvers": [{"role": "admin"}],
             "required": 2, "timeout_seconds": 86400, "on_timeout": {"action": "reject"},
             "on_approved": "record"},
            {"type": "action", "id": "record",
             "action": {"kind": "set_field", "field": "context.approved", "value": true}}
        ]
    })
}

async fn a_run_is_driven_over_http_to_completion_through_two_approvals(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "reviewed").await;
    let run = t.run_until_approval().await;

    // The role comes from the tenant, never from the request: an owner is not an admin, a
    // role in the body is refused, and only members of the tenant may decide.
    let owner = t
        .post(&format!("{run}/approve"), Tenant::decision(&t.owner))
        .await;
    assert_eq!(owner.status, StatusCode::CONFLICT, "{:?}", owner.body);
    assert_eq!(owner.body["code"], "not_an_approver");
    let mut claimed = Tenant::decision(&t.owner);
    claimed["role"] = json!("admin");
    let claimed = t.post(&format!("{run}/approve"), claimed).await;
    assert_eq!(claimed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(claimed.body["errors"][0]["field"], "role");
    let stranger = t
        .post(
            &format!("{run}/approve"),
            Tenant::decision(&uuid::Uuid::now_v7().to_string()),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stranger.body["errors"][0]["field"], "member_id");

    let first = t
        .expect(
            StatusCode::OK,
            &format!("{run}/approve"),
            Tenant::decision(&t.admins[0]),
        )
        .await;
    assert_eq!(
        first["data"]["status"], "awaiting_approval",
        "one of two approvals"
    );
    let second = t
        .expect(
            StatusCode::OK,
            &format!("{run}/approve"),
            Tenant::decision(&t.admins[1]),
        )
        .await;
    assert_eq!(second["data"]["status"], "running");
    assert_eq!(second["data"]["current_step"], "record");
    t.expect(
        StatusCode::OK,
        &format!("{run}/steps/record/start"),
        json!({"attempt": 1}),
    )
    .await;
    let done = t
        .expect(
            StatusCode::OK,
            &format!("{run}/steps/record/complete"),
            json!({"attempt": 1}),
        )
        .await;
    assert_eq!(done["data"]["status"], "completed");

    let shown = t.get(&run).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(
        shown.header("etag"),
        Some(format!("\"{}\"", done["stream_version"]).as_str())
    );
    assert_eq!(shown.body["status"], "completed");
    assert_eq!(shown.body["current"], Value::Null);
    assert_eq!(shown.body["definition_version"], 1);
    assert_eq!(shown.body["input"], json!({"seats": 250}));
    assert_eq!(shown.body["context"], json!({"approved": true}));
    assert_eq!(
        shown.body["approval_outcomes"],
        json!({"sign-off": "approved"})
    );
    assert_eq!(shown.body["steps"][0]["condition"], "input.seats > 100");

    let runs = t.get("/workflow-runs").await;
    assert_eq!(runs.status, StatusCode::OK);
    assert_eq!(runs.body.as_array().map(Vec::len), Some(1));
    assert_eq!(
        format!("/workflow-runs/{}", runs.body[0]["id"].as_str().unwrap()),
        run
    );
    assert_eq!(runs.body[0]["status"], "completed");

    // A revision makes version 2; the finished run keeps version 1.
    let workflow = shown.body["workflow_id"].as_str().unwrap().to_owned();
    let mut revised = review_workflow();
    revised["name"] = json!("Large upgrade review v2");
    let body = t
        .expect(
            StatusCode::OK,
            &format!("/workflows/{workflow}/revise"),
            revised,
        )
        .await;
    assert_eq!(body["data"]["version"], 2);
    let workflows = t.get("/workflows").await.body;
    assert_eq!(workflows[0]["id"], workflow.as_str());
    assert_eq!(workflows[0]["name"], "Large upgrade review v2");
    assert_eq!(workflows[0]["status"], "enabled");
    assert_eq!(t.get(&run).await.body["definition_version"], 1);
}

async fn a_disabled_workflow_cannot_start_runs(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "dormant").await;
    let workflow = t.define().await;
    let shown = t.get(&format!("/workflows/{workflow}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["status"], "disabled");
    assert_eq!(
        shown.body["steps"][1]["approvers"],
        json!([{"role": "admin"}])
    );

    let start = format!("/workflows/{workflow}/runs");
    let refused = t.post(&start, json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "definition_not_enabled");

    t.expect(
        StatusCode::OK,
        &format!("/workflows/{workflow}/enable"),
        json!({}),
    )
    .await;
    t.expect(
        StatusCode::OK,
        &format!("/workflows/{workflow}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(t.post(&start, json!({})).await.status, StatusCode::CONFLICT);
    let again = t
        .post(&format!("/workflows/{workflow}/disable"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "already_disabled");

    t.expect(
        StatusCode::OK,
        &format!("/workflows/{workflow}/archive"),
        json!({}),
    )
    .await;
    let archived = t
        .post(&format!("/workflows/{workflow}/enable"), json!({}))
        .await;
    assert_eq!(archived.status, StatusCode::CONFLICT);
    assert_eq!(archived.body["code"], "archived");
    assert_eq!(t.post(&start, json!({})).await.status, StatusCode::CONFLICT);
    assert_eq!(t.get("/workflow-runs").await.body, json!([]));
}

async fn invalid_definitions_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "strict").await;
    let manual = json!({"type": "manual"});
    let cases = [
        (
            "a loop without a wait",
            json!([
                {"type": "condition", "id": "a", "condition": "context.n < 3", "on_true": "b"},
                {"type": "action", "id": "b", "next": "a",
                 "action": {"kind": "set_field", "field": "context.n", "value": 1}}
            ]),
            "steps",
            "cycle_without_wait",
            "steps `a` → `b` → `a` form a loop",
        ),
        (
            "an unknown field path",
            json!([{"type": "condition", "id": "a", "condition": "order.total > 5"}]),
            "steps",
            "unknown_field",
            "step `a` uses the unknown field `order.total` in `condition`",
        ),
        (
            "a condition that does not parse",
            json!([
                {"type": "wait", "id": "pause", "seconds": 60, "next": "a"},
                {"type": "condition", "id": "a", "condition": "input.seats >"}
            ]),
            "steps[1].condition",
            "invalid_condition",
            "steps[1].condition is not a valid condition",
        ),
    ];
    for (case, steps, field, code, detail) in cases {
        let reply = t
            .post(
                "/workflows",
                json!({"name": "Broken", "trigger": manual, "steps": steps}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{case}: {:?}",
            reply.body
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(reply.body["code"], code, "{case}");
        assert_eq!(reply.body["errors"][0]["field"], field, "{case}");
        let shown = reply.body["detail"].as_str().unwrap_or_default();
        assert!(shown.contains(detail), "{case}: {shown}");
    }

    let misspelt = json!({"name": "Typo", "trigger": manual,
                          "steps": [{"type": "wait", "id": "w", "seconds": 5, "nxt": "w"}]});
    let reply = t.post("/workflows", misspelt).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.body["code"], "unknown_field");
    assert_eq!(
        t.get("/workflows").await.body,
        json!([]),
        "nothing was defined"
    );
}

async fn another_tenants_workflows_and_runs_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = Tenant::new(&app, "alpha").await;
    let b = Tenant::new(&app, "bravo").await;
    let run_a = a.run_until_approval().await;
    let workflow_a = a.get(&run_a).await.body["workflow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (a_id, b_id) = (&a.id, &b.id);

    // B's key on A's paths, and A's ids under B's path (with B's key and with the admin key).
    let requests = [
        (Method::GET, format!("/v1/tenants/{a_id}/workflows"), None),
        (
            Method::GET,
            format!("/v1/tenants/{a_id}/workflows/{workflow_a}"),
            None,
        ),
        (Method::GET, format!("/v1/tenants/{a_id}{run_a}"), None),
        (
            Method::GET,
            format!("/v1/tenants/{b_id}/workflows/{workflow_a}"),
            None,
        ),
        (Method::GET, format!("/v1/tenants/{b_id}{run_a}"), None),
        (
            Method::POST,
            format!("/v1/tenants/{b_id}/workflows/{workflow_a}/disable"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/tenants/{b_id}/workflows/{workflow_a}/runs"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/tenants/{b_id}{run_a}/approve"),
            Some(Tenant::decision(&b.admins[0])),
        ),
        (
            Method::POST,
            format!("/v1/tenants/{b_id}{run_a}/cancel"),
            Some(json!({"reason": "mine now"})),
        ),
    ];
    for (method, path, body) in requests {
        for key in [&b.key, &app.admin_key] {
            let reply = app
                .send(method.clone(), &path, Some(key), body.clone(), &[])
                .await;
            let expected =
                if key == &app.admin_key && path.starts_with(&format!("/v1/tenants/{a_id}")) {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
            assert_eq!(reply.status, expected, "{method} {path}: {:?}", reply.body);
        }
    }
    assert_eq!(b.get("/workflows").await.body, json!([]));
    assert_eq!(b.get("/workflow-runs").await.body, json!([]));
    let untouched = a.get(&run_a).await.body;
    assert_eq!(untouched["status"], "awaiting_approval");
    assert_eq!(
        a.get(&format!("/workflows/{workflow_a}")).await.body["status"],
        "enabled"
    );
}

async fn a_key_without_workflows_write_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "readonly").await;
    let run = t.run_until_approval().await;
    let workflow = t.get(&run).await.body["workflow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = app.tenant_key(&t.id, &["workflows:read"]).await;
    let other = app.tenant_key(&t.id, &["members:write"]).await;
    let base = format!("/v1/tenants/{}", t.id);

    let writes = [
        (format!("{base}/workflows"), review_workflow()),
        (format!("{base}/workflows/{workflow}/disable"), json!({})),
        (format!("{base}/workflows/{workflow}/runs"), json!({})),
        (
            format!("{base}{run}/approve"),
            Tenant::decision(&t.admins[0]),
        ),
        (
            format!("{base}{run}/reject"),
            Tenant::decision(&t.admins[0]),
        ),
        (format!("{base}{run}/cancel"), json!({"reason": "no"})),
    ];
    for (path, body) in writes {
        let reply = app
            .send(Method::POST, &path, Some(&reader), Some(body), &[])
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {:?}",
            reply.body
        );
        assert!(reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("workflows:write"));
    }
    for path in [format!("{base}/workflows"), format!("{base}{run}")] {
        let read = app.send(Method::GET, &path, Some(&reader), None, &[]).await;
        assert_eq!(read.status, StatusCode::OK, "{path}");
        let refused = app.send(Method::GET, &path, Some(&other), None, &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(t.get(&run).await.body["status"], "awaiting_approval");
}

async fn a_rejected_run_cannot_be_approved(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "rejected").await;
    let run = t.run_until_approval().await;

    let mut rejection = Tenant::decision(&t.admins[0]);
    rejection["reason"] = json!("not this quarter");
    let rejected = t
        .expect(StatusCode::OK, &format!("{run}/reject"), rejection)
        .await;
    assert_eq!(
        rejected["data"]["status"], "completed",
        "no on_rejected: the run ends"
    );
    assert_eq!(
        rejected["data"]["approval_outcomes"]["sign-off"],
        "rejected"
    );
    let version = rejected["stream_version"].clone();

    let refused = t
        .post(&format!("{run}/approve"), Tenant::decision(&t.admins[1]))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "approval_already_decided");
    let shown = t.get(&run).await;
    assert_eq!(
        shown.header("etag"),
        Some(format!("\"{version}\"").as_str()),
        "nothing appended"
    );
    assert_eq!(shown.body["approval_outcomes"]["sign-off"], "rejected");
}
