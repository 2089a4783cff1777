//! Properties of evaluation over random policies and requests: deny wins, an empty rule set
//! denies, and the same input always gives the same decision (whatever the policies' order,
//! the outcome and the set of reasons are the same).

use super::*;
use crate::testing::test_now;
use proptest::prelude::*;
use std::net::IpAddr;

const ROLES: &[&str] = &["admin", "member", "auditor"];
const ACTIONS: &[&str] = &["read", "write", "billing.refund"];
const RESOURCES: &[&str] = &["tenants/1", "workflows/7", "invoices/3"];
const ROLE_PATTERNS: &[&str] = &["*", "admin", "member", "auditor", "adm*"];
const ACTION_PATTERNS: &[&str] = &["*", "read", "write", "billing.*"];
const RESOURCE_PATTERNS: &[&str] = &["*", "tenants/*", "workflows/7", "invoices/3"];
const IPS: &[&str] = &["10.1.2.3", "192.168.1.1", "2001:db8::1", "::ffff:10.9.9.9"];
const RANGES: &[&str] = &["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "0.0.0.0/0"];

fn other_tenant() -> TenantId {
    TenantId(Uuid::from_u128(0xbad))
}

fn patterns(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<Pattern>> {
    prop::sample::subsequence(pool, 1..=pool.len())
        .prop_map(|items| items.iter().map(|p| Pattern::parse(p).unwrap()).collect())
}

fn access_rule() -> impl Strategy<Value = AccessRule> {
    (
        prop::sample::select(Effect::ALL),
        patterns(ROLE_PATTERNS),
        patterns(ACTION_PATTERNS),
        patterns(RESOURCE_PATTERNS),
    )
        .prop_map(|(effect, roles, actions, resources)| AccessRule {
            effect,
            roles,
            actions,
            resources,
            description: None,
            not_before: None,
            not_after: None,
        })
}

fn document() -> impl Strategy<Value = PolicyDocument> {
    prop_oneof![
        4 => prop::collection::vec(access_rule(), 0..5).prop_map(PolicyDocument::Access),
        1 => prop::sample::subsequence(RANGES, 0..=RANGES.len()).prop_map(|ranges| {
            PolicyDocument::IpAllowlist(ranges.iter().map(|r| IpAllowRule {
                cidr: IpRange::parse(r).unwrap(),
                description: None,
            }).collect())
        }),
        1 => (prop::sample::select(ROLE_PATTERNS), any::<bool>()).prop_map(|(role, required)| {
            PolicyDocument::Mfa(vec![MfaRule { role: Pattern::parse(role).unwrap(), required }])
        }),
        1 => Just(PolicyDocument::RateLimit(vec![])),
        1 => Just(PolicyDocument::Compliance(vec![])),
    ]
}

fn policy() -> impl Strategy<Value = ActivePolicy> {
    (
        prop::sample::select(vec![TenantId::PLATFORM, tenant_id(), other_tenant()]),
        0u128..4,
        1u32..4,
        document(),
    )
        .prop_map(|(tenant_id, n, version, document)| ActivePolicy {
            tenant_id,
            policy_id: Uuid::from_u128(n + 1),
            name: PolicyName::parse(&format!("policy {n}")).unwrap(),
            version,
            document,
        })
}

fn request() -> impl Strategy<Value = RequestContext> {
    (
        prop::sample::select(ROLES),
        prop::sample::select(ACTIONS),
        prop::sample::select(RESOURCES),
        prop::option::weighted(0.9, prop::sample::select(IPS)),
        prop::sample::select(vec![
            MfaStatus::Verified,
            MfaStatus::Missing,
            MfaStatus::NotApplicable,
        ]),
    )
        .prop_map(|(role, action, resource, ip, mfa)| RequestContext {
            tenant_id: tenant_id(),
            role: role.into(),
            action: action.into(),
            resource: resource.into(),
            ip: ip.map(|ip| ip.parse::<IpAddr>().unwrap()),
            at: test_now(),
            mfa,
        })
}

fn in_scope(policy: &ActivePolicy, request: &RequestContext) -> bool {
    policy.tenant_id.is_platform() || policy.tenant_id == request.tenant_id
}

/// Whether some in-scope access rule with `effect` matches the request.
fn some_rule_matches(policies: &[ActivePolicy], request: &RequestContext, effect: Effect) -> bool {
    policies
        .iter()
        .filter(|p| in_scope(p, request))
        .any(|p| match &p.document {
            PolicyDocument::Access(rules) => rules.iter().any(|r| {
                r.effect == effect
                    && r.matches(
                        &request.role,
                        &request.action,
                        &request.resource,
                        request.at,
                    )
            }),
            _ => false,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn deny_wins(
        mut policies in prop::collection::vec(policy(), 0..6),
        request in request(),
        at in any::<prop::sample::Index>(),
        tenant_level in any::<bool>(),
    ) {
        // A deny rule matching the request, in a platform or tenant policy at any position.
        let deny = AccessRule {
            effect: Effect::Deny,
            roles: vec![Pattern::parse("*").unwrap()],
            actions: vec![Pattern::parse(&request.action).unwrap()],
            resources: vec![Pattern::parse("*").unwrap()],
            description: None,
            not_before: None,
            not_after: None,
        };
        let holder = ActivePolicy {
            tenant_id: if tenant_level { request.tenant_id } else { TenantId::PLATFORM },
            policy_id: Uuid::from_u128(99),
            name: PolicyName::parse("deny").unwrap(),
            version: 1,
            document: PolicyDocument::Access(vec![deny]),
        };
        let position = at.index(policies.len() + 1);
        policies.insert(position, holder);
        let decision = evaluate(&policies, &request);
        prop_assert_eq!(decision.effect, Effect::Deny);
        prop_assert!(decision.reasons.iter().any(|r| r.code == ReasonCode::AccessDenied
            && r.source.is_some_and(|s| s.policy_id == Uuid::from_u128(99) && s.rule_index == Some(0))));
    }

    #[test]
    fn any_matching_deny_denies_and_an_allow_needs_a_matching_allow(
        policies in prop::collection::vec(policy(), 0..6),
        request in request(),
    ) {
        let decision = evaluate(&policies, &request);
        prop_assert!(!decision.reasons.is_empty(), "every decision explains itself");
        if some_rule_matches(&policies, &request, Effect::Deny) {
            prop_assert_eq!(decision.effect, Effect::Deny);
        }
        if decision.is_allowed() {
            prop_assert!(some_rule_matches(&policies, &request, Effect::Allow));
            prop_assert!(!some_rule_matches(&policies, &request, Effect::Deny));
        }
    }

    #[test]
    fn an_empty_rule_set_denies(
        others in prop::collection::vec(
            prop_oneof![
                Just(PolicyDocument::Access(vec![])),
                Just(PolicyDocument::RateLimit(vec![])),
                Just(PolicyDocument::DataRetention(vec![])),
                Just(PolicyDocument::Compliance(vec![])),
                Just(PolicyDocument::Mfa(vec![])),
            ],
            0..4,
        ),
        request in request(),
        mut policies in prop::collection::vec(policy(), 0..6),
    ) {
        // Only empty rule sets: nothing allows, so the request is denied.
        let empty: Vec<ActivePolicy> = others.into_iter().enumerate().map(|(n, document)| ActivePolicy {
            tenant_id: request.tenant_id,
            policy_id: Uuid::from_u128(n as u128 + 50),
            name: PolicyName::parse("empty").unwrap(),
            version: 1,
            document,
        }).collect();
        prop_assert_eq!(evaluate(&empty, &request).effect, Effect::Deny);
        // An empty allowlist denies whatever else allows.
        policies.push(ActivePolicy {
            tenant_id: request.tenant_id,
            policy_id: Uuid::from_u128(60),
            name: PolicyName::parse("no address").unwrap(),
            version: 1,
            document: PolicyDocument::IpAllowlist(vec![]),
        });
        prop_assert_eq!(evaluate(&policies, &request).effect, Effect::Deny);
    }

    #[test]
    fn evaluation_is_deterministic(
        policies in prop::collection::vec(policy(), 0..6),
        request in request(),
    ) {
        let first = evaluate(&policies, &request);
        let again = evaluate(&policies.clone(), &request.clone());
        prop_assert_eq!(&first, &again);
        // The order of the policies orders the reasons only.
        let mut reversed = policies.clone();
        reversed.reverse();
        let other = evaluate(&reversed, &request);
        prop_assert_eq!(first.effect, other.effect);
        let sorted = |d: &Decision| {
            let mut texts: Vec<String> = d.reasons.iter().map(|r| format!("{r:?}")).collect();
            texts.sort();
            texts
        };
        prop_assert_eq!(sorted(&first), sorted(&other));
    }
}

/// Life-cycle commands over a few versions, so sequences often publish, supersede and refuse.
fn command() -> impl Strategy<Value = PolicyCommand> {
    prop_oneof![
        1 => Just(draft_command().into()),
        4 => (1usize..4).prop_map(revise),
        4 => (0u32..6).prop_map(publish),
        2 => Just(DeactivatePolicy {}.into()),
        1 => Just(ArchivePolicy {}.into()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_life_cycle_rules_hold_after_any_sequence_of_decisions(
        commands in prop::collection::vec(command(), 1..40)
    ) {
        use crate::aggregate::{Aggregate, DecisionContext};
        use crate::DomainEvent;
        let ctx = DecisionContext::at(test_now());
        let mut state = Policy::default();
        let mut history = Vec::new();
        for command in std::iter::once(draft_command().into()).chain(commands) {
            let archived = state.status() == PolicyStatus::Archived;
            let Ok(events) = state.decide(&command, &ctx) else { continue };
            prop_assert!(!archived, "an archived policy decided {command:?}");
            for event in &events {
                let bytes = event.encode().unwrap();
                let decoded = PolicyEvent::decode(event.event_type(), 1, &bytes).unwrap();
                prop_assert_eq!(&decoded, event);
                state.apply(event);
            }
            history.extend(events);
            let active: Vec<_> = state.versions().iter()
                .filter(|v| v.status == VersionStatus::Active).map(|v| v.number).collect();
            prop_assert!(active.len() <= 1, "several active versions: {active:?}");
            prop_assert_eq!(active.first().copied(), state.active().map(|a| a.version));
            prop_assert_eq!(state.status() == PolicyStatus::Active, !active.is_empty());
            let latest_published = state.latest_published().unwrap_or(0);
            for (index, version) in state.versions().iter().enumerate() {
                prop_assert_eq!(version.number as usize, index + 1);
                if version.status == VersionStatus::Draft {
                    prop_assert!(version.number > latest_published, "a stale draft is publishable");
                }
            }
        }
        prop_assert_eq!(Policy::from_events(history.iter()), state);
    }
}
