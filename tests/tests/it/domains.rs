//! Custom domain verification, over HTTP against a local authoritative DNS server: a domain is
//! verified only when `_keel-challenge.<domain>` holds its token, one tenant at a time holds a
//! verified domain, a lost proof un-verifies at the re-check, and domains verified before proof
//! was required are un-verified on upgrade, once.

use crate::local_dns::LocalDns;
use keel_domain::tenant::TenantEvent;
use keel_domain::{Actor, AggregateId, TenantId};
use keel_projections::Directory;
use keel_reactors::domain_proofs::{ChallengeResolver, Recheck};
use keel_store::{EventMetadata, ExpectedVersion, NewEvent};
use keel_tests::app::{spawn_app_with, Reply, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(
    a_domain_without_its_txt_record_is_refused,
    a_domain_whose_txt_record_holds_the_token_is_verified,
    a_wrong_token_is_refused,
    another_tenant_cannot_verify_a_claimed_domain_until_it_is_released,
    a_lost_proof_un_verifies_at_the_recheck,
    the_upgrade_un_verifies_domains_verified_without_proof_once,
);

/// A server resolving through `dns`, re-checking every `recheck_secs`.
async fn app_with(backend: Backend, dns: &LocalDns, recheck_secs: u64) -> TestApp {
    let address = dns.address;
    spawn_app_with(backend, |settings| {
        settings.dns_nameserver = Some(address);
        settings.domain_recheck_secs = recheck_secs;
    })
    .await
}

/// Adds `domain` to `tenant` with `key`; returns the TXT record (name, value) to create.
async fn add(app: &TestApp, tenant: &str, key: &str, domain: &str) -> (String, String) {
    let reply = call(
        app,
        key,
        &format!("/v1/tenants/{tenant}/domains"),
        json!({"domain": domain}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let shown = &reply.body["data"]["domains"];
    let view = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == domain)
        .expect("the domain is shown");
    assert_eq!(view["verified"], false);
    let record = &view["txt_record"];
    assert_eq!(record["name"], format!("_keel-challenge.{domain}"));
    assert_eq!(record["type"], "TXT");
    let token = record["value"].as_str().unwrap();
    (format!("_keel-challenge.{domain}"), token.to_owned())
}

async fn verify(app: &TestApp, tenant: &str, key: &str, domain: &str) -> Reply {
    call(
        app,
        key,
        &format!("/v1/tenants/{tenant}/domains/{domain}/verify"),
        json!({}),
    )
    .await
}

async fn call(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    app.send(Method::POST, path, Some(key), Some(body), &[])
        .await
}

/// A tenant and a key of it that may manage its domains.
async fn tenant(app: &TestApp, slug: &str) -> (String, String) {
    let tenant = app.create_tenant(slug).await;
    let key = app.tenant_key(&tenant, &["tenants:write"]).await;
    (tenant, key)
}

fn domain_of<'a>(shown: &'a Value, domain: &str) -> &'a Value {
    shown["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == domain)
        .expect("the domain is shown")
}

/// The tenant's events of `event_type`, as the events route shows them.
async fn events_of(app: &TestApp, tenant: &str, event_type: &str) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/tenants/{tenant}/events?limit=1000"))
        .await
        .body;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .cloned()
        .collect()
}

/// Polls the tenant's events every 50 ms until one of `event_type` is there, at most 20 s.
async fn first_event(app: &TestApp, tenant: &str, event_type: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(event) = events_of(app, tenant, event_type).await.pop() {
            return event;
        }
        assert!(Instant::now() < deadline, "no {event_type} event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_domain_without_its_txt_record_is_refused(backend: Backend) {
    let dns = LocalDns::start().await;
    let app = app_with(backend, &dns, 86_400).await;
    let (tenant, key) = tenant(&app, "contoso").await;
    let (record, token) = add(&app, &tenant, &key, "microsoft.com").await;

    let refused = verify(&app, &tenant, &key, "microsoft.com").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "domain_proof_missing");
    assert_eq!(refused.body["errors"][0]["field"], "domain");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&record) && detail.contains(&token),
        "{detail}"
    );
    assert!(detail.contains("found no TXT record"), "{detail}");
    let shown = app.get(&format!("/v1/tenants/{tenant}")).await.body;
    assert_eq!(domain_of(&shown, "microsoft.com")["verified"], false);
}

/// A server re-checking every `recheck_secs` and a tenant whose `app.acme.example` is verified
/// by its TXT record on the local DNS server.
struct Verified {
    dns: LocalDns,
    app: TestApp,
    tenant: String,
    key: String,
    record: String,
    token: String,
    reply: Reply,
}

async fn verified(backend: Backend, recheck_secs: u64) -> Verified {
    let dns = LocalDns::start().await;
    let app = app_with(backend, &dns, recheck_secs).await;
    let (tenant, key) = tenant(&app, "acme").await;
    let (record, token) = add(&app, &tenant, &key, "app.acme.example").await;
    dns.set_txt(&record, &token).await;
    let reply = verify(&app, &tenant, &key, "app.acme.example").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    Verified {
        dns,
        app,
        tenant,
        key,
        record,
        token,
        reply,
    }
}

async fn a_domain_whose_txt_record_holds_the_token_is_verified(backend: Backend) {
    let Verified {
        app,
        tenant,
        record,
        token,
        reply,
        ..
    } = verified(backend, 86_400).await;
    assert_eq!(
        domain_of(&reply.body["data"], "app.acme.example")["verified"],
        true
    );
    let event = first_event(&app, &tenant, TenantEvent::DOMAIN_VERIFIED).await;
    assert_eq!(event["data"]["proof"]["record"], record);
    assert_eq!(event["data"]["proof"]["token"], token);
}

async fn a_wrong_token_is_refused(backend: Backend) {
    let dns = LocalDns::start().await;
    let app = app_with(backend, &dns, 86_400).await;
    let (tenant, key) = tenant(&app, "acme").await;
    let (record, _) = add(&app, &tenant, &key, "app.acme.example").await;
    dns.set_txt(&record, "someone-elses-token-0123456789").await;

    let refused = verify(&app, &tenant, &key, "app.acme.example").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "domain_proof_missing");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("someone-elses-token-0123456789"),
        "{detail}"
    );
}

async fn another_tenant_cannot_verify_a_claimed_domain_until_it_is_released(backend: Backend) {
    let dns = LocalDns::start().await;
    let app = app_with(backend, &dns, 86_400).await;
    let (first, first_key) = tenant(&app, "first").await;
    let (second, second_key) = tenant(&app, "second").await;
    let (record, first_token) = add(&app, &first, &first_key, "shop.example").await;
    dns.set_txt(&record, &first_token).await;
    let verified = verify(&app, &first, &first_key, "shop.example").await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);

    // The second tenant proves control too (the domain changed hands): still refused while
    // the first holds it verified.
    let (_, second_token) = add(&app, &second, &second_key, "shop.example").await;
    dns.set_txt(&record, &second_token).await;
    let refused = verify(&app, &second, &second_key, "shop.example").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "taken");
    assert_eq!(refused.body["errors"][0]["field"], "domain");

    // Removing the domain releases the claim.
    let path = format!("/v1/tenants/{first}/domains/shop.example/remove");
    let removed = call(&app, &first_key, &path, json!({})).await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);
    let verified = verify(&app, &second, &second_key, "shop.example").await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
}

async fn a_lost_proof_un_verifies_at_the_recheck(backend: Backend) {
    let v = verified(backend, 1).await;
    v.dns.remove_txt(&v.record).await;
    let event = first_event(&v.app, &v.tenant, TenantEvent::DOMAIN_UNVERIFIED).await;
    let reason = event["data"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&v.record) && reason.contains("no TXT record"),
        "{reason}"
    );
    let shown = v.app.get(&format!("/v1/tenants/{}", v.tenant)).await.body;
    assert_eq!(domain_of(&shown, "app.acme.example")["verified"], false);

    // The tenant gave up its claim with the proof, and takes it again with a new proof.
    v.dns.set_txt(&v.record, &v.token).await;
    let again = verify(&v.app, &v.tenant, &v.key, "app.acme.example").await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
}

async fn the_upgrade_un_verifies_domains_verified_without_proof_once(backend: Backend) {
    let dns = LocalDns::start().await;
    let app = app_with(backend, &dns, 86_400).await;
    let (tenant, _) = tenant(&app, "legacy").await;
    // What the API appended before proof was required: version-1 events, no token, no proof.
    let id = TenantId(tenant.parse().unwrap());
    let stream = AggregateId::tenant(id).stream_id("tenant");
    let store = app.tenants.store().clone();
    let version = store.stream_version(&stream).await.unwrap();
    let v1 = |event_type: &str| NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.into(),
        schema_version: 1,
        payload: keel_domain::event::encode_payload(&json!({"domain": "old.example"})).unwrap(),
        metadata: EventMetadata::new(id, Actor::System("an older keel".into())),
    };
    store
        .append(
            &stream,
            ExpectedVersion::Exact(version),
            vec![
                v1(TenantEvent::DOMAIN_ADDED),
                v1(TenantEvent::DOMAIN_VERIFIED),
            ],
        )
        .await
        .unwrap();

    // The upgrade: a start of this version un-verifies it, with the reason.
    let app = app.restart().await;
    let event = first_event(&app, &tenant, TenantEvent::DOMAIN_UNVERIFIED).await;
    assert_eq!(event["data"]["domain"], "old.example");
    assert_eq!(
        event["data"]["reason"],
        "verified before proof was required"
    );
    let shown = app.get(&format!("/v1/tenants/{tenant}")).await.body;
    assert_eq!(domain_of(&shown, "old.example")["verified"], false);
    assert_eq!(domain_of(&shown, "old.example")["txt_record"], Value::Null);

    // Once: another round (as another start would run) appends nothing.
    let store = app.tenants.store().clone();
    let directory = Directory::new();
    for event in store.read_all(0, 100_000).await.unwrap() {
        directory.apply(&event);
    }
    let resolver = ChallengeResolver::new(Some(dns.address)).unwrap();
    let recheck = Recheck::new(store, directory, resolver, Duration::from_secs(1));
    let report = recheck.round(&Default::default()).await.unwrap();
    assert_eq!(report.checked, 0);
    assert!(report.unverified.is_empty());
    assert_eq!(
        events_of(&app, &tenant, TenantEvent::DOMAIN_UNVERIFIED)
            .await
            .len(),
        1
    );
}
