//! The platform overview: tenants by status and plan at the end of the range; per calendar
//! month, tenants created and decommissioned and the monthly recurring revenue by plan; and
//! every meter's usage trend over all tenants.
//!
//! Months are those the range touches; a month's counts cover only its part inside the range,
//! and its revenue is taken at the month's end or at the range's end, whichever is first.

use super::range::{Granularity, ReportRange};
use super::table::{time, CsvTable};
use super::tenants::{PlanRevenue, TenantCounts, TenantHistory};
use super::trend::{usage_trend, MeterTrend};
use crate::error::ProjectionError;
use crate::usage::meters::period_of;
use chrono::{DateTime, Utc};
use keel_domain::billing::Catalogue;
use keel_log::Database;
use serde::Serialize;

/// One calendar month of the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthSummary {
    /// `YYYY-MM`.
    pub month: String,
    /// Tenants created in the month (within the range).
    pub new_tenants: u64,
    /// Tenants decommissioned in the month (within the range).
    pub churned_tenants: u64,
    /// When the revenue was taken: the month's end, or the range's end if earlier.
    pub revenue_at: DateTime<Utc>,
    /// Monthly recurring revenue by plan, of the tenants active then.
    pub mrr_by_plan: Vec<PlanRevenue>,
    /// The plans' revenue summed, in minor units of `currency`.
    pub mrr_total_minor: i64,
    /// The catalogue's currency (ISO 4217).
    pub currency: String,
}

/// The platform overview report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// The range's start.
    pub from: DateTime<Utc>,
    /// The range's end (exclusive).
    pub to: DateTime<Utc>,
    /// The granularity of the usage trends.
    pub granularity: &'static str,
    /// Tenants by status and plan at the end of the range.
    pub tenants: TenantCounts,
    /// Each month the range touches, oldest first.
    pub months: Vec<MonthSummary>,
    /// Every meter's usage over all tenants.
    pub usage: Vec<MeterTrend>,
}

/// The CSV columns of the overview.
pub const CSV_COLUMNS: &[&str] = &[
    "section",
    "month",
    "status",
    "plan",
    "tenants",
    "new_tenants",
    "churned_tenants",
    "amount_minor",
    "currency",
    "meter",
    "period_start",
    "value",
    "events",
];

/// Builds the overview of `range` with usage trends at `granularity`, pricing plans with
/// `catalogue`.
pub async fn overview(
    db: &Database,
    range: &ReportRange,
    granularity: Granularity,
    catalogue: &Catalogue,
) -> Result<Overview, ProjectionError> {
    let history = TenantHistory::load(db, range.to).await?;
    let months = range
        .periods(Granularity::Month)
        .into_iter()
        .map(|start| {
            let end = Granularity::Month.next(start);
            let (from, to) = (start.max(range.from), end.min(range.to));
            let mrr_by_plan = history.revenue(to, catalogue);
            MonthSummary {
                month: period_of(start),
                new_tenants: history.count_events("created", from, to),
                churned_tenants: history.count_events("decommissioned", from, to),
                revenue_at: to,
                mrr_total_minor: mrr_by_plan.iter().map(|p| p.amount_minor).sum(),
                currency: catalogue.currency().to_owned(),
                mrr_by_plan,
            }
        })
        .collect();
    Ok(Overview {
        from: range.from,
        to: range.to,
        granularity: granularity.as_str(),
        tenants: history.counts(range.to),
        months,
        usage: usage_trend(db, None, range, granularity).await?,
    })
}

impl super::Report for Overview {
    /// The overview as one CSV table (see [`CSV_COLUMNS`]); sections `tenants`, `month` (with
    /// the month's total recurring revenue), `mrr` (by plan) and `usage`.
    fn to_csv(&self) -> Vec<u8> {
        let mut table = CsvTable::new(CSV_COLUMNS);
        for row in &self.tenants.by_status_and_plan {
            table.push(
                "tenants",
                &[
                    ("status", row.status.clone()),
                    ("plan", row.plan.clone()),
                    ("tenants", row.tenants.to_string()),
                ],
            );
        }
        for month in &self.months {
            table.push(
                "month",
                &[
                    ("month", month.month.clone()),
                    ("new_tenants", month.new_tenants.to_string()),
                    ("churned_tenants", month.churned_tenants.to_string()),
                    ("amount_minor", month.mrr_total_minor.to_string()),
                    ("currency", month.currency.clone()),
                ],
            );
            for plan in &month.mrr_by_plan {
                table.push(
                    "mrr",
                    &[
                        ("month", month.month.clone()),
                        ("plan", plan.plan.clone()),
                        ("tenants", plan.tenants.to_string()),
                        ("amount_minor", plan.amount_minor.to_string()),
                        ("currency", month.currency.clone()),
                    ],
                );
            }
        }
        push_usage(&mut table, &self.usage);
        table.into_bytes()
    }
}

/// Adds a `usage` row per meter and period.
pub(super) fn push_usage(table: &mut CsvTable, usage: &[MeterTrend]) {
    for trend in usage {
        for point in &trend.points {
            table.push(
                "usage",
                &[
                    ("meter", trend.meter.to_owned()),
                    ("period_start", time(point.start)),
                    ("value", point.value.to_string()),
                    ("events", point.events.to_string()),
                ],
            );
        }
    }
}
