//! The workflow definition's state, folded from its events, and the pinned copy of it a run
//! starts from.
//!
//! The state holds the current version only; earlier versions are in the stream's events.
//! Fields are private so that the only way to change a state is to apply an event.

use super::events::WorkflowEvent;
use crate::ids::TenantId;
use crate::workflow::steps::Step;
use crate::workflow::trigger::Trigger;
use crate::workflow::values::WorkflowName;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a definition is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionStatus {
    /// Not defined yet: the state of an empty stream. Only defining is accepted.
    #[default]
    NotDefined,
    /// Defined, and not starting runs (the status after defining and after disabling).
    Disabled,
    /// Starting runs.
    Enabled,
    /// Retired for good; refuses everything.
    Archived,
}

impl DefinitionStatus {
    /// The wire name (`not_defined`, `disabled`, `enabled`, `archived`).
    pub fn as_str(&self) -> &'static str {
        match self {
            DefinitionStatus::NotDefined => "not_defined",
            DefinitionStatus::Disabled => "disabled",
            DefinitionStatus::Enabled => "enabled",
            DefinitionStatus::Archived => "archived",
        }
    }
}

/// The workflow definition aggregate's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDefinition {
    pub(super) tenant_id: TenantId,
    pub(super) workflow_id: Uuid,
    pub(super) status: DefinitionStatus,
    pub(super) version: u32,
    pub(super) name: WorkflowName,
    pub(super) trigger: Trigger,
    pub(super) steps: Vec<Step>,
}

/// One version of a definition, as a run starts from it: built by the caller with
/// [`WorkflowDefinition::pinned`] from the definition's current state, and carried whole by the
/// run's start command, so the run can be decided without reading the definition.
///
/// `enabled` travels with it: the run refuses to start from a definition that was not enabled
/// when it was pinned, so the check cannot be forgotten by a caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedDefinition {
    /// The tenant the workflow belongs to.
    pub tenant_id: TenantId,
    /// The workflow's id.
    pub workflow_id: Uuid,
    /// The version pinned.
    pub version: u32,
    /// Whether the workflow was enabled when pinned.
    pub enabled: bool,
    /// That version's trigger.
    pub trigger: Trigger,
    /// That version's steps.
    pub steps: Vec<Step>,
}

impl WorkflowDefinition {
    /// Whether the workflow has been defined (in any status since).
    pub fn exists(&self) -> bool {
        self.status != DefinitionStatus::NotDefined
    }

    /// The tenant it belongs to (the platform id before definition).
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Its id (nil before definition).
    pub fn workflow_id(&self) -> Uuid {
        self.workflow_id
    }

    /// Where it is in its life.
    pub fn status(&self) -> DefinitionStatus {
        self.status
    }

    /// Whether it may start runs.
    pub fn is_enabled(&self) -> bool {
        self.status == DefinitionStatus::Enabled
    }

    /// The current version (0 before definition).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The current name.
    pub fn name(&self) -> &WorkflowName {
        &self.name
    }

    /// What starts runs of the current version.
    pub fn trigger(&self) -> &Trigger {
        &self.trigger
    }

    /// The current version's steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The current version, pinned for a run to start from; `None` before definition.
    pub fn pinned(&self) -> Option<PinnedDefinition> {
        self.exists().then(|| PinnedDefinition {
            tenant_id: self.tenant_id,
            workflow_id: self.workflow_id,
            version: self.version,
            enabled: self.is_enabled(),
            trigger: self.trigger.clone(),
            steps: self.steps.clone(),
        })
    }

    /// Folds one event. Total: an event that does not fit the state is applied as far as it
    /// makes sense, never refused.
    pub(super) fn fold(&mut self, event: &WorkflowEvent) {
        match event {
            WorkflowEvent::Defined(e) => {
                self.tenant_id = e.tenant_id;
                self.workflow_id = e.workflow_id;
                self.status = DefinitionStatus::Disabled;
                self.version = e.version;
                self.name = e.name.clone();
                self.trigger = e.trigger.clone();
                self.steps = e.steps.clone();
            }
            WorkflowEvent::Revised(e) => {
                self.version = e.version;
                self.name = e.name.clone();
                self.trigger = e.trigger.clone();
                self.steps = e.steps.clone();
            }
            WorkflowEvent::Enabled(_) => self.status = DefinitionStatus::Enabled,
            WorkflowEvent::Disabled(_) => self.status = DefinitionStatus::Disabled,
            WorkflowEvent::Archived(_) => self.status = DefinitionStatus::Archived,
        }
    }
}
