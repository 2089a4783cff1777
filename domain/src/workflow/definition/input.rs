//! The raw shapes of a trigger and of steps, as a define or revise command carries them (and
//! as the HTTP API accepts them as JSON). `decide` checks them and turns them into
//! [`Trigger`](crate::workflow::Trigger) and [`Step`](crate::workflow::Step) values.
//!
//! Tags: a trigger and a step by `type`, an action by `kind`, a timeout rule by `action`;
//! approvers and recipients are one-key objects (`{"role": "admin"}`, `{"member": "<uuid>"}`,
//! `{"email": "ada@example.com"}`). Unknown fields are refused everywhere, so a misspelt
//! optional field cannot silently do nothing.
//!
//! ```json
//! {"type": "approval", "id": "sign-off", "approvers": [{"role": "admin"}], "required": 2,
//!  "platform_admins_may_approve": false, "timeout_seconds": 86400, "on_timeout": {"action": "escalate", "to": "owner-sign-off"},
//!  "on_approved": "suspend", "on_rejected": null}
//! ```

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What starts runs, as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerInput {
    /// An event of a type, optionally filtered.
    Event {
        /// `<aggregate>.<fact>`, e.g. `tenant.plan_changed`.
        event_type: String,
        /// A condition over `trigger.` (the event's payload) and `tenant.` fields.
        #[serde(default)]
        filter: Option<String>,
    },
    /// A five-field cron expression, evaluated in UTC.
    Schedule {
        /// E.g. `0 9 * * mon-fri`.
        cron: String,
    },
    /// Started by hand only.
    Manual {},
    /// An inbound webhook of the tenant.
    Webhook {
        /// The webhook's name, 1-64 lowercase letters, digits, '-' or '_'.
        hook: String,
    },
}

/// One step, as given. The first step of the list is where runs begin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepInput {
    /// Branches on a condition.
    Condition {
        /// The step's id, unique in the workflow.
        id: String,
        /// The condition (see [`expression`](crate::workflow::expression)).
        condition: String,
        /// The step after a true condition; the run ends if absent.
        #[serde(default)]
        on_true: Option<String>,
        /// The step after a false condition; the run ends if absent.
        #[serde(default)]
        on_false: Option<String>,
    },
    /// Does one thing.
    Action {
        /// The step's id, unique in the workflow.
        id: String,
        /// What it does.
        action: ActionInput,
        /// Retries of a failed attempt; none if absent.
        #[serde(default)]
        retry: Option<RetryInput>,
        /// The next step; the run ends if absent.
        #[serde(default)]
        next: Option<String>,
    },
    /// Asks for approval.
    Approval {
        /// The step's id, unique in the workflow.
        id: String,
        /// Who may decide: 1-50 roles or members, without repeats.
        approvers: Vec<ApproverInput>,
        /// Whether platform admin keys may decide too (each key counts as one approver);
        /// `false` if absent: members only.
        #[serde(default)]
        platform_admins_may_approve: bool,
        /// How many approvals are needed (one rejection rejects); at least 1, and at most the
        /// number of approvers when they are all named members.
        required: u32,
        /// How long approvers have, 60 seconds to 365 days.
        timeout_seconds: u32,
        /// What the deadline does.
        on_timeout: OnTimeoutInput,
        /// The step after approval; the run ends if absent.
        #[serde(default)]
        on_approved: Option<String>,
        /// The step after rejection; the run ends if absent.
        #[serde(default)]
        on_rejected: Option<String>,
    },
    /// Pauses the run.
    Wait {
        /// The step's id, unique in the workflow.
        id: String,
        /// For how long, 1 second to 365 days.
        seconds: u32,
        /// The next step; the run ends if absent.
        #[serde(default)]
        next: Option<String>,
    },
}

/// What an action step does, as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionInput {
    /// Sends a message.
    Notify {
        /// 1-50 recipients.
        to: Vec<RecipientInput>,
        /// One line, 1-200 characters.
        subject: String,
        /// 1-5000 characters.
        message: String,
    },
    /// Calls an integration's operation.
    CallIntegration {
        /// The integration.
        integration_id: Uuid,
        /// The operation, 1-64 lowercase letters, digits, '-' or '_'.
        operation: String,
        /// A JSON object to send (at most 16 KiB), or nothing.
        #[serde(default)]
        payload: serde_json::Value,
    },
    /// Issues a Keel command.
    KeelCommand {
        /// `tenant`, `policy`, `integration` or `workflow`.
        target: String,
        /// The target aggregate; must be absent for `tenant` (always the run's own tenant) and
        /// given for the others.
        #[serde(default)]
        aggregate_id: Option<Uuid>,
        /// The command as the API accepts it: an object with a `command` name (at most 16 KiB).
        /// Tenant commands are checked against the tenant's command set.
        command: serde_json::Value,
    },
    /// Writes a value into the run's context.
    SetField {
        /// Where: a path under `context.`.
        field: String,
        /// A fixed value (at most 16 KiB); exactly one of `value` and `from` is given.
        #[serde(default)]
        value: Option<serde_json::Value>,
        /// A path to copy from (any known root); exactly one of `value` and `from` is given.
        #[serde(default)]
        from: Option<String>,
    },
}

/// Retries of an action, as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetryInput {
    /// Attempts in all, 1-10.
    pub max_attempts: u32,
    /// Wait before the second attempt, 1-86400 seconds; doubled each time after.
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u32,
}

fn default_backoff() -> u32 {
    60
}

/// An approver, as given: `{"role": "admin"}` or `{"member": "<uuid>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ApproverInput {
    /// Any member with this role (`owner`, `admin`, `member`, `auditor`).
    Role(String),
    /// One member.
    Member(Uuid),
}

/// A recipient, as given: `{"role": ...}`, `{"member": ...}` or `{"email": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RecipientInput {
    /// Every member with this role.
    Role(String),
    /// One member.
    Member(Uuid),
    /// An email address.
    Email(String),
}

/// What an approval's deadline does, as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OnTimeoutInput {
    /// Counts as rejected.
    Reject,
    /// Counts as approved.
    Approve,
    /// Goes to another step.
    Escalate {
        /// That step's id.
        to: String,
    },
}
