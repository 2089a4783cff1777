//! Billing's read side: plan records, finalised invoices and credit notes per tenant; drafts
//! priced on query. The period close that finalises invoices once a month has ended is a
//! reactor (`keel_reactors::billing_close`) reading these.
//!
//! - [`project`]: the `billing` projection (tables `billing_plans`, `billing_invoices`,
//!   `billing_credit_notes`).
//! - [`query`]: plan history, the draft invoice, invoice history and one invoice.

pub mod project;
pub mod query;

pub use project::BillingProjection;
pub use query::{
    draft, invoice, invoices, plan_history, CreditNoteView, InvoiceDetail, InvoicePage,
    InvoiceSummary,
};
