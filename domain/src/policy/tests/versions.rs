//! Revising and publishing: immutable numbered versions, one in force at a time.

use super::*;
use crate::testing::given;
use crate::Aggregate;

#[test]
fn revise_adds_the_next_version_as_a_draft() {
    let policy = given::<Policy>(vec![drafted()])
        .when(&revise(2))
        .then(vec![revised(2)]);
    assert_eq!(policy.versions().len(), 2);
    assert_eq!(policy.latest_version().unwrap().number, 2);
    assert_eq!(policy.version(2).unwrap().status, VersionStatus::Draft);
    assert_eq!(
        policy.version(1).unwrap().document,
        access_doc(1),
        "v1 is untouched"
    );
}

#[test]
fn revise_numbers_versions_after_the_latest_whatever_their_status() {
    given::<Policy>(drafted_and([
        revised(2),
        published(2, None),
        deactivated(2),
    ]))
    .when(&revise(3))
    .then(vec![revised(3)]);
}

#[test]
fn revise_never_changes_the_published_version() {
    let policy = given::<Policy>(drafted_and([published(1, None)]))
        .when(&revise(2))
        .then(vec![revised(2)]);
    let active = policy.active_version().unwrap();
    assert_eq!((active.number, &active.document), (1, &access_doc(1)));
    assert_eq!(policy.active().unwrap().version, 1);
}

#[test]
fn revise_refuses_another_kind() {
    let command = RevisePolicy {
        document: PolicyDocumentInput::RateLimit(vec![]),
    };
    given::<Policy>(vec![drafted()])
        .when(&command.into())
        .then_err(PolicyError::KindMismatch {
            kind: PolicyKind::Access,
            found: PolicyKind::RateLimit,
        });
}

#[test]
fn revise_checks_the_kind_before_the_rules() {
    let command = RevisePolicy {
        document: PolicyDocumentInput::IpAllowlist(vec![IpAllowRuleInput {
            cidr: "nonsense".into(),
            description: None,
        }]),
    };
    let error = given::<Policy>(vec![drafted()])
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert_eq!(error.code(), "kind_mismatch");
}

#[test]
fn revise_refuses_invalid_rules() {
    let command = RevisePolicy {
        document: PolicyDocumentInput::Access(vec![
            access_rule("allow", &["admin"], &["*"], &["*"]),
            access_rule("permit", &["admin"], &["*"], &["*"]),
        ]),
    };
    let outcome = given::<Policy>(vec![drafted()])
        .when(&command.into())
        .outcome();
    assert_eq!(refused_field(outcome), "document.rules[1].effect");
}

#[test]
fn revise_with_the_rules_of_the_latest_draft_is_refused_as_unchanged() {
    given::<Policy>(drafted_and([revised(2)]))
        .when(&revise(2))
        .then_err(PolicyError::Unchanged { version: 2 });
}

#[test]
fn revise_with_the_rules_in_force_is_refused_as_unchanged() {
    given::<Policy>(drafted_and([published(1, None)]))
        .when(&revise(1))
        .then_err(PolicyError::Unchanged { version: 1 });
}

#[test]
fn revise_with_the_rules_of_a_retired_version_makes_a_new_version() {
    let expected = PolicyEvent::Revised(PolicyRevised {
        tenant_id: tenant_id(),
        policy_id: policy_id(),
        name: PolicyName::parse(NAME).unwrap(),
        kind: PolicyKind::Access,
        version: 2,
        document: access_doc(1),
    });
    let policy = given::<Policy>(drafted_and([published(1, None), deactivated(1)]))
        .when(&revise(1))
        .then(vec![expected]);
    let latest = policy.latest_version().unwrap();
    assert_eq!((latest.number, latest.status), (2, VersionStatus::Draft));
}

#[test]
fn revise_is_refused_once_the_policy_has_the_most_versions_allowed() {
    let events = drafted_and((2..=MAX_VERSIONS).map(revised));
    given::<Policy>(events)
        .when(&revise(MAX_VERSIONS as usize + 1))
        .then_err(PolicyError::TooManyVersions { max: MAX_VERSIONS });
}

#[test]
fn publish_puts_a_draft_in_force() {
    let policy = given::<Policy>(vec![drafted()])
        .when(&publish(1))
        .then(vec![published(1, None)]);
    assert_eq!(policy.status(), PolicyStatus::Active);
    assert_eq!(policy.version(1).unwrap().status, VersionStatus::Active);
    let active = policy.active().unwrap();
    assert_eq!(
        (active.tenant_id, active.policy_id, active.version),
        (tenant_id(), policy_id(), 1)
    );
    assert_eq!(active.document, access_doc(1));
    assert_eq!(active.name, PolicyName::parse(NAME).unwrap());
}

#[test]
fn publish_replaces_the_active_version_which_is_retired() {
    let policy = given::<Policy>(drafted_and([published(1, None), revised(2)]))
        .when(&publish(2))
        .then(vec![published(2, Some(1))]);
    assert_eq!(policy.active().unwrap().version, 2);
    assert_eq!(policy.version(1).unwrap().status, VersionStatus::Retired);
    let active: Vec<_> = policy
        .versions()
        .iter()
        .filter(|v| v.status == VersionStatus::Active)
        .collect();
    assert_eq!(active.len(), 1, "only one version is ever active");
}

#[test]
fn publish_supersedes_older_drafts_and_keeps_newer_ones() {
    let policy = given::<Policy>(drafted_and([revised(2), revised(3)]))
        .when(&publish(2))
        .then(vec![published(2, None)]);
    assert_eq!(policy.version(1).unwrap().status, VersionStatus::Superseded);
    assert_eq!(policy.version(2).unwrap().status, VersionStatus::Active);
    assert_eq!(policy.version(3).unwrap().status, VersionStatus::Draft);
}

#[test]
fn publishing_a_superseded_draft_is_refused() {
    given::<Policy>(drafted_and([revised(2), published(2, None)]))
        .when(&publish(1))
        .then_err(PolicyError::VersionSuperseded {
            version: 1,
            published: 2,
        });
}

#[test]
fn publishing_the_active_version_again_is_refused() {
    given::<Policy>(drafted_and([published(1, None)]))
        .when(&publish(1))
        .then_err(PolicyError::VersionAlreadyPublished { version: 1 });
}

#[test]
fn publishing_a_retired_version_is_refused() {
    for history in [
        drafted_and([published(1, None), revised(2), published(2, Some(1))]),
        drafted_and([published(1, None), deactivated(1)]),
    ] {
        given::<Policy>(history)
            .when(&publish(1))
            .then_err(PolicyError::VersionAlreadyPublished { version: 1 });
    }
}

#[test]
fn publishing_a_version_that_does_not_exist_is_refused() {
    for version in [0, 2, u32::MAX] {
        given::<Policy>(vec![drafted()])
            .when(&publish(version))
            .then_err(PolicyError::VersionNotFound { version });
    }
}

#[test]
fn a_published_event_carries_what_a_read_model_of_active_policies_needs() {
    let PolicyEvent::Published(event) = published(1, None) else {
        unreachable!()
    };
    let from_event = ActivePolicy::from(&event);
    let from_state = Policy::from_events(drafted_and([published(1, None)]).iter())
        .active()
        .unwrap();
    assert_eq!(from_event, from_state);
}
