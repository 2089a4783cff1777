//! What a command route acts on, and running a command there.
//!
//! A [`Target`] is a path that names one aggregate: it knows the aggregate's handler and id,
//! who may run commands on it, and what must hold before a command is decided (a tenant's
//! policy, workflow, run or integration must be that tenant's: another tenant's is a 404,
//! exactly like a missing one). [`run`] does those checks in that order, then builds the
//! command and executes it, so every command route authorizes and loads the same way; a route
//! creating an aggregate names it by the path it will be found at, for [`run_create`].

use super::access::{require_tenant, Allowed};
use super::paths::{
    DomainPath, IntegrationPath, KeyPath, MemberPath, MeterPath, PlatformPolicyPath, PolicyPath,
    RunPath, StepPath, TenantPath, WorkflowPath,
};
use crate::auth::Principal;
use crate::command::{execute, respond, Caller, Named};
use crate::error::ApiError;
use crate::routes::tenant_aggregates::{aggregate_id, load_owned, Owned};
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use keel_commands::handler::{CommandHandler, CommandOutcome};
use keel_domain::integration::Integration;
use keel_domain::policy::Policy;
use keel_domain::tenant::{Grantor, Tenant};
use keel_domain::workflow::{WorkflowDefinition, WorkflowRun};
use keel_domain::{Aggregate, AggregateId, Refusal, TenantId};
use serde::Serialize;

/// The command type of a target's aggregate.
pub type CommandOf<T> = <<T as Target>::Aggregate as Aggregate>::Command;

/// A path naming the aggregate a command route acts on.
pub trait Target {
    /// The aggregate.
    type Aggregate: Aggregate<Error: Refusal, Command: Named + 'static>;
    /// What the command is built from besides the path and the body, read once the target is
    /// checked: the caller as a [`Grantor`] for a tenant (whose commands give power away), a
    /// [`RunContext`] for a run (approvals are decided by the caller, with the role its member
    /// holds in the tenant).
    type Context;

    /// The aggregate's handler.
    fn handler(state: &AppState) -> &CommandHandler<Self::Aggregate>;

    /// The aggregate's id.
    fn id(&self) -> AggregateId;

    /// Checks that `principal` is `allowed` here.
    fn authorize(&self, principal: &Principal, allowed: Allowed) -> Result<(), ApiError> {
        allowed.check(principal, self.id().tenant_id)
    }

    /// Checks what must hold before a command is decided (404 otherwise) and reads the
    /// context for `principal`.
    async fn load(
        &self,
        state: &AppState,
        principal: &Principal,
    ) -> Result<Self::Context, ApiError>;
}

/// Runs the command `build` makes on `target` for `caller`, who must be `allowed`: authorizes,
/// loads, builds, executes (see the module documentation).
pub async fn run<T: Target>(
    state: &AppState,
    caller: &Caller,
    target: &T,
    allowed: Allowed,
    build: impl FnOnce(&T::Context) -> Result<CommandOf<T>, ApiError>,
) -> Result<CommandOutcome<T::Aggregate>, ApiError> {
    target.authorize(&caller.principal, allowed)?;
    let context = target.load(state, &caller.principal).await?;
    let command = build(&context)?;
    execute(state, T::handler(state), target.id(), command, caller).await
}

/// Executes `command`, which creates `target`'s aggregate, for `caller`, and answers `201` with
/// `view` of the aggregate it made, its `ETag`, `X-Keel-Position`, and `location` (where it is
/// shown) as its `Location`. Unlike [`run`], it neither authorizes nor loads: the aggregate does
/// not exist yet, and the route has authorized the caller on the tenant it creates it for.
pub async fn run_create<T: Target, V: Serialize>(
    state: &AppState,
    caller: &Caller,
    target: &T,
    command: CommandOf<T>,
    view: impl FnOnce(&T::Aggregate) -> V,
    location: String,
) -> Result<HttpResponse, ApiError> {
    let outcome = execute(state, T::handler(state), target.id(), command, caller).await?;
    let mut response = respond(StatusCode::CREATED, &outcome, view(&outcome.state));
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

/// Paths naming a tenant: their commands go to the tenant aggregate, which decides itself
/// whether the tenant exists.
macro_rules! tenant_targets {
    ($($path:ty),+) => {
        $(impl Target for $path {
            type Aggregate = Tenant;
            type Context = Grantor;

            fn handler(state: &AppState) -> &CommandHandler<Tenant> {
                &state.tenants
            }

            fn id(&self) -> AggregateId {
                AggregateId::tenant(self.tenant_id)
            }

            async fn load(&self, _: &AppState, principal: &Principal) -> Result<Grantor, ApiError> {
                Ok(principal.grantor())
            }
        })+
    };
}

tenant_targets!(TenantPath, MeterPath, MemberPath, DomainPath, KeyPath);

/// Paths naming an aggregate a tenant owns: a command is decided only once the aggregate is
/// known to be the tenant's (its owner never changes, so the check cannot be outdated).
macro_rules! owned_targets {
    ($($path:ty => $aggregate:ty, $handler:ident, $id:ident);+ $(;)?) => {
        $(impl Target for $path {
            type Aggregate = $aggregate;
            type Context = ();

            fn handler(state: &AppState) -> &CommandHandler<$aggregate> {
                &state.$handler
            }

            fn id(&self) -> AggregateId {
                aggregate_id(self.tenant_id, self.$id)
            }

            async fn load(&self, state: &AppState, _: &Principal) -> Result<(), ApiError> {
                owned(state, self).await
            }
        })+
    };
}

owned_targets! {
    WorkflowPath => WorkflowDefinition, workflows, workflow_id;
    IntegrationPath => Integration, integrations, integration_id;
}

/// 404 unless `target`'s aggregate exists and belongs to the tenant of its id.
async fn owned<T: Target<Aggregate: Owned>>(state: &AppState, target: &T) -> Result<(), ApiError> {
    let id = target.id();
    load_owned(T::handler(state), id.tenant_id, id.id)
        .await
        .map(drop)
}

/// A tenant's policy; under [`TenantId::PLATFORM`] only platform admin keys may act.
impl Target for PolicyPath {
    type Aggregate = Policy;
    type Context = ();

    fn handler(state: &AppState) -> &CommandHandler<Policy> {
        &state.policies
    }

    fn id(&self) -> AggregateId {
        aggregate_id(self.tenant_id, self.policy_id)
    }

    fn authorize(&self, principal: &Principal, allowed: Allowed) -> Result<(), ApiError> {
        if self.tenant_id.is_platform() {
            return principal.require_admin();
        }
        allowed.check(principal, self.tenant_id)
    }

    async fn load(&self, state: &AppState, _: &Principal) -> Result<(), ApiError> {
        owned(state, self).await
    }
}

/// A platform-wide policy: owned by [`TenantId::PLATFORM`].
impl Target for PlatformPolicyPath {
    type Aggregate = Policy;
    type Context = ();

    fn handler(state: &AppState) -> &CommandHandler<Policy> {
        &state.policies
    }

    fn id(&self) -> AggregateId {
        aggregate_id(TenantId::PLATFORM, self.policy_id)
    }

    async fn load(&self, state: &AppState, _: &Principal) -> Result<(), ApiError> {
        owned(state, self).await
    }
}

/// What a run's commands are built from: the tenant's current state and the caller.
pub struct RunContext {
    /// The run's tenant, as it stands now (its members and their roles).
    pub tenant: Tenant,
    /// Who is calling.
    pub principal: Principal,
}

/// Paths naming a run: its commands are built from the tenant's current state and the caller.
macro_rules! run_targets {
    ($($path:ty),+) => {
        $(impl Target for $path {
            type Aggregate = WorkflowRun;
            type Context = RunContext;

            fn handler(state: &AppState) -> &CommandHandler<WorkflowRun> {
                &state.runs
            }

            fn id(&self) -> AggregateId {
                aggregate_id(self.tenant_id, self.run_id)
            }

            async fn load(
                &self,
                state: &AppState,
                principal: &Principal,
            ) -> Result<RunContext, ApiError> {
                let tenant = require_tenant(state, self.tenant_id).await?;
                owned(state, self).await?;
                Ok(RunContext {
                    tenant,
                    principal: principal.clone(),
                })
            }
        })+
    };
}

run_targets!(RunPath, StepPath);
