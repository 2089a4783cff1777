//! The facts a tenant's stream records, named `tenant.<fact>`; each type's schema version is
//! in [`TenantEvent`], and [`Upcaster`] lifts older payloads. Stored version-1 payloads of
//! `tenant.domain_added` and `tenant.domain_verified` are upcast with no token and no proof:
//! such a domain was verified before proof was required, and is un-verified on upgrade.
//!
//! Payloads carry what the read side needs to build its views without consulting the state
//! (names, emails and roles, not only ids). They hold validated values, and never a secret: an
//! API key is recorded by its hash and display prefix.
//!
//! Ids are stored as hyphenated text (`#[serde(with = ...)]`): a `Uuid`'s own serde form is a
//! byte array in MessagePack, which the JSON view of stored payloads cannot show.

use super::domain_proof::{ChallengeToken, DnsProof};
use super::keys::{KeyName, KeyPrefix, Scope, SecretHash};
use super::settings::{HexColor, Locale, LogoUrl, Timezone};
use super::values::{DomainName, FlagName, Region, TenantName, TenantSlug};
use crate::event::{EventCodecError, Upcaster};
use crate::ids::TenantId;
use crate::shared::{Email, MeterName, Reason};
use crate::shared::{Plan, Role};
use chrono::{DateTime, Utc};
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

/// A tenant came into being. Its first owner is recorded by the [`MemberAdded`] that follows it
/// in the same decision; the owner's email is repeated here for views that list tenants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantCreated {
    /// The tenant's id.
    #[serde(with = "tenant_id_text")]
    pub tenant_id: TenantId,
    /// Its name.
    pub name: TenantName,
    /// Its unique handle (claimed in the `tenant-slug` scope).
    pub slug: TenantSlug,
    /// Its initial plan.
    pub plan: Plan,
    /// Where its data lives.
    pub data_region: Region,
    /// The first owner's member id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub owner_member_id: Uuid,
    /// The first owner's email.
    pub owner_email: Email,
}

/// The tenant got a new name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRenamed {
    /// The new name.
    pub name: TenantName,
}

/// The tenant's branding was replaced; an absent part was cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandingUpdated {
    /// The display name, if any.
    pub display_name: Option<TenantName>,
    /// The logo URL, if any.
    pub logo_url: Option<LogoUrl>,
    /// The accent colour, if any.
    pub primary_color: Option<HexColor>,
}

/// Some settings changed. Only the changed ones are present; the others kept their values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsUpdated {
    /// The new time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<Timezone>,
    /// The new locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// The new session timeout, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout_minutes: Option<u32>,
    /// Whether public sign-up is now allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_public_signup: Option<bool>,
    /// Whether MFA is now required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_mfa: Option<bool>,
    /// The new audit retention, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log_retention_days: Option<u32>,
}

/// The tenant moved to another plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanChanged {
    /// The plan it was on.
    pub previous_plan: Plan,
    /// The plan it is on now.
    pub plan: Plan,
    /// When billing and quotas switch over.
    pub effective_at: DateTime<Utc>,
}

/// A tenant-specific limit was set for a meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaOverrideSet {
    /// The meter.
    pub meter: MeterName,
    /// The limit.
    pub limit: u64,
}

/// A meter's override was removed; the plan's limit applies again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaOverrideCleared {
    /// The meter.
    pub meter: MeterName,
}

/// A feature flag was turned on or off for the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureFlagSet {
    /// The flag.
    pub flag: FlagName,
    /// Whether it is on.
    pub enabled: bool,
}

/// A custom domain was added, unverified, with the token its TXT record must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainAdded {
    /// The domain.
    pub domain: DomainName,
    /// The token `_keel-challenge.<domain>` must hold; `None` only for domains added before
    /// tokens were issued (version 1), which must be removed and added again to get one.
    pub challenge: Option<ChallengeToken>,
}

/// Control of a custom domain was proven.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainVerified {
    /// The domain.
    pub domain: DomainName,
    /// The proof; `None` only for verifications recorded before proof was required
    /// (version 1).
    pub proof: Option<DnsProof>,
}

/// A verified custom domain lost its verification: its proof is gone, or it never had one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainUnverified {
    /// The domain.
    pub domain: DomainName,
    /// Why.
    pub reason: Reason,
}

/// A custom domain was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRemoved {
    /// The domain.
    pub domain: DomainName,
}

/// An API key was issued. Holds the secret's hash, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyIssued {
    /// The key's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub key_id: Uuid,
    /// Its name.
    pub name: KeyName,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Its non-secret display prefix.
    pub prefix: KeyPrefix,
    /// The SHA-256 of its secret, hex.
    pub secret_hash: SecretHash,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// The member it acts for; `None` for a service key. Keys issued before keys were bound
    /// to members are service keys.
    #[serde(default, with = "crate::ids::optional_uuid_text")]
    pub member_id: Option<Uuid>,
}

/// An API key was revoked for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRevoked {
    /// The key's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub key_id: Uuid,
}

/// An API key reached its expiry and stopped working (recorded by the timers reactor at or
/// shortly after that time; the key was unusable from `expires_at` on either way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyExpired {
    /// The key's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub key_id: Uuid,
    /// When it expired.
    pub expires_at: DateTime<Utc>,
}

/// A member joined the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAdded {
    /// The member's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub member_id: Uuid,
    /// The member's email.
    pub email: Email,
    /// The member's role.
    pub role: Role,
}

/// A member's role changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRoleChanged {
    /// The member's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub member_id: Uuid,
    /// The member's email.
    pub email: Email,
    /// The role it had.
    pub previous_role: Role,
    /// The role it has now.
    pub role: Role,
}

/// A member left (or was removed from) the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRemoved {
    /// The member's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub member_id: Uuid,
    /// The member's email.
    pub email: Email,
    /// The role it had.
    pub role: Role,
}

/// The tenant was suspended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantSuspended {
    /// Why.
    pub reason: Reason,
}

/// The tenant's suspension was lifted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantReactivated {}

/// The tenant's decommissioning was scheduled (or rescheduled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecommissionScheduled {
    /// The earliest time it may be decommissioned.
    pub at: DateTime<Utc>,
}

/// A scheduled decommissioning was cancelled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecommissionCancelled {}

/// The tenant was decommissioned; its stream accepts nothing more.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantDecommissioned {}

crate::domain_events! {
    /// Every fact of the tenant aggregate.
    pub enum TenantEvent {
        /// See [`TenantCreated`].
        Created(TenantCreated) = CREATED: "tenant.created" v 1,
        /// See [`TenantRenamed`].
        Renamed(TenantRenamed) = RENAMED: "tenant.renamed" v 1,
        /// See [`BrandingUpdated`].
        BrandingUpdated(BrandingUpdated) = BRANDING_UPDATED: "tenant.branding_updated" v 1,
        /// See [`SettingsUpdated`].
        SettingsUpdated(SettingsUpdated) = SETTINGS_UPDATED: "tenant.settings_updated" v 1,
        /// See [`PlanChanged`].
        PlanChanged(PlanChanged) = PLAN_CHANGED: "tenant.plan_changed" v 1,
        /// See [`QuotaOverrideSet`].
        QuotaOverrideSet(QuotaOverrideSet) = QUOTA_OVERRIDE_SET: "tenant.quota_override_set" v 1,
        /// See [`QuotaOverrideCleared`].
        QuotaOverrideCleared(QuotaOverrideCleared) = QUOTA_OVERRIDE_CLEARED: "tenant.quota_override_cleared" v 1,
        /// See [`FeatureFlagSet`].
        FeatureFlagSet(FeatureFlagSet) = FEATURE_FLAG_SET: "tenant.feature_flag_set" v 1,
        /// See [`DomainAdded`].
        DomainAdded(DomainAdded) = DOMAIN_ADDED: "tenant.domain_added" v 2,
        /// See [`DomainVerified`].
        DomainVerified(DomainVerified) = DOMAIN_VERIFIED: "tenant.domain_verified" v 2,
        /// See [`DomainUnverified`].
        DomainUnverified(DomainUnverified) = DOMAIN_UNVERIFIED: "tenant.domain_unverified" v 1,
        /// See [`DomainRemoved`].
        DomainRemoved(DomainRemoved) = DOMAIN_REMOVED: "tenant.domain_removed" v 1,
        /// See [`ApiKeyIssued`].
        ApiKeyIssued(ApiKeyIssued) = API_KEY_ISSUED: "tenant.api_key_issued" v 2 secret [secret_hash],
        /// See [`ApiKeyRevoked`].
        ApiKeyRevoked(ApiKeyRevoked) = API_KEY_REVOKED: "tenant.api_key_revoked" v 1,
        /// See [`ApiKeyExpired`].
        ApiKeyExpired(ApiKeyExpired) = API_KEY_EXPIRED: "tenant.api_key_expired" v 1,
        /// See [`MemberAdded`].
        MemberAdded(MemberAdded) = MEMBER_ADDED: "tenant.member_added" v 1,
        /// See [`MemberRoleChanged`].
        MemberRoleChanged(MemberRoleChanged) = MEMBER_ROLE_CHANGED: "tenant.member_role_changed" v 1,
        /// See [`MemberRemoved`].
        MemberRemoved(MemberRemoved) = MEMBER_REMOVED: "tenant.member_removed" v 1,
        /// See [`TenantSuspended`].
        Suspended(TenantSuspended) = SUSPENDED: "tenant.suspended" v 1,
        /// See [`TenantReactivated`].
        Reactivated(TenantReactivated) = REACTIVATED: "tenant.reactivated" v 1,
        /// See [`DecommissionScheduled`].
        DecommissionScheduled(DecommissionScheduled) = DECOMMISSION_SCHEDULED: "tenant.decommission_scheduled" v 1,
        /// See [`DecommissionCancelled`].
        DecommissionCancelled(DecommissionCancelled) = DECOMMISSION_CANCELLED: "tenant.decommission_cancelled" v 1,
        /// See [`TenantDecommissioned`].
        Decommissioned(TenantDecommissioned) = DECOMMISSIONED: "tenant.decommissioned" v 1,
    }
}

/// Version-1 payloads lack a field a later version added; it becomes an explicit `None`:
/// `tenant.api_key_issued` v1 keys were bound to no member (they are service keys),
/// `tenant.domain_added` v1 had no challenge token and `tenant.domain_verified` v1 no proof.
impl Upcaster for TenantEvent {
    fn upcast(
        event_type: &str,
        from_version: u16,
        mut payload: serde_json::Value,
    ) -> Result<serde_json::Value, EventCodecError> {
        let added_field = match (event_type, from_version) {
            (TenantEvent::API_KEY_ISSUED, 1) => "member_id",
            (TenantEvent::DOMAIN_ADDED, 1) => "challenge",
            (TenantEvent::DOMAIN_VERIFIED, 1) => "proof",
            _ => {
                return Err(EventCodecError::NoUpcaster {
                    event_type: event_type.to_owned(),
                    version: from_version,
                })
            }
        };
        let serde_json::Value::Object(fields) = &mut payload else {
            return Err(EventCodecError::Malformed {
                event_type: event_type.to_owned(),
                reason: "the payload is not a map".into(),
            });
        };
        fields.insert(added_field.into(), serde_json::Value::Null);
        Ok(payload)
    }
}
