//! Storage and wire shapes: event encoding, command JSON, snapshots and error metadata.

use super::*;
use crate::event::{decode_msgpack, encode_payload, payload_to_json};
use crate::testing::given;
use crate::{Aggregate, DomainEvent};

/// One instance of every event.
fn one_of_each_event() -> Vec<IntegrationEvent> {
    registered_and([
        IntegrationEvent::EndpointUpdated(EndpointUpdated {
            tenant_id: tenant_id(),
            integration_id: integration_id(),
            previous_endpoint_url: EndpointUrl::parse(URL).unwrap(),
            endpoint_url: EndpointUrl::parse("https://hooks.acme.com/v2").unwrap(),
        }),
        IntegrationEvent::EventFilterUpdated(EventFilterUpdated {
            tenant_id: tenant_id(),
            integration_id: integration_id(),
            event_filter: filter(&["*"]),
        }),
        IntegrationEvent::SecretRotated(SecretRotated {
            tenant_id: tenant_id(),
            integration_id: integration_id(),
            signing_secret: secret(2),
            previous_valid_until: minutes(60),
        }),
        succeeded(1),
        failed(2, 1),
        disabled(DisableReason::TooManyFailures {
            consecutive_failures: 1,
        }),
        enabled(),
        disabled(DisableReason::Requested {
            note: Some(Note::parse("maintenance").unwrap()),
        }),
    ])
}

#[test]
fn every_event_type_round_trips_and_has_a_json_view() {
    let events = one_of_each_event();
    crate::testing::assert_codec_covers(&events, IntegrationEvent::EVENT_TYPES);
    assert!(events.iter().all(|e| e.schema_version() == 1));
}

#[test]
fn every_payload_carries_the_tenant_and_integration_ids_as_text() {
    for event in one_of_each_event() {
        let json = payload_to_json(&event.encode().unwrap()).unwrap();
        assert_eq!(
            json["tenant_id"],
            tenant_id().to_string(),
            "{}",
            event.event_type()
        );
        assert_eq!(
            json["integration_id"],
            integration_id().to_string(),
            "{}",
            event.event_type()
        );
    }
}

#[test]
fn payloads_have_a_readable_json_view() {
    let json = payload_to_json(&registered().encode().unwrap()).unwrap();
    assert_eq!(json["kind"], "webhook");
    assert_eq!(json["endpoint_url"], URL);
    assert_eq!(
        json["event_filter"],
        serde_json::json!(["tenant.*", "workflow_run.completed"])
    );
    assert_eq!(json["signing_secret"]["key_id"], "k1");
    assert_eq!(json["signing_secret"]["nonce"], secret(1).nonce);
    assert_eq!(json["disable_after_failures"], 3);

    let reason = disabled(DisableReason::TooManyFailures {
        consecutive_failures: 10,
    });
    let json = payload_to_json(&reason.encode().unwrap()).unwrap();
    assert_eq!(
        json["reason"],
        serde_json::json!({"kind": "too_many_failures", "consecutive_failures": 10})
    );
    let json = payload_to_json(&failed(1, 2).encode().unwrap()).unwrap();
    assert_eq!(json["event_id"], event_id(1).to_string());
    assert_eq!(json["http_status"], 503);
    assert_eq!(json["consecutive_failures"], 2);
}

#[test]
fn commands_deserialize_from_json_named_by_a_command_field() {
    let command: IntegrationCommand = serde_json::from_value(serde_json::json!({
        "command": "register",
        "tenant_id": tenant_id(),
        "integration_id": integration_id(),
        "kind": "webhook",
        "name": "Billing hook",
        "endpoint_url": URL,
        "event_filter": ["tenant.*", "workflow_run.completed"],
        "signing_secret": secret(1),
        "disable_after_failures": 3,
    }))
    .unwrap();
    assert_eq!(command, register_command().into());
    let command: IntegrationCommand = serde_json::from_value(serde_json::json!({
        "command": "rotate_secret",
        "signing_secret": secret(2),
    }))
    .unwrap();
    assert_eq!(
        command,
        RotateSecret {
            signing_secret: secret(2),
            grace_period_minutes: None
        }
        .into()
    );
}

#[test]
fn commands_refuse_unknown_json_fields() {
    let typo = serde_json::from_value::<IntegrationCommand>(serde_json::json!({
        "command": "update_endpoint", "endpoint_url": URL, "endpiont": 1,
    }));
    assert!(typo.is_err());
    let typo = serde_json::from_value::<EncryptedSecret>(serde_json::json!({
        "key_id": "k1", "nonce": "AAAA", "ciphertext": "AAAA", "plaintext": "oops",
    }));
    assert!(typo.is_err());
}

#[test]
fn every_command_name_is_its_json_tag() {
    let mut commands = every_command_but_register();
    commands.push(register_command().into());
    for command in commands {
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["command"], command.name());
        let back: IntegrationCommand = serde_json::from_value(json).unwrap();
        assert_eq!(back, command);
    }
}

#[test]
fn state_snapshot_round_trips_through_json_and_message_pack() {
    let state = Integration::from_events(one_of_each_event().iter());
    assert!(state.previous_secret().is_some() && state.disabled_reason().is_some());
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<Integration>(&json).unwrap(), state);
    let bytes = encode_payload(&state).unwrap();
    assert_eq!(decode_msgpack::<Integration>(&bytes).unwrap(), state);
}

#[test]
fn aggregate_constants_are_as_stored() {
    assert_eq!(Integration::KIND, "integration");
    assert_eq!(Integration::SNAPSHOT_VERSION, 1);
    for event in one_of_each_event() {
        assert!(Integration::claims(&event).is_empty());
    }
}

#[test]
fn errors_name_their_field_and_code() {
    let error = given::<Integration>(vec![registered()])
        .when(
            &UpdateEndpoint {
                endpoint_url: "".into(),
            }
            .into(),
        )
        .outcome()
        .unwrap_err();
    assert_eq!(error.field(), Some("endpoint_url"));
    assert_eq!(error.code(), "invalid");
    assert_eq!(
        error.to_string(),
        "endpoint_url `` is not an absolute URL (expected e.g. `https://hooks.example.com/keel`)"
    );
    let unchanged = IntegrationError::Unchanged {
        field: "event_filter",
    };
    assert_eq!(unchanged.field(), Some("event_filter"));
    assert_eq!(
        unchanged.to_string(),
        "nothing to change: event_filter already has this value"
    );
    for (error, code, message) in [
        (
            IntegrationError::NotFound,
            "not_found",
            "integration does not exist",
        ),
        (
            IntegrationError::AlreadyRegistered,
            "already_exists",
            "integration already exists",
        ),
        (
            IntegrationError::AlreadyEnabled,
            "already_enabled",
            "integration is already enabled",
        ),
        (
            IntegrationError::AlreadyDisabled,
            "already_disabled",
            "integration is already disabled",
        ),
    ] {
        assert_eq!(error.field(), None);
        assert_eq!(error.code(), code);
        assert_eq!(error.to_string(), message);
    }
}
