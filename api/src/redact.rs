//! Secret-bearing fields, removed from what the API keeps or shows beyond the one response that
//! must reveal them.
//!
//! A newly issued API key or integration signing secret is shown once, in the response that
//! created it. It must not live on in a stored idempotent response, nor in the JSON view of the
//! events (which also hold secret hashes and encrypted secrets: those fields are removed). The
//! rule is shared with the read side (the audit trail, NATS), so it is the domain's
//! (`keel_domain::redact`).

pub use keel_domain::redact::{redact_secrets, SECRET_FIELDS};
use keel_store::{EventJson, RecordedEvent};

/// The JSON view of a stored event as it may leave Keel (secret fields removed): what the API
/// and the tools show of an event.
pub fn event_view(event: &RecordedEvent) -> EventJson {
    event.outward_json()
}
