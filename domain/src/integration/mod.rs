//! The integration aggregate: one outbound connection of a tenant (a Standard Webhooks
//! endpoint, a Slack-style incoming webhook or a generic REST connector) that receives the
//! tenant's events matching its filter.
//!
//! An integration belongs to one tenant and has a kind, a name, an endpoint URL (https, or http
//! to a loopback host), an event type filter with wildcards (`tenant.*`, `*`), and a signing
//! secret that the domain only ever holds encrypted ([`EncryptedSecret`]; the edge encrypts it
//! with AES-256-GCM, see `keel_commands::secrets`). Rotating the secret keeps the previous one
//! valid for a grace period stated in the event.
//!
//! Life cycle: `register` makes it enabled; `disable` and `enable` stop and resume deliveries.
//! Delivery outcomes are recorded as they happen; once the integration's threshold of
//! consecutive failures is reached, the failed outcome's decision also disables it, with the
//! reason in the `integration.disabled` event. A success resets the count. Outcomes of
//! deliveries still in flight are accepted while disabled (see `decide`).
//!
//! Layout:
//! - [`values`], [`filter`], [`secret`]: validated values.
//! - [`commands`]: [`IntegrationCommand`] and one struct per command, carrying raw input.
//! - [`events`]: [`IntegrationEvent`] and its payloads (`integration.<fact>`, version 1).
//! - [`state`]: the [`Integration`] state, how events fold into it, and `matches`.
//! - `decide`: the rules (`impl Aggregate for Integration`).
//! - [`error`]: [`IntegrationError`], a variant per rule.
#![deny(missing_docs)]

pub mod commands;
mod decide;
pub mod error;
pub mod events;
pub mod filter;
pub mod secret;
pub mod state;
pub mod values;

#[cfg(test)]
mod tests;

pub use commands::{
    DisableIntegration, EnableIntegration, IntegrationCommand, RecordDeliveryFailed,
    RecordDeliverySucceeded, RegisterIntegration, RotateSecret, UpdateEndpoint, UpdateEventFilter,
};
pub use error::IntegrationError;
pub use events::{
    DeliveryFailed, DeliverySucceeded, DisableReason, EndpointUpdated, EventFilterUpdated,
    IntegrationDisabled, IntegrationEnabled, IntegrationEvent, IntegrationRegistered,
    SecretRotated,
};
pub use filter::{EventFilter, EventPattern};
pub use secret::EncryptedSecret;
pub use state::{Integration, IntegrationStatus, PreviousSecret};
pub use values::{
    EndpointUrl, FailureThreshold, IntegrationKind, IntegrationName, InvalidValue, Note,
    DEFAULT_GRACE_MINUTES, MAX_ATTEMPT, MAX_GRACE_MINUTES,
};
