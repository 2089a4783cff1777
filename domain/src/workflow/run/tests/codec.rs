//! Events survive storage, the state survives a snapshot, commands are read from JSON, and a
//! whole run can be driven from start to end through commands alone.

use super::*;
use crate::event::{payload_to_json, DomainEvent};

/// A run driven through every step of the fixture workflow, with its events.
fn full_run() -> (WorkflowRun, Vec<RunEvent>) {
    drive(vec![
        start_command().into(),
        start_step("check", 1),
        CompleteStep {
            result: Some(true),
            ..complete("check", 1)
        }
        .into(),
        start_step("sign-off", 1),
        approve(admin(), "admin").into(),
        approve(named(), "auditor").into(),
        start_step("remember", 1),
        complete("remember", 1).into(),
        start_step("pause", 1),
    ])
}

#[test]
fn a_run_is_driven_step_by_step_to_completion() {
    let (run, _) = full_run();
    assert_eq!(run.status(), RunStatus::Waiting);
    // The wait and the retry need time to pass: continue at the right moments.
    let mut run = run;
    let mut decide_at = |seconds: i64, command: RunCommand| {
        let ctx = DecisionContext::at(later(seconds));
        for event in run.decide(&command, &ctx).unwrap() {
            run.apply(&event);
        }
    };
    decide_at(60, complete("pause", 1).into());
    decide_at(60, start_step("upgrade", 1));
    decide_at(61, fail_step("upgrade", 1));
    decide_at(91, start_step("upgrade", 2));
    decide_at(92, complete("upgrade", 2).into());
    assert_eq!(run.status(), RunStatus::Completed);
    assert_eq!(run.context(), &json!({"approval": {"granted": true}}));
}

#[test]
fn every_event_round_trips_through_its_stored_form() {
    let (_, mut events) = full_run();
    events.extend([
        RunEvent::StepFailed(StepFailed {
            step_id: id("upgrade"),
            attempt: 1,
            error: Message::parse("down").unwrap(),
            retry_at: Some(later(30)),
        }),
        rejected(admin(), Role::Admin, Some("no")),
        RunEvent::ApprovalTimedOut(ApprovalTimedOut {
            step_id: id("sign-off"),
            outcome: ApprovalOutcome::Escalated,
        }),
        completed(),
        RunEvent::Failed(RunFailed {
            reason: Message::parse("broken").unwrap(),
            step_id: None,
        }),
        RunEvent::Cancelled(RunCancelled {
            reason: Message::parse("stop").unwrap(),
        }),
        RunEvent::Started(RunStarted {
            trigger: RunTrigger::Webhook {
                hook: crate::workflow::HookName::parse("stripe").unwrap(),
                delivery_id: Uuid::from_u128(5),
                body: json!({"amount": 12.5, "tags": ["a", null]}),
            },
            ..match started() {
                RunEvent::Started(e) => e,
                other => panic!("{other:?}"),
            }
        }),
    ]);
    let mut types = std::collections::BTreeSet::new();
    for event in events {
        types.insert(event.event_type());
        let bytes = event.encode().unwrap();
        let back = RunEvent::decode(event.event_type(), event.schema_version(), &bytes);
        assert_eq!(back.as_ref(), Ok(&event), "{}", event.event_type());
    }
    assert_eq!(
        types.len(),
        RunEvent::EVENT_TYPES.len(),
        "every event type is covered"
    );
}

#[test]
fn the_stored_start_shows_ids_and_times_as_text() {
    let view = payload_to_json(&started().encode().unwrap()).unwrap();
    assert_eq!(view["tenant_id"], json!(tenant_id().to_string()));
    assert_eq!(view["run_id"], json!(run_id().to_string()));
    assert_eq!(view["trigger"], json!({"type": "manual"}));
    assert_eq!(view["steps"][0]["condition"], json!("input.seats > 10"));
    let requested = payload_to_json(&approval_requested().encode().unwrap()).unwrap();
    assert_eq!(requested["deadline"], json!("2026-01-01T01:00:00Z"));
}

#[test]
fn event_type_names_are_workflow_run_dot_fact() {
    assert!(RunEvent::EVENT_TYPES
        .iter()
        .all(|t| t.starts_with("workflow_run.")));
    assert!(RunEvent::EVENT_TYPES.contains(&"workflow_run.approved"));
    assert!(RunEvent::EVENT_TYPES.contains(&"workflow_run.waiting"));
}

#[test]
fn the_state_survives_a_snapshot() {
    let (run, _) = full_run();
    let snapshot = serde_json::to_vec(&run).unwrap();
    let back: WorkflowRun = serde_json::from_slice(&snapshot).unwrap();
    assert_eq!(back, run);
}

#[test]
fn commands_are_read_from_json() {
    let command: RunCommand = serde_json::from_value(json!({
        "command": "approve", "step_id": "sign-off",
        "decider": {"type": "member", "key_id": key_of(admin()), "member_id": admin(),
                    "role": "admin"}
    }))
    .unwrap();
    assert_eq!(command, approve(admin(), "admin").into());
    assert_eq!(command.name(), "approve");
    let start: RunCommand =
        serde_json::from_value(serde_json::to_value(RunCommand::from(start_command())).unwrap())
            .unwrap();
    assert_eq!(start, start_command().into());
    assert!(serde_json::from_value::<RunCommand>(json!({
        "command": "start_step", "step_id": "check", "attempt": 1, "force": true
    }))
    .is_err());
    let platform: RunCommand = serde_json::from_value(json!({
        "command": "reject", "step_id": "sign-off",
        "decider": {"type": "platform_admin", "key_id": platform_key(1)}
    }))
    .unwrap();
    assert_eq!(platform, reject_as(by_platform(1)).into());
    // The decider is who the server authenticated: no decision without one.
    assert!(serde_json::from_value::<RunCommand>(json!({
        "command": "approve", "step_id": "sign-off", "member_id": admin()
    }))
    .is_err());
}

#[test]
fn a_version_1_decision_was_a_members_with_an_unknown_key() {
    let v1 = |member: Uuid, note: (&str, &str)| {
        let mut payload = json!({"step_id": "sign-off", "member_id": member, "role": "admin"});
        payload[note.0] = json!(note.1);
        rmp_serde::to_vec_named(&payload).unwrap()
    };
    let unknown_key = DecidedBy::Member {
        member_id: admin(),
        role: Role::Admin,
        key_id: None,
    };
    let approved = RunEvent::decode(RunEvent::APPROVED, 1, &v1(admin(), ("comment", "ok")));
    assert_eq!(
        approved,
        Ok(RunEvent::Approved(StepApproved {
            step_id: id("sign-off"),
            decided_by: unknown_key.clone(),
            comment: Some(Message::parse("ok").unwrap()),
        }))
    );
    let rejected = RunEvent::decode(RunEvent::REJECTED, 1, &v1(admin(), ("reason", "no")));
    assert_eq!(
        rejected,
        Ok(RunEvent::Rejected(StepRejected {
            step_id: id("sign-off"),
            decided_by: unknown_key,
            reason: Some(Message::parse("no").unwrap()),
        }))
    );
}

#[test]
fn a_version_1_start_pinned_steps_for_members_only() {
    let current = started();
    let mut v1 = payload_to_json(&current.encode().unwrap()).unwrap();
    for step in v1["steps"].as_array_mut().unwrap() {
        step.as_object_mut()
            .unwrap()
            .remove("platform_admins_may_approve");
    }
    let bytes = rmp_serde::to_vec_named(&v1).unwrap();
    assert_eq!(
        RunEvent::decode(RunEvent::STARTED, 1, &bytes),
        Ok(current.clone())
    );
    assert_eq!(current.schema_version(), 2);
}
