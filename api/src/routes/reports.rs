//! Reports over a time range: the platform overview (platform admin keys only), and a tenant's
//! activity and compliance reports (scope `reports:read`; another tenant's report answers 404).
//!
//! Each answers JSON, or one CSV table (`text/csv`, as a download) with `?format=csv` or
//! `Accept: text/csv`; `format` wins over `Accept`. The range is `from` (default: 30 days
//! before `to`) to `to` (default: now), half-open, at most three years; a bad one is a 400
//! naming the parameter. The reports are computed from the read models when asked (see
//! `keel_projections::reports`); `?after_position=` waits until the audit, usage and reports
//! read models have all folded that position.

use super::kit::authorize_read_model;
use super::kit::paths::TenantPath;
use crate::auth::Access;
use crate::command::Caller;
use crate::consistency::wait_for_projection;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::http::header::ACCEPT;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use keel_domain::TenantId;
use keel_projections::reports::{self, Granularity, Report, ReportRange};
use serde::Deserialize;
use utoipa::IntoParams;

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(overview).service(activity).service(compliance);
}

/// The range and form of a report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The first instant covered (RFC 3339); default: 30 days before `to`.
    pub from: Option<String>,
    /// The first instant after the range (RFC 3339); default: now. At most 1,096 days after
    /// `from`.
    pub to: Option<String>,
    /// Usage trends by `day` or `month` (overview default `month`, activity default `day`);
    /// the compliance report has no trends and refuses it.
    pub granularity: Option<String>,
    /// `json` (default) or `csv`. Without it, `Accept: text/csv` asks for CSV.
    pub format: Option<String>,
    /// Read-your-writes: wait until the audit, usage and reports read models have folded this
    /// global position.
    pub after_position: Option<u64>,
}

/// What a request asked for, checked.
struct Asked {
    range: ReportRange,
    granularity: Granularity,
    csv: bool,
}

impl ReportQuery {
    /// Checks the parameters; `default_granularity` is `None` for a report without trends.
    fn check(
        &self,
        request: &HttpRequest,
        default_granularity: Option<Granularity>,
    ) -> Result<Asked, ApiError> {
        let to = parse_time("to", self.to.as_deref())?.unwrap_or_else(Utc::now);
        let from =
            parse_time("from", self.from.as_deref())?.unwrap_or_else(|| to - Duration::days(30));
        let range =
            ReportRange::new(from, to).map_err(|e| ApiError::bad_parameter(e.field, e.reason))?;
        let granularity = match (&self.granularity, default_granularity) {
            (None, default) => default.unwrap_or(Granularity::Day),
            (Some(_), None) => {
                return Err(ApiError::bad_parameter(
                    "granularity",
                    "this report has no trends",
                ))
            }
            (Some(text), Some(_)) => Granularity::parse(text).ok_or_else(|| {
                ApiError::bad_parameter("granularity", "must be `day` or `month`")
            })?,
        };
        let csv = match self.format.as_deref() {
            Some("csv") => true,
            Some("json") => false,
            Some(_) => return Err(ApiError::bad_parameter("format", "must be `json` or `csv`")),
            None => request
                .headers()
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/csv")),
        };
        Ok(Asked {
            range,
            granularity,
            csv,
        })
    }
}

fn parse_time(field: &'static str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::bad_parameter(
                    field,
                    "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z",
                )
            })
    })
    .transpose()
}

impl ReportQuery {
    /// Authorizes the caller (a platform admin key for the overview, `reports:read` on the
    /// tenant otherwise; another tenant's report is a 404), checks the parameters and waits for
    /// the read models a report reads (audit, usage, reports) if asked to.
    async fn prepare(
        &self,
        state: &AppState,
        caller: &Caller,
        request: &HttpRequest,
        tenant: Option<TenantId>,
        default_granularity: Option<Granularity>,
    ) -> Result<Asked, ApiError> {
        match tenant {
            None => caller.principal.require_admin()?,
            Some(tenant) => {
                authorize_read_model(state, &caller.principal, tenant, "reports", Access::Read)
                    .await?
            }
        }
        let asked = self.check(request, default_granularity)?;
        for name in ["audit", "usage", "reports"] {
            wait_for_projection(state, name, self.after_position).await?;
        }
        Ok(asked)
    }
}

/// The report as JSON, or as a CSV download named `<name>-<from>-<to>.csv`.
fn respond(report: &impl Report, asked: &Asked, name: String) -> HttpResponse {
    if !asked.csv {
        return HttpResponse::Ok().json(report);
    }
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let file = format!(
        "{name}-{}-{}.csv",
        stamp(asked.range.from),
        stamp(asked.range.to)
    );
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{file}\""),
        ))
        .body(report.to_csv())
}

/// The platform overview: tenants by status and plan at the end of the range; per month,
/// tenants created and decommissioned and the recurring revenue by plan; every meter's usage
/// over all tenants. Platform admin keys only.
#[utoipa::path(
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The overview as JSON, or as CSV (`text/csv`) with `format=csv` or `Accept: text/csv`", content((reports::Overview = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)
    ),
    security(("api_key" = []))
)]
#[get("/v1/reports/overview")]
async fn overview(
    state: Data<AppState>,
    caller: Caller,
    request: HttpRequest,
    query: Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let asked = query
        .prepare(&state, &caller, &request, None, Some(Granularity::Month))
        .await?;
    let database = state.store.database();
    let report =
        reports::overview(&database, &asked.range, asked.granularity, &state.catalogue).await?;
    Ok(respond(&report, &asked, "overview".into()))
}

/// Declares the route of a tenant's report (`GET`, scope `reports:read`): `$report` as JSON, or
/// as a CSV download named after the route, `$compute`d from the state, the tenant and what
/// the request asked for; trends by `$granularity` by default (`None`: the report has none).
macro_rules! tenant_report {
    (
        $(#[$doc:meta])*
        $name:ident: $url:literal, $report:ty, $granularity:expr,
        |$state:ident, $tenant:ident, $asked:ident| $compute:expr
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "reports",
            params(TenantPath, ReportQuery),
            responses(
                (status = 200, description = "The report as JSON, or as CSV (`text/csv`) with `format=csv` or `Accept: text/csv`", content(($report = "application/json"), (String = "text/csv"))),
                (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)
            ),
            security(("api_key" = []))
        )]
        #[get($url)]
        async fn $name(
            $state: Data<AppState>,
            caller: Caller,
            request: HttpRequest,
            path: Path<TenantPath>,
            query: Query<ReportQuery>,
        ) -> Result<HttpResponse, ApiError> {
            let $tenant = path.tenant_id;
            let $asked = query
                .prepare(&$state, &caller, &request, Some($tenant), $granularity)
                .await?;
            let report = $compute;
            let file = format!(concat!(stringify!($name), "-{}"), $tenant);
            Ok(respond(&report, &$asked, file))
        }
    };
}

tenant_report! {
    /// A tenant's activity: usage trends, quota status, member and key activity, who acted, and a
    /// summary of its policies and workflows.
    activity: "/v1/tenants/{tenant_id}/reports/activity", reports::Activity, Some(Granularity::Day),
    |state, tenant, asked| {
        let (range, granularity) = (&asked.range, asked.granularity);
        reports::activity(&state.store.database(), &state.catalogue, tenant, range, granularity)
            .await?
    }
}

tenant_report! {
    /// A tenant's compliance report: the policy versions in force (platform-wide ones included),
    /// the access denials recorded, API key issuance and revocation, member changes, and the
    /// verification of its audit hash chain.
    compliance: "/v1/tenants/{tenant_id}/reports/compliance", reports::Compliance, None,
    |state, tenant, asked| {
        reports::compliance(&state.store.database(), tenant, &asked.range, state.audit_key())
            .await?
    }
}
