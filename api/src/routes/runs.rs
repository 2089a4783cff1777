//! Workflow runs: start a manual run of a workflow, show and list runs, and drive a run step by
//! step (start, complete or fail a step, approve, reject, time out an approval, fail, cancel).
//!
//! Scopes: reads need `workflows:read`; starting, failing and cancelling runs, approving and
//! rejecting `workflows:write`. Reporting step outcomes (`steps/{step}/start`, `complete`,
//! `fail`, `time-out`) is the workflow engine's job: platform admin keys only.
//!
//! A run starts from the workflow's current version, pinned by the server from the stored
//! definition ([`WorkflowDefinition::pinned`]): the client never supplies the steps a run
//! follows. The approver is the caller, never a field of the request: a key bound to a member
//! decides as that member, with the role the member holds in the tenant now; a platform admin
//! key decides as itself, where the step allows platform admins; a service key (bound to no
//! member) never decides (403 `service_key_cannot_decide`). The run records the key and the
//! member.
//!
//! Like workflows, a run's stream id holds only the run's id, so every route checks that the
//! loaded run belongs to the tenant of the path (another tenant's run is a 404), and the list
//! finds the tenant's runs in the `resources` read model.
//!
//! [`WorkflowDefinition::pinned`]: keel_domain::workflow::WorkflowDefinition::pinned

use super::kit::paths::{RunPath, StepPath, WorkflowPath};
use super::kit::target::RunContext;
use super::kit::{
    authorize_tenant, command_route, list_route, run_create, show_route, Allowed, NoFields,
};
use super::tenant_aggregates::load_owned;
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{Caller, CommandResult};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use keel_domain::workflow::run::{
    ApprovalOutcome, ApproveStep, CancelRun, CompleteStep, Decider, FailRun, FailStep, Position,
    RejectStep, RunTrigger, RunTriggerInput, StartRun, StartStep, TimeOutApproval,
};
use keel_domain::workflow::{RunCommand, Step, StepId, WorkflowRun};
use keel_domain::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The resource name in scopes: runs are a workflow's, `workflows:read` and `workflows:write`.
const RESOURCE: &str = "workflows";

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(start)
        .service(list)
        .service(show)
        .service(start_step)
        .service(complete_step)
        .service(fail_step)
        .service(time_out)
        .service(approve)
        .service(reject)
        .service(fail)
        .service(cancel);
}

/// The body of `POST .../workflows/{workflow_id}/runs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRunRequest {
    /// The run's input (what `input.` fields read): a JSON object of the client's choosing, at
    /// most 64 KiB, or nothing (an empty object).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, serde_json::Value>>)]
    pub input: serde_json::Value,
}

/// The body of `POST .../steps/{step_id}/start`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartStepRequest {
    /// 1 for a step just reached, the failed attempt plus one for a retry.
    pub attempt: u32,
}

/// The body of `POST .../steps/{step_id}/complete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteStepRequest {
    /// The attempt that succeeded.
    pub attempt: u32,
    /// A condition step's result; required for condition steps, refused for others.
    pub result: Option<bool>,
    /// What an action produced: any JSON value of the client's choosing (at most 64 KiB);
    /// refused for condition and wait steps.
    pub output: Option<serde_json::Value>,
}

/// The body of `POST .../steps/{step_id}/fail`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailStepRequest {
    /// The attempt that failed.
    pub attempt: u32,
    /// What went wrong, 1-5000 characters.
    pub error: String,
}

/// The body of `POST .../approve`; the approver is the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The approval step.
    pub step_id: String,
    /// A note, 1-5000 characters.
    pub comment: Option<String>,
}

/// The body of `POST .../reject`; the approver is the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// The approval step.
    pub step_id: String,
    /// Why, 1-5000 characters.
    pub reason: Option<String>,
}

/// The body of `POST .../fail` and `POST .../cancel`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why, 1-5000 characters.
    pub reason: String,
}

/// A run without its steps and data, as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunSummary {
    /// Its id.
    pub id: Uuid,
    /// The workflow it runs.
    pub workflow_id: Uuid,
    /// The workflow version it is pinned to.
    pub definition_version: u32,
    /// `running`, `waiting`, `awaiting_approval`, `completed`, `failed` or `cancelled`.
    pub status: &'static str,
    /// The current step, while the run is not over.
    pub current_step: Option<String>,
}

impl RunSummary {
    /// The summary of a started run.
    pub fn of(run: &WorkflowRun) -> Self {
        RunSummary {
            id: run.run_id(),
            workflow_id: run.workflow_id(),
            definition_version: run.definition_version(),
            status: run.status().as_str(),
            current_step: run.current().map(|p| p.step_id.as_str().to_owned()),
        }
    }
}

/// A run in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    /// What the list shows.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// The tenant it belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// Where the run is: its step, the latest attempt and that attempt's phase; `null` once
    /// the run is over.
    pub current: Option<Position>,
    /// What started it, tagged by `type`.
    pub trigger: RunTrigger,
    /// Its input: the JSON object the run was started with, of the client's choosing (empty
    /// if none was given).
    #[schema(value_type = BTreeMap<String, serde_json::Value>)]
    pub input: serde_json::Value,
    /// What its `set_field` steps wrote: a JSON object whose fields the workflow's steps
    /// choose (empty until one writes).
    #[schema(value_type = BTreeMap<String, serde_json::Value>)]
    pub context: serde_json::Value,
    /// How each approval step decided so far ended, by step id: `approved`, `rejected` or
    /// `escalated`.
    pub approval_outcomes: BTreeMap<StepId, ApprovalOutcome>,
    /// Why it failed or was cancelled.
    pub end_reason: Option<String>,
    /// The steps of the pinned workflow version.
    pub steps: Vec<Step>,
}

impl RunView {
    /// The view of a started run.
    pub fn of(run: &WorkflowRun) -> Self {
        RunView {
            summary: RunSummary::of(run),
            tenant_id: run.tenant_id(),
            current: run.current().cloned(),
            trigger: run.trigger().clone(),
            input: run.input().clone(),
            context: run.context().clone(),
            approval_outcomes: run.approval_outcomes().clone(),
            end_reason: run.end_reason().map(|r| r.as_str().to_owned()),
            steps: run.steps().to_vec(),
        }
    }
}

/// Starts a manual run of a workflow's current version with a new id: 201 with its
/// `Location`. The server pins the stored definition; a workflow that is not enabled cannot
/// start runs (409).
#[utoipa::path(
    tag = "workflow-runs",
    params(WorkflowPath),
    request_body = StartRunRequest,
    responses(
        (status = 201, description = "Started", body = CommandResult<RunView>),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/workflows/{workflow_id}/runs")]
async fn start(
    state: Data<AppState>,
    caller: Caller,
    path: Path<WorkflowPath>,
    body: JsonBody<StartRunRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_tenant(&state, &caller.principal, tenant, RESOURCE, Access::Write).await?;
    let workflow = load_owned(&state.workflows, tenant, path.workflow_id).await?;
    let definition = workflow
        .state
        .pinned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a defined workflow has no version")))?;
    let run_id = Uuid::now_v7();
    let command = RunCommand::from(StartRun {
        tenant_id: tenant,
        run_id,
        definition,
        trigger: RunTriggerInput::Manual {},
        input: body.0.input,
    });
    let location = format!("/v1/tenants/{tenant}/workflow-runs/{run_id}");
    let target = RunPath {
        tenant_id: tenant,
        run_id,
    };
    run_create(&state, &caller, &target, command, RunView::of, location).await
}

list_route! {
    /// Lists a tenant's runs, oldest first, each as it stands now.
    list: "/v1/tenants/{tenant_id}/workflow-runs", "workflow-runs", RESOURCE, runs => RunSummary
}

show_route! {
    /// Shows a run; its stream version is the `ETag`.
    show: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}", "workflow-runs", RESOURCE,
    RunPath.run_id, runs => RunView
}

/// Who decides an approval: the caller. A key bound to a member decides as that member, with
/// the role the member holds in the tenant now; a platform admin key as itself. A service key
/// never decides, nor does a key whose member has left the tenant (403 either way).
fn decider(context: &RunContext) -> Result<Decider, ApiError> {
    let principal = &context.principal;
    if principal.is_admin() {
        return Ok(Decider::PlatformAdmin {
            key_id: principal.key_id,
        });
    }
    let Some(member_id) = principal.member_id else {
        return Err(ApiError::Forbidden {
            code: "service_key_cannot_decide",
            detail: "a service key (bound to no member) never approves or rejects: use a key \
                     issued for the deciding member"
                .into(),
            field: None,
        });
    };
    let member = context
        .tenant
        .member(member_id)
        .ok_or_else(|| ApiError::Forbidden {
            code: "not_a_member",
            detail: format!("member {member_id}, whom this key acts for, is not in the tenant"),
            field: None,
        })?;
    Ok(Decider::Member {
        key_id: principal.key_id,
        member_id,
        role: member.role,
    })
}

command_route! {
    "workflow-runs", Allowed::Admin, StepPath => RunView;
    /// Starts an attempt of the run's current step (platform admin keys only: the workflow
    /// engine's report). An approval step asks for approval as it starts; a wait step starts
    /// waiting.
    start_step: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/start",
        body StartStepRequest
        => |p, b, _| Ok(StartStep { step_id: p.step_id.clone(), attempt: b.attempt }.into());
    /// Reports that a started attempt succeeded (with a condition's `result` or an action's
    /// `output`); a step without a successor completes the run. Not for approval steps.
    /// Platform admin keys only: the workflow engine's report.
    complete_step: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/complete",
        body CompleteStepRequest
        => |p, b, _| {
            let (attempt, result, output) = (b.attempt, b.result, b.output);
            Ok(CompleteStep { step_id: p.step_id.clone(), attempt, result, output }.into())
        };
    /// Reports that a started attempt failed: an action with attempts left is retried after its
    /// backoff; any other failure fails the run. Platform admin keys only: the workflow
    /// engine's report.
    fail_step: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/fail",
        body FailStepRequest
        => |p, b, _| {
            let (attempt, error) = (b.attempt, b.error);
            Ok(FailStep { step_id: p.step_id.clone(), attempt, error }.into())
        };
    /// Applies an approval step's timeout rule, once its deadline has passed. Platform admin
    /// keys only: the workflow engine's report.
    time_out: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/steps/{step_id}/time-out",
        body NoFields
        => |p, _, _| Ok(TimeOutApproval { step_id: p.step_id.clone() }.into());
}
command_route! {
    "workflow-runs", Allowed::Scope(RESOURCE, Access::Write), RunPath => RunView;
    /// Records the caller's approval of the approval step awaiting decisions: a key bound to
    /// a member approves as that member (with their current role in the tenant), a platform
    /// admin key as itself where the step allows platform admins; a service key is refused
    /// (403 `service_key_cannot_decide`).
    approve: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/approve", body ApproveRequest
        => |_, b, context| {
            let (decider, step_id) = (decider(context)?, b.step_id);
            Ok(ApproveStep { decider, step_id, comment: b.comment }.into())
        };
    /// Records the caller's rejection of the approval step awaiting decisions (one rejection
    /// rejects); the caller decides as for `approve`.
    reject: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/reject", body RejectRequest
        => |_, b, context| {
            let (decider, step_id) = (decider(context)?, b.step_id);
            Ok(RejectStep { decider, step_id, reason: b.reason }.into())
        };
    /// Fails the run for a reason outside any one step.
    fail: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/fail", body ReasonRequest
        => |_, b, _| Ok(FailRun { reason: b.reason }.into());
    /// Stops the run for good.
    cancel: "/v1/tenants/{tenant_id}/workflow-runs/{run_id}/cancel", body ReasonRequest
        => |_, b, _| Ok(CancelRun { reason: b.reason }.into());
}
