//! Defining, revising, enabling, disabling and archiving, and the status gate.

use super::*;
use crate::testing::given;
use crate::Aggregate;

#[test]
fn define_records_version_1_disabled() {
    let workflow = given::<WorkflowDefinition>(vec![])
        .when(&define_command().into())
        .then(vec![defined()]);
    assert_eq!(workflow.status(), DefinitionStatus::Disabled);
    assert!(!workflow.is_enabled());
    assert_eq!(workflow.version(), 1);
    assert_eq!(workflow.tenant_id(), tenant_id());
    assert_eq!(workflow.workflow_id(), workflow_id());
    assert_eq!(workflow.name(), &"Upgrade review");
    assert_eq!(workflow.steps(), steps().as_slice());
}

#[test]
fn define_trims_the_name() {
    let command = DefineWorkflow {
        name: "  Upgrade review ".into(),
        ..define_command()
    };
    given::<WorkflowDefinition>(vec![])
        .when(&command.into())
        .then(vec![defined()]);
}

#[test]
fn defining_an_existing_workflow_is_refused_as_already_exists() {
    given::<WorkflowDefinition>(vec![defined()])
        .when(&define_command().into())
        .then_err(WorkflowError::AlreadyExists);
}

#[test]
fn defining_an_archived_workflow_again_is_refused_as_already_exists() {
    given::<WorkflowDefinition>(vec![defined(), archived()])
        .when(&define_command().into())
        .then_err(WorkflowError::AlreadyExists);
}

#[test]
fn define_refuses_the_platform_tenant() {
    let command = DefineWorkflow {
        tenant_id: TenantId::PLATFORM,
        ..define_command()
    };
    let error = given::<WorkflowDefinition>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert_eq!(error.field(), Some("tenant_id"));
}

#[test]
fn define_refuses_a_nil_workflow_id() {
    let command = DefineWorkflow {
        workflow_id: Uuid::nil(),
        ..define_command()
    };
    given::<WorkflowDefinition>(vec![])
        .when(&command.into())
        .then_err(WorkflowError::invalid(
            "workflow_id",
            "must not be the nil id",
        ));
}

#[test]
fn define_refuses_an_empty_name_naming_the_field() {
    let command = DefineWorkflow {
        name: "  ".into(),
        ..define_command()
    };
    let error = given::<WorkflowDefinition>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert_eq!(error, WorkflowError::invalid("name", "must not be empty"));
    assert_eq!(error.to_string(), "name must not be empty");
    assert_eq!(error.code(), "invalid");
}

#[test]
fn every_command_but_define_is_refused_before_definition() {
    for command in [
        revise_command(one_wait_step()),
        EnableWorkflow {}.into(),
        DisableWorkflow {}.into(),
        ArchiveWorkflow {}.into(),
    ] {
        given::<WorkflowDefinition>(vec![])
            .when(&command)
            .then_err(WorkflowError::NotFound);
    }
}

#[test]
fn enable_records_the_version_it_enables() {
    let workflow = given::<WorkflowDefinition>(vec![defined()])
        .when(&EnableWorkflow {}.into())
        .then(vec![enabled(1)]);
    assert!(workflow.is_enabled());
}

#[test]
fn enabling_an_enabled_workflow_is_refused() {
    given::<WorkflowDefinition>(vec![defined(), enabled(1)])
        .when(&EnableWorkflow {}.into())
        .then_err(WorkflowError::AlreadyEnabled);
}

#[test]
fn disable_stops_an_enabled_workflow() {
    let workflow = given::<WorkflowDefinition>(vec![defined(), enabled(1)])
        .when(&DisableWorkflow {}.into())
        .then(vec![disabled(1)]);
    assert_eq!(workflow.status(), DefinitionStatus::Disabled);
}

#[test]
fn disabling_a_disabled_workflow_is_refused() {
    given::<WorkflowDefinition>(vec![defined()])
        .when(&DisableWorkflow {}.into())
        .then_err(WorkflowError::AlreadyDisabled);
}

#[test]
fn revise_records_the_next_version_with_the_new_content() {
    let command = ReviseWorkflow {
        name: "Nightly pause".into(),
        trigger: trigger_input(json!({"type": "schedule", "cron": "@daily"})),
        steps: step_inputs(one_wait_step()),
    };
    let workflow = given::<WorkflowDefinition>(vec![defined(), enabled(1)])
        .when(&command.into())
        .then(vec![WorkflowEvent::Revised(WorkflowRevised {
            version: 2,
            name: WorkflowName::parse("Nightly pause").unwrap(),
            trigger: daily(),
            steps: vec![Step::Wait(WaitStep {
                id: id("pause"),
                seconds: 60,
                next: None,
            })],
        })]);
    assert_eq!(workflow.version(), 2);
    assert_eq!(workflow.trigger(), &daily());
    assert!(
        workflow.is_enabled(),
        "a revision keeps the workflow enabled"
    );
}

#[test]
fn a_revision_identical_to_the_current_version_is_refused() {
    given::<WorkflowDefinition>(vec![defined()])
        .when(&revise_command(steps_json()))
        .then_err(WorkflowError::Unchanged { version: 1 });
}

#[test]
fn a_revision_is_checked_like_a_definition() {
    let error = given::<WorkflowDefinition>(vec![defined()])
        .when(&revise_command(json!([
            {"type": "action", "id": "a", "next": "b",
             "action": {"kind": "set_field", "field": "context.x", "value": 1}},
            {"type": "condition", "id": "b", "condition": "context.x > 0", "on_true": "a"}
        ])))
        .outcome()
        .unwrap_err();
    assert_eq!(error.code(), "cycle_without_wait");
}

#[test]
fn archive_retires_the_workflow() {
    let workflow = given::<WorkflowDefinition>(vec![defined(), enabled(1)])
        .when(&ArchiveWorkflow {}.into())
        .then(vec![archived()]);
    assert_eq!(workflow.status(), DefinitionStatus::Archived);
    assert!(!workflow.is_enabled());
}

#[test]
fn an_archived_workflow_refuses_every_change() {
    for command in [
        revise_command(one_wait_step()),
        EnableWorkflow {}.into(),
        DisableWorkflow {}.into(),
        ArchiveWorkflow {}.into(),
    ] {
        given::<WorkflowDefinition>(vec![defined(), archived()])
            .when(&command)
            .then_err(WorkflowError::Archived);
    }
}

#[test]
fn pinned_copies_the_current_version_and_whether_it_is_enabled() {
    assert_eq!(WorkflowDefinition::default().pinned(), None);
    let workflow = WorkflowDefinition::from_events(&[defined(), enabled(1)]);
    let pinned = workflow.pinned().unwrap();
    assert_eq!(pinned.tenant_id, tenant_id());
    assert_eq!(pinned.workflow_id, workflow_id());
    assert_eq!(pinned.version, 1);
    assert!(pinned.enabled);
    assert_eq!(pinned.trigger, Trigger::Manual);
    assert_eq!(pinned.steps, steps());

    let disabled = WorkflowDefinition::from_events(&[defined()]);
    assert!(!disabled.pinned().unwrap().enabled);
}

#[test]
fn refusals_are_classed_for_the_http_layer() {
    use crate::{Refusal, RefusalKind};
    let invalid = WorkflowError::invalid("steps[0].id", "is invalid");
    assert_eq!(Refusal::kind(&invalid), RefusalKind::Invalid);
    assert_eq!(Refusal::field(&invalid), Some("steps[0].id".to_owned()));
    assert_eq!(
        Refusal::kind(&WorkflowError::NotFound),
        RefusalKind::NotFound
    );
    assert_eq!(
        Refusal::kind(&WorkflowError::Archived),
        RefusalKind::Conflict
    );
    assert_eq!(
        Refusal::code(&WorkflowError::AlreadyEnabled),
        "already_enabled"
    );
}
