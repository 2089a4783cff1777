//! Properties over random command sequences: whatever is decided, the rules hold, and every
//! recorded event can be stored, read back and folded.

use super::*;
use crate::aggregate::{Aggregate, DecisionContext};
use crate::shared::{Email, MeterName, Plan, Role};
use crate::DomainEvent;
use proptest::prelude::*;

/// Member 0 is the fixture owner; others are numbered.
fn member(n: u128) -> Uuid {
    if n == 0 {
        owner_id()
    } else {
        member_id(n)
    }
}

const EMAILS: &[&str] = &[OWNER_EMAIL, "ada@acme.com", "bob@acme.com"];
const DOMAINS: &[&str] = &["app.acme.com", "www.acme.com"];
const METERS: &[&str] = &["api_calls", "seats"];

fn role() -> impl Strategy<Value = String> {
    prop::sample::select(Role::ALL).prop_map(|r| r.as_str().to_owned())
}

/// Commands over a small pool of names and ids, so that sequences collide often (duplicate
/// members, repeated domains, the last owner) and reach the interesting refusals.
fn command() -> impl Strategy<Value = TenantCommand> {
    prop_oneof![
        1 => Just(create_command().into()),
        4 => prop::sample::select(vec!["Acme", "Acme Corp", "Beta"]).prop_map(rename),
        4 => (1u128..4, prop::sample::select(EMAILS), role()).prop_map(|(id, email, role)| {
            let email = email.into();
            AddMember { grantor: Grantor::Platform, member_id: member(id), email, role }.into()
        }),
        4 => (0u128..4, role()).prop_map(|(id, role)| {
            ChangeMemberRole { grantor: Grantor::Platform, member_id: member(id), role }.into()
        }),
        4 => (0u128..4).prop_map(|id| RemoveMember { grantor: Grantor::Platform, member_id: member(id) }.into()),
        4 => prop::sample::select(DOMAINS).prop_map(|d| {
            AddDomain { domain: d.into(), challenge: TOKEN.into() }.into()
        }),
        4 => (prop::sample::select(DOMAINS), any::<bool>()).prop_map(|(d, proven)| {
            let found = TxtLookup::Records(if proven { vec![TOKEN.into()] } else { vec![] });
            VerifyDomain { domain: d.into(), found }.into()
        }),
        2 => (prop::sample::select(DOMAINS), any::<bool>()).prop_map(|(d, proven)| {
            let found = TxtLookup::Records(if proven { vec![TOKEN.into()] } else { vec![] });
            RecheckDomain { domain: d.into(), found }.into()
        }),
        4 => prop::sample::select(DOMAINS).prop_map(|d| RemoveDomain { domain: d.into() }.into()),
        4 => (1u128..3).prop_map(|n| issue_key_command(n).into()),
        4 => (1u128..3).prop_map(|n| RevokeApiKey { key_id: key_id(n) }.into()),
        4 => (prop::sample::select(METERS), 0u64..3).prop_map(|(m, limit)| {
            SetQuotaOverride { meter: m.into(), limit }.into()
        }),
        4 => prop::sample::select(METERS).prop_map(|m| ClearQuotaOverride { meter: m.into() }.into()),
        4 => any::<bool>().prop_map(|enabled| {
            SetFeatureFlag { flag: "beta".into(), enabled }.into()
        }),
        4 => prop::sample::select(Plan::ALL).prop_map(|p| {
            ChangePlan { plan: p.as_str().into(), effective_at: days(1) }.into()
        }),
        4 => any::<bool>().prop_map(|mfa| {
            UpdateSettings { require_mfa: Some(mfa), ..Default::default() }.into()
        }),
        // Rarer, so that most of a sequence runs on an active tenant.
        1 => Just(SuspendTenant { reason: "ops".into() }.into()),
        4 => Just(ReactivateTenant {}.into()),
        1 => (1i64..40).prop_map(|d| ScheduleDecommission { at: days(d) }.into()),
        1 => Just(CancelDecommission {}.into()),
        1 => Just(DecommissionTenant {}.into()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rules_hold_after_any_sequence_of_decisions(
        steps in prop::collection::vec((command(), 0i64..3), 1..60)
    ) {
        let mut state = Tenant::default();
        let mut history: Vec<TenantEvent> = Vec::new();
        let mut now = test_now();
        // Always start by creating, so no steps are spent on a tenant that does not exist.
        let first = (TenantCommand::from(create_command()), 0);
        for (command, advance) in std::iter::once(first).chain(steps) {
            now += Duration::days(advance);
            let before = state.status();
            let outcome = state.decide(&command, &DecisionContext::at(now));

            // The status gate, whatever the command's content.
            match before {
                TenantStatus::NotCreated if !matches!(command, TenantCommand::Create(_)) => {
                    prop_assert_eq!(outcome.clone(), Err(TenantError::NotFound));
                }
                TenantStatus::Decommissioned if !matches!(command, TenantCommand::Create(_)) => {
                    prop_assert_eq!(outcome.clone(), Err(TenantError::Decommissioned));
                }
                TenantStatus::Suspended if !command.allowed_while_suspended()
                    && !matches!(command, TenantCommand::Create(_)) => {
                    prop_assert_eq!(outcome.clone(), Err(TenantError::Suspended));
                }
                _ => {}
            }

            if let Ok(events) = outcome {
                prop_assert!(!events.is_empty(), "{} decided nothing", command.name());
                for event in &events {
                    let bytes = event.encode().unwrap();
                    let decoded =
                        TenantEvent::decode(event.event_type(), event.schema_version(), &bytes);
                    prop_assert_eq!(decoded.as_ref(), Ok(event));
                    state.apply(event);
                }
                history.extend(events);
            }

            if state.exists() {
                prop_assert!(state.owner_count() >= 1, "a tenant keeps an owner");
            }
            let mut emails: Vec<&str> = state.members().values().map(|m| m.email.as_str()).collect();
            let count = emails.len();
            emails.sort_unstable();
            emails.dedup();
            prop_assert_eq!(emails.len(), count, "member emails are unique");
        }
        prop_assert_eq!(&Tenant::from_events(history.iter()), &state);
        let snapshot = serde_json::to_string(&state).unwrap();
        prop_assert_eq!(serde_json::from_str::<Tenant>(&snapshot).unwrap(), state);
    }

    #[test]
    fn apply_is_total_for_any_event_sequence(
        steps in prop::collection::vec(0usize..21, 0..40)
    ) {
        // Events in any order, including ones a valid stream never holds (a verification of an
        // unknown domain, a revocation before issue): folding must not panic.
        let pool = one_event_per_variant();
        let mut state = Tenant::default();
        for i in steps {
            state.apply(&pool[i % pool.len()]);
        }
    }
}

fn one_event_per_variant() -> Vec<TenantEvent> {
    let mut events = created();
    events.extend([
        TenantEvent::Renamed(TenantRenamed {
            name: TenantName::parse("B").unwrap(),
        }),
        TenantEvent::BrandingUpdated(BrandingUpdated {
            display_name: None,
            logo_url: None,
            primary_color: None,
        }),
        TenantEvent::SettingsUpdated(SettingsUpdated::default()),
        TenantEvent::PlanChanged(PlanChanged {
            previous_plan: Plan::Free,
            plan: Plan::Premium,
            effective_at: days(1),
        }),
        TenantEvent::QuotaOverrideSet(QuotaOverrideSet {
            meter: MeterName::parse("seats").unwrap(),
            limit: 1,
        }),
        TenantEvent::QuotaOverrideCleared(QuotaOverrideCleared {
            meter: MeterName::parse("seats").unwrap(),
        }),
        TenantEvent::FeatureFlagSet(FeatureFlagSet {
            flag: FlagName::parse("beta").unwrap(),
            enabled: false,
        }),
        domain_added("app.acme.com"),
        domain_verified("app.acme.com"),
        domain_unverified("app.acme.com", "the proof is gone"),
        TenantEvent::DomainRemoved(DomainRemoved {
            domain: DomainName::parse("app.acme.com").unwrap(),
        }),
        key_issued(1),
        TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key_id(1) }),
        TenantEvent::ApiKeyExpired(ApiKeyExpired {
            key_id: key_id(1),
            expires_at: days(90),
        }),
        TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            previous_role: Role::Owner,
            role: Role::Member,
        }),
        TenantEvent::MemberRemoved(MemberRemoved {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            role: Role::Member,
        }),
        suspended(),
        TenantEvent::Reactivated(TenantReactivated {}),
        decommission_scheduled(days(3)),
        TenantEvent::DecommissionCancelled(DecommissionCancelled {}),
        decommissioned(),
    ]);
    events
}
