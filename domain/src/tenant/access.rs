//! The tenant's decisions about who and what may reach it: custom domains, API keys and
//! members (including the rule that a tenant always keeps an owner, and, through
//! [`super::grants`], that no key grants more than it holds).

use super::commands::{
    AddDomain, AddMember, ChangeMemberRole, ExpireApiKey, IssueApiKey, RecheckDomain, RemoveDomain,
    RemoveMember, RevokeApiKey, VerifyDomain,
};
use super::decide::{require_id, Decided};
use super::domain_proof::{challenge_record, ChallengeToken, DnsProof};
use super::error::{InTenantField, TenantError};
use super::events::{
    ApiKeyExpired, ApiKeyIssued, ApiKeyRevoked, DomainAdded, DomainRemoved, DomainUnverified,
    DomainVerified, MemberAdded, MemberRemoved, MemberRoleChanged, TenantEvent,
};
use super::keys::{parse_scopes, KeyName, KeyPrefix, SecretHash};
use super::state::{ApiKey, CustomDomain, Member, Tenant};
use super::values::DomainName;
use crate::aggregate::DecisionContext;
use crate::shared::Role;
use crate::shared::{Email, Reason};
use uuid::Uuid;

impl Tenant {
    pub(super) fn add_domain(&self, c: &AddDomain) -> Decided {
        let domain = DomainName::parse(&c.domain).in_field("domain")?;
        if self.domains.contains_key(&domain) {
            return Err(TenantError::DomainAlreadyAdded {
                domain: domain.into_string(),
            });
        }
        let challenge = ChallengeToken::parse(&c.challenge).in_field("challenge")?;
        Ok(vec![TenantEvent::DomainAdded(DomainAdded {
            domain,
            challenge: Some(challenge),
        })])
    }

    /// Verifies a domain if the lookup found its token. The domain is then claimed across all
    /// tenants (see `claims`), so one verified elsewhere is refused by the write side.
    pub(super) fn verify_domain(&self, c: &VerifyDomain) -> Decided {
        let domain = self.known_domain(&c.domain)?;
        let name = domain.name.as_str().to_owned();
        if domain.verified {
            return Err(TenantError::DomainAlreadyVerified { domain: name });
        }
        let token = domain
            .challenge
            .as_ref()
            .ok_or(TenantError::DomainHasNoChallenge {
                domain: name.clone(),
            })?;
        let record = challenge_record(&domain.name);
        if !c.found.holds(token) {
            return Err(TenantError::DomainProofMissing {
                domain: name,
                record,
                expected: token.as_str().to_owned(),
                found: c.found.describe(),
            });
        }
        Ok(vec![TenantEvent::DomainVerified(DomainVerified {
            domain: domain.name.clone(),
            proof: Some(DnsProof {
                record,
                token: token.clone(),
            }),
        })])
    }

    /// Un-verifies a verified domain whose proof is missing (never recorded, or no longer in
    /// DNS by an answered lookup); refuses with `Unchanged` when it still stands.
    pub(super) fn recheck_domain(&self, c: &RecheckDomain) -> Decided {
        let domain = self.known_domain(&c.domain)?;
        let reason = match &domain.proof {
            _ if !domain.verified => None,
            None => Some("verified before proof was required".to_owned()),
            Some(proof) if c.found.answered() && !c.found.holds(&proof.token) => Some(format!(
                "the TXT record {} no longer holds the challenge token (found {})",
                proof.record,
                c.found.describe()
            )),
            Some(_) => None,
        };
        let Some(reason) = reason else {
            return Err(TenantError::Unchanged { field: "domain" });
        };
        Ok(vec![TenantEvent::DomainUnverified(DomainUnverified {
            domain: domain.name.clone(),
            reason: Reason::parse(&truncate(&reason, Reason::MAX_CHARS)).in_field("found")?,
        })])
    }

    pub(super) fn remove_domain(&self, c: &RemoveDomain) -> Decided {
        let domain = self.known_domain(&c.domain)?;
        Ok(vec![TenantEvent::DomainRemoved(DomainRemoved {
            domain: domain.name.clone(),
        })])
    }

    /// The tenant's domain named by a command (in any case).
    fn known_domain(&self, raw: &str) -> Result<&CustomDomain, TenantError> {
        let domain = DomainName::parse(raw).in_field("domain")?;
        self.domains
            .get(&domain)
            .ok_or_else(|| TenantError::DomainNotFound {
                domain: domain.into_string(),
            })
    }

    pub(super) fn issue_api_key(&self, c: &IssueApiKey, ctx: &DecisionContext) -> Decided {
        let key_id = require_id(c.key_id, "key_id")?;
        if self.api_keys.contains_key(&key_id) {
            return Err(TenantError::ApiKeyAlreadyExists { key_id });
        }
        let name = KeyName::parse(&c.name).in_field("name")?;
        let scopes = parse_scopes(&c.scopes).in_field("scopes")?;
        let prefix = KeyPrefix::parse(&c.prefix).in_field("prefix")?;
        let secret_hash = SecretHash::parse(&c.secret_hash).in_field("secret_hash")?;
        if c.expires_at.is_some_and(|expiry| expiry <= ctx.now) {
            return Err(TenantError::invalid("expires_at", "must be in the future"));
        }
        let holder = c.member_id.map(|id| self.known_member(id)).transpose()?;
        let authority = self.authority(c.grantor, ctx.now)?;
        authority.may_grant_scopes(&scopes)?;
        authority.may_grant_until(c.expires_at)?;
        authority.may_issue_for(holder)?;
        Ok(vec![TenantEvent::ApiKeyIssued(ApiKeyIssued {
            key_id,
            name,
            scopes,
            prefix,
            secret_hash,
            expires_at: c.expires_at,
            member_id: holder.map(|member| member.id),
        })])
    }

    /// The key `key_id`, refused if the tenant has none or it is revoked.
    fn unrevoked_key(&self, key_id: Uuid) -> Result<&ApiKey, TenantError> {
        let key = self
            .api_keys
            .get(&key_id)
            .ok_or(TenantError::ApiKeyNotFound { key_id })?;
        if key.revoked {
            return Err(TenantError::ApiKeyAlreadyRevoked { key_id });
        }
        Ok(key)
    }

    pub(super) fn revoke_api_key(&self, c: &RevokeApiKey) -> Decided {
        self.unrevoked_key(c.key_id)?;
        Ok(vec![TenantEvent::ApiKeyRevoked(ApiKeyRevoked {
            key_id: c.key_id,
        })])
    }

    /// Records a key's expiry once, at or after it: a revoked key stopped working earlier,
    /// and a repeat (a timer fired again after a crash) changes nothing.
    pub(super) fn expire_api_key(&self, c: &ExpireApiKey, ctx: &DecisionContext) -> Decided {
        let key = self.unrevoked_key(c.key_id)?;
        if key.expired {
            return Err(TenantError::ApiKeyAlreadyExpired { key_id: c.key_id });
        }
        match key.expires_at {
            Some(expires_at) if expires_at <= ctx.now => {
                Ok(vec![TenantEvent::ApiKeyExpired(ApiKeyExpired {
                    key_id: c.key_id,
                    expires_at,
                })])
            }
            expires_at => Err(TenantError::ApiKeyNotExpired {
                key_id: c.key_id,
                expires_at,
            }),
        }
    }

    pub(super) fn add_member(&self, c: &AddMember, ctx: &DecisionContext) -> Decided {
        let member_id = require_id(c.member_id, "member_id")?;
        if self.members.contains_key(&member_id) {
            return Err(TenantError::MemberAlreadyExists { member_id });
        }
        let email = Email::parse(&c.email).in_field("email")?;
        let role = Role::parse(&c.role).in_field("role")?;
        self.authority(c.grantor, ctx.now)?.may_handle_role(role)?;
        if self.member_by_email(email.as_str()).is_some() {
            return Err(TenantError::MemberEmailTaken {
                email: email.into_string(),
            });
        }
        Ok(vec![TenantEvent::MemberAdded(MemberAdded {
            member_id,
            email,
            role,
        })])
    }

    pub(super) fn change_member_role(
        &self,
        c: &ChangeMemberRole,
        ctx: &DecisionContext,
    ) -> Decided {
        let member = self.known_member(c.member_id)?;
        let role = Role::parse(&c.role).in_field("role")?;
        if member.role == role {
            return Err(TenantError::Unchanged { field: "role" });
        }
        let authority = self.authority(c.grantor, ctx.now)?;
        authority.may_handle_role(member.role)?;
        authority.may_handle_role(role)?;
        self.keep_an_owner(member)?;
        Ok(vec![TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: member.id,
            email: member.email.clone(),
            previous_role: member.role,
            role,
        })])
    }

    /// Removes a member and revokes the keys that act for it: a key must not outlive the
    /// membership it speaks for.
    pub(super) fn remove_member(&self, c: &RemoveMember, ctx: &DecisionContext) -> Decided {
        let member = self.known_member(c.member_id)?;
        self.authority(c.grantor, ctx.now)?
            .may_handle_role(member.role)?;
        self.keep_an_owner(member)?;
        let revocations = self
            .api_keys
            .values()
            .filter(|key| key.member_id == Some(member.id) && !key.revoked)
            .map(|key| TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key.id }));
        Ok(std::iter::once(TenantEvent::MemberRemoved(MemberRemoved {
            member_id: member.id,
            email: member.email.clone(),
            role: member.role,
        }))
        .chain(revocations)
        .collect())
    }

    fn known_member(&self, member_id: uuid::Uuid) -> Result<&Member, TenantError> {
        self.members
            .get(&member_id)
            .ok_or(TenantError::MemberNotFound { member_id })
    }

    /// Refuses to let `member` stop being an owner if it is the only one: without an owner
    /// nobody could manage members or ownership any more.
    fn keep_an_owner(&self, member: &Member) -> Result<(), TenantError> {
        if member.role == Role::Owner && self.owner_count() <= 1 {
            Err(TenantError::LastOwner)
        } else {
            Ok(())
        }
    }
}

/// `text` cut to at most `max` characters (a reason quotes DNS answers, which may be long).
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
