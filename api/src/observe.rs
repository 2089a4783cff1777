//! Every request's context: a request id, a tracing span, and its metrics.
//!
//! The request id is the caller's `X-Request-Id` when well-formed or else made up
//! ([`crate::request_id`]), is returned as `X-Request-Id` and recorded on the request's span,
//! and gives the correlation id of every event the request causes.

use crate::metrics::Metrics;
pub use crate::request_id::RequestId;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderName;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};
use std::time::Instant;
use tracing::Instrument;

/// The header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<RequestId, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The middleware always sets it; a fresh id is a safe fallback outside it (tests).
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_default();
        ready(Ok(id))
    }
}

/// Middleware: assigns the request id, opens the request's span, records its metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = RequestId::from_header(req.headers().get(&REQUEST_ID));
    req.extensions_mut().insert(request_id.clone());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id.id,
        correlation_id = %request_id.correlation_id,
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
    response
        .headers_mut()
        .insert(REQUEST_ID, request_id.header_value());
    Ok(response)
}
