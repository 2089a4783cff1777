//! The integration's state, folded from its events.
//!
//! It is what `decide` needs to enforce the rules and what the delivery worker needs to know
//! where to send what, signed with which secrets. It is also stored as a snapshot, so it is
//! serializable and its shape is versioned by
//! [`Integration::SNAPSHOT_VERSION`](crate::Aggregate::SNAPSHOT_VERSION). Fields are private so
//! that the only way to change a state is to apply an event.

use super::events::{DisableReason, IntegrationEvent};
use super::filter::EventFilter;
use super::secret::EncryptedSecret;
use super::values::{EndpointUrl, FailureThreshold, IntegrationKind, IntegrationName};
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where an integration is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Not registered yet: the state of an empty stream. Only registration is accepted.
    #[default]
    NotRegistered,
    /// Receiving deliveries.
    Enabled,
    /// Receiving nothing until enabled again (see [`Integration::disabled_reason`]).
    Disabled,
}

impl IntegrationStatus {
    /// The wire name (`not_registered`, `enabled`, `disabled`).
    pub fn as_str(&self) -> &'static str {
        match self {
            IntegrationStatus::NotRegistered => "not_registered",
            IntegrationStatus::Enabled => "enabled",
            IntegrationStatus::Disabled => "disabled",
        }
    }
}

/// A signing secret that was rotated out and stays valid for a grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// The secret, encrypted.
    pub secret: EncryptedSecret,
    /// Until when it is still valid.
    pub valid_until: DateTime<Utc>,
}

/// The integration aggregate's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub(super) tenant_id: TenantId,
    pub(super) id: Uuid,
    pub(super) status: IntegrationStatus,
    pub(super) kind: IntegrationKind,
    pub(super) name: IntegrationName,
    pub(super) endpoint_url: EndpointUrl,
    pub(super) event_filter: EventFilter,
    pub(super) signing_secret: EncryptedSecret,
    pub(super) previous_secret: Option<PreviousSecret>,
    pub(super) disable_after_failures: FailureThreshold,
    pub(super) consecutive_failures: u32,
    pub(super) disabled_reason: Option<DisableReason>,
    pub(super) deliveries_succeeded: u64,
    pub(super) deliveries_failed: u64,
}

impl Integration {
    /// Whether the integration has been registered (in any status since).
    pub fn exists(&self) -> bool {
        self.status != IntegrationStatus::NotRegistered
    }

    /// The tenant it belongs to (the platform id before registration).
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Its id (nil before registration).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Where it is in its life.
    pub fn status(&self) -> IntegrationStatus {
        self.status
    }

    /// Whether it receives deliveries.
    pub fn is_enabled(&self) -> bool {
        self.status == IntegrationStatus::Enabled
    }

    /// What it talks to.
    pub fn kind(&self) -> IntegrationKind {
        self.kind
    }

    /// Its name.
    pub fn name(&self) -> &IntegrationName {
        &self.name
    }

    /// Where deliveries go.
    pub fn endpoint_url(&self) -> &EndpointUrl {
        &self.endpoint_url
    }

    /// Which event types it receives.
    pub fn event_filter(&self) -> &EventFilter {
        &self.event_filter
    }

    /// Whether an event type matches the integration's filter, whatever its status (see
    /// [`Integration::should_deliver`] for the worker's question).
    pub fn matches(&self, event_type: &str) -> bool {
        self.event_filter.matches(event_type)
    }

    /// Whether an event of this type is to be delivered now: the integration is enabled and its
    /// filter matches.
    pub fn should_deliver(&self, event_type: &str) -> bool {
        self.is_enabled() && self.matches(event_type)
    }

    /// The current signing secret, encrypted.
    pub fn signing_secret(&self) -> &EncryptedSecret {
        &self.signing_secret
    }

    /// The last rotated-out secret and until when it was (or is) valid, if there was one.
    pub fn previous_secret(&self) -> Option<&PreviousSecret> {
        self.previous_secret.as_ref()
    }

    /// The secrets to sign a delivery with at `now`: the current one, then the previous one
    /// while its grace period lasts (Standard Webhooks sends one signature per secret).
    pub fn signing_secrets_at(&self, now: DateTime<Utc>) -> Vec<&EncryptedSecret> {
        let mut secrets = vec![&self.signing_secret];
        if let Some(previous) = &self.previous_secret {
            if now < previous.valid_until {
                secrets.push(&previous.secret);
            }
        }
        secrets
    }

    /// After how many consecutive failed deliveries it disables itself.
    pub fn disable_after_failures(&self) -> FailureThreshold {
        self.disable_after_failures
    }

    /// How many deliveries in a row have failed since the last success or enabling.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Why it is disabled, while it is.
    pub fn disabled_reason(&self) -> Option<&DisableReason> {
        self.disabled_reason.as_ref()
    }

    /// How many delivery attempts succeeded, ever.
    pub fn deliveries_succeeded(&self) -> u64 {
        self.deliveries_succeeded
    }

    /// How many delivery attempts failed, ever.
    pub fn deliveries_failed(&self) -> u64 {
        self.deliveries_failed
    }

    /// Folds one event into the state. Total: it never fails, whatever the event.
    pub(super) fn fold(&mut self, event: &IntegrationEvent) {
        match event {
            IntegrationEvent::Registered(e) => {
                self.tenant_id = e.tenant_id;
                self.id = e.integration_id;
                self.status = IntegrationStatus::Enabled;
                self.kind = e.kind;
                self.name = e.name.clone();
                self.endpoint_url = e.endpoint_url.clone();
                self.event_filter = e.event_filter.clone();
                self.signing_secret = e.signing_secret.clone();
                self.disable_after_failures = e.disable_after_failures;
            }
            IntegrationEvent::EndpointUpdated(e) => self.endpoint_url = e.endpoint_url.clone(),
            IntegrationEvent::EventFilterUpdated(e) => self.event_filter = e.event_filter.clone(),
            IntegrationEvent::SecretRotated(e) => {
                // Only one previous secret is kept: rotating again during a grace period ends
                // the older secret's validity at once.
                let previous =
                    std::mem::replace(&mut self.signing_secret, e.signing_secret.clone());
                self.previous_secret = Some(PreviousSecret {
                    secret: previous,
                    valid_until: e.previous_valid_until,
                });
            }
            IntegrationEvent::Enabled(_) => {
                self.status = IntegrationStatus::Enabled;
                self.disabled_reason = None;
                // A fresh start: otherwise the first failure after enabling would disable again.
                self.consecutive_failures = 0;
            }
            IntegrationEvent::Disabled(e) => {
                self.status = IntegrationStatus::Disabled;
                self.disabled_reason = Some(e.reason.clone());
            }
            IntegrationEvent::DeliverySucceeded(_) => {
                self.consecutive_failures = 0;
                self.deliveries_succeeded = self.deliveries_succeeded.saturating_add(1);
            }
            IntegrationEvent::DeliveryFailed(e) => {
                // The count decided on is recorded in the event, so the fold just takes it.
                self.consecutive_failures = e.consecutive_failures;
                self.deliveries_failed = self.deliveries_failed.saturating_add(1);
            }
        }
    }
}
