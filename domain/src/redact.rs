//! Secret-bearing fields: which fields of an event's payload hold a secret or something derived
//! from one (key hashes, encrypted signing secrets).
//!
//! Outside the one response that reveals a new secret, nothing shows them: the audit trail,
//! the API's and the tools' event views and stored idempotent responses all show `null`.

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
