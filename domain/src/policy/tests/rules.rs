//! Validation of each kind's rules on the way in, and the JSON shape of documents.

use super::*;
use serde_json::json;

/// The field a document's refusal names.
fn refused(json: serde_json::Value) -> String {
    match validate_json(json) {
        Ok(document) => panic!("expected a refusal, got {document:?}"),
        Err(PolicyError::Invalid { field, .. }) => field,
        Err(other) => panic!("expected an invalid-field refusal, got {other:?}"),
    }
}

fn access(rule: serde_json::Value) -> serde_json::Value {
    json!({"kind": "access", "rules": [rule]})
}

#[test]
fn an_access_document_is_tagged_by_kind_with_its_rules_next_to_it() {
    let document = validate_json(json!({"kind": "access", "rules": [{
        "effect": "deny",
        "roles": ["*"],
        "actions": ["tenants.decommission"],
        "resources": ["tenants/*"],
        "description": " nobody decommissions by hand ",
    }]}))
    .unwrap();
    assert_eq!(document.kind(), PolicyKind::Access);
    assert_eq!(
        serde_json::to_value(&document).unwrap(),
        json!({"kind": "access", "rules": [{
            "effect": "deny",
            "roles": ["*"],
            "actions": ["tenants.decommission"],
            "resources": ["tenants/*"],
            "description": "nobody decommissions by hand",
        }]})
    );
}

#[test]
fn an_empty_rule_set_is_a_valid_document() {
    for kind in PolicyKind::ALL {
        let document = validate_json(json!({"kind": kind.as_str(), "rules": []})).unwrap();
        assert_eq!(document.kind(), *kind);
        assert!(document.is_empty());
    }
}

#[test]
fn unknown_kinds_and_fields_fail_json_decoding() {
    for bad in [
        json!({"kind": "firewall", "rules": []}),
        json!({"kind": "access"}),
        json!({"kind": "access", "rules": [], "extra": 1}),
        json!({"kind": "mfa", "rules": [{"role": "*", "required": true, "grace": 3}]}),
    ] {
        assert!(
            serde_json::from_value::<PolicyDocumentInput>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn access_rules_refuse_an_unknown_effect() {
    let rule = json!({"effect": "permit", "roles": ["*"], "actions": ["*"], "resources": ["*"]});
    assert_eq!(refused(access(rule)), "document.rules[0].effect");
}

#[test]
fn access_rules_refuse_empty_lists_bad_patterns_and_duplicates() {
    let cases = [
        (
            json!({"effect": "allow", "roles": [], "actions": ["*"], "resources": ["*"]}),
            "roles",
        ),
        (
            json!({"effect": "allow", "roles": ["*"], "actions": [], "resources": ["*"]}),
            "actions",
        ),
        (
            json!({"effect": "allow", "roles": ["*"], "actions": ["*"], "resources": []}),
            "resources",
        ),
        (
            json!({"effect": "allow", "roles": ["Admin"], "actions": ["*"], "resources": ["*"]}),
            "roles[0]",
        ),
        (
            json!({"effect": "allow", "roles": ["*"], "actions": ["re*ad"], "resources": ["*"]}),
            "actions[0]",
        ),
        (
            json!({"effect": "allow", "roles": ["*"], "actions": ["*"], "resources": ["a", "a"]}),
            "resources[1]",
        ),
        (
            json!({"effect": "allow", "roles": ["*"], "actions": ["*"], "resources": ["*"], "description": ""}),
            "description",
        ),
    ];
    for (rule, field) in cases {
        assert_eq!(refused(access(rule)), format!("document.rules[0].{field}"));
    }
}

#[test]
fn access_rules_refuse_lists_longer_than_the_limit() {
    let roles: Vec<String> = (0..=input::MAX_LIST).map(|i| format!("role{i}")).collect();
    let rule = json!({"effect": "allow", "roles": roles, "actions": ["*"], "resources": ["*"]});
    assert_eq!(refused(access(rule)), "document.rules[0].roles");
}

#[test]
fn access_rules_refuse_a_time_window_that_ends_before_it_starts() {
    let rule = json!({
        "effect": "allow", "roles": ["*"], "actions": ["*"], "resources": ["*"],
        "not_before": "2026-02-01T00:00:00Z", "not_after": "2026-02-01T00:00:00Z",
    });
    assert_eq!(refused(access(rule)), "document.rules[0].not_after");
}

#[test]
fn a_document_with_more_rules_than_the_limit_is_refused() {
    let rules: Vec<_> = (0..=input::MAX_RULES)
        .map(|i| json!({"data_class": format!("class{i}"), "days": 30}))
        .collect();
    let error = validate_json(json!({"kind": "data_retention", "rules": rules})).unwrap_err();
    assert_eq!(error.field(), Some("document.rules"));
    assert_eq!(
        error.to_string(),
        format!(
            "document.rules must have at most {} rules (got {})",
            input::MAX_RULES,
            input::MAX_RULES + 1
        )
    );
}

#[test]
fn ip_allowlists_store_canonical_ranges() {
    let document = validate_json(json!({"kind": "ip_allowlist", "rules": [
        {"cidr": "10.0.0.0/8", "description": "office"},
        {"cidr": "2001:DB8:0:0::/32"},
        {"cidr": "192.0.2.7"},
        {"cidr": "::1"},
    ]}))
    .unwrap();
    let PolicyDocument::IpAllowlist(rules) = &document else {
        panic!("expected an allowlist, got {document:?}");
    };
    let shown: Vec<String> = rules.iter().map(|r| r.cidr.to_string()).collect();
    assert_eq!(
        shown,
        ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32", "::1/128"]
    );
    assert_eq!(
        serde_json::to_value(&document).unwrap()["rules"][1],
        json!({"cidr": "2001:db8::/32"})
    );
}

#[test]
fn ip_allowlists_refuse_invalid_ranges() {
    for cidr in [
        "10.0.0.0/33",
        "2001:db8::/129",
        "10.0.0.1/8",
        "2001:db8::1/32",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0.0/ 8",
        "10.0.0.0/8/8",
        "10.0.0/8",
        "010.0.0.0/8",
        "fe80::1%eth0/64",
        "::ffff:10.0.0.0/104",
        "example.com/24",
        "",
    ] {
        let json = json!({"kind": "ip_allowlist", "rules": [{"cidr": cidr}]});
        assert_eq!(refused(json), "document.rules[0].cidr", "{cidr:?}");
    }
}

#[test]
fn ip_allowlists_refuse_the_same_range_twice_even_written_differently() {
    let json = json!({"kind": "ip_allowlist", "rules": [
        {"cidr": "2001:db8::/32"},
        {"cidr": "2001:0DB8:0000::/32"},
    ]});
    let error = validate_json(json).unwrap_err();
    assert_eq!(error.field(), Some("document.rules[1].cidr"));
    assert!(
        error.to_string().contains("already covered by rule 0"),
        "{error}"
    );
}

#[test]
fn rate_limits_are_checked_per_endpoint_group() {
    let valid = validate_json(json!({"kind": "rate_limit", "rules": [
        {"endpoint_group": "webhooks", "requests_per_second": 100, "burst": 200},
        {"endpoint_group": "*", "requests_per_second": 10, "burst": 1},
    ]}));
    assert!(valid.is_ok(), "{valid:?}");
    let cases = [
        (
            json!({"endpoint_group": "Web Hooks", "requests_per_second": 1, "burst": 1}),
            "endpoint_group",
        ),
        (
            json!({"endpoint_group": "api", "requests_per_second": 0, "burst": 1}),
            "requests_per_second",
        ),
        (
            json!({"endpoint_group": "api", "requests_per_second": 1, "burst": 0}),
            "burst",
        ),
        (
            json!({"endpoint_group": "api", "requests_per_second": 1_000_001, "burst": 1}),
            "requests_per_second",
        ),
    ];
    for (rule, field) in cases {
        let json = json!({"kind": "rate_limit", "rules": [rule]});
        assert_eq!(refused(json), format!("document.rules[0].{field}"));
    }
    let twice = json!({"kind": "rate_limit", "rules": [
        {"endpoint_group": "api", "requests_per_second": 1, "burst": 1},
        {"endpoint_group": "api", "requests_per_second": 2, "burst": 2},
    ]});
    assert_eq!(refused(twice), "document.rules[1].endpoint_group");
}

#[test]
fn retention_is_checked_per_data_class() {
    let cases = [
        (json!({"data_class": "audit_log", "days": 0}), "days"),
        (json!({"data_class": "audit_log", "days": 36_501}), "days"),
        (json!({"data_class": "audit-log", "days": 30}), "data_class"),
    ];
    for (rule, field) in cases {
        let json = json!({"kind": "data_retention", "rules": [rule]});
        assert_eq!(refused(json), format!("document.rules[0].{field}"));
    }
    let twice = json!({"kind": "data_retention", "rules": [
        {"data_class": "audit_log", "days": 30},
        {"data_class": "audit_log", "days": 60},
    ]});
    assert_eq!(refused(twice), "document.rules[1].data_class");
}

#[test]
fn mfa_rules_refuse_bad_and_repeated_roles() {
    let bad = json!({"kind": "mfa", "rules": [{"role": "", "required": true}]});
    assert_eq!(refused(bad), "document.rules[0].role");
    let twice = json!({"kind": "mfa", "rules": [
        {"role": "admin", "required": true},
        {"role": "admin", "required": false},
    ]});
    assert_eq!(refused(twice), "document.rules[1].role");
}

#[test]
fn compliance_rules_name_a_known_framework_and_its_controls() {
    let valid = validate_json(json!({"kind": "compliance", "rules": [
        {"framework": "gdpr", "controls": ["data_export", "erasure"]},
        {"framework": "soc2", "controls": ["audit_log"]},
    ]}));
    assert!(valid.is_ok(), "{valid:?}");
    let cases = [
        (json!({"framework": "pci", "controls": ["x"]}), "framework"),
        (json!({"framework": "GDPR", "controls": ["x"]}), "framework"),
        (json!({"framework": "hipaa", "controls": []}), "controls"),
        (
            json!({"framework": "hipaa", "controls": ["Audit"]}),
            "controls[0]",
        ),
        (
            json!({"framework": "hipaa", "controls": ["a", "a"]}),
            "controls[1]",
        ),
    ];
    for (rule, field) in cases {
        let json = json!({"kind": "compliance", "rules": [rule]});
        assert_eq!(refused(json), format!("document.rules[0].{field}"));
    }
    let twice = json!({"kind": "compliance", "rules": [
        {"framework": "gdpr", "controls": ["a"]},
        {"framework": "gdpr", "controls": ["b"]},
    ]});
    assert_eq!(refused(twice), "document.rules[1].framework");
}
