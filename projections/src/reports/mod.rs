//! Reports: the platform overview, a tenant's activity and a tenant's compliance report, over
//! a time range, as data (serialized to JSON by the API) and as one CSV table each.
//!
//! Reports are computed when asked, from read models: the audit trail (actions, actors, member
//! and key changes, chain verification), the usage read model (trends, quota status) and the
//! small [`project`] projection, which keeps only what no other read model does: tenants'
//! status and plan history, the policy versions put in and out of force, and the access
//! denials the API records. A report therefore reflects every read model up to its checkpoint;
//! the API can wait for a position first (`?after_position=`).
//!
//! - [`range`]: the time range and its periods; [`table`]: the CSV layout.
//! - [`overview`], [`activity`], [`compliance`]: one module per report.
//! - [`tenants`], [`policies`], [`denials`], [`trend`], [`audit_facts`]: what they are built
//!   from (recurring revenue prices plans with the billing plan catalogue).

pub mod activity;
pub mod audit_facts;
pub mod compliance;
pub mod denials;
pub mod overview;
pub mod policies;
pub mod project;
pub mod range;
pub mod table;
pub mod tenants;
pub mod trend;

pub use activity::{activity, Activity};
pub use compliance::{compliance, Compliance};
pub use overview::{overview, Overview};
pub use project::ReportsProjection;
pub use range::{Granularity, InvalidRange, ReportRange};

/// What every report is: data the API answers as JSON, and one CSV table.
pub trait Report: serde::Serialize {
    /// The report as one CSV table: a fixed header whose first column is `section`.
    fn to_csv(&self) -> Vec<u8>;
}
