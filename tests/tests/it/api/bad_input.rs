//! A corpus of bad input sent to every documented route: no answer may be a 5xx, every error
//! is a problem document, and the server keeps serving.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::Method;

both_backends!(no_bad_input_causes_a_server_error);

async fn no_bad_input_causes_a_server_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("target").await;
    let operations = super::openapi::documented(&app).await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<String> = vec![
        String::new(),
        "{".into(),
        "[]".into(),
        "null".into(),
        "\"text\"".into(),
        "{\"unknown_field\": 1}".into(),
        "{\"name\": 123, \"slug\": [], \"plan\": {}, \"email\": null, \"role\": 7, \"scopes\": \"x\"}".into(),
        "{\"name\": \"\\u0000\", \"slug\": \"--\", \"plan\": \"gold\", \"data_region\": \"\", \"owner_email\": \"@\"}".into(),
        "{\"expires_at\": \"yesterday\", \"effective_at\": 5, \"at\": \"1970-01-01T00:00:00Z\", \"limit\": -1}".into(),
        "{\"domain\": \"..\", \"meter\": \"A B\", \"flag\": \"\", \"enabled\": \"yes\"}".into(),
        "{\"amount_minor\": -5, \"reason\": 3}".into(),
        "{\"amount_minor\": 1.5, \"reason\": \"\"}".into(),
        "{\"amount_minor\": 18446744073709551616, \"reason\": \"x\"}".into(),
        nested,
        huge,
    ];
    let substitutions = [
        (tenant.as_str(), "api_calls", "a.example"),
        ("not-a-uuid", "%00", "%2e%2e"),
        ("00000000-0000-0000-0000-000000000000", "x", "x"),
    ];
    let mut checked = 0;
    for operation in &operations {
        let (method, path) = operation.split_once(' ').unwrap();
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for (tenant_id, meter, domain) in substitutions {
            let concrete = super::openapi::fill(path, |name| match name {
                "tenant_id" => tenant_id.to_owned(),
                "meter" => meter.to_owned(),
                "domain" | "step_id" => domain.to_owned(),
                "member_id" => "nope".to_owned(),
                _ => uuid::Uuid::now_v7().to_string(),
            });
            let concrete = format!("{concrete}?limit=-3&after_position=x&cursor=%ff&status=1");
            let bodies: &[String] = if method == Method::POST {
                &bodies
            } else {
                &bodies[..1]
            };
            for body in bodies {
                let response = app
                    .client
                    .request(method.clone(), format!("{}{concrete}", app.address))
                    .bearer_auth(&app.admin_key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the server answers");
                let status = response.status();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                assert!(
                    !status.is_server_error(),
                    "{operation} ({concrete}) with {:.60} gave {status}",
                    body
                );
                if status.is_client_error() {
                    assert_eq!(
                        content_type, "application/problem+json",
                        "{operation} gave {status}"
                    );
                }
                checked += 1;
            }
        }
    }
    // Report ranges and formats: every bad one is a 400 naming its parameter.
    for path in [
        "/v1/reports/overview".to_owned(),
        format!("/v1/tenants/{tenant}/reports/activity"),
        format!("/v1/tenants/{tenant}/reports/compliance"),
    ] {
        for query in [
            "from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            "from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
            "to=-262144-01-01T00:00:00Z",
            "from=%00",
            "from=2026-11-01T00:00:00Z&from=2026-11-02T00:00:00Z",
            "granularity=%ff",
            "format=",
        ] {
            let reply = app
                .send(
                    Method::GET,
                    &format!("{path}?{query}"),
                    Some(&app.admin_key),
                    None,
                    &[],
                )
                .await;
            assert_eq!(
                reply.status,
                reqwest::StatusCode::BAD_REQUEST,
                "{path}?{query}: {:?}",
                reply.body
            );
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
            checked += 1;
        }
    }
    assert!(
        checked > 300,
        "the corpus reached every route ({checked} requests)"
    );
    assert_eq!(app.get("/healthz").await.status, reqwest::StatusCode::OK);
    assert_eq!(
        app.get(&format!("/v1/tenants/{tenant}")).await.body["name"],
        "Tenant target"
    );
}
