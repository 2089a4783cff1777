//! The policy's state, folded from its events: its identity, and every version with its rules
//! and status.
//!
//! The state is what `decide` needs to enforce the rules and what the API may show; it is also
//! stored as a snapshot, so it is serializable and its shape is versioned by
//! [`Policy::SNAPSHOT_VERSION`](crate::Aggregate::SNAPSHOT_VERSION). Fields are private so that
//! the only way to change a state is to apply an event; read accessors expose everything.

use super::evaluate::ActivePolicy;
use super::events::PolicyEvent;
use super::rules::{PolicyDocument, PolicyKind};
use super::values::PolicyName;
use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a policy is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    /// Not drafted yet: the state of an empty stream. Only drafting is accepted.
    #[default]
    NotDrafted,
    /// Drafted, with no version in force (never published, or deactivated).
    Inactive,
    /// One version is in force.
    Active,
    /// Archived for good; refuses everything.
    Archived,
}

/// Where one version is in its life. A version's rules never change; only its status does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Not published yet; may be published.
    Draft,
    /// Published and in force (at most one version at a time).
    Active,
    /// Published once, no longer in force (replaced or deactivated). Never published again.
    Retired,
    /// A draft older than a version published after it was made; never published.
    Superseded,
}

/// One immutable version of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// Its number: 1 for the draft, then one more per revision.
    pub number: u32,
    /// Its rules.
    pub document: PolicyDocument,
    /// Where it is in its life.
    pub status: VersionStatus,
}

impl PolicyVersion {
    /// Whether it was ever published (it is active or retired).
    pub fn was_published(&self) -> bool {
        matches!(self.status, VersionStatus::Active | VersionStatus::Retired)
    }
}

/// The policy aggregate's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub(super) id: Uuid,
    pub(super) tenant_id: TenantId,
    pub(super) status: PolicyStatus,
    pub(super) name: PolicyName,
    pub(super) kind: PolicyKind,
    /// Every version, in order: version `n` is at index `n - 1`.
    pub(super) versions: Vec<PolicyVersion>,
    pub(super) active_version: Option<u32>,
}

impl Policy {
    /// Whether the policy has been drafted (in any status since).
    pub fn exists(&self) -> bool {
        self.status != PolicyStatus::NotDrafted
    }

    /// The policy's id (nil before drafting).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The tenant it belongs to; [`TenantId::PLATFORM`] for a platform-wide policy.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Whether it is platform-wide.
    pub fn is_platform_wide(&self) -> bool {
        self.tenant_id.is_platform()
    }

    /// Where the policy is in its life.
    pub fn status(&self) -> PolicyStatus {
        self.status
    }

    /// Its name (empty before drafting).
    pub fn name(&self) -> &PolicyName {
        &self.name
    }

    /// Its kind (meaningless before drafting).
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[PolicyVersion] {
        &self.versions
    }

    /// One version by number.
    pub fn version(&self, number: u32) -> Option<&PolicyVersion> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        self.versions.get(index)
    }

    /// The newest version.
    pub fn latest_version(&self) -> Option<&PolicyVersion> {
        self.versions.last()
    }

    /// The version in force, if any.
    pub fn active_version(&self) -> Option<&PolicyVersion> {
        self.active_version.and_then(|number| self.version(number))
    }

    /// The newest version ever published, if any.
    pub fn latest_published(&self) -> Option<u32> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.was_published())
            .map(|v| v.number)
    }

    /// The version in force as evaluation takes it, if any.
    pub fn active(&self) -> Option<ActivePolicy> {
        let version = self.active_version()?;
        Some(ActivePolicy {
            tenant_id: self.tenant_id,
            policy_id: self.id,
            name: self.name.clone(),
            version: version.number,
            document: version.document.clone(),
        })
    }

    /// Folds one event into the state. Total: an event about something the state does not hold
    /// (which a valid stream never contains) changes nothing rather than failing.
    pub(super) fn fold(&mut self, event: &PolicyEvent) {
        match event {
            PolicyEvent::Drafted(e) => {
                self.id = e.policy_id;
                self.tenant_id = e.tenant_id;
                self.status = PolicyStatus::Inactive;
                self.name = e.name.clone();
                self.kind = e.document.kind();
                // Version 1 whatever the payload says, so "version n at index n - 1" holds.
                self.versions = vec![PolicyVersion {
                    number: 1,
                    document: e.document.clone(),
                    status: VersionStatus::Draft,
                }];
                self.active_version = None;
            }
            PolicyEvent::Revised(e) => {
                // Keeps "version n at index n - 1" true whatever the stream holds.
                if usize::try_from(e.version).ok() == Some(self.versions.len() + 1) {
                    self.versions.push(PolicyVersion {
                        number: e.version,
                        document: e.document.clone(),
                        status: VersionStatus::Draft,
                    });
                }
            }
            PolicyEvent::Published(e) => {
                if self.version(e.version).is_none() {
                    return;
                }
                for version in &mut self.versions {
                    version.status = match version.status {
                        _ if version.number == e.version => VersionStatus::Active,
                        VersionStatus::Active => VersionStatus::Retired,
                        VersionStatus::Draft if version.number < e.version => {
                            VersionStatus::Superseded
                        }
                        unchanged => unchanged,
                    };
                }
                self.active_version = Some(e.version);
                self.status = PolicyStatus::Active;
            }
            PolicyEvent::Deactivated(_) => {
                for version in &mut self.versions {
                    if version.status == VersionStatus::Active {
                        version.status = VersionStatus::Retired;
                    }
                }
                self.active_version = None;
                self.status = PolicyStatus::Inactive;
            }
            // Versions are kept as they were, so the final picture can still be shown.
            PolicyEvent::Archived(_) => self.status = PolicyStatus::Archived,
        }
    }
}
