//! Secret-bearing fields: which fields of an event's payload hold a secret or something derived
//! from one (key hashes, encrypted signing secrets).
//!
//! Outside the one response that reveals a new secret, nothing shows them:
//! - every copy of an event that leaves Keel (NATS messages, gRPC reads and subscriptions, the
//!   API's and the tools' event views, exports) is its [`outward_payload`]: the secret-bearing
//!   event types ([`crate::event_types::secret_bearing`]) lose their secret fields, every other
//!   event goes out byte for byte as stored;
//! - the audit trail shows the secret fields as `null` ([`null_secret_fields`]), whether it
//!   folds the log or the NATS copy, so both give the same records and chain;
//! - stored idempotent responses and state views null any field named in [`SECRET_FIELDS`], at
//!   any depth ([`redact_secrets`]).

use crate::event::{encode_payload, payload_to_json};
use crate::event_types::secret_fields;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Field names whose values are secrets or derived from secrets.
pub const SECRET_FIELDS: [&str; 4] = ["secret", "signing_secret", "secret_hash", "previous_secret"];

/// Replaces every secret-bearing field, at any depth, with `null`. Returns whether any was found.
pub fn redact_secrets(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut found = false;
            for (key, inner) in map.iter_mut() {
                if SECRET_FIELDS.contains(&key.as_str()) && !inner.is_null() {
                    *inner = Value::Null;
                    found = true;
                } else {
                    found |= redact_secrets(inner);
                }
            }
            found
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| redact_secrets(item) | found),
        _ => false,
    }
}

/// Removes the secret fields of `event_type` from its JSON payload. Returns whether any was there.
pub fn remove_secret_fields(event_type: &str, data: &mut Value) -> bool {
    let Value::Object(map) = data else {
        return false;
    };
    secret_fields(event_type)
        .iter()
        .fold(false, |found, field| map.remove(*field).is_some() | found)
}

/// Shows the secret fields of `event_type` as `null`, present or not, so a payload read from the
/// log and its outward copy (which lacks them) look the same.
pub fn null_secret_fields(event_type: &str, data: &mut Value) {
    if let Value::Object(map) = data {
        for field in secret_fields(event_type) {
            map.insert((*field).to_owned(), Value::Null);
        }
    }
}

/// The MessagePack payload of an event as it may leave Keel: the stored bytes themselves unless
/// `event_type` is secret-bearing, else the payload re-encoded without its secret fields. A
/// secret-bearing payload that does not decode goes out as an empty map: it cannot be shown
/// without the risk of showing its secret.
pub fn outward_payload<'a>(event_type: &str, payload: &'a [u8]) -> Cow<'a, [u8]> {
    if secret_fields(event_type).is_empty() {
        return Cow::Borrowed(payload);
    }
    let data = payload_to_json(payload)
        .ok()
        .map(|mut data| {
            remove_secret_fields(event_type, &mut data);
            data
        })
        .unwrap_or_else(|| Value::Object(Map::new()));
    Cow::Owned(encode_payload(&data).expect("a JSON value always encodes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_bearing_payloads_go_out_without_their_secret_fields() {
        let stored = encode_payload(&json!({"key_id": "k", "secret_hash": "ab"})).unwrap();
        let outward = outward_payload("tenant.api_key_issued", &stored);
        assert_eq!(payload_to_json(&outward).unwrap(), json!({"key_id": "k"}));
        let plain = encode_payload(&json!({"name": "acme", "secret": "x"})).unwrap();
        assert!(matches!(
            outward_payload("tenant.renamed", &plain),
            Cow::Borrowed(bytes) if bytes == plain.as_slice()
        ));
        let damaged = outward_payload("integration.registered", &[0xc1]);
        assert_eq!(payload_to_json(&damaged).unwrap(), json!({}));
    }

    #[test]
    fn removed_and_nulled_fields_look_alike_once_nulled() {
        let mut stored = json!({"key_id": "k", "secret_hash": "ab"});
        let mut outward = stored.clone();
        assert!(remove_secret_fields(
            "platform.admin_key_issued",
            &mut outward
        ));
        null_secret_fields("platform.admin_key_issued", &mut stored);
        null_secret_fields("platform.admin_key_issued", &mut outward);
        assert_eq!(stored, outward);
        assert_eq!(stored, json!({"key_id": "k", "secret_hash": null}));
    }

    #[test]
    fn secrets_are_removed_at_any_depth() {
        let mut value =
            json!({"data": {"id": 1, "secret": "keel_x", "keys": [{"secret_hash": "ab"}]}});
        assert!(redact_secrets(&mut value));
        assert_eq!(
            value,
            json!({"data": {"id": 1, "secret": null, "keys": [{"secret_hash": null}]}})
        );
        let mut plain = json!({"name": "acme"});
        assert!(!redact_secrets(&mut plain));
    }
}
