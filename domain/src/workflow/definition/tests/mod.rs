//! Tests of the workflow definition aggregate, written as given (past events) / when (command)
//! / then (new events or a refusal).
//!
//! This file holds the shared fixtures: a workflow "Upgrade review" whose steps are written as
//! JSON (as the API receives them), the validated steps they become, and command builders, so
//! each test states only what it is about.

mod codec;
mod graph;
mod lifecycle;
mod steps;
mod triggers;

use super::*;
use crate::ids::TenantId;
use crate::shared::{Email, Role};
use crate::workflow::steps::*;
use crate::workflow::values::*;
use crate::workflow::{Condition, CronExpression, Trigger};
use serde_json::{json, Value};
use uuid::Uuid;

/// The tenant every test works on.
fn tenant_id() -> TenantId {
    TenantId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

/// The workflow every test works on.
fn workflow_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_5001)
}

/// A member named as an approver.
fn approver_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_2001)
}

/// The fixture's steps as the API receives them: a condition, an approval by an admin and a
/// named member, a field write, a tenant command with retries, and a notification.
fn steps_json() -> Value {
    json!([
        {"type": "condition", "id": "check",
         "condition": "input.seats > 10 and tenant.plan == 'free'",
         "on_true": "sign-off"},
        {"type": "approval", "id": "sign-off",
         "approvers": [{"role": "admin"}, {"member": approver_id()}],
         "required": 2, "timeout_seconds": 86400, "on_timeout": {"action": "reject"},
         "on_approved": "remember", "on_rejected": "tell-owner"},
        {"type": "action", "id": "remember",
         "action": {"kind": "set_field", "field": "context.approved", "value": true},
         "next": "upgrade"},
        {"type": "action", "id": "upgrade",
         "action": {"kind": "keel_command", "target": "tenant",
                    "command": {"command": "change_plan", "plan": "standard",
                                "effective_at": "2026-02-01T00:00:00Z"}},
         "retry": {"max_attempts": 3, "backoff_seconds": 30}},
        {"type": "action", "id": "tell-owner",
         "action": {"kind": "notify", "to": [{"role": "owner"}, {"email": "Ops@Acme.com"}],
                    "subject": "Upgrade rejected", "message": "The upgrade was rejected."}}
    ])
}

fn id(raw: &str) -> StepId {
    StepId::parse(raw).unwrap()
}

/// The validated steps [`steps_json`] becomes.
fn steps() -> Vec<Step> {
    vec![
        Step::Condition(ConditionStep {
            id: id("check"),
            condition: Condition::parse("input.seats > 10 and tenant.plan == 'free'").unwrap(),
            on_true: Some(id("sign-off")),
            on_false: None,
        }),
        Step::Approval(ApprovalStep {
            id: id("sign-off"),
            approvers: vec![Approver::Role(Role::Admin), Approver::Member(approver_id())],
            platform_admins_may_approve: false,
            required: 2,
            timeout_seconds: 86_400,
            on_timeout: OnTimeout::Reject,
            on_approved: Some(id("remember")),
            on_rejected: Some(id("tell-owner")),
        }),
        Step::Action(ActionStep {
            id: id("remember"),
            action: Action::SetField {
                field: FieldPath::parse("context.approved").unwrap(),
                value: Some(json!(true)),
                from: None,
            },
            retry: RetryPolicy::default(),
            next: Some(id("upgrade")),
        }),
        Step::Action(ActionStep {
            id: id("upgrade"),
            action: Action::KeelCommand {
                target: CommandTarget::Tenant,
                aggregate_id: None,
                command: json!({"command": "change_plan", "plan": "standard",
                                "effective_at": "2026-02-01T00:00:00Z"}),
            },
            retry: RetryPolicy {
                max_attempts: 3,
                backoff_seconds: 30,
            },
            next: None,
        }),
        Step::Action(ActionStep {
            id: id("tell-owner"),
            action: Action::Notify {
                to: vec![
                    Recipient::Role(Role::Owner),
                    Recipient::Email(Email::parse("ops@acme.com").unwrap()),
                ],
                subject: Subject::parse("Upgrade rejected").unwrap(),
                message: Message::parse("The upgrade was rejected.").unwrap(),
            },
            retry: RetryPolicy::default(),
            next: None,
        }),
    ]
}

/// Raw steps from JSON, as the API would deserialize them.
fn step_inputs(steps: Value) -> Vec<StepInput> {
    serde_json::from_value(steps).expect("valid step JSON")
}

fn trigger_input(trigger: Value) -> TriggerInput {
    serde_json::from_value(trigger).expect("valid trigger JSON")
}

fn define_command() -> DefineWorkflow {
    DefineWorkflow {
        tenant_id: tenant_id(),
        workflow_id: workflow_id(),
        name: "Upgrade review".into(),
        trigger: trigger_input(json!({"type": "manual"})),
        steps: step_inputs(steps_json()),
    }
}

/// The fixture definition with other steps.
fn define_with_steps(steps: Value) -> WorkflowCommand {
    DefineWorkflow {
        steps: step_inputs(steps),
        ..define_command()
    }
    .into()
}

/// The fixture definition with another trigger.
fn define_with_trigger(trigger: Value) -> WorkflowCommand {
    DefineWorkflow {
        trigger: trigger_input(trigger),
        ..define_command()
    }
    .into()
}

fn defined() -> WorkflowEvent {
    WorkflowEvent::Defined(WorkflowDefined {
        tenant_id: tenant_id(),
        workflow_id: workflow_id(),
        version: 1,
        name: WorkflowName::parse("Upgrade review").unwrap(),
        trigger: Trigger::Manual,
        steps: steps(),
    })
}

fn enabled(version: u32) -> WorkflowEvent {
    WorkflowEvent::Enabled(WorkflowEnabled { version })
}

fn disabled(version: u32) -> WorkflowEvent {
    WorkflowEvent::Disabled(WorkflowDisabled { version })
}

fn archived() -> WorkflowEvent {
    WorkflowEvent::Archived(WorkflowArchived {})
}

/// One wait step, alone: the smallest valid workflow.
fn one_wait_step() -> Value {
    json!([{"type": "wait", "id": "pause", "seconds": 60}])
}

fn revise_command(steps: Value) -> WorkflowCommand {
    ReviseWorkflow {
        name: "Upgrade review".into(),
        trigger: trigger_input(json!({"type": "manual"})),
        steps: step_inputs(steps),
    }
    .into()
}

/// A schedule trigger, validated, for revisions.
fn daily() -> Trigger {
    Trigger::Schedule {
        cron: CronExpression::parse("@daily").unwrap(),
    }
}

/// Asserts a refusal of `field` whose message contains `needle`.
#[track_caller]
fn assert_invalid(error: WorkflowError, field: &str, needle: &str) {
    assert_eq!(error.field(), Some(field), "{error}");
    assert!(
        error.to_string().contains(needle),
        "`{error}` lacks `{needle}`"
    );
}
