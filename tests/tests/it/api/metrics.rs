//! `/metrics` counts requests by route pattern, method and status: never by the raw path,
//! whose ids would make a series per resource.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use reqwest::StatusCode;

both_backends!(requests_are_counted_by_route_pattern_method_and_status);

/// The value of the one series of `metric` whose line holds every label of `labels`.
fn series(metrics: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

async fn requests_are_counted_by_route_pattern_method_and_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.create_tenant("metered").await;
    let detail = app.get(&format!("/v1/tenants/{tenant}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    let unknown = app.get("/v1/no-such-thing").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let metrics = app.metrics().await;
    let requests = |labels: &[&str]| series(&metrics, "keel_http_requests_total", labels);
    assert_eq!(
        requests(&[
            r#"route="/v1/tenants""#,
            r#"method="POST""#,
            r#"status="201""#
        ]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        requests(&[
            r#"route="/v1/tenants/{tenant_id}""#,
            r#"method="GET""#,
            r#"status="200""#
        ]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        requests(&[r#"route="unmatched""#, r#"method="GET""#, r#"status="404""#]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        series(
            &metrics,
            "keel_http_request_duration_seconds_count",
            &[r#"route="/v1/tenants/{tenant_id}""#]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        !metrics.contains(&tenant),
        "a raw path in a label: {metrics}"
    );
}
