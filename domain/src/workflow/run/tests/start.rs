//! Starting a run: what it pins and records, and each reason to refuse.

use super::*;
use crate::testing::given;
use crate::workflow::graph::StepsError;

fn refusal(command: StartRun) -> WorkflowRunError {
    given::<WorkflowRun>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap_err()
}

#[test]
fn start_pins_the_definition_version_and_records_trigger_and_input() {
    let run = given::<WorkflowRun>(vec![])
        .when(&start_command().into())
        .then(vec![started()]);
    assert_eq!(run.status(), RunStatus::Running);
    assert_eq!(run.tenant_id(), tenant_id());
    assert_eq!(run.run_id(), run_id());
    assert_eq!(run.workflow_id(), workflow_id());
    assert_eq!(run.definition_version(), 1);
    assert_eq!(run.steps(), pinned().steps.as_slice());
    assert_eq!(run.input(), &json!({"seats": 12}));
    assert_eq!(run.context(), &json!({}));
    let current = run.current().unwrap();
    assert_eq!(
        (current.step_id.as_str(), current.attempt, &current.phase),
        ("check", 0, &StepPhase::Pending)
    );
}

#[test]
fn a_run_without_input_starts_with_an_empty_object() {
    let command = StartRun {
        input: Value::Null,
        ..start_command()
    };
    let events = given::<WorkflowRun>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap();
    assert!(matches!(&events[..], [RunEvent::Started(e)] if e.input == json!({})));
}

#[test]
fn starting_a_started_run_is_refused() {
    given::<WorkflowRun>(vec![started()])
        .when(&start_command().into())
        .then_err(WorkflowRunError::AlreadyStarted);
}

#[test]
fn every_other_command_is_refused_before_the_run_starts() {
    for command in [
        start_step("check", 1),
        complete("check", 1).into(),
        fail_step("check", 1),
        approve(admin(), "admin").into(),
        reject(admin(), "admin").into(),
        TimeOutApproval {
            step_id: "sign-off".into(),
        }
        .into(),
        FailRun { reason: "x".into() }.into(),
        CancelRun { reason: "x".into() }.into(),
    ] {
        given::<WorkflowRun>(vec![])
            .when(&command)
            .then_err(WorkflowRunError::NotFound);
    }
}

#[test]
fn start_refuses_the_platform_tenant_and_a_nil_run_id() {
    assert_eq!(
        refusal(StartRun {
            tenant_id: TenantId::PLATFORM,
            ..start_command()
        })
        .field(),
        Some("tenant_id")
    );
    assert_eq!(
        refusal(StartRun {
            run_id: Uuid::nil(),
            ..start_command()
        }),
        WorkflowRunError::invalid("run_id", "must not be the nil id")
    );
}

#[test]
fn a_run_cannot_start_from_another_tenants_workflow() {
    let other = TenantId(Uuid::from_u128(42));
    assert_eq!(
        refusal(StartRun {
            tenant_id: other,
            ..start_command()
        }),
        WorkflowRunError::TenantMismatch {
            tenant_id: other,
            definition_tenant_id: tenant_id(),
        }
    );
}

#[test]
fn a_run_cannot_start_from_a_disabled_workflow() {
    let error = refusal(StartRun {
        definition: pinned_with(steps_json(), json!({"type": "manual"}), false),
        ..start_command()
    });
    assert_eq!(
        error,
        WorkflowRunError::DefinitionNotEnabled {
            workflow_id: workflow_id(),
            version: 1
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "workflow {} (version 1) is not enabled, so it cannot start runs",
            workflow_id()
        )
    );
}

#[test]
fn a_pinned_definition_that_breaks_the_step_rules_is_refused() {
    let mut definition = pinned();
    definition.steps.truncate(1);
    definition.steps.push(definition.steps[0].clone());
    assert_eq!(
        refusal(StartRun {
            definition,
            ..start_command()
        }),
        WorkflowRunError::InvalidDefinition(StepsError::DuplicateStepId {
            step_id: id("check")
        })
    );
}

#[test]
fn the_trigger_must_be_the_definitions_unless_started_by_hand() {
    let on_event = pinned_with(
        steps_json(),
        json!({"type": "event", "event_type": "tenant.plan_changed"}),
        true,
    );
    let event = |event_type: &str| RunTriggerInput::Event {
        event_id: Uuid::from_u128(77),
        event_type: event_type.into(),
        payload: json!({"plan": "free"}),
    };
    let command = |definition: &PinnedDefinition, trigger| StartRun {
        definition: definition.clone(),
        trigger,
        ..start_command()
    };
    let accepted = |c: StartRun| given::<WorkflowRun>(vec![]).when(&c.into()).outcome();

    let run = accepted(command(&on_event, event("tenant.plan_changed"))).unwrap();
    let state = WorkflowRun::from_events(&run);
    assert_eq!(state.data()["trigger"], json!({"plan": "free"}));
    assert!(accepted(command(&on_event, RunTriggerInput::Manual {})).is_ok());

    assert_eq!(
        refusal(command(&on_event, event("tenant.suspended"))),
        WorkflowRunError::TriggerMismatch {
            expected: "event `tenant.plan_changed`".into(),
            given: "event `tenant.suspended`".into(),
        }
    );
    assert_eq!(
        refusal(command(&pinned(), event("tenant.plan_changed"))).code(),
        "trigger_mismatch"
    );
    let on_hook = pinned_with(
        steps_json(),
        json!({"type": "webhook", "hook": "stripe"}),
        true,
    );
    let hook = |name: &str| RunTriggerInput::Webhook {
        hook: name.into(),
        delivery_id: Uuid::from_u128(78),
        body: json!({}),
    };
    assert!(accepted(command(&on_hook, hook("stripe"))).is_ok());
    assert!(accepted(command(&on_hook, hook("github"))).is_err());
    assert!(accepted(command(
        &on_hook,
        RunTriggerInput::Schedule {
            scheduled_for: test_now()
        }
    ))
    .is_err());
}

#[test]
fn the_input_must_be_a_json_object_of_bounded_size() {
    assert_eq!(
        refusal(StartRun {
            input: json!([1, 2]),
            ..start_command()
        }),
        WorkflowRunError::invalid("input", "must be a JSON object")
    );
    let error = refusal(StartRun {
        input: json!({"blob": "x".repeat(MAX_RUN_JSON_BYTES)}),
        ..start_command()
    });
    assert_eq!(error.field(), Some("input"));
}

#[test]
fn refusals_are_classed_for_the_http_layer() {
    use crate::{Refusal, RefusalKind};
    let bad_input = refusal(StartRun {
        input: json!(1),
        ..start_command()
    });
    assert_eq!(Refusal::kind(&bad_input), RefusalKind::Invalid);
    assert_eq!(Refusal::field(&bad_input), Some("input".to_owned()));
    assert_eq!(
        Refusal::kind(&WorkflowRunError::NotFound),
        RefusalKind::NotFound
    );
    let finished = WorkflowRunError::Finished {
        status: RunStatus::Cancelled,
    };
    assert_eq!(Refusal::kind(&finished), RefusalKind::Conflict);
    assert_eq!(Refusal::code(&finished), "finished");
}
