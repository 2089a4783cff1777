//! The tenant's state, folded from its events, and the entities it holds (members, domains,
//! API keys).
//!
//! The state is what `decide` needs to enforce the rules and what the API may show; it is also
//! stored as a snapshot, so it is serializable and its shape is versioned by
//! [`Tenant::SNAPSHOT_VERSION`](crate::Aggregate::SNAPSHOT_VERSION). Fields are private so that
//! the only way to change a state is to apply an event; read accessors expose everything.

use super::domain_proof::{ChallengeToken, DnsProof};
use super::events::TenantEvent;
use super::keys::{KeyName, KeyPrefix, Scope, SecretHash};
use super::settings::{Branding, TenantSettings};
use super::values::{DomainName, FlagName, Region, TenantName, TenantSlug};
use crate::ids::TenantId;
use crate::shared::{Email, MeterName, Reason};
use crate::shared::{Plan, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Where a tenant is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Not created yet: the state of an empty stream. Only creation is accepted.
    #[default]
    NotCreated,
    /// In service.
    Active,
    /// Out of service until reactivated; refuses changes.
    Suspended,
    /// Gone for good; refuses everything.
    Decommissioned,
}

impl TenantStatus {
    /// The wire name (`not_created`, `active`, `suspended`, `decommissioned`).
    pub fn as_str(&self) -> &'static str {
        match self {
            TenantStatus::NotCreated => "not_created",
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Decommissioned => "decommissioned",
        }
    }
}

/// A person's membership of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    pub id: Uuid,
    /// The member's email, lowercased; unique among the tenant's members.
    pub email: Email,
    /// What the member may do.
    pub role: Role,
}

/// A custom domain the tenant serves under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomDomain {
    /// The hostname.
    pub name: DomainName,
    /// Whether it counts as verified.
    pub verified: bool,
    /// The token its TXT record must hold (`None` if it was added before tokens were issued).
    pub challenge: Option<ChallengeToken>,
    /// The proof of its verification, while it is verified (`None` also for a domain verified
    /// before proof was required).
    pub proof: Option<DnsProof>,
}

impl CustomDomain {
    /// Whether it is verified with no proof recorded (verified before proof was required).
    pub fn verified_without_proof(&self) -> bool {
        self.verified && self.proof.is_none()
    }
}

/// An API key of the tenant. Holds the secret's hash, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The key's id.
    pub id: Uuid,
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
    /// The member it acts for; `None` for a service key.
    pub member_id: Option<Uuid>,
    /// Whether it was revoked. Revoked keys are kept, so a revocation can be shown and its id
    /// never reused.
    pub revoked: bool,
    /// Whether its expiry was recorded (`tenant.api_key_expired`). It stopped working at
    /// `expires_at` whether or not the record was made yet.
    pub expired: bool,
}

impl ApiKey {
    /// Whether the key authenticates requests at `now`: not revoked and not expired.
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// The tenant aggregate's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub(super) id: TenantId,
    pub(super) status: TenantStatus,
    pub(super) name: TenantName,
    pub(super) slug: TenantSlug,
    pub(super) plan: Plan,
    pub(super) plan_effective_at: Option<DateTime<Utc>>,
    pub(super) data_region: Region,
    pub(super) branding: Branding,
    pub(super) settings: TenantSettings,
    pub(super) quota_overrides: BTreeMap<MeterName, u64>,
    pub(super) feature_flags: BTreeMap<FlagName, bool>,
    pub(super) domains: BTreeMap<DomainName, CustomDomain>,
    pub(super) api_keys: BTreeMap<Uuid, ApiKey>,
    pub(super) members: BTreeMap<Uuid, Member>,
    pub(super) suspension_reason: Option<Reason>,
    pub(super) decommission_at: Option<DateTime<Utc>>,
}

impl Tenant {
    /// Whether the tenant has been created (in any status since).
    pub fn exists(&self) -> bool {
        self.status != TenantStatus::NotCreated
    }

    /// The tenant's id (the platform id before creation).
    pub fn id(&self) -> TenantId {
        self.id
    }

    /// Where the tenant is in its life.
    pub fn status(&self) -> TenantStatus {
        self.status
    }

    /// The tenant's name (empty before creation).
    pub fn name(&self) -> &TenantName {
        &self.name
    }

    /// The tenant's unique handle (empty before creation).
    pub fn slug(&self) -> &TenantSlug {
        &self.slug
    }

    /// The current plan.
    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// When the current plan took (or takes) effect; `None` for the plan chosen at creation.
    pub fn plan_effective_at(&self) -> Option<DateTime<Utc>> {
        self.plan_effective_at
    }

    /// Where the tenant's data lives.
    pub fn data_region(&self) -> &Region {
        &self.data_region
    }

    /// How the tenant presents itself.
    pub fn branding(&self) -> &Branding {
        &self.branding
    }

    /// The tenant's settings.
    pub fn settings(&self) -> &TenantSettings {
        &self.settings
    }

    /// Tenant-specific meter limits, by meter.
    pub fn quota_overrides(&self) -> &BTreeMap<MeterName, u64> {
        &self.quota_overrides
    }

    /// The override for one meter, if set.
    pub fn quota_override(&self, meter: &str) -> Option<u64> {
        self.quota_overrides.get(meter).copied()
    }

    /// Feature flags set for the tenant, by flag. An absent flag follows the product default.
    pub fn feature_flags(&self) -> &BTreeMap<FlagName, bool> {
        &self.feature_flags
    }

    /// One flag's value, if set for the tenant.
    pub fn feature_flag(&self, flag: &str) -> Option<bool> {
        self.feature_flags.get(flag).copied()
    }

    /// Custom domains, by hostname.
    pub fn domains(&self) -> &BTreeMap<DomainName, CustomDomain> {
        &self.domains
    }

    /// One custom domain (by its normalized, lowercase name).
    pub fn domain(&self, name: &str) -> Option<&CustomDomain> {
        self.domains.get(name)
    }

    /// API keys, revoked ones included, by id.
    pub fn api_keys(&self) -> &BTreeMap<Uuid, ApiKey> {
        &self.api_keys
    }

    /// One API key.
    pub fn api_key(&self, key_id: Uuid) -> Option<&ApiKey> {
        self.api_keys.get(&key_id)
    }

    /// Current members, by id.
    pub fn members(&self) -> &BTreeMap<Uuid, Member> {
        &self.members
    }

    /// One current member.
    pub fn member(&self, member_id: Uuid) -> Option<&Member> {
        self.members.get(&member_id)
    }

    /// The current member with this (normalized, lowercase) email.
    pub fn member_by_email(&self, email: &str) -> Option<&Member> {
        self.members.values().find(|m| m.email == email)
    }

    /// How many current members are owners.
    pub fn owner_count(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.role == Role::Owner)
            .count()
    }

    /// Why the tenant is suspended, while it is.
    pub fn suspension_reason(&self) -> Option<&Reason> {
        self.suspension_reason.as_ref()
    }

    /// When the tenant may be decommissioned, if that is scheduled.
    pub fn decommission_at(&self) -> Option<DateTime<Utc>> {
        self.decommission_at
    }

    /// Folds one event into the state. Total: an event about something the state does not hold
    /// (which a valid stream never contains) changes nothing rather than failing.
    pub(super) fn fold(&mut self, event: &TenantEvent) {
        match event {
            TenantEvent::Created(e) => {
                self.id = e.tenant_id;
                self.status = TenantStatus::Active;
                self.name = e.name.clone();
                self.slug = e.slug.clone();
                self.plan = e.plan;
                self.data_region = e.data_region.clone();
            }
            TenantEvent::Renamed(e) => self.name = e.name.clone(),
            TenantEvent::BrandingUpdated(e) => {
                self.branding = Branding {
                    display_name: e.display_name.clone(),
                    logo_url: e.logo_url.clone(),
                    primary_color: e.primary_color.clone(),
                };
            }
            TenantEvent::SettingsUpdated(e) => {
                let s = &mut self.settings;
                if let Some(timezone) = &e.timezone {
                    s.timezone = timezone.clone();
                }
                if let Some(locale) = &e.locale {
                    s.locale = locale.clone();
                }
                if let Some(minutes) = e.session_timeout_minutes {
                    s.session_timeout_minutes = minutes;
                }
                if let Some(allow) = e.allow_public_signup {
                    s.allow_public_signup = allow;
                }
                if let Some(require) = e.require_mfa {
                    s.require_mfa = require;
                }
                if let Some(days) = e.audit_log_retention_days {
                    s.audit_log_retention_days = days;
                }
            }
            TenantEvent::PlanChanged(e) => {
                self.plan = e.plan;
                self.plan_effective_at = Some(e.effective_at);
            }
            TenantEvent::QuotaOverrideSet(e) => {
                self.quota_overrides.insert(e.meter.clone(), e.limit);
            }
            TenantEvent::QuotaOverrideCleared(e) => {
                self.quota_overrides.remove(&e.meter);
            }
            TenantEvent::FeatureFlagSet(e) => {
                self.feature_flags.insert(e.flag.clone(), e.enabled);
            }
            TenantEvent::DomainAdded(e) => {
                let domain = CustomDomain {
                    name: e.domain.clone(),
                    verified: false,
                    challenge: e.challenge.clone(),
                    proof: None,
                };
                self.domains.insert(e.domain.clone(), domain);
            }
            TenantEvent::DomainVerified(e) => {
                if let Some(domain) = self.domains.get_mut(&e.domain) {
                    domain.verified = true;
                    domain.proof = e.proof.clone();
                }
            }
            TenantEvent::DomainUnverified(e) => {
                if let Some(domain) = self.domains.get_mut(&e.domain) {
                    domain.verified = false;
                    domain.proof = None;
                }
            }
            TenantEvent::DomainRemoved(e) => {
                self.domains.remove(&e.domain);
            }
            TenantEvent::ApiKeyIssued(e) => {
                let key = ApiKey {
                    id: e.key_id,
                    name: e.name.clone(),
                    scopes: e.scopes.clone(),
                    prefix: e.prefix.clone(),
                    secret_hash: e.secret_hash.clone(),
                    expires_at: e.expires_at,
                    member_id: e.member_id,
                    revoked: false,
                    expired: false,
                };
                self.api_keys.insert(e.key_id, key);
            }
            TenantEvent::ApiKeyExpired(e) => {
                if let Some(key) = self.api_keys.get_mut(&e.key_id) {
                    key.expired = true;
                }
            }
            TenantEvent::ApiKeyRevoked(e) => {
                if let Some(key) = self.api_keys.get_mut(&e.key_id) {
                    key.revoked = true;
                }
            }
            TenantEvent::MemberAdded(e) => {
                let member = Member {
                    id: e.member_id,
                    email: e.email.clone(),
                    role: e.role,
                };
                self.members.insert(e.member_id, member);
            }
            TenantEvent::MemberRoleChanged(e) => {
                if let Some(member) = self.members.get_mut(&e.member_id) {
                    member.role = e.role;
                }
            }
            TenantEvent::MemberRemoved(e) => {
                self.members.remove(&e.member_id);
            }
            TenantEvent::Suspended(e) => {
                self.status = TenantStatus::Suspended;
                self.suspension_reason = Some(e.reason.clone());
            }
            TenantEvent::Reactivated(_) => {
                self.status = TenantStatus::Active;
                self.suspension_reason = None;
            }
            TenantEvent::DecommissionScheduled(e) => self.decommission_at = Some(e.at),
            TenantEvent::DecommissionCancelled(_) => self.decommission_at = None,
            // The rest of the state is kept as it was, so the final picture can still be shown.
            TenantEvent::Decommissioned(_) => self.status = TenantStatus::Decommissioned,
        }
    }
}
