//! Changing where and what an integration delivers, and rotating its signing secret.

use super::*;
use crate::testing::given;

fn update_endpoint(url: &str) -> IntegrationCommand {
    UpdateEndpoint {
        endpoint_url: url.into(),
    }
    .into()
}

fn update_filter(patterns: &[&str]) -> IntegrationCommand {
    UpdateEventFilter {
        event_filter: patterns.iter().map(|p| (*p).to_owned()).collect(),
    }
    .into()
}

fn rotate(n: u8, grace_period_minutes: Option<u32>) -> IntegrationCommand {
    RotateSecret {
        signing_secret: secret(n),
        grace_period_minutes,
    }
    .into()
}

fn rotated(n: u8, previous_valid_until: DateTime<Utc>) -> IntegrationEvent {
    IntegrationEvent::SecretRotated(SecretRotated {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
        signing_secret: secret(n),
        previous_valid_until,
    })
}

#[test]
fn update_endpoint_records_the_previous_and_the_new_url() {
    let integration = given::<Integration>(vec![registered()])
        .when(&update_endpoint("https://hooks.acme.com/v2"))
        .then(vec![IntegrationEvent::EndpointUpdated(EndpointUpdated {
            tenant_id: tenant_id(),
            integration_id: integration_id(),
            previous_endpoint_url: EndpointUrl::parse(URL).unwrap(),
            endpoint_url: EndpointUrl::parse("https://hooks.acme.com/v2").unwrap(),
        })]);
    assert_eq!(
        integration.endpoint_url().as_str(),
        "https://hooks.acme.com/v2"
    );
}

#[test]
fn update_endpoint_refuses_plain_http_to_a_remote_host() {
    given::<Integration>(vec![registered()])
        .when(&update_endpoint("http://hooks.acme.com/v2"))
        .then_err(invalid(
            "endpoint_url",
            "`http://hooks.acme.com/v2` must use https (plain http is allowed only for \
             localhost, 127.0.0.0/8 and [::1])",
        ));
}

#[test]
fn update_endpoint_accepts_plain_http_to_a_loopback_host() {
    for url in [
        "http://localhost:8080/hook",
        "http://127.0.0.1:9000/",
        "http://[::1]/hook",
    ] {
        let integration = given::<Integration>(vec![registered()])
            .when(&update_endpoint(url))
            .then(vec![IntegrationEvent::EndpointUpdated(EndpointUpdated {
                tenant_id: tenant_id(),
                integration_id: integration_id(),
                previous_endpoint_url: EndpointUrl::parse(URL).unwrap(),
                endpoint_url: EndpointUrl::parse(url).unwrap(),
            })]);
        assert_eq!(integration.endpoint_url().as_str(), url);
    }
}

#[test]
fn update_endpoint_to_the_same_url_is_refused_as_unchanged() {
    // The same URL in another spelling is the same endpoint once normalized.
    given::<Integration>(vec![registered()])
        .when(&update_endpoint("HTTPS://HOOKS.ACME.COM/keel"))
        .then_err(IntegrationError::Unchanged {
            field: "endpoint_url",
        });
}

#[test]
fn update_event_filter_replaces_the_filter() {
    let integration = given::<Integration>(vec![registered()])
        .when(&update_filter(&["*.created", "workflow.*"]))
        .then(vec![IntegrationEvent::EventFilterUpdated(
            EventFilterUpdated {
                tenant_id: tenant_id(),
                integration_id: integration_id(),
                event_filter: filter(&["*.created", "workflow.*"]),
            },
        )]);
    assert!(integration.matches("tenant.created"));
    assert!(integration.matches("workflow.run_failed"));
    assert!(!integration.matches("tenant.renamed"));
}

#[test]
fn update_event_filter_refuses_invalid_patterns() {
    let cases: &[&[&str]] = &[
        &[],
        &["tenant.*", "tenant.*"],
        &["Tenant.created"],
        &["tenant..x"],
        &["**"],
    ];
    for patterns in cases {
        let outcome = given::<Integration>(vec![registered()])
            .when(&update_filter(patterns))
            .outcome();
        assert_eq!(refused_field(outcome), "event_filter", "{patterns:?}");
    }
}

#[test]
fn update_event_filter_to_the_same_filter_is_refused_as_unchanged() {
    given::<Integration>(vec![registered()])
        .when(&update_filter(&["tenant.*", "workflow_run.completed"]))
        .then_err(IntegrationError::Unchanged {
            field: "event_filter",
        });
}

#[test]
fn rotate_secret_keeps_the_previous_secret_valid_for_a_day_by_default() {
    let integration = given::<Integration>(vec![registered()])
        .when(&rotate(2, None))
        .then(vec![rotated(2, minutes(24 * 60))]);
    assert_eq!(integration.signing_secret(), &secret(2));
    let previous = integration.previous_secret().unwrap();
    assert_eq!(previous.secret, secret(1));
    assert_eq!(previous.valid_until, minutes(24 * 60));
    assert_eq!(
        integration.signing_secrets_at(minutes(60)),
        vec![&secret(2), &secret(1)]
    );
    assert_eq!(
        integration.signing_secrets_at(minutes(24 * 60)),
        vec![&secret(2)]
    );
}

#[test]
fn rotate_secret_with_no_grace_period_revokes_the_previous_secret_at_once() {
    let integration = given::<Integration>(vec![registered()])
        .when(&rotate(2, Some(0)))
        .then(vec![rotated(2, test_now())]);
    assert_eq!(integration.signing_secrets_at(test_now()), vec![&secret(2)]);
}

#[test]
fn rotating_again_keeps_only_the_last_previous_secret() {
    let integration = given::<Integration>(registered_and([rotated(2, minutes(60))]))
        .when(&rotate(3, Some(30)))
        .then(vec![rotated(3, minutes(30))]);
    assert_eq!(integration.previous_secret().unwrap().secret, secret(2));
    assert_eq!(
        integration.signing_secrets_at(minutes(10)),
        vec![&secret(3), &secret(2)]
    );
}

#[test]
fn rotate_secret_refuses_a_grace_period_over_a_week() {
    given::<Integration>(vec![registered()])
        .when(&rotate(2, Some(MAX_GRACE_MINUTES + 1)))
        .then_err(invalid(
            "grace_period_minutes",
            "must be at most 10080 minutes (7 days; got 10081)",
        ));
    given::<Integration>(vec![registered()])
        .when(&rotate(2, Some(MAX_GRACE_MINUTES)))
        .then(vec![rotated(2, minutes(7 * 24 * 60))]);
}

#[test]
fn rotate_secret_refuses_a_malformed_secret() {
    let command = RotateSecret {
        signing_secret: EncryptedSecret {
            key_id: "key:1".into(),
            ..secret(2)
        },
        grace_period_minutes: None,
    };
    let outcome = given::<Integration>(vec![registered()])
        .when(&command.into())
        .outcome();
    assert_eq!(refused_field(outcome), "signing_secret.key_id");
}

#[test]
fn rotate_secret_to_the_current_value_is_refused_as_unchanged() {
    given::<Integration>(vec![registered()])
        .when(&rotate(1, None))
        .then_err(IntegrationError::Unchanged {
            field: "signing_secret",
        });
}

#[test]
fn rotation_at_the_end_of_time_saturates_instead_of_panicking() {
    given::<Integration>(vec![registered()])
        .at(DateTime::<Utc>::MAX_UTC)
        .when(&rotate(2, Some(60)))
        .then(vec![rotated(2, DateTime::<Utc>::MAX_UTC)]);
}

#[test]
fn a_disabled_integration_can_still_be_reconfigured() {
    let given_disabled = || registered_and([disabled_on_request()]);
    for command in [
        update_endpoint("https://hooks.acme.com/v2"),
        update_filter(&["*"]),
        rotate(2, None),
    ] {
        let events = given::<Integration>(given_disabled())
            .when(&command)
            .outcome()
            .unwrap();
        assert_eq!(events.len(), 1, "{command:?}");
    }
}
