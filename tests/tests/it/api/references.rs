//! References to things Keel declares (meters, event types, plans) are checked: an unknown
//! name is a 422 problem naming the field, never stored and never silently matching nothing.

use super::integrations::registration;
use keel_tests::app::{spawn_app, Reply, TestApp};
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(unknown_meters_event_types_and_plans_are_refused_with_the_field_named);

/// Checks that `reply` is a 422 problem about `field` whose detail names `bad`.
fn assert_refused(reply: &Reply, field: &str, bad: &str) {
    reply.assert_invalid(field);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(bad), "{field}: {detail}");
}

/// Registers an integration with `filter`; the reply, whatever it is.
async fn integration(app: &TestApp, tenant: &str, filter: &[&str]) -> Reply {
    let mut body = registration("Hook");
    body["event_filter"] = json!(filter);
    app.post(&format!("/v1/tenants/{tenant}/integrations"), body)
        .await
}

async fn unknown_meters_event_types_and_plans_are_refused_with_the_field_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("refs").await;

    let overrides = format!("/v1/tenants/{tenant}/quota-overrides");
    let unknown = app
        .post(&overrides, json!({"meter": "bogus_meter", "limit": 5}))
        .await;
    assert_refused(&unknown, "meter", "bogus_meter");
    let known = app
        .post(&overrides, json!({"meter": "api_calls", "limit": 5}))
        .await;
    assert_eq!(known.status, StatusCode::OK, "{:?}", known.body);

    for filter in [
        &["bogus.*"][..],
        &["tenant.*", "*.bogus"],
        &["tenant.bogus"],
    ] {
        let reply = integration(&app, &tenant, filter).await;
        assert_refused(&reply, "event_filter", "matches no event type");
    }
    let registered = integration(&app, &tenant, &["tenant.*", "*.completed"]).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{:?}",
        registered.body
    );
    let id = registered.body["data"]["id"].as_str().unwrap();
    let update = app
        .post(
            &format!("/v1/tenants/{tenant}/integrations/{id}/filter"),
            json!({"event_filter": ["bogus.*"]}),
        )
        .await;
    assert_refused(&update, "event_filter", "bogus.*");

    let gold = app.get("/v1/tenants?plan=gold").await;
    assert_refused(&gold, "plan", "gold");
    let standard = app.get("/v1/tenants?plan=standard").await;
    assert_eq!(standard.status, StatusCode::OK, "{:?}", standard.body);
    assert_eq!(standard.body["items"][0]["id"], tenant.as_str());
    let premium = app.get("/v1/tenants?plan=premium").await;
    assert_eq!(premium.body["items"], json!([]));
}
