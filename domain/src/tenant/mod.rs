//! The tenant aggregate: one customer organisation of the control plane, from creation to
//! decommissioning.
//!
//! A tenant has a name, a unique slug (reserved across all tenants through a
//! [`Claim`](crate::Claim) in the [`SLUG_CLAIM_SCOPE`]), a plan, a fixed data region, branding,
//! typed settings, quota overrides, feature flags, custom domains, API keys (stored by hash only)
//! and members, of whom at least one is always an owner.
//!
//! Life cycle: `create` makes it active; `suspend` freezes it (only `reactivate`,
//! `schedule_decommission`, `cancel_decommission` and `decommission` are then accepted);
//! `decommission` ends it for good once the scheduled time has come. A command that would
//! change nothing is refused with [`TenantError::Unchanged`].
//!
//! Layout:
//! - [`domain_proof`]: the challenge token of a custom domain, its TXT record and the check of
//!   what a lookup found (verification claims the domain in the [`DOMAIN_CLAIM_SCOPE`] until
//!   it is un-verified or removed).
//! - [`values`], [`settings`], [`keys`]: validated values (`parse` constructors); the values
//!   other aggregates share too (plans, roles, emails, meter names) are in [`crate::shared`].
//! - [`commands`]: [`TenantCommand`] and one struct per command, carrying raw input.
//! - [`events`]: [`TenantEvent`] and its payloads (`tenant.<fact>`) with their upcaster.
//! - [`state`]: the [`Tenant`] state and how events fold into it.
//! - `decide` and `access`: the rules (`impl Aggregate for Tenant`); [`grants`]: what a key
//!   may grant (scopes, expiry, roles).
//! - [`error`]: [`TenantError`], a variant per rule.
#![deny(missing_docs)]

mod access;
pub mod commands;
mod decide;
pub mod domain_proof;
pub mod error;
pub mod events;
pub mod grants;
pub mod keys;
pub mod settings;
pub mod state;
pub mod values;

#[cfg(test)]
mod tests;

pub use commands::{
    AddDomain, AddMember, CancelDecommission, ChangeMemberRole, ChangePlan, ClearQuotaOverride,
    CreateTenant, DecommissionTenant, ExpireApiKey, IssueApiKey, ReactivateTenant, RecheckDomain,
    RemoveDomain, RemoveMember, RenameTenant, RevokeApiKey, ScheduleDecommission, SetFeatureFlag,
    SetQuotaOverride, SuspendTenant, TenantCommand, UpdateBranding, UpdateSettings, VerifyDomain,
};
pub use decide::{DOMAIN_CLAIM_SCOPE, SLUG_CLAIM_SCOPE};
pub use domain_proof::{challenge_record, ChallengeToken, DnsProof, TxtLookup};
pub use error::TenantError;
pub use events::{
    ApiKeyExpired, ApiKeyIssued, ApiKeyRevoked, BrandingUpdated, DecommissionCancelled,
    DecommissionScheduled, DomainAdded, DomainRemoved, DomainUnverified, DomainVerified,
    FeatureFlagSet, MemberAdded, MemberRemoved, MemberRoleChanged, PlanChanged,
    QuotaOverrideCleared, QuotaOverrideSet, SettingsUpdated, TenantCreated, TenantDecommissioned,
    TenantEvent, TenantReactivated, TenantRenamed, TenantSuspended,
};
pub use grants::Grantor;
pub use keys::{
    first_not_covered, scopes_grant, Access, KeyName, KeyPrefix, Scope, SecretHash, SCOPE_RESOURCES,
};
pub use settings::{Branding, HexColor, Locale, LogoUrl, TenantSettings, Timezone};
pub use state::{ApiKey, CustomDomain, Member, Tenant, TenantStatus};
pub use values::{DomainName, FlagName, InvalidValue, Region, TenantName, TenantSlug};
