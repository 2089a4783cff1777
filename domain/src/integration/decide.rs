//! The integration's decisions: `impl Aggregate for Integration`.
//!
//! Order of checks: first the existence gate (only registration before it exists, never
//! registration after), then the command's values, then the rules that depend on the state. A
//! command that would change nothing is refused, so no empty events are stored.
//!
//! Configuration commands (endpoint, filter, secret) are accepted while the integration is
//! disabled: fixing the endpoint before enabling it again is the usual way back. Delivery
//! outcomes are accepted too: a delivery already in flight when the integration was disabled
//! still ends, and what happened to it is a fact worth recording. Such outcomes keep the
//! failure count up to date but never disable a second time, and a success does not enable.

use super::commands::{
    DisableIntegration, IntegrationCommand, RecordDeliveryFailed, RecordDeliverySucceeded,
    RegisterIntegration, RotateSecret, UpdateEndpoint, UpdateEventFilter,
};
use super::error::{InIntegrationField, IntegrationError};
use super::events::{
    DeliveryFailed, DeliverySucceeded, DisableReason, EndpointUpdated, EventFilterUpdated,
    IntegrationDisabled, IntegrationEnabled, IntegrationEvent, IntegrationRegistered,
    SecretRotated,
};
use super::filter::EventFilter;
use super::secret::EncryptedSecret;
use super::state::{Integration, IntegrationStatus};
use super::values::{
    parse_attempt, parse_failure_status, parse_grace_period, parse_success_status, EndpointUrl,
    FailureThreshold, IntegrationKind, IntegrationName, Note, DEFAULT_GRACE_MINUTES,
};
use crate::aggregate::{Aggregate, DecisionContext};
use chrono::{DateTime, Utc};

/// What a decision returns.
type Decision = Result<Vec<IntegrationEvent>, IntegrationError>;

impl Aggregate for Integration {
    type Command = IntegrationCommand;
    type Event = IntegrationEvent;
    type Error = IntegrationError;

    const KIND: &'static str = "integration";
    const SNAPSHOT_VERSION: u16 = 1;

    fn decide(&self, command: &IntegrationCommand, ctx: &DecisionContext) -> Decision {
        match command {
            IntegrationCommand::Register(_) if self.exists() => {
                Err(IntegrationError::AlreadyRegistered)
            }
            IntegrationCommand::Register(c) => register(c),
            _ if !self.exists() => Err(IntegrationError::NotFound),
            IntegrationCommand::UpdateEndpoint(c) => self.update_endpoint(c),
            IntegrationCommand::UpdateEventFilter(c) => self.update_event_filter(c),
            IntegrationCommand::RotateSecret(c) => self.rotate_secret(c, ctx),
            IntegrationCommand::Enable(_) => self.enable(),
            IntegrationCommand::Disable(c) => self.disable(c),
            IntegrationCommand::RecordDeliverySucceeded(c) => self.record_success(c),
            IntegrationCommand::RecordDeliveryFailed(c) => self.record_failure(c),
        }
    }

    fn apply(&mut self, event: &IntegrationEvent) {
        self.fold(event);
    }
}

/// Checks the structure of an encrypted secret given in the `signing_secret` field.
fn check_secret(secret: &EncryptedSecret) -> Result<EncryptedSecret, IntegrationError> {
    EncryptedSecret::check_key_id(&secret.key_id).in_field("signing_secret.key_id")?;
    EncryptedSecret::check_nonce(&secret.nonce).in_field("signing_secret.nonce")?;
    EncryptedSecret::check_ciphertext(&secret.ciphertext).in_field("signing_secret.ciphertext")?;
    Ok(secret.clone())
}

fn register(c: &RegisterIntegration) -> Decision {
    if c.tenant_id.is_platform() {
        return Err(IntegrationError::invalid(
            "tenant_id",
            "must be a tenant's id, not the platform (nil) id",
        ));
    }
    if c.integration_id.is_nil() {
        return Err(IntegrationError::invalid(
            "integration_id",
            "must not be the nil id",
        ));
    }
    let kind = IntegrationKind::parse(&c.kind).in_field("kind")?;
    let name = IntegrationName::parse(&c.name).in_field("name")?;
    let endpoint_url = EndpointUrl::parse(&c.endpoint_url).in_field("endpoint_url")?;
    let event_filter = EventFilter::parse(&c.event_filter).in_field("event_filter")?;
    let signing_secret = check_secret(&c.signing_secret)?;
    let disable_after_failures = c
        .disable_after_failures
        .map(FailureThreshold::parse)
        .transpose()
        .in_field("disable_after_failures")?
        .unwrap_or_default();
    Ok(vec![IntegrationEvent::Registered(IntegrationRegistered {
        tenant_id: c.tenant_id,
        integration_id: c.integration_id,
        kind,
        name,
        endpoint_url,
        event_filter,
        signing_secret,
        disable_after_failures,
    })])
}

impl Integration {
    fn update_endpoint(&self, c: &UpdateEndpoint) -> Decision {
        let endpoint_url = EndpointUrl::parse(&c.endpoint_url).in_field("endpoint_url")?;
        if endpoint_url == self.endpoint_url {
            return Err(IntegrationError::Unchanged {
                field: "endpoint_url",
            });
        }
        Ok(vec![IntegrationEvent::EndpointUpdated(EndpointUpdated {
            tenant_id: self.tenant_id,
            integration_id: self.id,
            previous_endpoint_url: self.endpoint_url.clone(),
            endpoint_url,
        })])
    }

    fn update_event_filter(&self, c: &UpdateEventFilter) -> Decision {
        let event_filter = EventFilter::parse(&c.event_filter).in_field("event_filter")?;
        if event_filter == self.event_filter {
            return Err(IntegrationError::Unchanged {
                field: "event_filter",
            });
        }
        Ok(vec![IntegrationEvent::EventFilterUpdated(
            EventFilterUpdated {
                tenant_id: self.tenant_id,
                integration_id: self.id,
                event_filter,
            },
        )])
    }

    fn rotate_secret(&self, c: &RotateSecret, ctx: &DecisionContext) -> Decision {
        let signing_secret = check_secret(&c.signing_secret)?;
        let grace = parse_grace_period(c.grace_period_minutes.unwrap_or(DEFAULT_GRACE_MINUTES))
            .in_field("grace_period_minutes")?;
        // Encryption uses a fresh nonce each time, so an identical value can only be the same
        // command sent twice, not a new secret.
        if signing_secret == self.signing_secret {
            return Err(IntegrationError::Unchanged {
                field: "signing_secret",
            });
        }
        // Saturates instead of overflowing: a clock near the end of time must not panic.
        let previous_valid_until = ctx
            .now
            .checked_add_signed(grace)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Ok(vec![IntegrationEvent::SecretRotated(SecretRotated {
            tenant_id: self.tenant_id,
            integration_id: self.id,
            signing_secret,
            previous_valid_until,
        })])
    }

    fn enable(&self) -> Decision {
        if self.status == IntegrationStatus::Enabled {
            return Err(IntegrationError::AlreadyEnabled);
        }
        Ok(vec![IntegrationEvent::Enabled(IntegrationEnabled {
            tenant_id: self.tenant_id,
            integration_id: self.id,
        })])
    }

    fn disable(&self, c: &DisableIntegration) -> Decision {
        let note = c
            .note
            .as_deref()
            .map(Note::parse)
            .transpose()
            .in_field("note")?;
        if self.status == IntegrationStatus::Disabled {
            return Err(IntegrationError::AlreadyDisabled);
        }
        Ok(vec![self.disabled(DisableReason::Requested { note })])
    }

    fn disabled(&self, reason: DisableReason) -> IntegrationEvent {
        IntegrationEvent::Disabled(IntegrationDisabled {
            tenant_id: self.tenant_id,
            integration_id: self.id,
            reason,
        })
    }

    fn record_success(&self, c: &RecordDeliverySucceeded) -> Decision {
        let attempt = parse_attempt(c.attempt).in_field("attempt")?;
        let http_status = parse_success_status(c.http_status).in_field("http_status")?;
        Ok(vec![IntegrationEvent::DeliverySucceeded(
            DeliverySucceeded {
                tenant_id: self.tenant_id,
                integration_id: self.id,
                event_id: c.event_id,
                attempt,
                http_status,
            },
        )])
    }

    fn record_failure(&self, c: &RecordDeliveryFailed) -> Decision {
        let attempt = parse_attempt(c.attempt).in_field("attempt")?;
        let http_status = c
            .http_status
            .map(parse_failure_status)
            .transpose()
            .in_field("http_status")?;
        let error = c
            .error
            .as_deref()
            .map(Note::parse)
            .transpose()
            .in_field("error")?;
        let consecutive_failures = self.consecutive_failures.saturating_add(1);
        let mut events = vec![IntegrationEvent::DeliveryFailed(DeliveryFailed {
            tenant_id: self.tenant_id,
            integration_id: self.id,
            event_id: c.event_id,
            attempt,
            http_status,
            error,
            consecutive_failures,
        })];
        if self.is_enabled() && consecutive_failures >= self.disable_after_failures.get() {
            events.push(self.disabled(DisableReason::TooManyFailures {
                consecutive_failures,
            }));
        }
        Ok(events)
    }
}
