//! Events survive storage, their JSON view reads like the definition, and commands are read
//! from the JSON the API receives.

use super::*;
use crate::event::{payload_to_json, DomainEvent};

#[test]
fn every_event_round_trips_through_its_stored_form() {
    let events = vec![
        defined(),
        WorkflowEvent::Revised(WorkflowRevised {
            version: 2,
            name: WorkflowName::parse("Nightly").unwrap(),
            trigger: Trigger::Event {
                event_type: EventType::parse("tenant.suspended").unwrap(),
                filter: Some(Condition::parse("trigger.reason != null").unwrap()),
            },
            steps: steps(),
        }),
        enabled(2),
        disabled(2),
        archived(),
    ];
    for event in events {
        let bytes = event.encode().unwrap();
        let back = WorkflowEvent::decode(event.event_type(), event.schema_version(), &bytes);
        assert_eq!(back.as_ref(), Ok(&event), "{}", event.event_type());
    }
}

#[test]
fn the_stored_definition_reads_like_the_request_that_made_it() {
    let view = payload_to_json(&defined().encode().unwrap()).unwrap();
    assert_eq!(view["tenant_id"], json!(tenant_id().to_string()));
    assert_eq!(view["trigger"], json!({"type": "manual"}));
    assert_eq!(
        view["steps"][0],
        json!({"type": "condition", "id": "check",
               "condition": "input.seats > 10 and tenant.plan == 'free'",
               "on_true": "sign-off", "on_false": null})
    );
    assert_eq!(
        view["steps"][1]["approvers"],
        json!([{"role": "admin"}, {"member": approver_id().to_string()}])
    );
    assert_eq!(
        view["steps"][3]["retry"],
        json!({"max_attempts": 3, "backoff_seconds": 30})
    );
}

#[test]
fn event_type_names_are_workflow_dot_fact() {
    assert_eq!(
        WorkflowEvent::EVENT_TYPES,
        &[
            "workflow.defined",
            "workflow.revised",
            "workflow.enabled",
            "workflow.disabled",
            "workflow.archived"
        ]
    );
}

#[test]
fn a_define_command_is_read_from_api_json() {
    let command: WorkflowCommand = serde_json::from_value(json!({
        "command": "define",
        "tenant_id": tenant_id(),
        "workflow_id": workflow_id(),
        "name": "Upgrade review",
        "trigger": {"type": "manual"},
        "steps": steps_json(),
    }))
    .unwrap();
    assert_eq!(command, define_command().into());
    assert_eq!(command.name(), "define");
    let enable: WorkflowCommand = serde_json::from_value(json!({"command": "enable"})).unwrap();
    assert_eq!(enable, EnableWorkflow {}.into());
}

#[test]
fn the_state_survives_a_snapshot() {
    use crate::Aggregate;
    let state = WorkflowDefinition::from_events(&[defined(), enabled(1)]);
    let snapshot = serde_json::to_vec(&state).unwrap();
    let back: WorkflowDefinition = serde_json::from_slice(&snapshot).unwrap();
    assert_eq!(back, state);
}

#[test]
fn a_version_1_definition_lets_no_platform_admin_decide() {
    for current in [
        defined(),
        WorkflowEvent::Revised(WorkflowRevised {
            version: 2,
            name: WorkflowName::parse("Nightly").unwrap(),
            trigger: Trigger::Manual,
            steps: steps(),
        }),
    ] {
        let mut v1 = payload_to_json(&current.encode().unwrap()).unwrap();
        let removed = v1["steps"][1]
            .as_object_mut()
            .unwrap()
            .remove("platform_admins_may_approve");
        assert_eq!(removed, Some(json!(false)));
        assert!(v1["steps"][0].get("platform_admins_may_approve").is_none());
        let bytes = rmp_serde::to_vec_named(&v1).unwrap();
        let decoded = WorkflowEvent::decode(current.event_type(), 1, &bytes);
        assert_eq!(decoded, Ok(current.clone()), "{}", current.event_type());
        assert_eq!(current.schema_version(), 2);
    }
}
