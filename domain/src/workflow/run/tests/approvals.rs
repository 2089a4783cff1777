//! Approval steps: the request, n-of-m approvals, rejection, who may decide and when, and the
//! timeout rules.

use super::*;
use crate::testing::given;

#[test]
fn starting_an_approval_step_asks_its_approvers_with_a_deadline() {
    let run = given::<WorkflowRun>(after_check())
        .when(&start_step("sign-off", 1))
        .then(vec![step_started("sign-off", 1), approval_requested()]);
    assert_eq!(run.status(), RunStatus::AwaitingApproval);
}

#[test]
fn one_approval_of_two_required_keeps_the_step_open() {
    let run = given::<WorkflowRun>(awaiting_approval())
        .when(&approve(admin(), "admin").into())
        .then(vec![approved(admin(), Role::Admin)]);
    assert_eq!(run.status(), RunStatus::AwaitingApproval);
    let Some(Position {
        phase: StepPhase::AwaitingApproval(open),
        ..
    }) = run.current()
    else {
        panic!("the approval should still be open");
    };
    assert_eq!(open.approved_by, [by_member(admin(), Role::Admin)]);
}

#[test]
fn the_required_approval_completes_the_step_and_moves_on() {
    let run = given::<WorkflowRun>(and(awaiting_approval(), [approved(admin(), Role::Admin)]))
        .when(&approve(named(), "member").into())
        .then(vec![
            approved(named(), Role::Member),
            step_completed(
                "sign-off",
                1,
                approval(ApprovalOutcome::Approved),
                Some("remember"),
            ),
        ]);
    assert_eq!(run.status(), RunStatus::Running);
    assert_eq!(
        run.approval_outcomes().get("sign-off"),
        Some(&ApprovalOutcome::Approved)
    );
}

#[test]
fn two_members_with_an_approving_role_are_enough() {
    let events = given::<WorkflowRun>(and(awaiting_approval(), [approved(admin(), Role::Admin)]))
        .when(&approve(other_admin(), "admin").into())
        .outcome()
        .unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn an_approval_keeps_its_comment() {
    let command = ApproveStep {
        comment: Some("  looks right ".into()),
        ..approve(admin(), "admin")
    };
    given::<WorkflowRun>(awaiting_approval())
        .when(&command.into())
        .then(vec![RunEvent::Approved(StepApproved {
            step_id: id("sign-off"),
            decided_by: DecidedBy::Member {
                member_id: admin(),
                role: Role::Admin,
                key_id: Some(key_of(admin())),
            },
            comment: Some(Message::parse("looks right").unwrap()),
        })]);
}

#[test]
fn a_member_who_is_not_an_approver_cannot_decide() {
    for command in [
        RunCommand::from(approve(outsider(), "member")),
        reject(outsider(), "auditor").into(),
    ] {
        given::<WorkflowRun>(awaiting_approval())
            .when(&command)
            .then_err(WorkflowRunError::NotAnApprover {
                step_id: id("sign-off"),
                member_id: outsider(),
            });
    }
}

#[test]
fn the_same_approver_cannot_decide_twice() {
    for command in [
        RunCommand::from(approve(admin(), "admin")),
        reject(admin(), "admin").into(),
    ] {
        given::<WorkflowRun>(and(awaiting_approval(), [approved(admin(), Role::Admin)]))
            .when(&command)
            .then_err(WorkflowRunError::ApproverAlreadyDecided {
                step_id: id("sign-off"),
                decider: DeciderId::Member(admin()),
            });
    }
}

#[test]
fn one_rejection_rejects_and_without_on_rejected_ends_the_run() {
    let command = RejectStep {
        reason: Some("too expensive".into()),
        ..reject(admin(), "admin")
    };
    let run = given::<WorkflowRun>(awaiting_approval())
        .when(&command.into())
        .then(vec![
            rejected(admin(), Role::Admin, Some("too expensive")),
            step_completed("sign-off", 1, approval(ApprovalOutcome::Rejected), None),
            completed(),
        ]);
    assert_eq!(run.status(), RunStatus::Completed);
    assert_eq!(
        run.approval_outcomes().get("sign-off"),
        Some(&ApprovalOutcome::Rejected)
    );
}

#[test]
fn a_rejected_run_cannot_be_approved_later() {
    let rejected_run = and(
        awaiting_approval(),
        [
            approved(admin(), Role::Admin),
            rejected(named(), Role::Member, None),
            step_completed("sign-off", 1, approval(ApprovalOutcome::Rejected), None),
            completed(),
        ],
    );
    let error = given::<WorkflowRun>(rejected_run)
        .when(&approve(other_admin(), "admin").into())
        .outcome()
        .unwrap_err();
    assert_eq!(
        error,
        WorkflowRunError::ApprovalAlreadyDecided {
            step_id: id("sign-off"),
            outcome: ApprovalOutcome::Rejected,
        }
    );
    assert_eq!(
        error.to_string(),
        "approval step `sign-off` was already rejected"
    );
}

#[test]
fn an_approval_step_not_yet_asking_cannot_be_decided() {
    given::<WorkflowRun>(after_check())
        .when(&approve(admin(), "admin").into())
        .then_err(WorkflowRunError::NotAwaitingApproval {
            step_id: id("sign-off"),
        });
}

#[test]
fn only_approval_steps_take_decisions() {
    let command = ApproveStep {
        step_id: "check".into(),
        ..approve(admin(), "admin")
    };
    given::<WorkflowRun>(awaiting_approval())
        .when(&command.into())
        .then_err(WorkflowRunError::NotAnApprovalStep {
            step_id: id("check"),
        });
}

#[test]
fn a_decision_names_a_real_member_and_key() {
    given::<WorkflowRun>(awaiting_approval())
        .when(&approve(Uuid::nil(), "admin").into())
        .then_err(WorkflowRunError::invalid(
            "decider.member_id",
            "must not be the nil id",
        ));
    for who in [
        Decider::Member {
            key_id: Uuid::nil(),
            member_id: admin(),
            role: Role::Admin,
        },
        Decider::PlatformAdmin {
            key_id: Uuid::nil(),
        },
    ] {
        let error = given::<WorkflowRun>(awaiting_approval())
            .when(&approve_as(who).into())
            .outcome()
            .unwrap_err();
        assert_eq!(error.field(), Some("decider.key_id"));
    }
}

#[test]
fn the_same_member_counts_once_whichever_key_they_use() {
    let other_key = Decider::Member {
        key_id: Uuid::from_u128(77),
        member_id: admin(),
        role: Role::Admin,
    };
    given::<WorkflowRun>(and(awaiting_approval(), [approved(admin(), Role::Admin)]))
        .when(&approve_as(other_key).into())
        .then_err(WorkflowRunError::ApproverAlreadyDecided {
            step_id: id("sign-off"),
            decider: DeciderId::Member(admin()),
        });
}

#[test]
fn a_platform_admin_cannot_decide_a_step_for_members_only() {
    for command in [
        RunCommand::from(approve_as(by_platform(1))),
        reject_as(by_platform(1)).into(),
    ] {
        let error = given::<WorkflowRun>(awaiting_approval())
            .when(&command)
            .outcome()
            .unwrap_err();
        assert_eq!(
            error,
            WorkflowRunError::PlatformAdminsMayNotDecide {
                step_id: id("sign-off"),
            }
        );
        assert_eq!(
            crate::Refusal::kind(&error),
            crate::RefusalKind::Forbidden,
            "a 403, whatever the run's state"
        );
    }
}

/// A run asking for two approvals from admins or platform admins (the sign-off step allows
/// them).
fn awaiting_with_platform_admins() -> Vec<RunEvent> {
    let steps = json!([
        {"type": "approval", "id": "sign-off", "approvers": [{"role": "admin"}],
         "platform_admins_may_approve": true, "required": 2, "timeout_seconds": 60,
         "on_timeout": {"action": "reject"}}
    ]);
    let start = StartRun {
        definition: pinned_with(steps, json!({"type": "manual"}), true),
        ..start_command()
    };
    drive(vec![start.into(), start_step("sign-off", 1)]).1
}

/// Platform admin key `n` approved the sign-off.
fn approved_by_platform(n: u128) -> RunEvent {
    RunEvent::Approved(StepApproved {
        step_id: id("sign-off"),
        decided_by: DecidedBy::PlatformAdmin {
            key_id: platform_key(n),
        },
        comment: None,
    })
}

#[test]
fn a_platform_admin_decides_where_the_step_allows_it_and_is_recorded_as_such() {
    let run = given::<WorkflowRun>(awaiting_with_platform_admins())
        .when(&approve_as(by_platform(1)).into())
        .then(vec![approved_by_platform(1)]);
    assert_eq!(run.status(), RunStatus::AwaitingApproval);
    given::<WorkflowRun>(awaiting_with_platform_admins())
        .when(&reject_as(by_platform(2)).into())
        .then_ok();
}

#[test]
fn platform_admin_keys_count_separately_by_key() {
    let history = and(awaiting_with_platform_admins(), [approved_by_platform(1)]);
    given::<WorkflowRun>(history.clone())
        .when(&approve_as(by_platform(1)).into())
        .then_err(WorkflowRunError::ApproverAlreadyDecided {
            step_id: id("sign-off"),
            decider: DeciderId::PlatformAdminKey(platform_key(1)),
        });
    for second in [by_platform(2), member(admin(), "admin")] {
        let run = given::<WorkflowRun>(history.clone())
            .when(&approve_as(second).into())
            .then_ok();
        assert_eq!(run.status(), RunStatus::Completed, "two approvers: done");
    }
}

#[test]
fn after_the_deadline_only_the_timeout_rule_decides() {
    given::<WorkflowRun>(awaiting_approval())
        .at(later(3600))
        .when(&approve(admin(), "admin").into())
        .then_err(WorkflowRunError::ApprovalExpired {
            step_id: id("sign-off"),
            deadline: later(3600),
        });
}

fn time_out() -> RunCommand {
    TimeOutApproval {
        step_id: "sign-off".into(),
    }
    .into()
}

#[test]
fn the_timeout_rule_waits_for_the_deadline() {
    given::<WorkflowRun>(awaiting_approval())
        .at(later(3599))
        .when(&time_out())
        .then_err(WorkflowRunError::ApprovalNotDue {
            step_id: id("sign-off"),
            deadline: later(3600),
        });
}

#[test]
fn a_reject_on_timeout_rule_rejects_at_the_deadline() {
    given::<WorkflowRun>(awaiting_approval())
        .at(later(3600))
        .when(&time_out())
        .then(vec![
            RunEvent::ApprovalTimedOut(ApprovalTimedOut {
                step_id: id("sign-off"),
                outcome: ApprovalOutcome::Rejected,
            }),
            step_completed("sign-off", 1, approval(ApprovalOutcome::Rejected), None),
            completed(),
        ]);
}

/// A run asking for approval in a workflow whose approval applies `on_timeout` after a minute.
fn awaiting(on_timeout: Value) -> Vec<RunEvent> {
    let steps = json!([
        {"type": "approval", "id": "sign-off", "approvers": [{"role": "admin"}],
         "required": 1, "timeout_seconds": 60, "on_timeout": on_timeout,
         "on_approved": "done", "on_rejected": "owner-sign-off"},
        {"type": "approval", "id": "owner-sign-off", "approvers": [{"role": "owner"}],
         "required": 1, "timeout_seconds": 60, "on_timeout": {"action": "reject"},
         "on_approved": "done"},
        {"type": "wait", "id": "done", "seconds": 1}
    ]);
    let start = StartRun {
        definition: pinned_with(steps, json!({"type": "manual"}), true),
        ..start_command()
    };
    drive(vec![start.into(), start_step("sign-off", 1)]).1
}

#[test]
fn an_approve_on_timeout_rule_approves_at_the_deadline() {
    given::<WorkflowRun>(awaiting(json!({"action": "approve"})))
        .at(later(60))
        .when(&time_out())
        .then(vec![
            RunEvent::ApprovalTimedOut(ApprovalTimedOut {
                step_id: id("sign-off"),
                outcome: ApprovalOutcome::Approved,
            }),
            step_completed(
                "sign-off",
                1,
                approval(ApprovalOutcome::Approved),
                Some("done"),
            ),
        ]);
}

#[test]
fn an_escalate_on_timeout_rule_hands_over_to_its_step() {
    let run = given::<WorkflowRun>(awaiting(
        json!({"action": "escalate", "to": "owner-sign-off"}),
    ))
    .at(later(60))
    .when(&time_out())
    .then(vec![
        RunEvent::ApprovalTimedOut(ApprovalTimedOut {
            step_id: id("sign-off"),
            outcome: ApprovalOutcome::Escalated,
        }),
        step_completed(
            "sign-off",
            1,
            approval(ApprovalOutcome::Escalated),
            Some("owner-sign-off"),
        ),
    ]);
    assert_eq!(run.current().unwrap().step_id, id("owner-sign-off"));
}

#[test]
fn an_approval_reached_again_through_a_loop_asks_afresh() {
    let steps = json!([
        {"type": "approval", "id": "sign-off", "approvers": [{"role": "admin"}],
         "required": 1, "timeout_seconds": 60, "on_timeout": {"action": "reject"},
         "on_rejected": "sign-off"}
    ]);
    let (run, _) = drive(vec![
        StartRun {
            definition: pinned_with(steps, json!({"type": "manual"}), true),
            ..start_command()
        }
        .into(),
        start_step("sign-off", 1),
        reject(admin(), "admin").into(),
        start_step("sign-off", 1),
    ]);
    assert_eq!(run.status(), RunStatus::AwaitingApproval);
    assert!(run.approval_outcomes().is_empty());
    let events = run
        .decide(
            &approve(admin(), "admin").into(),
            &DecisionContext::at(test_now()),
        )
        .unwrap();
    assert!(matches!(
        &events[..],
        [
            RunEvent::Approved(_),
            RunEvent::StepCompleted(_),
            RunEvent::Completed(_)
        ]
    ));
}
