//! Tests of the tenant aggregate, written as given (past events) / when (command) / then
//! (new events or a refusal), plus value, codec and property tests.
//!
//! This file holds the shared fixtures: a created tenant "Acme" with one owner, and builders for
//! commands and events, so each test states only what it is about.

mod api_keys;
mod codec;
mod domains;
mod grants;
mod lifecycle;
mod members;
mod profile;
mod props;
mod settings;
mod values;

use super::*;
use crate::ids::TenantId;
use crate::shared::{Email, Plan, Reason, Role};
use crate::testing::test_now;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The tenant every test works on.
fn tenant_id() -> TenantId {
    TenantId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

/// The first owner's member id.
fn owner_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_1001)
}

/// Another member id, numbered so tests can make several.
fn member_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_2000 + n)
}

/// An API key id, numbered.
fn key_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_3000 + n)
}

const OWNER_EMAIL: &str = "owner@acme.com";
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// `n` days after the harness's fixed clock.
fn days(n: i64) -> DateTime<Utc> {
    test_now() + Duration::days(n)
}

fn create_command() -> CreateTenant {
    CreateTenant {
        tenant_id: tenant_id(),
        name: "Acme".into(),
        slug: "acme".into(),
        plan: "standard".into(),
        data_region: "eu-west-1".into(),
        owner_email: OWNER_EMAIL.into(),
        owner_member_id: owner_id(),
    }
}

/// The events of creating the fixture tenant.
fn created() -> Vec<TenantEvent> {
    vec![
        TenantEvent::Created(TenantCreated {
            tenant_id: tenant_id(),
            name: TenantName::parse("Acme").unwrap(),
            slug: TenantSlug::parse("acme").unwrap(),
            plan: Plan::Standard,
            data_region: Region::parse("eu-west-1").unwrap(),
            owner_member_id: owner_id(),
            owner_email: Email::parse(OWNER_EMAIL).unwrap(),
        }),
        member_added(owner_id(), OWNER_EMAIL, Role::Owner),
    ]
}

/// The fixture tenant's creation followed by `more`.
fn created_and(more: impl IntoIterator<Item = TenantEvent>) -> Vec<TenantEvent> {
    let mut events = created();
    events.extend(more);
    events
}

fn member_added(id: Uuid, email: &str, role: Role) -> TenantEvent {
    TenantEvent::MemberAdded(MemberAdded {
        member_id: id,
        email: Email::parse(email).unwrap(),
        role,
    })
}

fn suspended() -> TenantEvent {
    TenantEvent::Suspended(TenantSuspended {
        reason: Reason::parse("unpaid invoices").unwrap(),
    })
}

fn decommission_scheduled(at: DateTime<Utc>) -> TenantEvent {
    TenantEvent::DecommissionScheduled(DecommissionScheduled { at })
}

fn decommissioned() -> TenantEvent {
    TenantEvent::Decommissioned(TenantDecommissioned {})
}

/// The challenge token every test domain is added with.
const TOKEN: &str = "kZ3q8vVbN1xY0pLmTr5sWc7u";

fn token() -> ChallengeToken {
    ChallengeToken::parse(TOKEN).unwrap()
}

fn domain_added(domain: &str) -> TenantEvent {
    TenantEvent::DomainAdded(DomainAdded {
        domain: DomainName::parse(domain).unwrap(),
        challenge: Some(token()),
    })
}

fn domain_verified(domain: &str) -> TenantEvent {
    let domain = DomainName::parse(domain).unwrap();
    TenantEvent::DomainVerified(DomainVerified {
        proof: Some(DnsProof {
            record: challenge_record(&domain),
            token: token(),
        }),
        domain,
    })
}

fn domain_unverified(domain: &str, reason: &str) -> TenantEvent {
    TenantEvent::DomainUnverified(DomainUnverified {
        domain: DomainName::parse(domain).unwrap(),
        reason: Reason::parse(reason).unwrap(),
    })
}

fn issue_key_command(n: u128) -> IssueApiKey {
    IssueApiKey {
        grantor: Grantor::Platform,
        key_id: key_id(n),
        member_id: None,
        name: "CI deploys".into(),
        scopes: vec!["workflows:write".into(), "*:read".into()],
        prefix: "kl_live_4f9a".into(),
        secret_hash: HASH.into(),
        expires_at: Some(days(90)),
    }
}

fn key_issued(n: u128) -> TenantEvent {
    TenantEvent::ApiKeyIssued(ApiKeyIssued {
        key_id: key_id(n),
        name: KeyName::parse("CI deploys").unwrap(),
        scopes: vec![
            Scope::parse("workflows:write").unwrap(),
            Scope::parse("*:read").unwrap(),
        ],
        prefix: KeyPrefix::parse("kl_live_4f9a").unwrap(),
        secret_hash: SecretHash::parse(HASH).unwrap(),
        expires_at: Some(days(90)),
        member_id: None,
    })
}

fn rename(name: &str) -> TenantCommand {
    RenameTenant { name: name.into() }.into()
}

fn invalid(field: &'static str, reason: &str) -> TenantError {
    TenantError::invalid(field, reason)
}

/// The field a refusal names, for tests that check only which field failed.
fn refused_field(outcome: Result<Vec<TenantEvent>, TenantError>) -> Option<&'static str> {
    match outcome {
        Ok(events) => panic!("expected a refusal, got {events:?}"),
        Err(TenantError::Invalid { field, .. }) => Some(field),
        Err(other) => panic!("expected an invalid-field refusal, got {other:?}"),
    }
}

/// One valid instance of every command except create, for status-gate tests.
fn every_command_but_create() -> Vec<TenantCommand> {
    vec![
        rename("Acme Corp"),
        UpdateBranding {
            primary_color: Some("#112233".into()),
            ..Default::default()
        }
        .into(),
        UpdateSettings {
            require_mfa: Some(true),
            ..Default::default()
        }
        .into(),
        ChangePlan {
            plan: "premium".into(),
            effective_at: days(1),
        }
        .into(),
        SetQuotaOverride {
            meter: "api_calls".into(),
            limit: 10,
        }
        .into(),
        ClearQuotaOverride {
            meter: "api_calls".into(),
        }
        .into(),
        SetFeatureFlag {
            flag: "beta".into(),
            enabled: true,
        }
        .into(),
        AddDomain {
            domain: "app.acme.com".into(),
            challenge: String::new(),
        }
        .into(),
        VerifyDomain {
            domain: "app.acme.com".into(),
            found: TxtLookup::NotLookedUp,
        }
        .into(),
        RecheckDomain {
            domain: "app.acme.com".into(),
            found: TxtLookup::NotLookedUp,
        }
        .into(),
        RemoveDomain {
            domain: "app.acme.com".into(),
        }
        .into(),
        issue_key_command(1).into(),
        RevokeApiKey { key_id: key_id(1) }.into(),
        ExpireApiKey { key_id: key_id(1) }.into(),
        AddMember {
            grantor: Grantor::Platform,
            member_id: member_id(1),
            email: "ada@acme.com".into(),
            role: "admin".into(),
        }
        .into(),
        ChangeMemberRole {
            grantor: Grantor::Platform,
            member_id: owner_id(),
            role: "admin".into(),
        }
        .into(),
        RemoveMember {
            grantor: Grantor::Platform,
            member_id: owner_id(),
        }
        .into(),
        SuspendTenant {
            reason: "abuse".into(),
        }
        .into(),
        ReactivateTenant {}.into(),
        ScheduleDecommission { at: days(30) }.into(),
        CancelDecommission {}.into(),
        DecommissionTenant {}.into(),
    ]
}
