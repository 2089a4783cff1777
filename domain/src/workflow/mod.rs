//! Workflows: a tenant's automations, as two aggregates.
//!
//! - [`definition`]: the [`WorkflowDefinition`] stream (`workflow-<id>`): what a workflow
//!   does (its trigger and steps), in numbered versions, enabled or not.
//! - [`run`]: the [`WorkflowRun`] stream (`workflow_run-<id>`): one execution, pinned to the
//!   definition version it started on, driven step by step through commands.
//!
//! Both belong to one tenant. The engine that reacts to triggers and performs actions comes
//! later; it reads these aggregates' events and drives runs with their commands, so everything
//! it needs is recorded here: the pinned steps, the trigger and input, each attempt, each
//! approval decision, each deadline.
//!
//! Shared pieces:
//! - [`steps`] and [`trigger`]: the validated shapes of a workflow;
//! - [`graph`]: the rules the steps obey as a whole (no missing step, no loop without a wait,
//!   only known field roots: `input.`, `context.`, `trigger.`, `tenant.`);
//! - [`expression`]: the condition language and its parser;
//! - [`cron`]: schedule expressions;
//! - [`values`]: validated names, ids and texts.
#![deny(missing_docs)]

pub mod cron;
pub mod definition;
pub mod expression;
pub mod graph;
pub mod run;
pub mod steps;
pub mod trigger;
pub mod values;

#[cfg(test)]
mod tests;

pub use cron::CronExpression;
pub use definition::{
    DefinitionStatus, PinnedDefinition, WorkflowCommand, WorkflowDefinition, WorkflowError,
    WorkflowEvent,
};
pub use expression::{Condition, ExpressionError, ExpressionProblem};
pub use graph::StepsError;
pub use run::{RunCommand, RunEvent, RunStatus, WorkflowRun, WorkflowRunError};
pub use steps::{
    Action, ActionStep, ApprovalStep, Approver, CommandTarget, ConditionStep, OnTimeout, Recipient,
    RetryPolicy, Step, WaitStep,
};
pub use trigger::Trigger;
pub use values::{
    EventType, FieldPath, HookName, InvalidValue, Message, OperationName, StepId, Subject,
    WorkflowName, KNOWN_ROOTS,
};
