//! Tenants over time, from `report_tenant_history`: status and plan at any instant, tenants
//! created and decommissioned in a period, and monthly recurring revenue by plan.
//!
//! A tenant's state at an instant is what the changes before that instant made it (a change at
//! exactly the instant is not yet counted, matching the half-open ranges). Churn is
//! decommissioning: a suspended tenant may come back, a decommissioned one cannot. Recurring
//! revenue at an instant is the monthly base price (from the billing plan catalogue) of the plan
//! of every tenant `active` then; suspended and decommissioned tenants pay nothing, and usage
//! beyond a plan's included units (billed per period, not recurring) is not counted.

use crate::db::{fetch_all, micros, Param};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::billing::Catalogue;
use keel_domain::shared::Plan;
use keel_log::Database;
use serde::Serialize;
use std::collections::BTreeMap;

/// One tenant's status and plan changes, each in the order they took effect.
#[derive(Debug, Default)]
struct Timeline {
    status: Vec<Change>,
    plan: Vec<Change>,
}

#[derive(Debug)]
struct Change {
    at: i64,
    value: String,
    event: String,
}

/// The value in force just before `instant`.
fn value_before(changes: &[Change], instant: i64) -> Option<&str> {
    let count = changes.partition_point(|c| c.at < instant);
    count.checked_sub(1).map(|i| changes[i].value.as_str())
}

/// Every tenant's changes before some instant, loaded once and asked about many instants.
#[derive(Debug)]
pub struct TenantHistory {
    tenants: BTreeMap<String, Timeline>,
}

/// How many tenants had a status and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusPlanCount {
    /// `active`, `suspended` or `decommissioned`.
    pub status: String,
    /// The plan.
    pub plan: String,
    /// How many tenants.
    pub tenants: u64,
}

/// Tenants by status and plan at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantCounts {
    /// Every tenant created before the instant.
    pub total: u64,
    /// By status.
    pub by_status: BTreeMap<String, u64>,
    /// By plan.
    pub by_plan: BTreeMap<String, u64>,
    /// By both, ordered by status then plan.
    pub by_status_and_plan: Vec<StatusPlanCount>,
}

/// Recurring revenue of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRevenue {
    /// The plan.
    pub plan: String,
    /// Active tenants on it.
    pub tenants: u64,
    /// Their monthly base prices summed, in the catalogue currency's minor units.
    pub amount_minor: i64,
}

impl TenantHistory {
    /// Loads every change that took effect before `until`.
    pub async fn load(db: &Database, until: DateTime<Utc>) -> Result<Self, ProjectionError> {
        let rows: Vec<(String, String, i64, String, String)> = fetch_all(
            db,
            "SELECT tenant_id, kind, at, value, event FROM report_tenant_history \
             WHERE at < $1 ORDER BY tenant_id, at, position",
            &[Param::Int(micros(until))],
        )
        .await?;
        let mut tenants: BTreeMap<String, Timeline> = BTreeMap::new();
        for (tenant, kind, at, value, event) in rows {
            let timeline = tenants.entry(tenant).or_default();
            let change = Change { at, value, event };
            if kind == "status" {
                timeline.status.push(change);
            } else {
                timeline.plan.push(change);
            }
        }
        Ok(TenantHistory { tenants })
    }

    /// Each existing tenant's status and plan just before `instant`.
    fn states(&self, instant: DateTime<Utc>) -> impl Iterator<Item = (&str, &str)> {
        let instant = micros(instant);
        self.tenants.values().filter_map(move |t| {
            let status = value_before(&t.status, instant)?;
            Some((status, value_before(&t.plan, instant).unwrap_or("free")))
        })
    }

    /// Tenants by status and plan just before `instant`.
    pub fn counts(&self, instant: DateTime<Utc>) -> TenantCounts {
        let mut both: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (status, plan) in self.states(instant) {
            *both
                .entry((status.to_owned(), plan.to_owned()))
                .or_default() += 1;
        }
        let mut by_status = BTreeMap::new();
        let mut by_plan = BTreeMap::new();
        for ((status, plan), n) in &both {
            *by_status.entry(status.clone()).or_default() += n;
            *by_plan.entry(plan.clone()).or_default() += n;
        }
        TenantCounts {
            total: both.values().sum(),
            by_status,
            by_plan,
            by_status_and_plan: both
                .into_iter()
                .map(|((status, plan), tenants)| StatusPlanCount {
                    status,
                    plan,
                    tenants,
                })
                .collect(),
        }
    }

    /// How many tenants had a status change `event` (`created`, `decommissioned`) in
    /// `[from, to)`.
    pub fn count_events(&self, event: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
        let (from, to) = (micros(from), micros(to));
        self.tenants
            .values()
            .flat_map(|t| &t.status)
            .filter(|c| c.event == event && (from..to).contains(&c.at))
            .count() as u64
    }

    /// Recurring revenue by plan just before `instant`, ordered by plan.
    pub fn revenue(&self, instant: DateTime<Utc>, catalogue: &Catalogue) -> Vec<PlanRevenue> {
        let mut active: BTreeMap<&str, u64> = BTreeMap::new();
        for (status, plan) in self.states(instant) {
            if status == "active" {
                *active.entry(plan).or_default() += 1;
            }
        }
        active
            .into_iter()
            .map(|(plan, tenants)| {
                // The history holds the names of `Plan`s, which the catalogue prices all of.
                let price = Plan::parse(plan).map_or(0, |p| catalogue.price(p).base_price_minor);
                PlanRevenue {
                    plan: plan.to_owned(),
                    tenants,
                    amount_minor: i64::try_from(price.saturating_mul(tenants)).unwrap_or(i64::MAX),
                }
            })
            .collect()
    }
}
