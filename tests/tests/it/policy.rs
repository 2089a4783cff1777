//! The policy aggregate through the command handler, on both backends: a tenant policy and a
//! platform-wide one go from draft to archive, their events land in the global log with the
//! owning tenant (or the platform) in the metadata, a refusal appends nothing, and the versions
//! in force evaluate as the domain says.

use keel_commands::handler::{CommandError, CommandHandler, HandlerConfig};
use keel_domain::policy::{
    evaluate, ArchivePolicy, DeactivatePolicy, DraftPolicy, MfaStatus, Policy, PolicyCommand,
    PolicyDocumentInput, PolicyError, PolicyEvent, PolicyStatus, PublishPolicy, ReasonCode,
    RequestContext, RevisePolicy,
};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{EventMetadata, EventStore, RecordedEvent};
use keel_tests::{Backend, TestDatabase};
use serde_json::json;
use std::sync::Arc;

both_backends!(
    a_tenant_policy_goes_from_draft_to_archive,
    a_platform_policy_goes_from_draft_to_archive,
    a_refused_command_appends_nothing,
    the_versions_in_force_evaluate_platform_first_and_tenant_on_top,
);

fn policy_of(tenant_id: TenantId) -> AggregateId {
    AggregateId {
        tenant_id,
        id: uuid::Uuid::now_v7(),
    }
}

fn meta(id: AggregateId) -> EventMetadata {
    EventMetadata::new(id.tenant_id, Actor::System("test".into()))
}

fn document(value: serde_json::Value) -> PolicyDocumentInput {
    serde_json::from_value(value).expect("a valid document shape")
}

fn allow(roles: &[&str], actions: &[&str]) -> PolicyDocumentInput {
    document(json!({"kind": "access", "rules": [
        {"effect": "allow", "roles": roles, "actions": actions, "resources": ["*"]}
    ]}))
}

fn draft(id: AggregateId, name: &str, document: PolicyDocumentInput) -> PolicyCommand {
    DraftPolicy {
        policy_id: id.id,
        tenant_id: id.tenant_id,
        name: name.into(),
        document,
    }
    .into()
}

/// Runs `commands` on policy `id`, each of which must succeed.
async fn run(handler: &CommandHandler<Policy>, id: AggregateId, commands: Vec<PolicyCommand>) {
    for command in commands {
        let name = command.name();
        handler
            .execute(id, command, meta(id), None)
            .await
            .unwrap_or_else(|e| panic!("`{name}` was refused: {e}"));
    }
}

/// Every event of the global log.
async fn all_events(store: &Arc<dyn EventStore>) -> Vec<RecordedEvent> {
    store.read_all(0, 1_000).await.unwrap()
}

/// Drafts, revises, publishes, deactivates, republishes a newer version and archives a policy
/// of `tenant_id`, then checks what the global log holds.
async fn full_life(backend: Backend, tenant_id: TenantId) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Policy>::new(store.clone(), HandlerConfig::default());
    let id = policy_of(tenant_id);
    run(
        &handler,
        id,
        vec![
            draft(id, "Admins only", allow(&["admin"], &["*"])),
            RevisePolicy {
                document: allow(&["admin", "owner"], &["*"]),
            }
            .into(),
            PublishPolicy { version: 2 }.into(),
            DeactivatePolicy {}.into(),
            RevisePolicy {
                document: allow(&["owner"], &["*"]),
            }
            .into(),
            PublishPolicy { version: 3 }.into(),
            ArchivePolicy {}.into(),
        ],
    )
    .await;

    let events = all_events(&store).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "policy.drafted",
            "policy.revised",
            "policy.published",
            "policy.deactivated",
            "policy.revised",
            "policy.published",
            // Archiving the active policy deactivates it first, in the same append.
            "policy.deactivated",
            "policy.archived",
        ]
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event.stream_id, format!("policy-{}", id.id));
        assert_eq!(event.stream_version, index as u64 + 1);
        assert_eq!(event.metadata.tenant_id, tenant_id);
        assert_eq!(event.schema_version, 1);
        let decoded: PolicyEvent = event.decode().unwrap();
        let payload = event.to_json().data;
        assert_eq!(payload["tenant_id"], tenant_id.to_string(), "{decoded:?}");
        assert_eq!(payload["policy_id"], id.id.to_string());
        assert_eq!(payload["kind"], "access");
        assert_eq!(payload["name"], "Admins only");
    }
    let published = events[2].to_json().data;
    assert_eq!(published["version"], 2);
    assert_eq!(
        published["document"]["rules"][0]["roles"],
        json!(["admin", "owner"])
    );

    let loaded = handler.state(id).await.unwrap();
    assert_eq!(loaded.version, 8);
    assert_eq!(loaded.state.status(), PolicyStatus::Archived);
    assert_eq!(loaded.state.versions().len(), 3);
    assert!(loaded.state.active().is_none());
    assert_eq!(loaded.state.is_platform_wide(), tenant_id.is_platform());
}

async fn a_tenant_policy_goes_from_draft_to_archive(backend: Backend) {
    full_life(backend, TenantId(uuid::Uuid::now_v7())).await;
}

async fn a_platform_policy_goes_from_draft_to_archive(backend: Backend) {
    full_life(backend, TenantId::PLATFORM).await;
}

async fn a_refused_command_appends_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Policy>::new(store.clone(), HandlerConfig::default());
    let id = policy_of(TenantId(uuid::Uuid::now_v7()));

    // Before the draft: not found.
    let error = handler
        .execute(id, PublishPolicy { version: 1 }.into(), meta(id), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CommandError::Domain(PolicyError::NotFound)),
        "{error}"
    );
    assert_eq!(store.head_position().await.unwrap(), 0);

    // An invalid draft: the failing rule field is named.
    let bad = document(json!({"kind": "ip_allowlist", "rules": [{"cidr": "10.0.0.0/33"}]}));
    let error = handler
        .execute(id, draft(id, "Office", bad), meta(id), None)
        .await
        .unwrap_err();
    match error {
        CommandError::Domain(error) => {
            assert_eq!(error.field(), Some("document.rules[0].cidr"))
        }
        other => panic!("expected a domain refusal, got {other}"),
    }
    assert_eq!(store.head_position().await.unwrap(), 0);

    let office = document(json!({"kind": "ip_allowlist", "rules": [{"cidr": "10.0.0.0/8"}]}));
    run(
        &handler,
        id,
        vec![draft(id, "Office", office), ArchivePolicy {}.into()],
    )
    .await;
    assert_eq!(store.head_position().await.unwrap(), 2);

    // After the archive: everything is refused and nothing is written.
    let revise = RevisePolicy {
        document: document(json!({"kind": "ip_allowlist", "rules": []})),
    };
    let error = handler
        .execute(id, revise.into(), meta(id), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CommandError::Domain(PolicyError::Archived)),
        "{error}"
    );
    assert_eq!(store.head_position().await.unwrap(), 2);
    assert_eq!(
        store.stream_version(&id.stream_id("policy")).await.unwrap(),
        2
    );
}

async fn the_versions_in_force_evaluate_platform_first_and_tenant_on_top(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let handler = CommandHandler::<Policy>::new(store.clone(), HandlerConfig::default());
    let tenant = TenantId(uuid::Uuid::now_v7());
    let platform_access = policy_of(TenantId::PLATFORM);
    let tenant_deny = policy_of(tenant);
    let deny_billing = document(json!({"kind": "access", "rules": [
        {"effect": "deny", "roles": ["*"], "actions": ["billing.*"], "resources": ["*"]}
    ]}));
    run(
        &handler,
        platform_access,
        vec![
            draft(platform_access, "Admins", allow(&["admin"], &["*"])),
            PublishPolicy { version: 1 }.into(),
        ],
    )
    .await;
    run(
        &handler,
        tenant_deny,
        vec![
            draft(tenant_deny, "No billing", deny_billing),
            PublishPolicy { version: 1 }.into(),
        ],
    )
    .await;

    let mut active = Vec::new();
    for id in [platform_access, tenant_deny] {
        active.extend(handler.state(id).await.unwrap().state.active());
    }
    let request = |action: &str| RequestContext {
        tenant_id: tenant,
        role: "admin".into(),
        action: action.into(),
        resource: "tenants/1".into(),
        ip: None,
        at: chrono::Utc::now(),
        mfa: MfaStatus::NotApplicable,
    };
    assert!(evaluate(&active, &request("tenants.rename")).is_allowed());
    let denied = evaluate(&active, &request("billing.refund"));
    assert!(!denied.is_allowed());
    assert_eq!(denied.reasons[0].code, ReasonCode::AccessDenied);
    let source = denied.reasons[0].source.unwrap();
    assert_eq!((source.policy_id, source.version), (tenant_deny.id, 1));
}
