//! The tenant aggregate through the command handler, on both backends: creation with a
//! unique slug (also under concurrent creation), events in the global log with their tenant,
//! and refusals that append nothing.

use keel_commands::handler::{CommandError, CommandHandler, Conflict, HandlerConfig};
use keel_domain::tenant::{
    CreateTenant, RenameTenant, SuspendTenant, Tenant, TenantCommand, TenantError, TenantStatus,
};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{EventMetadata, EventStore};
use keel_tests::{Backend, TestDatabase};
use std::sync::Arc;

both_backends!(
    a_created_tenant_is_in_the_log_with_its_tenant_id,
    only_one_of_many_concurrent_creations_gets_a_slug,
    a_suspended_tenant_refuses_rename_and_nothing_is_appended,
);

fn create(tenant_id: TenantId, slug: &str) -> TenantCommand {
    TenantCommand::Create(CreateTenant {
        tenant_id,
        name: format!("Tenant {slug}"),
        slug: slug.to_owned(),
        plan: "standard".into(),
        data_region: "eu-west-1".into(),
        owner_email: format!("owner@{slug}.example"),
        owner_member_id: uuid::Uuid::now_v7(),
    })
}

fn meta(tenant_id: TenantId) -> EventMetadata {
    EventMetadata::new(tenant_id, Actor::ApiKey("admin".into()))
}

async fn a_created_tenant_is_in_the_log_with_its_tenant_id(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Tenant>::new(store.clone(), HandlerConfig::default());
    let tenant = TenantId(uuid::Uuid::now_v7());
    let outcome = handler
        .execute(
            AggregateId::tenant(tenant),
            create(tenant, "acme"),
            meta(tenant),
            None,
        )
        .await
        .unwrap();
    assert_eq!(outcome.state.status(), TenantStatus::Active);
    assert_eq!(outcome.stream_version, 2, "created, then the owner added");

    let events = store.read_all(0, 100).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["tenant.created", "tenant.member_added", "claim.reserved"]
    );
    assert!(events.iter().all(|e| e.metadata.tenant_id == tenant));
    assert_eq!(outcome.global_position, Some(events[1].global_position));
    assert_eq!(events[2].stream_id, "claim-tenant-slug-acme");
    assert_eq!(events[0].to_json().data["slug"], "acme");
}

async fn only_one_of_many_concurrent_creations_gets_a_slug(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store: Arc<dyn EventStore> = db.open().await;
    // Separate handlers stand for separate processes: no in-process queue can help.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let handler = CommandHandler::<Tenant>::new(store.clone(), HandlerConfig::default());
            tokio::spawn(async move {
                let tenant = TenantId(uuid::Uuid::now_v7());
                handler
                    .execute(
                        AggregateId::tenant(tenant),
                        create(tenant, "contested"),
                        meta(tenant),
                        None,
                    )
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(CommandError::Conflict(Conflict::Taken { scope, value })) => {
                assert_eq!((scope, value.as_str()), ("tenant-slug", "contested"))
            }
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(created, 1);
    let events = store.read_all(0, 1000).await.unwrap();
    let creations = events
        .iter()
        .filter(|e| e.event_type == "tenant.created")
        .count();
    assert_eq!(creations, 1, "the losers appended nothing");
}

async fn a_suspended_tenant_refuses_rename_and_nothing_is_appended(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Tenant>::new(store.clone(), HandlerConfig::default());
    let tenant = TenantId(uuid::Uuid::now_v7());
    let id = AggregateId::tenant(tenant);
    handler
        .execute(id, create(tenant, "sleepy"), meta(tenant), None)
        .await
        .unwrap();
    let suspend = TenantCommand::Suspend(SuspendTenant {
        reason: "unpaid invoices".into(),
    });
    handler
        .execute(id, suspend, meta(tenant), None)
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();
    let rename = TenantCommand::Rename(RenameTenant {
        name: "Awake".into(),
    });
    let error = handler
        .execute(id, rename, meta(tenant), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CommandError::Domain(TenantError::Suspended)),
        "{error}"
    );
    assert_eq!(store.head_position().await.unwrap(), head);
}
