//! The OpenAPI 3.1 document's frame: title, version, security scheme. The paths are collected
//! from the registered routes (see [`crate::routes`]).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
