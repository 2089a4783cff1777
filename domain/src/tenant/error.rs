//! Why the tenant aggregate refuses a command: one closed enum, a variant per rule.
//!
//! Messages are written for the person who sent the command. [`TenantError::field`] names the
//! command field a refusal is about, so the HTTP layer can point at it, and [`TenantError::code`]
//! gives a stable machine-readable code, so clients never have to match on message text.

use super::values::InvalidValue;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A refusal of a tenant command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TenantError {
    /// The tenant has not been created, and only creation is possible.
    #[error("tenant does not exist")]
    NotFound,
    /// Creation was asked for a tenant that already exists (in any status).
    #[error("tenant already exists")]
    AlreadyExists,
    /// A command field holds a value that breaks its format or range rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The command field, as named in the command's JSON (e.g. `slug`).
        field: &'static str,
        /// What is wrong, phrased to follow the field name.
        reason: String,
    },
    /// The command would change nothing; refused so that no empty events are stored.
    #[error("nothing to change: {field} already has this value")]
    Unchanged {
        /// The command field (or group of fields, e.g. `settings`) that is already as asked.
        field: &'static str,
    },
    /// The tenant is suspended: only reactivation and decommissioning are possible.
    #[error("tenant is suspended: only reactivating or decommissioning it is allowed")]
    Suspended,
    /// The tenant is decommissioned, which is final.
    #[error("tenant is decommissioned and can no longer be changed")]
    Decommissioned,
    /// Reactivation was asked for a tenant that is not suspended.
    #[error("tenant is not suspended")]
    NotSuspended,
    /// Decommissioning (or cancelling it) was asked but none is scheduled.
    #[error("no decommission is scheduled for this tenant")]
    DecommissionNotScheduled,
    /// Decommissioning was asked before the scheduled time.
    #[error("decommission is scheduled for {scheduled_at} and cannot happen earlier")]
    DecommissionNotDue {
        /// When the decommission was scheduled for.
        scheduled_at: DateTime<Utc>,
    },
    /// Clearing a quota override that is not set.
    #[error("no quota override is set for meter `{meter}`")]
    QuotaOverrideNotSet {
        /// The meter named in the command.
        meter: String,
    },
    /// Adding a custom domain the tenant already has.
    #[error("domain `{domain}` is already added to this tenant")]
    DomainAlreadyAdded {
        /// The (normalized) domain.
        domain: String,
    },
    /// Verifying or removing a custom domain the tenant does not have.
    #[error("domain `{domain}` is not added to this tenant")]
    DomainNotFound {
        /// The (normalized) domain.
        domain: String,
    },
    /// Verifying a custom domain that is already verified.
    #[error("domain `{domain}` is already verified")]
    DomainAlreadyVerified {
        /// The (normalized) domain.
        domain: String,
    },
    /// Verifying a domain added before challenge tokens were issued.
    #[error(
        "domain `{domain}` has no challenge token (it was added before tokens were issued): \
         remove it and add it again to get one"
    )]
    DomainHasNoChallenge {
        /// The (normalized) domain.
        domain: String,
    },
    /// Verifying a domain whose challenge record does not hold its token.
    #[error(
        "control of `{domain}` is not proven: expected a TXT record {record} holding \
         \"{expected}\", found {found}"
    )]
    DomainProofMissing {
        /// The (normalized) domain.
        domain: String,
        /// The TXT record looked up.
        record: String,
        /// The token it must hold.
        expected: String,
        /// What the lookup found.
        found: String,
    },
    /// Issuing an API key with an id the tenant already has.
    #[error("an API key with id {key_id} already exists")]
    ApiKeyAlreadyExists {
        /// The key id named in the command.
        key_id: Uuid,
    },
    /// Revoking an API key the tenant does not have.
    #[error("API key {key_id} does not exist")]
    ApiKeyNotFound {
        /// The key id named in the command.
        key_id: Uuid,
    },
    /// Revoking an API key that is already revoked.
    #[error("API key {key_id} is already revoked")]
    ApiKeyAlreadyRevoked {
        /// The key id named in the command.
        key_id: Uuid,
    },
    /// Recording the expiry of an API key whose expiry is already recorded.
    #[error("API key {key_id} has already expired")]
    ApiKeyAlreadyExpired {
        /// The key id named in the command.
        key_id: Uuid,
    },
    /// Recording the expiry of an API key that has none, or not yet.
    #[error("API key {key_id} has not expired: {}", expiry_note(.expires_at))]
    ApiKeyNotExpired {
        /// The key id named in the command.
        key_id: Uuid,
        /// Its expiry, if it has one.
        expires_at: Option<DateTime<Utc>>,
    },
    /// Adding a member with an id the tenant already has.
    #[error("a member with id {member_id} already exists")]
    MemberAlreadyExists {
        /// The member id named in the command.
        member_id: Uuid,
    },
    /// Adding a member whose email belongs to a current member.
    #[error("`{email}` is already a member of this tenant")]
    MemberEmailTaken {
        /// The (normalized) email.
        email: String,
    },
    /// Changing or removing a member the tenant does not have.
    #[error("member {member_id} does not exist")]
    MemberNotFound {
        /// The member id named in the command.
        member_id: Uuid,
    },
    /// Demoting or removing the only owner; a tenant must always keep one.
    #[error("a tenant must keep at least one owner: promote another member to owner first")]
    LastOwner,
    /// The granting key is unknown, revoked or expired, or acts for a member who has left.
    #[error("API key {key_id} cannot grant anything: it is not a usable key of this tenant")]
    GrantorNotUsable {
        /// The granting key.
        key_id: Uuid,
    },
    /// Issuing a key with a scope the issuing key does not hold.
    #[error("the scope `{scope}` is not held by the key issuing it: a key grants at most its own scopes")]
    ScopeNotHeld {
        /// The first scope not held.
        scope: String,
    },
    /// Issuing a key that outlives the issuing key.
    #[error("the issuing key expires at {limit}: a key it issues must expire no later")]
    ExpiryBeyondGrantor {
        /// The issuing key's expiry.
        limit: DateTime<Utc>,
    },
    /// Giving, taking or acting on a role above the role of the member the key acts for.
    #[error("the role `{role}` is above `{own}`, the role of the member this key acts for")]
    RoleAboveGrantor {
        /// The role asked for or acted on.
        role: &'static str,
        /// The grantor's member's role.
        own: &'static str,
    },
    /// A service key (bound to no member) issuing a key for a member.
    #[error("a service key cannot issue a key for a member: only for a service")]
    ServiceKeyForMember,
}

/// When a key that has not expired will, for [`TenantError::ApiKeyNotExpired`].
fn expiry_note(expires_at: &Option<DateTime<Utc>>) -> String {
    match expires_at {
        Some(at) => format!("it expires at {at}"),
        None => "it never expires".to_owned(),
    }
}

impl TenantError {
    /// The command field this refusal is about, if it is about one (for the HTTP layer).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            TenantError::Invalid { field, .. } | TenantError::Unchanged { field } => Some(field),
            TenantError::QuotaOverrideNotSet { .. } => Some("meter"),
            TenantError::DomainAlreadyAdded { .. }
            | TenantError::DomainNotFound { .. }
            | TenantError::DomainAlreadyVerified { .. }
            | TenantError::DomainHasNoChallenge { .. }
            | TenantError::DomainProofMissing { .. } => Some("domain"),
            TenantError::ApiKeyAlreadyExists { .. }
            | TenantError::ApiKeyNotFound { .. }
            | TenantError::ApiKeyAlreadyRevoked { .. }
            | TenantError::ApiKeyAlreadyExpired { .. }
            | TenantError::ApiKeyNotExpired { .. } => Some("key_id"),
            TenantError::MemberAlreadyExists { .. } | TenantError::MemberNotFound { .. } => {
                Some("member_id")
            }
            TenantError::MemberEmailTaken { .. } => Some("email"),
            TenantError::ScopeNotHeld { .. } => Some("scopes"),
            TenantError::ExpiryBeyondGrantor { .. } => Some("expires_at"),
            TenantError::RoleAboveGrantor { .. } => Some("role"),
            TenantError::ServiceKeyForMember => Some("member_id"),
            TenantError::GrantorNotUsable { .. }
            | TenantError::NotFound
            | TenantError::AlreadyExists
            | TenantError::Suspended
            | TenantError::Decommissioned
            | TenantError::NotSuspended
            | TenantError::DecommissionNotScheduled
            | TenantError::DecommissionNotDue { .. }
            | TenantError::LastOwner => None,
        }
    }

    /// A stable snake_case code for this kind of refusal (e.g. `invalid`, `last_owner`).
    pub fn code(&self) -> &'static str {
        match self {
            TenantError::NotFound => "not_found",
            TenantError::AlreadyExists => "already_exists",
            TenantError::Invalid { .. } => "invalid",
            TenantError::Unchanged { .. } => "unchanged",
            TenantError::Suspended => "suspended",
            TenantError::Decommissioned => "decommissioned",
            TenantError::NotSuspended => "not_suspended",
            TenantError::DecommissionNotScheduled => "decommission_not_scheduled",
            TenantError::DecommissionNotDue { .. } => "decommission_not_due",
            TenantError::QuotaOverrideNotSet { .. } => "quota_override_not_set",
            TenantError::DomainAlreadyAdded { .. } => "domain_already_added",
            TenantError::DomainNotFound { .. } => "domain_not_found",
            TenantError::DomainAlreadyVerified { .. } => "domain_already_verified",
            TenantError::DomainHasNoChallenge { .. } => "domain_has_no_challenge",
            TenantError::DomainProofMissing { .. } => "domain_proof_missing",
            TenantError::ApiKeyAlreadyExists { .. } => "api_key_already_exists",
            TenantError::ApiKeyNotFound { .. } => "api_key_not_found",
            TenantError::ApiKeyAlreadyRevoked { .. } => "api_key_already_revoked",
            TenantError::ApiKeyAlreadyExpired { .. } => "api_key_already_expired",
            TenantError::ApiKeyNotExpired { .. } => "api_key_not_expired",
            TenantError::MemberAlreadyExists { .. } => "member_already_exists",
            TenantError::MemberEmailTaken { .. } => "member_email_taken",
            TenantError::MemberNotFound { .. } => "member_not_found",
            TenantError::LastOwner => "last_owner",
            TenantError::GrantorNotUsable { .. } => "grantor_not_usable",
            TenantError::ScopeNotHeld { .. } => "scope_not_held",
            TenantError::ExpiryBeyondGrantor { .. } => "expiry_beyond_grantor",
            TenantError::RoleAboveGrantor { .. } => "role_above_grantor",
            TenantError::ServiceKeyForMember => "service_key_for_member",
        }
    }

    /// A refusal of `field` for the given reason.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        TenantError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl crate::Refusal for TenantError {
    fn kind(&self) -> crate::RefusalKind {
        use crate::RefusalKind::{Conflict, Forbidden, Invalid, NotFound};
        match self {
            TenantError::Invalid { .. } => Invalid,
            TenantError::GrantorNotUsable { .. }
            | TenantError::ScopeNotHeld { .. }
            | TenantError::ExpiryBeyondGrantor { .. }
            | TenantError::RoleAboveGrantor { .. }
            | TenantError::ServiceKeyForMember => Forbidden,
            TenantError::NotFound
            | TenantError::DomainNotFound { .. }
            | TenantError::ApiKeyNotFound { .. }
            | TenantError::MemberNotFound { .. }
            | TenantError::QuotaOverrideNotSet { .. } => NotFound,
            _ => Conflict,
        }
    }

    fn code(&self) -> &'static str {
        TenantError::code(self)
    }

    fn field(&self) -> Option<String> {
        TenantError::field(self).map(str::to_owned)
    }
}

/// Attaches the command field to a value's parse failure, so `decide` can write
/// `TenantSlug::parse(&cmd.slug).in_field("slug")?`.
pub(crate) trait InTenantField<T> {
    /// Turns an [`InvalidValue`] into [`TenantError::Invalid`] for `field`.
    fn in_field(self, field: &'static str) -> Result<T, TenantError>;
}

impl<T> InTenantField<T> for Result<T, InvalidValue> {
    fn in_field(self, field: &'static str) -> Result<T, TenantError> {
        self.map_err(|e| TenantError::invalid(field, e.reason()))
    }
}
