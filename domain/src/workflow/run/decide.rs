//! The run's decisions: `impl Aggregate for WorkflowRun`, the life of a step (start, complete,
//! fail) and of the run (fail, cancel). Starting a run is in `start`, approval decisions in
//! `approvals`.
//!
//! Order of checks: whether the run exists, then (except for approval decisions, which first
//! say whether the approval was already decided) whether it is over, then the command's values,
//! then the rules that depend on where the run is.

use super::commands::{CancelRun, CompleteStep, FailRun, FailStep, RunCommand, StartStep};
use super::error::WorkflowRunError;
use super::events::{
    ApprovalRequested, RunCancelled, RunCompleted, RunEvent, RunFailed, RunWaiting, StepCompleted,
    StepFailed, StepOutcome, StepStarted, WaitReason,
};
use super::start::{self, check_json};
use super::state::{Position, RunStatus, StepPhase, WorkflowRun};
use crate::aggregate::{Aggregate, DecisionContext};
use crate::workflow::steps::{Action, Step};
use crate::workflow::values::{Message, StepId};
use chrono::{DateTime, Duration, Utc};

/// What a decision returns.
pub(super) type Decided = Result<Vec<RunEvent>, WorkflowRunError>;

impl Aggregate for WorkflowRun {
    type Command = RunCommand;
    type Event = RunEvent;
    type Error = WorkflowRunError;

    const KIND: &'static str = "workflow_run";
    const SNAPSHOT_VERSION: u16 = 2;

    fn decide(&self, command: &RunCommand, ctx: &DecisionContext) -> Decided {
        match (self.status, command) {
            (RunStatus::NotStarted, RunCommand::Start(c)) => return start::start(c),
            (_, RunCommand::Start(_)) => return Err(WorkflowRunError::AlreadyStarted),
            (RunStatus::NotStarted, _) => return Err(WorkflowRunError::NotFound),
            (_, RunCommand::Approve(c)) => return self.approve(c, ctx),
            (_, RunCommand::Reject(c)) => return self.reject(c, ctx),
            (_, RunCommand::TimeOutApproval(c)) => return self.time_out_approval(c, ctx),
            (status, _) if status.is_finished() => {
                return Err(WorkflowRunError::Finished { status })
            }
            _ => {}
        }
        match command {
            RunCommand::StartStep(c) => self.start_step(c, ctx),
            RunCommand::CompleteStep(c) => self.complete_step(c, ctx),
            RunCommand::FailStep(c) => self.fail_step(c, ctx),
            RunCommand::Fail(c) => self.fail(c),
            RunCommand::Cancel(c) => cancel(c),
            // Decided above; kept total rather than unreachable.
            RunCommand::Start(_)
            | RunCommand::Approve(_)
            | RunCommand::Reject(_)
            | RunCommand::TimeOutApproval(_) => Err(WorkflowRunError::AlreadyStarted),
        }
    }

    fn apply(&mut self, event: &RunEvent) {
        self.fold(event);
    }
}

/// Parses a human text field.
pub(super) fn message(raw: &str, field: &'static str) -> Result<Message, WorkflowRunError> {
    Message::parse(raw).map_err(|e| WorkflowRunError::invalid(field, e.reason()))
}

fn cancel(c: &CancelRun) -> Decided {
    let reason = message(&c.reason, "reason")?;
    Ok(vec![RunEvent::Cancelled(RunCancelled { reason })])
}

/// The time `seconds` after `now`, saturating far in the future rather than overflowing.
pub(super) fn after(now: DateTime<Utc>, seconds: u32) -> DateTime<Utc> {
    now.checked_add_signed(Duration::seconds(i64::from(seconds)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl WorkflowRun {
    /// The pinned step named by a command's raw `step_id`.
    pub(super) fn named_step(&self, raw: &str) -> Result<&Step, WorkflowRunError> {
        let id =
            StepId::parse(raw).map_err(|e| WorkflowRunError::invalid("step_id", e.reason()))?;
        self.step(id.as_str())
            .ok_or(WorkflowRunError::UnknownStep { step_id: id })
    }

    /// The current position, if it is `step` with an attempt under way, and that attempt is
    /// `attempt`.
    fn running(&self, step: &Step, attempt: u32) -> Result<&Position, WorkflowRunError> {
        let position = match &self.current {
            Some(p)
                if p.step_id == *step.id()
                    && !matches!(
                        p.phase,
                        StepPhase::Pending | StepPhase::RetryScheduled { .. }
                    ) =>
            {
                p
            }
            _ => {
                return Err(WorkflowRunError::StepNotStarted {
                    step_id: step.id().clone(),
                })
            }
        };
        if position.attempt != attempt {
            return Err(WorkflowRunError::AttemptMismatch {
                step_id: step.id().clone(),
                expected: position.attempt,
                given: attempt,
            });
        }
        Ok(position)
    }

    /// The events that end a step: its completion, and the run's if nothing follows.
    pub(super) fn finish_step(
        &self,
        position: &Position,
        outcome: StepOutcome,
        next_step: Option<StepId>,
    ) -> Vec<RunEvent> {
        let ends = next_step.is_none();
        let mut events = vec![RunEvent::StepCompleted(StepCompleted {
            step_id: position.step_id.clone(),
            attempt: position.attempt,
            outcome,
            next_step,
        })];
        if ends {
            events.push(RunEvent::Completed(RunCompleted {}));
        }
        events
    }

    fn start_step(&self, c: &StartStep, ctx: &DecisionContext) -> Decided {
        let step = self.named_step(&c.step_id)?;
        let Some(position) = self.current.as_ref().filter(|p| p.step_id == *step.id()) else {
            return Err(WorkflowRunError::StepNotNext {
                step_id: step.id().clone(),
                current: self
                    .current
                    .as_ref()
                    .map(|p| p.step_id.clone())
                    .unwrap_or_default(),
            });
        };
        match &position.phase {
            StepPhase::Pending => {}
            StepPhase::RetryScheduled { retry_at } if ctx.now < *retry_at => {
                return Err(WorkflowRunError::NotYet {
                    step_id: position.step_id.clone(),
                    until: *retry_at,
                })
            }
            StepPhase::RetryScheduled { .. } => {}
            StepPhase::Started | StepPhase::Waiting { .. } | StepPhase::AwaitingApproval(_) => {
                return Err(WorkflowRunError::StepAlreadyStarted {
                    step_id: position.step_id.clone(),
                    attempt: position.attempt,
                })
            }
        }
        let expected = position.attempt.saturating_add(1);
        if c.attempt != expected {
            return Err(WorkflowRunError::AttemptMismatch {
                step_id: position.step_id.clone(),
                expected,
                given: c.attempt,
            });
        }
        let mut events = vec![RunEvent::StepStarted(StepStarted {
            step_id: position.step_id.clone(),
            attempt: c.attempt,
        })];
        match step {
            Step::Approval(a) => events.push(RunEvent::ApprovalRequested(ApprovalRequested {
                step_id: a.id.clone(),
                approvers: a.approvers.clone(),
                required: a.required,
                deadline: after(ctx.now, a.timeout_seconds),
            })),
            Step::Wait(w) => events.push(RunEvent::Waiting(RunWaiting {
                step_id: w.id.clone(),
                until: after(ctx.now, w.seconds),
                reason: WaitReason::WaitStep,
            })),
            Step::Condition(_) | Step::Action(_) => {}
        }
        Ok(events)
    }

    fn complete_step(&self, c: &CompleteStep, ctx: &DecisionContext) -> Decided {
        let step = self.named_step(&c.step_id)?;
        let position = self.running(step, c.attempt)?;
        let refuse = |field: &'static str, what: &str| {
            WorkflowRunError::invalid(field, format!("must be absent for {what} step"))
        };
        let (outcome, next) = match step {
            Step::Approval(a) => {
                return Err(WorkflowRunError::DecidedByApprovals {
                    step_id: a.id.clone(),
                })
            }
            Step::Wait(w) => {
                if c.result.is_some() {
                    return Err(refuse("result", "a wait"));
                }
                if c.output.is_some() {
                    return Err(refuse("output", "a wait"));
                }
                if let StepPhase::Waiting { until } = position.phase {
                    if ctx.now < until {
                        return Err(WorkflowRunError::NotYet {
                            step_id: w.id.clone(),
                            until,
                        });
                    }
                }
                (StepOutcome::Waited, w.next.clone())
            }
            Step::Condition(s) => {
                if c.output.is_some() {
                    return Err(refuse("output", "a condition"));
                }
                let Some(result) = c.result else {
                    return Err(WorkflowRunError::invalid(
                        "result",
                        "is required to complete a condition step",
                    ));
                };
                let next = if result { &s.on_true } else { &s.on_false };
                (StepOutcome::Condition { result }, next.clone())
            }
            Step::Action(a) => {
                if c.result.is_some() {
                    return Err(refuse("result", "an action"));
                }
                if let Some(output) = &c.output {
                    check_json(output, "output", false)?;
                }
                let outcome = match &a.action {
                    Action::SetField { field, value, .. } => {
                        let Some(value) = c.output.clone().or_else(|| value.clone()) else {
                            return Err(WorkflowRunError::invalid(
                                "output",
                                "is required: it is the value this set_field step copies",
                            ));
                        };
                        StepOutcome::FieldSet {
                            field: field.clone(),
                            value,
                        }
                    }
                    _ => StepOutcome::Action {
                        output: c.output.clone().unwrap_or_default(),
                    },
                };
                (outcome, a.next.clone())
            }
        };
        Ok(self.finish_step(position, outcome, next))
    }

    fn fail_step(&self, c: &FailStep, ctx: &DecisionContext) -> Decided {
        let step = self.named_step(&c.step_id)?;
        let position = self.running(step, c.attempt)?;
        let error = message(&c.error, "error")?;
        let retry = match step {
            Step::Action(a) if c.attempt < a.retry.max_attempts => {
                Some(after(ctx.now, a.retry.backoff_after(c.attempt)))
            }
            _ => None,
        };
        let failed = RunEvent::StepFailed(StepFailed {
            step_id: position.step_id.clone(),
            attempt: c.attempt,
            error: error.clone(),
            retry_at: retry,
        });
        Ok(match retry {
            Some(until) => vec![
                failed,
                RunEvent::Waiting(RunWaiting {
                    step_id: position.step_id.clone(),
                    until,
                    reason: WaitReason::Retry,
                }),
            ],
            None => vec![
                failed,
                RunEvent::Failed(RunFailed {
                    reason: error,
                    step_id: Some(position.step_id.clone()),
                }),
            ],
        })
    }

    fn fail(&self, c: &FailRun) -> Decided {
        let reason = message(&c.reason, "reason")?;
        Ok(vec![RunEvent::Failed(RunFailed {
            reason,
            step_id: self.current.as_ref().map(|p| p.step_id.clone()),
        })])
    }
}
