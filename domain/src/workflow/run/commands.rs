//! The commands a workflow run decides on: one struct per intention, gathered in
//! [`RunCommand`].
//!
//! These are the engine's controls: it starts a run when a trigger fires, then reports each
//! step's start and end; people's approval decisions arrive the same way. Every command about a
//! step names the step (and, where attempts matter, the attempt), so a command that arrives late
//! or twice is refused instead of applied to the wrong step. Unknown JSON fields are refused.

use crate::ids::TenantId;
use crate::shared::Role;
use crate::workflow::definition::PinnedDefinition;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Starts a run of a pinned definition version.
///
/// Built by the server, not by a client: the definition is copied from the workflow's state
/// with [`WorkflowDefinition::pinned`](crate::workflow::WorkflowDefinition::pinned). Event
/// filters are evaluated by whoever reacts to the event, before starting the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The tenant the run belongs to; must be the definition's.
    pub tenant_id: TenantId,
    /// The run's id (also its aggregate id); must not be nil.
    pub run_id: Uuid,
    /// The definition version the run is pinned to; must have been enabled.
    pub definition: PinnedDefinition,
    /// What started the run; must match the definition's trigger, except a manual start.
    pub trigger: RunTriggerInput,
    /// The run's input: a JSON object (or null for none), at most 64 KiB.
    #[serde(default)]
    pub input: serde_json::Value,
}

/// What started a run, as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunTriggerInput {
    /// A stored event.
    Event {
        /// The event's id.
        event_id: Uuid,
        /// Its type; must be the one the definition listens to.
        event_type: String,
        /// Its payload as JSON (what `trigger.` fields read), at most 64 KiB.
        #[serde(default)]
        payload: serde_json::Value,
    },
    /// The definition's schedule.
    Schedule {
        /// The time the schedule fired for.
        scheduled_for: DateTime<Utc>,
    },
    /// A person or a script (the actor is in the event metadata).
    Manual {},
    /// A verified request to an inbound webhook.
    Webhook {
        /// The webhook's name; must be the one the definition listens to.
        hook: String,
        /// The id the receiver gave the request.
        delivery_id: Uuid,
        /// The request's body as JSON (what `trigger.` fields read), at most 64 KiB.
        #[serde(default)]
        body: serde_json::Value,
    },
}

/// Starts an attempt of the run's current step. An approval step asks for approval as it
/// starts; a wait step starts waiting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartStep {
    /// The step; must be the run's current step.
    pub step_id: String,
    /// The attempt: 1 for a step just reached, the failed attempt plus one for a retry.
    pub attempt: u32,
}

/// Reports that a started attempt succeeded. Not for approval steps, which complete through
/// decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteStep {
    /// The step.
    pub step_id: String,
    /// The attempt that succeeded.
    pub attempt: u32,
    /// A condition step's result; required for condition steps, refused for others.
    #[serde(default)]
    pub result: Option<bool>,
    /// What an action produced (at most 64 KiB). For a `set_field` action it is the value
    /// written; it may be omitted when the action has a fixed `value`. Refused for condition and
    /// wait steps.
    #[serde(default)]
    pub output: Option<serde_json::Value>,
}

/// Reports that a started attempt failed. An action with attempts left is retried after its
/// backoff; any other failure fails the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailStep {
    /// The step.
    pub step_id: String,
    /// The attempt that failed.
    pub attempt: u32,
    /// What went wrong, 1-5000 characters.
    pub error: String,
}

/// Who decides an approval: the caller as the server authenticated it, never a field a client
/// chooses. The server builds it from the caller's key: a key bound to a member decides as that
/// member with the member's current role in the tenant; a platform admin key decides as itself.
/// Service keys (bound to no member) have no decider: they never decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decider {
    /// A member, through a key bound to them.
    Member {
        /// The key used.
        key_id: Uuid,
        /// The member the key is bound to.
        member_id: Uuid,
        /// Their current role in the tenant.
        role: Role,
    },
    /// A platform admin key; decides only where the step allows platform admins.
    PlatformAdmin {
        /// The key.
        key_id: Uuid,
    },
}

/// An approver approves an approval step.
///
/// The run checks that the decider (the member or their role, or a platform admin where the
/// step allows them) is among the step's approvers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveStep {
    /// The approval step.
    pub step_id: String,
    /// Who approves.
    pub decider: Decider,
    /// A note, 1-5000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

/// An approver rejects an approval step; one rejection rejects the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectStep {
    /// The approval step.
    pub step_id: String,
    /// Who rejects.
    pub decider: Decider,
    /// Why, 1-5000 characters.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Applies an approval step's timeout rule, once its deadline has passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOutApproval {
    /// The approval step.
    pub step_id: String,
}

/// Fails the run for a reason outside any one step (e.g. a condition that cannot be evaluated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailRun {
    /// Why, 1-5000 characters.
    pub reason: String,
}

/// Stops the run for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRun {
    /// Why, 1-5000 characters.
    pub reason: String,
}

/// Declares [`RunCommand`] with one variant per command struct, a `From` impl for each, and
/// the variant's wire name.
macro_rules! run_commands {
    ($($(#[$vmeta:meta])* $variant:ident($command:ident) = $name:literal),+ $(,)?) => {
        /// Every command of the workflow run aggregate. As JSON, the variant is named by a
        /// `command` field next to the command's own fields: `{"command": "cancel", ...}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "command", rename_all = "snake_case")]
        pub enum RunCommand {
            $($(#[$vmeta])* $variant($command),)+
        }

        impl RunCommand {
            /// The command's wire name (e.g. `start_step`), for logs and metrics.
            pub fn name(&self) -> &'static str {
                match self { $(RunCommand::$variant(_) => $name,)+ }
            }
        }

        $(
            impl From<$command> for RunCommand {
                fn from(command: $command) -> Self {
                    RunCommand::$variant(command)
                }
            }
        )+
    };
}

run_commands! {
    /// See [`StartRun`].
    Start(StartRun) = "start",
    /// See [`StartStep`].
    StartStep(StartStep) = "start_step",
    /// See [`CompleteStep`].
    CompleteStep(CompleteStep) = "complete_step",
    /// See [`FailStep`].
    FailStep(FailStep) = "fail_step",
    /// See [`ApproveStep`].
    Approve(ApproveStep) = "approve",
    /// See [`RejectStep`].
    Reject(RejectStep) = "reject",
    /// See [`TimeOutApproval`].
    TimeOutApproval(TimeOutApproval) = "time_out_approval",
    /// See [`FailRun`].
    Fail(FailRun) = "fail",
    /// See [`CancelRun`].
    Cancel(CancelRun) = "cancel",
}
