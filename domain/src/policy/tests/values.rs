//! Validated values: patterns, identifiers, names and CIDR ranges.

use super::*;
use std::net::IpAddr;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn range(text: &str) -> IpRange {
    IpRange::parse(text).unwrap()
}

#[test]
fn patterns_match_everything_a_prefix_or_one_name() {
    let any = Pattern::parse("*").unwrap();
    let prefix = Pattern::parse("workflows/*").unwrap();
    let exact = Pattern::parse("tenants.suspend").unwrap();
    assert!(any.matches("") && any.matches("anything"));
    assert!(prefix.matches("workflows/") && prefix.matches("workflows/0190"));
    assert!(!prefix.matches("workflow") && !prefix.matches("tenants/workflows/1"));
    assert!(exact.matches("tenants.suspend"));
    assert!(!exact.matches("tenants.suspend2") && !exact.matches("Tenants.suspend"));
}

#[test]
fn exact_patterns_are_more_specific_than_prefixes_and_prefixes_than_star() {
    let [star, short, long, exact] =
        ["*", "a*", "adm*", "admin"].map(|p| Pattern::parse(p).unwrap());
    assert!(star.specificity() < short.specificity());
    assert!(short.specificity() < long.specificity());
    assert!(long.specificity() < exact.specificity());
    let longest = "a".repeat(Pattern::MAX_CHARS - 1) + "*";
    assert!(Pattern::parse(&longest).unwrap().specificity() < exact.specificity());
}

#[test]
fn patterns_refuse_what_could_be_a_mistake() {
    for raw in [
        "", "**", "*admin", "ad*min", "Admin", "a b", "-x", "a\n", "é",
    ] {
        assert!(Pattern::parse(raw).is_err(), "{raw:?}");
    }
    assert!(Pattern::parse(&"a".repeat(Pattern::MAX_CHARS + 1)).is_err());
    for raw in ["a", "0", "tenants:read", "workflows/*", "a.b-c_d/e:f*"] {
        assert!(Pattern::parse(raw).is_ok(), "{raw:?}");
    }
}

#[test]
fn identifiers_and_endpoint_groups_are_machine_names() {
    assert!(Identifier::parse("audit_log").is_ok());
    for raw in ["", "1st", "Audit", "audit-log", "*"] {
        assert!(Identifier::parse(raw).is_err(), "{raw:?}");
    }
    assert!(Identifier::parse(&"a".repeat(65)).is_err());
    assert!(EndpointGroup::parse("*").unwrap().is_default());
    assert!(!EndpointGroup::parse("webhooks").unwrap().is_default());
    let error = EndpointGroup::parse("web hooks").unwrap_err();
    assert!(
        error.reason().ends_with("(or `*` for every group)"),
        "{error}"
    );
}

#[test]
fn names_are_trimmed_one_line_and_bounded() {
    assert_eq!(PolicyName::parse("  Office only ").unwrap(), "Office only");
    assert!(PolicyName::parse(&"x".repeat(PolicyName::MAX_CHARS)).is_ok());
    assert_eq!(
        PolicyName::parse(&"x".repeat(PolicyName::MAX_CHARS + 1))
            .unwrap_err()
            .reason(),
        "must be at most 200 characters (got 201)"
    );
    assert!(RuleDescription::parse("tab\there").is_err());
}

#[test]
fn refusals_quote_long_inputs_cut_short() {
    let long = "x".repeat(1_000) + "/8";
    let reason = IpRange::parse(&long).unwrap_err().reason().to_owned();
    assert!(reason.len() < 300, "{reason}");
    assert!(reason.contains('…'));
}

#[test]
fn ipv4_ranges_contain_exactly_their_addresses() {
    let office = range("192.168.4.0/22");
    assert!(office.contains(ip("192.168.4.0")));
    assert!(office.contains(ip("192.168.7.255")));
    assert!(!office.contains(ip("192.168.8.0")));
    assert!(!office.contains(ip("192.168.3.255")));
    assert!(range("0.0.0.0/0").contains(ip("203.0.113.9")));
    assert!(range("203.0.113.9/32").contains(ip("203.0.113.9")));
    assert!(!range("203.0.113.9/32").contains(ip("203.0.113.8")));
}

#[test]
fn ipv6_ranges_contain_exactly_their_addresses() {
    let net = range("2001:db8:abcd::/48");
    assert!(net.contains(ip("2001:db8:abcd:12::1")));
    assert!(!net.contains(ip("2001:db8:abce::1")));
    assert!(range("::/0").contains(ip("fe80::1")));
    assert!(range("::1/128").contains(ip("::1")));
}

#[test]
fn families_never_match_each_other_except_through_mapped_addresses() {
    assert!(!range("::/0").contains(ip("10.0.0.1")));
    assert!(!range("0.0.0.0/0").contains(ip("::1")));
    // A client reaching an IPv6 socket from IPv4 shows up as `::ffff:a.b.c.d`.
    assert!(range("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
    assert!(!range("::/0").contains(ip("::ffff:10.1.2.3")));
}

#[test]
fn ranges_round_trip_through_their_text() {
    for text in [
        "10.0.0.0/8",
        "2001:db8::/32",
        "0.0.0.0/0",
        "::/0",
        "::1/128",
    ] {
        let parsed = range(text);
        assert_eq!(parsed.to_string(), text);
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(serde_json::from_str::<IpRange>(&json).unwrap(), parsed);
    }
    assert_eq!(range("10.0.0.0/8").prefix(), 8);
    assert_eq!(range("10.0.0.0/8").network(), ip("10.0.0.0"));
}

#[test]
fn a_stored_range_is_read_back_even_if_rules_tightened_since() {
    // Host bits in a stored payload are cleared rather than failing the whole stream.
    let read: IpRange = serde_json::from_str("\"10.0.0.1/8\"").unwrap();
    assert_eq!(read, range("10.0.0.0/8"));
    assert!(serde_json::from_str::<IpRange>("\"10.0.0.0/40\"").is_err());
}
