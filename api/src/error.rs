//! The API's one error type, mapped to HTTP in one place.
//!
//! Every error is an RFC 9457 `application/problem+json` document with a stable `type`, a
//! `title`, the `status`, a `detail`, and, for validation errors, the failing `field`s. A 5xx
//! tells the client nothing about the cause; the whole cause chain is logged instead.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use keel_commands::handler::{CommandError, Conflict};
use keel_domain::{Refusal, RefusalKind};
use keel_store::StoreError;
use serde::Serialize;
use std::fmt;

/// Base of every problem `type` URI.
const TYPE_BASE: &str = "https://keel.dev/problems/";

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// The body is not JSON, or a header or query parameter is malformed (400).
    BadRequest {
        /// What is wrong.
        detail: String,
        /// The field, header or parameter, if known.
        field: Option<String>,
    },
    /// A field has the wrong type, is unknown, missing, or breaks a rule (422).
    Validation {
        /// Stable code (e.g. `invalid`, `unknown_field`).
        code: &'static str,
        /// What is wrong.
        detail: String,
        /// The failing field.
        field: Option<String>,
    },
    /// No or an unknown, revoked or expired API key (401).
    Unauthorized(&'static str),
    /// The key is valid but may not do this: it lacks the scope, or would grant more than it
    /// holds (403).
    Forbidden {
        /// Stable code (`forbidden` for a missing scope).
        code: &'static str,
        /// What is not allowed.
        detail: String,
        /// The field it is about, if any.
        field: Option<String>,
    },
    /// Nothing here, or nothing this key may see (404). Use [`ApiError::not_found`] for the
    /// generic answer that reveals nothing about other tenants.
    NotFound {
        /// Stable code.
        code: &'static str,
        /// What is missing.
        detail: String,
    },
    /// The state forbids the command (409).
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        detail: String,
        /// The field it is about, if any.
        field: Option<String>,
    },
    /// `If-Match` no longer matches (412).
    PreconditionFailed(String),
    /// The body is larger than allowed (413).
    PayloadTooLarge(usize),
    /// The same `Idempotency-Key` was used with another request (422).
    IdempotencyMismatch,
    /// A request with this `Idempotency-Key` is still being handled (409).
    IdempotencyInProgress,
    /// The read side has not reached the requested position in time, or the database is
    /// unreachable (503 with `Retry-After`).
    Unavailable(String),
    /// Anything else (500). Never shown to the client.
    Internal(anyhow::Error),
}

/// The problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for a human.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// The fields at fault, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One failing field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's JSON path (e.g. `settings.timezone`), header or parameter name.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

impl ApiError {
    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Validation {
            code: "invalid",
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// A 403 for a key that lacks what the route requires.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code: "forbidden",
            detail: detail.into(),
            field: None,
        }
    }

    /// The 404 for anything absent or out of the caller's reach: identical in both cases.
    pub fn not_found() -> Self {
        ApiError::NotFound {
            code: "not_found",
            detail: "no such resource".into(),
        }
    }

    /// A 400 about a query parameter or header.
    pub fn bad_parameter(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, String, Option<&str>) {
        use ApiError::*;
        match self {
            BadRequest { detail, field } => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Bad request",
                detail.clone(),
                field.as_deref(),
            ),
            Validation {
                code,
                detail,
                field,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "Invalid input",
                detail.clone(),
                field.as_deref(),
            ),
            Unauthorized(detail) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                (*detail).to_owned(),
                None,
            ),
            Forbidden {
                code,
                detail,
                field,
            } => (
                StatusCode::FORBIDDEN,
                code,
                "Forbidden",
                detail.clone(),
                field.as_deref(),
            ),
            NotFound { code, detail } => (
                StatusCode::NOT_FOUND,
                code,
                "Not found",
                detail.clone(),
                None,
            ),
            Conflict {
                code,
                detail,
                field,
            } => (
                StatusCode::CONFLICT,
                code,
                "Conflict",
                detail.clone(),
                field.as_deref(),
            ),
            PreconditionFailed(detail) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "Precondition failed",
                detail.clone(),
                None,
            ),
            PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                format!("the body exceeds the limit of {limit} bytes"),
                None,
            ),
            IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
                "this Idempotency-Key was used with a different request".into(),
                Some("Idempotency-Key"),
            ),
            IdempotencyInProgress => (
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "Request in progress",
                "a request with this Idempotency-Key is still being handled; retry later".into(),
                Some("Idempotency-Key"),
            ),
            Unavailable(detail) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                detail.clone(),
                None,
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "the server failed; the incident is logged".into(),
                None,
            ),
        }
    }

    /// The problem document of this error.
    pub fn problem(&self) -> Problem {
        let (status, code, title, detail, field) = self.parts();
        Problem {
            kind: format!("{TYPE_BASE}{code}"),
            title,
            status: status.as_u16(),
            errors: field
                .map(|f| {
                    vec![FieldError {
                        field: f.to_owned(),
                        detail: detail.clone(),
                    }]
                })
                .unwrap_or_default(),
            detail,
            code,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Internal(error) => write!(f, "internal error: {error:#}"),
            other => write!(f, "{}", other.parts().3),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(error) = self {
            tracing::error!(error = ?error, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if matches!(self, ApiError::Unavailable(_)) {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        response.json(self.problem())
    }
}

impl<E: Refusal> From<CommandError<E>> for ApiError {
    fn from(error: CommandError<E>) -> Self {
        match error {
            CommandError::Domain(refusal) => {
                let field = refusal.field();
                let detail = refusal.to_string();
                match refusal.kind() {
                    RefusalKind::Invalid => ApiError::Validation {
                        code: refusal.code(),
                        detail,
                        field,
                    },
                    RefusalKind::NotFound => ApiError::NotFound {
                        code: refusal.code(),
                        detail,
                    },
                    RefusalKind::Conflict => ApiError::Conflict {
                        code: refusal.code(),
                        detail,
                        field,
                    },
                    RefusalKind::Forbidden => ApiError::Forbidden {
                        code: refusal.code(),
                        detail,
                        field,
                    },
                }
            }
            CommandError::Conflict(conflict @ Conflict::ExpectedVersion { .. }) => {
                ApiError::PreconditionFailed(conflict.to_string())
            }
            CommandError::Conflict(conflict @ Conflict::Contention { .. }) => ApiError::Conflict {
                code: "contention",
                detail: conflict.to_string(),
                field: None,
            },
            CommandError::Conflict(Conflict::Taken { scope, value }) => ApiError::Conflict {
                code: "taken",
                detail: format!("{value} is already taken"),
                field: Some(scope_field(scope).to_owned()),
            },
            CommandError::Infra(error) => store_error(&error),
        }
    }
}

/// The request field a claim scope corresponds to.
fn scope_field(scope: &str) -> &str {
    match scope {
        "tenant-slug" => "slug",
        "tenant-domain" => "domain",
        other => other,
    }
}

/// A store failure as the client sees it: unreachable database is a 503, the rest a 500.
pub fn store_error(error: &StoreError) -> ApiError {
    match error {
        StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
        | StoreError::WriterStopped => {
            tracing::error!(%error, "event store unavailable");
            ApiError::Unavailable("the event store is unavailable; retry later".into())
        }
        other => ApiError::Internal(anyhow::anyhow!("{other}")),
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        store_error(&error)
    }
}

/// A read-model failure as the client sees it: an unreachable database is a 503, the rest a 500.
impl From<keel_projections::ProjectionError> for ApiError {
    fn from(error: keel_projections::ProjectionError) -> Self {
        use keel_projections::ProjectionError as P;
        match error {
            P::Store(error) => store_error(&error),
            P::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                tracing::error!(%error, "read-model database unavailable");
                ApiError::Unavailable("the read-model database is unavailable; retry later".into())
            }
            other => ApiError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}
