//! Evaluation by example: what each kind of active policy does to one request, and the
//! reasons it gives. Properties over random policies are in `props`.

use super::*;
use crate::testing::test_now;
use chrono::Duration;
use serde_json::json;

/// An active policy of `tenant` numbered `n`, version 3, with the rules given as JSON.
fn active(tenant: TenantId, n: u128, document: serde_json::Value) -> ActivePolicy {
    ActivePolicy {
        tenant_id: tenant,
        policy_id: Uuid::from_u128(n),
        name: PolicyName::parse(&format!("policy {n}")).unwrap(),
        version: 3,
        document: validate_json(document).unwrap(),
    }
}

fn access(tenant: TenantId, n: u128, rules: serde_json::Value) -> ActivePolicy {
    active(tenant, n, json!({"kind": "access", "rules": rules}))
}

/// Admins may do anything, platform-wide.
fn baseline() -> ActivePolicy {
    access(
        TenantId::PLATFORM,
        1,
        json!([{"effect": "allow", "roles": ["admin"], "actions": ["*"], "resources": ["*"],
                "description": "admins do anything"}]),
    )
}

fn request(role: &str, action: &str, resource: &str) -> RequestContext {
    RequestContext {
        tenant_id: tenant_id(),
        role: role.into(),
        action: action.into(),
        resource: resource.into(),
        ip: Some("10.1.2.3".parse().unwrap()),
        at: test_now(),
        mfa: MfaStatus::Missing,
    }
}

fn codes(decision: &Decision) -> Vec<ReasonCode> {
    decision.reasons.iter().map(|r| r.code).collect()
}

#[test]
fn a_matching_allow_rule_allows_and_says_which_rule() {
    let decision = evaluate(
        &[baseline()],
        &request("admin", "tenants.rename", "tenants/1"),
    );
    assert!(decision.is_allowed());
    assert_eq!(decision.reasons.len(), 1);
    let reason = &decision.reasons[0];
    assert_eq!(reason.code, ReasonCode::AccessAllowed);
    assert_eq!(
        reason.source,
        Some(RuleRef {
            tenant_id: TenantId::PLATFORM,
            policy_id: Uuid::from_u128(1),
            version: 3,
            rule_index: Some(0),
        })
    );
    assert_eq!(
        reason.description,
        "`policy 1` v3: rule 0: admins do anything"
    );
}

#[test]
fn no_policies_at_all_deny_by_default() {
    let decision = evaluate(&[], &request("admin", "read", "x"));
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(codes(&decision), [ReasonCode::NoAccessRule]);
    assert_eq!(decision.reasons[0].source, None);
    assert_eq!(
        decision.reasons[0].description,
        "no access rule allows role `admin` to `read` on `x`"
    );
}

#[test]
fn an_empty_access_policy_denies() {
    let decision = evaluate(
        &[access(tenant_id(), 2, json!([]))],
        &request("admin", "read", "x"),
    );
    assert_eq!(codes(&decision), [ReasonCode::NoAccessRule]);
}

#[test]
fn a_tenant_deny_wins_over_a_platform_allow() {
    let tenant_deny = access(
        tenant_id(),
        2,
        json!([{"effect": "deny", "roles": ["*"], "actions": ["billing.*"], "resources": ["*"]}]),
    );
    let policies = [baseline(), tenant_deny];
    let denied = evaluate(&policies, &request("admin", "billing.refund", "invoices/1"));
    assert_eq!(denied.effect, Effect::Deny);
    assert_eq!(codes(&denied), [ReasonCode::AccessDenied]);
    assert_eq!(
        denied.reasons[0].source.unwrap().policy_id,
        Uuid::from_u128(2)
    );
    assert_eq!(
        denied.reasons[0].description,
        "`policy 2` v3: rule 0: deny * to billing.* on *"
    );
    assert!(evaluate(&policies, &request("admin", "tenants.rename", "t")).is_allowed());
}

#[test]
fn policies_of_another_tenant_are_ignored() {
    let other = TenantId(Uuid::from_u128(0xdead));
    let foreign_allow = access(
        other,
        2,
        json!([{"effect": "allow", "roles": ["*"], "actions": ["*"], "resources": ["*"]}]),
    );
    let decision = evaluate(&[foreign_allow], &request("member", "read", "x"));
    assert_eq!(codes(&decision), [ReasonCode::NoAccessRule]);
}

#[test]
fn access_rules_apply_only_within_their_time_window() {
    let grant = access(
        tenant_id(),
        2,
        json!([{"effect": "allow", "roles": ["contractor"], "actions": ["read"], "resources": ["*"],
                "not_before": test_now(), "not_after": test_now() + Duration::days(7)}]),
    );
    let mut at = request("contractor", "read", "reports/1");
    assert!(evaluate(std::slice::from_ref(&grant), &at).is_allowed());
    at.at = test_now() - Duration::seconds(1);
    assert!(!evaluate(std::slice::from_ref(&grant), &at).is_allowed());
    at.at = test_now() + Duration::days(7);
    assert!(!evaluate(std::slice::from_ref(&grant), &at).is_allowed());
}

#[test]
fn an_allowlist_denies_an_address_outside_every_range() {
    let allowlist = active(
        tenant_id(),
        2,
        json!({"kind": "ip_allowlist", "rules": [
            {"cidr": "192.168.0.0/16"}, {"cidr": "10.0.0.0/8", "description": "VPN"}]}),
    );
    let policies = [baseline(), allowlist];
    let inside = evaluate(&policies, &request("admin", "read", "x"));
    assert!(inside.is_allowed());
    assert_eq!(
        codes(&inside),
        [ReasonCode::AccessAllowed, ReasonCode::IpAllowed]
    );
    assert_eq!(inside.reasons[1].source.unwrap().rule_index, Some(1));
    assert_eq!(
        inside.reasons[1].description,
        "`policy 2` v3: rule 1: 10.1.2.3 is in 10.0.0.0/8 (VPN)"
    );

    let mut outside = request("admin", "read", "x");
    outside.ip = Some("203.0.113.9".parse().unwrap());
    let denied = evaluate(&policies, &outside);
    assert_eq!(codes(&denied), [ReasonCode::IpNotAllowed]);
    assert_eq!(denied.reasons[0].source.unwrap().rule_index, None);
    assert_eq!(
        denied.reasons[0].description,
        "`policy 2` v3: 203.0.113.9 is outside every allowed range"
    );
}

#[test]
fn an_allowlist_refuses_an_unknown_address_and_an_empty_one_refuses_all() {
    let allowlist = active(
        tenant_id(),
        2,
        json!({"kind": "ip_allowlist", "rules": [{"cidr": "0.0.0.0/0"}]}),
    );
    let mut unknown = request("admin", "read", "x");
    unknown.ip = None;
    let decision = evaluate(&[baseline(), allowlist], &unknown);
    assert_eq!(codes(&decision), [ReasonCode::IpUnknown]);

    let empty = active(tenant_id(), 3, json!({"kind": "ip_allowlist", "rules": []}));
    let decision = evaluate(&[baseline(), empty], &request("admin", "read", "x"));
    assert_eq!(codes(&decision), [ReasonCode::IpNotAllowed]);
}

#[test]
fn every_active_allowlist_must_admit_the_address() {
    let platform = active(
        TenantId::PLATFORM,
        2,
        json!({"kind": "ip_allowlist", "rules": [{"cidr": "10.0.0.0/8"}]}),
    );
    let tenant = active(
        tenant_id(),
        3,
        json!({"kind": "ip_allowlist", "rules": [{"cidr": "10.9.0.0/16"}]}),
    );
    let decision = evaluate(
        &[baseline(), platform, tenant],
        &request("admin", "read", "x"),
    );
    assert_eq!(codes(&decision), [ReasonCode::IpNotAllowed]);
    assert_eq!(
        decision.reasons[0].source.unwrap().policy_id,
        Uuid::from_u128(3)
    );
}

#[test]
fn an_ipv4_mapped_address_is_matched_as_ipv4() {
    let allowlist = active(
        tenant_id(),
        2,
        json!({"kind": "ip_allowlist", "rules": [{"cidr": "10.0.0.0/8"}]}),
    );
    let mut mapped = request("admin", "read", "x");
    mapped.ip = Some("::ffff:10.1.2.3".parse().unwrap());
    assert!(evaluate(&[baseline(), allowlist], &mapped).is_allowed());
}

#[test]
fn a_required_second_factor_that_is_missing_denies() {
    let mfa = active(
        TenantId::PLATFORM,
        2,
        json!({"kind": "mfa", "rules": [{"role": "*", "required": true}, {"role": "auditor", "required": false}]}),
    );
    let everyone = access(
        tenant_id(),
        3,
        json!([{"effect": "allow", "roles": ["*"], "actions": ["*"], "resources": ["*"]}]),
    );
    let policies = [mfa, everyone];
    let denied = evaluate(&policies, &request("admin", "read", "x"));
    assert_eq!(codes(&denied), [ReasonCode::MfaRequired]);
    assert_eq!(
        denied.reasons[0].description,
        "`policy 2` v3: rule 0: role `admin` must use a second factor"
    );

    let mut verified = request("admin", "read", "x");
    verified.mfa = MfaStatus::Verified;
    let allowed = evaluate(&policies, &verified);
    assert_eq!(
        codes(&allowed),
        [ReasonCode::MfaSatisfied, ReasonCode::AccessAllowed]
    );

    // The exact role is more specific than `*`: auditors are exempt.
    assert!(evaluate(&policies, &request("auditor", "read", "x")).is_allowed());
    // An API key cannot have a second factor: MFA rules do not apply to it.
    let mut key = request("admin", "read", "x");
    key.mfa = MfaStatus::NotApplicable;
    assert_eq!(
        codes(&evaluate(&policies, &key)),
        [ReasonCode::AccessAllowed]
    );
}

#[test]
fn rate_limit_retention_and_compliance_policies_do_not_decide_requests() {
    let others = [
        active(
            tenant_id(),
            2,
            json!({"kind": "rate_limit", "rules": [
            {"endpoint_group": "*", "requests_per_second": 1, "burst": 1}]}),
        ),
        active(
            tenant_id(),
            3,
            json!({"kind": "data_retention", "rules": [
            {"data_class": "audit_log", "days": 1}]}),
        ),
        active(
            tenant_id(),
            4,
            json!({"kind": "compliance", "rules": [
            {"framework": "hipaa", "controls": ["audit_log"]}]}),
        ),
    ];
    let with_baseline: Vec<_> = std::iter::once(baseline())
        .chain(others.iter().cloned())
        .collect();
    let allowed = evaluate(&with_baseline, &request("admin", "read", "x"));
    assert_eq!(codes(&allowed), [ReasonCode::AccessAllowed]);
    let denied = evaluate(&others, &request("admin", "read", "x"));
    assert_eq!(codes(&denied), [ReasonCode::NoAccessRule]);
}

#[test]
fn a_deny_lists_every_violation() {
    let deny = access(
        tenant_id(),
        2,
        json!([{"effect": "deny", "roles": ["admin"], "actions": ["*"], "resources": ["*"]}]),
    );
    let allowlist = active(tenant_id(), 3, json!({"kind": "ip_allowlist", "rules": []}));
    let mfa = active(
        tenant_id(),
        4,
        json!({"kind": "mfa", "rules": [{"role": "admin", "required": true}]}),
    );
    let decision = evaluate(
        &[baseline(), deny, allowlist, mfa],
        &request("admin", "read", "x"),
    );
    assert_eq!(
        codes(&decision),
        [
            ReasonCode::AccessDenied,
            ReasonCode::IpNotAllowed,
            ReasonCode::MfaRequired
        ]
    );
}

#[test]
fn reasons_quote_request_values_cut_short() {
    let decision = evaluate(&[], &request(&"r".repeat(10_000), "read", "x"));
    assert!(decision.reasons[0].description.len() < 200);
}

#[test]
fn decisions_serialize_for_the_api() {
    let decision = evaluate(&[baseline()], &request("admin", "read", "x"));
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["effect"], "allow");
    assert_eq!(json["reasons"][0]["code"], "access_allowed");
    assert_eq!(
        json["reasons"][0]["source"]["policy_id"],
        Uuid::from_u128(1).to_string()
    );
    assert_eq!(json["reasons"][0]["source"]["rule_index"], 0);
}
