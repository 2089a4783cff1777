//! The integration aggregate through the command handler, on both backends: its events are
//! stored with their tenant, its signing secrets are stored only encrypted (and decrypt back with
//! the keyring, across a key rotation), it disables itself after too many failed deliveries, and
//! a refused command appends nothing.

use keel_commands::handler::{CommandError, CommandHandler, HandlerConfig};
use keel_commands::secrets::{generate_signing_secret, Secret, SecretKeys};
use keel_domain::integration::{
    DisableReason, EncryptedSecret, Integration, IntegrationCommand, IntegrationError,
    IntegrationEvent, IntegrationStatus, RecordDeliveryFailed, RegisterIntegration, RotateSecret,
    UpdateEndpoint, UpdateEventFilter,
};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{EventMetadata, EventStore, RecordedEvent};
use keel_tests::{Backend, TestDatabase};
use std::sync::Arc;
use uuid::Uuid;

both_backends!(
    an_integration_lives_through_the_handler_with_its_secrets_encrypted,
    a_refused_integration_command_appends_nothing,
);

/// Two AES-256 keys (32 bytes each, base64): `k1` was current before `k2`.
const KEY_1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_2: &str = "k2:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn new_integration() -> AggregateId {
    AggregateId {
        tenant_id: TenantId(uuid::Uuid::now_v7()),
        id: Uuid::now_v7(),
    }
}

fn meta(id: AggregateId) -> EventMetadata {
    EventMetadata::new(id.tenant_id, Actor::User("ada@acme.com".into()))
}

fn registration(id: AggregateId, signing_secret: EncryptedSecret) -> RegisterIntegration {
    RegisterIntegration {
        tenant_id: id.tenant_id,
        integration_id: id.id,
        kind: "webhook".into(),
        name: "Billing hook".into(),
        endpoint_url: "https://hooks.acme.com/keel".into(),
        event_filter: vec!["tenant.*".into()],
        signing_secret,
        disable_after_failures: Some(3),
    }
}

/// A registration with a fresh signing secret encrypted by `keys`.
fn fresh_registration(id: AggregateId, keys: &SecretKeys) -> RegisterIntegration {
    registration(id, keys.encrypt(id.id, &generate_signing_secret()).unwrap())
}

fn failure(attempt: u32) -> IntegrationCommand {
    RecordDeliveryFailed {
        event_id: Uuid::now_v7(),
        attempt,
        http_status: if attempt == 2 { None } else { Some(502) },
        error: Some("bad gateway".into()),
    }
    .into()
}

async fn everything(store: &Arc<dyn EventStore>) -> Vec<RecordedEvent> {
    store.read_all(0, 1000).await.unwrap()
}

/// Whether `needle` occurs anywhere in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn an_integration_lives_through_the_handler_with_its_secrets_encrypted(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Integration>::new(store.clone(), HandlerConfig::default());
    let id = new_integration();
    let before_rotation = SecretKeys::parse(KEY_1).unwrap();
    let keys = SecretKeys::parse(&format!("{KEY_2},{KEY_1}")).unwrap();
    let first = generate_signing_secret();
    let second = generate_signing_secret();

    let encrypted = before_rotation.encrypt(id.id, &first).unwrap();
    handler
        .execute(id, registration(id, encrypted).into(), meta(id), Some(0))
        .await
        .unwrap();
    let update = UpdateEndpoint {
        endpoint_url: "https://hooks.acme.com/v2".into(),
    };
    handler
        .execute(id, update.into(), meta(id), None)
        .await
        .unwrap();
    let filter = UpdateEventFilter {
        event_filter: vec!["tenant.*".into(), "*.completed".into()],
    };
    handler
        .execute(id, filter.into(), meta(id), None)
        .await
        .unwrap();
    let rotation = RotateSecret {
        signing_secret: keys.encrypt(id.id, &second).unwrap(),
        grace_period_minutes: Some(60),
    };
    let rotated = handler
        .execute(id, rotation.into(), meta(id), None)
        .await
        .unwrap();
    assert_eq!(
        rotated.state.signing_secrets_at(chrono::Utc::now()).len(),
        2
    );

    for attempt in 1..=2 {
        let outcome = handler
            .execute(id, failure(attempt), meta(id), None)
            .await
            .unwrap();
        assert_eq!(outcome.events.len(), 1);
        assert!(outcome.state.is_enabled());
    }
    let last = handler
        .execute(id, failure(3), meta(id), None)
        .await
        .unwrap();
    assert_eq!(
        last.events.len(),
        2,
        "the third failure also disables: {:?}",
        last.events
    );
    assert!(matches!(last.events[1], IntegrationEvent::Disabled(_)));
    assert_eq!(last.stream_version, 8);

    // A fresh handler replays the stream from the store.
    let fresh = CommandHandler::<Integration>::new(store.clone(), HandlerConfig::default());
    let state = fresh.state(id).await.unwrap().state;
    assert_eq!(state.status(), IntegrationStatus::Disabled);
    assert_eq!(
        state.disabled_reason(),
        Some(&DisableReason::TooManyFailures {
            consecutive_failures: 3
        })
    );
    assert_eq!(state.endpoint_url().as_str(), "https://hooks.acme.com/v2");
    assert!(state.matches("workflow.completed"));
    assert_eq!(state.consecutive_failures(), 3);
    // Both secrets decrypt with the keyring: the current one under `k2`, the previous one
    // under the older `k1`, still configured.
    assert_eq!(state.signing_secret().key_id, "k2");
    assert_eq!(keys.decrypt(id.id, state.signing_secret()).unwrap(), second);
    let previous = &state.previous_secret().unwrap().secret;
    assert_eq!(previous.key_id, "k1");
    assert_eq!(keys.decrypt(id.id, previous).unwrap(), first);

    let stored = everything(&store).await;
    let types: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "integration.registered",
            "integration.endpoint_updated",
            "integration.filter_updated",
            "integration.secret_rotated",
            "integration.delivery_failed",
            "integration.delivery_failed",
            "integration.delivery_failed",
            "integration.disabled",
        ]
    );
    for event in &stored {
        assert_eq!(
            event.metadata.tenant_id, id.tenant_id,
            "{}",
            event.event_type
        );
        assert_eq!(event.stream_id, id.stream_id("integration"));
        let data = event.to_json().data;
        assert_eq!(
            data["tenant_id"],
            id.tenant_id.to_string(),
            "{}",
            event.event_type
        );
        assert_eq!(
            data["integration_id"],
            id.id.to_string(),
            "{}",
            event.event_type
        );
    }
    assert_no_clear_secret(&stored, &[&first, &second]);
}

/// No stored payload holds a clear secret, whole or without its `whsec_` prefix.
fn assert_no_clear_secret(stored: &[RecordedEvent], secrets: &[&Secret]) {
    for secret in secrets {
        let whole = secret.expose().as_bytes();
        let bare = whole.strip_prefix(b"whsec_").unwrap();
        for event in stored {
            assert!(!contains(&event.payload, whole), "{}", event.event_type);
            assert!(!contains(&event.payload, bare), "{}", event.event_type);
        }
    }
}

async fn a_refused_integration_command_appends_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Integration>::new(store.clone(), HandlerConfig::default());
    let keys = SecretKeys::parse(KEY_1).unwrap();
    let id = new_integration();

    // Nothing exists yet: only registration is possible.
    let error = handler
        .execute(id, failure(1), meta(id), None)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CommandError::Domain(IntegrationError::NotFound)
    ));
    let plain_http = RegisterIntegration {
        endpoint_url: "http://hooks.acme.com/keel".into(),
        ..fresh_registration(id, &keys)
    };
    let error = handler
        .execute(id, plain_http.into(), meta(id), None)
        .await
        .unwrap_err();
    match error {
        CommandError::Domain(IntegrationError::Invalid { field, .. }) => {
            assert_eq!(field, "endpoint_url")
        }
        other => panic!("expected an invalid endpoint, got {other}"),
    }
    assert_eq!(store.head_position().await.unwrap(), 0);

    handler
        .execute(id, fresh_registration(id, &keys).into(), meta(id), None)
        .await
        .unwrap();
    let again = handler
        .execute(id, fresh_registration(id, &keys).into(), meta(id), None)
        .await
        .unwrap_err();
    assert!(matches!(
        again,
        CommandError::Domain(IntegrationError::AlreadyRegistered)
    ));
    // A caller that forgot to encrypt: the clear secret is refused, and not echoed.
    let clear = generate_signing_secret();
    let forgot = RotateSecret {
        signing_secret: EncryptedSecret {
            ciphertext: clear.expose().to_owned(),
            ..keys.encrypt(id.id, &clear).unwrap()
        },
        grace_period_minutes: None,
    };
    let error = handler
        .execute(id, forgot.into(), meta(id), None)
        .await
        .unwrap_err();
    assert!(!error.to_string().contains(clear.expose()), "{error}");
    assert!(matches!(
        error,
        CommandError::Domain(IntegrationError::Invalid {
            field: "signing_secret.ciphertext",
            ..
        })
    ));
    assert_eq!(store.head_position().await.unwrap(), 1);
    assert_eq!(everything(&store).await.len(), 1);
}
