//! Billing over HTTP: the plan catalogue, a draft that follows usage, finalised invoices
//! listed, paged and read with their lines, credit notes (validated, never beyond the total),
//! scopes, and tenant isolation.

use chrono::{Datelike, TimeZone, Utc};
use keel_commands::handler::{CommandHandler, HandlerConfig};
use keel_domain::billing::{invoice_id, line_amount, Catalogue, Period};
use keel_domain::shared::{Email, Plan};
use keel_domain::tenant::{Region, TenantCreated, TenantEvent, TenantName, TenantSlug};
use keel_domain::{Actor, TenantId};
use keel_reactors::billing_close::close_periods;
use keel_store::{EventMetadata, ExpectedVersion, NewEvent};
use keel_tests::app::{spawn_app, TestApp};
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(
    the_draft_follows_usage_and_the_catalogue_is_listed,
    invoices_are_listed_read_and_credited_by_their_tenant_only,
);

async fn get(app: &TestApp, path: &str, key: &str) -> (StatusCode, Value) {
    let reply = app.send(Method::GET, path, Some(key), None, &[]).await;
    (reply.status, reply.body)
}

async fn the_draft_follows_usage_and_the_catalogue_is_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_tenant("drafted").await;
    let key = app.tenant_key(&id, &["billing:read", "usage:write"]).await;
    let usage_only = app.tenant_key(&id, &["usage:read"]).await;

    let (status, plans) = get(&app, "/v1/plans", &key).await;
    assert_eq!(status, StatusCode::OK, "{plans}");
    let names: Vec<&str> = plans["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plan"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "free",
            "standard",
            "premium",
            "enterprise",
            "enterprise_plus",
            "white_label"
        ]
    );
    assert_eq!(plans["items"][1]["base_price_minor"], 4_900);
    assert_eq!(plans["items"][1]["meters"]["api_calls"]["quota"], 100_000);

    let now = Utc::now();
    let period = Period::of(now);
    let days_left = u64::from(period.days() - now.day() + 1);
    let base = line_amount(days_left, 4_900, u64::from(period.days()));
    let draft_path = format!("/v1/tenants/{id}/invoices/draft");
    // The tenant's creation reaches the billing read model asynchronously: read after it.
    let head = app.db.open().await.head_position().await.unwrap();
    let (status, draft) = get(&app, &format!("{draft_path}?after_position={head}"), &key).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["period"], period.to_string());
    assert_eq!(draft["currency"], "USD");
    assert_eq!(draft["lines"][0]["kind"], "base");
    assert_eq!(draft["lines"][0]["quantity"], days_left);
    assert_eq!(draft["total_minor"], base);

    // 40,000 compute seconds: standard includes 36,000, then 40 per 3,600: ceil(4000×40/3600).
    let sample = json!({"events": [{
        "meter": "compute_seconds",
        "quantity": 40_000,
        "timestamp": now.to_rfc3339(),
        "idempotency_key": "c1",
    }]});
    let accepted = app
        .send(
            Method::POST,
            &format!("/v1/tenants/{id}/usage"),
            Some(&key),
            Some(sample),
            &[],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{:?}", accepted.body);
    let position = accepted.body["global_position"].as_u64().unwrap();
    let (status, draft) = get(
        &app,
        &format!("{draft_path}?after_position={position}"),
        &key,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let overage: Vec<&Value> = draft["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["meter"] == "compute_seconds" && l["kind"] == "overage")
        .collect();
    assert_eq!(overage.len(), 1, "{draft}");
    assert_eq!(
        (
            overage[0]["quantity"].as_u64(),
            overage[0]["amount_minor"].as_u64()
        ),
        (Some(4_000), Some(45))
    );
    assert_eq!(draft["total_minor"].as_u64(), Some(base + 45), "{draft}");

    let (status, problem) = get(&app, &draft_path, &usage_only).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
}

/// A tenant created on standard on 2026-10-03 (by appending its event, as if it had been
/// created then); returns its id.
async fn tenant_since_october(app: &TestApp) -> TenantId {
    let store = app.db.open().await;
    let tenant = TenantId(uuid::Uuid::now_v7());
    let mut metadata = EventMetadata::new(tenant, Actor::System("test".into()));
    metadata.occurred_at = Utc.with_ymd_and_hms(2026, 10, 3, 9, 0, 0).unwrap();
    let created = TenantEvent::Created(TenantCreated {
        tenant_id: tenant,
        name: TenantName::parse("Invoiced").unwrap(),
        slug: TenantSlug::parse("invoiced").unwrap(),
        plan: Plan::Standard,
        data_region: Region::parse("eu-west-1").unwrap(),
        owner_member_id: uuid::Uuid::now_v7(),
        owner_email: Email::parse("owner@invoiced.example").unwrap(),
    });
    let position = store
        .append(
            &format!("tenant-{}", tenant.0),
            ExpectedVersion::NoStream,
            vec![NewEvent::from_domain(&created, metadata).unwrap()],
        )
        .await
        .unwrap()
        .global_position;
    let (status, body) = get(
        app,
        &format!("/v1/tenants/{tenant}?after_position={position}"),
        &app.admin_key,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Close October and November as the server's closer does once they have ended.
    let invoices = CommandHandler::new(store.clone(), HandlerConfig::default());
    let after_november = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    for _ in 0..200 {
        let report = close_periods(&store, &invoices, &Catalogue::builtin(), after_november)
            .await
            .unwrap();
        if !report.behind {
            // The server's own closer may have finalised some of them first.
            let closed = report.finalized.len() + report.already_finalized;
            assert_eq!(closed, 2, "{report:?}");
            return tenant;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the read models never caught up");
}

async fn invoices_are_listed_read_and_credited_by_their_tenant_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = tenant_since_october(&app).await;
    let id = tenant.to_string();
    let reader = app.tenant_key(&id, &["billing:read"]).await;
    let writer = app.tenant_key(&id, &["billing:write"]).await;
    let other = app.create_tenant("outsider").await;
    let outsider = app.tenant_key(&other, &["billing:write"]).await;
    let head = app.db.open().await.head_position().await.unwrap();

    let list = format!("/v1/tenants/{id}/invoices");
    let (status, page) = get(&app, &format!("{list}?after_position={head}"), &reader).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let periods: Vec<(&str, u64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["period"].as_str().unwrap(),
                i["total_minor"].as_u64().unwrap(),
            )
        })
        .collect();
    // October: 29 of 31 days, ceil(4900 × 29 / 31) = 4584; November whole.
    assert_eq!(periods, [("2026-11", 4_900), ("2026-10", 4_584)]);
    let (_, first) = get(&app, &format!("{list}?limit=1"), &reader).await;
    assert_eq!(first["items"][0]["period"], "2026-11");
    assert_eq!(first["next_cursor"], "2026-11");
    let (_, second) = get(&app, &format!("{list}?limit=1&cursor=2026-11"), &reader).await;
    assert_eq!(second["items"][0]["period"], "2026-10");
    let (_, last) = get(&app, &format!("{list}?limit=1&cursor=2026-10"), &reader).await;
    assert_eq!(
        (
            last["items"].as_array().unwrap().len(),
            &last["next_cursor"]
        ),
        (0, &Value::Null)
    );
    let (status, _) = get(&app, &format!("{list}?cursor=November"), &reader).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let november = invoice_id(tenant, Period::parse("2026-11").unwrap());
    let one = format!("{list}/{november}");
    let (status, invoice) = get(&app, &one, &reader).await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    assert_eq!(invoice["status"], "finalized");
    assert_eq!(
        invoice["lines"][0]["description"],
        "standard plan, 2026-11-01 to 2026-11-30"
    );
    assert_eq!(invoice["balance_minor"], 4_900);

    let notes = format!("{one}/credit-notes");
    let post = |key: &str, body: Value| {
        let (app, notes, key) = (&app, notes.clone(), key.to_owned());
        async move {
            app.send(Method::POST, &notes, Some(&key), Some(body), &[])
                .await
        }
    };
    let refused = post(&reader, json!({"amount_minor": 100, "reason": "x"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    let too_much = post(&writer, json!({"amount_minor": 4_901, "reason": "refund"})).await;
    assert_eq!(
        too_much.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        too_much.body
    );
    assert_eq!(too_much.body["errors"][0]["field"], "amount_minor");
    for bad in [
        json!({"amount_minor": -1, "reason": "refund"}),
        json!({"amount_minor": 1.5, "reason": "refund"}),
        json!({"amount_minor": 0, "reason": "refund"}),
        json!({"amount_minor": 10, "reason": ""}),
        json!({"amount_minor": 10}),
    ] {
        let reply = post(&writer, bad.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {:?}",
            reply.body
        );
    }
    let issued = post(
        &writer,
        json!({"amount_minor": 900, "reason": "outage on the 3rd"}),
    )
    .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.body);
    assert_eq!(issued.body["data"]["amount_minor"], 900);
    let position = issued.body["global_position"].as_u64().unwrap();
    let (_, credited) = get(&app, &format!("{one}?after_position={position}"), &reader).await;
    assert_eq!(
        (&credited["credited_minor"], &credited["balance_minor"]),
        (&json!(900), &json!(4_000))
    );
    assert_eq!(credited["credit_notes"][0]["reason"], "outage on the 3rd");
    // The rest can be credited, not a minor unit more.
    let beyond = post(&writer, json!({"amount_minor": 4_001, "reason": "refund"})).await;
    assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rest = post(&writer, json!({"amount_minor": 4_000, "reason": "refund"})).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{:?}", rest.body);

    // Another tenant's key sees none of it, exactly as if it did not exist.
    for path in [
        list.clone(),
        one.clone(),
        format!("/v1/tenants/{id}/invoices/draft"),
    ] {
        let (status, _) = get(&app, &path, &outsider).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let foreign = post(&outsider, json!({"amount_minor": 1, "reason": "x"})).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let (status, _) = get(
        &app,
        &format!("/v1/tenants/{other}/invoices/{november}"),
        &outsider,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an invoice id under another tenant"
    );
    let (_, empty) = get(&app, &format!("/v1/tenants/{other}/invoices"), &outsider).await;
    assert_eq!(empty["items"], json!([]));
}

#[test]
fn a_bad_plan_catalogue_is_refused_naming_the_setting_the_plan_and_the_field() {
    use keel_api::config::Settings;
    use keel_domain::billing::catalogue::BUILTIN_TOML;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.toml");
    let refusal = |text: String| {
        std::fs::write(&path, text).unwrap();
        let settings = Settings {
            plan_catalogue: Some(path.clone()),
            ..Settings::default()
        };
        settings.validate().unwrap_err().to_string()
    };
    let bounded = refusal(BUILTIN_TOML.replacen(
        "{ unit_price_minor = 30 }",
        "{ up_to = 5, unit_price_minor = 30 }",
        1,
    ));
    assert!(
        bounded.starts_with("invalid setting `plan_catalogue`")
            && bounded.contains("plans.standard.meters.api_calls.tiers[1].up_to"),
        "{bounded}"
    );
    let typo = refusal(BUILTIN_TOML.replacen("meters.seats", "meters.seatz", 1));
    assert!(
        typo.contains("plans.free.meters.seatz: is not a meter Keel measures"),
        "{typo}"
    );
    let float =
        refusal(BUILTIN_TOML.replacen("base_price_minor = 4_900", "base_price_minor = 49.0", 1));
    assert!(float.contains("base_price_minor"), "{float}");
    std::fs::write(&path, BUILTIN_TOML).unwrap();
    let settings = Settings {
        plan_catalogue: Some(path.clone()),
        ..Settings::default()
    };
    assert_eq!(settings.catalogue().unwrap(), Catalogue::builtin());
    let missing = Settings {
        plan_catalogue: Some(dir.path().join("absent.toml")),
        ..Settings::default()
    };
    assert!(missing
        .validate()
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
}
