//! Auth and tenancy over gRPC: the password is a Keel API key, tenants never see each other,
//! Keel's own streams are readable as JSON and never writable, gRPC events are Keel events.

use super::support::{anonymous, client, json_event};
use eventstore::{AppendToStreamOptions, Error, ReadAllOptions, ReadStreamOptions};
use keel_tests::{app::spawn_app, Backend};

both_backends!(
    two_tenants_share_a_stream_name_and_never_see_each_other,
    keel_streams_are_readable_as_json_and_never_writable,
    calls_without_a_valid_key_are_refused,
);

async fn stream_ids(client: &eventstore::Client) -> Vec<String> {
    let mut read = client
        .read_all(&ReadAllOptions::default().max_count(100_000))
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some(event) = read.next().await.unwrap() {
        ids.push(event.get_original_event().stream_id.clone());
    }
    ids
}

async fn two_tenants_share_a_stream_name_and_never_see_each_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let (t1, t2) = (
        app.create_tenant("acme").await,
        app.create_tenant("globex").await,
    );
    let k1 = app.tenant_key(&t1, &["*:write"]).await;
    let k2 = app.tenant_key(&t2, &["*:write"]).await;
    let (c1, c2) = (client(&app, &k1), client(&app, &k2));
    let written = c1
        .append_to_stream(
            "orders-1",
            &AppendToStreamOptions::default(),
            json_event("Placed", 1),
        )
        .await
        .unwrap();
    c2.append_to_stream(
        "orders-1",
        &AppendToStreamOptions::default(),
        vec![json_event("Placed", 2), json_event("Placed", 3)],
    )
    .await
    .unwrap();
    let mut read = c1
        .read_stream("orders-1", &ReadStreamOptions::default())
        .await
        .unwrap();
    let only = read.next().await.unwrap().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&only.get_original_event().data).unwrap(),
        serde_json::json!({"n": 1})
    );
    assert!(read.next().await.unwrap().is_none());

    let seen_by_1 = stream_ids(&c1).await;
    assert!(seen_by_1.contains(&"orders-1".to_owned()));
    assert!(
        seen_by_1.contains(&format!("tenant-{t1}")),
        "its own Keel streams"
    );
    assert!(!seen_by_1.iter().any(|s| s.contains(&t2)), "{seen_by_1:?}");
    let admin = client(&app, &app.admin_key);
    let seen_by_admin = stream_ids(&admin).await;
    for tenant in [&t1, &t2] {
        assert!(seen_by_admin.contains(&format!("kurrent-{tenant}:orders-1")));
    }

    // The event is an ordinary Keel event of the tenant: in its event view over HTTP.
    let view = app
        .get(&format!("/v1/tenants/{t1}/events?limit=1000"))
        .await;
    let items = view.body["items"].as_array().expect("items").clone();
    let grpc: Vec<_> = items
        .iter()
        .filter(|e| e["event_type"] == "kurrent.Placed")
        .collect();
    assert_eq!(grpc.len(), 1, "{items:?}");
    assert_eq!(grpc[0]["stream_id"], format!("kurrent-{t1}:orders-1"));
    assert_eq!(grpc[0]["data"]["data"]["utf8"], r#"{"n":1}"#);
    // ... and folded by the read side like any other: here, the audit trail.
    let position = written.position.commit;
    let audit = app
        .get(&format!(
            "/v1/tenants/{t1}/audit?action=kurrent.Placed&after_position={position}"
        ))
        .await;
    let items = audit.body["items"].as_array().expect("audit items");
    assert_eq!(items.len(), 1, "{:?}", audit.body);
    assert_eq!(
        items[0]["source_ip"], "127.0.0.1",
        "the client's address is recorded"
    );
}

async fn keel_streams_are_readable_as_json_and_never_writable(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("acme").await;
    let other = app.create_tenant("globex").await;
    let key = app.tenant_key(&tenant, &["*:write"]).await;
    let client = client(&app, &key);
    let mut read = client
        .read_stream(format!("tenant-{tenant}"), &ReadStreamOptions::default())
        .await
        .unwrap();
    let created = read
        .next()
        .await
        .unwrap()
        .expect("the tenant's first event");
    let created = created.get_original_event();
    assert_eq!(created.event_type, "tenant.created");
    assert!(created.is_json);
    let data: serde_json::Value = serde_json::from_slice(&created.data).unwrap();
    assert_eq!(data["slug"], "acme", "{data}");
    let written = client
        .append_to_stream(
            format!("tenant-{tenant}"),
            &AppendToStreamOptions::default(),
            json_event("tenant.renamed", 0),
        )
        .await;
    assert!(matches!(written, Err(Error::AccessDenied)), "{written:?}");
    let mut theirs = client
        .read_stream(format!("tenant-{other}"), &ReadStreamOptions::default())
        .await
        .unwrap();
    assert!(matches!(theirs.next().await, Err(Error::ResourceNotFound)));
}

async fn calls_without_a_valid_key_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let nobody = anonymous(&app);
    let result = nobody
        .append_to_stream("s", &AppendToStreamOptions::default(), json_event("E", 0))
        .await;
    assert!(matches!(result, Err(Error::AccessDenied)), "{result:?}");
    let wrong = client(&app, &format!("keel_{}", "x".repeat(43)));
    let result = wrong.read_stream("s", &ReadStreamOptions::default()).await;
    let denied = match result {
        Err(error) => matches!(error, Error::AccessDenied),
        Ok(mut read) => matches!(read.next().await, Err(Error::AccessDenied)),
    };
    assert!(denied);
    let tenant = app.create_tenant("acme").await;
    let reader = client(&app, &app.tenant_key(&tenant, &["*:read"]).await);
    let result = reader
        .append_to_stream("s", &AppendToStreamOptions::default(), json_event("E", 0))
        .await;
    assert!(
        matches!(result, Err(Error::AccessDenied)),
        "a read-only key cannot write: {result:?}"
    );
}
