//! The catalogue of every event type the domain declares, and of those whose payloads hold
//! secrets.
//!
//! Each aggregate declares its events with [`domain_events!`](crate::domain_events); this module
//! is the one place that gathers them, so that code which must know every type (the integration
//! filter's validation, what is removed from events leaving Keel, the README check) cannot miss
//! an aggregate added later without a compile-visible edit here.

use crate::access::AccessEvent;
use crate::billing::InvoiceEvent;
use crate::integration::IntegrationEvent;
use crate::platform::PlatformEvent;
use crate::policy::PolicyEvent;
use crate::tenant::TenantEvent;
use crate::usage::UsageEvent;
use crate::workflow::{RunEvent, WorkflowEvent};

/// A secret-bearing event type and the names of its payload fields that hold secrets.
pub type SecretBearing = (&'static str, &'static [&'static str]);

const TYPES: [&[&str]; 9] = [
    TenantEvent::EVENT_TYPES,
    PolicyEvent::EVENT_TYPES,
    WorkflowEvent::EVENT_TYPES,
    RunEvent::EVENT_TYPES,
    IntegrationEvent::EVENT_TYPES,
    PlatformEvent::EVENT_TYPES,
    UsageEvent::EVENT_TYPES,
    AccessEvent::EVENT_TYPES,
    InvoiceEvent::EVENT_TYPES,
];

const SECRET_BEARING: [&[SecretBearing]; 9] = [
    TenantEvent::SECRET_BEARING,
    PolicyEvent::SECRET_BEARING,
    WorkflowEvent::SECRET_BEARING,
    RunEvent::SECRET_BEARING,
    IntegrationEvent::SECRET_BEARING,
    PlatformEvent::SECRET_BEARING,
    UsageEvent::SECRET_BEARING,
    AccessEvent::SECRET_BEARING,
    InvoiceEvent::SECRET_BEARING,
];

/// Every event type the domain declares, aggregate by aggregate.
pub fn all() -> impl Iterator<Item = &'static str> {
    TYPES.into_iter().flatten().copied()
}

/// Whether `event_type` is one the domain declares.
pub fn exists(event_type: &str) -> bool {
    all().any(|t| t == event_type)
}

/// The event types whose payloads hold secrets, with the fields that hold them.
pub fn secret_bearing() -> impl Iterator<Item = SecretBearing> {
    SECRET_BEARING.into_iter().flatten().copied()
}

/// The payload fields of `event_type` that hold secrets; empty for every other type.
pub fn secret_fields(event_type: &str) -> &'static [&'static str] {
    secret_bearing()
        .find(|(t, _)| *t == event_type)
        .map_or(&[], |(_, fields)| fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_listed_once() {
        let mut types: Vec<_> = all().collect();
        let count = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), count);
        assert!(exists("tenant.created"));
        assert!(!exists("tenant.bogus"));
    }

    #[test]
    fn key_hashes_and_signing_secrets_are_secret_bearing() {
        assert_eq!(secret_fields("platform.admin_key_issued"), ["secret_hash"]);
        assert_eq!(secret_fields("tenant.api_key_issued"), ["secret_hash"]);
        assert_eq!(secret_fields("integration.registered"), ["signing_secret"]);
        assert_eq!(
            secret_fields("integration.secret_rotated"),
            ["signing_secret"]
        );
        assert!(secret_fields("tenant.created").is_empty());
        assert!(secret_bearing().all(|(t, _)| exists(t)));
    }
}
