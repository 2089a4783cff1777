//! Custom domains: adding, verifying and removing them.

use super::*;
use crate::testing::given;
use crate::{Aggregate, Claim};

fn add_domain(domain: &str) -> TenantCommand {
    AddDomain {
        domain: domain.into(),
        challenge: TOKEN.into(),
    }
    .into()
}

/// Verifies `domain`, the lookup of its challenge record having found `found`.
fn verify_found(domain: &str, found: TxtLookup) -> TenantCommand {
    VerifyDomain {
        domain: domain.into(),
        found,
    }
    .into()
}

/// Verifies `domain`, its challenge record holding the token.
fn verify_domain(domain: &str) -> TenantCommand {
    verify_found(
        domain,
        TxtLookup::Records(vec!["v=spf1 -all".into(), TOKEN.into()]),
    )
}

fn recheck(domain: &str, found: TxtLookup) -> TenantCommand {
    RecheckDomain {
        domain: domain.into(),
        found,
    }
    .into()
}

/// A domain verified by a version-1 event: no proof recorded.
fn verified_without_proof(domain: &str) -> [TenantEvent; 2] {
    let domain = DomainName::parse(domain).unwrap();
    [
        TenantEvent::DomainAdded(DomainAdded {
            domain: domain.clone(),
            challenge: None,
        }),
        TenantEvent::DomainVerified(DomainVerified {
            domain,
            proof: None,
        }),
    ]
}

fn remove_domain(domain: &str) -> TenantCommand {
    RemoveDomain {
        domain: domain.into(),
    }
    .into()
}

#[test]
fn add_domain_records_the_lowercased_domain_unverified() {
    let tenant = given::<Tenant>(created())
        .when(&add_domain("App.Acme.COM"))
        .then(vec![domain_added("app.acme.com")]);
    assert_eq!(
        tenant.domain("app.acme.com"),
        Some(&CustomDomain {
            name: DomainName::parse("app.acme.com").unwrap(),
            verified: false,
            challenge: Some(token()),
            proof: None,
        })
    );
}

#[test]
fn add_domain_refuses_an_invalid_hostname() {
    let too_long = format!("{}.com", vec!["a".repeat(63); 4].join("."));
    for domain in [
        "",
        "localhost",
        "-acme.com",
        "acme-.com",
        "acme..com",
        "acme.com.",
        "*.acme.com",
        "ac me.com",
        "10.0.0.1",
        "https://acme.com",
        too_long.as_str(),
    ] {
        let outcome = given::<Tenant>(created())
            .when(&add_domain(domain))
            .outcome();
        assert_eq!(refused_field(outcome), Some("domain"), "{domain}");
    }
}

#[test]
fn add_domain_refuses_a_domain_already_added_in_any_case() {
    given::<Tenant>(created_and([domain_added("app.acme.com")]))
        .when(&add_domain("APP.acme.com"))
        .then_err(TenantError::DomainAlreadyAdded {
            domain: "app.acme.com".into(),
        });
}

#[test]
fn add_domain_refuses_a_missing_or_malformed_challenge_token() {
    for challenge in [
        "",
        "short",
        &"a".repeat(129),
        "has spaces in it, which DNS dislikes",
    ] {
        let command = AddDomain {
            domain: "app.acme.com".into(),
            challenge: challenge.into(),
        };
        let outcome = given::<Tenant>(created()).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), Some("challenge"), "{challenge}");
    }
}

#[test]
fn verify_domain_records_the_proof_when_the_record_holds_the_token() {
    let tenant = given::<Tenant>(created_and([domain_added("app.acme.com")]))
        .when(&verify_domain("app.acme.com"))
        .then(vec![domain_verified("app.acme.com")]);
    let domain = tenant.domain("app.acme.com").unwrap();
    assert!(domain.verified && !domain.verified_without_proof());
    assert_eq!(
        domain.proof.as_ref().unwrap().record,
        "_keel-challenge.app.acme.com"
    );
}

#[test]
fn verify_domain_refuses_without_the_token_saying_what_was_expected_and_found() {
    let cases = [
        (TxtLookup::Records(vec![]), "found no TXT record"),
        (
            TxtLookup::Records(vec!["someone else's".into()]),
            "found TXT \"someone else's\"",
        ),
        (
            TxtLookup::Failed("timed out".into()),
            "found no answer (the lookup failed: timed out)",
        ),
        (TxtLookup::NotLookedUp, "found nothing"),
    ];
    for (found, says) in cases {
        let refusal = given::<Tenant>(created_and([domain_added("app.acme.com")]))
            .when(&verify_found("app.acme.com", found.clone()))
            .outcome()
            .unwrap_err();
        assert_eq!(
            refusal,
            TenantError::DomainProofMissing {
                domain: "app.acme.com".into(),
                record: "_keel-challenge.app.acme.com".into(),
                expected: TOKEN.into(),
                found: found.describe(),
            }
        );
        let message = refusal.to_string();
        assert!(
            message.contains("_keel-challenge.app.acme.com"),
            "{message}"
        );
        assert!(
            message.contains(TOKEN) && message.contains(says),
            "{message}"
        );
        assert_eq!(refusal.field(), Some("domain"));
    }
}

#[test]
fn verify_domain_refuses_a_token_only_contained_in_a_value() {
    let found = TxtLookup::Records(vec![format!("{TOKEN}x"), format!("x{TOKEN}")]);
    let outcome = given::<Tenant>(created_and([domain_added("app.acme.com")]))
        .when(&verify_found("app.acme.com", found))
        .outcome();
    assert_eq!(outcome.unwrap_err().code(), "domain_proof_missing");
}

#[test]
fn verify_domain_refuses_a_domain_added_before_tokens_were_issued() {
    let [added, _] = verified_without_proof("app.acme.com");
    given::<Tenant>(created_and([added]))
        .when(&verify_domain("app.acme.com"))
        .then_err(TenantError::DomainHasNoChallenge {
            domain: "app.acme.com".into(),
        });
}

#[test]
fn verification_claims_the_domain_and_un_verification_or_removal_releases_it() {
    let claim = Claim {
        scope: DOMAIN_CLAIM_SCOPE,
        value: "app.acme.com".into(),
    };
    assert_eq!(
        Tenant::claims(&domain_verified("app.acme.com")),
        vec![claim.clone()]
    );
    assert_eq!(
        Tenant::releases(&domain_unverified("app.acme.com", "gone")),
        vec![claim.clone()]
    );
    let removed = TenantEvent::DomainRemoved(DomainRemoved {
        domain: DomainName::parse("app.acme.com").unwrap(),
    });
    assert_eq!(Tenant::releases(&removed), vec![claim]);
    assert!(Tenant::claims(&domain_added("app.acme.com")).is_empty());
}

#[test]
fn recheck_un_verifies_a_domain_verified_without_proof_without_a_lookup() {
    let tenant = given::<Tenant>(created_and(verified_without_proof("app.acme.com")))
        .when(&recheck("app.acme.com", TxtLookup::NotLookedUp))
        .then(vec![domain_unverified(
            "app.acme.com",
            "verified before proof was required",
        )]);
    assert!(!tenant.domain("app.acme.com").unwrap().verified);
}

#[test]
fn recheck_un_verifies_a_domain_whose_record_lost_the_token() {
    let verified = created_and([
        domain_added("app.acme.com"),
        domain_verified("app.acme.com"),
    ]);
    let tenant = given::<Tenant>(verified)
        .when(&recheck("app.acme.com", TxtLookup::Records(vec![])))
        .then(vec![domain_unverified(
            "app.acme.com",
            "the TXT record _keel-challenge.app.acme.com no longer holds the challenge token \
             (found no TXT record)",
        )]);
    let domain = tenant.domain("app.acme.com").unwrap();
    assert!(!domain.verified && domain.proof.is_none());
}

#[test]
fn recheck_keeps_a_domain_still_proven_or_not_answered() {
    let verified = || {
        created_and([
            domain_added("app.acme.com"),
            domain_verified("app.acme.com"),
        ])
    };
    for found in [
        TxtLookup::Records(vec![TOKEN.into()]),
        TxtLookup::Failed("SERVFAIL".into()),
        TxtLookup::NotLookedUp,
    ] {
        given::<Tenant>(verified())
            .when(&recheck("app.acme.com", found))
            .then_err(TenantError::Unchanged { field: "domain" });
    }
}

#[test]
fn recheck_changes_nothing_on_an_unverified_domain() {
    given::<Tenant>(created_and([domain_added("app.acme.com")]))
        .when(&recheck("app.acme.com", TxtLookup::Records(vec![])))
        .then_err(TenantError::Unchanged { field: "domain" });
}

#[test]
fn recheck_runs_on_a_suspended_tenant() {
    let mut events = created_and(verified_without_proof("app.acme.com"));
    events.push(suspended());
    given::<Tenant>(events)
        .when(&recheck("app.acme.com", TxtLookup::NotLookedUp))
        .then(vec![domain_unverified(
            "app.acme.com",
            "verified before proof was required",
        )]);
}

#[test]
fn a_domain_un_verified_can_be_verified_again_with_a_new_proof() {
    let events = created_and([
        domain_added("app.acme.com"),
        domain_verified("app.acme.com"),
        domain_unverified("app.acme.com", "gone"),
    ]);
    given::<Tenant>(events)
        .when(&verify_domain("app.acme.com"))
        .then(vec![domain_verified("app.acme.com")]);
}

#[test]
fn verify_domain_refuses_an_unknown_domain() {
    given::<Tenant>(created())
        .when(&verify_domain("app.acme.com"))
        .then_err(TenantError::DomainNotFound {
            domain: "app.acme.com".into(),
        });
}

#[test]
fn verify_domain_refuses_a_verified_domain() {
    let events = created_and([
        domain_added("app.acme.com"),
        domain_verified("app.acme.com"),
    ]);
    given::<Tenant>(events)
        .when(&verify_domain("app.acme.com"))
        .then_err(TenantError::DomainAlreadyVerified {
            domain: "app.acme.com".into(),
        });
}

#[test]
fn remove_domain_removes_it() {
    let tenant = given::<Tenant>(created_and([domain_added("app.acme.com")]))
        .when(&remove_domain("app.acme.com"))
        .then(vec![TenantEvent::DomainRemoved(DomainRemoved {
            domain: DomainName::parse("app.acme.com").unwrap(),
        })]);
    assert!(tenant.domains().is_empty());
}

#[test]
fn remove_domain_refuses_an_unknown_domain() {
    given::<Tenant>(created())
        .when(&remove_domain("app.acme.com"))
        .then_err(TenantError::DomainNotFound {
            domain: "app.acme.com".into(),
        });
}

#[test]
fn decommission_un_verifies_verified_domains_giving_up_their_claims() {
    let events = created_and([
        domain_added("app.acme.com"),
        domain_verified("app.acme.com"),
        domain_added("www.acme.com"),
        decommission_scheduled(days(30)),
    ]);
    let unverified = domain_unverified("app.acme.com", "the tenant was decommissioned");
    assert!(!Tenant::releases(&unverified).is_empty());
    given::<Tenant>(events)
        .at(days(30))
        .when(&DecommissionTenant {}.into())
        .then(vec![unverified, decommissioned()]);
}
