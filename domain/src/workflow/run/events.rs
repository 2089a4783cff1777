//! The facts a workflow run's stream records, named `workflow_run.<fact>`.
//!
//! The started event copies the pinned steps, so the run can be decided (and its history
//! read) without the definition. Derived facts are recorded rather than recomputed: a step's
//! completion names the step that follows, a retry names its time, an approval request names
//! its deadline. Completing the last step records `workflow_run.completed` in the same decision.
//!
//! Schema versions (older payloads are upcast on read):
//! - `workflow_run.started` v2: its approval steps carry `platform_admins_may_approve` (`false`
//!   in v1, whose steps were for members only);
//! - `workflow_run.approved`, `workflow_run.rejected` v2: `decided_by` records who decided, a
//!   member (with their role and the key they used) or a platform admin key. A v1 payload's
//!   `member_id` and `role` become a member's decision whose key is unknown (`null`).

use crate::event::{EventCodecError, Upcaster};
use crate::ids::TenantId;
use crate::shared::Role;
use crate::workflow::steps::{upcast_steps_without_platform_admins, Approver, Step};
use crate::workflow::values::{EventType, FieldPath, HookName, Message, StepId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// What started a run, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunTrigger {
    /// A stored event.
    Event {
        /// Its id.
        event_id: Uuid,
        /// Its type.
        event_type: EventType,
        /// Its payload.
        payload: serde_json::Value,
    },
    /// The definition's schedule, for this time.
    Schedule {
        /// The time the schedule fired for.
        scheduled_for: DateTime<Utc>,
    },
    /// By hand.
    #[default]
    Manual,
    /// An inbound webhook request.
    Webhook {
        /// The webhook's name.
        hook: HookName,
        /// The request's id.
        delivery_id: Uuid,
        /// Its body.
        body: serde_json::Value,
    },
}

/// How an approval step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    /// Enough approvals (or the timeout rule approved).
    Approved,
    /// A rejection (or the timeout rule rejected).
    Rejected,
    /// The deadline passed and the step handed over to another.
    Escalated,
}

impl fmt::Display for ApprovalOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApprovalOutcome::Approved => "approved",
            ApprovalOutcome::Rejected => "rejected",
            ApprovalOutcome::Escalated => "escalated",
        })
    }
}

/// Who decided an approval, as recorded: the caller the server authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DecidedBy {
    /// A member of the tenant, through a key bound to them.
    Member {
        /// The member.
        member_id: Uuid,
        /// Their role in the tenant when deciding.
        role: Role,
        /// The key they used; `null` for decisions recorded before keys were.
        key_id: Option<Uuid>,
    },
    /// A platform admin key, on a step that allows platform admins.
    PlatformAdmin {
        /// The key.
        key_id: Uuid,
    },
}

impl DecidedBy {
    /// Whom the decision counts for.
    pub fn decider_id(&self) -> DeciderId {
        match self {
            DecidedBy::Member { member_id, .. } => DeciderId::Member(*member_id),
            DecidedBy::PlatformAdmin { key_id } => DeciderId::PlatformAdminKey(*key_id),
        }
    }
}

/// Whom an approval counts for: distinct approvers count separately, members by member id
/// (whichever of their keys they used), platform admins by key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeciderId {
    /// A member.
    Member(Uuid),
    /// A platform admin key.
    PlatformAdminKey(Uuid),
}

impl fmt::Display for DeciderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeciderId::Member(id) => write!(f, "member {id}"),
            DeciderId::PlatformAdminKey(id) => write!(f, "platform admin key {id}"),
        }
    }
}

/// What a completed step produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepOutcome {
    /// A condition's result.
    Condition {
        /// Whether it held.
        result: bool,
    },
    /// An action's output (null if none).
    Action {
        /// What it produced.
        output: serde_json::Value,
    },
    /// A `set_field` action wrote into the run's context.
    FieldSet {
        /// Where.
        field: FieldPath,
        /// What.
        value: serde_json::Value,
    },
    /// A wait step's time passed.
    Waited,
    /// An approval step was decided.
    Approval {
        /// How.
        outcome: ApprovalOutcome,
    },
}

/// Why a run waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// A wait step.
    WaitStep,
    /// The backoff before retrying a failed action.
    Retry,
}

/// A run started, pinned to a definition version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub run_id: Uuid,
    /// The workflow.
    pub workflow_id: Uuid,
    /// The definition version it is pinned to.
    pub definition_version: u32,
    /// That version's steps.
    pub steps: Vec<Step>,
    /// What started it.
    pub trigger: RunTrigger,
    /// Its input (a JSON object).
    pub input: serde_json::Value,
    /// The step it begins at.
    pub first_step: StepId,
}

/// An attempt of a step started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStarted {
    /// The step.
    pub step_id: StepId,
    /// The attempt, from 1.
    pub attempt: u32,
}

/// A step's attempt succeeded (or its approval was decided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCompleted {
    /// The step.
    pub step_id: StepId,
    /// The attempt.
    pub attempt: u32,
    /// What it produced.
    pub outcome: StepOutcome,
    /// The step the run goes to; none when the run ends.
    pub next_step: Option<StepId>,
}

/// A step's attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepFailed {
    /// The step.
    pub step_id: StepId,
    /// The attempt.
    pub attempt: u32,
    /// What went wrong.
    pub error: Message,
    /// When the next attempt may start; none when the run fails with it.
    pub retry_at: Option<DateTime<Utc>>,
}

/// An approval step asked its approvers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequested {
    /// The step.
    pub step_id: StepId,
    /// Who may decide.
    pub approvers: Vec<Approver>,
    /// How many approvals are needed.
    pub required: u32,
    /// When the timeout rule applies.
    pub deadline: DateTime<Utc>,
}

/// An approver approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepApproved {
    /// The approval step.
    pub step_id: StepId,
    /// Who.
    pub decided_by: DecidedBy,
    /// Their note.
    pub comment: Option<Message>,
}

/// An approver rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRejected {
    /// The approval step.
    pub step_id: StepId,
    /// Who.
    pub decided_by: DecidedBy,
    /// Why.
    pub reason: Option<Message>,
}

/// An approval's deadline passed undecided; its timeout rule applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalTimedOut {
    /// The approval step.
    pub step_id: StepId,
    /// What the rule decided.
    pub outcome: ApprovalOutcome,
}

/// The run waits until a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunWaiting {
    /// The step it waits at.
    pub step_id: StepId,
    /// Until when.
    pub until: DateTime<Utc>,
    /// Why.
    pub reason: WaitReason,
}

/// The run reached the end of its workflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunCompleted {}

/// The run failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailed {
    /// Why.
    pub reason: Message,
    /// The step it failed at, if any.
    pub step_id: Option<StepId>,
}

/// The run was stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCancelled {
    /// Why.
    pub reason: Message,
}

crate::domain_events! {
    /// Every fact of the workflow run aggregate.
    pub enum RunEvent {
        /// See [`RunStarted`].
        Started(RunStarted) = STARTED: "workflow_run.started" v 2,
        /// See [`StepStarted`].
        StepStarted(StepStarted) = STEP_STARTED: "workflow_run.step_started" v 1,
        /// See [`StepCompleted`].
        StepCompleted(StepCompleted) = STEP_COMPLETED: "workflow_run.step_completed" v 1,
        /// See [`StepFailed`].
        StepFailed(StepFailed) = STEP_FAILED: "workflow_run.step_failed" v 1,
        /// See [`ApprovalRequested`].
        ApprovalRequested(ApprovalRequested) = APPROVAL_REQUESTED: "workflow_run.approval_requested" v 1,
        /// See [`StepApproved`].
        Approved(StepApproved) = APPROVED: "workflow_run.approved" v 2,
        /// See [`StepRejected`].
        Rejected(StepRejected) = REJECTED: "workflow_run.rejected" v 2,
        /// See [`ApprovalTimedOut`].
        ApprovalTimedOut(ApprovalTimedOut) = APPROVAL_TIMED_OUT: "workflow_run.approval_timed_out" v 1,
        /// See [`RunWaiting`].
        Waiting(RunWaiting) = WAITING: "workflow_run.waiting" v 1,
        /// See [`RunCompleted`].
        Completed(RunCompleted) = COMPLETED: "workflow_run.completed" v 1,
        /// See [`RunFailed`].
        Failed(RunFailed) = FAILED: "workflow_run.failed" v 1,
        /// See [`RunCancelled`].
        Cancelled(RunCancelled) = CANCELLED: "workflow_run.cancelled" v 1,
    }
}

impl Upcaster for RunEvent {
    fn upcast(
        event_type: &str,
        from_version: u16,
        mut payload: serde_json::Value,
    ) -> Result<serde_json::Value, EventCodecError> {
        match (event_type, from_version) {
            (RunEvent::STARTED, 1) => {
                upcast_steps_without_platform_admins(&mut payload);
                Ok(payload)
            }
            (RunEvent::APPROVED | RunEvent::REJECTED, 1) => {
                if let Some(fields) = payload.as_object_mut() {
                    let member_id = fields.remove("member_id").unwrap_or_default();
                    let role = fields.remove("role").unwrap_or_default();
                    fields.insert(
                        "decided_by".into(),
                        serde_json::json!({
                            "type": "member", "member_id": member_id, "role": role, "key_id": null
                        }),
                    );
                }
                Ok(payload)
            }
            _ => Err(EventCodecError::NoUpcaster {
                event_type: event_type.into(),
                version: from_version,
            }),
        }
    }
}
