//! A tenant's own aggregates (policies, workflows, runs, integrations, invoices): loading one
//! with the check that it is the tenant's, and listing a tenant's aggregates of a kind from the
//! `resources` read model.
//!
//! A list takes the ids from the `resources` read model, then the few events the read model
//! has not folded yet from the tenant's slice of the log (none, when its worker keeps up), so
//! it costs what the list holds, not the tenant's history, and still shows every write already
//! acknowledged. The aggregates are then loaded through their command handler's cache, their
//! stored versions checked in one query. Another tenant's aggregate always looks exactly like a
//! missing one: 404.

use crate::error::ApiError;
use crate::state::AppState;
use keel_commands::handler::{CommandHandler, Loaded};
use keel_domain::billing::Invoice;
use keel_domain::integration::Integration;
use keel_domain::policy::Policy;
use keel_domain::workflow::{RunStatus, WorkflowDefinition, WorkflowRun};
use keel_domain::{Aggregate, AggregateId, Refusal, TenantId};
use keel_projections::resources::{self, ResourceKind};
use std::collections::HashSet;
use uuid::Uuid;

/// Events read per page from the tenant's log after the read model's checkpoint.
const TAIL_PAGE: usize = 1_000;

/// An aggregate that belongs to one tenant once it exists: what [`load_owned`] checks.
pub(super) trait Owned: Aggregate<Error: Refusal> {
    /// The tenant it belongs to, or `None` while its stream is empty.
    fn owner(&self) -> Option<TenantId>;
}

/// An aggregate kind the `resources` read model lists: what [`list_owned`] needs.
pub(super) trait Listed: Owned {
    /// Its kind in the read model.
    const RESOURCE: ResourceKind;
}

impl Listed for WorkflowDefinition {
    const RESOURCE: ResourceKind = ResourceKind::Workflow;
}

impl Listed for WorkflowRun {
    const RESOURCE: ResourceKind = ResourceKind::WorkflowRun;
}

impl Listed for Policy {
    const RESOURCE: ResourceKind = ResourceKind::Policy;
}

impl Listed for Integration {
    const RESOURCE: ResourceKind = ResourceKind::Integration;
}

impl Owned for WorkflowDefinition {
    fn owner(&self) -> Option<TenantId> {
        self.exists().then(|| self.tenant_id())
    }
}

impl Owned for WorkflowRun {
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

/// Every aggregate of `tenant_id` of kind `A`, oldest first (see the module documentation).
pub(super) async fn list_owned<A: Listed>(
    state: &AppState,
    handler: &CommandHandler<A>,
    tenant_id: TenantId,
) -> Result<Vec<A>, ApiError> {
    let ids: Vec<AggregateId> = ids_of(state, tenant_id, A::RESOURCE)
        .await?
        .into_iter()
        .map(|id| aggregate_id(tenant_id, id))
        .collect();
    let loaded = handler.states(&ids).await?;
    // The read model files each aggregate under the tenant of its first event, which is its
    // owner; the check keeps a list to the tenant's own even so.
    Ok(loaded
        .into_iter()
        .map(|l| l.state)
        .filter(|aggregate| aggregate.owner() == Some(tenant_id))
        .collect())
}

/// The ids of `tenant_id`'s aggregates of `kind`: the read model's, then those created by the
/// events after its checkpoint (the read model may already hold some of them: the
/// checkpoint is read with its rows, and rows only grow after it).
async fn ids_of(
    state: &AppState,
    tenant_id: TenantId,
    kind: ResourceKind,
) -> Result<Vec<Uuid>, ApiError> {
    let listing = resources::list(&state.store.database(), tenant_id, kind).await?;
    let mut ids = listing.ids;
    let mut known: HashSet<Uuid> = ids.iter().copied().collect();
    let mut after = listing.through;
    loop {
        let page = state.store.read_tenant(tenant_id, after, TAIL_PAGE).await?;
        for event in page.iter().filter(|e| e.event_type == kind.created_event()) {
            let id = kind.id_in(&event.stream_id).ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "{} event {} is in stream {}",
                    event.event_type,
                    event.event_id,
                    event.stream_id
                ))
            })?;
            if known.insert(id) {
                ids.push(id);
            }
        }
        match page.last() {
            Some(last) if page.len() == TAIL_PAGE => after = last.global_position,
            _ => return Ok(ids),
        }
    }
}

impl Owned for Policy {
    fn owner(&self) -> Option<TenantId> {
        self.exists().then(|| self.tenant_id())
    }
}

impl Owned for Integration {
    fn owner(&self) -> Option<TenantId> {
        self.exists().then(|| self.tenant_id())
    }
}

impl Owned for Invoice {
    fn owner(&self) -> Option<TenantId> {
        self.tenant_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of<A: Listed>() -> (&'static str, &'static str) {
        (A::RESOURCE.as_str(), A::KIND)
    }

    #[test]
    fn each_listed_kind_is_its_aggregates_stream_kind() {
        for (resource, kind) in [
            kind_of::<Policy>(),
            kind_of::<WorkflowDefinition>(),
            kind_of::<WorkflowRun>(),
            kind_of::<Integration>(),
        ] {
            assert_eq!(resource, kind);
        }
    }
}
