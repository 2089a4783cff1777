//! The rules the steps obey as a whole: missing steps, loops, field roots, reachability.

use super::*;
use crate::testing::given;
use crate::workflow::graph::{validate, StepsError, MAX_STEPS};

fn outcome(steps: Value) -> Result<Vec<WorkflowEvent>, WorkflowError> {
    given::<WorkflowDefinition>(vec![])
        .when(&define_with_steps(steps))
        .outcome()
}

fn refused(steps: Value) -> StepsError {
    match outcome(steps) {
        Err(WorkflowError::Steps(error)) => error,
        other => panic!("expected a steps refusal, got {other:?}"),
    }
}

fn set(id: &str, next: Option<&str>) -> Value {
    json!({"type": "action", "id": id, "next": next,
           "action": {"kind": "set_field", "field": "context.n", "value": 1}})
}

fn branch(id: &str, on_true: Option<&str>, on_false: Option<&str>) -> Value {
    json!({"type": "condition", "id": id, "condition": "context.n < 3",
           "on_true": on_true, "on_false": on_false})
}

fn ids(raw: &[&str]) -> Vec<StepId> {
    raw.iter().map(|r| id(r)).collect()
}

#[test]
fn a_workflow_needs_at_least_one_step() {
    assert_eq!(refused(json!([])), StepsError::NoSteps);
}

#[test]
fn a_workflow_has_at_most_the_maximum_number_of_steps() {
    let steps: Vec<Value> = (0..=MAX_STEPS)
        .map(|i| set(&format!("s{i}"), Some(&format!("s{}", i + 1))))
        .collect();
    assert_eq!(
        refused(Value::Array(steps)),
        StepsError::TooManySteps {
            max: MAX_STEPS,
            count: MAX_STEPS + 1
        }
    );
}

#[test]
fn step_ids_must_be_unique() {
    assert_eq!(
        refused(json!([set("a", Some("b")), set("b", None), set("a", None)])),
        StepsError::DuplicateStepId { step_id: id("a") }
    );
}

#[test]
fn a_reference_to_a_missing_step_is_refused() {
    let error = refused(json!([
        branch("a", Some("b"), Some("nope")),
        set("b", None)
    ]));
    assert_eq!(
        error,
        StepsError::MissingStep {
            step_id: id("a"),
            field: "on_false",
            target: id("nope"),
        }
    );
    assert_eq!(
        error.to_string(),
        "step `a` names `nope` in `on_false`, but there is no step `nope`"
    );
}

#[test]
fn an_escalation_to_a_missing_step_is_refused() {
    let error = refused(json!([{"type": "approval", "id": "ask",
        "approvers": [{"role": "admin"}], "required": 1, "timeout_seconds": 60,
        "on_timeout": {"action": "escalate", "to": "boss"}}]));
    assert_eq!(
        error,
        StepsError::MissingStep {
            step_id: id("ask"),
            field: "on_timeout.to",
            target: id("boss"),
        }
    );
}

#[test]
fn a_loop_without_a_wait_is_refused() {
    let error = refused(json!([
        set("start", Some("count")),
        set("count", Some("check")),
        branch("check", Some("count"), None),
    ]));
    assert_eq!(
        error,
        StepsError::CycleWithoutWait {
            cycle: ids(&["count", "check", "count"])
        }
    );
    assert_eq!(
        error.to_string(),
        "steps `count` → `check` → `count` form a loop without an approval or wait step, so a \
         run would never stop"
    );
}

#[test]
fn a_step_that_leads_to_itself_is_a_loop() {
    assert_eq!(
        refused(json!([branch("again", Some("again"), None)])),
        StepsError::CycleWithoutWait {
            cycle: ids(&["again", "again"])
        }
    );
}

#[test]
fn a_loop_through_an_approval_is_accepted() {
    let steps = json!([
        {"type": "approval", "id": "ask", "approvers": [{"role": "admin"}], "required": 1,
         "timeout_seconds": 3600, "on_timeout": {"action": "reject"},
         "on_approved": "done", "on_rejected": "revise"},
        set("revise", Some("ask")),
        set("done", None),
    ]);
    assert!(outcome(steps).is_ok());
}

#[test]
fn a_loop_through_a_wait_is_accepted() {
    let steps = json!([
        branch("poll", Some("pause"), None),
        {"type": "wait", "id": "pause", "seconds": 300, "next": "poll"},
    ]);
    assert!(outcome(steps).is_ok());
}

#[test]
fn a_condition_reading_an_unknown_field_is_refused() {
    let error = refused(json!([{"type": "condition", "id": "c",
                                "condition": "input.seats > 3 and plan == 'free'"}]));
    assert_eq!(
        error,
        StepsError::UnknownField {
            step_id: id("c"),
            field: "condition",
            path: "plan".into(),
            rule: "a field path must start with `input.`, `context.`, `trigger.`, `tenant.`".into(),
        }
    );
    assert_eq!(error.code(), "unknown_field");
}

#[test]
fn a_bare_root_is_not_a_field() {
    let error = refused(json!([{"type": "condition", "id": "c", "condition": "input == null"}]));
    assert!(matches!(error, StepsError::UnknownField { path, .. } if path == "input"));
}

#[test]
fn set_field_must_copy_from_a_known_field_and_write_into_the_context() {
    let copy = |field: &str, from: &str| {
        json!([{"type": "action", "id": "a",
                "action": {"kind": "set_field", "field": field, "from": from}}])
    };
    assert!(matches!(
        refused(copy("context.plan", "account.plan")),
        StepsError::UnknownField {
            field: "action.from",
            ..
        }
    ));
    assert!(matches!(
        refused(copy("result.plan", "tenant.plan")),
        StepsError::UnknownField {
            field: "action.field",
            ..
        }
    ));
    assert_eq!(
        refused(copy("input.plan", "tenant.plan")),
        StepsError::ReadOnlyField {
            step_id: id("a"),
            path: "input.plan".into()
        }
    );
    assert!(outcome(copy("context.plan", "tenant.plan")).is_ok());
}

#[test]
fn a_step_no_run_can_reach_is_refused() {
    assert_eq!(
        refused(json!([set("a", None), set("orphan", Some("a"))])),
        StepsError::UnreachableStep {
            step_id: id("orphan"),
            first: id("a"),
        }
    );
}

#[test]
fn the_fixture_workflow_passes_every_rule() {
    assert_eq!(validate(&steps()), Ok(()));
}
