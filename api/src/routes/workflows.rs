//! A tenant's workflow definitions: define, revise, enable, disable, archive, show and list.
//!
//! Scopes: reads need `workflows:read`, changes `workflows:write`. The runs of a workflow are
//! in [`runs`](super::runs).
//!
//! A workflow's stream id holds only the workflow's id, so every route checks that the loaded
//! definition belongs to the tenant of the path: another tenant's workflow is a 404, exactly
//! like one that does not exist.
//!
//! The list finds a tenant's workflows in the `resources` read model (plus the events it has
//! not folded yet), then loads each workflow from its stream through the handler's cache.

use super::kit::paths::{TenantPath, WorkflowPath};
use super::kit::{
    authorize_tenant, command_route, list_route, run_create, show_route, Allowed, NoFields,
};
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{Caller, CommandResult};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use keel_domain::workflow::definition::{
    ArchiveWorkflow, DefineWorkflow, DisableWorkflow, EnableWorkflow, ReviseWorkflow, StepInput,
    TriggerInput,
};
use keel_domain::workflow::{Step, Trigger, WorkflowCommand, WorkflowDefinition};
use keel_domain::TenantId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The resource name in scopes: `workflows:read`, `workflows:write`.
const RESOURCE: &str = "workflows";

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(define)
        .service(show)
        .service(revise)
        .service(enable)
        .service(disable)
        .service(archive);
}

/// The body of `POST .../workflows` (define) and `POST .../workflows/{workflow_id}/revise`: a
/// whole version of a workflow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRequest {
    /// The workflow's name, 1-200 characters.
    pub name: String,
    /// What starts its runs, tagged by `type`: `{"type": "manual"}`, `{"type": "event",
    /// "event_type": "tenant.plan_changed", "filter": "trigger.plan == 'enterprise'"}`,
    /// `{"type": "schedule", "cron": "0 9 * * mon-fri"}` or `{"type": "webhook", "hook": "..."}`.
    pub trigger: TriggerInput,
    /// Its steps, each tagged by `type` (`condition`, `action`, `approval`, `wait`); runs begin
    /// at the first. Problems are reported with the failing field's path, e.g.
    /// `steps[1].condition`.
    pub steps: Vec<StepInput>,
}

/// A workflow without its steps, as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowSummary {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// `disabled`, `enabled` or `archived`.
    pub status: &'static str,
    /// The current version, from 1.
    pub version: u32,
    /// What starts its runs (current version).
    pub trigger: Trigger,
}

impl WorkflowSummary {
    /// The summary of a defined workflow.
    pub fn of(workflow: &WorkflowDefinition) -> Self {
        WorkflowSummary {
            id: workflow.workflow_id(),
            name: workflow.name().as_str().to_owned(),
            status: workflow.status().as_str(),
            version: workflow.version(),
            trigger: workflow.trigger().clone(),
        }
    }
}

/// A workflow's current version in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowView {
    /// What the list shows.
    #[serde(flatten)]
    pub summary: WorkflowSummary,
    /// The tenant it belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// The current version's validated steps, in the shape they were given in.
    pub steps: Vec<Step>,
}

impl WorkflowView {
    /// The view of a defined workflow.
    pub fn of(workflow: &WorkflowDefinition) -> Self {
        WorkflowView {
            summary: WorkflowSummary::of(workflow),
            tenant_id: workflow.tenant_id(),
            steps: workflow.steps().to_vec(),
        }
    }
}

list_route! {
    /// Lists a tenant's workflows, oldest first, each as it stands now.
    list: "/v1/tenants/{tenant_id}/workflows", "workflows", RESOURCE, workflows => WorkflowSummary
}

/// Defines a workflow with a new id: version 1, disabled until enabled. 201 with its
/// `Location`; an invalid trigger or step is a 422 naming the field (e.g. `steps[1].condition`,
/// or `steps` for a rule about the steps as a whole, such as a loop without a wait).
#[utoipa::path(
    tag = "workflows",
    params(TenantPath),
    request_body = WorkflowRequest,
    responses(
        (status = 201, description = "Defined", body = CommandResult<WorkflowView>),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/workflows")]
async fn define(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<WorkflowRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.tenant_id;
    authorize_tenant(&state, &caller.principal, tenant, RESOURCE, Access::Write).await?;
    let request = body.0;
    let workflow_id = Uuid::now_v7();
    let command = WorkflowCommand::from(DefineWorkflow {
        tenant_id: tenant,
        workflow_id,
        name: request.name,
        trigger: request.trigger,
        steps: request.steps,
    });
    let location = format!("/v1/tenants/{tenant}/workflows/{workflow_id}");
    let target = WorkflowPath {
        tenant_id: tenant,
        workflow_id,
    };
    run_create(
        &state,
        &caller,
        &target,
        command,
        WorkflowView::of,
        location,
    )
    .await
}

show_route! {
    /// Shows a workflow's current version; its stream version is the `ETag`.
    show: "/v1/tenants/{tenant_id}/workflows/{workflow_id}", "workflows", RESOURCE,
    WorkflowPath.workflow_id, workflows => WorkflowView
}

command_route! {
    "workflows", Allowed::Scope(RESOURCE, Access::Write), WorkflowPath => WorkflowView;
    /// Replaces the workflow's name, trigger and steps as a new version. Runs already started
    /// keep their version; an identical revision is refused (409).
    revise: "/v1/tenants/{tenant_id}/workflows/{workflow_id}/revise", body WorkflowRequest
        => |_, r, _| Ok(ReviseWorkflow { name: r.name, trigger: r.trigger, steps: r.steps }.into());
    /// Lets the workflow start runs.
    enable: "/v1/tenants/{tenant_id}/workflows/{workflow_id}/enable", body NoFields
        => |_, _, _| Ok(EnableWorkflow {}.into());
    /// Stops the workflow from starting runs; runs under way continue.
    disable: "/v1/tenants/{tenant_id}/workflows/{workflow_id}/disable", body NoFields
        => |_, _, _| Ok(DisableWorkflow {}.into());
    /// Retires the workflow for good: it starts no runs and accepts no more commands.
    archive: "/v1/tenants/{tenant_id}/workflows/{workflow_id}/archive", body NoFields
        => |_, _, _| Ok(ArchiveWorkflow {}.into());
}
