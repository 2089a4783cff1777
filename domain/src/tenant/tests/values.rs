//! The validated values: examples at the edges of each rule, and properties over many inputs.

use super::*;
use crate::shared::{Email, MeterName, Plan, Role};
use proptest::prelude::*;

/// The slug rule, stated independently of the implementation.
fn is_dns_safe_slug(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    (3..=63).contains(&chars.len())
        && chars
            .iter()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
        && chars.first() != Some(&'-')
        && chars.last() != Some(&'-')
}

#[test]
fn slug_accepts_dns_labels_of_three_to_63_characters() {
    for ok in ["abc", "acme-corp", "a1-b2", "123", &"a".repeat(63)] {
        assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "ab",
        "-acme",
        "acme-",
        "Acme",
        "ac_me",
        "acmé",
        "",
        &"a".repeat(64),
    ] {
        assert!(TenantSlug::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn email_is_trimmed_and_lowercased() {
    assert_eq!(
        Email::parse("  Ada@Example.COM ").unwrap(),
        "ada@example.com"
    );
    let long = format!("{}@example.com", "a".repeat(243));
    assert!(Email::parse(&long).is_err());
    assert!(Email::parse("ada@example..com").is_err());
    assert!(Email::parse("ada@.example.com").is_err());
}

#[test]
fn domain_name_is_lowercased_and_needs_two_labels() {
    assert_eq!(DomainName::parse("Acme.IO").unwrap(), "acme.io");
    assert!(DomainName::parse("xn--bcher-kva.example").is_ok());
    assert!(DomainName::parse("b\u{fc}cher.example").is_err());
    let max = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61)
    );
    assert_eq!(max.len(), 253);
    assert!(DomainName::parse(&max).is_ok());
}

#[test]
fn identifiers_start_with_a_letter_and_hold_at_most_64_characters() {
    assert!(MeterName::parse("a").is_ok());
    assert!(MeterName::parse(&format!("a{}", "_9".repeat(31))).is_ok());
    assert!(MeterName::parse(&"a".repeat(65)).is_err());
    assert!(FlagName::parse("_beta").is_err());
}

#[test]
fn scopes_name_a_known_resource_or_star_and_an_action() {
    let scope = Scope::parse("billing:admin").unwrap();
    assert_eq!((scope.resource(), scope.action()), ("billing", "admin"));
    for resource in SCOPE_RESOURCES.iter().chain(["*"].iter()) {
        for action in Access::ALL.iter().map(Access::as_str) {
            assert!(Scope::parse(&format!("{resource}:{action}")).is_ok());
        }
    }
    for bad in [
        "billing",
        "billing:",
        ":read",
        "Billing:read",
        "billing:read:x",
        "**:read",
    ] {
        assert!(Scope::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn locales_follow_the_language_script_region_shape() {
    for ok in ["en", "en-GB", "es-419", "zh-Hant-TW", "sr-Latn", "fil-PH"] {
        assert!(Locale::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "e",
        "EN",
        "en-gb",
        "en_GB",
        "en-GB-x",
        "zh-hant-TW",
        "en-1234",
    ] {
        assert!(Locale::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn timezones_are_iana_shaped() {
    for ok in [
        "UTC",
        "Europe/London",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
    ] {
        assert!(Timezone::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "utc",
        "Europe/",
        "/London",
        "Europe//London",
        "Europe/Lon don",
    ] {
        assert!(Timezone::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn logo_urls_are_normalized_absolute_http_urls() {
    assert_eq!(
        LogoUrl::parse("HTTPS://CDN.Acme.com/Logo.png").unwrap(),
        "https://cdn.acme.com/Logo.png"
    );
    assert!(LogoUrl::parse("data:image/png;base64,AAAA").is_err());
    assert!(LogoUrl::parse("https://").is_err());
}

#[test]
fn plans_and_roles_round_trip_through_their_names() {
    for plan in Plan::ALL {
        assert_eq!(Plan::parse(plan.as_str()), Ok(*plan));
        assert_eq!(serde_json::to_value(plan).unwrap(), plan.as_str());
    }
    for role in Role::ALL {
        assert_eq!(Role::parse(role.as_str()), Ok(*role));
        assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
    }
}

#[test]
fn long_inputs_are_cut_short_in_messages() {
    let error = TenantSlug::parse(&"X".repeat(10_000)).unwrap_err();
    assert!(error.reason().len() < 200, "{}", error.reason());
    let error = TenantSlug::parse("a\nb").unwrap_err();
    assert!(error.reason().starts_with("`a\\nb`"), "{}", error.reason());
}

proptest! {
    #[test]
    fn slug_parse_accepts_exactly_the_dns_safe_set(s in "[a-zA-Z0-9_.!é -]{0,66}") {
        prop_assert_eq!(TenantSlug::parse(&s).is_ok(), is_dns_safe_slug(&s));
    }

    #[test]
    fn every_dns_safe_slug_is_accepted_unchanged(s in "[a-z0-9][a-z0-9-]{1,61}[a-z0-9]") {
        let slug = TenantSlug::parse(&s).unwrap();
        prop_assert_eq!(slug.as_str(), s.as_str());
    }

    #[test]
    fn identifiers_accept_exactly_their_pattern(s in "[a-zA-Z0-9_-]{0,66}") {
        let expected = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        prop_assert_eq!(MeterName::parse(&s).is_ok(), expected);
        prop_assert_eq!(FlagName::parse(&s).is_ok(), expected);
    }

    #[test]
    fn normalizing_values_is_idempotent(s in "\\PC{0,40}") {
        if let Ok(email) = Email::parse(&s) {
            prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
        }
        if let Ok(domain) = DomainName::parse(&s) {
            prop_assert_eq!(DomainName::parse(domain.as_str()), Ok(domain.clone()));
        }
        if let Ok(name) = TenantName::parse(&s) {
            prop_assert_eq!(TenantName::parse(name.as_str()), Ok(name.clone()));
        }
        if let Ok(color) = HexColor::parse(&s) {
            prop_assert_eq!(HexColor::parse(color.as_str()), Ok(color.clone()));
        }
    }

    #[test]
    fn generated_hostnames_are_accepted_in_lowercase(
        labels in prop::collection::vec("[a-zA-Z]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?", 2..5)
    ) {
        let raw = labels.join(".");
        let domain = DomainName::parse(&raw).unwrap();
        prop_assert_eq!(domain.as_str(), raw.to_ascii_lowercase());
    }

    #[test]
    fn colours_accept_exactly_six_hex_digits(s in "#?[0-9a-fA-FgG]{0,7}") {
        let expected = s.len() == 7 && s.starts_with('#')
            && s[1..].chars().all(|c| c.is_ascii_hexdigit());
        prop_assert_eq!(HexColor::parse(&s).is_ok(), expected);
    }
}
