//! Pricing a tenant's billing period: which plans were in effect on which days, the base price
//! prorated by the day, graduated overage per meter, line items and the total.
//!
//! Rules, all in integer minor units:
//! - The billing period is a calendar month in UTC ([`Period`]).
//! - **Which plan a day is billed at**: the plan in effect at the end of that UTC day. A plan
//!   change therefore bills the new plan for the whole day it takes effect on; the tenant's
//!   first day is the day it was created, its last the day it was decommissioned.
//! - **Which plan is in effect at a moment**: of the plan records (creation, then each
//!   `tenant.plan_changed` in log order) whose effective time has come, the one recorded last.
//!   A later decision thus supersedes an earlier one from its effective time on, also when it
//!   is backdated or when it moves a scheduled change.
//! - **Base price**: one line per run of consecutive days on one plan:
//!   `ceil(base_price_minor × days / days_in_month)`.
//! - **Usage**: the month's usage of each meter is priced at the plan in effect on the period's
//!   last billed day, with that plan's whole `included` quantity (not prorated): usage is
//!   priced at the plan the tenant closes the period on. One line for the included units and
//!   one per tier reached: `ceil(units_in_tier × unit_price_minor / per_units)`.
//! - **Rounding**: every line is rounded up to the next minor unit, once, and the total is the
//!   sum of the lines. Products are computed in 128 bits; an amount beyond `u64` saturates.

use super::catalogue::{Catalogue, MeterPrice};
use crate::shared::Plan;
use crate::value::InvalidValue;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A billing period: one calendar month in UTC, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// The period containing `at`.
    pub fn of(at: DateTime<Utc>) -> Period {
        Period {
            year: at.year(),
            month: at.month(),
        }
    }

    /// Parses `YYYY-MM` (years 2000-9999).
    pub fn parse(raw: &str) -> Result<Period, InvalidValue> {
        let invalid = || InvalidValue::new(format!("`{raw}` is not a month: use `YYYY-MM`"));
        let (year, month) = raw.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u32 = month.parse().map_err(|_| invalid())?;
        if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(invalid());
        }
        Ok(Period { year, month })
    }

    /// The first moment of the period.
    pub fn start(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
            .expect("the first of a month exists in UTC")
    }

    /// The first moment after the period (the start of the next one).
    pub fn end(&self) -> DateTime<Utc> {
        self.next().start()
    }

    /// The following month.
    pub fn next(&self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn previous(&self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The days in the month (28-31).
    pub fn days(&self) -> u32 {
        (self.end() - self.start()).num_days() as u32
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl From<Period> for String {
    fn from(period: Period) -> String {
        period.to_string()
    }
}

impl TryFrom<String> for Period {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Period, InvalidValue> {
        Period::parse(&raw)
    }
}

/// A tenant's plan records, as the tenant's events state them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanHistory {
    /// Creation first, then every plan change, in log order: when it takes effect, and the plan.
    pub records: Vec<(DateTime<Utc>, Plan)>,
    /// When the tenant was decommissioned, if it was.
    pub closed_at: Option<DateTime<Utc>>,
}

impl PlanHistory {
    /// The plan in effect at `at` (see the module rules); `None` before the tenant existed.
    pub fn plan_at(&self, at: DateTime<Utc>) -> Option<Plan> {
        let opened = self.records.first()?.0;
        if at < opened {
            return None;
        }
        self.records
            .iter()
            .rev()
            .find(|(effective, _)| *effective <= at)
            .map(|(_, plan)| *plan)
    }

    /// The runs of consecutive days of `period` billed at one plan, in order.
    pub fn spans(&self, period: Period) -> Vec<PlanSpan> {
        let Some(&(opened, _)) = self.records.first() else {
            return Vec::new();
        };
        let mut spans: Vec<PlanSpan> = Vec::new();
        for day in 0..period.days() {
            let from = period.start() + Duration::days(i64::from(day));
            let to = from + Duration::days(1);
            let before_opening = to <= opened;
            let after_closing = self.closed_at.is_some_and(|closed| closed < from);
            if before_opening || after_closing {
                continue;
            }
            // The end of the day: the last microsecond before midnight.
            let Some(plan) = self.plan_at(to - Duration::microseconds(1)) else {
                continue;
            };
            match spans.last_mut() {
                Some(last) if last.plan == plan && last.to == from => {
                    last.to = to;
                    last.days += 1;
                }
                _ => spans.push(PlanSpan {
                    plan,
                    from,
                    to,
                    days: 1,
                }),
            }
        }
        spans
    }
}

/// Consecutive days billed at one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSpan {
    /// The plan.
    pub plan: Plan,
    /// The first day's start.
    pub from: DateTime<Utc>,
    /// The start of the day after the last.
    pub to: DateTime<Utc>,
    /// How many days.
    pub days: u32,
}

/// What a line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LineKind {
    /// The plan's base price for some days.
    Base,
    /// A meter's included units (amount 0).
    Included,
    /// A meter's units in one overage tier.
    Overage,
}

/// One line of an invoice: `amount_minor = ceil(quantity × unit_price_minor / per_units)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    /// Base, included or overage.
    pub kind: LineKind,
    /// For people: `standard plan, 2026-11-01 to 2026-11-15` or `api_calls 100001-1000000`.
    pub description: String,
    /// The plan the line is priced at.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub plan: Plan,
    /// The meter (usage lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter: Option<String>,
    /// Days (base lines) or units (usage lines).
    pub quantity: u64,
    /// The monthly base price, or the tier's price per `per_units` units.
    pub unit_price_minor: u64,
    /// The days of the month (base lines) or the meter's `per_units`.
    pub per_units: u64,
    /// What the line costs, in minor units.
    pub amount_minor: u64,
}

/// A priced period: the lines and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedPeriod {
    /// The period.
    pub period: Period,
    /// The catalogue's currency.
    pub currency: String,
    /// Base lines first (in day order), then usage lines by meter and tier.
    pub lines: Vec<LineItem>,
    /// The sum of the lines' amounts.
    pub total_minor: u64,
}

/// `ceil(quantity × price / per)`, saturating at `u64::MAX`. `per` is at least 1.
pub fn line_amount(quantity: u64, price: u64, per: u64) -> u64 {
    let per = u128::from(per.max(1));
    let product = u128::from(quantity) * u128::from(price);
    u64::try_from(product.div_ceil(per)).unwrap_or(u64::MAX)
}

/// Prices `period` for a tenant with this plan history and the month's usage per meter.
pub fn price_period(
    catalogue: &Catalogue,
    period: Period,
    history: &PlanHistory,
    usage: &BTreeMap<String, u64>,
) -> PricedPeriod {
    let spans = history.spans(period);
    let mut lines = Vec::new();
    for span in &spans {
        let price = catalogue.price(span.plan);
        let last_day = span.to - Duration::days(1);
        lines.push(LineItem {
            kind: LineKind::Base,
            description: format!(
                "{} plan, {} to {}",
                span.plan,
                span.from.format("%Y-%m-%d"),
                last_day.format("%Y-%m-%d")
            ),
            plan: span.plan,
            meter: None,
            quantity: u64::from(span.days),
            unit_price_minor: price.base_price_minor,
            per_units: u64::from(period.days()),
            amount_minor: line_amount(
                u64::from(span.days),
                price.base_price_minor,
                u64::from(period.days()),
            ),
        });
    }
    if let Some(closing) = spans.last().map(|s| s.plan) {
        for (meter, priced) in &catalogue.price(closing).meters {
            let used = usage.get(meter).copied().unwrap_or(0);
            lines.extend(usage_lines(closing, meter, priced, used));
        }
    }
    let total_minor = lines
        .iter()
        .fold(0u64, |sum, line| sum.saturating_add(line.amount_minor));
    PricedPeriod {
        period,
        currency: catalogue.currency().to_owned(),
        lines,
        total_minor,
    }
}

/// The lines of one meter's usage: included units, then each tier reached.
pub fn usage_lines(plan: Plan, meter: &str, priced: &MeterPrice, used: u64) -> Vec<LineItem> {
    let mut lines = Vec::new();
    if used == 0 {
        return lines;
    }
    let line = |kind, description: String, quantity, unit_price_minor| LineItem {
        kind,
        description,
        plan,
        meter: Some(meter.to_owned()),
        quantity,
        unit_price_minor,
        per_units: priced.per_units,
        amount_minor: line_amount(quantity, unit_price_minor, priced.per_units),
    };
    let included = used.min(priced.included);
    if included > 0 {
        lines.push(line(
            LineKind::Included,
            format!("{meter}, included"),
            included,
            0,
        ));
    }
    // Units already priced: the included ones, then each tier's.
    let mut priced_up_to = priced.included;
    for tier in &priced.tiers {
        if priced_up_to >= used {
            break;
        }
        let tier_end = tier.up_to.unwrap_or(u64::MAX).min(used);
        if tier_end <= priced_up_to {
            continue; // the tier lies wholly within the included units
        }
        lines.push(line(
            LineKind::Overage,
            format!("{meter} {}-{tier_end}", priced_up_to + 1),
            tier_end - priced_up_to,
            tier.unit_price_minor,
        ));
        priced_up_to = tier_end;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::catalogue::Tier;

    fn day(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
    }

    fn november() -> Period {
        Period::parse("2026-11").unwrap()
    }

    fn history(records: &[(DateTime<Utc>, Plan)]) -> PlanHistory {
        PlanHistory {
            records: records.to_vec(),
            closed_at: None,
        }
    }

    fn meter(included: u64, per_units: u64, tiers: &[(Option<u64>, u64)]) -> MeterPrice {
        MeterPrice {
            included,
            quota: None,
            per_units,
            tiers: tiers
                .iter()
                .map(|&(up_to, unit_price_minor)| Tier {
                    up_to,
                    unit_price_minor,
                })
                .collect(),
        }
    }

    #[test]
    fn periods_are_calendar_months_written_yyyy_mm() {
        let period = Period::parse("2028-02").unwrap();
        assert_eq!(period.days(), 29);
        assert_eq!(
            period.start(),
            Utc.with_ymd_and_hms(2028, 2, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            period.end(),
            Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            Period::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(Period::of(day(11, 30, 23)), november());
        for bad in [
            "2026-13", "2026-1", "26-11", "2026/11", "", "abcd-ef", "1999-12",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_whole_month_on_one_plan_is_one_base_line_at_full_price() {
        let catalogue = Catalogue::builtin();
        let priced = price_period(
            &catalogue,
            november(),
            &history(&[(day(10, 3, 9), Plan::Standard)]),
            &BTreeMap::new(),
        );
        assert_eq!(priced.lines.len(), 1);
        assert_eq!(priced.lines[0].quantity, 30);
        assert_eq!(priced.lines[0].amount_minor, 4_900);
        assert_eq!(priced.total_minor, 4_900);
        assert_eq!(priced.currency, "USD");
    }

    #[test]
    fn a_mid_month_upgrade_prorates_both_plans_by_the_day() {
        let catalogue = Catalogue::builtin();
        // Standard from before November; premium from 2026-11-16 10:00, so from the 16th.
        let plans = history(&[
            (day(10, 3, 9), Plan::Standard),
            (day(11, 16, 10), Plan::Premium),
        ]);
        let priced = price_period(&catalogue, november(), &plans, &BTreeMap::new());
        let base: Vec<(Plan, u64, u64)> = priced
            .lines
            .iter()
            .map(|l| (l.plan, l.quantity, l.amount_minor))
            .collect();
        // 4900 × 15 / 30 = 2450; 19900 × 15 / 30 = 9950.
        assert_eq!(
            base,
            vec![(Plan::Standard, 15, 2_450), (Plan::Premium, 15, 9_950)]
        );
        assert_eq!(priced.total_minor, 12_400);
        assert_eq!(
            priced.lines[0].description,
            "standard plan, 2026-11-01 to 2026-11-15"
        );
    }

    #[test]
    fn proration_rounds_each_line_up_to_the_next_minor_unit() {
        // 4900 × 1 / 30 = 163.33: 164.
        assert_eq!(line_amount(1, 4_900, 30), 164);
        assert_eq!(line_amount(30, 4_900, 30), 4_900);
        assert_eq!(line_amount(0, 4_900, 30), 0);
        assert_eq!(line_amount(u64::MAX, u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn a_tenant_created_mid_month_is_billed_from_its_first_day() {
        let catalogue = Catalogue::builtin();
        let priced = price_period(
            &catalogue,
            november(),
            &history(&[(day(11, 21, 23), Plan::Standard)]),
            &BTreeMap::new(),
        );
        // 21st to 30th: 10 days, 4900 × 10 / 30 = 1633.33: 1634.
        assert_eq!(priced.lines[0].quantity, 10);
        assert_eq!(priced.total_minor, 1_634);
    }

    #[test]
    fn a_decommissioned_tenant_is_billed_up_to_its_last_day() {
        let mut plans = history(&[(day(10, 1, 0), Plan::Standard)]);
        plans.closed_at = Some(day(11, 5, 12));
        let spans = plans.spans(november());
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].days, 5);
        plans.closed_at = Some(day(10, 20, 0));
        assert!(plans.spans(november()).is_empty());
    }

    #[test]
    fn a_later_decision_supersedes_an_earlier_one_from_its_effective_time() {
        // Created on standard; premium scheduled for the 20th; then a backdated change to
        // enterprise effective on the 10th, recorded after: enterprise from the 10th on.
        let plans = history(&[
            (day(11, 1, 0), Plan::Standard),
            (day(11, 20, 0), Plan::Premium),
            (day(11, 10, 0), Plan::Enterprise),
        ]);
        let spans: Vec<(Plan, u32)> = plans
            .spans(november())
            .iter()
            .map(|s| (s.plan, s.days))
            .collect();
        assert_eq!(spans, vec![(Plan::Standard, 9), (Plan::Enterprise, 21)]);
        assert_eq!(plans.plan_at(day(10, 31, 0)), None);
    }

    #[test]
    fn two_changes_on_one_day_bill_the_day_at_the_last() {
        let plans = history(&[
            (day(11, 1, 0), Plan::Standard),
            (day(11, 10, 8), Plan::Premium),
            (day(11, 10, 9), Plan::Standard),
        ]);
        let spans = plans.spans(november());
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].days, 30);
    }

    #[test]
    fn graduated_tiers_price_each_band_at_its_own_rate() {
        // 100 included; 101-1000 at 5 per 10; beyond at 2 per 10.
        let priced = meter(100, 10, &[(Some(1_000), 5), (None, 2)]);
        let lines = usage_lines(Plan::Standard, "api_calls", &priced, 1_505);
        let summary: Vec<(LineKind, u64, u64)> = lines
            .iter()
            .map(|l| (l.kind, l.quantity, l.amount_minor))
            .collect();
        // 900 × 5 / 10 = 450; 505 × 2 / 10 = 101.
        assert_eq!(
            summary,
            vec![
                (LineKind::Included, 100, 0),
                (LineKind::Overage, 900, 450),
                (LineKind::Overage, 505, 101),
            ]
        );
        assert_eq!(lines[1].description, "api_calls 101-1000");
    }

    #[test]
    fn usage_within_the_included_units_costs_nothing() {
        let priced = meter(100, 1, &[(None, 7)]);
        let lines = usage_lines(Plan::Standard, "seats", &priced, 60);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].amount_minor, 0);
        assert!(usage_lines(Plan::Standard, "seats", &priced, 0).is_empty());
    }

    #[test]
    fn a_tier_within_the_included_units_is_skipped() {
        let priced = meter(500, 1, &[(Some(200), 9), (Some(800), 3), (None, 1)]);
        let lines = usage_lines(Plan::Standard, "seats", &priced, 1_000);
        let summary: Vec<(u64, u64)> = lines.iter().map(|l| (l.quantity, l.amount_minor)).collect();
        assert_eq!(summary, vec![(500, 0), (300, 900), (200, 200)]);
    }

    #[test]
    fn usage_is_priced_at_the_plan_the_period_closes_on() {
        let catalogue = Catalogue::builtin();
        let plans = history(&[
            (day(10, 1, 0), Plan::Standard),
            (day(11, 16, 0), Plan::Free),
        ]);
        let usage = BTreeMap::from([("api_calls".to_owned(), 50_000)]);
        let priced = price_period(&catalogue, november(), &plans, &usage);
        // Free includes 10,000 api_calls and has no tiers: the rest is not charged.
        let usage_lines: Vec<&LineItem> = priced
            .lines
            .iter()
            .filter(|l| l.kind != LineKind::Base)
            .collect();
        assert_eq!(usage_lines.len(), 1);
        assert_eq!(
            (usage_lines[0].plan, usage_lines[0].quantity),
            (Plan::Free, 10_000)
        );
        // 4900 × 15 / 30 = 2450; free costs 0.
        assert_eq!(priced.total_minor, 2_450);
    }

    #[test]
    fn standard_overage_on_the_builtin_catalogue() {
        let catalogue = Catalogue::builtin();
        let plans = history(&[(day(10, 1, 0), Plan::Standard)]);
        let usage = BTreeMap::from([
            ("api_calls".to_owned(), 1_250_000),
            ("seats".to_owned(), 32),
        ]);
        let priced = price_period(&catalogue, november(), &plans, &usage);
        // Base 4900; api_calls: 900,000 × 50 / 1000 = 45,000 and 250,000 × 30 / 1000 = 7,500;
        // seats: 2 × 800 = 1,600.
        assert_eq!(priced.total_minor, 4_900 + 45_000 + 7_500 + 1_600);
    }
}
