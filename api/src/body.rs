//! Request bodies: JSON decoding with errors that name the failing field.
//!
//! actix's own `Json` extractor reports a wrong type or an unknown field without saying where;
//! [`JsonBody`] decodes through `serde_path_to_error`, so a 422 names the field's path, and
//! tells malformed JSON (400) apart from JSON of the wrong shape (422).

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;

/// The configured body size limit, registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body decoded into `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<BodyLimit>>()
            .map(|l| l.0)
            .unwrap_or(1024 * 1024);
        let declared_too_large = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|len| len > limit);
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("application/json") || v.contains("+json"));
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_too_large {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            if !is_json {
                return Err(ApiError::BadRequest {
                    detail: "the body must be JSON (Content-Type: application/json)".into(),
                    field: Some("Content-Type".into()),
                });
            }
            let body = read_limited(&mut payload, limit).await?;
            decode(&body).map(JsonBody)
        })
    }
}

/// Reads a whole request body, refusing it (413) as soon as it passes `limit` bytes.
pub async fn read_limited(payload: &mut Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            detail: format!("could not read the body: {e}"),
            field: None,
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Decodes JSON, naming the failing field's path in the error.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        // An empty body is an empty object: commands without fields need not send one.
        b"{}".as_slice()
    } else {
        body
    };
    // Plain serde_json first: tracking the path costs allocations on every body, and only a
    // failing body needs it, so that one is decoded again to name the field.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = (path != ".").then_some(path);
        match inner.classify() {
            serde_json::error::Category::Data => {
                let detail = clean_message(&inner.to_string());
                let code = if detail.starts_with("unknown field") {
                    "unknown_field"
                } else if detail.starts_with("missing field") {
                    "missing_field"
                } else {
                    "invalid_type"
                };
                let field = field.or_else(|| backticked(&detail));
                ApiError::Validation {
                    code,
                    detail,
                    field,
                }
            }
            _ => ApiError::BadRequest {
                detail: format!("malformed JSON: {}", clean_message(&inner.to_string())),
                field,
            },
        }
    })
}

/// serde_json's message without its " at line L column C" suffix.
fn clean_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// The first `quoted` name in a message (serde names missing and unknown fields that way).
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn field_of(error: ApiError) -> (u16, Option<String>) {
        let problem = error.problem();
        (
            problem.status,
            problem.errors.first().map(|e| e.field.clone()),
        )
    }

    #[test]
    fn errors_name_the_failing_field() {
        let cases: [(&str, u16, Option<&str>); 5] = [
            (r#"{"name": 1}"#, 422, Some("name")),
            (
                r#"{"name": "a", "inner": {"count": "x"}}"#,
                422,
                Some("inner.count"),
            ),
            (r#"{"name": "a", "extra": true}"#, 422, Some("extra")),
            (r#"{}"#, 422, Some("name")),
            (r#"{"name": "#, 400, Some("name")),
        ];
        for (body, status, field) in cases {
            let error = decode::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(
                field_of(error),
                (status, field.map(str::to_owned)),
                "{body}"
            );
        }
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        #[derive(Deserialize)]
        struct Empty {}
        assert!(decode::<Empty>(b"").is_ok());
    }
}
