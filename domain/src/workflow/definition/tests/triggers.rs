//! Triggers: each kind validated and recorded, and what an event filter may read.

use super::*;
use crate::testing::given;
use crate::Aggregate;

#[test]
fn triggers_are_validated() {
    let refused_trigger = |trigger: Value| {
        given::<WorkflowDefinition>(vec![])
            .when(&define_with_trigger(trigger))
            .outcome()
            .unwrap_err()
    };
    assert_invalid(
        refused_trigger(json!({"type": "event", "event_type": "tenant"})),
        "trigger.event_type",
        "use `<aggregate>.<fact>`",
    );
    assert_invalid(
        refused_trigger(json!({"type": "schedule", "cron": "0 25 * * *"})),
        "trigger.cron",
        "hour field: `25` is out of range 0-23",
    );
    assert_invalid(
        refused_trigger(json!({"type": "webhook", "hook": "Stripe Hook"})),
        "trigger.hook",
        "is invalid",
    );
    assert_invalid(
        refused_trigger(json!({"type": "event", "event_type": "tenant.suspended",
                               "filter": "trigger.reason =="})),
        "trigger.filter",
        "is not a valid condition: at column 18",
    );
}

#[test]
fn an_event_filter_reads_only_the_event_and_the_tenant() {
    let error = given::<WorkflowDefinition>(vec![])
        .when(&define_with_trigger(
            json!({"type": "event", "event_type": "tenant.plan_changed",
                                          "filter": "trigger.plan == 'free' or input.x"}),
        ))
        .outcome()
        .unwrap_err();
    assert_invalid(error, "trigger.filter", "uses `input.x` (column 27)");
}

#[test]
fn every_kind_of_trigger_is_recorded_validated() {
    for (trigger, expected) in [
        (
            json!({"type": "event", "event_type": "tenant.plan_changed",
                   "filter": "trigger.plan == 'free'"}),
            Trigger::Event {
                event_type: EventType::parse("tenant.plan_changed").unwrap(),
                filter: Some(Condition::parse("trigger.plan == 'free'").unwrap()),
            },
        ),
        (json!({"type": "schedule", "cron": "@daily"}), daily()),
        (
            json!({"type": "webhook", "hook": "stripe"}),
            Trigger::Webhook {
                hook: HookName::parse("stripe").unwrap(),
            },
        ),
    ] {
        let workflow = given::<WorkflowDefinition>(vec![])
            .when(&define_with_trigger(trigger))
            .outcome()
            .map(|events| WorkflowDefinition::from_events(&events))
            .unwrap();
        assert_eq!(workflow.trigger(), &expected);
    }
}
