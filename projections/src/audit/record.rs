//! An audit record as stored, as the API shows it, and as exports carry it (every hashed
//! field exactly as hashed).

use super::chain::{commitment, Hashed, AFTER, BEFORE, SOURCE_IP};
use crate::db::from_micros;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The columns of `audit_records`, in order.
pub const COLUMNS: &str = "tenant_id, seq, position, event_id, occurred_at, actor_kind, actor_id, \
    action, entity_type, entity_id, before_json, after_json, correlation_id, causation_id, \
    source_ip, salt, before_digest, after_digest, source_ip_digest, prev_hash, hash";

/// A stored row of `audit_records`; in exports under the names docs/AUDIT.md gives.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
pub struct AuditRow {
    /// Tenant id.
    pub tenant_id: String,
    /// Number in the tenant's chain.
    pub seq: i64,
    /// Global position of the event.
    pub position: i64,
    /// Event id.
    pub event_id: String,
    /// Microseconds since the epoch.
    #[serde(rename = "occurred_at_us")]
    pub occurred_at: i64,
    /// Actor kind.
    pub actor_kind: String,
    /// Actor id.
    pub actor_id: String,
    /// Event type.
    pub action: String,
    /// Entity type.
    pub entity_type: String,
    /// Entity id.
    pub entity_id: String,
    /// JSON text.
    #[serde(rename = "before")]
    pub before_json: Option<String>,
    /// JSON text.
    #[serde(rename = "after")]
    pub after_json: Option<String>,
    /// Correlation id.
    pub correlation_id: String,
    /// Causation id.
    pub causation_id: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// The record's salt (32 hex digits) of the commitments to its personal values.
    pub salt: Option<String>,
    /// Commitment to `before_json`.
    pub before_digest: Option<String>,
    /// Commitment to `after_json`.
    pub after_digest: Option<String>,
    /// Commitment to `source_ip`.
    pub source_ip_digest: Option<String>,
    /// Previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

impl AuditRow {
    /// The fields the hash covers.
    pub fn hashed(&self) -> Hashed<'_> {
        Hashed {
            prev_hash: &self.prev_hash,
            tenant_id: &self.tenant_id,
            seq: self.seq,
            position: self.position,
            event_id: &self.event_id,
            occurred_at: self.occurred_at,
            actor_kind: &self.actor_kind,
            actor_id: &self.actor_id,
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: &self.entity_id,
            before_digest: self.before_digest.as_deref(),
            after_digest: self.after_digest.as_deref(),
            correlation_id: &self.correlation_id,
            causation_id: self.causation_id.as_deref(),
            source_ip_digest: self.source_ip_digest.as_deref(),
        }
    }

    /// Why the commitments do not match the values they commit to, if they do not. A value
    /// erased together with its salt is not checked: its commitment stands for it.
    pub fn commitment_mismatch(&self) -> Option<&'static str> {
        let Some(salt) = &self.salt else {
            return None;
        };
        [
            (BEFORE, &self.before_json, &self.before_digest),
            (AFTER, &self.after_json, &self.after_digest),
            (SOURCE_IP, &self.source_ip, &self.source_ip_digest),
        ]
        .into_iter()
        .find(|(field, value, digest)| {
            value.is_some() && commitment(field, salt, value.as_deref()) != **digest
        })
        .map(|(field, _, _)| field)
    }
}

/// An audit record as the API, exports and reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// The tenant.
    pub tenant_id: String,
    /// Number in the tenant's chain (from 1); also the cursor.
    pub seq: u64,
    /// The event's global position.
    pub position: u64,
    /// The event's id.
    pub event_id: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// `api_key`, `user` or `system`.
    pub actor_kind: String,
    /// The actor's id (an API key id, a user id, a component name).
    pub actor_id: String,
    /// What was done: the event type (`tenant.settings_updated`).
    pub action: String,
    /// What it was done to: `tenant`, `member`, `api_key`, `domain`, `policy`, ...
    pub entity_type: String,
    /// Its id.
    pub entity_id: String,
    /// The previous values of the fields that changed (absent for a new entity).
    pub before: Option<serde_json::Value>,
    /// The values after (secrets as `null`).
    pub after: Option<serde_json::Value>,
    /// The request's correlation id.
    pub correlation_id: String,
    /// The causing event or command, if known.
    pub causation_id: Option<String>,
    /// The client's IP, for events an HTTP request caused.
    pub source_ip: Option<String>,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// A record as exports carry it: the stored row, whose fields are exactly those the hash
/// covers as hashed (the time as `occurred_at_us`, before and after as the exact JSON text),
/// the values the commitments cover with the record's salt, and the time again in RFC 3339
/// for people (not hashed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedRecord {
    /// When it happened, RFC 3339.
    pub occurred_at: String,
    /// The record as stored and hashed.
    #[serde(flatten)]
    pub row: AuditRow,
}

impl From<AuditRow> for ExportedRecord {
    fn from(row: AuditRow) -> Self {
        ExportedRecord {
            occurred_at: from_micros(row.occurred_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            row,
        }
    }
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        AuditRecord {
            tenant_id: row.tenant_id,
            seq: row.seq as u64,
            position: row.position as u64,
            event_id: row.event_id,
            occurred_at: from_micros(row.occurred_at),
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            before: json(row.before_json),
            after: json(row.after_json),
            correlation_id: row.correlation_id,
            causation_id: row.causation_id,
            source_ip: row.source_ip,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}
