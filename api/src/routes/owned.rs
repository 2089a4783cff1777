//! Aggregates that belong to one tenant: loading one with the tenant check, and listing a
//! tenant's aggregates of a kind.
//!
//! Until the projections issue brings read models, a list is found by scanning the tenant's
//! slice of the log for the events that create aggregates of the kind, then loading each (its
//! cost grows with the tenant's history). Another tenant's aggregate always looks exactly like
//! a missing one: 404.

use crate::error::ApiError;
use crate::state::AppState;
use keel_commands::handler::{CommandHandler, Loaded};
use keel_domain::billing::Invoice;
use keel_domain::integration::Integration;
use keel_domain::policy::Policy;
use keel_domain::tenant::Tenant;
use keel_domain::workflow::{RunStatus, WorkflowDefinition, WorkflowRun};
use keel_domain::{Aggregate, AggregateId, Refusal, TenantId};
use uuid::Uuid;

/// Events read per page while scanning a tenant's log.
const SCAN_PAGE: usize = 1_000;

/// An aggregate that belongs to one tenant once it exists: what [`load_owned`] checks.
pub(super) trait Owned: Aggregate<Error: Refusal> {
    /// The event type that creates an aggregate of this kind (its stream's first event).
    const CREATED: &'static str;

    /// The tenant it belongs to, or `None` while its stream is empty.
    fn owner(&self) -> Option<TenantId>;
}

impl Owned for WorkflowDefinition {
    const CREATED: &'static str = "workflow.defined";

    fn owner(&self) -> Option<TenantId> {
        self.exists().then(|| self.tenant_id())
    }
}

impl Owned for WorkflowRun {
    const CREATED: &'static str = "workflow_run.started";

    fn owner(&self) -> Option<TenantId> {
        (self.status() != RunStatus::NotStarted).then(|| self.tenant_id())
    }
}

/// The aggregate id of `tenant_id`'s aggregate `id`.
pub(super) fn aggregate_id(tenant_id: TenantId, id: Uuid) -> AggregateId {
    AggregateId { tenant_id, id }
}

/// Loads aggregate `id` of `tenant_id`: 404 unless it exists and belongs to that tenant. The
/// owner never changes once set, so a command run after this check cannot cross tenants.
pub(super) async fn load_owned<A: Owned>(
    handler: &CommandHandler<A>,
    tenant_id: TenantId,
    id: Uuid,
) -> Result<Loaded<A>, ApiError> {
    let loaded = handler.state(aggregate_id(tenant_id, id)).await?;
    if loaded.state.owner() == Some(tenant_id) {
        Ok(loaded)
    } else {
        Err(ApiError::not_found())
    }
}

/// Every aggregate of `tenant_id` whose stream begins with a `created` event, oldest first (see
/// the module documentation): the ids come from the events' stream ids (`<kind>-<id>`).
pub(super) async fn list_owned<A: Owned>(
    state: &AppState,
    handler: &CommandHandler<A>,
    tenant_id: TenantId,
) -> Result<Vec<A>, ApiError> {
    let created = A::CREATED;
    let prefix = format!("{}-", A::KIND);
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let page = state.store.read_tenant(tenant_id, after, SCAN_PAGE).await?;
        for event in page.iter().filter(|e| e.event_type == created) {
            let id = event
                .stream_id
                .strip_prefix(&prefix)
                .and_then(|id| id.parse::<Uuid>().ok())
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!(
                        "{created} event {} is in stream {}",
                        event.event_id,
                        event.stream_id
                    ))
                })?;
            ids.push(id);
        }
        match page.last() {
            Some(last) if page.len() == SCAN_PAGE => after = last.global_position,
            _ => break,
        }
    }
    let loads = ids.into_iter().map(|id| load_owned(handler, tenant_id, id));
    futures::future::try_join_all(loads)
        .await
        .map(|loaded| loaded.into_iter().map(|l| l.state).collect())
}

impl Owned for Policy {
    const CREATED: &'static str = "policy.drafted";

    fn owner(&self) -> Option<TenantId> {
        self.exists().then(|| self.tenant_id())
    }
}

impl Owned for Integration {
    const CREATED: &'static str = "integration.registered";

    fn owner(&self) -> Option<TenantId> {
        self.exists().then(|| self.tenant_id())
    }
}

impl Owned for Invoice {
    const CREATED: &'static str = "billing.invoice_finalized";

    fn owner(&self) -> Option<TenantId> {
        self.tenant_id()
    }
}

/// The tenant's state; 404 unless it exists.
pub(super) async fn require_tenant(
    state: &AppState,
    tenant_id: TenantId,
) -> Result<Tenant, ApiError> {
    let tenant = state.tenants.state(AggregateId::tenant(tenant_id)).await?;
    if tenant.state.exists() {
        Ok(tenant.state)
    } else {
        Err(ApiError::not_found())
    }
}
