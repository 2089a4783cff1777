//! Why the workflow run aggregate refuses a command: one closed enum, a variant per rule.
//!
//! Messages are written for the person (or the engine's log) that sent the command.
//! [`WorkflowRunError::field`] names the command field a refusal is about, and
//! [`WorkflowRunError::code`] gives a stable machine-readable code.

use super::events::{ApprovalOutcome, DeciderId};
use super::state::RunStatus;
use crate::ids::TenantId;
use crate::workflow::graph::StepsError;
use crate::workflow::values::StepId;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A refusal of a workflow run command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkflowRunError {
    /// The run has not been started, and only starting it is possible.
    #[error("run does not exist")]
    NotFound,
    /// Starting was asked for a run that already started.
    #[error("run already started")]
    AlreadyStarted,
    /// A command field holds a value that breaks its format or range rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The command field, as named in the command's JSON.
        field: &'static str,
        /// What is wrong, phrased to follow the field name.
        reason: String,
    },
    /// The pinned definition belongs to another tenant than the run.
    #[error("the workflow belongs to tenant {definition_tenant_id}, not to tenant {tenant_id}")]
    TenantMismatch {
        /// The run's tenant.
        tenant_id: TenantId,
        /// The definition's tenant.
        definition_tenant_id: TenantId,
    },
    /// The pinned definition was not enabled.
    #[error("workflow {workflow_id} (version {version}) is not enabled, so it cannot start runs")]
    DefinitionNotEnabled {
        /// The workflow.
        workflow_id: Uuid,
        /// The pinned version.
        version: u32,
    },
    /// The pinned steps break the rules definitions obey.
    #[error("the pinned definition is invalid: {0}")]
    InvalidDefinition(StepsError),
    /// The run's trigger is not the definition's (and not a manual start).
    #[error("this workflow is started by {expected}, not by {given}")]
    TriggerMismatch {
        /// The definition's trigger, described.
        expected: String,
        /// The given trigger, described.
        given: String,
    },
    /// The run is over.
    #[error("run is {status}: it accepts no more commands")]
    Finished {
        /// How it ended.
        status: RunStatus,
    },
    /// The pinned definition has no such step.
    #[error("the run's workflow has no step `{step_id}`")]
    UnknownStep {
        /// The step named in the command.
        step_id: StepId,
    },
    /// Starting a step that is not the run's current step.
    #[error("step `{step_id}` is not the run's current step `{current}`")]
    StepNotNext {
        /// The step named in the command.
        step_id: StepId,
        /// The current step.
        current: StepId,
    },
    /// Starting a step whose attempt is under way.
    #[error("step `{step_id}` is already under way (attempt {attempt})")]
    StepAlreadyStarted {
        /// The step.
        step_id: StepId,
        /// The attempt under way.
        attempt: u32,
    },
    /// Completing or failing a step that is not under way.
    #[error("step `{step_id}` has not been started")]
    StepNotStarted {
        /// The step.
        step_id: StepId,
    },
    /// The command names another attempt than the one expected.
    #[error("step `{step_id}` expects attempt {expected}, not {given}")]
    AttemptMismatch {
        /// The step.
        step_id: StepId,
        /// The attempt expected.
        expected: u32,
        /// The attempt named in the command.
        given: u32,
    },
    /// The run waits until a later time (a wait step, or the backoff before a retry).
    #[error("step `{step_id}` waits until {until}")]
    NotYet {
        /// The step.
        step_id: StepId,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// Completing an approval step directly.
    #[error("approval step `{step_id}` completes through approve and reject decisions")]
    DecidedByApprovals {
        /// The step.
        step_id: StepId,
    },
    /// An approval command names a step that is not an approval step.
    #[error("step `{step_id}` is not an approval step")]
    NotAnApprovalStep {
        /// The step.
        step_id: StepId,
    },
    /// An approval command names an approval step that is not asking for approval now.
    #[error("approval step `{step_id}` is not awaiting approval")]
    NotAwaitingApproval {
        /// The step.
        step_id: StepId,
    },
    /// An approval command names an approval step that was already decided.
    #[error("approval step `{step_id}` was already {outcome}")]
    ApprovalAlreadyDecided {
        /// The step.
        step_id: StepId,
        /// How it was decided.
        outcome: ApprovalOutcome,
    },
    /// The member, with their role, is not among the step's approvers.
    #[error("member {member_id} is not an approver of step `{step_id}`")]
    NotAnApprover {
        /// The step.
        step_id: StepId,
        /// The member.
        member_id: Uuid,
    },
    /// A platform admin key decides on a step that is for the tenant's members only.
    #[error("approval step `{step_id}` does not allow platform admins to decide")]
    PlatformAdminsMayNotDecide {
        /// The step.
        step_id: StepId,
    },
    /// The approver (a member, or a platform admin key) already decided this approval.
    #[error("{decider} has already decided on step `{step_id}`")]
    ApproverAlreadyDecided {
        /// The step.
        step_id: StepId,
        /// Who.
        decider: DeciderId,
    },
    /// A decision after the deadline: the timeout rule decides now.
    #[error(
        "the deadline of approval step `{step_id}` passed at {deadline}: its timeout rule applies"
    )]
    ApprovalExpired {
        /// The step.
        step_id: StepId,
        /// The deadline.
        deadline: DateTime<Utc>,
    },
    /// Applying the timeout rule before the deadline.
    #[error("approval step `{step_id}` is open until {deadline}")]
    ApprovalNotDue {
        /// The step.
        step_id: StepId,
        /// The deadline.
        deadline: DateTime<Utc>,
    },
}

impl WorkflowRunError {
    /// The command field this refusal is about, if it is about one (for the HTTP layer).
    pub fn field(&self) -> Option<&'static str> {
        use WorkflowRunError as E;
        match self {
            E::Invalid { field, .. } => Some(field),
            E::TenantMismatch { .. } => Some("tenant_id"),
            E::DefinitionNotEnabled { .. } | E::InvalidDefinition(_) => Some("definition"),
            E::TriggerMismatch { .. } => Some("trigger"),
            E::UnknownStep { .. }
            | E::StepNotNext { .. }
            | E::StepAlreadyStarted { .. }
            | E::StepNotStarted { .. }
            | E::DecidedByApprovals { .. }
            | E::NotAnApprovalStep { .. }
            | E::NotAwaitingApproval { .. }
            | E::ApprovalAlreadyDecided { .. } => Some("step_id"),
            E::AttemptMismatch { .. } => Some("attempt"),
            E::NotFound
            | E::NotAnApprover { .. }
            | E::PlatformAdminsMayNotDecide { .. }
            | E::ApproverAlreadyDecided { .. }
            | E::AlreadyStarted
            | E::Finished { .. }
            | E::NotYet { .. }
            | E::ApprovalExpired { .. }
            | E::ApprovalNotDue { .. } => None,
        }
    }

    /// A stable snake_case code for this kind of refusal (e.g. `step_not_started`).
    pub fn code(&self) -> &'static str {
        use WorkflowRunError as E;
        match self {
            E::NotFound => "not_found",
            E::AlreadyStarted => "already_started",
            E::Invalid { .. } => "invalid",
            E::TenantMismatch { .. } => "tenant_mismatch",
            E::DefinitionNotEnabled { .. } => "definition_not_enabled",
            E::InvalidDefinition(_) => "invalid_definition",
            E::TriggerMismatch { .. } => "trigger_mismatch",
            E::Finished { .. } => "finished",
            E::UnknownStep { .. } => "unknown_step",
            E::StepNotNext { .. } => "step_not_next",
            E::StepAlreadyStarted { .. } => "step_already_started",
            E::StepNotStarted { .. } => "step_not_started",
            E::AttemptMismatch { .. } => "attempt_mismatch",
            E::NotYet { .. } => "not_yet",
            E::DecidedByApprovals { .. } => "decided_by_approvals",
            E::NotAnApprovalStep { .. } => "not_an_approval_step",
            E::NotAwaitingApproval { .. } => "not_awaiting_approval",
            E::ApprovalAlreadyDecided { .. } => "approval_already_decided",
            E::NotAnApprover { .. } => "not_an_approver",
            E::PlatformAdminsMayNotDecide { .. } => "platform_admins_may_not_decide",
            E::ApproverAlreadyDecided { .. } => "approver_already_decided",
            E::ApprovalExpired { .. } => "approval_expired",
            E::ApprovalNotDue { .. } => "approval_not_due",
        }
    }

    /// A refusal of `field` for the given reason.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        WorkflowRunError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl crate::Refusal for WorkflowRunError {
    fn kind(&self) -> crate::RefusalKind {
        use WorkflowRunError as E;
        match self {
            // What the command itself gets wrong, whatever the run's state.
            E::Invalid { .. }
            | E::TenantMismatch { .. }
            | E::InvalidDefinition(_)
            | E::TriggerMismatch { .. }
            | E::UnknownStep { .. }
            | E::NotAnApprovalStep { .. } => crate::RefusalKind::Invalid,
            E::NotFound => crate::RefusalKind::NotFound,
            // What the run's current state forbids.
            E::AlreadyStarted
            | E::DefinitionNotEnabled { .. }
            | E::Finished { .. }
            | E::StepNotNext { .. }
            | E::StepAlreadyStarted { .. }
            | E::StepNotStarted { .. }
            | E::AttemptMismatch { .. }
            | E::NotYet { .. }
            | E::DecidedByApprovals { .. }
            | E::NotAwaitingApproval { .. }
            | E::ApprovalAlreadyDecided { .. }
            | E::NotAnApprover { .. }
            | E::ApproverAlreadyDecided { .. }
            | E::ApprovalExpired { .. }
            | E::ApprovalNotDue { .. } => crate::RefusalKind::Conflict,
            // Who the caller is forbids it, whatever the run's state.
            E::PlatformAdminsMayNotDecide { .. } => crate::RefusalKind::Forbidden,
        }
    }

    fn code(&self) -> &'static str {
        WorkflowRunError::code(self)
    }

    fn field(&self) -> Option<String> {
        WorkflowRunError::field(self).map(str::to_owned)
    }
}
