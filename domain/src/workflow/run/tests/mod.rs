//! Tests of the workflow run aggregate, written as given (past events) / when (command) / then
//! (new events or a refusal).
//!
//! This file holds the shared fixtures: an enabled workflow pinned through the definition
//! aggregate itself (check → sign-off → remember → pause → upgrade), the event histories of a
//! run at each of its steps, and event and command builders.

mod approvals;
mod codec;
mod failures;
mod start;
mod steps;

use super::*;
use crate::aggregate::Aggregate;
use crate::ids::TenantId;
use crate::shared::Role;
use crate::testing::test_now;
use crate::workflow::definition::{
    DefineWorkflow, EnableWorkflow, PinnedDefinition, WorkflowDefinition,
};
use crate::workflow::steps::Approver;
use crate::workflow::values::{FieldPath, Message, StepId};
use crate::DecisionContext;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

fn tenant_id() -> TenantId {
    TenantId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

fn workflow_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_5001)
}

fn run_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_6001)
}

/// An admin (an approver by role).
fn admin() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_2001)
}

/// Another admin.
fn other_admin() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_2002)
}

/// A member named as an approver, whatever their role.
fn named() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_2003)
}

/// A member who is no approver.
fn outsider() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_2004)
}

/// The key `member` uses: one per member, so records can be told apart.
fn key_of(member: Uuid) -> Uuid {
    Uuid::from_u128(member.as_u128() + 0x1_0000)
}

/// A platform admin key.
fn platform_key(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_9000 + n)
}

/// `member` with `role`, deciding through their key.
fn member(member: Uuid, role: &str) -> Decider {
    Decider::Member {
        key_id: key_of(member),
        member_id: member,
        role: Role::parse(role).unwrap(),
    }
}

/// Platform admin key `n`, deciding.
fn by_platform(n: u128) -> Decider {
    Decider::PlatformAdmin {
        key_id: platform_key(n),
    }
}

/// How a decision by `member` with `role` through their key is recorded.
fn by_member(member: Uuid, role: Role) -> DecidedBy {
    DecidedBy::Member {
        member_id: member,
        role,
        key_id: Some(key_of(member)),
    }
}

/// `seconds` after the harness's fixed clock.
fn later(seconds: i64) -> DateTime<Utc> {
    test_now() + Duration::seconds(seconds)
}

fn steps_json() -> Value {
    json!([
        {"type": "condition", "id": "check", "condition": "input.seats > 10",
         "on_true": "sign-off"},
        {"type": "approval", "id": "sign-off",
         "approvers": [{"role": "admin"}, {"member": named()}],
         "required": 2, "timeout_seconds": 3600, "on_timeout": {"action": "reject"},
         "on_approved": "remember"},
        {"type": "action", "id": "remember",
         "action": {"kind": "set_field", "field": "context.approval.granted", "value": true},
         "next": "pause"},
        {"type": "wait", "id": "pause", "seconds": 60, "next": "upgrade"},
        {"type": "action", "id": "upgrade",
         "action": {"kind": "keel_command", "target": "tenant",
                    "command": {"command": "suspend", "reason": "upgrade"}},
         "retry": {"max_attempts": 3, "backoff_seconds": 30}}
    ])
}

/// A definition of `steps` with `trigger`, pinned through the definition aggregate (enabled
/// when `enable` says so).
fn pinned_with(steps: Value, trigger: Value, enable: bool) -> PinnedDefinition {
    let ctx = DecisionContext::at(test_now());
    let define = DefineWorkflow {
        tenant_id: tenant_id(),
        workflow_id: workflow_id(),
        name: "Upgrade review".into(),
        trigger: serde_json::from_value(trigger).unwrap(),
        steps: serde_json::from_value(steps).unwrap(),
    };
    let mut definition = WorkflowDefinition::default();
    let mut commands = vec![define.into()];
    if enable {
        commands.push(EnableWorkflow {}.into());
    }
    for command in commands {
        for event in definition.decide(&command, &ctx).unwrap() {
            definition.apply(&event);
        }
    }
    definition.pinned().unwrap()
}

fn pinned() -> PinnedDefinition {
    pinned_with(steps_json(), json!({"type": "manual"}), true)
}

fn start_command() -> StartRun {
    StartRun {
        tenant_id: tenant_id(),
        run_id: run_id(),
        definition: pinned(),
        trigger: RunTriggerInput::Manual {},
        input: json!({"seats": 12}),
    }
}

fn id(raw: &str) -> StepId {
    StepId::parse(raw).unwrap()
}

fn started() -> RunEvent {
    RunEvent::Started(RunStarted {
        tenant_id: tenant_id(),
        run_id: run_id(),
        workflow_id: workflow_id(),
        definition_version: 1,
        steps: pinned().steps,
        trigger: RunTrigger::Manual,
        input: json!({"seats": 12}),
        first_step: id("check"),
    })
}

fn step_started(step: &str, attempt: u32) -> RunEvent {
    RunEvent::StepStarted(StepStarted {
        step_id: id(step),
        attempt,
    })
}

fn step_completed(step: &str, attempt: u32, outcome: StepOutcome, next: Option<&str>) -> RunEvent {
    RunEvent::StepCompleted(StepCompleted {
        step_id: id(step),
        attempt,
        outcome,
        next_step: next.map(id),
    })
}

fn approval(outcome: ApprovalOutcome) -> StepOutcome {
    StepOutcome::Approval { outcome }
}

fn approval_requested() -> RunEvent {
    RunEvent::ApprovalRequested(ApprovalRequested {
        step_id: id("sign-off"),
        approvers: vec![Approver::Role(Role::Admin), Approver::Member(named())],
        required: 2,
        deadline: later(3600),
    })
}

fn approved(member: Uuid, role: Role) -> RunEvent {
    RunEvent::Approved(StepApproved {
        step_id: id("sign-off"),
        decided_by: by_member(member, role),
        comment: None,
    })
}

fn rejected(member: Uuid, role: Role, reason: Option<&str>) -> RunEvent {
    RunEvent::Rejected(StepRejected {
        step_id: id("sign-off"),
        decided_by: by_member(member, role),
        reason: reason.map(|r| Message::parse(r).unwrap()),
    })
}

fn waiting(step: &str, until: DateTime<Utc>, reason: WaitReason) -> RunEvent {
    RunEvent::Waiting(RunWaiting {
        step_id: id(step),
        until,
        reason,
    })
}

fn completed() -> RunEvent {
    RunEvent::Completed(RunCompleted {})
}

fn field_set() -> StepOutcome {
    StepOutcome::FieldSet {
        field: FieldPath::parse("context.approval.granted").unwrap(),
        value: json!(true),
    }
}

/// `base` followed by `more`.
fn and(base: Vec<RunEvent>, more: impl IntoIterator<Item = RunEvent>) -> Vec<RunEvent> {
    let mut events = base;
    events.extend(more);
    events
}

/// A run whose condition held: at the sign-off step, not started.
fn after_check() -> Vec<RunEvent> {
    vec![
        started(),
        step_started("check", 1),
        step_completed(
            "check",
            1,
            StepOutcome::Condition { result: true },
            Some("sign-off"),
        ),
    ]
}

/// A run asking for approval (requested at the harness's clock).
fn awaiting_approval() -> Vec<RunEvent> {
    and(
        after_check(),
        [step_started("sign-off", 1), approval_requested()],
    )
}

/// A run whose sign-off was approved: at the `remember` step, not started.
fn after_approval() -> Vec<RunEvent> {
    and(
        awaiting_approval(),
        [
            approved(admin(), Role::Admin),
            approved(named(), Role::Member),
            step_completed(
                "sign-off",
                1,
                approval(ApprovalOutcome::Approved),
                Some("remember"),
            ),
        ],
    )
}

/// A run at the `pause` step, not started.
fn at_pause() -> Vec<RunEvent> {
    and(
        after_approval(),
        [
            step_started("remember", 1),
            step_completed("remember", 1, field_set(), Some("pause")),
        ],
    )
}

/// A run at the `upgrade` step, not started.
fn at_upgrade() -> Vec<RunEvent> {
    and(
        at_pause(),
        [
            step_started("pause", 1),
            waiting("pause", later(60), WaitReason::WaitStep),
            step_completed("pause", 1, StepOutcome::Waited, Some("upgrade")),
        ],
    )
}

fn start_step(step: &str, attempt: u32) -> RunCommand {
    StartStep {
        step_id: step.into(),
        attempt,
    }
    .into()
}

fn complete(step: &str, attempt: u32) -> CompleteStep {
    CompleteStep {
        step_id: step.into(),
        attempt,
        result: None,
        output: None,
    }
}

fn fail_step(step: &str, attempt: u32) -> RunCommand {
    FailStep {
        step_id: step.into(),
        attempt,
        error: "tenant service unavailable".into(),
    }
    .into()
}

/// `who` approves the sign-off.
fn approve_as(who: Decider) -> ApproveStep {
    ApproveStep {
        step_id: "sign-off".into(),
        decider: who,
        comment: None,
    }
}

/// `who` rejects the sign-off.
fn reject_as(who: Decider) -> RejectStep {
    RejectStep {
        step_id: "sign-off".into(),
        decider: who,
        reason: None,
    }
}

fn approve(member_id: Uuid, role: &str) -> ApproveStep {
    approve_as(member(member_id, role))
}

fn reject(member_id: Uuid, role: &str) -> RejectStep {
    reject_as(member(member_id, role))
}

/// Decides `commands` one after the other on a fresh run, at the harness's clock; returns the
/// state and every event.
fn drive(commands: Vec<RunCommand>) -> (WorkflowRun, Vec<RunEvent>) {
    let ctx = DecisionContext::at(test_now());
    let mut run = WorkflowRun::default();
    let mut history = Vec::new();
    for command in commands {
        let events = run
            .decide(&command, &ctx)
            .unwrap_or_else(|e| panic!("{} refused: {e}", command.name()));
        for event in events {
            run.apply(&event);
            history.push(event);
        }
    }
    (run, history)
}
