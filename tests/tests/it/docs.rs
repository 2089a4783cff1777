//! The README lists every aggregate's events; this keeps it from drifting from the code.

use keel_domain::access::AccessEvent;
use keel_domain::billing::InvoiceEvent;
use keel_domain::integration::IntegrationEvent;
use keel_domain::platform::PlatformEvent;
use keel_domain::policy::PolicyEvent;
use keel_domain::tenant::TenantEvent;
use keel_domain::usage::UsageEvent;
use keel_domain::workflow::{RunEvent, WorkflowEvent};

#[test]
fn the_readme_lists_every_event_type() {
    let readme = include_str!("../../../README.md");
    let all = [
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
    let missing: Vec<&str> = all
        .iter()
        .flat_map(|types| types.iter())
        .filter(|t| !readme.contains(&format!("`{t}`")))
        .copied()
        .collect();
    assert!(missing.is_empty(), "README.md does not list {missing:?}");
}
