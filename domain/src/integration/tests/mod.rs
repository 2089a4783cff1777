//! Tests of the integration aggregate, written as given (past events) / when (command) / then
//! (new events or a refusal), plus value, codec and property tests.
//!
//! This file holds the shared fixtures: a registered webhook "Billing hook" of one tenant, and
//! builders for commands and events, so each test states only what it is about.

mod codec;
mod configuration;
mod deliveries;
mod lifecycle;
mod props;
mod registration;
mod values;

use super::*;
use crate::ids::TenantId;
use crate::testing::test_now;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The tenant every test works for.
fn tenant_id() -> TenantId {
    TenantId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

/// The integration every test works on.
fn integration_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_4001)
}

/// A delivered event's id, numbered.
fn event_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_5000 + n)
}

const URL: &str = "https://hooks.acme.com/keel";

/// `n` minutes after the harness's fixed clock.
fn minutes(n: i64) -> DateTime<Utc> {
    test_now() + Duration::minutes(n)
}

/// Standard base64 with padding, for building encrypted-looking fixtures.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A structurally valid encrypted secret, numbered so tests can tell secrets apart.
fn secret(n: u8) -> EncryptedSecret {
    EncryptedSecret {
        key_id: "k1".into(),
        nonce: b64(&[n; 12]),
        ciphertext: b64(&[n; 48]),
    }
}

fn register_command() -> RegisterIntegration {
    RegisterIntegration {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
        kind: "webhook".into(),
        name: "Billing hook".into(),
        endpoint_url: URL.into(),
        event_filter: vec!["tenant.*".into(), "workflow_run.completed".into()],
        signing_secret: secret(1),
        disable_after_failures: Some(3),
    }
}

fn filter(patterns: &[&str]) -> EventFilter {
    let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
    EventFilter::parse(&patterns).unwrap()
}

/// The event of registering the fixture integration (threshold 3).
fn registered() -> IntegrationEvent {
    IntegrationEvent::Registered(IntegrationRegistered {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
        kind: IntegrationKind::Webhook,
        name: IntegrationName::parse("Billing hook").unwrap(),
        endpoint_url: EndpointUrl::parse(URL).unwrap(),
        event_filter: filter(&["tenant.*", "workflow_run.completed"]),
        signing_secret: secret(1),
        disable_after_failures: FailureThreshold::parse(3).unwrap(),
    })
}

/// The fixture's registration followed by `more`.
fn registered_and(more: impl IntoIterator<Item = IntegrationEvent>) -> Vec<IntegrationEvent> {
    let mut events = vec![registered()];
    events.extend(more);
    events
}

fn disabled(reason: DisableReason) -> IntegrationEvent {
    IntegrationEvent::Disabled(IntegrationDisabled {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
        reason,
    })
}

fn disabled_on_request() -> IntegrationEvent {
    disabled(DisableReason::Requested { note: None })
}

fn enabled() -> IntegrationEvent {
    IntegrationEvent::Enabled(IntegrationEnabled {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
    })
}

fn failure_command(n: u128) -> RecordDeliveryFailed {
    RecordDeliveryFailed {
        event_id: event_id(n),
        attempt: 1,
        http_status: Some(503),
        error: Some("service unavailable".into()),
    }
}

/// The `consecutive`-th failure in a row, for the delivery of event `n`.
fn failed(n: u128, consecutive: u32) -> IntegrationEvent {
    IntegrationEvent::DeliveryFailed(DeliveryFailed {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
        event_id: event_id(n),
        attempt: 1,
        http_status: Some(503),
        error: Some(Note::parse("service unavailable").unwrap()),
        consecutive_failures: consecutive,
    })
}

fn success_command(n: u128) -> RecordDeliverySucceeded {
    RecordDeliverySucceeded {
        event_id: event_id(n),
        attempt: 2,
        http_status: 204,
    }
}

fn succeeded(n: u128) -> IntegrationEvent {
    IntegrationEvent::DeliverySucceeded(DeliverySucceeded {
        tenant_id: tenant_id(),
        integration_id: integration_id(),
        event_id: event_id(n),
        attempt: 2,
        http_status: 204,
    })
}

fn invalid(field: &'static str, reason: &str) -> IntegrationError {
    IntegrationError::invalid(field, reason)
}

/// The field a refusal names, for tests that check only which field failed.
fn refused_field(outcome: Result<Vec<IntegrationEvent>, IntegrationError>) -> &'static str {
    match outcome {
        Ok(events) => panic!("expected a refusal, got {events:?}"),
        Err(IntegrationError::Invalid { field, .. }) => field,
        Err(other) => panic!("expected an invalid-field refusal, got {other:?}"),
    }
}

/// One valid instance of every command except register, for gate tests.
fn every_command_but_register() -> Vec<IntegrationCommand> {
    vec![
        UpdateEndpoint {
            endpoint_url: "https://hooks.acme.com/v2".into(),
        }
        .into(),
        UpdateEventFilter {
            event_filter: vec!["*".into()],
        }
        .into(),
        RotateSecret {
            signing_secret: secret(2),
            grace_period_minutes: None,
        }
        .into(),
        EnableIntegration {}.into(),
        DisableIntegration::default().into(),
        success_command(1).into(),
        failure_command(1).into(),
    ]
}
