//! Properties over random command sequences: whatever is decided, the rules hold, and every
//! recorded event can be stored, read back and folded.

use super::*;
use crate::aggregate::{Aggregate, DecisionContext};
use crate::DomainEvent;
use proptest::prelude::*;

/// Commands over a small pool of values, so that sequences repeat themselves often (unchanged
/// values, double enabling) and reach the failure threshold.
fn command() -> impl Strategy<Value = IntegrationCommand> {
    prop_oneof![
        1 => Just(register_command().into()),
        2 => prop::sample::select(vec![URL, "https://hooks.acme.com/v2", "http://10.1.1.1/"])
            .prop_map(|url| UpdateEndpoint { endpoint_url: url.into() }.into()),
        2 => prop::sample::select(vec!["*", "tenant.*", "bad*"]).prop_map(|p| {
            UpdateEventFilter { event_filter: vec![p.into()] }.into()
        }),
        2 => (1u8..4, prop::option::of(0u32..20_000)).prop_map(|(n, grace)| {
            RotateSecret { signing_secret: secret(n), grace_period_minutes: grace }.into()
        }),
        2 => Just(EnableIntegration {}.into()),
        2 => Just(DisableIntegration::default().into()),
        4 => (1u128..5, 0u32..3, 150u16..350).prop_map(|(n, attempt, http_status)| {
            RecordDeliverySucceeded { event_id: event_id(n), attempt, http_status }.into()
        }),
        8 => (1u128..5, 0u32..3, prop::option::of(150u16..650)).prop_map(
            |(n, attempt, http_status)| {
                RecordDeliveryFailed { event_id: event_id(n), attempt, http_status, error: None }
                    .into()
            }
        ),
    ]
}

proptest! {
    #[test]
    fn rules_hold_over_any_command_sequence(
        commands in prop::collection::vec(command(), 1..60),
        minute in 0i64..100_000,
    ) {
        let ctx = DecisionContext::at(minutes(minute));
        let mut state = Integration::default();
        for command in &commands {
            let was_enabled = state.is_enabled();
            let Ok(events) = state.decide(command, &ctx) else { continue };
            prop_assert!(!events.is_empty(), "an accepted command records something");
            for event in &events {
                let bytes = event.encode().unwrap();
                let decoded =
                    IntegrationEvent::decode(event.event_type(), event.schema_version(), &bytes);
                prop_assert_eq!(decoded.as_ref(), Ok(event));
                if let IntegrationEvent::Disabled(_) = event {
                    prop_assert!(was_enabled, "only an enabled integration is disabled");
                }
                state.apply(event);
            }
            prop_assert!(state.exists());
            prop_assert_eq!(state.tenant_id(), tenant_id());
            if state.is_enabled() {
                prop_assert!(
                    state.consecutive_failures() < state.disable_after_failures().get(),
                    "an enabled integration is below its failure threshold"
                );
            }
            prop_assert_eq!(state.is_enabled(), state.disabled_reason().is_none());
        }
        let replayed = Integration::from_events(
            commands
                .iter()
                .scan(Integration::default(), |s, c| {
                    let events = s.decide(c, &ctx).unwrap_or_default();
                    events.iter().for_each(|e| s.apply(e));
                    Some(events)
                })
                .flatten()
                .collect::<Vec<_>>()
                .iter(),
        );
        prop_assert_eq!(replayed, state);
    }
}
