//! The route kit: what the route modules share, so that each says only what is its own.
//!
//! - [`paths`]: the path parameters of every route.
//! - [`access`]: who may call a route ([`authorize_tenant`] and its variants, [`Allowed`]), and
//!   [`key_change_in_effect`].
//! - [`target`]: what a command route acts on ([`Target`]) and [`run`], which authorizes,
//!   checks the aggregate is the tenant's, builds the command and executes it; [`run_create`]
//!   executes the command creating one and answers `201` with its `Location`.
//! - [`command_route!`]: declares command routes on an existing aggregate (their document,
//!   their handler), a line or two each; the answer is `200` with the aggregate's view after
//!   the command, its `ETag` and `X-Keel-Position`.
//! - [`list_route!`], [`show_route!`]: the routes listing a tenant's aggregates of a kind (or
//!   the members and keys its own state holds) and showing one, declared in a line each.
//! - [`NoFields`]: the body of a command without fields.
//!
//! The statuses every route shares (401, 400 for malformed input, 503, ...) and the
//! problem+json form of every error response are documented in one place, by
//! [`crate::openapi::document_problems`].

pub mod access;
pub mod paths;
pub mod target;

pub use access::{
    authorize_owner, authorize_read_model, authorize_tenant, key_change_in_effect, Allowed,
};
pub use target::{run, run_create, CommandOf, Target};

use serde::Deserialize;
use utoipa::ToSchema;

/// The body of a command without fields: `{}`, or no body at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// Declares command routes on the aggregate their path names ([`Target`]), a group at a time:
/// the group's tag, who may call its routes, their path type and the view they answer, then
/// each route's document, name and URL.
///
/// ```ignore
/// command_route! {
///     "tenants", Allowed::Scope("tenants", Access::Write), TenantPath => TenantView;
///     /// Renames a tenant.
///     rename: "/v1/tenants/{tenant_id}/rename", body RenameTenant;
///     /// Changes a tenant's settings.
///     settings: "/v1/tenants/{tenant_id}/settings", body UpdateSettings
///         => |path, body, context| Ok(TenantCommand::UpdateSettings(body));
/// }
/// ```
///
/// Each route is a `POST` documented under the tag; the caller must be `Allowed`; its body is
/// `body` (none if `body ...` is left out: the request's body is then not read); the closure
/// builds the command from the path, the body and the target's context (see [`run`]), and
/// without one the command is the body `into()` the aggregate's command type; the answer is
/// `200` with `View::of` the aggregate after the command. The module that declares routes
/// imports `actix_web::post`: `utoipa` finds a route's method and path by that attribute's name.
macro_rules! command_route {
    (@type) => { () };
    (@type $body:ty) => { $body };
    (@value) => { () };
    (@value $body:ident, $type:ty) => { $body.0 };
    (@build) => { |_, body, _| Ok(body.into()) };
    (@build $build:expr) => { $build };
    (
        $tag:literal, $allowed:expr, $path:ty => $view:ident;
        $(
            $(#[$doc:meta])*
            $name:ident: $url:literal $(, body $body:ty)? $(=> $build:expr)?;
        )+
    ) => {
        $(
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
                ) -> Result<$crate::routes::kit::CommandOf<$path>, $crate::error::ApiError> =
                    $crate::routes::kit::command_route!(@build $($build)?);
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
        )+
    };
}

pub(crate) use command_route;

/// The frame of the `GET` routes of [`list_route!`] and [`show_route!`], on a tenant's data
/// (scope `$resource:read`; 404 unless the tenant exists): the document (the given responses,
/// and the 404), and the handler, which authorizes the caller and answers only once the read
/// side has reached the position the request asks for. The closure-like tail names the state,
/// the path and the tenant's state for the body.
macro_rules! get_route {
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $tag:literal, $resource:expr, $path:ty,
        responses($($responses:tt)*),
        |$state:ident, $p:ident, $tenant:pat_param| $body:block
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = $tag,
            params($path),
            responses($($responses)* (status = 404, body = $crate::error::Problem)),
            security(("api_key" = []))
        )]
        #[get($url)]
        async fn $name(
            $state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::command::Caller,
            $p: actix_web::web::Path<$path>,
            _consistent: $crate::consistency::ReadAfter,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let principal = &caller.principal;
            let read = $crate::auth::Access::Read;
            let $tenant =
                $crate::routes::kit::authorize_tenant(&$state, principal, $p.tenant_id, $resource, read)
                    .await?;
            $body
        }
    };
}
pub(crate) use get_route;

/// Declares the route listing a tenant's aggregates of one kind (from the `resources` read
/// model, each as it stands now, oldest first): `GET`, scope `$resource:read`, each item
/// `View::of` the aggregate. With `tenant.$items()` instead of a handler, it lists the items of
/// the tenant's own state (its members, its keys), each `View::of` the item. The module
/// imports `actix_web::get`.
macro_rules! list_route {
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $tag:literal, $resource:expr, tenant.$items:ident()
        => $view:ident $(,)?
    ) => {
        $crate::routes::kit::get_route! {
            $(#[$doc])*
            $name: $url, $tag, $resource, $crate::routes::kit::paths::TenantPath,
            responses(
                (status = 403, description = "The key may not do this"),
                (status = 200, body = Vec<$view>),
            ),
            |state, path, tenant| {
                let views: Vec<$view> = tenant.$items().values().map($view::of).collect();
                Ok(actix_web::HttpResponse::Ok().json(views))
            }
        }
    };
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $tag:literal, $resource:expr, $handler:ident => $view:ident $(,)?
    ) => {
        $crate::routes::kit::get_route! {
            $(#[$doc])*
            $name: $url, $tag, $resource, $crate::routes::kit::paths::TenantPath,
            responses(
                (status = 200, body = Vec<$view>),
                (status = 403, body = $crate::error::Problem),
            ),
            |state, path, _| {
                let tenant_id = path.tenant_id;
                let listed =
                    $crate::routes::tenant_aggregates::list_owned(&state, &state.$handler, tenant_id)
                        .await?;
                let views: Vec<$view> = listed.iter().map($view::of).collect();
                Ok(actix_web::HttpResponse::Ok().json(views))
            }
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
        $crate::routes::kit::get_route! {
            $(#[$doc])*
            $name: $url, $tag, $resource, $path,
            responses(
                (status = 200, body = $view),
                (status = 403, body = $crate::error::Problem),
            ),
            |state, path, _| {
                let tenant_id = path.tenant_id;
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
        }
    };
}
pub(crate) use show_route;
