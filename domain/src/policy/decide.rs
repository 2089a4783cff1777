//! The policy's decisions: `impl Aggregate for Policy`, the status gate every command passes,
//! and the rules of each command.
//!
//! Order of checks: first the status (so an archived policy refuses a command whatever its
//! content), then the command's values, then the rules that depend on the state. A revision
//! that would add nothing is refused with [`PolicyError::Unchanged`], so no empty versions are
//! stored. No decision reads the clock: versions are numbered, and the time of each fact is in
//! its event's metadata.

use super::commands::{DraftPolicy, PolicyCommand, PublishPolicy, RevisePolicy};
use super::error::PolicyError;
use super::events::{
    PolicyArchived, PolicyDeactivated, PolicyDrafted, PolicyEvent, PolicyPublished, PolicyRevised,
};
use super::state::{Policy, PolicyStatus, VersionStatus};
use super::values::PolicyName;
use crate::aggregate::{Aggregate, DecisionContext};

/// The most versions one policy may have: enough for years of weekly revisions, and a bound on
/// the state's size. Past it, a new policy is drafted instead.
pub const MAX_VERSIONS: u32 = 1_000;

/// What a decision returns.
pub(super) type Decided = Result<Vec<PolicyEvent>, PolicyError>;

impl Aggregate for Policy {
    type Command = PolicyCommand;
    type Event = PolicyEvent;
    type Error = PolicyError;

    const KIND: &'static str = "policy";
    const SNAPSHOT_VERSION: u16 = 1;

    fn decide(&self, command: &PolicyCommand, _ctx: &DecisionContext) -> Decided {
        self.check_status(command)?;
        match command {
            PolicyCommand::Draft(c) => draft(c),
            PolicyCommand::Revise(c) => self.revise(c),
            PolicyCommand::Publish(c) => self.publish(c),
            PolicyCommand::Deactivate(_) => self.deactivate(),
            PolicyCommand::Archive(_) => Ok(self.archive()),
        }
    }

    fn apply(&mut self, event: &PolicyEvent) {
        self.fold(event);
    }
}

fn draft(c: &DraftPolicy) -> Decided {
    if c.policy_id.is_nil() {
        return Err(PolicyError::invalid("policy_id", "must not be the nil id"));
    }
    let name = PolicyName::parse(&c.name).map_err(|e| PolicyError::invalid("name", e.reason()))?;
    let document = c.document.validate()?;
    Ok(vec![PolicyEvent::Drafted(PolicyDrafted {
        tenant_id: c.tenant_id,
        policy_id: c.policy_id,
        name,
        kind: document.kind(),
        version: 1,
        document,
    })])
}

impl Policy {
    /// The status gate: which commands the policy's status lets through at all.
    fn check_status(&self, command: &PolicyCommand) -> Result<(), PolicyError> {
        match (self.status, command) {
            (PolicyStatus::NotDrafted, PolicyCommand::Draft(_)) => Ok(()),
            (PolicyStatus::NotDrafted, _) => Err(PolicyError::NotFound),
            (_, PolicyCommand::Draft(_)) => Err(PolicyError::AlreadyExists),
            (PolicyStatus::Archived, _) => Err(PolicyError::Archived),
            (PolicyStatus::Inactive | PolicyStatus::Active, _) => Ok(()),
        }
    }

    fn revise(&self, c: &RevisePolicy) -> Decided {
        // The kind is checked before the rules: rules of the wrong kind are not worth reporting.
        let found = c.document.kind();
        if found != self.kind {
            return Err(PolicyError::KindMismatch {
                kind: self.kind,
                found,
            });
        }
        let document = c.document.validate()?;
        let count = u32::try_from(self.versions.len()).unwrap_or(u32::MAX);
        if count >= MAX_VERSIONS {
            return Err(PolicyError::TooManyVersions { max: MAX_VERSIONS });
        }
        // The same rules as a retired or superseded latest version are a real change: they are
        // how a past version is put back in force (published versions are never republished).
        if let Some(latest) = self.latest_version() {
            let pending_or_in_force =
                matches!(latest.status, VersionStatus::Draft | VersionStatus::Active);
            if pending_or_in_force && latest.document == document {
                return Err(PolicyError::Unchanged {
                    version: latest.number,
                });
            }
        }
        Ok(vec![PolicyEvent::Revised(PolicyRevised {
            tenant_id: self.tenant_id,
            policy_id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            version: count + 1,
            document,
        })])
    }

    fn publish(&self, c: &PublishPolicy) -> Decided {
        let version = self
            .version(c.version)
            .ok_or(PolicyError::VersionNotFound { version: c.version })?;
        match version.status {
            VersionStatus::Draft => {}
            VersionStatus::Active | VersionStatus::Retired => {
                return Err(PolicyError::VersionAlreadyPublished { version: c.version })
            }
            VersionStatus::Superseded => {
                return Err(PolicyError::VersionSuperseded {
                    version: c.version,
                    // A superseded draft exists only once something newer was published.
                    published: self.latest_published().unwrap_or(c.version),
                });
            }
        }
        Ok(vec![PolicyEvent::Published(PolicyPublished {
            tenant_id: self.tenant_id,
            policy_id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            version: version.number,
            document: version.document.clone(),
            replaced_version: self.active_version,
        })])
    }

    fn deactivate(&self) -> Decided {
        let version = self.active_version.ok_or(PolicyError::NotActive)?;
        Ok(vec![self.deactivated(version)])
    }

    fn deactivated(&self, version: u32) -> PolicyEvent {
        PolicyEvent::Deactivated(PolicyDeactivated {
            tenant_id: self.tenant_id,
            policy_id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            version,
        })
    }

    /// Archiving an active policy deactivates it first, in the same decision, so that read
    /// models of what is in force need only follow `policy.deactivated`.
    fn archive(&self) -> Vec<PolicyEvent> {
        let mut events = Vec::with_capacity(2);
        if let Some(version) = self.active_version {
            events.push(self.deactivated(version));
        }
        events.push(PolicyEvent::Archived(PolicyArchived {
            tenant_id: self.tenant_id,
            policy_id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            versions: u32::try_from(self.versions.len()).unwrap_or(u32::MAX),
        }));
        events
    }
}
