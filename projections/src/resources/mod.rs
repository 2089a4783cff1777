//! The resources read model: which policies, workflows, workflow runs and integrations each
//! tenant has, in the order they were created.
//!
//! Lists of a tenant's aggregates of a kind read their ids here instead of scanning the
//! tenant's slice of the log (whose length grows with every usage sample and command). Each
//! aggregate's state still comes from its own stream, through the command side's cache.
//!
//! - [`project`]: the `resources` projection (table `resources`).
//! - [`query`]: a tenant's ids of one kind, with the position they are complete up to, so a
//!   caller can read the few events after it from the log and never miss a fresh write.

pub mod project;
pub mod query;

pub use project::ResourcesProjection;
pub use query::{list, Listing};

use keel_domain::integration::Integration;
use keel_domain::integration::IntegrationEvent;
use keel_domain::policy::Policy;
use keel_domain::policy::PolicyEvent;
use keel_domain::workflow::RunEvent;
use keel_domain::workflow::WorkflowEvent;
use keel_domain::workflow::{WorkflowDefinition, WorkflowRun};
use keel_domain::Aggregate;

/// A kind of aggregate the read model indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// Policies (`policy-<id>`), a tenant's or the platform's.
    Policy,
    /// Workflow definitions (`workflow-<id>`).
    Workflow,
    /// Workflow runs (`workflow_run-<id>`).
    WorkflowRun,
    /// Integrations (`integration-<id>`).
    Integration,
}

impl ResourceKind {
    /// Every kind.
    pub const ALL: [ResourceKind; 4] = [
        ResourceKind::Policy,
        ResourceKind::Workflow,
        ResourceKind::WorkflowRun,
        ResourceKind::Integration,
    ];

    /// The aggregate kind: the prefix of its stream ids (`<kind>-<id>`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Policy => Policy::KIND,
            ResourceKind::Workflow => WorkflowDefinition::KIND,
            ResourceKind::WorkflowRun => WorkflowRun::KIND,
            ResourceKind::Integration => Integration::KIND,
        }
    }

    /// The event that creates an aggregate of this kind: its stream's first event.
    pub fn created_event(self) -> &'static str {
        match self {
            ResourceKind::Policy => PolicyEvent::DRAFTED,
            ResourceKind::Workflow => WorkflowEvent::DEFINED,
            ResourceKind::WorkflowRun => RunEvent::STARTED,
            ResourceKind::Integration => IntegrationEvent::REGISTERED,
        }
    }

    /// The kind an event of type `event_type` creates, if it creates one.
    pub fn created_by(event_type: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|kind| kind.created_event() == event_type)
    }

    /// The aggregate id in `stream_id`, if the stream is of this kind (`<kind>-<uuid>`).
    pub fn id_in(self, stream_id: &str) -> Option<uuid::Uuid> {
        stream_id
            .strip_prefix(self.as_str())?
            .strip_prefix('-')?
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_created_by_its_own_event() {
        for kind in ResourceKind::ALL {
            assert_eq!(ResourceKind::created_by(kind.created_event()), Some(kind));
        }
        assert_eq!(ResourceKind::created_by("policy.published"), None);
    }

    #[test]
    fn ids_are_read_only_from_streams_of_the_kind() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            ResourceKind::Workflow.id_in(&format!("workflow-{id}")),
            Some(id)
        );
        // `workflow_run-...` begins with `workflow` too: the dash after the kind tells them apart.
        assert_eq!(
            ResourceKind::Workflow.id_in(&format!("workflow_run-{id}")),
            None
        );
        assert_eq!(
            ResourceKind::WorkflowRun.id_in(&format!("workflow_run-{id}")),
            Some(id)
        );
        assert_eq!(ResourceKind::Policy.id_in("policy-not-a-uuid"), None);
    }
}
