//! Tenants: create, list, show, and the commands on a tenant's profile and life cycle.

use super::kit::paths::{MeterPath, TenantPath};
use super::kit::{command_route, run_create, Allowed};
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{Caller, CommandResult};
use crate::consistency::ReadAfter;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::views::TenantView;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, post, HttpResponse};
use keel_domain::tenant::{
    CancelDecommission, ChangePlan, ClearQuotaOverride, CreateTenant, DecommissionTenant,
    ReactivateTenant, RenameTenant, ScheduleDecommission, SetFeatureFlag, SetQuotaOverride,
    SuspendTenant, TenantCommand, UpdateBranding, UpdateSettings,
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
        (status = 403, description = "The key may not do this"),
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
    let location = format!("/v1/tenants/{tenant_id}");
    let target = TenantPath { tenant_id };
    run_create(&state, &caller, &target, command, TenantView::of, location).await
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
    pub items: Vec<TenantSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists tenants: every tenant for a platform admin, a tenant key's own tenant otherwise.
#[utoipa::path(
    tag = "tenants",
    params(ListQuery),
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = TenantPage), (status = 400, body = Problem)),
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
    responses(
        (status = 403, description = "The key may not do this"),
        (status = 200, body = TenantView), (status = 404, body = Problem)),
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

command_route! {
    "tenants", Allowed::Scope("tenants", Access::Write), TenantPath => TenantView;
    /// Renames a tenant.
    rename: "/v1/tenants/{tenant_id}/rename", body RenameTenant;
    /// Replaces a tenant's branding.
    branding: "/v1/tenants/{tenant_id}/branding", body UpdateBranding;
    /// Changes some of a tenant's settings (only the fields given).
    settings: "/v1/tenants/{tenant_id}/settings", body UpdateSettings;
}
command_route! {
    "tenants", Allowed::Admin, TenantPath => TenantView;
    /// Moves a tenant to another plan (platform admin only).
    change_plan: "/v1/tenants/{tenant_id}/plan", body ChangePlan;
    /// Sets a quota override for a meter (platform admin only).
    set_quota_override: "/v1/tenants/{tenant_id}/quota-overrides", body SetQuotaOverride;
    /// Sets a feature flag (platform admin only).
    set_feature_flag: "/v1/tenants/{tenant_id}/feature-flags", body SetFeatureFlag;
    /// Suspends a tenant (platform admin only).
    suspend: "/v1/tenants/{tenant_id}/suspend", body SuspendTenant;
    /// Reactivates a suspended tenant (platform admin only).
    reactivate: "/v1/tenants/{tenant_id}/reactivate", body ReactivateTenant;
    /// Schedules a tenant's decommissioning (platform admin only).
    schedule_decommission: "/v1/tenants/{tenant_id}/decommission/schedule",
        body ScheduleDecommission;
    /// Cancels a scheduled decommissioning (platform admin only).
    cancel_decommission: "/v1/tenants/{tenant_id}/decommission/cancel", body CancelDecommission;
    /// Decommissions a tenant for good, once its scheduled time has come (platform admin only).
    decommission: "/v1/tenants/{tenant_id}/decommission", body DecommissionTenant;
}
command_route! {
    "tenants", Allowed::Admin, MeterPath => TenantView;
    /// Removes a quota override (platform admin only).
    clear_quota_override: "/v1/tenants/{tenant_id}/quota-overrides/{meter}/clear"
        => |path, (), _| Ok(ClearQuotaOverride { meter: path.meter.clone() }.into());
}
