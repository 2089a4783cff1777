//! Every request's context: a request id, a tracing span, and its metrics.
//!
//! The request id is taken from an incoming `X-Request-Id` (if it is a UUID) or made up, is
//! returned as `X-Request-Id`, and becomes the correlation id of every event the request causes.

use crate::metrics::Metrics;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};
use std::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

/// The header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request (also the correlation id of the events it causes).
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub Uuid);

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<RequestId, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The middleware always sets it; a fresh id is a safe fallback outside it (tests).
        let id = req
            .extensions()
            .get::<RequestId>()
            .copied()
            .unwrap_or(RequestId(Uuid::now_v7()));
        ready(Ok(id))
    }
}

/// Middleware: assigns the request id, opens the request's span, records its metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::now_v7);
    req.extensions_mut().insert(RequestId(request_id));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        %request_id,
        %method,
        route = tracing::field::Empty,
        status = tracing::field::Empty
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    // Asked once routing is done: actix then looks the pattern up by the matched resource,
    // where before routing it would match the path against every route a second time.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = response.status();
    span.record("route", route.as_str());
    span.record("status", status.as_u16());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request done"
        )
    });
    if let Some(metrics) = metrics {
        metrics
            .requests
            .with_label_values(&[&route, &method, status.as_str()])
            .inc();
        metrics
            .request_seconds
            .with_label_values(&[&route])
            .observe(started.elapsed().as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}
