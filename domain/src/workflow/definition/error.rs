//! Why the workflow definition aggregate refuses a command: one closed enum, a variant per rule.
//!
//! Messages are written for the person who sent the command. [`WorkflowError::field`] names the
//! command field a refusal is about, as a path into the command's JSON (e.g.
//! `steps[2].condition`), and [`WorkflowError::code`] gives a stable machine-readable code.

use crate::workflow::expression::ExpressionError;
use crate::workflow::graph::StepsError;

/// A refusal of a workflow definition command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkflowError {
    /// The workflow has not been defined, and only defining it is possible.
    #[error("workflow does not exist")]
    NotFound,
    /// Defining was asked for a workflow that already exists (in any status).
    #[error("workflow already exists")]
    AlreadyExists,
    /// A command field holds a value that breaks its format or range rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The field, as a path into the command's JSON (e.g. `steps[0].id`).
        field: String,
        /// What is wrong, phrased to follow the field name.
        reason: String,
    },
    /// A condition does not parse.
    #[error("{field} is not a valid condition: {error}")]
    InvalidCondition {
        /// The field holding the condition (e.g. `steps[1].condition`, `trigger.filter`).
        field: String,
        /// Where and why it does not parse.
        error: ExpressionError,
    },
    /// The steps do not form a valid workflow (a missing step, a loop without a wait, an
    /// unknown field, ...).
    #[error(transparent)]
    Steps(#[from] StepsError),
    /// A revision identical to the current version; refused so that versions always differ.
    #[error("nothing to change: the revision is identical to version {version}")]
    Unchanged {
        /// The current version.
        version: u32,
    },
    /// Enabling a workflow that is enabled.
    #[error("workflow is already enabled")]
    AlreadyEnabled,
    /// Disabling a workflow that is disabled.
    #[error("workflow is already disabled")]
    AlreadyDisabled,
    /// The workflow is archived, which is final.
    #[error("workflow is archived and can no longer be changed")]
    Archived,
}

impl WorkflowError {
    /// The command field this refusal is about, if it is about one (for the HTTP layer).
    pub fn field(&self) -> Option<&str> {
        match self {
            WorkflowError::Invalid { field, .. }
            | WorkflowError::InvalidCondition { field, .. } => Some(field),
            WorkflowError::Steps(_) => Some("steps"),
            WorkflowError::NotFound
            | WorkflowError::AlreadyExists
            | WorkflowError::Unchanged { .. }
            | WorkflowError::AlreadyEnabled
            | WorkflowError::AlreadyDisabled
            | WorkflowError::Archived => None,
        }
    }

    /// A stable snake_case code for this kind of refusal (e.g. `invalid`, `cycle_without_wait`).
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::NotFound => "not_found",
            WorkflowError::AlreadyExists => "already_exists",
            WorkflowError::Invalid { .. } => "invalid",
            WorkflowError::InvalidCondition { .. } => "invalid_condition",
            WorkflowError::Steps(e) => e.code(),
            WorkflowError::Unchanged { .. } => "unchanged",
            WorkflowError::AlreadyEnabled => "already_enabled",
            WorkflowError::AlreadyDisabled => "already_disabled",
            WorkflowError::Archived => "archived",
        }
    }

    /// A refusal of `field` for the given reason.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        WorkflowError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl crate::Refusal for WorkflowError {
    fn kind(&self) -> crate::RefusalKind {
        match self {
            WorkflowError::Invalid { .. }
            | WorkflowError::InvalidCondition { .. }
            | WorkflowError::Steps(_) => crate::RefusalKind::Invalid,
            WorkflowError::NotFound => crate::RefusalKind::NotFound,
            WorkflowError::AlreadyExists
            | WorkflowError::Unchanged { .. }
            | WorkflowError::AlreadyEnabled
            | WorkflowError::AlreadyDisabled
            | WorkflowError::Archived => crate::RefusalKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        WorkflowError::code(self)
    }

    fn field(&self) -> Option<String> {
        WorkflowError::field(self).map(str::to_owned)
    }
}
