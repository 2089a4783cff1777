//! The server's life: a graceful stop lets in-flight commands finish and half-writes nothing;
//! a restart on the same database serves everything stored before.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

both_backends!(a_graceful_stop_finishes_in_flight_commands_and_a_restart_serves_them);

async fn a_graceful_stop_finishes_in_flight_commands_and_a_restart_serves_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            let url = format!("{}/v1/tenants", app.address);
            let key = app.admin_key.clone();
            tokio::spawn(async move {
                let body = json!({"name": format!("T{i}"), "slug": format!("stop-{i}"), "plan": "free", "data_region": "eu", "owner_email": "o@stop.io"});
                match client.post(url).bearer_auth(key).json(&body).send().await {
                    Ok(response) => Some(response.status()),
                    // Refused after the stop began: never accepted, so never written.
                    Err(_) => None,
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let stopping = Arc::new(app);
    let stop = {
        let handle = stopping.server.clone();
        tokio::spawn(async move { handle.stop(true).await })
    };
    let mut created = 0;
    for request in requests {
        match request.await.unwrap() {
            Some(StatusCode::CREATED) => created += 1,
            Some(other) => panic!("a request accepted before the stop failed with {other}"),
            None => {}
        }
    }
    stop.await.unwrap();
    let app = Arc::into_inner(stopping)
        .expect("no other owner")
        .restart()
        .await;
    let listed = app.get("/v1/tenants?limit=500").await;
    assert_eq!(listed.status, StatusCode::OK);
    let tenants = listed.body["items"].as_array().unwrap();
    assert_eq!(
        tenants.len(),
        created,
        "exactly the answered creations are stored"
    );
    for tenant in tenants {
        let id = tenant["id"].as_str().unwrap();
        let members = app.get(&format!("/v1/tenants/{id}/members")).await;
        assert_eq!(
            members.body.as_array().unwrap().len(),
            1,
            "no half-created tenant"
        );
    }
}
