//! The facts an integration's stream records, named `integration.<fact>`, all at schema
//! version 1.
//!
//! Every payload carries the tenant id and the integration id, so read models (an integration
//! list, a delivery log) can be built from payloads alone. Signing secrets appear only as
//! [`EncryptedSecret`]s: no event holds a secret in clear text.

use super::filter::EventFilter;
use super::secret::EncryptedSecret;
use super::values::{EndpointUrl, FailureThreshold, IntegrationKind, IntegrationName, Note};
use crate::event::Upcaster;
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Why an integration was disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DisableReason {
    /// Someone asked for it.
    Requested {
        /// Their explanation, if they gave one.
        note: Option<Note>,
    },
    /// Deliveries failed too many times in a row; the integration stopped itself so that a dead
    /// endpoint does not keep receiving (and the worker keep retrying) forever.
    TooManyFailures {
        /// How many deliveries in a row had failed (the integration's threshold).
        consecutive_failures: u32,
    },
}

impl fmt::Display for DisableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisableReason::Requested { note: Some(note) } => {
                write!(f, "disabled on request: {note}")
            }
            DisableReason::Requested { note: None } => f.write_str("disabled on request"),
            DisableReason::TooManyFailures {
                consecutive_failures,
            } => write!(
                f,
                "disabled after {consecutive_failures} consecutive failed deliveries"
            ),
        }
    }
}

/// An integration was registered; it is enabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRegistered {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// What it talks to.
    pub kind: IntegrationKind,
    /// Its name.
    pub name: IntegrationName,
    /// Where deliveries go.
    pub endpoint_url: EndpointUrl,
    /// Which event types it receives.
    pub event_filter: EventFilter,
    /// Its signing secret, encrypted.
    pub signing_secret: EncryptedSecret,
    /// After how many consecutive failed deliveries it disables itself.
    pub disable_after_failures: FailureThreshold,
}

/// The integration now delivers to another endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointUpdated {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// The endpoint it delivered to.
    pub previous_endpoint_url: EndpointUrl,
    /// The endpoint it delivers to now.
    pub endpoint_url: EndpointUrl,
}

/// The integration's event type filter was replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFilterUpdated {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// The new filter.
    pub event_filter: EventFilter,
}

/// The signing secret was replaced; the previous one stays valid until `previous_valid_until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretRotated {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// The new signing secret, encrypted.
    pub signing_secret: EncryptedSecret,
    /// Until when the previous secret is still valid (deliveries carry both signatures).
    pub previous_valid_until: DateTime<Utc>,
}

/// The integration was enabled again; its failure count starts from zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationEnabled {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
}

/// The integration was disabled: nothing is delivered until it is enabled again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationDisabled {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// Why.
    pub reason: DisableReason,
}

/// A delivery attempt succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliverySucceeded {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// The event delivered.
    pub event_id: Uuid,
    /// Which try it was (1 for the first).
    pub attempt: u32,
    /// The receiver's 2xx answer.
    pub http_status: u16,
}

/// A delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFailed {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id.
    pub integration_id: Uuid,
    /// The event whose delivery failed.
    pub event_id: Uuid,
    /// Which try it was (1 for the first).
    pub attempt: u32,
    /// The receiver's answer, if there was one.
    pub http_status: Option<u16>,
    /// What went wrong, if known.
    pub error: Option<Note>,
    /// How many deliveries in a row have now failed, this one included.
    pub consecutive_failures: u32,
}

crate::domain_events! {
    /// Every fact of the integration aggregate.
    pub enum IntegrationEvent {
        /// See [`IntegrationRegistered`].
        Registered(IntegrationRegistered) = REGISTERED: "integration.registered" v 1 secret [signing_secret],
        /// See [`EndpointUpdated`].
        EndpointUpdated(EndpointUpdated) = ENDPOINT_UPDATED: "integration.endpoint_updated" v 1,
        /// See [`EventFilterUpdated`].
        EventFilterUpdated(EventFilterUpdated) = EVENT_FILTER_UPDATED: "integration.filter_updated" v 1,
        /// See [`SecretRotated`].
        SecretRotated(SecretRotated) = SECRET_ROTATED: "integration.secret_rotated" v 1 secret [signing_secret],
        /// See [`IntegrationEnabled`].
        Enabled(IntegrationEnabled) = ENABLED: "integration.enabled" v 1,
        /// See [`IntegrationDisabled`].
        Disabled(IntegrationDisabled) = DISABLED: "integration.disabled" v 1,
        /// See [`DeliverySucceeded`].
        DeliverySucceeded(DeliverySucceeded) = DELIVERY_SUCCEEDED: "integration.delivery_succeeded" v 1,
        /// See [`DeliveryFailed`].
        DeliveryFailed(DeliveryFailed) = DELIVERY_FAILED: "integration.delivery_failed" v 1,
    }
}

// Every payload is still at version 1: nothing to upcast yet.
impl Upcaster for IntegrationEvent {}
