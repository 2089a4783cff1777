//! Integrations over HTTP: registration with a signing secret shown once, show and list without
//! any secret, reconfiguration, rotation, enabling and disabling, delivery outcomes that disable
//! a failing integration, tenant isolation, scopes, validation, and a server without secret keys.

use keel_tests::app::{spawn_app, spawn_app_with, Reply, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(
    registering_shows_the_signing_secret_once_and_never_again,
    an_integration_can_be_reconfigured_rotated_disabled_and_enabled,
    failed_deliveries_disable_the_integration,
    another_tenants_integration_is_not_found,
    keys_act_on_integrations_only_within_their_scopes,
    invalid_input_is_refused_naming_the_field,
    a_server_without_secret_keys_refuses_registration,
);

/// A valid registration body.
pub(crate) fn registration(name: &str) -> Value {
    json!({
        "kind": "webhook",
        "name": name,
        "endpoint_url": "https://hooks.example.com/keel",
        "event_filter": ["tenant.*"],
    })
}

/// Registers an integration as the admin; returns the reply (asserted 201).
pub(crate) async fn register(app: &TestApp, tenant: &str, body: Value) -> Reply {
    let reply = app
        .post(&format!("/v1/tenants/{tenant}/integrations"), body)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply
}

/// The id of a registered integration.
pub(crate) fn id_of(reply: &Reply) -> String {
    reply.body["data"]["id"].as_str().expect("an id").to_owned()
}

/// Asserts that a JSON document holds no signing secret, clear or encrypted.
fn assert_no_secret(body: &Value, secret: &str) {
    let text = body.to_string();
    for needle in [
        secret,
        "whsec_",
        "signing_secret",
        "ciphertext",
        "nonce",
        "key_id",
    ] {
        assert!(!text.contains(needle), "`{needle}` in {text}");
    }
}

async fn registering_shows_the_signing_secret_once_and_never_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("hooks").await;
    let reply = register(&app, &t, registration("Billing webhook")).await;
    let id = id_of(&reply);
    let path = format!("/v1/tenants/{t}/integrations/{id}");
    assert_eq!(reply.header("location"), Some(path.as_str()));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    let position = reply.body["global_position"].as_u64().expect("a position");
    assert_eq!(
        reply.header("x-keel-position"),
        Some(position.to_string().as_str())
    );
    let data = &reply.body["data"];
    let secret = data["signing_secret"]
        .as_str()
        .expect("the secret")
        .to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(data["tenant_id"], t.as_str());
    assert_eq!(data["kind"], "webhook");
    assert_eq!(data["name"], "Billing webhook");
    assert_eq!(data["endpoint_url"], "https://hooks.example.com/keel");
    assert_eq!(data["event_filter"], json!(["tenant.*"]));
    assert_eq!(data["status"], "enabled");
    assert_eq!(data["disable_after_failures"], 10);
    assert_eq!(data["consecutive_failures"], 0);
    assert!(data["previous_secret_valid_until"].is_null());
    let text = reply.body.to_string();
    assert!(
        !text.contains("ciphertext") && !text.contains("nonce"),
        "{text}"
    );

    let shown = app.get(&format!("{path}?after_position={position}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.header("etag"), Some("\"1\""));
    assert_eq!(shown.body["id"], id.as_str());
    assert_eq!(shown.body["name"], "Billing webhook");
    assert_no_secret(&shown.body, &secret);

    let second = register(
        &app,
        &t,
        json!({
            "kind": "slack_webhook",
            "name": "Ops channel",
            "endpoint_url": "https://hooks.slack.example/services/T0/B0",
            "event_filter": ["*"],
            "disable_after_failures": 3,
        }),
    )
    .await;
    let second_secret = second.body["data"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second_secret, secret);
    let listed = app.get(&format!("/v1/tenants/{t}/integrations")).await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body.as_array().expect("a list");
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str(), id_of(&second).as_str()], "oldest first");
    assert_eq!(items[1]["kind"], "slack_webhook");
    assert_eq!(items[1]["disable_after_failures"], 3);
    assert_no_secret(&listed.body, &secret);
    assert_no_secret(&listed.body, &second_secret);

    let empty = app.create_tenant("quiet").await;
    let none = app.get(&format!("/v1/tenants/{empty}/integrations")).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body, json!([]));
    let missing = app
        .get(&format!(
            "/v1/tenants/{}/integrations",
            uuid::Uuid::now_v7()
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let unknown = app
        .get(&format!(
            "/v1/tenants/{t}/integrations/{}",
            uuid::Uuid::now_v7()
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn an_integration_can_be_reconfigured_rotated_disabled_and_enabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("configurable").await;
    let reply = register(&app, &t, registration("Audit feed")).await;
    let first_secret = reply.body["data"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/v1/tenants/{t}/integrations/{}", id_of(&reply));

    let endpoint = app
        .post(
            &format!("{base}/endpoint"),
            json!({"endpoint_url": "https://audit.example.com/in"}),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::OK, "{:?}", endpoint.body);
    assert_eq!(
        endpoint.body["data"]["endpoint_url"],
        "https://audit.example.com/in"
    );
    assert_eq!(endpoint.header("etag"), Some("\"2\""));
    let same = app
        .post(
            &format!("{base}/endpoint"),
            json!({"endpoint_url": "https://audit.example.com/in"}),
        )
        .await;
    assert_eq!(same.status, StatusCode::CONFLICT);
    assert_eq!(same.body["code"], "unchanged");

    let filter = app
        .post(
            &format!("{base}/filter"),
            json!({"event_filter": ["tenant.created", "*.suspended"]}),
        )
        .await;
    assert_eq!(filter.status, StatusCode::OK, "{:?}", filter.body);
    assert_eq!(
        filter.body["data"]["event_filter"],
        json!(["tenant.created", "*.suspended"])
    );

    let stale = app
        .send(
            Method::POST,
            &format!("{base}/filter"),
            Some(&app.admin_key),
            Some(json!({"event_filter": ["*"]})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    let rotated = app.post(&format!("{base}/rotate-secret"), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    let second_secret = rotated.body["data"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(second_secret.starts_with("whsec_"));
    assert_ne!(second_secret, first_secret);
    let until = rotated.body["data"]["previous_secret_valid_until"]
        .as_str()
        .expect("a grace period");
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap();
    let grace = until.signed_duration_since(chrono::Utc::now());
    assert!(
        grace > chrono::Duration::hours(23) && grace <= chrono::Duration::hours(24),
        "{grace}"
    );
    let revoked = app
        .post(
            &format!("{base}/rotate-secret"),
            json!({"grace_period_minutes": 0}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    let third_secret = revoked.body["data"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(third_secret != first_secret && third_secret != second_secret);
    let too_long = app
        .post(
            &format!("{base}/rotate-secret"),
            json!({"grace_period_minutes": 10081}),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_long.body["errors"][0]["field"], "grace_period_minutes");

    let disabled = app
        .post(
            &format!("{base}/disable"),
            json!({"note": "receiver under maintenance"}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
    assert_eq!(disabled.body["data"]["status"], "disabled");
    let reason = &disabled.body["data"]["disabled_reason"];
    assert_eq!(reason["kind"], "requested");
    assert_eq!(reason["note"], "receiver under maintenance");
    let again = app.post(&format!("{base}/disable"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "already_disabled");

    // Configuration may change while disabled: fixing the endpoint is the usual way back.
    let fixed = app
        .post(
            &format!("{base}/endpoint"),
            json!({"endpoint_url": "http://localhost:8080/hook"}),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{:?}", fixed.body);

    let enabled = app
        .send(
            Method::POST,
            &format!("{base}/enable"),
            Some(&app.admin_key),
            None,
            &[],
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{:?}", enabled.body);
    assert_eq!(enabled.body["data"]["status"], "enabled");
    assert!(enabled.body["data"]["disabled_reason"].is_null());
    let again = app.post(&format!("{base}/enable"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "already_enabled");

    let shown = app.get(&base).await;
    assert_eq!(shown.body["endpoint_url"], "http://localhost:8080/hook");
    assert_eq!(shown.body["status"], "enabled");
    for secret in [&first_secret, &second_secret, &third_secret] {
        assert_no_secret(&shown.body, secret);
    }
}

async fn failed_deliveries_disable_the_integration(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("flaky").await;
    let mut body = registration("Flaky receiver");
    body["disable_after_failures"] = json!(3);
    let base = format!(
        "/v1/tenants/{t}/integrations/{}",
        id_of(&register(&app, &t, body).await)
    );
    let deliveries = format!("{base}/deliveries");
    let failure = |attempt: u32| {
        json!({
            "outcome": "failed",
            "event_id": uuid::Uuid::now_v7(),
            "attempt": attempt,
            "http_status": 503,
            "error": "service unavailable",
        })
    };

    for scope in ["integrations:write", "integrations:admin", "*:admin"] {
        let tenant_key = app.tenant_key(&t, &[scope]).await;
        let refused = app
            .send(
                Method::POST,
                &deliveries,
                Some(&tenant_key),
                Some(failure(1)),
                &[],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "only the delivery worker (a platform admin key) records outcomes, not {scope}"
        );
    }

    for attempt in 1..=2 {
        let reply = app.post(&deliveries, failure(attempt)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.body["data"]["consecutive_failures"], attempt);
        assert_eq!(reply.body["data"]["status"], "enabled");
    }
    let success = app
        .post(&deliveries, json!({"outcome": "succeeded", "event_id": uuid::Uuid::now_v7(), "attempt": 3, "http_status": 200}))
        .await;
    assert_eq!(success.status, StatusCode::OK, "{:?}", success.body);
    assert_eq!(
        success.body["data"]["consecutive_failures"], 0,
        "a success resets the count"
    );
    assert_eq!(success.body["data"]["deliveries_succeeded"], 1);

    for attempt in 1..=3 {
        let reply = app.post(&deliveries, failure(attempt)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let shown = app.get(&base).await.body;
    assert_eq!(shown["status"], "disabled");
    assert_eq!(shown["consecutive_failures"], 3);
    assert_eq!(shown["deliveries_failed"], 5);
    assert_eq!(shown["disabled_reason"]["kind"], "too_many_failures");
    assert_eq!(shown["disabled_reason"]["consecutive_failures"], 3);

    // A delivery that was in flight still ends, and its outcome is still recorded.
    let late = app
        .post(
            &deliveries,
            json!({"outcome": "failed", "event_id": uuid::Uuid::now_v7(), "attempt": 1}),
        )
        .await;
    assert_eq!(late.status, StatusCode::OK, "{:?}", late.body);
    assert_eq!(late.body["data"]["status"], "disabled");

    let enabled = app.post(&format!("{base}/enable"), json!({})).await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(enabled.body["data"]["consecutive_failures"], 0);

    let no_status = app
        .post(
            &deliveries,
            json!({"outcome": "succeeded", "event_id": uuid::Uuid::now_v7(), "attempt": 1}),
        )
        .await;
    assert_eq!(no_status.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_status.body["errors"][0]["field"], "http_status");
    let wrong_status = app
        .post(&deliveries, json!({"outcome": "succeeded", "event_id": uuid::Uuid::now_v7(), "attempt": 1, "http_status": 500}))
        .await;
    assert_eq!(wrong_status.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_status.body["errors"][0]["field"], "http_status");
    let unknown_outcome = app
        .post(
            &deliveries,
            json!({"outcome": "maybe", "event_id": uuid::Uuid::now_v7(), "attempt": 1}),
        )
        .await;
    assert_eq!(unknown_outcome.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_outcome.body["errors"][0]["field"], "outcome");
}

async fn another_tenants_integration_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_tenant("owner-a").await;
    let b = app.create_tenant("other-b").await;
    let id = id_of(&register(&app, &a, registration("A's hook")).await);
    let key_b = app.tenant_key(&b, &["integrations:admin"]).await;
    let as_b = |method: Method, path: String, body: Option<Value>| {
        let key = key_b.clone();
        let app = &app;
        async move { app.send(method, &path, Some(&key), body, &[]).await }
    };

    // B's key on A's path: as if A did not exist.
    let under_a = as_b(
        Method::GET,
        format!("/v1/tenants/{a}/integrations/{id}"),
        None,
    )
    .await;
    assert_eq!(under_a.status, StatusCode::NOT_FOUND);
    let list_a = as_b(Method::GET, format!("/v1/tenants/{a}/integrations"), None).await;
    assert_eq!(list_a.status, StatusCode::NOT_FOUND);
    let register_a = as_b(
        Method::POST,
        format!("/v1/tenants/{a}/integrations"),
        Some(registration("Intruder")),
    )
    .await;
    assert_eq!(register_a.status, StatusCode::NOT_FOUND);

    // A's integration under B's path, with B's key or even an admin key: not found either.
    let missing = as_b(
        Method::GET,
        format!("/v1/tenants/{b}/integrations/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    let under_b = as_b(
        Method::GET,
        format!("/v1/tenants/{b}/integrations/{id}"),
        None,
    )
    .await;
    assert_eq!(under_b.status, StatusCode::NOT_FOUND);
    assert_eq!(
        under_b.body, missing.body,
        "another tenant's integration looks like none"
    );
    assert_eq!(
        app.get(&format!("/v1/tenants/{b}/integrations/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let commands = [
        (
            "endpoint",
            json!({"endpoint_url": "https://evil.example.com/steal"}),
        ),
        ("filter", json!({"event_filter": ["*"]})),
        ("rotate-secret", json!({})),
        ("disable", json!({})),
        ("enable", json!({})),
        (
            "deliveries",
            json!({"outcome": "failed", "event_id": uuid::Uuid::now_v7(), "attempt": 1}),
        ),
    ];
    for (action, body) in commands {
        let path = format!("/v1/tenants/{b}/integrations/{id}/{action}");
        let reply = as_b(Method::POST, path.clone(), Some(body.clone())).await;
        // Delivery outcomes are for platform admin keys only: any tenant key is refused first.
        let expected = if action == "deliveries" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(reply.status, expected, "{action}: {:?}", reply.body);
        assert_eq!(
            app.post(&path, body).await.status,
            StatusCode::NOT_FOUND,
            "{action} as admin"
        );
    }
    let listed_b = as_b(Method::GET, format!("/v1/tenants/{b}/integrations"), None).await;
    assert_eq!(listed_b.status, StatusCode::OK);
    assert_eq!(listed_b.body, json!([]));

    let shown = app.get(&format!("/v1/tenants/{a}/integrations/{id}")).await;
    assert_eq!(
        shown.header("etag"),
        Some("\"1\""),
        "nothing was recorded on A's integration"
    );
    assert_eq!(shown.body["endpoint_url"], "https://hooks.example.com/keel");
}

async fn keys_act_on_integrations_only_within_their_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("scoped-hooks").await;
    let id = id_of(&register(&app, &t, registration("Scoped")).await);
    let list = format!("/v1/tenants/{t}/integrations");
    let one = format!("{list}/{id}");

    let stranger = app.tenant_key(&t, &["tenants:admin"]).await;
    let reply = app
        .send(Method::GET, &one, Some(&stranger), None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );

    let reader = app.tenant_key(&t, &["integrations:read"]).await;
    assert_eq!(
        app.send(Method::GET, &one, Some(&reader), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(Method::GET, &list, Some(&reader), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    let register = app
        .send(
            Method::POST,
            &list,
            Some(&reader),
            Some(registration("Not allowed")),
            &[],
        )
        .await;
    assert_eq!(register.status, StatusCode::FORBIDDEN);
    assert!(register.body["detail"]
        .as_str()
        .unwrap()
        .contains("integrations:write"));
    for (action, body) in [
        (
            "endpoint",
            json!({"endpoint_url": "https://x.example.com/"}),
        ),
        ("rotate-secret", json!({})),
        ("disable", json!({})),
    ] {
        let reply = app
            .send(
                Method::POST,
                &format!("{one}/{action}"),
                Some(&reader),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{action}");
    }

    let writer = app.tenant_key(&t, &["integrations:write"]).await;
    let registered = app
        .send(
            Method::POST,
            &list,
            Some(&writer),
            Some(registration("Allowed")),
            &[],
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{:?}",
        registered.body
    );
    let disabled = app
        .send(
            Method::POST,
            &format!("{one}/disable"),
            Some(&writer),
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
}

async fn invalid_input_is_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("strict").await;
    let list = format!("/v1/tenants/{t}/integrations");
    let cases = [
        (
            "endpoint_url",
            json!({"endpoint_url": "http://hooks.example.com/keel"}),
        ),
        (
            "endpoint_url",
            json!({"endpoint_url": "ftp://hooks.example.com/keel"}),
        ),
        ("event_filter", json!({"event_filter": ["tenant.api_*"]})),
        ("event_filter", json!({"event_filter": []})),
        ("kind", json!({"kind": "carrier_pigeon"})),
        ("name", json!({"name": "  "})),
        (
            "disable_after_failures",
            json!({"disable_after_failures": 0}),
        ),
        ("signing_secret", json!({"signing_secret": "whsec_mine"})),
    ];
    for (field, change) in cases {
        let mut body = registration("Strict");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        app.post(&list, body).await.assert_invalid(field);
    }
    assert_eq!(
        app.get(&list).await.body,
        json!([]),
        "nothing was registered"
    );

    let base = format!(
        "{list}/{}",
        id_of(&register(&app, &t, registration("Strict")).await)
    );
    let endpoint = app
        .post(
            &format!("{base}/endpoint"),
            json!({"endpoint_url": "http://10.0.0.8/hook"}),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(endpoint.body["errors"][0]["field"], "endpoint_url");
    assert!(
        endpoint.body["detail"].as_str().unwrap().contains("https"),
        "{:?}",
        endpoint.body
    );
    let filter = app
        .post(
            &format!("{base}/filter"),
            json!({"event_filter": ["Tenant.Created"]}),
        )
        .await;
    assert_eq!(filter.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(filter.body["errors"][0]["field"], "event_filter");
    let note = app
        .post(&format!("{base}/disable"), json!({"note": "x".repeat(501)}))
        .await;
    assert_eq!(note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(note.body["errors"][0]["field"], "note");
}

async fn a_server_without_secret_keys_refuses_registration(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.secret_keys = None).await;
    let t = app.create_tenant("keyless").await;
    let reply = app
        .post(
            &format!("/v1/tenants/{t}/integrations"),
            registration("Nowhere"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.body["code"], "secret_keys_not_configured");
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("KEEL_SECRET_KEYS"));
    assert_eq!(
        reply.header("retry-after"),
        None,
        "a setting to fix, not a reason to retry"
    );
    let listed = app.get(&format!("/v1/tenants/{t}/integrations")).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body, json!([]));
}
