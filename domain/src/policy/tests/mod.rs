//! Tests of the policy aggregate, written as given (past events) / when (command) / then
//! (new events or a refusal), plus validation, evaluation, codec and property tests.
//!
//! This file holds the shared fixtures: a tenant policy "Baseline access" and builders for
//! documents, commands and events, so each test states only what it is about.

mod codec;
mod evaluation;
mod lifecycle;
mod props;
mod rules;
mod values;
mod versions;

use super::*;
use crate::ids::TenantId;
use uuid::Uuid;

/// The tenant the fixture policy belongs to.
fn tenant_id() -> TenantId {
    TenantId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

/// The fixture policy's id.
fn policy_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_5001)
}

const NAME: &str = "Baseline access";

/// An access rule input.
fn access_rule(
    effect: &str,
    roles: &[&str],
    actions: &[&str],
    resources: &[&str],
) -> AccessRuleInput {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    AccessRuleInput {
        effect: effect.into(),
        roles: strings(roles),
        actions: strings(actions),
        resources: strings(resources),
        description: None,
        not_before: None,
        not_after: None,
    }
}

/// Access document input number `n`: distinct documents for distinct versions.
fn access_input(n: usize) -> PolicyDocumentInput {
    let mut rules = vec![access_rule("allow", &["admin"], &["*"], &["*"])];
    if n > 1 {
        rules.push(access_rule(
            "allow",
            &["member"],
            &[&format!("action{n}")],
            &["*"],
        ));
    }
    PolicyDocumentInput::Access(rules)
}

/// The validated form of [`access_input`].
fn access_doc(n: usize) -> PolicyDocument {
    access_input(n).validate().unwrap()
}

fn draft_command() -> DraftPolicy {
    DraftPolicy {
        policy_id: policy_id(),
        tenant_id: tenant_id(),
        name: NAME.into(),
        document: access_input(1),
    }
}

fn drafted() -> PolicyEvent {
    PolicyEvent::Drafted(PolicyDrafted {
        tenant_id: tenant_id(),
        policy_id: policy_id(),
        name: PolicyName::parse(NAME).unwrap(),
        kind: PolicyKind::Access,
        version: 1,
        document: access_doc(1),
    })
}

/// Version `n` made by a revision, with [`access_doc`]`(n)`.
fn revised(n: u32) -> PolicyEvent {
    PolicyEvent::Revised(PolicyRevised {
        tenant_id: tenant_id(),
        policy_id: policy_id(),
        name: PolicyName::parse(NAME).unwrap(),
        kind: PolicyKind::Access,
        version: n,
        document: access_doc(n as usize),
    })
}

/// Version `n` (with [`access_doc`]`(n)`) put in force in place of `replaced`.
fn published(n: u32, replaced: Option<u32>) -> PolicyEvent {
    PolicyEvent::Published(PolicyPublished {
        tenant_id: tenant_id(),
        policy_id: policy_id(),
        name: PolicyName::parse(NAME).unwrap(),
        kind: PolicyKind::Access,
        version: n,
        document: access_doc(n as usize),
        replaced_version: replaced,
    })
}

fn deactivated(n: u32) -> PolicyEvent {
    PolicyEvent::Deactivated(PolicyDeactivated {
        tenant_id: tenant_id(),
        policy_id: policy_id(),
        name: PolicyName::parse(NAME).unwrap(),
        kind: PolicyKind::Access,
        version: n,
    })
}

fn archived(versions: u32) -> PolicyEvent {
    PolicyEvent::Archived(PolicyArchived {
        tenant_id: tenant_id(),
        policy_id: policy_id(),
        name: PolicyName::parse(NAME).unwrap(),
        kind: PolicyKind::Access,
        versions,
    })
}

/// The fixture's draft followed by `more`.
fn drafted_and(more: impl IntoIterator<Item = PolicyEvent>) -> Vec<PolicyEvent> {
    let mut events = vec![drafted()];
    events.extend(more);
    events
}

fn revise(n: usize) -> PolicyCommand {
    RevisePolicy {
        document: access_input(n),
    }
    .into()
}

fn publish(version: u32) -> PolicyCommand {
    PublishPolicy { version }.into()
}

/// The field a refusal names, for tests that check only which field failed.
fn refused_field(outcome: Result<Vec<PolicyEvent>, PolicyError>) -> String {
    match outcome {
        Ok(events) => panic!("expected a refusal, got {events:?}"),
        Err(PolicyError::Invalid { field, .. }) => field,
        Err(other) => panic!("expected an invalid-field refusal, got {other:?}"),
    }
}

/// Validates a document given as JSON, for rule tests: the refused field, or the document.
fn validate_json(json: serde_json::Value) -> Result<PolicyDocument, PolicyError> {
    serde_json::from_value::<PolicyDocumentInput>(json)
        .expect("the JSON has the input's shape")
        .validate()
}

/// One valid instance of every command except draft, for status-gate tests.
fn every_command_but_draft() -> Vec<PolicyCommand> {
    vec![
        revise(2),
        publish(1),
        DeactivatePolicy {}.into(),
        ArchivePolicy {}.into(),
    ]
}
