//! An audit record as stored and as shown.

use super::chain::Hashed;
use crate::db::from_micros;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The columns of `audit_records`, in order.
pub const COLUMNS: &str = "tenant_id, seq, position, event_id, occurred_at, actor_kind, actor_id, \
    action, entity_type, entity_id, before_json, after_json, correlation_id, causation_id, \
    source_ip, prev_hash, hash";

/// A stored row of `audit_records`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
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
    pub before_json: Option<String>,
    /// JSON text.
    pub after_json: Option<String>,
    /// Correlation id.
    pub correlation_id: String,
    /// Causation id.
    pub causation_id: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
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
            before: self.before_json.as_deref(),
            after: self.after_json.as_deref(),
            correlation_id: &self.correlation_id,
            causation_id: self.causation_id.as_deref(),
            source_ip: self.source_ip.as_deref(),
        }
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
