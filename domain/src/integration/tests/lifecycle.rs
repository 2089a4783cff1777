//! Disabling and enabling an integration by request.

use super::*;
use crate::testing::given;

fn disable(note: Option<&str>) -> IntegrationCommand {
    DisableIntegration {
        note: note.map(str::to_owned),
    }
    .into()
}

#[test]
fn disable_stops_deliveries_and_records_the_note() {
    let integration = given::<Integration>(vec![registered()])
        .when(&disable(Some("  endpoint being migrated ")))
        .then(vec![disabled(DisableReason::Requested {
            note: Some(Note::parse("endpoint being migrated").unwrap()),
        })]);
    assert_eq!(integration.status(), IntegrationStatus::Disabled);
    assert!(!integration.is_enabled());
    assert!(integration.matches("tenant.created"));
    assert!(!integration.should_deliver("tenant.created"));
    assert_eq!(
        integration.disabled_reason().unwrap().to_string(),
        "disabled on request: endpoint being migrated"
    );
}

#[test]
fn disable_without_a_note_is_fine() {
    let integration = given::<Integration>(vec![registered()])
        .when(&disable(None))
        .then(vec![disabled_on_request()]);
    assert_eq!(
        integration.disabled_reason().unwrap().to_string(),
        "disabled on request"
    );
}

#[test]
fn disable_refuses_an_empty_or_multi_line_note() {
    for note in ["", "line one\nline two"] {
        let outcome = given::<Integration>(vec![registered()])
            .when(&disable(Some(note)))
            .outcome();
        assert_eq!(refused_field(outcome), "note");
    }
}

#[test]
fn a_disabled_integration_refuses_to_be_disabled_again() {
    given::<Integration>(registered_and([disabled_on_request()]))
        .when(&disable(Some("again")))
        .then_err(IntegrationError::AlreadyDisabled);
}

#[test]
fn enable_resumes_deliveries_and_clears_the_reason() {
    let integration = given::<Integration>(registered_and([disabled_on_request()]))
        .when(&EnableIntegration {}.into())
        .then(vec![enabled()]);
    assert!(integration.is_enabled());
    assert!(integration.should_deliver("tenant.created"));
    assert!(!integration.should_deliver("policy.created"));
    assert_eq!(integration.disabled_reason(), None);
}

#[test]
fn enable_after_too_many_failures_starts_counting_from_zero() {
    let history = registered_and([
        failed(1, 1),
        failed(2, 2),
        failed(3, 3),
        disabled(DisableReason::TooManyFailures {
            consecutive_failures: 3,
        }),
    ]);
    let integration = given::<Integration>(history)
        .when(&EnableIntegration {}.into())
        .then(vec![enabled()]);
    assert_eq!(integration.consecutive_failures(), 0);
    assert_eq!(integration.deliveries_failed(), 3);
}

#[test]
fn an_enabled_integration_refuses_to_be_enabled_again() {
    given::<Integration>(vec![registered()])
        .when(&EnableIntegration {}.into())
        .then_err(IntegrationError::AlreadyEnabled);
    given::<Integration>(registered_and([disabled_on_request(), enabled()]))
        .when(&EnableIntegration {}.into())
        .then_err(IntegrationError::AlreadyEnabled);
}
