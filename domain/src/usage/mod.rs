//! Usage: metered quantities a tenant consumed, and the quota thresholds it crossed.
//!
//! Usage samples are facts reported by the platform's services (or counted by the API) and
//! appended as they come; there is no aggregate deciding on them, only validation
//! ([`UsageRecorded::new`]). Each sample carries the caller's idempotency key: the write side
//! derives the event id from it, so a repeated key is stored once. Threshold events are raised
//! by the usage read model when a tenant's usage crosses 80% and 100% of a quota in a billing
//! month, once per period.

pub mod meters;

use crate::event::Upcaster;
use crate::shared::MeterName;
use crate::value::InvalidValue;
use crate::{domain_events, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 200;
/// Most properties on one sample.
pub const MAX_PROPERTIES: usize = 20;

/// A quantity of a meter was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecorded {
    /// The meter.
    pub meter: MeterName,
    /// How much (count, bytes, ...), in the meter's unit.
    pub quantity: u64,
    /// When it was used (the reporter's clock).
    pub timestamp: DateTime<Utc>,
    /// The reporter's key for this sample: a repeat is the same sample.
    pub idempotency_key: String,
    /// Extra dimensions (a unique-count meter counts distinct values of one of them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// Why a usage sample is refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidUsage {
    /// `meter`, `idempotency_key`, `timestamp` or `properties`.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl UsageRecorded {
    /// Checks a sample: a valid meter name, a key of 1-200 characters, a time not more than
    /// five minutes ahead of `now`, at most 20 properties of at most 200 characters.
    pub fn new(
        meter: &str,
        quantity: u64,
        timestamp: DateTime<Utc>,
        idempotency_key: &str,
        properties: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidUsage> {
        let invalid = |field, reason: String| InvalidUsage { field, reason };
        let meter =
            MeterName::parse(meter).map_err(|e: InvalidValue| invalid("meter", e.to_string()))?;
        if idempotency_key.is_empty() || idempotency_key.chars().count() > MAX_KEY_LEN {
            return Err(invalid(
                "idempotency_key",
                format!("must be 1-{MAX_KEY_LEN} characters"),
            ));
        }
        if timestamp > now + chrono::Duration::minutes(5) {
            return Err(invalid("timestamp", "must not be in the future".into()));
        }
        if properties.len() > MAX_PROPERTIES
            || properties
                .iter()
                .any(|(k, v)| k.is_empty() || k.len() > 200 || v.len() > 200)
        {
            return Err(invalid(
                "properties",
                format!("at most {MAX_PROPERTIES}, keys 1-200 and values up to 200 characters"),
            ));
        }
        Ok(UsageRecorded {
            meter,
            quantity,
            timestamp,
            idempotency_key: idempotency_key.to_owned(),
            properties,
        })
    }
}

impl UsageRecorded {
    /// A sample a client reports: [`UsageRecorded::new`]'s checks, and the meter must be one
    /// clients may report ([`meters::Meter::ingestible`]); the others are Keel's own.
    pub fn reported(
        meter: &str,
        quantity: u64,
        timestamp: DateTime<Utc>,
        idempotency_key: &str,
        properties: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidUsage> {
        if !meters::meter(meter).is_some_and(|m| m.ingestible) {
            return Err(InvalidUsage {
                field: "meter",
                reason: format!("`{meter}` is not a meter that can be reported"),
            });
        }
        UsageRecorded::new(meter, quantity, timestamp, idempotency_key, properties, now)
    }

    /// The meter the API counts its calls in, with the count of an interval.
    pub fn api_calls(calls: u64, at: DateTime<Utc>, idempotency_key: String) -> Self {
        UsageRecorded {
            meter: MeterName::parse(meters::API_CALLS).expect("a valid meter name"),
            quantity: calls,
            timestamp: at,
            idempotency_key,
            properties: BTreeMap::new(),
        }
    }
}

/// What makes a sample's event id: its tenant and idempotency key, so a repeated key is the
/// same event and the store keeps it once (`keel_commands::facts::derived_id` hashes it).
pub fn sample_cause(tenant: TenantId, idempotency_key: &str) -> String {
    format!("keel usage/{tenant}/{idempotency_key}")
}

/// A tenant's usage of a meter reached `percent` of its quota in a billing month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaThresholdCrossed {
    /// The meter.
    pub meter: MeterName,
    /// The billing month, `YYYY-MM`.
    pub period: String,
    /// 80 or 100.
    pub percent: u8,
    /// The quota in force.
    pub limit: u64,
    /// Usage when it was crossed.
    pub used: u64,
}

domain_events! {
    /// Usage events, on the stream `usage-<tenant id>`.
    pub enum UsageEvent {
        /// A usage sample.
        Recorded(UsageRecorded) = RECORDED: "usage.recorded" v 1,
        /// A quota threshold was crossed.
        QuotaThresholdCrossed(QuotaThresholdCrossed) = QUOTA_THRESHOLD_CROSSED: "usage.quota_threshold_crossed" v 1,
    }
}

impl Upcaster for UsageEvent {}

/// The stream a tenant's usage events are appended to.
pub fn usage_stream(tenant: TenantId) -> String {
    format!("usage-{tenant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_samples_are_checked_field_by_field() {
        let now = Utc::now();
        let ok = UsageRecorded::new("storage_bytes", 5, now, "k1", BTreeMap::new(), now);
        assert!(ok.is_ok());
        let bad_meter = UsageRecorded::new("Bad Meter", 5, now, "k1", BTreeMap::new(), now);
        assert_eq!(bad_meter.unwrap_err().field, "meter");
        let no_key = UsageRecorded::new("storage_bytes", 5, now, "", BTreeMap::new(), now);
        assert_eq!(no_key.unwrap_err().field, "idempotency_key");
        let future = now + chrono::Duration::hours(1);
        let late = UsageRecorded::new("storage_bytes", 5, future, "k", BTreeMap::new(), now);
        assert_eq!(late.unwrap_err().field, "timestamp");
    }

    #[test]
    fn clients_report_only_the_meters_keel_does_not_count_itself() {
        let now = Utc::now();
        let report = |meter| UsageRecorded::reported(meter, 1, now, "k", BTreeMap::new(), now);
        assert!(report("compute_seconds").is_ok());
        for own in [
            "api_calls",
            "seats",
            "workflow_runs",
            "webhook_deliveries",
            "undeclared",
        ] {
            let refused = report(own).unwrap_err();
            assert_eq!(refused.field, "meter", "{own}");
        }
    }
}
