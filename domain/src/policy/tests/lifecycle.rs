//! Drafting, deactivating and archiving, and the status gate.

use super::*;
use crate::testing::given;

#[test]
fn draft_records_version_one_as_a_draft() {
    let policy = given::<Policy>(vec![])
        .when(&draft_command().into())
        .then(vec![drafted()]);
    assert!(policy.exists());
    assert_eq!(policy.status(), PolicyStatus::Inactive);
    assert_eq!(policy.id(), policy_id());
    assert_eq!(policy.tenant_id(), tenant_id());
    assert!(!policy.is_platform_wide());
    assert_eq!(policy.name(), &"Baseline access");
    assert_eq!(policy.kind(), PolicyKind::Access);
    assert_eq!(policy.versions().len(), 1);
    let version = policy.version(1).unwrap();
    assert_eq!(version.status, VersionStatus::Draft);
    assert_eq!(version.document, access_doc(1));
    assert!(policy.active().is_none());
}

#[test]
fn draft_of_a_platform_wide_policy_belongs_to_the_platform() {
    let command = DraftPolicy {
        tenant_id: TenantId::PLATFORM,
        ..draft_command()
    };
    let policy = given::<Policy>(vec![])
        .when(&command.into())
        .then(vec![PolicyEvent::Drafted(PolicyDrafted {
            tenant_id: TenantId::PLATFORM,
            policy_id: policy_id(),
            name: PolicyName::parse(NAME).unwrap(),
            kind: PolicyKind::Access,
            version: 1,
            document: access_doc(1),
        })]);
    assert!(policy.is_platform_wide());
}

#[test]
fn draft_trims_the_name() {
    let command = DraftPolicy {
        name: "  Baseline access ".into(),
        ..draft_command()
    };
    given::<Policy>(vec![])
        .when(&command.into())
        .then(vec![drafted()]);
}

#[test]
fn draft_takes_its_kind_from_the_document() {
    let command = DraftPolicy {
        document: PolicyDocumentInput::Mfa(vec![MfaRuleInput {
            role: "*".into(),
            required: true,
        }]),
        ..draft_command()
    };
    let events = given::<Policy>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap();
    let PolicyEvent::Drafted(drafted) = &events[0] else {
        panic!("expected a draft, got {events:?}");
    };
    assert_eq!(drafted.kind, PolicyKind::Mfa);
    assert_eq!(drafted.document.kind(), PolicyKind::Mfa);
}

#[test]
fn draft_refuses_a_nil_policy_id() {
    let command = DraftPolicy {
        policy_id: Uuid::nil(),
        ..draft_command()
    };
    given::<Policy>(vec![])
        .when(&command.into())
        .then_err(PolicyError::invalid("policy_id", "must not be the nil id"));
}

#[test]
fn draft_refuses_an_empty_or_multi_line_name() {
    for (name, reason) in [
        ("  ", "must not be empty"),
        (
            "two\nlines",
            "must not contain control characters such as line breaks",
        ),
    ] {
        let command = DraftPolicy {
            name: name.into(),
            ..draft_command()
        };
        given::<Policy>(vec![])
            .when(&command.into())
            .then_err(PolicyError::invalid("name", reason));
    }
}

#[test]
fn draft_refuses_invalid_rules_naming_the_rule_field() {
    let command = DraftPolicy {
        document: PolicyDocumentInput::IpAllowlist(vec![IpAllowRuleInput {
            cidr: "10.0.0.1/8".into(),
            description: None,
        }]),
        ..draft_command()
    };
    let error = given::<Policy>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert_eq!(error.field(), Some("document.rules[0].cidr"));
    assert_eq!(error.code(), "invalid");
    assert_eq!(
        error.to_string(),
        "document.rules[0].cidr `10.0.0.1/8` has bits set after the /8 prefix: write \
         `10.0.0.0/8` for the network, or `10.0.0.1/32` for the single address"
    );
}

#[test]
fn drafting_an_existing_policy_is_refused_as_already_exists() {
    given::<Policy>(vec![drafted()])
        .when(&draft_command().into())
        .then_err(PolicyError::AlreadyExists);
}

#[test]
fn drafting_an_archived_policy_again_is_refused_as_already_exists() {
    given::<Policy>(drafted_and([archived(1)]))
        .when(&draft_command().into())
        .then_err(PolicyError::AlreadyExists);
}

#[test]
fn commands_on_a_policy_not_yet_drafted_are_refused_as_not_found() {
    for command in every_command_but_draft() {
        given::<Policy>(vec![])
            .when(&command)
            .then_err(PolicyError::NotFound);
    }
}

#[test]
fn deactivate_retires_the_active_version() {
    let policy = given::<Policy>(drafted_and([published(1, None)]))
        .when(&DeactivatePolicy {}.into())
        .then(vec![deactivated(1)]);
    assert_eq!(policy.status(), PolicyStatus::Inactive);
    assert!(policy.active_version().is_none());
    assert!(policy.active().is_none());
    assert_eq!(policy.version(1).unwrap().status, VersionStatus::Retired);
    assert_eq!(policy.latest_published(), Some(1));
}

#[test]
fn deactivate_keeps_newer_drafts_publishable() {
    let policy = given::<Policy>(drafted_and([published(1, None), revised(2)]))
        .when(&DeactivatePolicy {}.into())
        .then(vec![deactivated(1)]);
    assert_eq!(policy.version(2).unwrap().status, VersionStatus::Draft);
    given::<Policy>(drafted_and([
        published(1, None),
        revised(2),
        deactivated(1),
    ]))
    .when(&publish(2))
    .then(vec![published(2, None)]);
}

#[test]
fn deactivating_a_policy_never_published_is_refused() {
    given::<Policy>(vec![drafted()])
        .when(&DeactivatePolicy {}.into())
        .then_err(PolicyError::NotActive);
}

#[test]
fn deactivating_a_deactivated_policy_is_refused() {
    given::<Policy>(drafted_and([published(1, None), deactivated(1)]))
        .when(&DeactivatePolicy {}.into())
        .then_err(PolicyError::NotActive);
}

#[test]
fn archive_of_an_inactive_policy_records_only_the_archive() {
    let policy = given::<Policy>(drafted_and([revised(2)]))
        .when(&ArchivePolicy {}.into())
        .then(vec![archived(2)]);
    assert_eq!(policy.status(), PolicyStatus::Archived);
    assert_eq!(
        policy.versions().len(),
        2,
        "versions are kept for the record"
    );
}

#[test]
fn archive_of_an_active_policy_deactivates_it_first() {
    let policy = given::<Policy>(drafted_and([published(1, None)]))
        .when(&ArchivePolicy {}.into())
        .then(vec![deactivated(1), archived(1)]);
    assert_eq!(policy.status(), PolicyStatus::Archived);
    assert!(policy.active().is_none());
    assert_eq!(policy.version(1).unwrap().status, VersionStatus::Retired);
}

#[test]
fn an_archived_policy_refuses_every_command() {
    for command in every_command_but_draft() {
        given::<Policy>(drafted_and([
            published(1, None),
            deactivated(1),
            archived(1),
        ]))
        .when(&command)
        .then_err(PolicyError::Archived);
    }
}

#[test]
fn the_status_gate_comes_before_the_command_values() {
    // An invalid revision of an archived policy is refused as archived, not as invalid.
    let command = RevisePolicy {
        document: PolicyDocumentInput::Access(vec![access_rule("maybe", &[], &[], &[])]),
    };
    given::<Policy>(drafted_and([archived(1)]))
        .when(&command.into())
        .then_err(PolicyError::Archived);
}

#[test]
fn refusals_have_a_stable_code_and_name_their_field() {
    let cases = [
        (PolicyError::NotFound, "not_found", None),
        (PolicyError::AlreadyExists, "already_exists", None),
        (PolicyError::Archived, "archived", None),
        (PolicyError::NotActive, "not_active", None),
        (
            PolicyError::TooManyVersions { max: 1 },
            "too_many_versions",
            None,
        ),
        (
            PolicyError::Unchanged { version: 1 },
            "unchanged",
            Some("document"),
        ),
        (
            PolicyError::VersionNotFound { version: 1 },
            "version_not_found",
            Some("version"),
        ),
        (
            PolicyError::VersionAlreadyPublished { version: 1 },
            "version_already_published",
            Some("version"),
        ),
        (
            PolicyError::VersionSuperseded {
                version: 1,
                published: 2,
            },
            "version_superseded",
            Some("version"),
        ),
        (
            PolicyError::KindMismatch {
                kind: PolicyKind::Access,
                found: PolicyKind::Mfa,
            },
            "kind_mismatch",
            Some("document.kind"),
        ),
        (PolicyError::invalid("name", "x"), "invalid", Some("name")),
    ];
    for (error, code, field) in cases {
        assert_eq!(error.code(), code);
        assert_eq!(error.field(), field);
        assert!(!error.to_string().is_empty());
    }
}
