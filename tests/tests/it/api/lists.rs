//! Lists of a tenant's resources over HTTP (here policies; workflows, runs and integrations
//! are listed the same way): complete before the `resources` read model has folded the newest
//! events, read from that read model once it has, never another tenant's.

use crate::projections::support::execute;
use keel_domain::TenantId;
use keel_projections::resources::{self, ResourceKind};
use keel_tests::app::{every_projection_external, spawn_app, spawn_app_with, TestApp};
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

both_backends!(
    a_list_shows_policies_the_read_model_has_not_folded_yet,
    a_list_reads_the_read_model_once_it_has_caught_up,
);

/// Drafts a policy named `name` under tenant `tenant`; returns its id and the position reached.
async fn draft(app: &TestApp, tenant: &str, name: &str) -> (String, u64) {
    let reply = app
        .post(
            &format!("/v1/tenants/{tenant}/policies"),
            json!({"name": name, "document": {"kind": "access", "rules": [
                {"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}
            ]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let id = reply.body["data"]["id"].as_str().unwrap().to_owned();
    let position = reply.body["global_position"].as_u64().unwrap();
    (id, position)
}

/// The ids `GET /v1/tenants/{tenant}/policies` lists, in order.
async fn listed(app: &TestApp, tenant: &str) -> Vec<String> {
    let reply = app.get(&format!("/v1/tenants/{tenant}/policies")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn tenant_id(id: &str) -> TenantId {
    TenantId(id.parse().unwrap())
}

async fn a_list_shows_policies_the_read_model_has_not_folded_yet(backend: Backend) {
    // No worker folds `resources`: every policy must come from the events after its checkpoint.
    let app = spawn_app_with(backend, |s| {
        s.external_projections = every_projection_external()
    })
    .await;
    let tenant = app.create_tenant("unfolded").await;
    let other = app.create_tenant("neighbour").await;
    let mut drafted = Vec::new();
    for name in ["first", "second", "third"] {
        drafted.push(draft(&app, &tenant, name).await.0);
    }
    draft(&app, &other, "theirs").await;

    let store = app.db.open().await;
    let listing = resources::list(&store.database(), tenant_id(&tenant), ResourceKind::Policy)
        .await
        .unwrap();
    assert_eq!(
        (listing.ids.len(), listing.through),
        (0, 0),
        "nothing folded"
    );
    assert_eq!(
        listed(&app, &tenant).await,
        drafted,
        "all three, oldest first"
    );
    assert_eq!(
        listed(&app, &other).await.len(),
        1,
        "only the neighbour's own"
    );
}

async fn a_list_reads_the_read_model_once_it_has_caught_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("folded").await;
    let (first, _) = draft(&app, &tenant, "first").await;
    let (second, position) = draft(&app, &tenant, "second").await;
    let store = app.db.open().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listing = resources::list(&store.database(), tenant_id(&tenant), ResourceKind::Policy)
            .await
            .unwrap();
        if listing.through >= position {
            assert_eq!(listing.ids.len(), 2);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the resources projection did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed(&app, &tenant).await, [first.clone(), second.clone()]);

    // Take the first policy out of the read model (generation 1 serves): a list that read
    // the log would still show it.
    execute(
        &store,
        &format!("DELETE FROM resources_g1 WHERE aggregate_id = '{first}'"),
    )
    .await;
    assert_eq!(listed(&app, &tenant).await, [second]);
}
