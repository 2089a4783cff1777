//! Approval decisions: approve, reject, and the timeout rule.
//!
//! Rules: only an approver of the step (the member by id, or any member whose current role is
//! listed; a platform admin key only where the step allows platform admins) may decide, once per
//! approval request: distinct approvers count separately, members by member id and platform
//! admins by key id. The step is approved when the required number of approvals is reached and
//! rejected by the first rejection; after the deadline only the timeout rule decides. A decided
//! approval cannot be decided again: approving a rejected step is refused with
//! [`WorkflowRunError::ApprovalAlreadyDecided`], whether or not the run has ended since. An
//! approval step reached again through a loop asks afresh.
//!
//! Who decides is the command's [`Decider`], built by the server from the caller's key, so a
//! decision can never be made in someone else's name; the events record it as [`DecidedBy`].

use super::commands::{ApproveStep, Decider, RejectStep, TimeOutApproval};
use super::decide::{message, Decided};
use super::error::WorkflowRunError;
use super::events::{
    ApprovalOutcome, ApprovalTimedOut, DecidedBy, RunEvent, StepApproved, StepOutcome, StepRejected,
};
use super::state::{OpenApproval, Position, StepPhase, WorkflowRun};
use crate::aggregate::DecisionContext;
use crate::workflow::steps::{ApprovalStep, Approver, OnTimeout, Step};
use crate::workflow::values::Message;
use uuid::Uuid;

/// A decision's checked inputs.
struct Decision {
    by: DecidedBy,
    note: Option<Message>,
}

/// Refuses the nil id for a decider's `field`: no key or member has it.
fn not_nil(id: Uuid, field: &'static str) -> Result<Uuid, WorkflowRunError> {
    if id.is_nil() {
        Err(WorkflowRunError::invalid(field, "must not be the nil id"))
    } else {
        Ok(id)
    }
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
    fn decision(
        &self,
        step: &ApprovalStep,
        open: &OpenApproval,
        decider: &Decider,
        note: (Option<&str>, &'static str),
        ctx: &DecisionContext,
    ) -> Result<Decision, WorkflowRunError> {
        let by = match decider {
            Decider::Member {
                key_id,
                member_id,
                role,
            } => {
                let member_id = not_nil(*member_id, "decider.member_id")?;
                let key_id = not_nil(*key_id, "decider.key_id")?;
                let eligible = open
                    .approvers
                    .iter()
                    .any(|a| *a == Approver::Member(member_id) || *a == Approver::Role(*role));
                if !eligible {
                    return Err(WorkflowRunError::NotAnApprover {
                        step_id: step.id.clone(),
                        member_id,
                    });
                }
                DecidedBy::Member {
                    member_id,
                    role: *role,
                    key_id: Some(key_id),
                }
            }
            Decider::PlatformAdmin { key_id } => {
                let key_id = not_nil(*key_id, "decider.key_id")?;
                if !step.platform_admins_may_approve {
                    return Err(WorkflowRunError::PlatformAdminsMayNotDecide {
                        step_id: step.id.clone(),
                    });
                }
                DecidedBy::PlatformAdmin { key_id }
            }
        };
        let (note, note_field) = note;
        let note = note.map(|raw| message(raw, note_field)).transpose()?;
        let decider = by.decider_id();
        if open.approved_by.iter().any(|a| a.decider_id() == decider) {
            return Err(WorkflowRunError::ApproverAlreadyDecided {
                step_id: step.id.clone(),
                decider,
            });
        }
        if ctx.now >= open.deadline {
            return Err(WorkflowRunError::ApprovalExpired {
                step_id: step.id.clone(),
                deadline: open.deadline,
            });
        }
        Ok(Decision { by, note })
    }

    pub(super) fn approve(&self, c: &ApproveStep, ctx: &DecisionContext) -> Decided {
        let (step, position, open) = self.open_approval(&c.step_id)?;
        let note = (c.comment.as_deref(), "comment");
        let who = self.decision(step, open, &c.decider, note, ctx)?;
        let mut events = vec![RunEvent::Approved(StepApproved {
            step_id: step.id.clone(),
            decided_by: who.by,
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
        let note = (c.reason.as_deref(), "reason");
        let who = self.decision(step, open, &c.decider, note, ctx)?;
        let mut events = vec![RunEvent::Rejected(StepRejected {
            step_id: step.id.clone(),
            decided_by: who.by,
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
