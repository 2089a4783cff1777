//! Read-your-writes: a query may name the position a command returned and then waits,
//! bounded, until the read side has reached it.
//!
//! The position comes from `?after_position=N` or the `X-Keel-After-Position` header. If the
//! read side does not reach it within the configured bound, the answer is 503 with
//! `Retry-After`, never a stale read presented as current.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;

/// The header alternative to `?after_position=`.
pub const AFTER_POSITION: &str = "x-keel-after-position";

/// Proof that the read side has reached the position the request asked for (if any).
pub struct ReadAfter;

impl FromRequest for ReadAfter {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<ReadAfter, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let requested = requested_position(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(position) = requested? else {
                return Ok(ReadAfter);
            };
            let state = state.expect("the app state is registered");
            if state.directory.wait_for(position, state.read_wait).await {
                Ok(ReadAfter)
            } else {
                Err(ApiError::Unavailable(format!(
                    "the read side has not reached position {position} yet; retry shortly"
                )))
            }
        })
    }
}

fn requested_position(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let from_query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("after_position").cloned());
    let from_header = req
        .headers()
        .get(AFTER_POSITION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match from_query.or(from_header) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiError::bad_parameter("after_position", "must be a non-negative integer")
        }),
    }
}

/// Read-your-writes for a read-model query: waits (bounded) until projection `name` has
/// applied everything up to `position`, if the request named one.
pub async fn wait_for_projection(
    state: &AppState,
    name: &str,
    position: Option<u64>,
) -> Result<(), ApiError> {
    let Some(position) = position else {
        return Ok(());
    };
    if state
        .workers
        .wait_for(name, position, state.read_wait)
        .await
    {
        Ok(())
    } else {
        Err(ApiError::Unavailable(format!(
            "the {name} read model has not reached position {position} yet; retry shortly"
        )))
    }
}
