//! The workflow run aggregate (`KIND = "workflow_run"`): one execution of a workflow, pinned to
//! the definition version it started on and driven step by step through commands.
//!
//! How a run moves (each arrow is a command, bracketed events are recorded with it):
//!
//! ```text
//! start ─► step pending ─start_step─► started ─complete_step─► next step pending ... ─► completed
//!                                        │  └─fail_step─► retry at t (waiting) ─start_step─► ...
//!                                        │            └─► failed (no attempts left)
//!          approval step: start_step [approval_requested] ─approve×required─► next
//!                                                          ─reject─► on_rejected
//!                                                          ─time_out_approval─► timeout rule
//!          wait step:     start_step [waiting until t] ─complete_step (at or after t)─► next
//! fail, cancel: end the run from anywhere.
//! ```
//!
//! A step without a successor ends the run: completing it records `workflow_run.completed` in
//! the same decision. Attempt numbers start at 1 each time a step is reached.
//!
//! Layout:
//! - [`commands`]: [`RunCommand`] and one struct per command.
//! - [`events`]: [`RunEvent`] and its payloads (`workflow_run.<fact>`) and their upcasters.
//! - [`state`]: the [`WorkflowRun`] state.
//! - `decide`, `start` and `approvals`: the rules (`impl Aggregate for WorkflowRun`).
//! - [`error`]: [`WorkflowRunError`], a variant per rule.
#![deny(missing_docs)]

mod approvals;
pub mod commands;
mod decide;
pub mod error;
pub mod events;
mod start;
pub mod state;

#[cfg(test)]
mod tests;

pub use commands::{
    ApproveStep, CancelRun, CompleteStep, Decider, FailRun, FailStep, RejectStep, RunCommand,
    RunTriggerInput, StartRun, StartStep, TimeOutApproval,
};
pub use error::WorkflowRunError;
pub use events::{
    ApprovalOutcome, ApprovalRequested, ApprovalTimedOut, DecidedBy, DeciderId, RunCancelled,
    RunCompleted, RunEvent, RunFailed, RunStarted, RunTrigger, RunWaiting, StepApproved,
    StepCompleted, StepFailed, StepOutcome, StepRejected, StepStarted, WaitReason,
};
pub use start::MAX_RUN_JSON_BYTES;
pub use state::{OpenApproval, Position, RunStatus, StepPhase, WorkflowRun};
