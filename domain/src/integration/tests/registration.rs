//! Registering an integration, and the gate that keeps every other command waiting for it.

use super::*;
use crate::testing::given;

#[test]
fn register_records_the_integration_enabled_with_its_encrypted_secret() {
    let integration = given::<Integration>(vec![])
        .when(&register_command().into())
        .then(vec![registered()]);
    assert!(integration.exists());
    assert_eq!(integration.status(), IntegrationStatus::Enabled);
    assert_eq!(integration.tenant_id(), tenant_id());
    assert_eq!(integration.id(), integration_id());
    assert_eq!(integration.kind(), IntegrationKind::Webhook);
    assert_eq!(integration.name().as_str(), "Billing hook");
    assert_eq!(integration.endpoint_url().as_str(), URL);
    assert_eq!(integration.signing_secret(), &secret(1));
    assert_eq!(integration.previous_secret(), None);
    assert_eq!(integration.disable_after_failures().get(), 3);
    assert_eq!(integration.consecutive_failures(), 0);
    assert_eq!(integration.disabled_reason(), None);
}

#[test]
fn register_without_a_threshold_disables_after_ten_failures() {
    let command = RegisterIntegration {
        disable_after_failures: None,
        ..register_command()
    };
    let events = given::<Integration>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap();
    let IntegrationEvent::Registered(event) = &events[0] else {
        panic!("expected a registration, got {events:?}")
    };
    assert_eq!(event.disable_after_failures, FailureThreshold::DEFAULT);
    assert_eq!(FailureThreshold::DEFAULT.get(), 10);
}

#[test]
fn register_normalizes_the_endpoint_and_trims_the_name() {
    let command = RegisterIntegration {
        kind: "slack_webhook".into(),
        name: "  Alerts  ".into(),
        endpoint_url: "HTTPS://Hooks.Slack.COM/services/T1".into(),
        ..register_command()
    };
    let integration = given::<Integration>(vec![])
        .when(&command.into())
        .outcome()
        .map(|events| <Integration as crate::Aggregate>::from_events(events.iter()))
        .unwrap();
    assert_eq!(integration.kind(), IntegrationKind::SlackWebhook);
    assert_eq!(integration.name().as_str(), "Alerts");
    assert_eq!(
        integration.endpoint_url().as_str(),
        "https://hooks.slack.com/services/T1"
    );
}

#[test]
fn register_refuses_each_invalid_field() {
    let base = register_command();
    let with_secret = |secret: EncryptedSecret| RegisterIntegration {
        signing_secret: secret,
        ..base.clone()
    };
    let cases: Vec<(RegisterIntegration, &str)> = vec![
        (
            RegisterIntegration {
                tenant_id: TenantId::PLATFORM,
                ..base.clone()
            },
            "tenant_id",
        ),
        (
            RegisterIntegration {
                integration_id: Uuid::nil(),
                ..base.clone()
            },
            "integration_id",
        ),
        (
            RegisterIntegration {
                kind: "email".into(),
                ..base.clone()
            },
            "kind",
        ),
        (
            RegisterIntegration {
                name: " ".into(),
                ..base.clone()
            },
            "name",
        ),
        (
            RegisterIntegration {
                endpoint_url: "http://hooks.acme.com/keel".into(),
                ..base.clone()
            },
            "endpoint_url",
        ),
        (
            RegisterIntegration {
                event_filter: vec![],
                ..base.clone()
            },
            "event_filter",
        ),
        (
            RegisterIntegration {
                event_filter: vec!["tenant.cre*".into()],
                ..base.clone()
            },
            "event_filter",
        ),
        (
            with_secret(EncryptedSecret {
                key_id: "".into(),
                ..secret(1)
            }),
            "signing_secret.key_id",
        ),
        (
            with_secret(EncryptedSecret {
                nonce: b64(&[1; 16]),
                ..secret(1)
            }),
            "signing_secret.nonce",
        ),
        (
            with_secret(EncryptedSecret {
                ciphertext: "whsec_c2VjcmV0".into(),
                ..secret(1)
            }),
            "signing_secret.ciphertext",
        ),
        (
            RegisterIntegration {
                disable_after_failures: Some(0),
                ..base.clone()
            },
            "disable_after_failures",
        ),
        (
            RegisterIntegration {
                disable_after_failures: Some(1001),
                ..base.clone()
            },
            "disable_after_failures",
        ),
    ];
    for (command, field) in cases {
        let outcome = given::<Integration>(vec![]).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), field);
    }
}

#[test]
fn register_refuses_the_platform_tenant_with_a_clear_message() {
    given::<Integration>(vec![])
        .when(
            &RegisterIntegration {
                tenant_id: TenantId::PLATFORM,
                ..register_command()
            }
            .into(),
        )
        .then_err(invalid(
            "tenant_id",
            "must be a tenant's id, not the platform (nil) id",
        ));
}

#[test]
fn a_registered_integration_refuses_registration() {
    given::<Integration>(vec![registered()])
        .when(&register_command().into())
        .then_err(IntegrationError::AlreadyRegistered);
}

#[test]
fn a_disabled_integration_refuses_registration_too() {
    given::<Integration>(registered_and([disabled_on_request()]))
        .when(&register_command().into())
        .then_err(IntegrationError::AlreadyRegistered);
}

#[test]
fn every_other_command_is_refused_before_registration() {
    for command in every_command_but_register() {
        given::<Integration>(vec![])
            .when(&command)
            .then_err(IntegrationError::NotFound);
    }
}
