//! Each step's and the trigger's own rules: every refusal names the field as a path into the
//! command.

use super::*;
use crate::testing::given;
use crate::workflow::ExpressionProblem;

/// Defines the fixture with `steps`, expecting a refusal.
fn refused(steps: Value) -> WorkflowError {
    given::<WorkflowDefinition>(vec![])
        .when(&define_with_steps(steps))
        .outcome()
        .unwrap_err()
}

/// A one-step workflow made of `step` (which must have the id `s`).
fn refused_step(step: Value) -> WorkflowError {
    refused(json!([step]))
}

fn approval(overrides: Value) -> Value {
    let mut step = json!({"type": "approval", "id": "s", "approvers": [{"role": "admin"}],
                          "required": 1, "timeout_seconds": 3600,
                          "on_timeout": {"action": "approve"}});
    if let (Some(step), Some(overrides)) = (step.as_object_mut(), overrides.as_object()) {
        step.extend(overrides.clone());
    }
    step
}

fn action(action: Value) -> Value {
    json!({"type": "action", "id": "s", "action": action})
}

#[test]
fn a_malformed_step_id_is_refused() {
    assert_invalid(
        refused_step(json!({"type": "wait", "id": "Pause!", "seconds": 1})),
        "steps[0].id",
        "`Pause!` is invalid",
    );
}

#[test]
fn a_condition_that_does_not_parse_is_refused_with_its_column() {
    let error = refused(json!([
        {"type": "wait", "id": "w", "seconds": 1, "next": "c"},
        {"type": "condition", "id": "c", "condition": "input.seats >> 3"}
    ]));
    assert_eq!(
        error,
        WorkflowError::InvalidCondition {
            field: "steps[1].condition".into(),
            error: crate::workflow::ExpressionError {
                column: 14,
                problem: ExpressionProblem::Expected {
                    expected: "a value, a field path or `(`",
                    found: "`>`".into()
                }
            }
        }
    );
    assert_eq!(
        error.to_string(),
        "steps[1].condition is not a valid condition: at column 14: expected a value, a field \
         path or `(`, found `>`"
    );
    assert_eq!(error.code(), "invalid_condition");
}

#[test]
fn an_approval_needs_approvers_without_repeats() {
    assert_invalid(
        refused_step(approval(json!({"approvers": []}))),
        "steps[0].approvers",
        "must list 1 to 50 entries",
    );
    assert_invalid(
        refused_step(approval(
            json!({"approvers": [{"role": "admin"}, {"role": "admin"}]}),
        )),
        "steps[0].approvers",
        "lists the same entry twice",
    );
    assert_invalid(
        refused_step(approval(json!({"approvers": [{"role": "boss"}]}))),
        "steps[0].approvers",
        "`boss` is not a known role",
    );
    assert_invalid(
        refused_step(approval(json!({"approvers": [{"member": Uuid::nil()}]}))),
        "steps[0].approvers",
        "nil member id",
    );
}

#[test]
fn an_approval_cannot_require_more_approvals_than_named_approvers() {
    assert_invalid(
        refused_step(approval(json!({"required": 0}))),
        "steps[0].required",
        "must be from 1 to 50",
    );
    assert_invalid(
        refused_step(approval(
            json!({"approvers": [{"member": approver_id()}], "required": 2}),
        )),
        "steps[0].required",
        "must be from 1 to the 1 named approver(s)",
    );
}

#[test]
fn an_approval_lets_platform_admins_decide_only_when_it_says_so() {
    for (overrides, allowed) in [
        (json!({}), false),
        (json!({"platform_admins_may_approve": false}), false),
        (json!({"platform_admins_may_approve": true}), true),
    ] {
        let state = given::<WorkflowDefinition>(vec![])
            .when(&define_with_steps(json!([approval(overrides.clone())])))
            .then_ok();
        let [Step::Approval(step)] = state.steps() else {
            panic!("one approval step");
        };
        assert_eq!(step.platform_admins_may_approve, allowed, "{overrides}");
    }
}

#[test]
fn an_approval_deadline_is_between_a_minute_and_a_year() {
    assert_invalid(
        refused_step(approval(json!({"timeout_seconds": 59}))),
        "steps[0].timeout_seconds",
        "must be from 60 to 31536000 seconds",
    );
    assert_invalid(
        refused_step(approval(json!({"timeout_seconds": 31_536_001}))),
        "steps[0].timeout_seconds",
        "must be from 60",
    );
}

#[test]
fn an_escalation_target_must_be_a_valid_step_id() {
    assert_invalid(
        refused_step(approval(
            json!({"on_timeout": {"action": "escalate", "to": "Boss"}}),
        )),
        "steps[0].on_timeout.to",
        "`Boss` is invalid",
    );
}

#[test]
fn a_wait_lasts_between_a_second_and_a_year() {
    assert_invalid(
        refused_step(json!({"type": "wait", "id": "s", "seconds": 0})),
        "steps[0].seconds",
        "must be from 1 to 31536000 seconds",
    );
}

#[test]
fn a_notification_needs_valid_recipients_subject_and_message() {
    let notify = |to: Value, subject: &str| {
        action(json!({"kind": "notify", "to": to, "subject": subject, "message": "Hi"}))
    };
    assert_invalid(
        refused_step(notify(json!([{"email": "not-an-email"}]), "Hi")),
        "steps[0].action.to",
        "is not a valid email address",
    );
    assert_invalid(
        refused_step(notify(json!([]), "Hi")),
        "steps[0].action.to",
        "must list 1 to 50 entries",
    );
    assert_invalid(
        refused_step(notify(json!([{"role": "owner"}]), "two\nlines")),
        "steps[0].action.subject",
        "must not contain control characters",
    );
}

#[test]
fn an_integration_call_needs_an_id_an_operation_and_an_object_payload() {
    let call = |id: Uuid, operation: &str, payload: Value| {
        action(json!({"kind": "call_integration", "integration_id": id,
                      "operation": operation, "payload": payload}))
    };
    let some_id = Uuid::from_u128(7);
    assert_invalid(
        refused_step(call(Uuid::nil(), "create_ticket", json!({}))),
        "steps[0].action.integration_id",
        "must not be the nil id",
    );
    assert_invalid(
        refused_step(call(some_id, "Create Ticket", json!({}))),
        "steps[0].action.operation",
        "is invalid",
    );
    assert_invalid(
        refused_step(call(some_id, "create_ticket", json!([1, 2]))),
        "steps[0].action.payload",
        "must be a JSON object",
    );
    assert_invalid(
        refused_step(call(
            some_id,
            "create_ticket",
            json!({"x": "y".repeat(17_000)}),
        )),
        "steps[0].action.payload",
        "must be at most 16384 bytes of JSON",
    );
}

#[test]
fn a_keel_command_must_name_a_known_target_and_command() {
    let command = |target: &str, aggregate_id: Option<Uuid>, command: Value| {
        action(json!({"kind": "keel_command", "target": target,
                      "aggregate_id": aggregate_id, "command": command}))
    };
    let suspend = json!({"command": "suspend", "reason": "unpaid"});
    assert_invalid(
        refused_step(command("billing", None, suspend.clone())),
        "steps[0].action.target",
        "must be one of `tenant`, `policy`, `integration`, `workflow`",
    );
    assert_invalid(
        refused_step(command("tenant", Some(Uuid::from_u128(9)), suspend.clone())),
        "steps[0].action.aggregate_id",
        "a workflow acts on its own tenant only",
    );
    assert_invalid(
        refused_step(command("policy", None, json!({"command": "activate"}))),
        "steps[0].action.aggregate_id",
        "is required for this target",
    );
    assert_invalid(
        refused_step(command(
            "tenant",
            None,
            json!({"command": "suspnd", "reason": "x"}),
        )),
        "steps[0].action.command",
        "is not a valid tenant command: unknown variant `suspnd`",
    );
    assert_invalid(
        refused_step(command("tenant", None, json!({"reason": "x"}))),
        "steps[0].action.command",
        "must be an object naming its command",
    );
}

#[test]
fn a_keel_command_to_another_aggregate_is_accepted_with_its_id() {
    let step = action(json!({"kind": "keel_command", "target": "integration",
                             "aggregate_id": Uuid::from_u128(9),
                             "command": {"command": "disable"}}));
    assert!(given::<WorkflowDefinition>(vec![])
        .when(&define_with_steps(json!([step])))
        .outcome()
        .is_ok());
}

#[test]
fn set_field_takes_exactly_one_of_value_and_from() {
    assert_invalid(
        refused_step(action(json!({"kind": "set_field", "field": "context.x"}))),
        "steps[0].action",
        "must give exactly one of `value` (a fixed value) and `from` (a field path)",
    );
    assert_invalid(
        refused_step(action(json!({"kind": "set_field", "field": "context.x",
                                   "value": 1, "from": "input.x"}))),
        "steps[0].action",
        "exactly one of",
    );
    assert_invalid(
        refused_step(action(
            json!({"kind": "set_field", "field": "context..x", "value": 1}),
        )),
        "steps[0].action.field",
        "is not a field path",
    );
}

#[test]
fn a_retry_policy_stays_within_its_limits() {
    let with_retry = |retry: Value| {
        json!({"type": "action", "id": "s", "retry": retry,
               "action": {"kind": "set_field", "field": "context.x", "value": 1}})
    };
    assert_invalid(
        refused_step(with_retry(json!({"max_attempts": 0}))),
        "steps[0].retry.max_attempts",
        "must be from 1 to 10",
    );
    assert_invalid(
        refused_step(with_retry(
            json!({"max_attempts": 2, "backoff_seconds": 90_000}),
        )),
        "steps[0].retry.backoff_seconds",
        "must be from 1 to 86400 seconds",
    );
}

#[test]
fn unknown_json_fields_are_refused_when_the_command_is_read() {
    for (what, value) in [
        (
            "step",
            json!([{"type": "wait", "id": "w", "seconds": 1, "nxt": "x"}]),
        ),
        (
            "action",
            json!([{"type": "action", "id": "a",
                    "action": {"kind": "set_field", "field": "context.x", "value": 1,
                               "extra": true}}]),
        ),
        (
            "approver",
            json!([{"type": "approval", "id": "s", "approvers": [{"rol": "admin"}],
                    "required": 1, "timeout_seconds": 60, "on_timeout": {"action": "reject"}}]),
        ),
    ] {
        assert!(
            serde_json::from_value::<Vec<StepInput>>(value).is_err(),
            "an unknown field in a {what} should be refused"
        );
    }
    let mut command = serde_json::to_value(WorkflowCommand::from(define_command())).unwrap();
    command["colour"] = json!("blue");
    assert!(serde_json::from_value::<WorkflowCommand>(command).is_err());
}
