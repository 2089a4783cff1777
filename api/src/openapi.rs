//! The OpenAPI 3.1 document's frame (title, version, security scheme), and the error responses
//! of every operation, documented in one place ([`document_problems`]). The paths are collected
//! from the registered routes (see [`crate::routes`]).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi};

/// The content type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The document's static part.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keel",
        description = "Event-sourced control plane for multi-tenant SaaS: command and query API."
    ),
    modifiers(&BearerKeys),
    components(schemas(crate::error::Problem, crate::error::FieldError))
)]
pub struct ApiDoc;

/// Declares the `api_key` bearer scheme every authenticated route refers to.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Keel API key: `Authorization: Bearer keel_...`"))
                    .build(),
            ),
        );
    }
}

/// Documents the error responses of every operation of a document whose paths are collected:
/// each error is a [`Problem`](crate::error::Problem) as `application/problem+json` (503 with
/// `Retry-After`), and each operation lists the statuses the server's shared machinery can
/// answer for it, besides those its route declares (403, a 404 or 409 of its own):
///
/// - an authenticated operation: 400 (a malformed `If-Match`, `X-Keel-After-Position`,
///   query or path parameter), 401, 503 (the database is unreachable, or the read side has not
///   reached the `after_position` asked for in time);
/// - with path parameters: 404 (nothing there, or another tenant's);
/// - a `POST`: 400 (malformed JSON or `Idempotency-Key`), 409 (its `Idempotency-Key` is still
///   being handled, or the state forbids the command), 413, 422 (a field is wrong, or the
///   `Idempotency-Key` was used with another request);
/// - a command (its answer is a `CommandResult`): 412 (`If-Match` no longer matches).
pub fn document_problems(openapi: &mut utoipa::openapi::OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let has_path_parameters = path.contains('{');
        for (is_post, operation) in operations(item) {
            let mut statuses: Vec<(&str, &str)> = Vec::new();
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                statuses.extend([
                    ("400", "A malformed header, query or path parameter"),
                    ("401", "No API key, or an unknown, revoked or expired one"),
                    (
                        "503",
                        "The database is unreachable, or the read side has not reached the \
                         position asked for in time; retry after `Retry-After` seconds",
                    ),
                ]);
            }
            if has_path_parameters {
                statuses.push(("404", "Nothing here, or nothing this key may see"));
            }
            if is_post {
                statuses.extend([
                    ("400", "A malformed body or `Idempotency-Key`"),
                    (
                        "409",
                        "The state forbids this, or a request with this `Idempotency-Key` is \
                         still being handled",
                    ),
                    ("413", "The body is larger than allowed"),
                    (
                        "422",
                        "A field is missing, unknown, of the wrong type or breaks a rule; or \
                         the `Idempotency-Key` was used with another request",
                    ),
                ]);
            }
            if is_command(operation) {
                statuses.push(("412", "`If-Match` no longer matches the stream version"));
            }
            let responses = &mut operation.responses.responses;
            for (status, description) in statuses {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(Response::new(description)));
            }
            for (status, response) in responses.iter_mut() {
                if let (false, RefOr::T(response)) = (status.starts_with(['1', '2', '3']), response)
                {
                    *response = problem(status, std::mem::take(&mut response.description));
                }
            }
        }
    }
}

/// The operations of a path item, each with whether it is a `POST`.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, item.get.as_mut()),
        (true, item.post.as_mut()),
        (false, item.put.as_mut()),
        (false, item.patch.as_mut()),
        (false, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(is_post, operation)| operation.map(|o| (is_post, o)))
}

/// Whether an operation runs a command: its success body is a `CommandResult`.
fn is_command(operation: &Operation) -> bool {
    operation
        .responses
        .responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .any(|(_, response)| match response {
            RefOr::T(response) => response.content.values().any(|content| {
                matches!(&content.schema, Some(RefOr::Ref(r))
                    if r.ref_location.starts_with("#/components/schemas/CommandResult"))
            }),
            RefOr::Ref(_) => false,
        })
}

/// A problem response for `status`, described by `description` (or the status' reason).
fn problem(status: &str, description: String) -> Response {
    let description = if description.is_empty() {
        status
            .parse()
            .ok()
            .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_owned()
    } else {
        description
    };
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if status == "503" {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}
