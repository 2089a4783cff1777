//! Workflows over HTTP: a workflow defined, enabled and run to completion through an approval by
//! two members, disabled workflows refusing runs, invalid definitions refused naming the field,
//! tenant isolation and scopes, a rejected run that cannot be approved, and who decides an
//! approval: the caller (a member's key as that member, a platform admin only where the step
//! allows it, a service key never), with step outcomes reported by platform admin keys only.

use keel_tests::app::{spawn_app, IssuedKey, Reply, TestApp};
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
    a_service_key_cannot_approve_as_anyone,
    a_members_key_approves_as_that_member_and_the_run_shows_the_key,
    a_platform_admin_approves_only_where_the_step_allows_it,
    a_tenant_key_cannot_report_step_outcomes,
);

/// A member of a test tenant, with a key bound to them (scope `workflows:write`).
struct Member {
    id: String,
    key: IssuedKey,
}

/// A tenant with two admins (besides its owner), each member with a key of their own, and a
/// service key with `workflows:write`.
struct Tenant<'a> {
    app: &'a TestApp,
    id: String,
    key: String,
    admins: [Member; 2],
    owner: Member,
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
        let member = |name: &str| {
            let email = format!("{name}@{slug}.example");
            let member_id = members
                .as_array()
                .expect("members")
                .iter()
                .find(|m| m["email"] == email.as_str())
                .and_then(|m| m["id"].as_str())
                .expect("the member is listed")
                .to_owned();
            let tenant = id.clone();
            async move {
                let key = app
                    .member_key(&tenant, &member_id, &["workflows:write"])
                    .await;
                Member { id: member_id, key }
            }
        };
        let admins = [member("ada").await, member("grace").await];
        let owner = member("owner").await;
        let key = app.tenant_key(&id, &["workflows:write"]).await;
        Tenant {
            app,
            id,
            key,
            admins,
            owner,
        }
    }

    /// `who` approves or rejects (`action`) the sign-off step of `run` with `body` (beside the
    /// step id).
    async fn decide(&self, who: &str, run: &str, action: &str, body: Value) -> Reply {
        let mut decision = json!({"step_id": "sign-off"});
        if let (Some(decision), Some(more)) = (decision.as_object_mut(), body.as_object()) {
            decision.extend(more.clone());
        }
        let path = format!("/v1/tenants/{}{run}/{action}", self.id);
        self.app
            .send(Method::POST, &path, Some(who), Some(decision), &[])
            .await
    }

    /// `who` approves the sign-off of `run`; requires a 200 and returns the body.
    async fn approved(&self, who: &str, run: &str) -> Value {
        let reply = self.decide(who, run, "approve", json!({})).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body
    }

    /// Reports a step outcome as the workflow engine does (with a platform admin key); `path`
    /// is below `/v1/tenants/{id}`. Requires a 200 and returns the body.
    async fn report(&self, path: &str, body: Value) -> Value {
        let reply = self
            .app
            .post(&format!("/v1/tenants/{}{path}", self.id), body)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
        reply.body
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
        self.define_from(review_workflow()).await
    }

    /// Defines `definition` and returns its id.
    async fn define_from(&self, definition: Value) -> String {
        let reply = self.post("/workflows", definition).await;
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
        self.run_until_approval_of(review_workflow()).await
    }

    /// [`Tenant::run_until_approval`] of `definition`, which has the review workflow's steps.
    async fn run_until_approval_of(&self, definition: Value) -> String {
        let workflow = self.define_from(definition).await;
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
        self.report(&format!("{run}/steps/check/start"), json!({"attempt": 1}))
            .await;
        self.report(
            &format!("{run}/steps/check/complete"),
            json!({"attempt": 1, "result": true}),
        )
        .await;
        let body = self
            .report(
                &format!("{run}/steps/sign-off/start"),
                json!({"attempt": 1}),
            )
            .await;
        assert_eq!(body["data"]["status"], "awaiting_approval");
        run
    }
}

/// Asserts that `reply` is a refusal with `status` and the problem `code`.
fn assert_refused(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["code"], code);
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

    // The approver is the caller, with their role in the tenant: an owner is not an admin.
    let owner = t
        .decide(&t.owner.key.secret, &run, "approve", json!({}))
        .await;
    assert_refused(&owner, StatusCode::CONFLICT, "not_an_approver");

    let first = t.approved(&t.admins[0].key.secret, &run).await;
    assert_eq!(
        first["data"]["status"], "awaiting_approval",
        "one of two approvals"
    );
    let again = t
        .decide(&t.admins[0].key.secret, &run, "approve", json!({}))
        .await;
    assert_refused(&again, StatusCode::CONFLICT, "approver_already_decided");
    let second = t.approved(&t.admins[1].key.secret, &run).await;
    assert_eq!(second["data"]["status"], "running");
    assert_eq!(second["data"]["current_step"], "record");
    t.report(&format!("{run}/steps/record/start"), json!({"attempt": 1}))
        .await;
    let done = t
        .report(
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
    assert_refused(&refused, StatusCode::CONFLICT, "definition_not_enabled");

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
            Some(json!({"step_id": "sign-off"})),
        ),
        (
            Method::POST,
            format!("/v1/tenants/{b_id}{run_a}/cancel"),
            Some(json!({"reason": "mine now"})),
        ),
    ];
    for (method, path, body) in requests {
        for key in [&b.key, &b.admins[0].key.secret, &app.admin_key] {
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
            json!({"step_id": "sign-off"}),
        ),
        (
            format!("{base}{run}/reject"),
            json!({"step_id": "sign-off"}),
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

    let reply = t
        .decide(
            &t.admins[0].key.secret,
            &run,
            "reject",
            json!({"reason": "not this quarter"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let rejected = reply.body;
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
        .decide(&t.admins[1].key.secret, &run, "approve", json!({}))
        .await;
    assert_refused(&refused, StatusCode::CONFLICT, "approval_already_decided");
    let shown = t.get(&run).await;
    assert_eq!(
        shown.header("etag"),
        Some(format!("\"{version}\"").as_str()),
        "nothing appended"
    );
    assert_eq!(shown.body["approval_outcomes"]["sign-off"], "rejected");
}

/// The hole: approvals trusted a `member_id` in the body, so any `workflows:write` key approved
/// "as" the owner. The field is gone, and a service key never decides.
async fn a_service_key_cannot_approve_as_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "impostor").await;
    let run = t.run_until_approval().await;
    let as_owner = json!({"member_id": t.owner.id});
    let claimed = t.decide(&t.key, &run, "approve", as_owner).await;
    assert_eq!(claimed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(claimed.body["errors"][0]["field"], "member_id");
    for action in ["approve", "reject"] {
        let refused = t.decide(&t.key, &run, action, json!({})).await;
        assert_refused(&refused, StatusCode::FORBIDDEN, "service_key_cannot_decide");
        assert!(refused
            .headers
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json"));
    }
    let shown = t.get(&run).await.body;
    assert_eq!(shown["status"], "awaiting_approval");
    assert_eq!(shown["current"]["phase"]["approved_by"], json!([]));
}

async fn a_members_key_approves_as_that_member_and_the_run_shows_the_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "signed").await;
    let run = t.run_until_approval().await;
    let ada = &t.admins[0];
    let approved = t
        .decide(&ada.key.secret, &run, "approve", json!({"comment": "fine"}))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let recorded = json!({
        "type": "member", "member_id": ada.id, "role": "admin", "key_id": ada.key.id
    });
    let shown = t.get(&run).await.body;
    assert_eq!(shown["current"]["phase"]["approved_by"], json!([recorded]));

    let events = app
        .get(&format!("/v1/tenants/{}/events?limit=1000", t.id))
        .await;
    assert_eq!(events.status, StatusCode::OK, "{:?}", events.body);
    let approval = events.body["items"]
        .as_array()
        .expect("a page of events")
        .iter()
        .find(|e| e["event_type"] == "workflow_run.approved")
        .expect("the approval is recorded")
        .clone();
    assert_eq!(approval["schema_version"], 2);
    assert_eq!(approval["data"]["decided_by"], recorded);
}

/// The review workflow, with platform admins allowed to decide its sign-off.
fn review_workflow_for_platform_admins() -> Value {
    let mut definition = review_workflow();
    definition["steps"][1]["platform_admins_may_approve"] = json!(true);
    definition
}

async fn a_platform_admin_approves_only_where_the_step_allows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "operated").await;
    let members_only = t.run_until_approval().await;
    for action in ["approve", "reject"] {
        let refused = t
            .decide(&app.admin_key, &members_only, action, json!({}))
            .await;
        assert_refused(
            &refused,
            StatusCode::FORBIDDEN,
            "platform_admins_may_not_decide",
        );
    }

    let allowed = t
        .run_until_approval_of(review_workflow_for_platform_admins())
        .await;
    let shown = t.get(&allowed).await.body;
    assert_eq!(shown["steps"][1]["platform_admins_may_approve"], true);
    let first = t.approved(&app.admin_key, &allowed).await;
    let approved_by = &first["data"]["current"]["phase"]["approved_by"];
    assert_eq!(approved_by[0]["type"], "platform_admin");
    assert!(approved_by[0]["key_id"].is_string(), "{approved_by}");
    assert!(approved_by[0].get("member_id").is_none());
    let again = t
        .decide(&app.admin_key, &allowed, "approve", json!({}))
        .await;
    assert_refused(&again, StatusCode::CONFLICT, "approver_already_decided");
    // A member counts separately from the platform admin's key.
    let second = t.approved(&t.admins[0].key.secret, &allowed).await;
    assert_eq!(second["data"]["status"], "running");
}

/// Step and delivery outcomes are the engine's and the delivery worker's reports: a tenant's
/// key, whatever its scopes, cannot make them up.
async fn a_tenant_key_cannot_report_step_outcomes(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = Tenant::new(&app, "engine").await;
    let run = t.run_until_approval().await;
    let everything = app.tenant_key(&t.id, &["*:admin"]).await;
    let integration = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{}/integrations", t.id),
            Some(&everything),
            Some(json!({"kind": "webhook", "name": "Receiver",
                        "endpoint_url": "https://hooks.example.com/keel",
                        "event_filter": ["*"]})),
            &[],
        )
        .await;
    assert_eq!(
        integration.status,
        StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    let integration = integration.body["data"]["id"].as_str().unwrap().to_owned();
    let reports = [
        (format!("{run}/steps/sign-off/start"), json!({"attempt": 2})),
        (
            format!("{run}/steps/sign-off/complete"),
            json!({"attempt": 1}),
        ),
        (
            format!("{run}/steps/sign-off/fail"),
            json!({"attempt": 1, "error": "made up"}),
        ),
        (format!("{run}/steps/sign-off/time-out"), json!({})),
        (
            format!("/integrations/{integration}/deliveries"),
            json!({"outcome": "failed", "event_id": uuid::Uuid::now_v7(), "attempt": 1}),
        ),
    ];
    for (path, body) in reports {
        let path = format!("/v1/tenants/{}{path}", t.id);
        for key in [&everything, &t.admins[0].key.secret] {
            let reply = app
                .send(Method::POST, &path, Some(key), Some(body.clone()), &[])
                .await;
            assert_refused(&reply, StatusCode::FORBIDDEN, "forbidden");
        }
    }
    assert_eq!(t.get(&run).await.body["status"], "awaiting_approval");
}
