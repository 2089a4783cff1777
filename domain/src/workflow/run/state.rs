//! The run's state, folded from its events: the pinned steps, where the run is, and what it
//! has gathered (its context, its approval outcomes).
//!
//! Where the run is: a [`Position`] names the current step, its attempt and its
//! [`StepPhase`]. Completing a step moves the position to the next step (phase `Pending`,
//! attempt 0) or, at the end, clears it. Fields are private so that the only way to change a
//! state is to apply an event.

use super::events::{ApprovalOutcome, DecidedBy, RunEvent, RunTrigger, StepOutcome, WaitReason};
use crate::ids::TenantId;
use crate::workflow::steps::{Approver, Step};
use crate::workflow::values::{FieldPath, Message, StepId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Not started: the state of an empty stream. Only starting is accepted.
    #[default]
    NotStarted,
    /// A step is next or under way.
    Running,
    /// Waiting until a time (a wait step, or the backoff before a retry).
    Waiting,
    /// Waiting for approvers.
    AwaitingApproval,
    /// Reached the end of its workflow.
    Completed,
    /// Failed for good.
    Failed,
    /// Stopped by someone.
    Cancelled,
}

impl RunStatus {
    /// The wire name (`running`, `awaiting_approval`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::NotStarted => "not_started",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::AwaitingApproval => "awaiting_approval",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the run is over (completed, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The run's current step and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    /// The step.
    pub step_id: StepId,
    /// The latest attempt started (0: none yet).
    pub attempt: u32,
    /// Where that attempt is.
    pub phase: StepPhase,
}

/// Where the current step's attempt is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum StepPhase {
    /// Reached, not started.
    Pending,
    /// Started, not finished.
    Started,
    /// A wait step, started, waiting until a time.
    Waiting {
        /// Until when.
        until: DateTime<Utc>,
    },
    /// An approval step, started, waiting for decisions.
    AwaitingApproval(OpenApproval),
    /// The attempt failed; the next may start at `retry_at`.
    RetryScheduled {
        /// When the next attempt may start.
        retry_at: DateTime<Utc>,
    },
}

/// An approval request and the approvals gathered so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenApproval {
    /// Who may decide.
    pub approvers: Vec<Approver>,
    /// How many approvals are needed.
    pub required: u32,
    /// When the timeout rule applies.
    pub deadline: DateTime<Utc>,
    /// The approvals so far, each with who approved: a member (with their role and the key
    /// they used) or a platform admin key.
    pub approved_by: Vec<DecidedBy>,
}

/// The workflow run aggregate's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRun {
    pub(super) tenant_id: TenantId,
    pub(super) run_id: Uuid,
    pub(super) workflow_id: Uuid,
    pub(super) definition_version: u32,
    pub(super) status: RunStatus,
    pub(super) steps: Vec<Step>,
    pub(super) trigger: RunTrigger,
    pub(super) input: Value,
    pub(super) context: Value,
    pub(super) current: Option<Position>,
    pub(super) approval_outcomes: BTreeMap<StepId, ApprovalOutcome>,
    pub(super) end_reason: Option<Message>,
}

impl WorkflowRun {
    /// The tenant it belongs to.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Its id.
    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// The workflow it runs.
    pub fn workflow_id(&self) -> Uuid {
        self.workflow_id
    }

    /// The definition version it is pinned to.
    pub fn definition_version(&self) -> u32 {
        self.definition_version
    }

    /// Where it is in its life.
    pub fn status(&self) -> RunStatus {
        self.status
    }

    /// The pinned steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// One pinned step.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id().as_str() == id)
    }

    /// What started it.
    pub fn trigger(&self) -> &RunTrigger {
        &self.trigger
    }

    /// Its input.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// What its `set_field` steps wrote.
    pub fn context(&self) -> &Value {
        &self.context
    }

    /// The current step, if the run is not over.
    pub fn current(&self) -> Option<&Position> {
        self.current.as_ref()
    }

    /// How each approval step decided so far ended (the latest visit of each).
    pub fn approval_outcomes(&self) -> &BTreeMap<StepId, ApprovalOutcome> {
        &self.approval_outcomes
    }

    /// Why the run failed or was cancelled.
    pub fn end_reason(&self) -> Option<&Message> {
        self.end_reason.as_ref()
    }

    /// The data conditions read, without `tenant` (which the engine adds from the tenant's
    /// current profile): `{"input": ..., "context": ..., "trigger": ...}`.
    pub fn data(&self) -> Value {
        let trigger = match &self.trigger {
            RunTrigger::Event { payload, .. } => payload.clone(),
            RunTrigger::Webhook { body, .. } => body.clone(),
            RunTrigger::Schedule { scheduled_for } => {
                serde_json::json!({ "scheduled_for": scheduled_for })
            }
            RunTrigger::Manual => Value::Object(Map::new()),
        };
        serde_json::json!({ "input": self.input, "context": self.context, "trigger": trigger })
    }

    /// Folds one event. Total: an event that does not fit the state is applied as far as it
    /// makes sense, never refused.
    pub(super) fn fold(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started(e) => {
                self.tenant_id = e.tenant_id;
                self.run_id = e.run_id;
                self.workflow_id = e.workflow_id;
                self.definition_version = e.definition_version;
                self.steps = e.steps.clone();
                self.trigger = e.trigger.clone();
                self.input = e.input.clone();
                self.context = Value::Object(Map::new());
                self.current = Some(pending(&e.first_step));
            }
            RunEvent::StepStarted(e) => {
                self.current = Some(Position {
                    step_id: e.step_id.clone(),
                    attempt: e.attempt,
                    phase: StepPhase::Started,
                });
            }
            RunEvent::ApprovalRequested(e) => {
                self.approval_outcomes.remove(&e.step_id);
                self.set_phase(StepPhase::AwaitingApproval(OpenApproval {
                    approvers: e.approvers.clone(),
                    required: e.required,
                    deadline: e.deadline,
                    approved_by: Vec::new(),
                }));
            }
            RunEvent::Approved(e) => {
                if let Some(Position {
                    phase: StepPhase::AwaitingApproval(open),
                    ..
                }) = &mut self.current
                {
                    open.approved_by.push(e.decided_by.clone());
                }
            }
            RunEvent::Rejected(_) | RunEvent::ApprovalTimedOut(_) => {}
            RunEvent::Waiting(e) => match e.reason {
                WaitReason::WaitStep => self.set_phase(StepPhase::Waiting { until: e.until }),
                WaitReason::Retry => {
                    self.set_phase(StepPhase::RetryScheduled { retry_at: e.until })
                }
            },
            RunEvent::StepFailed(e) => {
                if let Some(retry_at) = e.retry_at {
                    self.set_phase(StepPhase::RetryScheduled { retry_at });
                }
            }
            RunEvent::StepCompleted(e) => {
                match &e.outcome {
                    StepOutcome::Approval { outcome } => {
                        self.approval_outcomes.insert(e.step_id.clone(), *outcome);
                    }
                    StepOutcome::FieldSet { field, value } => self.set_context(field, value),
                    StepOutcome::Condition { .. } | StepOutcome::Action { .. } => {}
                    StepOutcome::Waited => {}
                }
                self.current = e.next_step.as_ref().map(pending);
            }
            RunEvent::Completed(_) => {
                self.current = None;
                self.status = RunStatus::Completed;
            }
            RunEvent::Failed(e) => {
                self.end_reason = Some(e.reason.clone());
                self.status = RunStatus::Failed;
            }
            RunEvent::Cancelled(e) => {
                self.end_reason = Some(e.reason.clone());
                self.status = RunStatus::Cancelled;
            }
        }
        if !self.status.is_finished() {
            self.status = match self.current.as_ref().map(|p| &p.phase) {
                Some(StepPhase::Waiting { .. } | StepPhase::RetryScheduled { .. }) => {
                    RunStatus::Waiting
                }
                Some(StepPhase::AwaitingApproval(_)) => RunStatus::AwaitingApproval,
                Some(StepPhase::Pending | StepPhase::Started) | None => RunStatus::Running,
            };
        }
    }

    fn set_phase(&mut self, phase: StepPhase) {
        if let Some(position) = &mut self.current {
            position.phase = phase;
        }
    }

    /// Writes `value` at `field` (below its `context.` root), creating objects on the way and
    /// replacing whatever non-object stood in the way.
    fn set_context(&mut self, field: &FieldPath, value: &Value) {
        let segments: Vec<&str> = field.segments().skip(1).collect();
        // `context` alone never passes the definition rules; never let it replace the context.
        if !segments.is_empty() {
            set_at(&mut self.context, &segments, value);
        }
    }
}

/// Writes `value` at `path` below `node`; recursion is bounded by the path's segment limit.
fn set_at(node: &mut Value, path: &[&str], value: &Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value.clone();
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        set_at(
            map.entry((*first).to_owned()).or_insert(Value::Null),
            rest,
            value,
        );
    }
}

fn pending(step_id: &StepId) -> Position {
    Position {
        step_id: step_id.clone(),
        attempt: 0,
        phase: StepPhase::Pending,
    }
}
