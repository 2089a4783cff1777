//! The workflow definition aggregate (`KIND = "workflow"`): what a tenant's workflow does, in
//! numbered versions.
//!
//! Life cycle: `define` records version 1, disabled; `revise` records a new version (the
//! previous number plus one) with a new name, trigger and steps; `enable` and `disable` say
//! whether it starts runs; `archive` retires it for good. A revision identical to the current
//! version is refused with [`WorkflowError::Unchanged`].
//!
//! Runs are a separate aggregate ([`WorkflowRun`](crate::workflow::run::WorkflowRun)). To start
//! one, the caller pins the definition's current version with [`WorkflowDefinition::pinned`]
//! and passes it in the run's start command; the copy says whether the workflow was enabled,
//! and the run refuses to start from a disabled one.
//!
//! Layout:
//! - [`input`]: the raw trigger and step shapes commands carry (the JSON the API accepts).
//! - [`commands`]: [`WorkflowCommand`] and one struct per command.
//! - `convert` and `actions`: the checks that turn input into validated triggers and steps.
//! - [`events`]: [`WorkflowEvent`] and its payloads (`workflow.<fact>`, version 1).
//! - [`state`]: the [`WorkflowDefinition`] state and [`PinnedDefinition`].
//! - `decide`: the rules (`impl Aggregate for WorkflowDefinition`).
//! - [`error`]: [`WorkflowError`], a variant per rule.
#![deny(missing_docs)]

mod actions;
pub mod commands;
mod convert;
mod decide;
pub mod error;
pub mod events;
pub mod input;
pub mod state;

#[cfg(test)]
mod tests;

pub use commands::{
    ArchiveWorkflow, DefineWorkflow, DisableWorkflow, EnableWorkflow, ReviseWorkflow,
    WorkflowCommand,
};
pub use convert::{MAX_DURATION_SECONDS, MAX_JSON_BYTES, MAX_PARTIES, MIN_APPROVAL_SECONDS};
pub use error::WorkflowError;
pub use events::{
    WorkflowArchived, WorkflowDefined, WorkflowDisabled, WorkflowEnabled, WorkflowEvent,
    WorkflowRevised,
};
pub use input::{
    ActionInput, ApproverInput, OnTimeoutInput, RecipientInput, RetryInput, StepInput, TriggerInput,
};
pub use state::{DefinitionStatus, PinnedDefinition, WorkflowDefinition};
