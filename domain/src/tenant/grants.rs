//! What a caller may grant: the rule that no key hands out more than it holds.
//!
//! Commands that give power away (issuing a key, adding a member, changing or removing one)
//! name their [`Grantor`]. A platform admin may grant anything. One of the tenant's own keys is
//! resolved against the tenant's state, so the rule is decided here and not trusted to a route:
//! - scopes: each scope it grants must be covered by one scope it holds (`*` covers every
//!   resource, `admin > write > read`);
//! - expiry: a key that expires issues keys that expire no later;
//! - roles: a key bound to a member never gives, takes or issues for a role above that
//!   member's own (`owner > admin > member > auditor`), and a service key (bound to no member)
//!   issues only service keys, so no service key can mint a key that acts as a member.

use super::error::TenantError;
use super::keys::{first_not_covered, Scope};
use super::state::{ApiKey, Member, Tenant};
use crate::shared::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who gives power away in a command: set by the caller's authentication, never by its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "key_id", rename_all = "snake_case")]
pub enum Grantor {
    /// A platform admin (key or operator tool): bound by nothing in the tenant.
    Platform,
    /// One of the tenant's own API keys, by id.
    Key(Uuid),
}

/// A grantor resolved against the tenant's state: what it holds.
pub(super) enum Authority<'a> {
    /// A platform admin.
    Platform,
    /// A usable key of the tenant, and the member it acts for (none for a service key).
    Key {
        key: &'a ApiKey,
        member: Option<&'a Member>,
    },
}

impl Tenant {
    /// What `grantor` holds at `now`. A key that is unknown, revoked, expired, or bound to a
    /// member who has left holds nothing.
    pub(super) fn authority(
        &self,
        grantor: Grantor,
        now: DateTime<Utc>,
    ) -> Result<Authority<'_>, TenantError> {
        let key_id = match grantor {
            Grantor::Platform => return Ok(Authority::Platform),
            Grantor::Key(key_id) => key_id,
        };
        let refused = || TenantError::GrantorNotUsable { key_id };
        let key = self
            .api_keys
            .get(&key_id)
            .filter(|key| key.is_usable_at(now))
            .ok_or_else(refused)?;
        let member = match key.member_id {
            Some(member_id) => Some(self.members.get(&member_id).ok_or_else(refused)?),
            None => None,
        };
        Ok(Authority::Key { key, member })
    }
}

impl Authority<'_> {
    /// Refuses the first scope of `wanted` the grantor does not hold.
    pub(super) fn may_grant_scopes(&self, wanted: &[Scope]) -> Result<(), TenantError> {
        let Authority::Key { key, .. } = self else {
            return Ok(());
        };
        match first_not_covered(&key.scopes, wanted) {
            Some(scope) => Err(TenantError::ScopeNotHeld {
                scope: scope.as_str().to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses an expiry later than the grantor's own (or none, when the grantor has one).
    pub(super) fn may_grant_until(
        &self,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), TenantError> {
        let Authority::Key { key, .. } = self else {
            return Ok(());
        };
        match (key.expires_at, expires_at) {
            (Some(limit), None) => Err(TenantError::ExpiryBeyondGrantor { limit }),
            (Some(limit), Some(wanted)) if wanted > limit => {
                Err(TenantError::ExpiryBeyondGrantor { limit })
            }
            _ => Ok(()),
        }
    }

    /// Refuses to give, take away or act on `role` when it is above the grantor's member's own.
    pub(super) fn may_handle_role(&self, role: Role) -> Result<(), TenantError> {
        match self {
            Authority::Key {
                member: Some(member),
                ..
            } if !member.role.includes(role) => Err(TenantError::RoleAboveGrantor {
                role: role.as_str(),
                own: member.role.as_str(),
            }),
            _ => Ok(()),
        }
    }

    /// Refuses to issue a key for `holder` (a member, or none for a service key) unless the
    /// grantor could act as that holder itself.
    pub(super) fn may_issue_for(&self, holder: Option<&Member>) -> Result<(), TenantError> {
        match (self, holder) {
            (Authority::Platform, _) | (_, None) => Ok(()),
            (Authority::Key { member: None, .. }, Some(_)) => Err(TenantError::ServiceKeyForMember),
            (Authority::Key { .. }, Some(holder)) => self.may_handle_role(holder.role),
        }
    }
}
