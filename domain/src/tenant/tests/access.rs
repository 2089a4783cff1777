//! Custom domains, API keys and members.

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
    let too_long = format!("{}.com", ["a".repeat(63); 4].join("."));
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
    let events = created_and([domain_added("app.acme.com"), domain_verified("app.acme.com")]);
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
fn issue_api_key_records_the_hash_and_never_a_secret() {
    let tenant = given::<Tenant>(created())
        .when(&issue_key_command(1).into())
        .then(vec![key_issued(1)]);
    let key = tenant.api_key(key_id(1)).unwrap();
    assert_eq!(key.secret_hash, HASH);
    assert!(key.is_usable_at(test_now()));
    assert!(!key.is_usable_at(days(90)));
}

#[test]
fn issue_api_key_without_expiry_never_expires() {
    let command = IssueApiKey {
        expires_at: None,
        secret_hash: HASH.to_uppercase(),
        ..issue_key_command(1)
    };
    let TenantEvent::ApiKeyIssued(expected) = key_issued(1) else {
        unreachable!()
    };
    let tenant = given::<Tenant>(created())
        .when(&command.into())
        .then(vec![TenantEvent::ApiKeyIssued(ApiKeyIssued {
            expires_at: None,
            ..expected
        })]);
    assert!(tenant.api_key(key_id(1)).unwrap().is_usable_at(days(10_000)));
}

#[test]
fn issue_api_key_refuses_each_invalid_field() {
    let base = issue_key_command(1);
    let cases: Vec<(IssueApiKey, &str)> = vec![
        (
            IssueApiKey {
                key_id: Uuid::nil(),
                ..base.clone()
            },
            "key_id",
        ),
        (
            IssueApiKey {
                name: "".into(),
                ..base.clone()
            },
            "name",
        ),
        (
            IssueApiKey {
                scopes: vec![],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["workflows".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["rockets:read".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["workflows:delete".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["usage:read".into(), "usage:read".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                prefix: "k".into(),
                ..base.clone()
            },
            "prefix",
        ),
        (
            IssueApiKey {
                prefix: "kl live".into(),
                ..base.clone()
            },
            "prefix",
        ),
        (
            IssueApiKey {
                secret_hash: "abc".into(),
                ..base.clone()
            },
            "secret_hash",
        ),
        (
            IssueApiKey {
                expires_at: Some(test_now()),
                ..base.clone()
            },
            "expires_at",
        ),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(created()).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn a_refused_secret_hash_is_not_echoed_in_the_error() {
    let secret = "kl_live_this-is-the-actual-secret-not-its-hash";
    let command = IssueApiKey {
        secret_hash: secret.into(),
        ..issue_key_command(1)
    };
    let error = given::<Tenant>(created())
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert!(!error.to_string().contains("actual-secret"), "{error}");
}

#[test]
fn issue_api_key_refuses_a_key_id_already_used() {
    given::<Tenant>(created_and([key_issued(1)]))
        .when(&issue_key_command(1).into())
        .then_err(TenantError::ApiKeyAlreadyExists { key_id: key_id(1) });
}

#[test]
fn revoke_api_key_marks_it_revoked() {
    let tenant = given::<Tenant>(created_and([key_issued(1)]))
        .when(&RevokeApiKey { key_id: key_id(1) }.into())
        .then(vec![TenantEvent::ApiKeyRevoked(ApiKeyRevoked {
            key_id: key_id(1),
        })]);
    let key = tenant.api_key(key_id(1)).unwrap();
    assert!(key.revoked);
    assert!(!key.is_usable_at(test_now()));
}

#[test]
fn revoke_api_key_refuses_an_unknown_key() {
    given::<Tenant>(created())
        .when(&RevokeApiKey { key_id: key_id(1) }.into())
        .then_err(TenantError::ApiKeyNotFound { key_id: key_id(1) });
}

#[test]
fn revoke_api_key_refuses_a_revoked_key() {
    let revoked = TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key_id(1) });
    given::<Tenant>(created_and([key_issued(1), revoked]))
        .when(&RevokeApiKey { key_id: key_id(1) }.into())
        .then_err(TenantError::ApiKeyAlreadyRevoked { key_id: key_id(1) });
}

fn add_member(id: Uuid, email: &str, role: &str) -> TenantCommand {
    AddMember {
        member_id: id,
        email: email.into(),
        role: role.into(),
    }
    .into()
}

fn change_role(id: Uuid, role: &str) -> TenantCommand {
    ChangeMemberRole {
        member_id: id,
        role: role.into(),
    }
    .into()
}

fn remove_member(id: Uuid) -> TenantCommand {
    RemoveMember { member_id: id }.into()
}

#[test]
fn add_member_records_the_lowercased_email_and_role() {
    let tenant = given::<Tenant>(created())
        .when(&add_member(member_id(1), "Ada@Acme.com", "auditor"))
        .then(vec![member_added(member_id(1), "ada@acme.com", Role::Auditor)]);
    assert_eq!(tenant.member(member_id(1)).unwrap().role, Role::Auditor);
    assert_eq!(tenant.member_by_email("ada@acme.com").unwrap().id, member_id(1));
}

#[test]
fn add_member_refuses_an_email_of_a_current_member_in_any_case() {
    given::<Tenant>(created())
        .when(&add_member(member_id(1), "OWNER@acme.com", "admin"))
        .then_err(TenantError::MemberEmailTaken {
            email: OWNER_EMAIL.into(),
        });
}

#[test]
fn add_member_accepts_the_email_of_a_removed_member() {
    let removed = TenantEvent::MemberRemoved(MemberRemoved {
        member_id: member_id(1),
        email: Email::parse("ada@acme.com").unwrap(),
        role: Role::Member,
    });
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Member), removed]);
    given::<Tenant>(events)
        .when(&add_member(member_id(2), "ada@acme.com", "member"))
        .then(vec![member_added(member_id(2), "ada@acme.com", Role::Member)]);
}

#[test]
fn add_member_refuses_each_invalid_field() {
    let cases = [
        (add_member(Uuid::nil(), "ada@acme.com", "admin"), "member_id"),
        (add_member(member_id(1), "ada", "admin"), "email"),
        (add_member(member_id(1), "ada@acme", "admin"), "email"),
        (add_member(member_id(1), "a@b@acme.com", "admin"), "email"),
        (add_member(member_id(1), "@acme.com", "admin"), "email"),
        (add_member(member_id(1), "ada lovelace@acme.com", "admin"), "email"),
        (add_member(member_id(1), "ada@acme.com", "superuser"), "role"),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(created()).when(&command).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn add_member_refuses_a_member_id_already_used() {
    given::<Tenant>(created())
        .when(&add_member(owner_id(), "ada@acme.com", "admin"))
        .then_err(TenantError::MemberAlreadyExists {
            member_id: owner_id(),
        });
}

#[test]
fn change_member_role_records_the_previous_and_new_role() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Member)]);
    let tenant = given::<Tenant>(events)
        .when(&change_role(member_id(1), "owner"))
        .then(vec![TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: member_id(1),
            email: Email::parse("ada@acme.com").unwrap(),
            previous_role: Role::Member,
            role: Role::Owner,
        })]);
    assert_eq!(tenant.owner_count(), 2);
}

#[test]
fn change_member_role_refuses_an_unknown_member() {
    given::<Tenant>(created())
        .when(&change_role(member_id(9), "admin"))
        .then_err(TenantError::MemberNotFound {
            member_id: member_id(9),
        });
}

#[test]
fn change_member_role_refuses_an_unknown_role() {
    let outcome = given::<Tenant>(created())
        .when(&change_role(owner_id(), "Owner"))
        .outcome();
    assert_eq!(refused_field(outcome), Some("role"));
}

#[test]
fn change_member_role_to_the_current_role_is_refused_as_unchanged() {
    given::<Tenant>(created())
        .when(&change_role(owner_id(), "owner"))
        .then_err(TenantError::Unchanged { field: "role" });
}

#[test]
fn demoting_the_last_owner_is_refused() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Admin)]);
    given::<Tenant>(events)
        .when(&change_role(owner_id(), "admin"))
        .then_err(TenantError::LastOwner);
}

#[test]
fn demoting_an_owner_is_allowed_while_another_owner_remains() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Owner)]);
    let tenant = given::<Tenant>(events)
        .when(&change_role(owner_id(), "admin"))
        .then(vec![TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            previous_role: Role::Owner,
            role: Role::Admin,
        })]);
    assert_eq!(tenant.owner_count(), 1);
}

#[test]
fn remove_member_removes_them() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Admin)]);
    let tenant = given::<Tenant>(events)
        .when(&remove_member(member_id(1)))
        .then(vec![TenantEvent::MemberRemoved(MemberRemoved {
            member_id: member_id(1),
            email: Email::parse("ada@acme.com").unwrap(),
            role: Role::Admin,
        })]);
    assert_eq!(tenant.member(member_id(1)), None);
}

#[test]
fn remove_member_refuses_an_unknown_member() {
    given::<Tenant>(created())
        .when(&remove_member(member_id(9)))
        .then_err(TenantError::MemberNotFound {
            member_id: member_id(9),
        });
}

#[test]
fn removing_the_last_owner_is_refused() {
    given::<Tenant>(created())
        .when(&remove_member(owner_id()))
        .then_err(TenantError::LastOwner);
}

#[test]
fn removing_an_owner_is_allowed_while_another_owner_remains() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Owner)]);
    let tenant = given::<Tenant>(events)
        .when(&remove_member(owner_id()))
        .then(vec![TenantEvent::MemberRemoved(MemberRemoved {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            role: Role::Owner,
        })]);
    assert_eq!(tenant.owner_count(), 1);
}
