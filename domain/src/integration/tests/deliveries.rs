//! Recording delivery outcomes, and disabling after too many failures in a row.

use super::*;
use crate::testing::given;

fn too_many_failures(n: u32) -> IntegrationEvent {
    disabled(DisableReason::TooManyFailures {
        consecutive_failures: n,
    })
}

#[test]
fn a_success_is_recorded_and_resets_the_failure_count() {
    let integration = given::<Integration>(registered_and([failed(1, 1), failed(2, 2)]))
        .when(&success_command(3).into())
        .then(vec![succeeded(3)]);
    assert_eq!(integration.consecutive_failures(), 0);
    assert_eq!(integration.deliveries_succeeded(), 1);
    assert_eq!(integration.deliveries_failed(), 2);
    assert!(integration.is_enabled());
}

#[test]
fn a_failure_below_the_threshold_is_counted() {
    let integration = given::<Integration>(registered_and([failed(1, 1)]))
        .when(&failure_command(2).into())
        .then(vec![failed(2, 2)]);
    assert_eq!(integration.consecutive_failures(), 2);
    assert!(integration.is_enabled());
}

#[test]
fn the_failure_that_reaches_the_threshold_also_disables_the_integration() {
    let integration = given::<Integration>(registered_and([failed(1, 1), failed(2, 2)]))
        .when(&failure_command(3).into())
        .then(vec![failed(3, 3), too_many_failures(3)]);
    assert_eq!(integration.status(), IntegrationStatus::Disabled);
    assert_eq!(
        integration.disabled_reason().unwrap().to_string(),
        "disabled after 3 consecutive failed deliveries"
    );
}

#[test]
fn a_success_in_between_restarts_the_count() {
    let history = registered_and([failed(1, 1), failed(2, 2), succeeded(3)]);
    given::<Integration>(history)
        .when(&failure_command(4).into())
        .then(vec![failed(4, 1)]);
}

#[test]
fn a_threshold_of_one_disables_on_the_first_failure() {
    let IntegrationEvent::Registered(event) = registered() else {
        unreachable!()
    };
    let strict = IntegrationEvent::Registered(IntegrationRegistered {
        disable_after_failures: FailureThreshold::parse(1).unwrap(),
        ..event
    });
    given::<Integration>(vec![strict])
        .when(&failure_command(1).into())
        .then(vec![failed(1, 1), too_many_failures(1)]);
}

#[test]
fn a_failure_without_a_status_or_error_is_a_timeout_like_any_other() {
    let command = RecordDeliveryFailed {
        http_status: None,
        error: None,
        attempt: 5,
        ..failure_command(1)
    };
    given::<Integration>(vec![registered()])
        .when(&command.into())
        .then(vec![IntegrationEvent::DeliveryFailed(DeliveryFailed {
            tenant_id: tenant_id(),
            integration_id: integration_id(),
            event_id: event_id(1),
            attempt: 5,
            http_status: None,
            error: None,
            consecutive_failures: 1,
        })]);
}

#[test]
fn outcomes_of_deliveries_in_flight_are_recorded_while_disabled_without_disabling_again() {
    let history = registered_and([
        failed(1, 1),
        failed(2, 2),
        failed(3, 3),
        too_many_failures(3),
    ]);
    let integration = given::<Integration>(history.clone())
        .when(&failure_command(4).into())
        .then(vec![failed(4, 4)]);
    assert_eq!(integration.status(), IntegrationStatus::Disabled);
    // A late success is recorded too, but does not enable the integration: a person decides that.
    let integration = given::<Integration>(history)
        .when(&success_command(5).into())
        .then(vec![succeeded(5)]);
    assert_eq!(integration.status(), IntegrationStatus::Disabled);
    assert_eq!(integration.consecutive_failures(), 0);
}

#[test]
fn a_manually_disabled_integration_records_failures_without_a_second_disabling() {
    let integration = given::<Integration>(registered_and([
        disabled_on_request(),
        failed(1, 1),
        failed(2, 2),
    ]))
    .when(&failure_command(3).into())
    .then(vec![failed(3, 3)]);
    assert_eq!(
        integration.disabled_reason(),
        Some(&DisableReason::Requested { note: None })
    );
}

#[test]
fn a_success_refuses_each_invalid_field() {
    let cases = [
        (
            RecordDeliverySucceeded {
                attempt: 0,
                ..success_command(1)
            },
            invalid(
                "attempt",
                "must be between 1 (the first try) and 1000 (got 0)",
            ),
        ),
        (
            RecordDeliverySucceeded {
                attempt: MAX_ATTEMPT + 1,
                ..success_command(1)
            },
            invalid(
                "attempt",
                "must be between 1 (the first try) and 1000 (got 1001)",
            ),
        ),
        (
            RecordDeliverySucceeded {
                http_status: 302,
                ..success_command(1)
            },
            invalid(
                "http_status",
                "must be a 2xx status for a successful delivery (got 302)",
            ),
        ),
    ];
    for (command, error) in cases {
        given::<Integration>(vec![registered()])
            .when(&command.into())
            .then_err(error);
    }
}

#[test]
fn a_failure_refuses_each_invalid_field() {
    let cases = [
        (
            RecordDeliveryFailed {
                attempt: 0,
                ..failure_command(1)
            },
            invalid(
                "attempt",
                "must be between 1 (the first try) and 1000 (got 0)",
            ),
        ),
        (
            RecordDeliveryFailed {
                http_status: Some(200),
                ..failure_command(1)
            },
            invalid(
                "http_status",
                "200 is a success: record it as a successful delivery",
            ),
        ),
        (
            RecordDeliveryFailed {
                http_status: Some(99),
                ..failure_command(1)
            },
            invalid(
                "http_status",
                "must be an HTTP status between 100 and 599 (got 99)",
            ),
        ),
        (
            RecordDeliveryFailed {
                http_status: Some(600),
                ..failure_command(1)
            },
            invalid(
                "http_status",
                "must be an HTTP status between 100 and 599 (got 600)",
            ),
        ),
        (
            RecordDeliveryFailed {
                error: Some("  ".into()),
                ..failure_command(1)
            },
            invalid("error", "must not be empty"),
        ),
    ];
    for (command, error) in cases {
        given::<Integration>(vec![registered()])
            .when(&command.into())
            .then_err(error);
    }
}
