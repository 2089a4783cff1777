//! The plan catalogue: what each plan costs and includes, read from a TOML file (or the
//! built-in default), validated once with errors that name the plan and the field.
//!
//! ```toml
//! [plans.standard]
//! currency = "USD"            # ISO 4217 code, the same for every plan
//! base_price_minor = 4_900    # per calendar month, in minor units (cents)
//! meters.api_calls = { included = 100_000, quota = 100_000, per_units = 1_000, tiers = [
//!   { up_to = 1_000_000, unit_price_minor = 50 },  # units 100,001 to 1,000,000: 50 per 1,000
//!   { unit_price_minor = 30 },                     # beyond: 30 per 1,000
//! ] }
//! ```
//!
//! - Every plan of [`Plan`] must be priced, and no other name may appear.
//! - `included`: units of the month that cost nothing (default 0).
//! - `quota`: the limit the usage read model raises 80%/100% threshold events at; absent, the
//!   meter has no quota on that plan. A tenant's quota override replaces it. The quota is kept
//!   apart from `included` because a plan may bill overage without limiting it, or limit a
//!   meter it never charges for.
//! - `tiers`: graduated overage prices. A tier's `up_to` counts the month's total usage (not
//!   the overage), is strictly increasing, and only the last tier omits it (it is unbounded),
//!   so every unit above `included` has a price. No tiers: usage above `included` is free.
//! - `per_units`: the tiers' prices are per this many units (default 1), e.g. per 1,000 calls.
//! - A meter the plan does not list is neither limited nor charged on that plan.
//!
//! Amounts are integers of minor units everywhere; how they are rounded is in
//! [`pricing`](super::pricing).

use crate::shared::{MeterName, Plan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The built-in catalogue's text, embedded in the binary.
pub const BUILTIN_TOML: &str = include_str!("default_catalogue.toml");

/// Why a catalogue is refused: where in the file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CatalogueError {
    /// The failing key, e.g. `plans.standard.meters.api_calls.tiers[1].up_to` (or `catalogue`
    /// for a file that is not TOML of the expected shape).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// One graduated price band of a meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The last unit of the month's total usage this band prices; `None`: unbounded (last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<u64>,
    /// Price of every `per_units` units in this band, in minor units.
    pub unit_price_minor: u64,
}

/// What a plan includes and charges for one meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeterPrice {
    /// Units of the month included in the base price.
    #[serde(default)]
    pub included: u64,
    /// The usage limit threshold events are raised at; `None`: no quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
    /// The tiers' prices are per this many units.
    #[serde(default = "one")]
    pub per_units: u64,
    /// Graduated overage bands, in order.
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

fn one() -> u64 {
    1
}

/// The price of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPrice {
    /// ISO 4217 currency code (three capital letters).
    pub currency: String,
    /// The price of a whole calendar month, in minor units.
    pub base_price_minor: u64,
    /// Per meter: included units, quota and overage tiers.
    #[serde(default)]
    pub meters: BTreeMap<String, MeterPrice>,
}

/// The catalogue as the file spells it (plan names still unchecked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    plans: BTreeMap<String, PlanPrice>,
}

/// Every plan's price: a validated catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    plans: BTreeMap<Plan, PlanPrice>,
}

impl Catalogue {
    /// The catalogue embedded in the binary (see `default_catalogue.toml`): today's quotas and
    /// example prices.
    pub fn builtin() -> Catalogue {
        // The embedded text is checked by a test, so this cannot fail in a released build.
        Catalogue::parse(BUILTIN_TOML).expect("the built-in catalogue is valid")
    }

    /// Parses and validates a catalogue file.
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| CatalogueError {
            path: "catalogue".into(),
            reason: e.to_string().trim().replace('\n', " "),
        })?;
        let mut plans = BTreeMap::new();
        for (name, price) in file.plans {
            let path = format!("plans.{name}");
            let plan = Plan::parse(&name).map_err(|e| error(&path, e.reason()))?;
            validate_plan(&path, &price)?;
            plans.insert(plan, price);
        }
        if let Some(missing) = Plan::ALL.iter().find(|p| !plans.contains_key(p)) {
            return Err(error(
                &format!("plans.{missing}"),
                "is missing: every plan needs a price",
            ));
        }
        let mut currencies = plans.iter().map(|(plan, price)| (plan, &price.currency));
        if let Some((_, first)) = currencies.next() {
            if let Some((plan, other)) = currencies.find(|(_, c)| c != &first) {
                return Err(error(
                    &format!("plans.{plan}.currency"),
                    &format!("is `{other}`, but other plans are in `{first}`: use one currency"),
                ));
            }
        }
        Ok(Catalogue { plans })
    }

    /// Checks that every meter named is one of `known` (the meters Keel measures), so a typo
    /// is refused at start instead of silently never being charged.
    pub fn check_meters(&self, known: &[&str]) -> Result<(), CatalogueError> {
        for (plan, price) in &self.plans {
            if let Some(meter) = price.meters.keys().find(|m| !known.contains(&m.as_str())) {
                return Err(error(
                    &format!("plans.{plan}.meters.{meter}"),
                    &format!(
                        "is not a meter Keel measures: use one of {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The price of `plan` (every plan has one: [`Catalogue::parse`] checks).
    pub fn price(&self, plan: Plan) -> &PlanPrice {
        &self.plans[&plan]
    }

    /// Every plan and its price, in the order of [`Plan::ALL`].
    pub fn plans(&self) -> impl Iterator<Item = (Plan, &PlanPrice)> {
        self.plans.iter().map(|(plan, price)| (*plan, price))
    }

    /// The catalogue's currency.
    pub fn currency(&self) -> &str {
        &self.price(Plan::Free).currency
    }

    /// `plan`'s quota for `meter`; `None`: no quota.
    pub fn quota(&self, plan: Plan, meter: &str) -> Option<u64> {
        self.price(plan).meters.get(meter).and_then(|m| m.quota)
    }
}

fn error(path: &str, reason: &str) -> CatalogueError {
    CatalogueError {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn validate_plan(path: &str, price: &PlanPrice) -> Result<(), CatalogueError> {
    let currency = &price.currency;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(error(
            &format!("{path}.currency"),
            "must be an ISO 4217 code of three capital letters, e.g. `USD`",
        ));
    }
    for (meter, priced) in &price.meters {
        let path = format!("{path}.meters.{meter}");
        MeterName::parse(meter).map_err(|e| error(&path, e.reason()))?;
        validate_meter(&path, priced)?;
    }
    Ok(())
}

fn validate_meter(path: &str, meter: &MeterPrice) -> Result<(), CatalogueError> {
    if meter.per_units == 0 {
        return Err(error(&format!("{path}.per_units"), "must be at least 1"));
    }
    let mut previous: Option<u64> = None;
    for (i, tier) in meter.tiers.iter().enumerate() {
        let tier_path = format!("{path}.tiers[{i}].up_to");
        let last = i + 1 == meter.tiers.len();
        match (tier.up_to, last) {
            (None, false) => {
                return Err(error(
                    &tier_path,
                    "is required on every tier but the last, which is unbounded",
                ))
            }
            (Some(_), true) => {
                return Err(error(
                    &tier_path,
                    "must be absent on the last tier, so every unit has a price",
                ))
            }
            (Some(up_to), false) if previous.is_some_and(|p| up_to <= p) || up_to == 0 => {
                return Err(error(
                    &tier_path,
                    "must be greater than 0 and than the previous tier's",
                ))
            }
            _ => previous = tier.up_to,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_standard(meter: &str) -> String {
        let mut text = String::new();
        for plan in Plan::ALL {
            text.push_str(&format!(
                "[plans.{plan}]\ncurrency = \"EUR\"\nbase_price_minor = 100\n"
            ));
            if *plan == Plan::Standard {
                text.push_str(meter);
                text.push('\n');
            }
        }
        text
    }

    fn refusal(text: &str) -> CatalogueError {
        Catalogue::parse(text).expect_err("the catalogue is refused")
    }

    #[test]
    fn the_builtin_catalogue_reproduces_the_former_quotas() {
        let catalogue = Catalogue::builtin();
        let free = [
            ("api_calls", 10_000),
            ("seats", 3),
            ("storage_bytes", 1_000_000_000),
            ("workflow_runs", 100),
            ("webhook_deliveries", 1_000),
            ("active_users", 100),
            ("compute_seconds", 3_600),
        ];
        let factors = [
            (Plan::Free, 1),
            (Plan::Standard, 10),
            (Plan::Premium, 50),
            (Plan::Enterprise, 200),
            (Plan::WhiteLabel, 200),
        ];
        for (plan, factor) in factors {
            for (meter, quota) in free {
                assert_eq!(
                    catalogue.quota(plan, meter),
                    Some(quota * factor),
                    "{plan} {meter}"
                );
            }
            assert_eq!(catalogue.quota(plan, "peak_connections"), None);
        }
        for (meter, _) in free {
            assert_eq!(catalogue.quota(Plan::EnterprisePlus, meter), None);
        }
        assert_eq!(catalogue.currency(), "USD");
        assert_eq!(catalogue.price(Plan::Standard).base_price_minor, 4_900);
    }

    #[test]
    fn a_meter_reads_its_included_units_quota_and_tiers() {
        let text = with_standard(
            "meters.api_calls = { included = 10, quota = 20, per_units = 5, tiers = [{ up_to = 50, unit_price_minor = 3 }, { unit_price_minor = 1 }] }",
        );
        let catalogue = Catalogue::parse(&text).unwrap();
        let meter = &catalogue.price(Plan::Standard).meters["api_calls"];
        assert_eq!(
            meter,
            &MeterPrice {
                included: 10,
                quota: Some(20),
                per_units: 5,
                tiers: vec![
                    Tier {
                        up_to: Some(50),
                        unit_price_minor: 3
                    },
                    Tier {
                        up_to: None,
                        unit_price_minor: 1
                    },
                ],
            }
        );
    }

    #[test]
    fn a_missing_plan_is_named() {
        let text = "[plans.free]\ncurrency = \"EUR\"\nbase_price_minor = 0\n";
        assert_eq!(refusal(text).path, "plans.standard");
    }

    #[test]
    fn an_unknown_plan_is_named() {
        let text = format!(
            "{}[plans.gold]\ncurrency = \"EUR\"\nbase_price_minor = 1\n",
            with_standard("")
        );
        let error = refusal(&text);
        assert_eq!(error.path, "plans.gold");
        assert!(error.reason.contains("not a known plan"), "{error}");
    }

    #[test]
    fn a_float_amount_is_refused() {
        let text = with_standard("").replace("base_price_minor = 100", "base_price_minor = 49.99");
        let error = refusal(&text);
        assert_eq!(error.path, "catalogue");
        assert!(error.reason.contains("base_price_minor"), "{error}");
    }

    #[test]
    fn a_bad_or_mixed_currency_is_named() {
        let lower = with_standard("").replacen("\"EUR\"", "\"eur\"", 1);
        assert_eq!(refusal(&lower).path, "plans.free.currency");
        let mixed = with_standard("").replacen("\"EUR\"", "\"USD\"", 1);
        assert!(refusal(&mixed).path.ends_with(".currency"));
    }

    #[test]
    fn tiers_must_rise_and_end_unbounded() {
        let unbounded_first = with_standard(
            "meters.api_calls = { tiers = [{ unit_price_minor = 3 }, { unit_price_minor = 1 }] }",
        );
        assert_eq!(
            refusal(&unbounded_first).path,
            "plans.standard.meters.api_calls.tiers[0].up_to"
        );
        let bounded_last =
            with_standard("meters.api_calls = { tiers = [{ up_to = 5, unit_price_minor = 3 }] }");
        assert_eq!(
            refusal(&bounded_last).path,
            "plans.standard.meters.api_calls.tiers[0].up_to"
        );
        let falling = with_standard(
            "meters.api_calls = { tiers = [{ up_to = 5, unit_price_minor = 3 }, { up_to = 5, unit_price_minor = 2 }, { unit_price_minor = 1 }] }",
        );
        assert_eq!(
            refusal(&falling).path,
            "plans.standard.meters.api_calls.tiers[1].up_to"
        );
        let per_zero = with_standard("meters.api_calls = { per_units = 0 }");
        assert_eq!(
            refusal(&per_zero).path,
            "plans.standard.meters.api_calls.per_units"
        );
    }

    #[test]
    fn unknown_fields_and_meters_are_refused() {
        let typo = with_standard("meters.api_calls = { include = 5 }");
        assert!(refusal(&typo).reason.contains("include"));
        let text = with_standard("meters.api_callz = { included = 5 }");
        let catalogue = Catalogue::parse(&text).unwrap();
        let error = catalogue.check_meters(&["api_calls"]).unwrap_err();
        assert_eq!(error.path, "plans.standard.meters.api_callz");
        let bad_name = with_standard("meters.Api = { included = 5 }");
        assert_eq!(refusal(&bad_name).path, "plans.standard.meters.Api");
    }
}
