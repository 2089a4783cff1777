//! Tenants: create, list, show, and the commands on a tenant's profile and life cycle.

use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{execute, respond, Caller, CommandResult};
use crate::consistency::ReadAfter;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::views::TenantView;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, post, HttpResponse};
use keel_domain::tenant::{
    CancelDecommission, ChangePlan, CreateTenant, DecommissionTenant, ReactivateTenant,
    RenameTenant, ScheduleDecommission, SetFeatureFlag, SetQuotaOverride, SuspendTenant,
    TenantCommand, UpdateBranding, UpdateSettings,
};
use keel_domain::{AggregateId, TenantId};
use keel_projections::{TenantFilter, TenantSummary};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(show)
        .service(rename)
        .service(branding)
        .service(settings)
        .service(change_plan)
        .service(set_quota_override)
        .service(clear_quota_override)
        .service(set_feature_flag)
        .service(suspend)
        .service(reactivate)
        .service(schedule_decommission)
        .service(cancel_decommission)
        .service(decommission);
}

/// The `{tenant_id}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TenantPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
}

/// Runs a tenant command for a caller allowed `access` to the tenant's `resource`, and answers
/// with the tenant's view after it.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    resource: &str,
    access: Access,
    name: &'static str,
    command: TenantCommand,
) -> Result<HttpResponse, ApiError> {
    caller.principal.require(tenant_id, resource, access)?;
    let outcome = execute(
        state,
        &state.tenants,
        AggregateId::tenant(tenant_id),
        name,
        command,
        caller,
    )
    .await?;
    let view = TenantView::of(&outcome.state);
    Ok(respond(StatusCode::OK, &outcome, view))
}

/// Runs a command only a platform admin may run.
async fn run_admin(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    name: &'static str,
    command: TenantCommand,
) -> Result<HttpResponse, ApiError> {
    caller.principal.require_admin()?;
    run(
        state,
        caller,
        tenant_id,
        "tenants",
        Access::Admin,
        name,
        command,
    )
    .await
}

/// The body of `POST /v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// The tenant's name, 1-200 characters.
    pub name: String,
    /// Unique DNS-safe handle: 3-63 of `a-z`, `0-9`, `-`.
    pub slug: String,
    /// `free`, `standard`, `premium`, `enterprise`, `enterprise_plus` or `white_label`.
    pub plan: String,
    /// Where the tenant's data lives, e.g. `eu-west-1`.
    pub data_region: String,
    /// The first owner's email.
    pub owner_email: String,
}

/// Creates a tenant with its first owner (platform admin only).
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created", body = CommandResult<TenantView>),
        (status = 409, description = "Slug taken", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants")]
async fn create(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateTenantRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.principal.require_admin()?;
    let request = body.0;
    let tenant_id = TenantId(uuid::Uuid::now_v7());
    let command = TenantCommand::Create(CreateTenant {
        tenant_id,
        name: request.name,
        slug: request.slug,
        plan: request.plan,
        data_region: request.data_region,
        owner_email: request.owner_email,
        owner_member_id: Uuid::now_v7(),
    });
    let id = AggregateId::tenant(tenant_id);
    let outcome = execute(&state, &state.tenants, id, "create", command, &caller).await?;
    let mut response = respond(
        StatusCode::CREATED,
        &outcome,
        TenantView::of(&outcome.state),
    );
    if let Ok(location) = format!("/v1/tenants/{tenant_id}").parse() {
        response
            .headers_mut()
            .insert(actix_web::http::header::LOCATION, location);
    }
    Ok(response)
}

/// Filters and paging of `GET /v1/tenants`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only tenants in this status (`active`, `suspended`, `decommissioned`).
    pub status: Option<String>,
    /// Only tenants on this plan.
    pub plan: Option<String>,
    /// Only tenants whose name or slug contains this text.
    pub search: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Wait until the read side has reached this position (read-your-writes).
    pub after_position: Option<u64>,
}

/// A page of tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    /// The tenants, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<TenantSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists tenants: every tenant for a platform admin, a tenant key's own tenant otherwise.
#[utoipa::path(
    tag = "tenants",
    params(ListQuery),
    responses((status = 200, body = TenantPage), (status = 400, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants")]
async fn list(
    state: Data<AppState>,
    caller: Caller,
    query: Query<ListQuery>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_parameter(
            "limit",
            "must be between 1 and 500",
        ));
    }
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<TenantId>().map_err(|_| {
                ApiError::bad_parameter("cursor", "is not a cursor from a previous page")
            })
        })
        .transpose()?;
    let filter = TenantFilter {
        status: query.status,
        plan: query.plan,
        search: query.search,
    };
    let principal = &caller.principal;
    let mut items = if principal.is_admin() {
        state.directory.list(&filter, after, limit + 1)
    } else {
        principal.require(principal.tenant_id, "tenants", Access::Read)?;
        state
            .directory
            .tenant(principal.tenant_id)
            .filter(|t| after.is_none_or(|a| a < t.id))
            .into_iter()
            .filter(|t| filter.status.as_deref().is_none_or(|s| s == t.status))
            .filter(|t| filter.plan.as_deref().is_none_or(|p| p == t.plan))
            .collect()
    };
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| t.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(TenantPage { items, next_cursor }))
}

/// Shows a tenant.
#[utoipa::path(
    tag = "tenants",
    params(TenantPath),
    responses((status = 200, body = TenantView), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}")]
async fn show(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path.tenant_id;
    caller
        .principal
        .require(tenant_id, "tenants", Access::Read)?;
    let loaded = state.tenants.state(AggregateId::tenant(tenant_id)).await?;
    if !loaded.state.exists() {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::ETAG,
            format!("\"{}\"", loaded.version),
        ))
        .json(TenantView::of(&loaded.state)))
}

macro_rules! tenant_command {
    ($(#[$doc:meta])* $fn:ident, $path:literal, $body:ty, $variant:ident, $name:literal, $resource:literal, $access:ident) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "tenants",
            params(TenantPath),
            request_body = $body,
            responses(
                (status = 200, body = CommandResult<TenantView>),
                (status = 404, body = Problem), (status = 409, body = Problem),
                (status = 412, body = Problem), (status = 422, body = Problem),
            ),
            security(("api_key" = []))
        )]
        #[post($path)]
        async fn $fn(
            state: Data<AppState>,
            caller: Caller,
            path: Path<TenantPath>,
            body: JsonBody<$body>,
        ) -> Result<HttpResponse, ApiError> {
            let command = TenantCommand::$variant(body.0);
            run(&state, &caller, path.tenant_id, $resource, Access::$access, $name, command).await
        }
    };
}

macro_rules! admin_command {
    ($(#[$doc:meta])* $fn:ident, $path:literal, $body:ty, $variant:ident, $name:literal) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "tenants",
            params(TenantPath),
            request_body = $body,
            responses(
                (status = 200, body = CommandResult<TenantView>),
                (status = 403, body = Problem), (status = 404, body = Problem),
                (status = 409, body = Problem), (status = 412, body = Problem),
                (status = 422, body = Problem),
            ),
            security(("api_key" = []))
        )]
        #[post($path)]
        async fn $fn(
            state: Data<AppState>,
            caller: Caller,
            path: Path<TenantPath>,
            body: JsonBody<$body>,
        ) -> Result<HttpResponse, ApiError> {
            run_admin(&state, &caller, path.tenant_id, $name, TenantCommand::$variant(body.0)).await
        }
    };
}

tenant_command!(
    /// Renames a tenant.
    rename, "/v1/tenants/{tenant_id}/rename", RenameTenant, Rename, "rename", "tenants", Write
);
tenant_command!(
    /// Replaces a tenant's branding.
    branding, "/v1/tenants/{tenant_id}/branding", UpdateBranding, UpdateBranding, "update_branding", "tenants", Write
);
tenant_command!(
    /// Changes some of a tenant's settings (only the fields given).
    settings, "/v1/tenants/{tenant_id}/settings", UpdateSettings, UpdateSettings, "update_settings", "tenants", Write
);
admin_command!(
    /// Moves a tenant to another plan (platform admin only).
    change_plan, "/v1/tenants/{tenant_id}/plan", ChangePlan, ChangePlan, "change_plan"
);
admin_command!(
    /// Sets a quota override for a meter (platform admin only).
    set_quota_override, "/v1/tenants/{tenant_id}/quota-overrides", SetQuotaOverride, SetQuotaOverride, "set_quota_override"
);
admin_command!(
    /// Sets a feature flag (platform admin only).
    set_feature_flag, "/v1/tenants/{tenant_id}/feature-flags", SetFeatureFlag, SetFeatureFlag, "set_feature_flag"
);
admin_command!(
    /// Suspends a tenant (platform admin only).
    suspend, "/v1/tenants/{tenant_id}/suspend", SuspendTenant, Suspend, "suspend"
);
admin_command!(
    /// Reactivates a suspended tenant (platform admin only).
    reactivate, "/v1/tenants/{tenant_id}/reactivate", ReactivateTenant, Reactivate, "reactivate"
);
admin_command!(
    /// Schedules a tenant's decommissioning (platform admin only).
    schedule_decommission, "/v1/tenants/{tenant_id}/decommission/schedule", ScheduleDecommission, ScheduleDecommission, "schedule_decommission"
);
admin_command!(
    /// Cancels a scheduled decommissioning (platform admin only).
    cancel_decommission, "/v1/tenants/{tenant_id}/decommission/cancel", CancelDecommission, CancelDecommission, "cancel_decommission"
);
admin_command!(
    /// Decommissions a tenant for good, once its scheduled time has come (platform admin only).
    decommission, "/v1/tenants/{tenant_id}/decommission", DecommissionTenant, Decommission, "decommission"
);

/// The meter of `POST /v1/tenants/{tenant_id}/quota-overrides/{meter}/clear`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MeterPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The meter whose override is removed.
    pub meter: String,
}

/// Removes a quota override (platform admin only).
#[utoipa::path(
    tag = "tenants",
    params(MeterPath),
    responses((status = 200, body = CommandResult<TenantView>), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/quota-overrides/{meter}/clear")]
async fn clear_quota_override(
    state: Data<AppState>,
    caller: Caller,
    path: Path<MeterPath>,
) -> Result<HttpResponse, ApiError> {
    let MeterPath { tenant_id, meter } = path.into_inner();
    let command =
        TenantCommand::ClearQuotaOverride(keel_domain::tenant::ClearQuotaOverride { meter });
    run_admin(&state, &caller, tenant_id, "clear_quota_override", command).await
}
