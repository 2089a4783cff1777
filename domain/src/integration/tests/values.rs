//! The validated values: endpoint URLs, event patterns and filters, encrypted secrets, kinds
//! and thresholds.

use super::*;
use crate::integration::secret::base64_decoded_len;

#[test]
fn endpoint_urls_must_be_https_except_for_loopback_hosts() {
    for ok in [
        "https://hooks.acme.com/keel?source=keel",
        "https://203.0.113.7:8443/in",
        "http://localhost/hook",
        "http://LOCALHOST:3000",
        "http://127.0.0.1:8080/",
        "http://127.255.0.9/x",
        "http://[::1]:9000/",
    ] {
        assert!(EndpointUrl::parse(ok).is_ok(), "{ok}");
    }
    for refused in [
        "http://hooks.acme.com",
        "http://10.0.0.1/",
        "http://[::2]/",
        "http://localhost.acme.com/",
        "http://128.0.0.1/",
        "ftp://files.acme.com/",
        "wss://hooks.acme.com/",
        "hooks.acme.com/keel",
        "/keel",
        "",
    ] {
        assert!(EndpointUrl::parse(refused).is_err(), "{refused}");
    }
}

#[test]
fn endpoint_urls_refuse_credentials_fragments_and_huge_inputs() {
    assert_eq!(
        EndpointUrl::parse("https://user:pw@hooks.acme.com/")
            .unwrap_err()
            .reason(),
        "must not contain a user name or password: the signing secret authenticates deliveries"
    );
    assert!(EndpointUrl::parse("https://hooks.acme.com/#top").is_err());
    let long = format!(
        "https://hooks.acme.com/{}",
        "a".repeat(EndpointUrl::MAX_LEN)
    );
    assert_eq!(
        EndpointUrl::parse(&long).unwrap_err().reason(),
        "must be at most 2048 characters"
    );
}

#[test]
fn endpoint_url_errors_quote_the_input_short() {
    let long = format!("http://{}.com/", "x".repeat(100));
    let reason = EndpointUrl::parse(&long).unwrap_err().reason().to_owned();
    assert!(reason.starts_with("`http://xxxx"), "{reason}");
    assert!(reason.contains('…'), "{reason}");
}

#[test]
fn patterns_match_whole_segments() {
    let cases: &[(&str, &str, bool)] = &[
        ("*", "tenant.created", true),
        ("*", "x", true),
        ("tenant.*", "tenant.created", true),
        ("tenant.*", "tenant.api_key.issued", true),
        ("tenant.*", "tenant", false),
        ("tenant.*", "tenants.created", false),
        ("tenant.*", "workflow.created", false),
        ("*.created", "tenant.created", true),
        ("*.created", "workflow.created", true),
        ("*.created", "tenant.renamed", false),
        ("*.created", "tenant.api_key.created", false),
        ("tenant.created", "tenant.created", true),
        ("tenant.created", "tenant.created.v2", false),
        ("tenant.created", "tenant", false),
        ("tenant.*.issued", "tenant.api_key.issued", true),
        ("*", "", false),
        ("*", "tenant..created", false),
        ("tenant.*", "tenant.", false),
    ];
    for (pattern, event_type, expected) in cases {
        let pattern = EventPattern::parse(pattern).unwrap();
        assert_eq!(
            pattern.matches(event_type),
            *expected,
            "{pattern} ~ {event_type}"
        );
    }
}

#[test]
fn patterns_refuse_partial_wildcards_and_bad_segments() {
    assert_eq!(
        EventPattern::parse("tenant.api_*").unwrap_err().reason(),
        "`tenant.api_*` is invalid: `*` must stand for a whole segment, e.g. `tenant.*`"
    );
    for refused in [
        "",
        "**",
        "tenant.",
        ".created",
        "tenant..created",
        "Tenant.created",
        "tenant created",
        "tenant-created",
        "a.b.c.d.e.f.g.h.i",
    ] {
        assert!(EventPattern::parse(refused).is_err(), "{refused:?}");
    }
    assert!(EventPattern::parse(&"a".repeat(65)).is_err());
    assert!(EventPattern::parse(&"a".repeat(64)).is_ok());
}

#[test]
fn filters_need_one_to_fifty_distinct_patterns() {
    assert_eq!(
        EventFilter::parse(&[]).unwrap_err().reason(),
        "must list at least one event type pattern, e.g. `*` or `tenant.*`"
    );
    assert_eq!(
        EventFilter::parse(&["*".into(), "*".into()])
            .unwrap_err()
            .reason(),
        "must not list `*` twice"
    );
    let many: Vec<String> = crate::event_types::all()
        .take(51)
        .map(str::to_owned)
        .collect();
    assert!(EventFilter::parse(&many).is_err());
    assert!(EventFilter::parse(&many[..50]).is_ok());
}

#[test]
fn filters_refuse_patterns_that_match_no_event_type() {
    for refused in ["bogus.*", "tenant.bogus", "*.bogus", "tenant.created.v2"] {
        assert_eq!(
            EventFilter::parse(&["tenant.*".into(), refused.into()])
                .unwrap_err()
                .reason(),
            format!(
                "`{refused}` matches no event type: name one (`tenant.created`), an \
                 aggregate's (`tenant.*`), a fact of every aggregate (`*.created`) or `*`"
            )
        );
    }
    for kept in ["*", "tenant.*", "*.created", "workflow_run.approved"] {
        assert!(EventFilter::parse(&[kept.into()]).is_ok(), "{kept}");
    }
    let filter = filter(&["tenant.*", "*.completed"]);
    assert!(filter.matches("tenant.renamed"));
    assert!(filter.matches("workflow.completed"));
    assert!(!filter.matches("workflow.started"));
    assert_eq!(filter.patterns().len(), 2);
}

#[test]
fn base64_lengths_are_checked_strictly() {
    assert_eq!(base64_decoded_len(&b64(&[7; 12])), Some(12));
    assert_eq!(base64_decoded_len(&b64(&[7; 13])), Some(13));
    assert_eq!(base64_decoded_len(&b64(&[7; 14])), Some(14));
    assert_eq!(
        base64_decoded_len("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        Some(32)
    );
    for refused in [
        "", "A", "AAA", "AAAA=", "AA=A", "A===", "AA-_", "AAA ", "QR==", "QUJ=",
    ] {
        assert_eq!(base64_decoded_len(refused), None, "{refused:?}");
    }
}

#[test]
fn encrypted_secrets_are_checked_by_structure() {
    assert!(EncryptedSecret::check_key_id("2026-01.primary_k").is_ok());
    for refused in ["", "k:1", "k 1", "ключ", &"k".repeat(65)] {
        assert!(
            EncryptedSecret::check_key_id(refused).is_err(),
            "{refused:?}"
        );
    }
    assert!(EncryptedSecret::check_nonce(&b64(&[1; 12])).is_ok());
    assert!(EncryptedSecret::check_nonce(&b64(&[1; 24])).is_err());
    assert!(EncryptedSecret::check_ciphertext(&b64(&[1; 17])).is_ok());
    assert!(EncryptedSecret::check_ciphertext(&b64(&[1; 16 + 4096])).is_ok());
    assert_eq!(
        EncryptedSecret::check_ciphertext(&b64(&[1; 16]))
            .unwrap_err()
            .reason(),
        "must hold 17 to 4112 bytes (an encrypted secret and its tag; got 16)"
    );
    assert!(EncryptedSecret::check_ciphertext(&b64(&[1; 16 + 4097])).is_err());
}

#[test]
fn a_clear_secret_in_the_ciphertext_field_is_refused_without_being_echoed() {
    let clear = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let reason = EncryptedSecret::check_ciphertext(clear)
        .unwrap_err()
        .reason()
        .to_owned();
    assert!(!reason.contains("MfKQ9r8"), "{reason}");
}

#[test]
fn kinds_parse_from_their_wire_names() {
    for kind in IntegrationKind::ALL {
        assert_eq!(IntegrationKind::parse(kind.as_str()), Ok(*kind));
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(
        IntegrationKind::parse("Webhook").unwrap_err().reason(),
        "`Webhook` is not a known integration kind: use `webhook`, `slack_webhook` or \
         `rest_connector`"
    );
}

#[test]
fn thresholds_range_from_one_to_a_thousand() {
    assert!(FailureThreshold::parse(0).is_err());
    assert_eq!(FailureThreshold::parse(1).unwrap().get(), 1);
    assert_eq!(FailureThreshold::parse(1000).unwrap().get(), 1000);
    assert_eq!(
        FailureThreshold::parse(1001).unwrap_err().reason(),
        "must be between 1 and 1000 (got 1001)"
    );
    assert_eq!(FailureThreshold::default(), FailureThreshold::DEFAULT);
}

#[test]
fn names_and_notes_are_trimmed_single_lines() {
    assert_eq!(IntegrationName::parse("  Hook ").unwrap().as_str(), "Hook");
    assert!(IntegrationName::parse(&"n".repeat(101)).is_err());
    assert!(IntegrationName::parse("a\tb").is_err());
    assert_eq!(Note::parse(" timed out ").unwrap().as_str(), "timed out");
    assert!(Note::parse(&"n".repeat(501)).is_err());
}
