//! The validated steps of a workflow, as definitions store them and runs pin them.
//!
//! A workflow is a list of steps; a run begins at the first. Every step names the step(s) that
//! may follow it, and a missing successor means "the run ends here":
//! - [`ConditionStep`]: evaluates a [`Condition`] and goes to `on_true` or `on_false`;
//! - [`ActionStep`]: does one [`Action`] (notify, call an integration, issue a Keel command, set
//!   a field of the run's context), retried by its [`RetryPolicy`], then goes to `next`;
//! - [`ApprovalStep`]: asks [`Approver`]s for a decision, goes to `on_approved` or
//!   `on_rejected`, and at its deadline does what [`OnTimeout`] says;
//! - [`WaitStep`]: pauses the run for a while, then goes to `next`.
//!
//! As JSON each step is tagged by `type`, each action by `kind`: the same shape the commands
//! accept, so a stored definition reads like the request that defined it.

use super::expression::Condition;
use super::values::{FieldPath, Message, OperationName, StepId, Subject};
use crate::shared::{Email, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// See [`ConditionStep`].
    Condition(ConditionStep),
    /// See [`ActionStep`].
    Action(ActionStep),
    /// See [`ApprovalStep`].
    Approval(ApprovalStep),
    /// See [`WaitStep`].
    Wait(WaitStep),
}

/// Branches on a condition over the run's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionStep {
    /// The step's id.
    pub id: StepId,
    /// What is evaluated.
    pub condition: Condition,
    /// Where the run goes when it holds; the run ends if absent.
    pub on_true: Option<StepId>,
    /// Where the run goes when it does not hold; the run ends if absent.
    pub on_false: Option<StepId>,
}

/// Does one thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionStep {
    /// The step's id.
    pub id: StepId,
    /// What is done.
    pub action: Action,
    /// How often a failed attempt is tried again.
    pub retry: RetryPolicy,
    /// Where the run goes next; the run ends if absent.
    pub next: Option<StepId>,
}

/// What an action step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Sends a message to people.
    Notify {
        /// Who receives it.
        to: Vec<Recipient>,
        /// Its subject.
        subject: Subject,
        /// Its body.
        message: Message,
    },
    /// Calls an operation of one of the tenant's integrations.
    CallIntegration {
        /// The integration.
        integration_id: Uuid,
        /// The operation.
        operation: OperationName,
        /// What is sent (a JSON object, or null for nothing).
        payload: serde_json::Value,
    },
    /// Issues a command to a Keel aggregate on the run's behalf.
    KeelCommand {
        /// Which kind of aggregate receives it.
        target: CommandTarget,
        /// Which one; absent for the tenant, which is always the run's own tenant.
        aggregate_id: Option<Uuid>,
        /// The command as the API accepts it, e.g. `{"command": "suspend", "reason": "..."}`.
        command: serde_json::Value,
    },
    /// Writes a value into the run's context (under `context.`), for later conditions.
    SetField {
        /// Where it is written.
        field: FieldPath,
        /// A fixed value to write, if given.
        value: Option<serde_json::Value>,
        /// Where the value is copied from, if given (the engine reads it).
        from: Option<FieldPath>,
    },
}

/// The kinds of aggregate a workflow may issue commands to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandTarget {
    /// The run's own tenant.
    Tenant,
    /// A policy of the tenant.
    Policy,
    /// An integration of the tenant.
    Integration,
    /// Another workflow definition of the tenant.
    Workflow,
}

impl CommandTarget {
    /// Every target, with its wire name.
    pub const ALL: &'static [(CommandTarget, &'static str)] = &[
        (CommandTarget::Tenant, "tenant"),
        (CommandTarget::Policy, "policy"),
        (CommandTarget::Integration, "integration"),
        (CommandTarget::Workflow, "workflow"),
    ];
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// Every member with this role.
    Role(Role),
    /// One member.
    Member(Uuid),
    /// An address, member or not.
    Email(Email),
}

/// Who may decide an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    /// Any member with exactly this role (an owner is not an admin).
    Role(Role),
    /// One member.
    Member(Uuid),
}

/// How often an action is attempted, and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retried).
    pub max_attempts: u32,
    /// Wait before the second attempt, in seconds; doubled before each further attempt, up to
    /// [`RetryPolicy::MAX_BACKOFF_SECONDS`].
    pub backoff_seconds: u32,
}

impl RetryPolicy {
    /// The most attempts a policy may ask for.
    pub const MAX_ATTEMPTS: u32 = 10;
    /// The longest wait between two attempts: a day.
    pub const MAX_BACKOFF_SECONDS: u32 = 86_400;

    /// The wait, in seconds, before the attempt after `failed_attempt` (1-based).
    pub fn backoff_after(&self, failed_attempt: u32) -> u32 {
        let doublings = failed_attempt.saturating_sub(1).min(20);
        self.backoff_seconds
            .saturating_mul(1 << doublings)
            .min(Self::MAX_BACKOFF_SECONDS)
    }
}

impl Default for RetryPolicy {
    /// One attempt: a failure fails the run, unless the definition asks for retries.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            backoff_seconds: 60,
        }
    }
}

/// Asks people to approve or reject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalStep {
    /// The step's id.
    pub id: StepId,
    /// Who may decide, by role or by member.
    pub approvers: Vec<Approver>,
    /// Whether platform admin keys may decide too (approve or reject), each key counting as
    /// one approver; a tenant's members are the only approvers otherwise.
    pub platform_admins_may_approve: bool,
    /// How many approvals are needed; a single rejection rejects.
    pub required: u32,
    /// How long the approvers have, in seconds, from the moment approval is requested.
    pub timeout_seconds: u32,
    /// What happens at the deadline.
    pub on_timeout: OnTimeout,
    /// Where the run goes once approved; the run ends if absent.
    pub on_approved: Option<StepId>,
    /// Where the run goes once rejected; the run ends if absent.
    pub on_rejected: Option<StepId>,
}

/// What an approval step does when its deadline passes undecided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OnTimeout {
    /// Counts as rejected.
    Reject,
    /// Counts as approved.
    Approve,
    /// Hands over to another step (typically an approval by more senior people).
    Escalate {
        /// The step to go to.
        to: StepId,
    },
}

/// Pauses the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitStep {
    /// The step's id.
    pub id: StepId,
    /// For how long, in seconds.
    pub seconds: u32,
    /// Where the run goes next; the run ends if absent.
    pub next: Option<StepId>,
}

impl Step {
    /// The step's id.
    pub fn id(&self) -> &StepId {
        match self {
            Step::Condition(s) => &s.id,
            Step::Action(s) => &s.id,
            Step::Approval(s) => &s.id,
            Step::Wait(s) => &s.id,
        }
    }

    /// The step's type as written in JSON (`condition`, `action`, `approval`, `wait`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Step::Condition(_) => "condition",
            Step::Action(_) => "action",
            Step::Approval(_) => "approval",
            Step::Wait(_) => "wait",
        }
    }

    /// Whether a run pauses at this step until time passes or people decide (an approval or a
    /// wait), which is what makes a loop through it harmless.
    pub fn waits(&self) -> bool {
        matches!(self, Step::Approval(_) | Step::Wait(_))
    }

    /// The steps that may follow this one, each with the field that names it.
    pub fn successors(&self) -> Vec<(&'static str, &StepId)> {
        let candidates: Vec<(&'static str, Option<&StepId>)> = match self {
            Step::Condition(s) => vec![
                ("on_true", s.on_true.as_ref()),
                ("on_false", s.on_false.as_ref()),
            ],
            Step::Action(s) => vec![("next", s.next.as_ref())],
            Step::Approval(s) => vec![
                ("on_approved", s.on_approved.as_ref()),
                ("on_rejected", s.on_rejected.as_ref()),
                (
                    "on_timeout.to",
                    match &s.on_timeout {
                        OnTimeout::Escalate { to } => Some(to),
                        OnTimeout::Reject | OnTimeout::Approve => None,
                    },
                ),
            ],
            Step::Wait(s) => vec![("next", s.next.as_ref())],
        };
        candidates
            .into_iter()
            .filter_map(|(field, target)| target.map(|t| (field, t)))
            .collect()
    }

    /// Every field path the step reads or writes, each with the field that holds it.
    pub fn field_paths(&self) -> Vec<(&'static str, &FieldPath)> {
        match self {
            Step::Condition(s) => s
                .condition
                .paths()
                .into_iter()
                .map(|p| ("condition", &p.path))
                .collect(),
            Step::Action(ActionStep {
                action: Action::SetField { field, from, .. },
                ..
            }) => {
                let mut paths = vec![("action.field", field)];
                paths.extend(from.iter().map(|f| ("action.from", f)));
                paths
            }
            Step::Action(_) | Step::Approval(_) | Step::Wait(_) => Vec::new(),
        }
    }
}

/// Lifts the `steps` of a stored payload written before approval steps had
/// `platform_admins_may_approve`: those steps were for members only, so the field is `false`.
/// Shared by the upcasters of every event that carries steps (a definition, a revision, a run's
/// start).
pub(crate) fn upcast_steps_without_platform_admins(payload: &mut Value) {
    let Some(steps) = payload.get_mut("steps").and_then(Value::as_array_mut) else {
        return;
    };
    for step in steps {
        if step.get("type").and_then(Value::as_str) == Some("approval") {
            if let Some(fields) = step.as_object_mut() {
                fields
                    .entry("platform_admins_may_approve")
                    .or_insert(Value::Bool(false));
            }
        }
    }
}
