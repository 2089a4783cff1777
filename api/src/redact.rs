//! Secret-bearing fields, removed from what the API keeps or shows beyond the one response that
//! must reveal them.
//!
//! A newly issued API key or integration signing secret is shown once, in the response that
//! created it. It must not live on in a stored idempotent response, nor in the JSON view of the
//! events (which also hold secret hashes and encrypted secrets).

use keel_commands::store::{EventJson, RecordedEvent};
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

/// The JSON view of a stored event with its secret-bearing fields shown as `null`: what the API
/// and the tools show of an event.
pub fn event_view(event: &RecordedEvent) -> EventJson {
    let mut json = event.to_json();
    redact_secrets(&mut json.data);
    json
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
