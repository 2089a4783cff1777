//! The commands an integration decides on: one struct per intention, gathered in
//! [`IntegrationCommand`].
//!
//! Commands carry raw strings and numbers, so the API can deserialize a request body straight
//! into one; `decide` validates them and names the failing field. Unknown JSON fields are refused
//! rather than ignored. Ids and the encrypted secret come from the caller, never from the domain,
//! so that decisions stay deterministic: the domain never sees a secret in clear text.

use super::secret::EncryptedSecret;
use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Registers an integration, enabled at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterIntegration {
    /// The tenant the integration belongs to; must not be the platform (nil) id.
    pub tenant_id: TenantId,
    /// The integration's id (also its aggregate id); must not be nil.
    pub integration_id: Uuid,
    /// `webhook`, `slack_webhook` or `rest_connector`.
    pub kind: String,
    /// A human-readable name, 1-100 characters after trimming.
    pub name: String,
    /// Where deliveries go: `https`, or `http` to `localhost`, `127.0.0.0/8` or `[::1]`.
    pub endpoint_url: String,
    /// The event types to deliver: 1-50 patterns such as `tenant.*`, `*.created` or `*`.
    pub event_filter: Vec<String>,
    /// The signing secret, already encrypted by the caller.
    pub signing_secret: EncryptedSecret,
    /// After how many consecutive failed deliveries the integration disables itself, 1-1000;
    /// 10 when absent.
    #[serde(default)]
    pub disable_after_failures: Option<u32>,
}

/// Points the integration at another endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    /// The new endpoint URL (see [`RegisterIntegration::endpoint_url`]).
    pub endpoint_url: String,
}

/// Replaces the integration's event type filter as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEventFilter {
    /// The new patterns (see [`RegisterIntegration::event_filter`]).
    pub event_filter: Vec<String>,
}

/// Replaces the signing secret. The previous one stays valid for a grace period, so receivers
/// can switch without rejecting deliveries (deliveries are signed with both meanwhile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// The new signing secret, already encrypted by the caller.
    pub signing_secret: EncryptedSecret,
    /// How long the previous secret stays valid, 0-10080 minutes (7 days); a day when absent.
    /// 0 revokes it at once, for a secret that leaked.
    #[serde(default)]
    pub grace_period_minutes: Option<u32>,
}

/// Resumes deliveries of a disabled integration, with a clean failure count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableIntegration {}

/// Stops deliveries until the integration is enabled again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableIntegration {
    /// Why, for the audit trail, 1-500 characters after trimming.
    #[serde(default)]
    pub note: Option<String>,
}

/// Records that a delivery attempt succeeded. Resets the consecutive failure count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDeliverySucceeded {
    /// The id of the event delivered (the Standard Webhooks message id).
    pub event_id: Uuid,
    /// Which try this was: 1 for the first, at most 1000.
    pub attempt: u32,
    /// The receiver's answer, 2xx.
    pub http_status: u16,
}

/// Records that a delivery attempt failed. Once the integration's threshold of consecutive
/// failures is reached, it disables itself in the same decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDeliveryFailed {
    /// The id of the event whose delivery failed.
    pub event_id: Uuid,
    /// Which try this was: 1 for the first, at most 1000.
    pub attempt: u32,
    /// The receiver's answer (100-599, not 2xx); absent when there was none (timeout, refused
    /// connection, TLS error).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// What went wrong, e.g. `timed out after 15 s`, 1-500 characters after trimming.
    #[serde(default)]
    pub error: Option<String>,
}

/// Declares [`IntegrationCommand`] with one variant per command struct, a `From` impl for each,
/// and the variant's wire name.
macro_rules! integration_commands {
    ($($(#[$vmeta:meta])* $variant:ident($command:ident) = $name:literal),+ $(,)?) => {
        /// Every command of the integration aggregate. As JSON, the variant is named by a
        /// `command` field next to the command's own fields:
        /// `{"command": "update_endpoint", "endpoint_url": "https://..."}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "command", rename_all = "snake_case")]
        pub enum IntegrationCommand {
            $($(#[$vmeta])* $variant($command),)+
        }

        impl IntegrationCommand {
            /// The command's wire name (e.g. `rotate_secret`), for logs and metrics.
            pub fn name(&self) -> &'static str {
                match self { $(IntegrationCommand::$variant(_) => $name,)+ }
            }
        }

        $(
            impl From<$command> for IntegrationCommand {
                fn from(command: $command) -> Self {
                    IntegrationCommand::$variant(command)
                }
            }
        )+
    };
}

integration_commands! {
    /// See [`RegisterIntegration`].
    Register(RegisterIntegration) = "register",
    /// See [`UpdateEndpoint`].
    UpdateEndpoint(UpdateEndpoint) = "update_endpoint",
    /// See [`UpdateEventFilter`].
    UpdateEventFilter(UpdateEventFilter) = "update_event_filter",
    /// See [`RotateSecret`].
    RotateSecret(RotateSecret) = "rotate_secret",
    /// See [`EnableIntegration`].
    Enable(EnableIntegration) = "enable",
    /// See [`DisableIntegration`].
    Disable(DisableIntegration) = "disable",
    /// See [`RecordDeliverySucceeded`].
    RecordDeliverySucceeded(RecordDeliverySucceeded) = "record_delivery_succeeded",
    /// See [`RecordDeliveryFailed`].
    RecordDeliveryFailed(RecordDeliveryFailed) = "record_delivery_failed",
}
