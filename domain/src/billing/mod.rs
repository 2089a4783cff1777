//! Billing: the plan catalogue, pricing a period, and the invoice aggregate.
//!
//! - [`catalogue`]: [`Catalogue`], every plan's base price, included units, quotas and
//!   graduated overage tiers, parsed and validated from TOML (a built-in default is embedded).
//! - [`pricing`]: [`Period`] (a calendar month in UTC), [`PlanHistory`] (which plan was in
//!   effect when), and [`price_period`]: base price prorated by the day, overage by tier, line
//!   items and the total. Integer minor units throughout, rounding stated in one place.
//! - [`invoice`]: the [`Invoice`] aggregate: finalised once per tenant and period
//!   (`billing.invoice_finalized`, frozen), credited by credit notes
//!   (`billing.credit_note_issued`) that never exceed its total.
#![deny(missing_docs)]

pub mod catalogue;
pub mod invoice;
pub mod pricing;

#[cfg(test)]
mod tests;

pub use catalogue::{Catalogue, CatalogueError, MeterPrice, PlanPrice, Tier};
pub use invoice::{
    invoice_aggregate, invoice_id, CreditNoteIssued, FinalizeInvoice, Invoice, InvoiceCommand,
    InvoiceError, InvoiceEvent, InvoiceFinalized, IssueCreditNote,
};
pub use pricing::{
    line_amount, price_period, LineItem, LineKind, Period, PlanHistory, PlanSpan, PricedPeriod,
};
