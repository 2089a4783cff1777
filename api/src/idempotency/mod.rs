//! The `Idempotency-Key` header: a retried command with the same key and body gets the first
//! response and appends nothing; the same key with a different body is a 422.
//!
//! Keys are scoped to the caller (a hash of its API key), so two callers cannot collide. Only
//! `POST`s (commands) are concerned. A request that fails on the server side (5xx) releases its
//! key so that a retry runs it again; every other response is kept for 24 hours, without any
//! secret it revealed (a replay shows the issued key or integration, its secret as `null`).
//!
//! [`records`] stores the responses (in the event store's database, in the table its
//! migrations create); this module is the middleware that claims, replays and releases them.

pub mod records;

use crate::auth::token;
use crate::body::{read_limited, BodyLimit};
use crate::error::ApiError;
use crate::redact::redact_secrets;
use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use records::{Begin, IdempotencyStore, StoredResponse};
use sha2::{Digest, Sha256};

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a replayed response.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The response headers kept and replayed.
const KEPT_HEADERS: [&str; 4] = ["content-type", "etag", "location", "x-keel-position"];

/// Middleware: applies `Idempotency-Key` to `POST` requests.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(header) = req.headers().get(IDEMPOTENCY_KEY).cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if req.method() != Method::POST {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = match header.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) => key.to_owned(),
        _ => {
            let error = ApiError::bad_parameter(
                "Idempotency-Key",
                "must be 1-255 visible ASCII characters",
            );
            return Ok(req.error_response(error).map_into_boxed_body());
        }
    };
    let scope = caller_scope(&req);
    let limit = req
        .app_data::<web::Data<BodyLimit>>()
        .map(|l| l.0)
        .unwrap_or(1 << 20);
    let body = match read_limited(&mut req.take_payload(), limit).await {
        Ok(body) => body,
        Err(error) => return Ok(req.error_response(error).map_into_boxed_body()),
    };
    let store = req
        .app_data::<web::Data<IdempotencyStore>>()
        .expect("the idempotency store is registered")
        .clone();
    let hash = request_hash(&req, &body);
    let begun = match store.begin(&scope, &key, &hash).await {
        Ok(begun) => begun,
        Err(error) => {
            return Ok(req
                .error_response(ApiError::from(error))
                .map_into_boxed_body())
        }
    };
    match begun {
        Begin::Completed(stored) => Ok(req.into_response(replay(stored))),
        Begin::Mismatch => Ok(req
            .error_response(ApiError::IdempotencyMismatch)
            .map_into_boxed_body()),
        Begin::InProgress => Ok(req
            .error_response(ApiError::IdempotencyInProgress)
            .map_into_boxed_body()),
        Begin::New => {
            req.set_payload(bytes_payload(body));
            let response = next.call(req).await;
            finish(&store, &scope, &key, response).await
        }
    }
}

/// Keeps the response of a first request (or releases the key on a server error).
async fn finish<B: MessageBody + 'static>(
    store: &IdempotencyStore,
    scope: &str,
    key: &str,
    response: Result<ServiceResponse<B>, actix_web::Error>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            release(store, scope, key).await;
            return Err(error);
        }
    };
    if response.status().is_server_error() {
        release(store, scope, key).await;
        return Ok(response.map_into_boxed_body());
    }
    let (request, response) = response.into_parts();
    let status = response.status();
    let headers: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = response.headers().get(*name)?.to_str().ok()?;
            Some((name.to_string(), value.to_owned()))
        })
        .collect();
    let bytes = match body::to_bytes(response.into_body()).await {
        Ok(bytes) => bytes,
        Err(_) => {
            release(store, scope, key).await;
            let error = ApiError::Internal(anyhow::anyhow!("could not read the response body"));
            return Ok(ServiceResponse::new(request, error.error_response()));
        }
    };
    // A secret is shown once: the kept copy of a response that reveals one has it removed, so a
    // replay shows the resource but not the secret.
    let kept_body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut json) => {
            if redact_secrets(&mut json) {
                serde_json::to_vec(&json).unwrap_or_default()
            } else {
                bytes.to_vec()
            }
        }
        Err(_) => bytes.to_vec(),
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        headers,
        body: kept_body,
    };
    if let Err(error) = store.complete(scope, key, &stored).await {
        // The command ran; only the record is lost. A retry will be refused as "in progress"
        // until the claim goes stale, never run twice silently.
        tracing::error!(%error, "could not store an idempotent response");
    }
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        rebuilt.insert_header((name.as_str(), value.as_str()));
    }
    Ok(ServiceResponse::new(request, rebuilt.body(bytes)))
}

async fn release(store: &IdempotencyStore, scope: &str, key: &str) {
    if let Err(error) = store.abandon(scope, key).await {
        tracing::error!(%error, "could not release an idempotency key");
    }
}

/// The stored response, marked as a replay.
fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        response.insert_header((name.as_str(), value.as_str()));
    }
    response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    response.body(stored.body)
}

/// Who sent the request: the hash of its bearer token (or `anonymous`, which auth refuses).
fn caller_scope(req: &ServiceRequest) -> String {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| token::hash(t.trim()))
        .unwrap_or_else(|| "anonymous".into())
}

/// What makes two requests "the same": method, path with query, and body.
fn request_hash(req: &ServiceRequest, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(req.uri().to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().to_vec()
}

fn bytes_payload(body: web::Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    actix_web::dev::Payload::from(payload)
}
