//! Billing's read side: plan records, finalised invoices and credit notes per tenant; drafts
//! priced on query; the period close that finalises invoices once a month has ended.
//!
//! - [`project`]: the `billing` projection (tables `billing_plans`, `billing_invoices`,
//!   `billing_credit_notes`).
//! - [`query`]: plan history, the draft invoice, invoice history and one invoice.
//! - [`close`]: finalising ended periods, once per tenant and period.

pub mod close;
pub mod project;
pub mod query;

pub use close::{close_periods, CloseReport, Closer};
pub use project::BillingProjection;
pub use query::{
    draft, invoice, invoices, plan_history, CreditNoteView, InvoiceDetail, InvoicePage,
    InvoiceSummary,
};
