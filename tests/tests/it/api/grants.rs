//! What a key may grant, over HTTP: no scope it does not hold, no longer life than its own, no
//! role above its member's; keys listed with `expired` and `last_used_at`; and `keel keys
//! audit` listing keys issued through the old hole.

use clap::Parser;
use keel_api::cli::{run, Cli};
use keel_api::database::{open_store, Missing};
use keel_commands::facts::{append_facts, Fact};
use keel_domain::tenant::{ApiKeyIssued, KeyName, KeyPrefix, Scope, SecretHash, TenantEvent};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::EventMetadata;
use keel_tests::app::{spawn_app, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

both_backends!(
    a_key_issues_no_scope_it_does_not_hold,
    an_expiring_key_issues_no_longer_lived_key,
    a_members_key_gives_no_role_above_its_member,
    expired_keys_list_as_expired_with_their_last_use,
    keys_audit_lists_keys_holding_more_than_their_issuer,
);

/// Issues a key with `key` (the admin's if `None`); the reply.
async fn issue(
    app: &TestApp,
    tenant: &str,
    key: Option<&str>,
    body: Value,
) -> keel_tests::app::Reply {
    let key = key.unwrap_or(&app.admin_key);
    let path = format!("/v1/tenants/{tenant}/api-keys");
    app.send(Method::POST, &path, Some(key), Some(body), &[])
        .await
}

fn secret(reply: &keel_tests::app::Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["data"]["secret"].as_str().unwrap().to_owned()
}

fn assert_refused(reply: &keel_tests::app::Reply, code: &str, field: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(reply.body["code"], code, "{:?}", reply.body);
    assert_eq!(reply.body["errors"][0]["field"], field, "{:?}", reply.body);
}

async fn a_key_issues_no_scope_it_does_not_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("minting").await;
    // The key of the report: it issued `*:admin` (201) before the lattice.
    let key = app
        .tenant_key(&t, &["tenants:write", "members:admin", "keys:admin"])
        .await;
    let escalation = issue(
        &app,
        &t,
        Some(&key),
        json!({"name": "x", "scopes": ["*:admin"]}),
    )
    .await;
    assert_refused(&escalation, "scope_not_held", "scopes");
    let sideways = issue(
        &app,
        &t,
        Some(&key),
        json!({"name": "x", "scopes": ["billing:read"]}),
    )
    .await;
    assert_refused(&sideways, "scope_not_held", "scopes");
    let lower = issue(
        &app,
        &t,
        Some(&key),
        json!({"name": "x", "scopes": ["members:write", "tenants:read", "keys:admin"]}),
    )
    .await;
    secret(&lower);
    let keys = app.get(&format!("/v1/tenants/{t}/api-keys")).await;
    assert!(
        keys.body
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["scopes"] != json!(["*:admin"])),
        "no escalated key was stored: {:?}",
        keys.body
    );
}

async fn an_expiring_key_issues_no_longer_lived_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("lifetimes").await;
    let limit = chrono::Utc::now() + chrono::Duration::days(1);
    let key = secret(
        &issue(
            &app,
            &t,
            None,
            json!({"name": "day", "scopes": ["keys:admin"], "expires_at": limit}),
        )
        .await,
    );
    let forever = issue(
        &app,
        &t,
        Some(&key),
        json!({"name": "x", "scopes": ["keys:read"]}),
    )
    .await;
    assert_refused(&forever, "expiry_beyond_grantor", "expires_at");
    let later = limit + chrono::Duration::hours(1);
    let longer = issue(
        &app,
        &t,
        Some(&key),
        json!({"name": "x", "scopes": ["keys:read"], "expires_at": later}),
    )
    .await;
    assert_refused(&longer, "expiry_beyond_grantor", "expires_at");
    let within = issue(
        &app,
        &t,
        Some(&key),
        json!({"name": "x", "scopes": ["keys:read"], "expires_at": limit}),
    )
    .await;
    secret(&within);
}

async fn a_members_key_gives_no_role_above_its_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("roles").await;
    let added = app
        .post(
            &format!("/v1/tenants/{t}/members"),
            json!({"email": "ada@roles.example", "role": "admin"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{:?}", added.body);
    let members = app.get(&format!("/v1/tenants/{t}/members")).await.body;
    let id_of = |role: &str| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["role"] == role)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (admin, owner) = (id_of("admin"), id_of("owner"));
    let body = json!({"name": "ada", "scopes": ["*:admin"], "member_id": admin});
    let admins_key = secret(&issue(&app, &t, None, body).await);
    let listed = app.get(&format!("/v1/tenants/{t}/api-keys")).await.body;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["member_id"] == admin));

    let add = |role: &str| json!({"email": format!("{role}@roles.example"), "role": role});
    let path = format!("/v1/tenants/{t}/members");
    let as_admin = |body: Value| app.send(Method::POST, &path, Some(&admins_key), Some(body), &[]);
    assert_refused(&as_admin(add("owner")).await, "role_above_grantor", "role");
    assert_eq!(as_admin(add("member")).await.status, StatusCode::OK);
    let demote = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{t}/members/{owner}/role"),
            Some(&admins_key),
            Some(json!({"role": "auditor"})),
            &[],
        )
        .await;
    assert_refused(&demote, "role_above_grantor", "role");
    let for_owner = json!({"name": "x", "scopes": ["tenants:read"], "member_id": owner});
    assert_refused(
        &issue(&app, &t, Some(&admins_key), for_owner.clone()).await,
        "role_above_grantor",
        "role",
    );
    // A service key (bound to no member) mints no member keys at all.
    let service = app.tenant_key(&t, &["*:admin"]).await;
    assert_refused(
        &issue(&app, &t, Some(&service), for_owner).await,
        "service_key_for_member",
        "member_id",
    );
}

async fn expired_keys_list_as_expired_with_their_last_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("staleness").await;
    let expires_at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let body = json!({"name": "short", "scopes": ["tenants:read"], "expires_at": expires_at});
    let key = secret(&issue(&app, &t, None, body).await);
    let used = app
        .send(
            Method::GET,
            &format!("/v1/tenants/{t}"),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(used.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let keys = app.get(&format!("/v1/tenants/{t}/api-keys")).await.body;
    let short = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "short")
        .unwrap();
    assert_eq!(short["expired"], true, "{short:?}");
    assert_eq!(short["revoked"], false, "{short:?}");
    assert!(short["last_used_at"].is_string(), "{short:?}");
    let unused = app.tenant_key(&t, &["tenants:read"]).await;
    drop(unused);
    let keys = app.get(&format!("/v1/tenants/{t}/api-keys")).await.body;
    let fresh = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "test key")
        .unwrap();
    assert_eq!(fresh["expired"], false);
    assert!(fresh["last_used_at"].is_null(), "{fresh:?}");
}

async fn keys_audit_lists_keys_holding_more_than_their_issuer(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.create_tenant("audited").await;
    let narrow = app.tenant_key(&t, &["keys:admin"]).await;
    let keys = app.get(&format!("/v1/tenants/{t}/api-keys")).await.body;
    let issuer: Uuid = keys[0]["id"].as_str().unwrap().parse().unwrap();
    drop(narrow);
    // What the hole let a `keys:admin` key do: issue `*:admin`, recorded with it as the actor.
    let tenant = TenantId(t.parse().unwrap());
    let escalated = Uuid::now_v7();
    let store = open_store(&app.db.url, 2, Missing::Refuse).await.unwrap();
    let event = TenantEvent::ApiKeyIssued(ApiKeyIssued {
        key_id: escalated,
        name: KeyName::parse("escalated").unwrap(),
        scopes: vec![Scope::parse("*:admin").unwrap()],
        prefix: KeyPrefix::parse("keel_esc").unwrap(),
        secret_hash: SecretHash::parse(&"ab".repeat(32)).unwrap(),
        expires_at: None,
        member_id: None,
    });
    let fact = Fact {
        id: Uuid::now_v7(),
        event,
        metadata: EventMetadata::new(tenant, Actor::ApiKey(issuer.to_string())),
    };
    let stream = AggregateId::tenant(tenant).stream_id("tenant");
    append_facts(&*store, &stream, vec![fact]).await.unwrap();

    let argv = [
        "keel",
        "--json",
        "--database-url",
        &app.db.url,
        "keys",
        "audit",
    ];
    let mut out = Vec::new();
    run(Cli::try_parse_from(argv).unwrap(), &mut out)
        .await
        .unwrap();
    let listed: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["key_id"], escalated.to_string());
    assert_eq!(listed[0]["issued_by"], issuer.to_string());
    assert!(listed[0]["reason"].as_str().unwrap().contains("*:admin"));
}
