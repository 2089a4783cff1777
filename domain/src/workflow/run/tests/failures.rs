//! Failures, retries with backoff, and the ends of a run other than completion (fail, cancel).

use super::*;
use crate::testing::given;

#[test]
fn a_failed_action_with_attempts_left_is_retried_after_its_backoff() {
    let run = given::<WorkflowRun>(and(at_upgrade(), [step_started("upgrade", 1)]))
        .when(&fail_step("upgrade", 1))
        .then(vec![
            RunEvent::StepFailed(StepFailed {
                step_id: id("upgrade"),
                attempt: 1,
                error: Message::parse("tenant service unavailable").unwrap(),
                retry_at: Some(later(30)),
            }),
            waiting("upgrade", later(30), WaitReason::Retry),
        ]);
    assert_eq!(run.status(), RunStatus::Waiting);
}

/// The upgrade step after `failures` failed attempts (each retry started on time).
fn upgrade_failed(failures: u32) -> Vec<RunEvent> {
    let mut events = at_upgrade();
    let mut retry_at = test_now();
    for attempt in 1..=failures {
        retry_at += Duration::seconds(30 * (1 << (attempt - 1)));
        events.extend([
            step_started("upgrade", attempt),
            RunEvent::StepFailed(StepFailed {
                step_id: id("upgrade"),
                attempt,
                error: Message::parse("down").unwrap(),
                retry_at: Some(retry_at),
            }),
            waiting("upgrade", retry_at, WaitReason::Retry),
        ]);
    }
    events
}

#[test]
fn a_retry_starts_with_the_next_attempt_once_its_time_has_come() {
    given::<WorkflowRun>(upgrade_failed(1))
        .at(later(29))
        .when(&start_step("upgrade", 2))
        .then_err(WorkflowRunError::NotYet {
            step_id: id("upgrade"),
            until: later(30),
        });
    given::<WorkflowRun>(upgrade_failed(1))
        .at(later(30))
        .when(&start_step("upgrade", 1))
        .then_err(WorkflowRunError::AttemptMismatch {
            step_id: id("upgrade"),
            expected: 2,
            given: 1,
        });
    given::<WorkflowRun>(upgrade_failed(1))
        .at(later(30))
        .when(&start_step("upgrade", 2))
        .then(vec![step_started("upgrade", 2)]);
}

#[test]
fn the_backoff_doubles_with_each_attempt() {
    given::<WorkflowRun>(and(upgrade_failed(1), [step_started("upgrade", 2)]))
        .when(&fail_step("upgrade", 2))
        .then(vec![
            RunEvent::StepFailed(StepFailed {
                step_id: id("upgrade"),
                attempt: 2,
                error: Message::parse("tenant service unavailable").unwrap(),
                retry_at: Some(later(60)),
            }),
            waiting("upgrade", later(60), WaitReason::Retry),
        ]);
}

#[test]
fn a_failure_of_the_last_attempt_fails_the_run() {
    let error = Message::parse("tenant service unavailable").unwrap();
    let run = given::<WorkflowRun>(and(upgrade_failed(2), [step_started("upgrade", 3)]))
        .when(&fail_step("upgrade", 3))
        .then(vec![
            RunEvent::StepFailed(StepFailed {
                step_id: id("upgrade"),
                attempt: 3,
                error: error.clone(),
                retry_at: None,
            }),
            RunEvent::Failed(RunFailed {
                reason: error.clone(),
                step_id: Some(id("upgrade")),
            }),
        ]);
    assert_eq!(run.status(), RunStatus::Failed);
    assert_eq!(run.end_reason(), Some(&error));
}

#[test]
fn a_failed_condition_fails_the_run_at_once() {
    let events = given::<WorkflowRun>(vec![started(), step_started("check", 1)])
        .when(&fail_step("check", 1))
        .outcome()
        .unwrap();
    assert!(matches!(
        &events[..],
        [
            RunEvent::StepFailed(StepFailed { retry_at: None, .. }),
            RunEvent::Failed(_)
        ]
    ));
}

#[test]
fn a_failure_report_needs_an_error() {
    let command = FailStep {
        step_id: "check".into(),
        attempt: 1,
        error: " ".into(),
    };
    given::<WorkflowRun>(vec![started(), step_started("check", 1)])
        .when(&command.into())
        .then_err(WorkflowRunError::invalid("error", "must not be empty"));
}

#[test]
fn fail_ends_the_run_at_its_current_step() {
    let reason = Message::parse("condition could not be evaluated").unwrap();
    let run = given::<WorkflowRun>(vec![started()])
        .when(
            &FailRun {
                reason: reason.to_string(),
            }
            .into(),
        )
        .then(vec![RunEvent::Failed(RunFailed {
            reason,
            step_id: Some(id("check")),
        })]);
    assert_eq!(run.status(), RunStatus::Failed);
}

#[test]
fn cancel_stops_the_run_from_anywhere() {
    let reason = Message::parse("no longer needed").unwrap();
    for history in [vec![started()], awaiting_approval(), upgrade_failed(1)] {
        let run = given::<WorkflowRun>(history)
            .when(
                &CancelRun {
                    reason: reason.to_string(),
                }
                .into(),
            )
            .then(vec![RunEvent::Cancelled(RunCancelled {
                reason: reason.clone(),
            })]);
        assert_eq!(run.status(), RunStatus::Cancelled);
    }
    given::<WorkflowRun>(vec![started()])
        .when(&CancelRun { reason: "".into() }.into())
        .then_err(WorkflowRunError::invalid("reason", "must not be empty"));
}

#[test]
fn a_finished_run_refuses_every_step_command() {
    let cancelled = and(
        vec![started()],
        [RunEvent::Cancelled(RunCancelled {
            reason: Message::parse("stop").unwrap(),
        })],
    );
    for command in [
        start_step("check", 1),
        complete("check", 1).into(),
        fail_step("check", 1),
        FailRun { reason: "x".into() }.into(),
        CancelRun { reason: "x".into() }.into(),
    ] {
        given::<WorkflowRun>(cancelled.clone())
            .when(&command)
            .then_err(WorkflowRunError::Finished {
                status: RunStatus::Cancelled,
            });
    }
    let error = WorkflowRunError::Finished {
        status: RunStatus::Completed,
    };
    assert_eq!(
        error.to_string(),
        "run is completed: it accepts no more commands"
    );
}
