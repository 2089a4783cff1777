//! The facts a policy's stream records, named `policy.<fact>`, all at schema version 1.
//!
//! Every payload carries the tenant id (the platform's nil id for a platform-wide policy), the
//! policy id, its name and kind, so that read models and the audit trail need no other event to
//! place it. Payloads that create or put a version in force carry the whole document, so that a
//! read model of active policies is built from `policy.published` and `policy.deactivated`
//! alone. The kind is repeated next to the document (whose own tag also holds it) so consumers
//! can filter by kind without reading the rules.
//!
//! Ids are stored as hyphenated text (`#[serde(with = ...)]`), so the JSON view of a stored
//! payload shows them as such.

use super::rules::{PolicyDocument, PolicyKind};
use super::values::PolicyName;
use crate::event::Upcaster;
use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Stores a [`TenantId`] as hyphenated text, like the other ids of these payloads.
mod tenant_id_text {
    use crate::ids::TenantId;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &TenantId, serializer: S) -> Result<S::Ok, S::Error> {
        uuid::serde::hyphenated::serialize(&id.0, serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TenantId, D::Error> {
        uuid::serde::hyphenated::deserialize(deserializer).map(TenantId)
    }
}

/// A policy was drafted: its version 1 exists, not in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDrafted {
    /// The tenant it belongs to ([`TenantId::PLATFORM`] for a platform-wide policy).
    #[serde(with = "tenant_id_text")]
    pub tenant_id: TenantId,
    /// The policy's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub policy_id: Uuid,
    /// Its name.
    pub name: PolicyName,
    /// Its kind, fixed for good.
    pub kind: PolicyKind,
    /// Always 1.
    pub version: u32,
    /// The rules of version 1.
    pub document: PolicyDocument,
}

/// A new draft version was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRevised {
    /// The tenant it belongs to.
    #[serde(with = "tenant_id_text")]
    pub tenant_id: TenantId,
    /// The policy's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub policy_id: Uuid,
    /// Its name.
    pub name: PolicyName,
    /// Its kind.
    pub kind: PolicyKind,
    /// The new version's number: one more than the latest.
    pub version: u32,
    /// The new version's rules.
    pub document: PolicyDocument,
}

/// A version was put in force. Drafts older than it can no longer be published; the version
/// it replaced, if any, is out of force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyPublished {
    /// The tenant it belongs to.
    #[serde(with = "tenant_id_text")]
    pub tenant_id: TenantId,
    /// The policy's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub policy_id: Uuid,
    /// Its name.
    pub name: PolicyName,
    /// Its kind.
    pub kind: PolicyKind,
    /// The version now in force.
    pub version: u32,
    /// That version's rules.
    pub document: PolicyDocument,
    /// The version that was in force until now, if any.
    pub replaced_version: Option<u32>,
}

/// The active version was taken out of force; the policy has none now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDeactivated {
    /// The tenant it belongs to.
    #[serde(with = "tenant_id_text")]
    pub tenant_id: TenantId,
    /// The policy's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub policy_id: Uuid,
    /// Its name.
    pub name: PolicyName,
    /// Its kind.
    pub kind: PolicyKind,
    /// The version that was in force.
    pub version: u32,
}

/// The policy was archived; its stream accepts nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyArchived {
    /// The tenant it belongs to.
    #[serde(with = "tenant_id_text")]
    pub tenant_id: TenantId,
    /// The policy's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub policy_id: Uuid,
    /// Its name.
    pub name: PolicyName,
    /// Its kind.
    pub kind: PolicyKind,
    /// How many versions it had.
    pub versions: u32,
}

crate::domain_events! {
    /// Every fact of the policy aggregate.
    pub enum PolicyEvent {
        /// See [`PolicyDrafted`].
        Drafted(PolicyDrafted) = DRAFTED: "policy.drafted" v 1,
        /// See [`PolicyRevised`].
        Revised(PolicyRevised) = REVISED: "policy.revised" v 1,
        /// See [`PolicyPublished`].
        Published(PolicyPublished) = PUBLISHED: "policy.published" v 1,
        /// See [`PolicyDeactivated`].
        Deactivated(PolicyDeactivated) = DEACTIVATED: "policy.deactivated" v 1,
        /// See [`PolicyArchived`].
        Archived(PolicyArchived) = ARCHIVED: "policy.archived" v 1,
    }
}

// Every payload is still at version 1: nothing to upcast yet.
impl Upcaster for PolicyEvent {}
