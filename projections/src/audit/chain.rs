//! The hash chain: what a record's hash covers.
//!
//! `hash = SHA-256(prev_hash, tenant, seq, position, event id, time, actor, action, entity,
//! before, after, correlation, causation, source ip)`, every field length-prefixed (and
//! absent fields marked) so no two different records hash the same input. The first record's
//! previous hash is [`GENESIS`].

use sha2::{Digest, Sha256};

/// The previous hash of a chain's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A record's fields as stored, in hashing order.
#[derive(Debug, Clone, Copy)]
pub struct Hashed<'a> {
    /// The previous record's hash.
    pub prev_hash: &'a str,
    /// The tenant.
    pub tenant_id: &'a str,
    /// Number in the tenant's chain (from 1).
    pub seq: i64,
    /// The event's global position.
    pub position: i64,
    /// The event's id.
    pub event_id: &'a str,
    /// When it happened (microseconds).
    pub occurred_at: i64,
    /// `api_key`, `user` or `system`.
    pub actor_kind: &'a str,
    /// The actor's id.
    pub actor_id: &'a str,
    /// The event type.
    pub action: &'a str,
    /// Entity type.
    pub entity_type: &'a str,
    /// Entity id.
    pub entity_id: &'a str,
    /// Values before, as JSON text.
    pub before: Option<&'a str>,
    /// Values after, as JSON text.
    pub after: Option<&'a str>,
    /// Correlation id.
    pub correlation_id: &'a str,
    /// Causation id.
    pub causation_id: Option<&'a str>,
    /// Source IP.
    pub source_ip: Option<&'a str>,
}

impl Hashed<'_> {
    /// The record's hash, hex.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut text = |value: Option<&str>| match value {
            None => hasher.update([0u8]),
            Some(v) => {
                hasher.update([1u8]);
                hasher.update((v.len() as u64).to_be_bytes());
                hasher.update(v.as_bytes());
            }
        };
        let seq = self.seq.to_string();
        let position = self.position.to_string();
        let occurred_at = self.occurred_at.to_string();
        for value in [
            Some(self.prev_hash),
            Some(self.tenant_id),
            Some(&seq),
            Some(&position),
            Some(self.event_id),
            Some(&occurred_at),
            Some(self.actor_kind),
            Some(self.actor_id),
            Some(self.action),
            Some(self.entity_type),
            Some(self.entity_id),
            self.before,
            self.after,
            Some(self.correlation_id),
            self.causation_id,
            self.source_ip,
        ] {
            text(value);
        }
        hex::encode(hasher.finalize())
    }
}
