//! Usage over HTTP: ingestion (idempotent, validated), each aggregation, quota status with
//! overrides, threshold events once per period, and api_calls counted by the API itself.

use chrono::{Duration, Utc};
use keel_tests::app::spawn_app_with;
use keel_tests::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(usage_is_metered_aggregated_and_checked_against_quotas);

fn sample(meter: &str, quantity: u64, minutes_ago: i64, key: &str, user: Option<&str>) -> Value {
    let mut sample = json!({
        "meter": meter,
        "quantity": quantity,
        "timestamp": (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339(),
        "idempotency_key": key,
    });
    if let Some(user) = user {
        sample["properties"] = json!({"user_id": user});
    }
    sample
}

async fn usage_is_metered_aggregated_and_checked_against_quotas(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.usage_flush_ms = 100).await;
    let id = app.create_tenant("metered").await;
    let other = app.create_tenant("unmetered").await;
    let base = format!("/v1/tenants/{id}");
    let limit = app
        .post(
            &format!("{base}/quota-overrides"),
            json!({"meter": "compute_seconds", "limit": 100}),
        )
        .await;
    assert_eq!(limit.status, StatusCode::OK, "{:?}", limit.body);
    app.post(
        &format!("{base}/members"),
        json!({"email": "dev@metered.example", "role": "member"}),
    )
    .await;
    let key = app
        .tenant_key(&id, &["usage:write", "usage:read", "audit:read"])
        .await;
    let other_key = app.tenant_key(&other, &["usage:write", "usage:read"]).await;
    let send = |method: Method, path: String, key: String, body: Option<Value>| {
        let app = &app;
        async move { app.send(method, &path, Some(&key), body, &[]).await }
    };

    let batch = json!({"events": [
        sample("compute_seconds", 50, 3, "c1", None),
        sample("compute_seconds", 35, 2, "c2", None),
        sample("compute_seconds", 50, 3, "c1", None),
        sample("active_users", 1, 2, "u1", Some("ada")),
        sample("active_users", 1, 2, "u2", Some("bob")),
        sample("active_users", 1, 1, "u3", Some("ada")),
        sample("peak_connections", 5, 3, "p1", None),
        sample("peak_connections", 9, 2, "p2", None),
        sample("peak_connections", 3, 1, "p3", None),
        sample("storage_bytes", 50, 1, "s2", None),
        sample("storage_bytes", 100, 2, "s1", None),
    ]});
    let accepted = send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(batch.clone()),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{:?}", accepted.body);
    assert_eq!(accepted.body["accepted"], 11);
    let position = accepted.body["global_position"].as_u64().unwrap();
    // The same batch again is accepted and changes nothing.
    let again = send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(batch),
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);

    let quotas = send(
        Method::GET,
        format!("{base}/quotas?after_position={position}"),
        key.clone(),
        None,
    )
    .await;
    assert_eq!(quotas.status, StatusCode::OK, "{:?}", quotas.body);
    let quota = |body: &Value, meter: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["meter"] == meter)
            .cloned()
            .unwrap()
    };
    let compute = quota(&quotas.body, "compute_seconds");
    assert_eq!(
        (
            compute["used"].clone(),
            compute["limit"].clone(),
            compute["remaining"].clone(),
            compute["percent"].clone(),
            compute["overridden"].clone()
        ),
        (json!(85), json!(100), json!(15), json!(85), json!(true))
    );
    assert_eq!(quota(&quotas.body, "active_users")["used"], 2);
    assert_eq!(quota(&quotas.body, "peak_connections")["used"], 9);
    assert_eq!(
        quota(&quotas.body, "storage_bytes")["used"],
        50,
        "the latest sample by time wins"
    );
    assert_eq!(
        quota(&quotas.body, "seats")["used"],
        2,
        "the owner and one member"
    );
    assert_eq!(
        quota(&quotas.body, "seats")["limit"],
        30,
        "standard plan: 10 x free"
    );

    let more = send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(json!({"events": [sample("compute_seconds", 20, 0, "c3", None)]})),
    )
    .await;
    let position = more.body["global_position"].as_u64().unwrap();
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let series = send(
        Method::GET,
        format!(
            "{base}/usage?meter=compute_seconds&granularity=day&from={}&after_position={position}",
            today.format("%Y-%m-%dT%H:%M:%SZ")
        ),
        key.clone(),
        None,
    )
    .await;
    assert_eq!(series.status, StatusCode::OK, "{:?}", series.body);
    assert_eq!(series.body["points"][0]["value"], 105);
    assert_eq!(series.body["points"][0]["events"], 3);

    // 80% and 100% were crossed: one event each, however often usage is reported after.
    send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(json!({"events": [sample("compute_seconds", 1, 0, "c4", None)]})),
    )
    .await;
    let mut thresholds = Vec::new();
    for _ in 0..100 {
        let events = app.get(&format!("{base}/events?limit=1000")).await;
        thresholds = events.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "usage.quota_threshold_crossed")
            .map(|e| e["data"]["percent"].as_u64().unwrap())
            .collect();
        if thresholds.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(thresholds, vec![80, 100]);

    // api_calls: counted per authenticated tenant request, flushed as usage.
    let mut api_calls = 0;
    for _ in 0..100 {
        let quotas = send(Method::GET, format!("{base}/quotas"), key.clone(), None).await;
        api_calls = quota(&quotas.body, "api_calls")["used"].as_u64().unwrap();
        if api_calls >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(api_calls >= 5, "api_calls were counted: {api_calls}");

    let derived = send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(json!({"events": [sample("seats", 1, 0, "x", None)]})),
    )
    .await;
    assert_eq!(derived.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(derived.body["errors"][0]["field"], "events[0].meter");
    let too_many: Vec<Value> = (0..1001)
        .map(|i| sample("compute_seconds", 1, 0, &format!("k{i}"), None))
        .collect();
    let refused = send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(json!({"events": too_many})),
    )
    .await;
    assert_eq!(refused.body["errors"][0]["field"], "events");
    let future = send(
        Method::POST,
        format!("{base}/usage"),
        key.clone(),
        Some(json!({"events": [sample("compute_seconds", 1, -60, "f", None)]})),
    )
    .await;
    assert_eq!(future.body["errors"][0]["field"], "events[0].timestamp");
    let negative = send(Method::POST, format!("{base}/usage"), key.clone(), Some(json!({"events": [{"meter": "compute_seconds", "quantity": -1, "timestamp": Utc::now().to_rfc3339(), "idempotency_key": "n"}]}))).await;
    assert_eq!(
        negative.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        negative.body
    );
    assert_eq!(negative.body["errors"][0]["field"], "events[0].quantity");
    for path in [
        format!("{base}/usage?meter=compute_seconds"),
        format!("{base}/quotas"),
    ] {
        assert_eq!(
            send(Method::GET, path, other_key.clone(), None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    let foreign = send(
        Method::POST,
        format!("{base}/usage"),
        other_key.clone(),
        Some(json!({"events": [sample("compute_seconds", 1, 0, "o", None)]})),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}
