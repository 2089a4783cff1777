//! Usage metering: per tenant, per meter, per hour, day and billing month; quota status;
//! threshold events at 80% and 100% of a quota, once per period.
//!
//! - [`meters`]: the meter catalogue (the plans' quotas are in the plan catalogue).
//! - [`project`]: the projection. Samples come from `usage.recorded` events (ingested, or the
//!   API's flushed `api_calls` counts) and from Keel's own events (members make `seats`,
//!   started runs `workflow_runs`, delivery outcomes `webhook_deliveries`).
//! - [`alerts`]: which thresholds a batch crosses, sample by sample, and the alerts whose
//!   events are not in the log yet (what the quota alerts reactor appends).
//! - [`query`]: usage over a range at a granularity, and quota status.

pub mod alerts;
pub mod meters;
pub mod project;
pub mod query;

pub use project::UsageProjection;
pub use query::{month_usage, quota_status, usage, QuotaStatus, UsagePoint};
