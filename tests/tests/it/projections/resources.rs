//! The resources read model fed directly with events: each tenant's aggregates of each kind in
//! creation order and no one else's, the platform's policies under the nil tenant, events that
//! create nothing passed over, and rebuilds identical to the incremental build.

use super::support::{scalar, tenant};
use keel_domain::TenantId;
use keel_projections::resources::{self, ResourceKind};
use keel_projections::{RebuildMode, Workers};
use keel_store::{EventStore, ExpectedVersion, StreamAppend};
use keel_tests::AsLog;
use keel_tests::{sample_event, Backend, TestDatabase};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

both_backends!(
    each_tenants_resources_are_listed_in_creation_order,
    rebuilds_write_the_rows_of_the_incremental_build,
);

/// Creates an aggregate of `kind` for `owner` (its first event, then one that creates nothing);
/// returns its id and the position of its last event.
async fn create(store: &Arc<dyn EventStore>, owner: TenantId, kind: ResourceKind) -> (Uuid, u64) {
    let id = Uuid::now_v7();
    let mut events = vec![
        sample_event(kind.created_event()),
        sample_event("test.happened"),
    ];
    for event in &mut events {
        event.metadata.tenant_id = owner;
    }
    let results = store
        .append_streams(vec![StreamAppend {
            stream_id: format!("{}-{id}", kind.as_str()),
            expected: ExpectedVersion::NoStream,
            events,
        }])
        .await
        .expect("append");
    (id, results[0].global_position)
}

/// Creates, round-robin over two tenants and the platform, three aggregates of each kind.
async fn populate(store: &Arc<dyn EventStore>) -> (Vec<(TenantId, ResourceKind, Uuid)>, u64) {
    let owners = [tenant(0), tenant(1), TenantId::PLATFORM];
    let mut created = Vec::new();
    let mut head = 0;
    for _ in 0..3 {
        for kind in ResourceKind::ALL {
            for owner in owners {
                // Only policies can be the platform's.
                if owner.is_platform() && kind != ResourceKind::Policy {
                    continue;
                }
                let (id, position) = create(store, owner, kind).await;
                created.push((owner, kind, id));
                head = position;
            }
        }
    }
    (created, head)
}

/// A database with the aggregates of [`populate`], and the workers once `resources` folded them.
struct Folded {
    _db: TestDatabase,
    store: Arc<dyn EventStore>,
    created: Vec<(TenantId, ResourceKind, Uuid)>,
    head: u64,
    workers: Workers,
}

async fn folded(backend: Backend) -> Folded {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let (created, head) = populate(&store).await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    assert!(
        workers
            .wait_for("resources", head, Duration::from_secs(10))
            .await
    );
    Folded {
        _db: db,
        store,
        created,
        head,
        workers,
    }
}

async fn each_tenants_resources_are_listed_in_creation_order(backend: Backend) {
    let Folded {
        _db,
        store,
        created,
        head,
        workers,
    } = folded(backend).await;

    for owner in [tenant(0), tenant(1), TenantId::PLATFORM, tenant(2)] {
        for kind in ResourceKind::ALL {
            let listing = resources::list(&store.database(), owner, kind)
                .await
                .unwrap();
            let expected: Vec<Uuid> = created
                .iter()
                .filter(|(o, k, _)| *o == owner && *k == kind)
                .map(|(_, _, id)| *id)
                .collect();
            assert_eq!(listing.ids, expected, "{owner} {kind:?}");
            assert!(listing.through >= head);
        }
    }
    workers.stop().await;
}

async fn rebuilds_write_the_rows_of_the_incremental_build(backend: Backend) {
    let Folded {
        _db,
        store,
        created,
        workers,
        ..
    } = folded(backend).await;
    workers.stop().await;

    let incremental = keel_projections::checksum(&store.log(), "resources")
        .await
        .unwrap();
    for mode in [RebuildMode::BlueGreen, RebuildMode::Reset] {
        keel_projections::rebuild(&store.log(), "resources", mode, |_| {})
            .await
            .unwrap();
        let rows = scalar(&store, "SELECT COUNT(*) FROM resources").await;
        assert_eq!(rows as usize, created.len(), "{mode:?}");
        assert_eq!(
            keel_projections::checksum(&store.log(), "resources")
                .await
                .unwrap(),
            incremental,
            "{mode:?}"
        );
    }
    let check = keel_projections::check(&store.log(), "resources")
        .await
        .unwrap();
    assert_eq!(check.first_difference, None);
    // After the blue/green rebuild another generation serves; lists follow it.
    let listing = resources::list(&store.database(), tenant(0), ResourceKind::Workflow)
        .await
        .unwrap();
    assert_eq!(listing.ids.len(), 3);
}
