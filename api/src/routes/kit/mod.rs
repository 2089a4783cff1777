//! The route kit: what the route modules share, so that each says only what is its own.
//!
//! - [`paths`]: the path parameters of every route.
//! - [`access`]: who may call a route ([`authorize_tenant`] and its variants, [`Allowed`]).
//! - [`target`]: what a command route acts on ([`Target`]) and [`run`], which authorizes,
//!   checks the aggregate is the tenant's, builds the command and executes it.
//! - [`command_route!`]: declares a command route on an existing aggregate (its document,
//!   its handler) in a few lines; its answer is `200` with the aggregate's view after the
//!   command, its `ETag` and `X-Keel-Position`.
//! - [`list_route!`], [`show_route!`]: the routes listing a tenant's aggregates of a kind and
//!   showing one, declared in a line each.
//! - [`created`]: the `Location` of a `201`; [`NoFields`]: the body of a command without
//!   fields.
//!
//! The statuses every route shares (401, 400 for malformed input, 503, ...) and the
//! problem+json form of every error response are documented in one place, by
//! [`crate::openapi::document_problems`].

pub mod access;
pub mod paths;
pub mod target;

pub use access::{authorize_owner, authorize_read_model, authorize_tenant, Allowed};
pub use target::{run, CommandOf, Target};

use actix_web::http::header::LOCATION;
use actix_web::HttpResponse;
use serde::Deserialize;
use utoipa::ToSchema;

/// The body of a command without fields: `{}`, or no body at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// A `201` answer pointing at `location`.
pub fn created(mut response: HttpResponse, location: String) -> HttpResponse {
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// Declares a command route on the aggregate its path names ([`Target`]):
///
/// ```ignore
/// command_route! {
///     /// Renames a tenant.
///     rename: "/v1/tenants/{tenant_id}/rename", "tenants",
///     Allowed::Scope("tenants", Access::Write), TenantPath, body RenameTenant => TenantView,
///     |path, body, context| Ok(TenantCommand::Rename(body))
/// }
/// ```
///
/// The route is a `POST` documented under the tag; the caller must be `Allowed`; its body is
/// `body` (none if `body ...` is left out: the request's body is then not read); the closure
/// builds the command from the path, the body and the target's context (see [`run`]); the
/// answer is `200` with `View::of` the aggregate after the command. The module that declares it
/// imports `actix_web::post`: `utoipa` finds the route's method and path by that attribute's
/// name.
macro_rules! command_route {
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $tag:literal, $allowed:expr, $path:ty $(, body $body:ty)?
        => $view:ident, $build:expr $(,)?
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = $tag,
            params($path),
            $(request_body = $body,)?
            responses(
                (status = 200, body = $crate::command::CommandResult<$view>),
                (status = 403, description = "The key may not do this"),
            ),
            security(("api_key" = []))
        )]
        #[post($url)]
        async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::command::Caller,
            path: actix_web::web::Path<$path>,
            $(body: $crate::body::JsonBody<$body>,)?
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let build: fn(
                &$path,
                $crate::routes::kit::command_route!(@type $($body)?),
                &<$path as $crate::routes::kit::Target>::Context,
            ) -> Result<$crate::routes::kit::CommandOf<$path>, $crate::error::ApiError> = $build;
            let body = $crate::routes::kit::command_route!(@value $(body, $body)?);
            let path = path.into_inner();
            let outcome = $crate::routes::kit::run(&state, &caller, &path, $allowed, |context| {
                build(&path, body, context)
            })
            .await?;
            Ok($crate::command::respond(
                actix_web::http::StatusCode::OK,
                &outcome,
                $view::of(&outcome.state),
            ))
        }
    };
    (@type) => { () };
    (@type $body:ty) => { $body };
    (@value) => { () };
    (@value $body:ident, $type:ty) => { $body.0 };
}

pub(crate) use command_route;

/// Declares the route listing a tenant's aggregates of one kind (from the `resources` read
/// model, each as it stands now, oldest first): `GET`, scope `$resource:read`, each item
/// `View::of` the aggregate. The module imports `actix_web::get`.
macro_rules! list_route {
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $tag:literal, $resource:expr, $handler:ident => $view:ident $(,)?
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = $tag,
            params($crate::routes::kit::paths::TenantPath),
            responses(
                (status = 200, body = Vec<$view>),
                (status = 403, body = $crate::error::Problem),
                (status = 404, body = $crate::error::Problem),
            ),
            security(("api_key" = []))
        )]
        #[get($url)]
        async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::command::Caller,
            path: actix_web::web::Path<$crate::routes::kit::paths::TenantPath>,
            _consistent: $crate::consistency::ReadAfter,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let tenant_id = path.tenant_id;
            let access = $crate::auth::Access::Read;
            $crate::routes::kit::authorize_tenant(&state, &caller.principal, tenant_id, $resource, access)
                .await?;
            let listed =
                $crate::routes::tenant_aggregates::list_owned(&state, &state.$handler, tenant_id)
                    .await?;
            let views: Vec<$view> = listed.iter().map($view::of).collect();
            Ok(actix_web::HttpResponse::Ok().json(views))
        }
    };
}
pub(crate) use list_route;

/// Declares the route showing one of a tenant's aggregates (`GET`, scope `$resource:read`):
/// `View::of` its state, its stream version as the `ETag`; 404 unless it is the tenant's. The
/// module imports `actix_web::get`.
macro_rules! show_route {
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $tag:literal, $resource:expr, $path:ident . $id:ident,
        $handler:ident => $view:ident $(,)?
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = $tag,
            params($path),
            responses(
                (status = 200, body = $view),
                (status = 403, body = $crate::error::Problem),
                (status = 404, body = $crate::error::Problem),
            ),
            security(("api_key" = []))
        )]
        #[get($url)]
        async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::command::Caller,
            path: actix_web::web::Path<$path>,
            _consistent: $crate::consistency::ReadAfter,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let tenant_id = path.tenant_id;
            let access = $crate::auth::Access::Read;
            $crate::routes::kit::authorize_tenant(&state, &caller.principal, tenant_id, $resource, access)
                .await?;
            let loaded =
                $crate::routes::tenant_aggregates::load_owned(&state.$handler, tenant_id, path.$id)
                    .await?;
            Ok(actix_web::HttpResponse::Ok()
                .insert_header((
                    actix_web::http::header::ETAG,
                    format!("\"{}\"", loaded.version),
                ))
                .json($view::of(&loaded.state)))
        }
    };
}
pub(crate) use show_route;
