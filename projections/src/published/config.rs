//! What the relay publishes to: the NATS server, the JetStream stream and how messages look.
//!
//! Validation lives here, next to the NATS naming rules it enforces, so the server's settings
//! and the tests build the same checked [`RelayConfig`].

use std::time::Duration;

/// How a message body carries the event's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// The stored MessagePack bytes, unchanged (`application/msgpack`).
    MessagePack,
    /// The payload's JSON view (`application/json`).
    Json,
}

impl BodyFormat {
    /// Parses `msgpack` or `json`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "msgpack" => Ok(BodyFormat::MessagePack),
            "json" => Ok(BodyFormat::Json),
            other => Err(format!(
                "`{other}` is not a body format: use msgpack or json"
            )),
        }
    }

    /// The CloudEvents `datacontenttype` (the NATS `Content-Type` header).
    pub fn content_type(self) -> &'static str {
        match self {
            BodyFormat::MessagePack => "application/msgpack",
            BodyFormat::Json => "application/json",
        }
    }
}

/// When JetStream may drop stored messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Kept until a limit (age) is reached; any number of consumers may read them.
    Limits,
    /// Kept while some consumer has not acknowledged them.
    Interest,
    /// Removed once one consumer acknowledges them.
    WorkQueue,
}

impl Retention {
    /// Parses `limits`, `interest` or `workqueue`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "limits" => Ok(Retention::Limits),
            "interest" => Ok(Retention::Interest),
            "workqueue" => Ok(Retention::WorkQueue),
            other => Err(format!(
                "`{other}` is not a retention policy: use limits, interest or workqueue"
            )),
        }
    }
}

/// A setting of the relay that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct InvalidRelaySetting {
    /// The setting's name, as the server's configuration spells it.
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Everything the relay needs to know about NATS.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    /// `nats://host:port`.
    pub url: String,
    /// The JetStream stream Keel creates or updates and publishes into.
    pub stream: String,
    /// Subjects are `<prefix>.<tenant_id>.<aggregate>.<fact>`.
    pub subject_prefix: String,
    /// JetStream's de-duplication window (`Nats-Msg-Id` = event id).
    pub duplicate_window: Duration,
    /// Stream replicas (1 for a single server, 3 or 5 in a cluster).
    pub replicas: usize,
    /// When JetStream may drop messages.
    pub retention: Retention,
    /// How long messages are kept under `limits` retention; zero keeps them for ever.
    pub max_age: Duration,
    /// Body encoding.
    pub format: BodyFormat,
    /// Events read from the log and published per batch (acks are awaited per batch).
    pub batch: usize,
}

impl RelayConfig {
    /// The defaults for a server at `url`: stream `KEEL_EVENTS`, prefix `keel.events`, a
    /// two-minute duplicate window, one replica, limits retention kept for ever, MessagePack.
    pub fn new(url: impl Into<String>) -> Self {
        RelayConfig {
            url: url.into(),
            stream: "KEEL_EVENTS".into(),
            subject_prefix: "keel.events".into(),
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
            retention: Retention::Limits,
            max_age: Duration::ZERO,
            format: BodyFormat::MessagePack,
            batch: 1000,
        }
    }

    /// Checks every rule NATS and the relay impose on the values.
    pub fn validate(&self) -> Result<(), InvalidRelaySetting> {
        let invalid = |setting, reason: &str| {
            Err(InvalidRelaySetting {
                setting,
                reason: reason.to_owned(),
            })
        };
        if !(self.url.starts_with("nats://") || self.url.starts_with("tls://")) {
            return invalid("nats_url", "use nats://host:port");
        }
        if self.stream.is_empty()
            || !self
                .stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return invalid(
                "nats_stream",
                "a JetStream stream name: letters, digits, '_' and '-' only",
            );
        }
        let tokens_ok = !self.subject_prefix.is_empty()
            && self.subject_prefix.split('.').all(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_graphic() && c != '*' && c != '>')
            });
        if !tokens_ok {
            return invalid(
                "nats_subject_prefix",
                "dot-separated non-empty tokens without spaces or wildcards, e.g. keel.events",
            );
        }
        if self.duplicate_window < Duration::from_secs(1) {
            return invalid("nats_duplicate_window_secs", "must be at least 1");
        }
        if !matches!(self.replicas, 1..=5) {
            return invalid("nats_replicas", "must be between 1 and 5");
        }
        if !self.max_age.is_zero() && self.max_age < self.duplicate_window {
            return invalid(
                "nats_max_age_secs",
                "must be 0 (for ever) or at least the duplicate window",
            );
        }
        if !(1..=100_000).contains(&self.batch) {
            return invalid("nats_batch", "must be between 1 and 100000");
        }
        Ok(())
    }

    /// The subjects the stream captures: everything under the prefix.
    pub fn stream_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RelayConfig::new("nats://127.0.0.1:4222").validate(), Ok(()));
    }

    #[test]
    fn each_rule_names_its_setting() {
        let base = RelayConfig::new("nats://127.0.0.1:4222");
        type Change = fn(&mut RelayConfig);
        let cases: Vec<(&str, Change)> = vec![
            ("nats_url", |c| c.url = "http://x".into()),
            ("nats_stream", |c| c.stream = "keel.events".into()),
            ("nats_subject_prefix", |c| {
                c.subject_prefix = "keel.*".into()
            }),
            ("nats_subject_prefix", |c| {
                c.subject_prefix = "keel..x".into()
            }),
            ("nats_duplicate_window_secs", |c| {
                c.duplicate_window = Duration::ZERO
            }),
            ("nats_replicas", |c| c.replicas = 0),
            ("nats_max_age_secs", |c| c.max_age = Duration::from_secs(1)),
            ("nats_batch", |c| c.batch = 0),
        ];
        for (setting, change) in cases {
            let mut config = base.clone();
            change(&mut config);
            assert_eq!(config.validate().unwrap_err().setting, setting);
        }
    }

    #[test]
    fn formats_and_retentions_parse_or_explain() {
        assert_eq!(BodyFormat::parse("json"), Ok(BodyFormat::Json));
        assert!(BodyFormat::parse("xml")
            .unwrap_err()
            .contains("msgpack or json"));
        assert_eq!(Retention::parse("workqueue"), Ok(Retention::WorkQueue));
        assert!(Retention::parse("forever").is_err());
    }
}
