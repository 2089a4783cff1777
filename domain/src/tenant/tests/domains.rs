//! Custom domains: adding, verifying and removing them.

use super::*;
use crate::testing::given;

fn add_domain(domain: &str) -> TenantCommand {
    AddDomain {
        domain: domain.into(),
    }
    .into()
}

fn verify_domain(domain: &str) -> TenantCommand {
    VerifyDomain {
        domain: domain.into(),
    }
    .into()
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
            verified: false
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
fn verify_domain_marks_it_verified() {
    let tenant = given::<Tenant>(created_and([domain_added("app.acme.com")]))
        .when(&verify_domain("app.acme.com"))
        .then(vec![domain_verified("app.acme.com")]);
    assert!(tenant.domain("app.acme.com").unwrap().verified);
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
