//! Approval decisions: approve, reject, and the timeout rule.
//!
//! Rules: only an approver of the step (the member by id, or any member whose current role is
//! listed) may decide, once per approval request; the step is approved when the required number
//! of approvals is reached and rejected by the first rejection; after the deadline only the
//! timeout rule decides. A decided approval cannot be decided again: approving a rejected step
//! is refused with [`WorkflowRunError::ApprovalAlreadyDecided`], whether or not the run has
//! ended since. An approval step reached again through a loop asks afresh.

use super::commands::{ApproveStep, RejectStep, TimeOutApproval};
use super::decide::{message, Decided};
use super::error::WorkflowRunError;
use super::events::{
    ApprovalOutcome, ApprovalTimedOut, RunEvent, StepApproved, StepOutcome, StepRejected,
};
use super::state::{OpenApproval, Position, StepPhase, WorkflowRun};
use crate::aggregate::DecisionContext;
use crate::shared::Role;
use crate::workflow::steps::{ApprovalStep, Approver, OnTimeout, Step};
use crate::workflow::values::Message;
use uuid::Uuid;

/// A decision's raw inputs, as the approve and reject commands carry them.
struct Request<'a> {
    member_id: Uuid,
    role: &'a str,
    note: Option<&'a str>,
    note_field: &'static str,
}

/// A decision's checked inputs.
struct Decider {
    member_id: Uuid,
    role: Role,
    note: Option<Message>,
}

impl WorkflowRun {
    /// The approval step a command names, if it is asking for approval now.
    fn open_approval(
        &self,
        raw_step_id: &str,
    ) -> Result<(&ApprovalStep, &Position, &OpenApproval), WorkflowRunError> {
        let step = self.named_step(raw_step_id)?;
        let Step::Approval(approval) = step else {
            return Err(WorkflowRunError::NotAnApprovalStep {
                step_id: step.id().clone(),
            });
        };
        if let Some(position) = &self.current {
            if let (true, StepPhase::AwaitingApproval(open)) =
                (position.step_id == approval.id, &position.phase)
            {
                return Ok((approval, position, open));
            }
        }
        if let Some(outcome) = self.approval_outcomes.get(&approval.id) {
            return Err(WorkflowRunError::ApprovalAlreadyDecided {
                step_id: approval.id.clone(),
                outcome: *outcome,
            });
        }
        if self.status.is_finished() {
            return Err(WorkflowRunError::Finished {
                status: self.status,
            });
        }
        Err(WorkflowRunError::NotAwaitingApproval {
            step_id: approval.id.clone(),
        })
    }

    /// Checks who decides, and that they may decide now.
    fn decider(
        &self,
        step: &ApprovalStep,
        open: &OpenApproval,
        request: Request<'_>,
        ctx: &DecisionContext,
    ) -> Result<Decider, WorkflowRunError> {
        let member_id = request.member_id;
        if member_id.is_nil() {
            return Err(WorkflowRunError::invalid(
                "member_id",
                "must not be the nil id",
            ));
        }
        let role =
            Role::parse(request.role).map_err(|e| WorkflowRunError::invalid("role", e.reason()))?;
        let note = request
            .note
            .map(|raw| message(raw, request.note_field))
            .transpose()?;
        let eligible = open
            .approvers
            .iter()
            .any(|a| *a == Approver::Member(member_id) || *a == Approver::Role(role));
        if !eligible {
            return Err(WorkflowRunError::NotAnApprover {
                step_id: step.id.clone(),
                member_id,
            });
        }
        if open.approved_by.contains(&member_id) {
            return Err(WorkflowRunError::ApproverAlreadyDecided {
                step_id: step.id.clone(),
                member_id,
            });
        }
        if ctx.now >= open.deadline {
            return Err(WorkflowRunError::ApprovalExpired {
                step_id: step.id.clone(),
                deadline: open.deadline,
            });
        }
        Ok(Decider {
            member_id,
            role,
            note,
        })
    }

    pub(super) fn approve(&self, c: &ApproveStep, ctx: &DecisionContext) -> Decided {
        let (step, position, open) = self.open_approval(&c.step_id)?;
        let request = Request {
            member_id: c.member_id,
            role: &c.role,
            note: c.comment.as_deref(),
            note_field: "comment",
        };
        let who = self.decider(step, open, request, ctx)?;
        let mut events = vec![RunEvent::Approved(StepApproved {
            step_id: step.id.clone(),
            member_id: who.member_id,
            role: who.role,
            comment: who.note,
        })];
        let approvals = open.approved_by.len().saturating_add(1);
        if approvals >= open.required as usize {
            events.extend(self.finish_step(
                position,
                StepOutcome::Approval {
                    outcome: ApprovalOutcome::Approved,
                },
                step.on_approved.clone(),
            ));
        }
        Ok(events)
    }

    pub(super) fn reject(&self, c: &RejectStep, ctx: &DecisionContext) -> Decided {
        let (step, position, open) = self.open_approval(&c.step_id)?;
        let request = Request {
            member_id: c.member_id,
            role: &c.role,
            note: c.reason.as_deref(),
            note_field: "reason",
        };
        let who = self.decider(step, open, request, ctx)?;
        let mut events = vec![RunEvent::Rejected(StepRejected {
            step_id: step.id.clone(),
            member_id: who.member_id,
            role: who.role,
            reason: who.note,
        })];
        events.extend(self.finish_step(
            position,
            StepOutcome::Approval {
                outcome: ApprovalOutcome::Rejected,
            },
            step.on_rejected.clone(),
        ));
        Ok(events)
    }

    pub(super) fn time_out_approval(&self, c: &TimeOutApproval, ctx: &DecisionContext) -> Decided {
        let (step, position, open) = self.open_approval(&c.step_id)?;
        if ctx.now < open.deadline {
            return Err(WorkflowRunError::ApprovalNotDue {
                step_id: step.id.clone(),
                deadline: open.deadline,
            });
        }
        let (outcome, next) = match &step.on_timeout {
            OnTimeout::Reject => (ApprovalOutcome::Rejected, step.on_rejected.clone()),
            OnTimeout::Approve => (ApprovalOutcome::Approved, step.on_approved.clone()),
            OnTimeout::Escalate { to } => (ApprovalOutcome::Escalated, Some(to.clone())),
        };
        let mut events = vec![RunEvent::ApprovalTimedOut(ApprovalTimedOut {
            step_id: step.id.clone(),
            outcome,
        })];
        events.extend(self.finish_step(position, StepOutcome::Approval { outcome }, next));
        Ok(events)
    }
}
