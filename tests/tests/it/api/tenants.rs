//! Tenants over HTTP: create, show, list, change, and the event stream.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    a_created_tenant_can_be_shown_and_listed,
    tenant_commands_change_the_tenant,
    the_tenant_list_pages_with_a_cursor_and_filters,
    a_tenants_event_stream_holds_its_events_only,
    the_request_id_is_the_events_correlation_id,
    a_well_formed_request_id_is_echoed_and_anything_else_replaced,
);

async fn a_created_tenant_can_be_shown_and_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post(
            "/v1/tenants",
            json!({"name": "Acme", "slug": "acme", "plan": "premium", "data_region": "eu-west-1", "owner_email": "Owner@Acme.io"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/tenants/{id}").as_str())
    );
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(reply.body["stream_version"], 2);
    let position = reply.body["global_position"].as_u64().unwrap();
    assert_eq!(
        reply.header("x-keel-position"),
        Some(position.to_string().as_str())
    );

    let shown = app.get(&format!("/v1/tenants/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["slug"], "acme");
    assert_eq!(shown.body["plan"], "premium");
    assert_eq!(shown.body["status"], "active");
    assert_eq!(shown.body["member_count"], 1);

    let members = app.get(&format!("/v1/tenants/{id}/members")).await;
    assert_eq!(members.body[0]["email"], "owner@acme.io");
    assert_eq!(members.body[0]["role"], "owner");

    let listed = app
        .get(&format!("/v1/tenants?after_position={position}"))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());

    let taken = app
        .post(
            "/v1/tenants",
            json!({"name": "Other", "slug": "acme", "plan": "free", "data_region": "eu-west-1", "owner_email": "o@o.io"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.body["errors"][0]["field"], "slug");
}

async fn tenant_commands_change_the_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_tenant("busy").await;
    let base = format!("/v1/tenants/{id}");
    let steps = [
        ("/rename", json!({"name": "Busy Corp"})),
        (
            "/branding",
            json!({"logo_url": "https://busy.example/logo.png", "primary_color": "#112233"}),
        ),
        (
            "/settings",
            json!({"timezone": "Europe/Paris", "session_timeout_minutes": 30}),
        ),
        (
            "/plan",
            json!({"plan": "enterprise", "effective_at": "2030-01-01T00:00:00Z"}),
        ),
        (
            "/quota-overrides",
            json!({"meter": "api_calls", "limit": 5000}),
        ),
        (
            "/feature-flags",
            json!({"flag": "beta_ui", "enabled": true}),
        ),
        ("/domains", json!({"domain": "App.Busy.Example"})),
        (
            "/members",
            json!({"email": "dev@busy.example", "role": "admin"}),
        ),
        ("/suspend", json!({"reason": "unpaid"})),
        ("/reactivate", json!({})),
    ];
    for (path, body) in steps {
        let reply = app.post(&format!("{base}{path}"), body).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
    }
    let shown = app.get(&base).await.body;
    assert_eq!(shown["name"], "Busy Corp");
    assert_eq!(shown["branding"]["primary_color"], "#112233");
    assert_eq!(shown["settings"]["timezone"], "Europe/Paris");
    assert_eq!(shown["plan"], "enterprise");
    assert_eq!(shown["quota_overrides"]["api_calls"], 5000);
    assert_eq!(shown["feature_flags"]["beta_ui"], true);
    assert_eq!(shown["domains"][0]["domain"], "app.busy.example");
    assert_eq!(shown["domains"][0]["verified"], false);
    assert_eq!(shown["member_count"], 2);
    assert_eq!(shown["status"], "active");

    let suspended = app
        .post(&format!("{base}/suspend"), json!({"reason": "again"}))
        .await;
    assert_eq!(suspended.status, StatusCode::OK);
    let refused = app
        .post(&format!("{base}/rename"), json!({"name": "Nope"}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.body["code"], "suspended");
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
}

async fn the_tenant_list_pages_with_a_cursor_and_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_tenant(&format!("page-{i}")).await);
    }
    let suspended = app
        .post(
            &format!("/v1/tenants/{}/suspend", ids[1]),
            json!({"reason": "x"}),
        )
        .await;
    // The list is a read model: read after the suspension's position.
    let position = suspended.body["global_position"].as_u64().unwrap();
    let first = app
        .get(&format!("/v1/tenants?limit=2&after_position={position}"))
        .await
        .body;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/tenants?limit=2&cursor={cursor}"))
        .await
        .body;
    assert_eq!(second["items"][0]["id"], ids[2].as_str());
    let suspended = app.get("/v1/tenants?status=suspended").await.body;
    assert_eq!(suspended["items"].as_array().unwrap().len(), 1);
    assert_eq!(suspended["items"][0]["id"], ids[1].as_str());
    let searched = app.get("/v1/tenants?search=page-4").await.body;
    assert_eq!(searched["items"][0]["id"], ids[4].as_str());
    let bad = app.get("/v1/tenants?limit=0").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = app.get("/v1/tenants?cursor=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

async fn a_tenants_event_stream_holds_its_events_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let mine = app.create_tenant("mine").await;
    let theirs = app.create_tenant("theirs").await;
    app.post(
        &format!("/v1/tenants/{mine}/rename"),
        json!({"name": "Mine"}),
    )
    .await;
    let page = app
        .get(&format!("/v1/tenants/{mine}/events?limit=2"))
        .await
        .body;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["event_type"], "tenant.created");
    assert_eq!(items[0]["data"]["slug"], "mine");
    let next = page["next_after_position"].as_u64().unwrap();
    let rest = app
        .get(&format!("/v1/tenants/{mine}/events?after_position={next}"))
        .await
        .body;
    let types: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["claim.reserved", "tenant.renamed"]);
    let all = [items.to_vec(), rest["items"].as_array().unwrap().clone()].concat();
    assert!(all.iter().all(|e| e["tenant_id"] == mine.as_str()));
    assert!(all.iter().all(|e| e["tenant_id"] != theirs.as_str()));
}

async fn the_request_id_is_the_events_correlation_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_tenant("traced").await;
    let request_id = "0192f5a4-0000-7000-8000-000000000001";
    let reply = app
        .send(
            reqwest::Method::POST,
            &format!("/v1/tenants/{id}/rename"),
            Some(&app.admin_key),
            Some(json!({"name": "Traced"})),
            &[("x-request-id", request_id)],
        )
        .await;
    assert_eq!(reply.header("x-request-id"), Some(request_id));
    let position = reply.body["global_position"].as_u64().unwrap();
    let events = app
        .get(&format!(
            "/v1/tenants/{id}/events?after_position={}",
            position - 1
        ))
        .await
        .body;
    assert_eq!(events["items"][0]["correlation_id"], request_id);
    assert_eq!(events["items"][0]["actor"]["kind"], "api_key");
}

async fn a_well_formed_request_id_is_echoed_and_anything_else_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_tenant("echoed").await;
    let with_id = |request_id: String| {
        let app = &app;
        let path = format!("/v1/tenants/{id}");
        async move {
            app.send(
                reqwest::Method::GET,
                &path,
                Some(&app.admin_key),
                None,
                &[("x-request-id", request_id.as_str())],
            )
            .await
        }
    };
    for kept in ["req-42:retry_1.a".to_owned(), "a".repeat(128)] {
        let reply = with_id(kept.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.header("x-request-id"), Some(kept.as_str()));
    }
    let refused = [
        "a".repeat(129),
        "two words".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "a;b=c".to_owned(),
    ];
    for raw in refused {
        let reply = with_id(raw.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let echoed = reply.header("x-request-id").expect("a request id");
        assert_ne!(echoed, raw);
        assert!(
            uuid::Uuid::parse_str(echoed).is_ok(),
            "a fresh UUID instead of {raw:?}: {echoed}"
        );
    }
}
