//! The hash chain: the exact bytes a record's hash, a personal value's commitment and a
//! checkpoint's signature cover. docs/AUDIT.md specifies the same encoding for auditors, who
//! re-verify exports with a script of their own; the unit tests below pin its worked example.
//!
//! Every field is encoded as `0x00` when absent, else `0x01`, its UTF-8 length as an unsigned
//! 64-bit big-endian integer, and its UTF-8 bytes, so no two different field lists encode the
//! same. Integers (chain number, position, time in microseconds) are their decimal text.
//!
//! Personal values (before and after values, the source IP) enter the record's hash only as
//! commitments: `SHA-256(field name, salt, value)` with a random salt per record. Erasing a
//! value and its salt later leaves the commitment, so the chain still verifies while the value
//! can no longer be recovered or guessed from it.

use sha2::{Digest, Sha256};

/// The previous hash of a chain's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The first field of every record's hash input: the encoding's version.
pub const RECORD_DOMAIN: &str = "keel-audit-record-v2";

/// The first field of every signed checkpoint message.
pub const CHECKPOINT_DOMAIN: &str = "keel-audit-checkpoint-v1";

/// The personal fields committed to by salted digests, by their names in the hash input.
pub const BEFORE: &str = "before";
/// See [`BEFORE`].
pub const AFTER: &str = "after";
/// See [`BEFORE`].
pub const SOURCE_IP: &str = "source_ip";

/// SHA-256 over fields encoded as the module doc says.
#[derive(Default)]
struct Encoder(Sha256);

impl Encoder {
    fn field(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            None => self.0.update([0u8]),
            Some(v) => {
                self.0.update([1u8]);
                self.0.update((v.len() as u64).to_be_bytes());
                self.0.update(v.as_bytes());
            }
        }
        self
    }

    fn text(&mut self, value: &str) -> &mut Self {
        self.field(Some(value))
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.text(&value.to_string())
    }

    fn hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The commitment to a personal value: hex `SHA-256(field, salt, value)`; `None` for an
/// absent value.
pub fn commitment(field: &str, salt: &str, value: Option<&str>) -> Option<String> {
    let value = value?;
    let mut encoder = Encoder::default();
    encoder.text(field).text(salt).text(value);
    Some(encoder.hex())
}

/// A record's fields as hashed, in hashing order.
#[derive(Debug, Clone, Copy)]
pub struct Hashed<'a> {
    /// The previous record's hash ([`GENESIS`] for the first).
    pub prev_hash: &'a str,
    /// The tenant.
    pub tenant_id: &'a str,
    /// Number in the tenant's chain (from 1).
    pub seq: i64,
    /// The event's global position.
    pub position: i64,
    /// The event's id.
    pub event_id: &'a str,
    /// When it happened (microseconds since the Unix epoch).
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
    /// Commitment to the values before (absent for a new entity).
    pub before_digest: Option<&'a str>,
    /// Commitment to the values after.
    pub after_digest: Option<&'a str>,
    /// Correlation id.
    pub correlation_id: &'a str,
    /// Causation id.
    pub causation_id: Option<&'a str>,
    /// Commitment to the source IP (absent when the event had none).
    pub source_ip_digest: Option<&'a str>,
}

impl Hashed<'_> {
    /// The record's hash, hex.
    pub fn hash(&self) -> String {
        let mut encoder = Encoder::default();
        encoder
            .text(RECORD_DOMAIN)
            .text(self.prev_hash)
            .text(self.tenant_id)
            .int(self.seq)
            .int(self.position)
            .text(self.event_id)
            .int(self.occurred_at)
            .text(self.actor_kind)
            .text(self.actor_id)
            .text(self.action)
            .text(self.entity_type)
            .text(self.entity_id)
            .field(self.before_digest)
            .field(self.after_digest)
            .text(self.correlation_id)
            .field(self.causation_id)
            .field(self.source_ip_digest);
        encoder.hex()
    }
}

/// The bytes a checkpoint's Ed25519 signature covers: the encoded fields
/// ([`CHECKPOINT_DOMAIN`], tenant, chain number, position, hash), unhashed.
pub fn checkpoint_message(tenant_id: &str, seq: i64, position: i64, hash: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for value in [
        CHECKPOINT_DOMAIN,
        tenant_id,
        &seq.to_string(),
        &position.to_string(),
        hash,
    ] {
        out.push(1u8);
        out.extend_from_slice(&(value.len() as u64).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/AUDIT.md: if this changes, the document must change too.
    #[test]
    fn the_documented_example_hashes_as_documented() {
        let salt = "000102030405060708090a0b0c0d0e0f";
        let after = commitment(AFTER, salt, Some(r#"{"name":"Acme"}"#)).unwrap();
        let ip = commitment(SOURCE_IP, salt, Some("203.0.113.7")).unwrap();
        let record = Hashed {
            prev_hash: GENESIS,
            tenant_id: "0190f5c2-0000-7000-8000-000000000001",
            seq: 1,
            position: 7,
            event_id: "0190f5c2-0000-7000-8000-000000000002",
            occurred_at: 1_765_108_800_000_000,
            actor_kind: "api_key",
            actor_id: "key_admin",
            action: "tenant.created",
            entity_type: "tenant",
            entity_id: "0190f5c2-0000-7000-8000-000000000001",
            before_digest: None,
            after_digest: Some(&after),
            correlation_id: "0190f5c2-0000-7000-8000-000000000003",
            causation_id: None,
            source_ip_digest: Some(&ip),
        };
        assert_eq!(
            after,
            "c3fcd2b5a797aa02d09d01d5d9f880634ccc2759e6eeed6b8eaa77393668f7e2"
        );
        assert_eq!(
            ip,
            "6dc6d5a1d211ed6a6e3e34e91e5f3f1a486d90a634cd4b7f9c31ba54c50e43fa"
        );
        assert_eq!(
            record.hash(),
            "89bb301a492da2cd5bea664095d32e463ca2190711bfd6c7791aa377eee00403"
        );
    }

    #[test]
    fn an_absent_field_and_an_empty_one_hash_differently() {
        assert_ne!(commitment(AFTER, "s", Some("")), None);
        let mut a = Encoder::default();
        a.field(None);
        let mut b = Encoder::default();
        b.field(Some(""));
        assert_ne!(a.hex(), b.hex());
    }
}
