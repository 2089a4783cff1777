//! Validated values of the integration aggregate: its kind, name, endpoint URL, failure
//! threshold and the small numbers and texts of commands (grace period, attempt, HTTP status,
//! notes). The event type filter is in [`filter`](super::filter), the encrypted signing secret
//! in [`secret`](super::secret).
//!
//! Each value is built by `parse`, which checks a raw command input; `decide` attaches the
//! command field a failure came from. As for the tenant's values, deserialization does not
//! re-validate: stored events are facts checked when they were decided.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

pub use crate::value::InvalidValue;
pub(super) use crate::value::{parse_text, quoted};

/// What an integration talks to, which decides how the delivery worker shapes its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// A Standard Webhooks endpoint: signed JSON `POST`s of the matching events.
    #[default]
    Webhook,
    /// A Slack-style incoming webhook: a short text message per matching event.
    SlackWebhook,
    /// A generic REST connector: the events `POST`ed to a third-party API.
    RestConnector,
}

impl IntegrationKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [IntegrationKind] = &[
        IntegrationKind::Webhook,
        IntegrationKind::SlackWebhook,
        IntegrationKind::RestConnector,
    ];

    /// The stored and wire name: `webhook`, `slack_webhook` or `rest_connector`.
    pub fn as_str(&self) -> &'static str {
        match self {
            IntegrationKind::Webhook => "webhook",
            IntegrationKind::SlackWebhook => "slack_webhook",
            IntegrationKind::RestConnector => "rest_connector",
        }
    }

    /// Parses a wire name; the error lists the accepted ones.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == raw)
            .ok_or_else(|| {
                InvalidValue::new(format!(
                    "{} is not a known integration kind: use `webhook`, `slack_webhook` or \
                     `rest_connector`",
                    quoted(raw)
                ))
            })
    }
}

impl fmt::Display for IntegrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An integration's human-readable name (e.g. `Billing webhook`): trimmed, 1-100 characters,
/// one line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntegrationName(String);

impl IntegrationName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(IntegrationName)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where deliveries are sent: an absolute `https` URL, or `http` to a loopback host
/// (`localhost`, `127.0.0.0/8`, `[::1]`) for local development. Normalized (lowercase scheme and
/// host), at most 2048 characters, without credentials or a fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    /// The longest URL accepted, in bytes.
    pub const MAX_LEN: usize = 2048;

    /// Checks and normalizes an endpoint URL.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        let url = url::Url::parse(raw).map_err(|_| {
            InvalidValue::new(format!(
                "{} is not an absolute URL (expected e.g. `https://hooks.example.com/keel`)",
                quoted(raw)
            ))
        })?;
        let loopback = match url.host() {
            Some(url::Host::Domain(domain)) => domain == "localhost",
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => {
                return Err(InvalidValue::new(format!("{} has no host", quoted(raw))));
            }
        };
        match url.scheme() {
            "https" => {}
            // Plain http would expose payloads and signatures on the wire; only a receiver on
            // this very machine (a developer's tunnel or test server) is exempt.
            "http" if loopback => {}
            "http" => {
                return Err(InvalidValue::new(format!(
                    "{} must use https (plain http is allowed only for localhost, \
                     127.0.0.0/8 and [::1])",
                    quoted(raw)
                )))
            }
            _ => return Err(InvalidValue::new(format!("{} must use https", quoted(raw)))),
        }
        // Events are stored in clear text: a `user:password@` part would be a credential in them.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new(
                "must not contain a user name or password: the signing secret authenticates \
                 deliveries",
            ));
        }
        // A fragment is never sent to a server, so it can only be a mistake.
        if url.fragment().is_some() {
            return Err(InvalidValue::new(format!(
                "{} must not contain a `#fragment`",
                quoted(raw)
            )));
        }
        Ok(EndpointUrl(url.to_string()))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// After how many consecutive failed deliveries an integration disables itself: 1-1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FailureThreshold(u32);

impl FailureThreshold {
    /// The threshold when registration names none.
    pub const DEFAULT: FailureThreshold = FailureThreshold(10);
    /// The accepted range.
    pub const RANGE: std::ops::RangeInclusive<u32> = 1..=1000;

    /// Checks a threshold.
    pub fn parse(raw: u32) -> Result<Self, InvalidValue> {
        if Self::RANGE.contains(&raw) {
            Ok(FailureThreshold(raw))
        } else {
            Err(InvalidValue::new(format!(
                "must be between {} and {} (got {raw})",
                Self::RANGE.start(),
                Self::RANGE.end()
            )))
        }
    }

    /// The number of consecutive failures.
    pub fn get(&self) -> u32 {
        self.0
    }
}

impl Default for FailureThreshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The grace period of a rotation when the command names none: one day, in minutes.
pub const DEFAULT_GRACE_MINUTES: u32 = 24 * 60;

/// The longest grace period of a rotation: a week, in minutes.
pub const MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;

/// Checks how long a rotated-out signing secret stays valid, in minutes: 0 (at once, for a
/// leaked secret) to [`MAX_GRACE_MINUTES`]. Receivers need the overlap to switch secrets
/// without rejecting deliveries.
pub fn parse_grace_period(minutes: u32) -> Result<chrono::Duration, InvalidValue> {
    if minutes <= MAX_GRACE_MINUTES {
        Ok(chrono::Duration::minutes(i64::from(minutes)))
    } else {
        Err(InvalidValue::new(format!(
            "must be at most {MAX_GRACE_MINUTES} minutes (7 days; got {minutes})"
        )))
    }
}

/// Checks a delivery attempt number: 1 for the first try, at most [`MAX_ATTEMPT`].
pub fn parse_attempt(raw: u32) -> Result<u32, InvalidValue> {
    if (1..=MAX_ATTEMPT).contains(&raw) {
        Ok(raw)
    } else {
        Err(InvalidValue::new(format!(
            "must be between 1 (the first try) and {MAX_ATTEMPT} (got {raw})"
        )))
    }
}

/// The highest attempt number accepted: far above any retry schedule, low enough to catch a
/// counter gone wrong.
pub const MAX_ATTEMPT: u32 = 1000;

/// Checks the HTTP status of a successful delivery: 2xx.
pub fn parse_success_status(raw: u16) -> Result<u16, InvalidValue> {
    if (200..=299).contains(&raw) {
        Ok(raw)
    } else {
        Err(InvalidValue::new(format!(
            "must be a 2xx status for a successful delivery (got {raw})"
        )))
    }
}

/// Checks the HTTP status of a failed delivery: 100-599 but not 2xx, which is a success.
pub fn parse_failure_status(raw: u16) -> Result<u16, InvalidValue> {
    if (200..=299).contains(&raw) {
        Err(InvalidValue::new(format!(
            "{raw} is a success: record it as a successful delivery"
        )))
    } else if (100..=599).contains(&raw) {
        Ok(raw)
    } else {
        Err(InvalidValue::new(format!(
            "must be an HTTP status between 100 and 599 (got {raw})"
        )))
    }
}

/// A short explanation (why an integration was disabled, why a delivery failed, e.g.
/// `timed out after 15 s`): trimmed, 1-500 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    /// The longest note accepted, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Trims and checks a note.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(Note)
    }

    /// The note as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
