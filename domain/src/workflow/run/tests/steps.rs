//! The life of a step (start, complete, fail, retry, wait) and of the run (fail, cancel).

use super::*;
use crate::testing::given;

#[test]
fn starting_the_current_step_records_attempt_1() {
    let run = given::<WorkflowRun>(vec![started()])
        .when(&start_step("check", 1))
        .then(vec![step_started("check", 1)]);
    assert_eq!(run.current().unwrap().phase, StepPhase::Started);
    assert_eq!(run.status(), RunStatus::Running);
}

#[test]
fn only_the_current_step_can_start() {
    given::<WorkflowRun>(vec![started()])
        .when(&start_step("upgrade", 1))
        .then_err(WorkflowRunError::StepNotNext {
            step_id: id("upgrade"),
            current: id("check"),
        });
}

#[test]
fn a_step_the_workflow_does_not_have_is_refused() {
    given::<WorkflowRun>(vec![started()])
        .when(&start_step("nope", 1))
        .then_err(WorkflowRunError::UnknownStep {
            step_id: id("nope"),
        });
    let error = given::<WorkflowRun>(vec![started()])
        .when(&start_step("Not An Id", 1))
        .outcome()
        .unwrap_err();
    assert_eq!(error.field(), Some("step_id"));
}

#[test]
fn a_fresh_step_starts_at_attempt_1() {
    given::<WorkflowRun>(vec![started()])
        .when(&start_step("check", 2))
        .then_err(WorkflowRunError::AttemptMismatch {
            step_id: id("check"),
            expected: 1,
            given: 2,
        });
}

#[test]
fn a_step_under_way_cannot_start_again() {
    given::<WorkflowRun>(vec![started(), step_started("check", 1)])
        .when(&start_step("check", 2))
        .then_err(WorkflowRunError::StepAlreadyStarted {
            step_id: id("check"),
            attempt: 1,
        });
}

#[test]
fn a_true_condition_leads_to_its_on_true_step() {
    let command = CompleteStep {
        result: Some(true),
        ..complete("check", 1)
    };
    let run = given::<WorkflowRun>(vec![started(), step_started("check", 1)])
        .when(&command.into())
        .then(vec![step_completed(
            "check",
            1,
            StepOutcome::Condition { result: true },
            Some("sign-off"),
        )]);
    let current = run.current().unwrap();
    assert_eq!((current.step_id.as_str(), current.attempt), ("sign-off", 0));
}

#[test]
fn a_false_condition_without_on_false_completes_the_run() {
    let command = CompleteStep {
        result: Some(false),
        ..complete("check", 1)
    };
    let run = given::<WorkflowRun>(vec![started(), step_started("check", 1)])
        .when(&command.into())
        .then(vec![
            step_completed("check", 1, StepOutcome::Condition { result: false }, None),
            completed(),
        ]);
    assert_eq!(run.status(), RunStatus::Completed);
    assert_eq!(run.current(), None);
}

#[test]
fn a_step_that_was_not_started_cannot_complete_or_fail() {
    let command = CompleteStep {
        result: Some(true),
        ..complete("check", 1)
    };
    given::<WorkflowRun>(vec![started()])
        .when(&command.into())
        .then_err(WorkflowRunError::StepNotStarted {
            step_id: id("check"),
        });
    given::<WorkflowRun>(vec![started()])
        .when(&fail_step("upgrade", 1))
        .then_err(WorkflowRunError::StepNotStarted {
            step_id: id("upgrade"),
        });
}

#[test]
fn completing_another_attempt_than_the_one_under_way_is_refused() {
    let command = CompleteStep {
        result: Some(true),
        ..complete("check", 2)
    };
    given::<WorkflowRun>(vec![started(), step_started("check", 1)])
        .when(&command.into())
        .then_err(WorkflowRunError::AttemptMismatch {
            step_id: id("check"),
            expected: 1,
            given: 2,
        });
}

#[test]
fn a_condition_completes_with_a_result_and_nothing_else() {
    let given_started = || given::<WorkflowRun>(vec![started(), step_started("check", 1)]);
    given_started()
        .when(&complete("check", 1).into())
        .then_err(WorkflowRunError::invalid(
            "result",
            "is required to complete a condition step",
        ));
    let with_output = CompleteStep {
        result: Some(true),
        output: Some(json!(1)),
        ..complete("check", 1)
    };
    given_started()
        .when(&with_output.into())
        .then_err(WorkflowRunError::invalid(
            "output",
            "must be absent for a condition step",
        ));
}

#[test]
fn set_field_writes_its_fixed_value_into_the_context() {
    let given_remember =
        || given::<WorkflowRun>(and(after_approval(), [step_started("remember", 1)]));
    let run = given_remember()
        .when(&complete("remember", 1).into())
        .then(vec![step_completed(
            "remember",
            1,
            field_set(),
            Some("pause"),
        )]);
    assert_eq!(run.context(), &json!({"approval": {"granted": true}}));
    assert_eq!(run.data()["context"]["approval"]["granted"], json!(true));

    let with_output = CompleteStep {
        output: Some(json!("by the engine")),
        ..complete("remember", 1)
    };
    let run = given_remember()
        .when(&with_output.into())
        .then(vec![step_completed(
            "remember",
            1,
            StepOutcome::FieldSet {
                field: FieldPath::parse("context.approval.granted").unwrap(),
                value: json!("by the engine"),
            },
            Some("pause"),
        )]);
    assert_eq!(
        run.context(),
        &json!({"approval": {"granted": "by the engine"}})
    );
}

#[test]
fn an_action_completes_with_its_output_and_no_result() {
    let given_upgrade = || given::<WorkflowRun>(and(at_upgrade(), [step_started("upgrade", 1)]));
    let command = CompleteStep {
        output: Some(json!({"suspended": true})),
        ..complete("upgrade", 1)
    };
    given_upgrade().when(&command.into()).then(vec![
        step_completed(
            "upgrade",
            1,
            StepOutcome::Action {
                output: json!({"suspended": true}),
            },
            None,
        ),
        completed(),
    ]);
    let with_result = CompleteStep {
        result: Some(true),
        ..complete("upgrade", 1)
    };
    given_upgrade()
        .when(&with_result.into())
        .then_err(WorkflowRunError::invalid(
            "result",
            "must be absent for an action step",
        ));
}

#[test]
fn a_wait_step_waits_its_time_before_it_can_complete() {
    let run = given::<WorkflowRun>(at_pause())
        .when(&start_step("pause", 1))
        .then(vec![
            step_started("pause", 1),
            waiting("pause", later(60), WaitReason::WaitStep),
        ]);
    assert_eq!(run.status(), RunStatus::Waiting);

    let waiting_run = and(
        at_pause(),
        [
            step_started("pause", 1),
            waiting("pause", later(60), WaitReason::WaitStep),
        ],
    );
    given::<WorkflowRun>(waiting_run.clone())
        .at(later(59))
        .when(&complete("pause", 1).into())
        .then_err(WorkflowRunError::NotYet {
            step_id: id("pause"),
            until: later(60),
        });
    given::<WorkflowRun>(waiting_run)
        .at(later(60))
        .when(&complete("pause", 1).into())
        .then(vec![step_completed(
            "pause",
            1,
            StepOutcome::Waited,
            Some("upgrade"),
        )]);
}

#[test]
fn an_approval_step_cannot_be_completed_directly() {
    given::<WorkflowRun>(awaiting_approval())
        .when(&complete("sign-off", 1).into())
        .then_err(WorkflowRunError::DecidedByApprovals {
            step_id: id("sign-off"),
        });
}
