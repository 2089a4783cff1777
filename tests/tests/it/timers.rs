//! The timers reactor, black box: a scheduled decommission happens on time with no client
//! call (also across a restart between scheduling and due time), a cancelled one does not, a
//! key's expiry is recorded as `tenant.api_key_expired`, a timer fired again (a crash before
//! its removal) changes nothing, and with two servers on one database only the leaseholder
//! fires.

use chrono::{DateTime, Utc};
use keel_commands::handler::{CommandHandler, HandlerConfig};
use keel_domain::tenant::{Tenant, TenantError};
use keel_reactors::timers::fire::{fire, Fired, KINDS};
use keel_reactors::timers::{Timer, TimerStore, DECOMMISSION};
use keel_tests::app::{spawn_app, spawn_app_with, TestApp};
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(
    a_scheduled_decommission_happens_on_time_without_a_client_call,
    a_cancelled_decommission_does_not_happen,
    a_key_expiry_is_recorded_shortly_after_it,
    a_decommission_scheduled_before_a_restart_still_happens,
    a_timer_fired_again_changes_nothing,
);

/// Schedules `tenant`'s decommission `ahead` from now; returns the time.
async fn schedule(app: &TestApp, tenant: &str, ahead: Duration) -> DateTime<Utc> {
    let at = Utc::now() + ahead;
    let reply = app
        .post(
            &format!("/v1/tenants/{tenant}/decommission/schedule"),
            json!({ "at": at.to_rfc3339() }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    at
}

async fn status(app: &TestApp, tenant: &str) -> String {
    let reply = app.get(&format!("/v1/tenants/{tenant}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["status"].as_str().unwrap_or_default().to_owned()
}

/// The tenant's events of `event_type`.
async fn events(app: &TestApp, tenant: &str, event_type: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/tenants/{tenant}/events?limit=1000"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .cloned()
        .collect()
}

/// Polls until the tenant is decommissioned, at most until `deadline`; when it was seen so.
async fn decommissioned_by(app: &TestApp, tenant: &str, deadline: DateTime<Utc>) -> DateTime<Utc> {
    loop {
        if status(app, tenant).await == "decommissioned" {
            return Utc::now();
        }
        assert!(
            Utc::now() < deadline,
            "the tenant was not decommissioned in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the tenant was decommissioned once, by the scheduler.
async fn assert_decommissioned_by_the_scheduler(app: &TestApp, tenant: &str) {
    let done = events(app, tenant, "tenant.decommissioned").await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        done[0]["actor"],
        json!({"kind": "system", "id": "scheduler"})
    );
}

async fn a_scheduled_decommission_happens_on_time_without_a_client_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("leaving").await;
    let at = schedule(&app, &tenant, Duration::from_secs(2)).await;
    assert_eq!(status(&app, &tenant).await, "active");
    let seen = decommissioned_by(&app, &tenant, at + chrono::Duration::seconds(1)).await;
    assert!(seen >= at, "decommissioned before its time: {seen} < {at}");
    assert_decommissioned_by_the_scheduler(&app, &tenant).await;
}

async fn a_cancelled_decommission_does_not_happen(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("staying").await;
    let at = schedule(&app, &tenant, Duration::from_millis(1500)).await;
    let cancelled = app
        .post(
            &format!("/v1/tenants/{tenant}/decommission/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    // Nothing is to happen, so there is nothing to poll for: wait past the due time (with the
    // reactor's second of slack), then look.
    let past = (at + chrono::Duration::milliseconds(1500) - Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(past).await;
    assert_eq!(status(&app, &tenant).await, "active");
    assert!(events(&app, &tenant, "tenant.decommissioned")
        .await
        .is_empty());
    let store = app.db.open().await;
    let timers = TimerStore::new(store.database());
    let far = Utc::now() + chrono::Duration::days(1);
    assert!(timers.due(KINDS, far, 10).await.unwrap().is_empty());
}

async fn a_key_expiry_is_recorded_shortly_after_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("expiring-keys").await;
    let expires_at = Utc::now() + chrono::Duration::milliseconds(1500);
    let reply = app
        .post(
            &format!("/v1/tenants/{tenant}/api-keys"),
            json!({"name": "short", "scopes": ["*:read"], "expires_at": expires_at.to_rfc3339()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let key_id = reply.body["data"]["id"].clone();
    let deadline = Instant::now() + Duration::from_millis(1500 + 1500);
    let expired = loop {
        if let Some(event) = events(&app, &tenant, "tenant.api_key_expired").await.pop() {
            break event;
        }
        assert!(
            Instant::now() < deadline,
            "no tenant.api_key_expired in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(expired["data"]["key_id"], key_id);
    assert_eq!(
        expired["actor"],
        json!({"kind": "system", "id": "scheduler"})
    );
    let recorded: DateTime<Utc> = serde_json::from_value(expired["recorded_at"].clone()).unwrap();
    assert!(
        recorded >= expires_at,
        "recorded before the expiry: {recorded}"
    );
}

async fn a_decommission_scheduled_before_a_restart_still_happens(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("restarted").await;
    let at = schedule(&app, &tenant, Duration::from_secs(2)).await;
    let db = app.stop().await;
    let app = keel_tests::app::spawn_app_on(db, |_| {}).await;
    let seen = decommissioned_by(&app, &tenant, at + chrono::Duration::seconds(2)).await;
    assert!(seen >= at);
    assert_decommissioned_by_the_scheduler(&app, &tenant).await;
}

/// A crash between firing a timer and removing it fires it again on the next start: the
/// aggregate refuses the repeat, so the effect happens once.
async fn a_timer_fired_again_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("twice").await;
    let at = schedule(&app, &tenant, Duration::from_millis(300)).await;
    decommissioned_by(&app, &tenant, at + chrono::Duration::seconds(2)).await;
    let store = app.db.open().await;
    let tenants = CommandHandler::<Tenant>::new(store, HandlerConfig::default());
    let again = Timer {
        id: Timer::id_for(DECOMMISSION, tenant.parse().unwrap(), ""),
        tenant_id: tenant.parse().unwrap(),
        kind: DECOMMISSION.to_owned(),
        due_at: at,
        payload: json!({}),
    };
    assert_eq!(
        fire(&tenants, &again).await.unwrap(),
        Fired::Moot(TenantError::Decommissioned)
    );
    assert_decommissioned_by_the_scheduler(&app, &tenant).await;
}

/// The state of the timers task on `app`'s `/readyz`.
async fn timers_task(app: &TestApp) -> String {
    let ready = app.get("/readyz").await;
    ready.body["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["name"] == "timers"))
        .map(|t| t["state"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_two_servers_only_the_leaseholder_fires() {
    let first = spawn_app_with(Backend::Postgres, |s| s.reactor_lease_ms = 1000).await;
    let second = first.beside(|_| {}).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let holder = loop {
        let states = [timers_task(&first).await, timers_task(&second).await];
        match states.each_ref().map(String::as_str) {
            ["running", "standby"] => break 0,
            ["standby", "running"] => break 1,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no single timers leaseholder: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let tenant = first.create_tenant("two-nodes").await;
    let at = schedule(&first, &tenant, Duration::from_secs(1)).await;
    decommissioned_by(&second, &tenant, at + chrono::Duration::seconds(2)).await;
    assert_decommissioned_by_the_scheduler(&first, &tenant).await;
    let standby = if holder == 0 { &second } else { &first };
    assert_eq!(timers_task(standby).await, "standby");
    second.stop().await;
    first.stop().await;
}
