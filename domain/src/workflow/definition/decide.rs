//! The definition's decisions: `impl Aggregate for WorkflowDefinition`.
//!
//! Order of checks: first the status (an archived workflow refuses everything, whatever the
//! command's content), then the command's values, then the rules that depend on the state.

use super::commands::{DefineWorkflow, ReviseWorkflow, WorkflowCommand};
use super::convert;
use super::error::WorkflowError;
use super::events::{
    WorkflowArchived, WorkflowDefined, WorkflowDisabled, WorkflowEnabled, WorkflowEvent,
    WorkflowRevised,
};
use super::state::{DefinitionStatus, WorkflowDefinition};
use crate::aggregate::{Aggregate, DecisionContext};
use crate::workflow::values::WorkflowName;

/// What a decision returns.
type Decision = Result<Vec<WorkflowEvent>, WorkflowError>;

impl Aggregate for WorkflowDefinition {
    type Command = WorkflowCommand;
    type Event = WorkflowEvent;
    type Error = WorkflowError;

    const KIND: &'static str = "workflow";
    const SNAPSHOT_VERSION: u16 = 2;

    fn decide(&self, command: &WorkflowCommand, _ctx: &DecisionContext) -> Decision {
        self.check_status(command)?;
        match command {
            WorkflowCommand::Define(c) => define(c),
            WorkflowCommand::Revise(c) => self.revise(c),
            WorkflowCommand::Enable(_) => self.enable(),
            WorkflowCommand::Disable(_) => self.disable(),
            WorkflowCommand::Archive(_) => Ok(vec![WorkflowEvent::Archived(WorkflowArchived {})]),
        }
    }

    fn apply(&mut self, event: &WorkflowEvent) {
        self.fold(event);
    }
}

fn define(c: &DefineWorkflow) -> Decision {
    if c.tenant_id.is_platform() {
        return Err(WorkflowError::invalid(
            "tenant_id",
            "must not be the platform (nil) id: a workflow belongs to a tenant",
        ));
    }
    if c.workflow_id.is_nil() {
        return Err(WorkflowError::invalid(
            "workflow_id",
            "must not be the nil id",
        ));
    }
    let name =
        WorkflowName::parse(&c.name).map_err(|e| WorkflowError::invalid("name", e.reason()))?;
    let trigger = convert::trigger(&c.trigger)?;
    let steps = convert::steps(&c.steps)?;
    Ok(vec![WorkflowEvent::Defined(WorkflowDefined {
        tenant_id: c.tenant_id,
        workflow_id: c.workflow_id,
        version: 1,
        name,
        trigger,
        steps,
    })])
}

impl WorkflowDefinition {
    /// The status gate: which commands the definition's status lets through at all.
    fn check_status(&self, command: &WorkflowCommand) -> Result<(), WorkflowError> {
        match (self.status, command) {
            (DefinitionStatus::NotDefined, WorkflowCommand::Define(_)) => Ok(()),
            (DefinitionStatus::NotDefined, _) => Err(WorkflowError::NotFound),
            (_, WorkflowCommand::Define(_)) => Err(WorkflowError::AlreadyExists),
            (DefinitionStatus::Archived, _) => Err(WorkflowError::Archived),
            (DefinitionStatus::Disabled | DefinitionStatus::Enabled, _) => Ok(()),
        }
    }

    fn revise(&self, c: &ReviseWorkflow) -> Decision {
        let name =
            WorkflowName::parse(&c.name).map_err(|e| WorkflowError::invalid("name", e.reason()))?;
        let trigger = convert::trigger(&c.trigger)?;
        let steps = convert::steps(&c.steps)?;
        if name == self.name && trigger == self.trigger && steps == self.steps {
            return Err(WorkflowError::Unchanged {
                version: self.version,
            });
        }
        Ok(vec![WorkflowEvent::Revised(WorkflowRevised {
            version: self.version.saturating_add(1),
            name,
            trigger,
            steps,
        })])
    }

    fn enable(&self) -> Decision {
        if self.status == DefinitionStatus::Enabled {
            return Err(WorkflowError::AlreadyEnabled);
        }
        Ok(vec![WorkflowEvent::Enabled(WorkflowEnabled {
            version: self.version,
        })])
    }

    fn disable(&self) -> Decision {
        if self.status == DefinitionStatus::Disabled {
            return Err(WorkflowError::AlreadyDisabled);
        }
        Ok(vec![WorkflowEvent::Disabled(WorkflowDisabled {
            version: self.version,
        })])
    }
}
