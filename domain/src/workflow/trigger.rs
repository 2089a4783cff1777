//! What starts a workflow's runs: an event (optionally filtered on its fields), a schedule, a
//! person (manual), or an inbound webhook.
//!
//! Any workflow can also be started by hand: a manual start is always accepted, whatever the
//! trigger (see the run's start rules).

use super::cron::CronExpression;
use super::expression::Condition;
use super::values::{EventType, HookName};
use serde::{Deserialize, Serialize};

/// The roots an event filter may read: the run does not exist yet, so only the event
/// (`trigger.`) and the tenant (`tenant.`) are known.
pub const FILTER_ROOTS: &[&str] = &["trigger", "tenant"];

/// A validated trigger. As JSON it is tagged by `type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// A stored event of this type starts a run, if the filter (over `trigger.` = the event's
    /// payload and `tenant.`) holds.
    Event {
        /// The event type, e.g. `tenant.plan_changed`.
        event_type: EventType,
        /// A condition the event must meet, if any.
        filter: Option<Condition>,
    },
    /// A run starts at every time the cron expression matches (UTC).
    Schedule {
        /// When.
        cron: CronExpression,
    },
    /// Runs start only when someone starts one.
    #[default]
    Manual,
    /// A verified request to the tenant's inbound webhook of this name starts a run.
    Webhook {
        /// The webhook's name.
        hook: HookName,
    },
}

impl Trigger {
    /// The trigger in a few words, for messages (`event tenant.suspended`, `manual`).
    pub fn describe(&self) -> String {
        match self {
            Trigger::Event { event_type, .. } => format!("event `{event_type}`"),
            Trigger::Schedule { cron } => format!("schedule `{cron}`"),
            Trigger::Manual => "manual".into(),
            Trigger::Webhook { hook } => format!("webhook `{hook}`"),
        }
    }
}
