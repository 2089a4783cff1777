//! Values several aggregates share, in one place so that each means one thing everywhere.
//!
//! - [`plans_and_roles`]: the closed sets of plans and member roles.
//! - [`text_values`]: email addresses, meter names and reasons.

pub mod plans_and_roles;
pub mod text_values;

pub use plans_and_roles::{Plan, Role};
pub use text_values::{Email, MeterName, Reason};
