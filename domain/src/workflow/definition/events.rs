//! The facts a workflow definition's stream records, named `workflow.<fact>`.
//!
//! Schema versions: `workflow.defined` and `workflow.revised` are at version 2, since approval
//! steps say whether platform admins may decide (`platform_admins_may_approve`); a version 1
//! payload is upcast with `false`, the only behaviour it knew.
//!
//! A definition or revision carries the whole version (name, trigger, steps), so any version
//! can be read back from its one event, and a run can be checked against the version it pinned.

use crate::event::{EventCodecError, Upcaster};
use crate::ids::TenantId;
use crate::workflow::steps::{upcast_steps_without_platform_admins, Step};
use crate::workflow::trigger::Trigger;
use crate::workflow::values::WorkflowName;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A workflow was defined, at version 1, disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDefined {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub workflow_id: Uuid,
    /// Its version: always 1.
    pub version: u32,
    /// Its name.
    pub name: WorkflowName,
    /// What starts its runs.
    pub trigger: Trigger,
    /// Its steps; runs begin at the first.
    pub steps: Vec<Step>,
}

/// A new version of the workflow replaced the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRevised {
    /// The new version number (the previous plus one).
    pub version: u32,
    /// The name.
    pub name: WorkflowName,
    /// What starts its runs.
    pub trigger: Trigger,
    /// Its steps; runs begin at the first.
    pub steps: Vec<Step>,
}

/// The workflow may start runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowEnabled {
    /// The version current when it was enabled.
    pub version: u32,
}

/// The workflow no longer starts runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDisabled {
    /// The version current when it was disabled.
    pub version: u32,
}

/// The workflow was retired for good.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowArchived {}

crate::domain_events! {
    /// Every fact of the workflow definition aggregate.
    pub enum WorkflowEvent {
        /// See [`WorkflowDefined`].
        Defined(WorkflowDefined) = DEFINED: "workflow.defined" v 2,
        /// See [`WorkflowRevised`].
        Revised(WorkflowRevised) = REVISED: "workflow.revised" v 2,
        /// See [`WorkflowEnabled`].
        Enabled(WorkflowEnabled) = ENABLED: "workflow.enabled" v 1,
        /// See [`WorkflowDisabled`].
        Disabled(WorkflowDisabled) = DISABLED: "workflow.disabled" v 1,
        /// See [`WorkflowArchived`].
        Archived(WorkflowArchived) = ARCHIVED: "workflow.archived" v 1,
    }
}

impl Upcaster for WorkflowEvent {
    fn upcast(
        event_type: &str,
        from_version: u16,
        mut payload: serde_json::Value,
    ) -> Result<serde_json::Value, EventCodecError> {
        match (event_type, from_version) {
            (WorkflowEvent::DEFINED | WorkflowEvent::REVISED, 1) => {
                upcast_steps_without_platform_admins(&mut payload);
                Ok(payload)
            }
            _ => Err(EventCodecError::NoUpcaster {
                event_type: event_type.into(),
                version: from_version,
            }),
        }
    }
}
