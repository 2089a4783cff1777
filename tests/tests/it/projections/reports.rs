//! The reports projection fed directly with events: exact rows, what the reports make of them
//! (states at an instant, plans at their effective time, policy versions in force, denials),
//! a rebuild identical to the incremental build, and a worker process killed between batches
//! counting every tenant once.

use super::support::{kill_worker_between_batches, scalar, tenant};
use chrono::{DateTime, TimeZone, Utc};
use keel_domain::access::{
    access_stream, AccessDenialsRecorded, AccessEvent, DenialReason, DeniedRequest,
};
use keel_domain::billing::Catalogue;
use keel_domain::policy::{
    PolicyDeactivated, PolicyDocument, PolicyEvent, PolicyKind, PolicyName, PolicyPublished,
    ReasonCode,
};
use keel_domain::shared::{Email, Plan, Reason};
use keel_domain::tenant::{
    PlanChanged, Region, TenantCreated, TenantDecommissioned, TenantEvent, TenantName,
    TenantReactivated, TenantSlug, TenantSuspended,
};
use keel_domain::{Actor, DomainEvent, TenantId};
use keel_projections::framework::batch::BatchStep;
use keel_projections::framework::worker::Worker;
use keel_projections::reports::{self, denials, policies, Granularity, Report, ReportRange};
use keel_projections::RebuildMode;
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StreamAppend};
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};
use std::sync::Arc;
use uuid::Uuid;

both_backends!(
    report_rows_are_exact_and_a_rebuild_is_identical,
    a_killed_reports_worker_counts_every_tenant_once,
);

/// A month of the overview: month, new, churned, (plan, tenants, revenue) and total revenue.
type MonthRow = (String, u64, u64, Vec<(String, u64, i64)>, i64);

/// Noon of a day of 2026.
fn day(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 12, 0, 0).unwrap()
}

/// The start of a day of 2026.
fn midnight(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 0, 0, 0).unwrap()
}

/// An event of `tenant` that happened at `at`.
fn event<E: DomainEvent>(tenant: TenantId, event: E, at: DateTime<Utc>) -> NewEvent {
    let mut metadata = EventMetadata::new(tenant, Actor::System("test".into()));
    metadata.occurred_at = at;
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        payload: event.encode().unwrap(),
        metadata,
    }
}

fn created(n: usize, plan: &str, at: DateTime<Utc>) -> NewEvent {
    let id = tenant(n);
    event(
        id,
        TenantEvent::Created(TenantCreated {
            tenant_id: id,
            name: TenantName::parse(&format!("Tenant {n}")).unwrap(),
            slug: TenantSlug::parse(&format!("tenant-{n}")).unwrap(),
            plan: Plan::parse(plan).unwrap(),
            data_region: Region::parse("eu-west-1").unwrap(),
            owner_member_id: Uuid::now_v7(),
            owner_email: Email::parse("owner@example.com").unwrap(),
        }),
        at,
    )
}

fn tenant_event(n: usize, event_: TenantEvent, at: DateTime<Utc>) -> NewEvent {
    event(tenant(n), event_, at)
}

fn published(owner: TenantId, policy: Uuid, version: u32, at: DateTime<Utc>) -> NewEvent {
    event(
        owner,
        PolicyEvent::Published(PolicyPublished {
            tenant_id: owner,
            policy_id: policy,
            name: PolicyName::parse("Admins only").unwrap(),
            kind: PolicyKind::Access,
            version,
            document: PolicyDocument::Access(Vec::new()),
            replaced_version: version.checked_sub(1).filter(|v| *v > 0),
        }),
        at,
    )
}

fn denial(at: DateTime<Utc>, subject: &str) -> DeniedRequest {
    DeniedRequest {
        decided_at: at,
        requested_at: at,
        asked_by: "key-1".into(),
        subject: Some(subject.into()),
        role: "viewer".into(),
        action: "tenants.suspend".into(),
        resource: "tenants/1".into(),
        ip: Some("10.0.0.7".into()),
        reasons: vec![DenialReason {
            code: ReasonCode::NoAccessRule,
            policy_id: None,
            version: None,
        }],
    }
}

async fn append(store: &Arc<dyn EventStore>, stream: &str, events: Vec<NewEvent>) -> u64 {
    store
        .append(stream, ExpectedVersion::Any, events)
        .await
        .expect("append")
        .global_position
}

async fn rows(store: &Arc<dyn EventStore>, sql: &str) -> Vec<(String, i64, String, String)> {
    keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_as(sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

async fn report_rows_are_exact_and_a_rebuild_is_identical(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    keel_projections::setup(&store.log()).await.unwrap();
    let stream = |n: usize| format!("tenant-{}", tenant(n));
    append(
        &store,
        &stream(0),
        vec![
            created(0, "free", day(11, 3)),
            // Recorded on the 5th, in force from the 10th.
            tenant_event(
                0,
                TenantEvent::PlanChanged(PlanChanged {
                    previous_plan: Plan::Free,
                    plan: Plan::Standard,
                    effective_at: day(11, 10),
                }),
                day(11, 5),
            ),
        ],
    )
    .await;
    append(&store, &stream(1), vec![created(1, "premium", day(11, 20))]).await;
    let policy = Uuid::from_u128(0xabc);
    let platform_policy = Uuid::from_u128(0xdef);
    append(
        &store,
        &format!("policy-{platform_policy}"),
        vec![published(
            TenantId::PLATFORM,
            platform_policy,
            1,
            day(11, 1),
        )],
    )
    .await;
    append(
        &store,
        &format!("policy-{policy}"),
        vec![
            published(tenant(0), policy, 1, day(11, 4)),
            published(tenant(0), policy, 2, day(11, 12)),
            event(
                tenant(0),
                PolicyEvent::Deactivated(PolicyDeactivated {
                    tenant_id: tenant(0),
                    policy_id: policy,
                    name: PolicyName::parse("Admins only").unwrap(),
                    kind: PolicyKind::Access,
                    version: 2,
                }),
                day(11, 20),
            ),
        ],
    )
    .await;
    let ten = Utc.with_ymd_and_hms(2026, 11, 15, 10, 0, 0).unwrap();
    let ten_one = ten + chrono::Duration::minutes(1);
    append(
        &store,
        &access_stream(tenant(0)),
        vec![event(
            tenant(0),
            AccessEvent::DenialsRecorded(AccessDenialsRecorded {
                from: ten,
                to: ten_one,
                denials: vec![denial(ten, "bob"), denial(ten_one, "eve")],
                omitted: 3,
            }),
            ten_one,
        )],
    )
    .await;
    append(
        &store,
        &stream(0),
        vec![
            tenant_event(
                0,
                TenantEvent::Suspended(TenantSuspended {
                    reason: Reason::parse("unpaid").unwrap(),
                }),
                day(12, 2),
            ),
            tenant_event(
                0,
                TenantEvent::Reactivated(TenantReactivated {}),
                day(12, 5),
            ),
        ],
    )
    .await;
    append(
        &store,
        &stream(1),
        vec![tenant_event(
            1,
            TenantEvent::Decommissioned(TenantDecommissioned {}),
            day(12, 10),
        )],
    )
    .await;
    append(&store, &stream(2), vec![created(2, "free", day(12, 15))]).await;

    // Small batches: the rows must not depend on where batches end.
    let worker = Worker::new(
        keel_projections::projection("reports").unwrap(),
        store.clone(),
        3,
    );
    assert_eq!(worker.catch_up().await.unwrap(), BatchStep::CaughtUp);

    let micros = |t: DateTime<Utc>| t.timestamp_micros();
    let history = rows(
        &store,
        "SELECT tenant_id, at, kind || ':' || value, event FROM report_tenant_history ORDER BY position, kind",
    )
    .await;
    let t = |n: usize| tenant(n).to_string();
    assert_eq!(
        history,
        vec![
            (
                t(0),
                micros(day(11, 3)),
                "plan:free".into(),
                "created".into()
            ),
            (
                t(0),
                micros(day(11, 3)),
                "status:active".into(),
                "created".into()
            ),
            (
                t(0),
                micros(day(11, 10)),
                "plan:standard".into(),
                "plan_changed".into()
            ),
            (
                t(1),
                micros(day(11, 20)),
                "plan:premium".into(),
                "created".into()
            ),
            (
                t(1),
                micros(day(11, 20)),
                "status:active".into(),
                "created".into()
            ),
            (
                t(0),
                micros(day(12, 2)),
                "status:suspended".into(),
                "suspended".into()
            ),
            (
                t(0),
                micros(day(12, 5)),
                "status:active".into(),
                "reactivated".into()
            ),
            (
                t(1),
                micros(day(12, 10)),
                "status:decommissioned".into(),
                "decommissioned".into()
            ),
            (
                t(2),
                micros(day(12, 15)),
                "plan:free".into(),
                "created".into()
            ),
            (
                t(2),
                micros(day(12, 15)),
                "status:active".into(),
                "created".into()
            ),
        ]
    );
    let policy_rows = rows(
        &store,
        "SELECT policy_id, version, event, owner_id FROM report_policy_events ORDER BY position",
    )
    .await;
    let (p, q) = (policy.to_string(), platform_policy.to_string());
    assert_eq!(
        policy_rows,
        vec![
            (
                q.clone(),
                1,
                "published".into(),
                TenantId::PLATFORM.to_string()
            ),
            (p.clone(), 1, "published".into(), t(0)),
            (p.clone(), 2, "published".into(), t(0)),
            (p.clone(), 2, "deactivated".into(), t(0)),
        ]
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM report_denials").await,
        2
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT CAST(SUM(omitted) AS BIGINT) FROM report_denial_batches"
        )
        .await,
        3
    );

    let database = store.database();
    let catalogue = Catalogue::builtin();
    let price = |plan: Plan| catalogue.price(plan).base_price_minor as i64;
    let range = |from, to| ReportRange::new(from, to).unwrap();
    let overview = reports::overview(
        &database,
        &range(day(11, 1), day(12, 20)),
        Granularity::Month,
        &catalogue,
    )
    .await
    .unwrap();
    assert_eq!(overview.tenants.total, 3);
    assert_eq!(
        serde_json::to_value(&overview.tenants.by_status).unwrap(),
        serde_json::json!({"active": 2, "decommissioned": 1})
    );
    assert_eq!(
        serde_json::to_value(&overview.tenants.by_plan).unwrap(),
        serde_json::json!({"free": 1, "premium": 1, "standard": 1})
    );
    let months: Vec<MonthRow> = overview
        .months
        .iter()
        .map(|m| {
            (
                m.month.clone(),
                m.new_tenants,
                m.churned_tenants,
                m.mrr_by_plan
                    .iter()
                    .map(|p| (p.plan.clone(), p.tenants, p.amount_minor))
                    .collect(),
                m.mrr_total_minor,
            )
        })
        .collect();
    let (free, standard, premium) = (
        price(Plan::Free),
        price(Plan::Standard),
        price(Plan::Premium),
    );
    assert_eq!(
        months,
        vec![
            (
                "2026-11".into(),
                2,
                0,
                vec![
                    ("premium".into(), 1, premium),
                    ("standard".into(), 1, standard)
                ],
                premium + standard
            ),
            (
                "2026-12".into(),
                1,
                1,
                vec![("free".into(), 1, free), ("standard".into(), 1, standard)],
                free + standard
            ),
        ]
    );
    assert_eq!(overview.months[0].currency, catalogue.currency());
    // The plan change recorded on the 5th is in force from the 10th.
    let early = reports::overview(
        &database,
        &range(day(11, 1), day(11, 8)),
        Granularity::Day,
        &catalogue,
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&early.tenants.by_plan).unwrap(),
        serde_json::json!({"free": 1})
    );
    assert_eq!(
        early.usage[0].points.len(),
        8,
        "a point per day, the 1st to the 8th"
    );
    let during_suspension = reports::overview(
        &database,
        &range(day(12, 1), day(12, 3)),
        Granularity::Month,
        &catalogue,
    )
    .await
    .unwrap();
    assert_eq!(
        during_suspension.months[0].mrr_by_plan.len(),
        1,
        "only the premium tenant pays while the other is suspended"
    );

    let in_force = |from, to| {
        let database = database.clone();
        async move {
            policies::versions_in_force(&database, tenant(0), &range(from, to))
                .await
                .unwrap()
                .into_iter()
                .map(|s| {
                    (
                        s.policy_id,
                        s.version,
                        s.platform_wide,
                        s.active_until.is_some(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        in_force(day(11, 1), day(12, 1)).await,
        vec![
            (q.clone(), 1, true, false),
            (p.clone(), 1, false, true),
            (p.clone(), 2, false, true),
        ]
    );
    assert_eq!(
        in_force(day(11, 13), day(12, 1)).await,
        vec![(q.clone(), 1, true, false), (p.clone(), 2, false, true)],
        "version 1 went out of force on the 12th"
    );
    assert_eq!(
        in_force(day(11, 21), day(12, 1)).await,
        vec![(q.clone(), 1, true, false)],
        "version 2 was deactivated on the 20th"
    );
    let whole_day = denials::denials(
        &database,
        tenant(0),
        &range(midnight(11, 15), midnight(11, 16)),
        10,
    )
    .await
    .unwrap();
    assert_eq!((whole_day.total, whole_day.omitted), (5, 3));
    assert_eq!(whole_day.items.len(), 2);
    assert!(!whole_day.truncated);
    let limited = denials::denials(
        &database,
        tenant(0),
        &range(midnight(11, 15), midnight(11, 16)),
        1,
    )
    .await
    .unwrap();
    assert_eq!((limited.items.len(), limited.truncated), (1, true));
    assert_eq!(limited.items[0].subject.as_deref(), Some("bob"));
    let late = denials::denials(&database, tenant(0), &range(ten_one, midnight(11, 16)), 10)
        .await
        .unwrap();
    assert_eq!(
        (late.total, late.items.len()),
        (4, 1),
        "the omitted ones count where their batch ended"
    );
    let other = denials::denials(&database, tenant(1), &range(day(11, 1), day(12, 1)), 10)
        .await
        .unwrap();
    assert_eq!(other.total, 0, "another tenant sees none of them");
    let compliance =
        reports::compliance(&database, tenant(0), &range(day(11, 1), day(12, 1)), None)
            .await
            .unwrap();
    assert_eq!(compliance.policy_versions.len(), 3);
    assert_eq!(compliance.access_denials.total, 5);
    let csv = String::from_utf8(compliance.to_csv()).unwrap();
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with("policy_version,"))
            .count(),
        3
    );
    assert_eq!(csv.lines().filter(|l| l.starts_with("denial,")).count(), 2);

    let incremental = keel_projections::checksum(&store.log(), "reports")
        .await
        .unwrap();
    for mode in [RebuildMode::BlueGreen, RebuildMode::Reset] {
        keel_projections::rebuild(&store.log(), "reports", mode, |_| {})
            .await
            .unwrap();
        assert_eq!(
            keel_projections::checksum(&store.log(), "reports")
                .await
                .unwrap(),
            incremental,
            "{mode:?}"
        );
    }
    let check = keel_projections::check(&store.log(), "reports")
        .await
        .unwrap();
    assert_eq!(check.first_difference, None);
}

async fn a_killed_reports_worker_counts_every_tenant_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let tenants = 2000;
    for start in (0..tenants).step_by(200) {
        let appends = (start..start + 200)
            .map(|n| {
                let mut events = vec![created(n, "standard", day(11, 2))];
                if n % 2 == 0 {
                    events.push(tenant_event(
                        n,
                        TenantEvent::Suspended(TenantSuspended {
                            reason: Reason::parse("unpaid").unwrap(),
                        }),
                        day(11, 3),
                    ));
                }
                StreamAppend {
                    stream_id: format!("tenant-{}", tenant(n)),
                    expected: ExpectedVersion::NoStream,
                    events,
                }
            })
            .collect();
        store.append_streams(appends).await.expect("append tenants");
    }
    let head = store.head_position().await.unwrap();
    keel_projections::setup(&store.log()).await.unwrap();
    let last_seen = kill_worker_between_batches(&db.url, "reports", 41, head, 5).await;
    assert!(last_seen < head, "the worker was killed before finishing");
    let worker = Worker::new(
        keel_projections::projection("reports").unwrap(),
        store.clone(),
        41,
    );
    assert_eq!(worker.catch_up().await.unwrap(), BatchStep::CaughtUp);
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM report_tenant_history").await,
        (tenants * 2 + tenants / 2) as i64
    );
    let overview = reports::overview(
        &store.database(),
        &ReportRange::new(day(11, 1), day(11, 30)).unwrap(),
        Granularity::Month,
        &Catalogue::builtin(),
    )
    .await
    .unwrap();
    assert_eq!(overview.tenants.total, tenants as u64);
    assert_eq!(
        serde_json::to_value(&overview.tenants.by_status).unwrap(),
        serde_json::json!({"active": 1000, "suspended": 1000})
    );
    assert_eq!(overview.months[0].new_tenants, tenants as u64);
    let incremental = keel_projections::checksum(&store.log(), "reports")
        .await
        .unwrap();
    keel_projections::rebuild(&store.log(), "reports", RebuildMode::BlueGreen, |_| {})
        .await
        .unwrap();
    assert_eq!(
        keel_projections::checksum(&store.log(), "reports")
            .await
            .unwrap(),
        incremental
    );
}
