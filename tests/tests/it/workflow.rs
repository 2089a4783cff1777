//! The workflow definition and run aggregates through the command handler, on both backends:
//! a workflow defined from API JSON and enabled, a run driven step by step to completion with
//! an approval by two members, a rejected run that cannot be approved, every event in the global
//! log with its tenant, and refusals that append nothing.

use keel_commands::handler::{CommandError, CommandHandler, HandlerConfig};
use keel_domain::shared::Role;
use keel_domain::workflow::definition::{DisableWorkflow, EnableWorkflow};
use keel_domain::workflow::run::{
    ApprovalOutcome, ApproveStep, CompleteStep, Decider, RejectStep, RunTriggerInput, StartRun,
    StartStep,
};
use keel_domain::workflow::{
    PinnedDefinition, RunCommand, RunStatus, StepsError, WorkflowCommand, WorkflowDefinition,
    WorkflowError, WorkflowRun, WorkflowRunError,
};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{EventMetadata, EventStore};
use keel_tests::{Backend, TestDatabase};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

both_backends!(
    a_run_is_driven_to_completion_through_an_approval_by_two_members,
    a_rejected_run_cannot_be_approved,
    refusals_append_nothing,
);

/// One tenant's workflow and run handlers over a fresh store.
struct Fixture {
    store: Arc<dyn EventStore>,
    definitions: CommandHandler<WorkflowDefinition>,
    runs: CommandHandler<WorkflowRun>,
    tenant: TenantId,
    workflow: AggregateId,
    run: AggregateId,
    admin: Uuid,
    named: Uuid,
}

impl Fixture {
    async fn new(db: &TestDatabase) -> Fixture {
        let store = db.open().await;
        let tenant = TenantId(uuid::Uuid::now_v7());
        Fixture {
            definitions: CommandHandler::new(store.clone(), HandlerConfig::default()),
            runs: CommandHandler::new(store.clone(), HandlerConfig::default()),
            store,
            tenant,
            workflow: AggregateId {
                tenant_id: tenant,
                id: Uuid::now_v7(),
            },
            run: AggregateId {
                tenant_id: tenant,
                id: Uuid::now_v7(),
            },
            admin: Uuid::now_v7(),
            named: Uuid::now_v7(),
        }
    }

    fn meta(&self) -> EventMetadata {
        EventMetadata::new(self.tenant, Actor::User("ada".into()))
    }

    /// Defines the workflow from JSON, as the API would receive it: a condition, an approval
    /// by two of (any admin, a named member), then a tenant command.
    async fn define(&self) -> Result<(), CommandError<WorkflowError>> {
        let command: WorkflowCommand = serde_json::from_value(json!({
            "command": "define",
            "tenant_id": self.tenant,
            "workflow_id": self.workflow.id,
            "name": "Large upgrade review",
            "trigger": {"type": "event", "event_type": "tenant.plan_changed",
                        "filter": "trigger.plan == 'enterprise'"},
            "steps": [
                {"type": "condition", "id": "check", "condition": "input.seats > 100",
                 "on_true": "sign-off"},
                {"type": "approval", "id": "sign-off",
                 "approvers": [{"role": "admin"}, {"member": self.named}],
                 "required": 2, "timeout_seconds": 86400,
                 "on_timeout": {"action": "reject"}, "on_approved": "raise-quota"},
                {"type": "action", "id": "raise-quota",
                 "action": {"kind": "keel_command", "target": "tenant",
                            "command": {"command": "set_quota_override",
                                        "meter": "seats", "limit": 500}},
                 "retry": {"max_attempts": 3}}
            ]
        }))
        .expect("the definition JSON is a valid command");
        self.definitions
            .execute(self.workflow, command, self.meta(), None)
            .await
            .map(|_| ())
    }

    async fn enable(&self) {
        self.definitions
            .execute(self.workflow, EnableWorkflow {}.into(), self.meta(), None)
            .await
            .expect("enable");
    }

    async fn pinned(&self) -> PinnedDefinition {
        let loaded = self.definitions.state(self.workflow).await.expect("load");
        loaded.state.pinned().expect("the workflow is defined")
    }

    async fn execute(
        &self,
        command: RunCommand,
    ) -> Result<WorkflowRun, CommandError<WorkflowRunError>> {
        self.runs
            .execute(self.run, command, self.meta(), None)
            .await
            .map(|outcome| outcome.state)
    }

    /// Executes a command that must be accepted.
    async fn accept(&self, command: impl Into<RunCommand>) -> WorkflowRun {
        let command = command.into();
        let name = command.name();
        self.execute(command)
            .await
            .unwrap_or_else(|e| panic!("{name} refused: {e}"))
    }

    /// Starts a run from an event and drives it up to its approval request.
    async fn run_until_approval(&self) {
        self.accept(StartRun {
            tenant_id: self.tenant,
            run_id: self.run.id,
            definition: self.pinned().await,
            trigger: RunTriggerInput::Event {
                event_id: Uuid::now_v7(),
                event_type: "tenant.plan_changed".into(),
                payload: json!({"plan": "enterprise"}),
            },
            input: json!({"seats": 250}),
        })
        .await;
        self.accept(start_step("check", 1)).await;
        self.accept(CompleteStep {
            step_id: "check".into(),
            attempt: 1,
            result: Some(true),
            output: None,
        })
        .await;
        let run = self.accept(start_step("sign-off", 1)).await;
        assert_eq!(run.status(), RunStatus::AwaitingApproval);
    }

    async fn event_count(&self) -> usize {
        self.store
            .read_all(0, 1_000)
            .await
            .expect("read the log")
            .len()
    }
}

fn start_step(step: &str, attempt: u32) -> StartStep {
    StartStep {
        step_id: step.into(),
        attempt,
    }
}

/// `member` with `role`, deciding through a key of their own.
fn member(member: Uuid, role: &str) -> Decider {
    Decider::Member {
        key_id: Uuid::now_v7(),
        member_id: member,
        role: Role::parse(role).expect("a role"),
    }
}

fn approve(member_id: Uuid, role: &str) -> ApproveStep {
    ApproveStep {
        step_id: "sign-off".into(),
        decider: member(member_id, role),
        comment: None,
    }
}

async fn a_run_is_driven_to_completion_through_an_approval_by_two_members(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let f = Fixture::new(&db).await;
    f.define().await.expect("define");
    f.enable().await;
    f.run_until_approval().await;

    let run = f.accept(approve(f.admin, "admin")).await;
    assert_eq!(
        run.status(),
        RunStatus::AwaitingApproval,
        "one of two approvals"
    );
    let run = f.accept(approve(f.named, "member")).await;
    assert_eq!(
        run.approval_outcomes().get("sign-off"),
        Some(&ApprovalOutcome::Approved)
    );
    f.accept(start_step("raise-quota", 1)).await;
    let run = f
        .accept(CompleteStep {
            step_id: "raise-quota".into(),
            attempt: 1,
            result: None,
            output: Some(json!({"limit": 500})),
        })
        .await;
    assert_eq!(run.status(), RunStatus::Completed);
    assert_eq!(run.definition_version(), 1);

    let events = f.store.read_all(0, 1_000).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "workflow.defined",
            "workflow.enabled",
            "workflow_run.started",
            "workflow_run.step_started",
            "workflow_run.step_completed",
            "workflow_run.step_started",
            "workflow_run.approval_requested",
            "workflow_run.approved",
            "workflow_run.approved",
            "workflow_run.step_completed",
            "workflow_run.step_started",
            "workflow_run.step_completed",
            "workflow_run.completed",
        ]
    );
    assert!(events.iter().all(|e| e.metadata.tenant_id == f.tenant));
    assert_eq!(events[0].stream_id, format!("workflow-{}", f.workflow.id));
    assert!(events[2..]
        .iter()
        .all(|e| e.stream_id == format!("workflow_run-{}", f.run.id)));
    let started = events[2].to_json().data;
    assert_eq!(started["tenant_id"], json!(f.tenant.to_string()));
    assert_eq!(started["definition_version"], json!(1));
    assert_eq!(started["steps"][0]["condition"], json!("input.seats > 100"));
    let approval = events[8].to_json();
    assert_eq!(approval.schema_version, 2);
    assert_eq!(
        approval.data["decided_by"]["member_id"],
        json!(f.named.to_string())
    );
    assert_eq!(approval.data["decided_by"]["type"], json!("member"));
}

async fn a_rejected_run_cannot_be_approved(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let f = Fixture::new(&db).await;
    f.define().await.expect("define");
    f.enable().await;
    f.run_until_approval().await;

    let run = f
        .accept(RejectStep {
            step_id: "sign-off".into(),
            decider: member(f.admin, "admin"),
            reason: Some("not this quarter".into()),
        })
        .await;
    assert_eq!(
        run.status(),
        RunStatus::Completed,
        "no on_rejected: the run ends"
    );
    let before = f.event_count().await;

    let error = f
        .execute(approve(f.named, "member").into())
        .await
        .unwrap_err();
    match error {
        CommandError::Domain(WorkflowRunError::ApprovalAlreadyDecided { outcome, .. }) => {
            assert_eq!(outcome, ApprovalOutcome::Rejected)
        }
        other => panic!("expected the approval to be refused as already rejected, got {other}"),
    }
    assert_eq!(
        f.event_count().await,
        before,
        "the refusal appended nothing"
    );
}

async fn refusals_append_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let f = Fixture::new(&db).await;
    f.define().await.expect("define");
    let after_define = f.event_count().await;

    // A definition with a loop and no wait is refused.
    let looping: WorkflowCommand = serde_json::from_value(json!({
        "command": "revise", "name": "Loop", "trigger": {"type": "manual"},
        "steps": [
            {"type": "condition", "id": "a", "condition": "context.n < 3", "on_true": "b"},
            {"type": "action", "id": "b", "next": "a",
             "action": {"kind": "set_field", "field": "context.n", "value": 1}}
        ]
    }))
    .unwrap();
    let error = f
        .definitions
        .execute(f.workflow, looping, f.meta(), None)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CommandError::Domain(WorkflowError::Steps(StepsError::CycleWithoutWait { .. }))
    ));

    // A disabled workflow starts no run.
    let error = f
        .execute(
            StartRun {
                tenant_id: f.tenant,
                run_id: f.run.id,
                definition: f.pinned().await,
                trigger: RunTriggerInput::Manual {},
                input: json!({"seats": 250}),
            }
            .into(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CommandError::Domain(WorkflowRunError::DefinitionNotEnabled { version: 1, .. })
    ));

    // Nothing to disable on a disabled workflow.
    let error = f
        .definitions
        .execute(f.workflow, DisableWorkflow {}.into(), f.meta(), None)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CommandError::Domain(WorkflowError::AlreadyDisabled)
    ));

    assert_eq!(f.event_count().await, after_define);
    assert_eq!(
        f.store
            .stream_version(&f.run.stream_id("workflow_run"))
            .await
            .unwrap(),
        0
    );
}
