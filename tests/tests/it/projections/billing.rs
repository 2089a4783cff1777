//! The billing read model fed directly with events: exact rows, drafts that follow usage,
//! period close once per tenant and period (also with two closers racing, and only once the
//! read models caught up), quotas from a configured catalogue, a worker process killed
//! between batches, and rebuilds identical to the incremental build.

use super::support::{kill_worker_between_batches, scalar, tenant};
use chrono::{DateTime, TimeZone, Utc};
use keel_commands::handler::{CommandHandler, HandlerConfig};
use keel_domain::billing::{
    invoice_aggregate, invoice_id, Catalogue, CreditNoteIssued, Invoice, InvoiceCommand,
    InvoiceEvent, InvoiceFinalized, IssueCreditNote, Period,
};
use keel_domain::shared::{Email, Plan, Reason};
use keel_domain::tenant::{
    PlanChanged, Region, TenantCreated, TenantEvent, TenantName, TenantSlug,
};
use keel_domain::usage::UsageRecorded;
use keel_domain::{Actor, TenantId};
use keel_projections::framework::batch::BatchStep;
use keel_projections::framework::worker::Worker;
use keel_projections::{RebuildMode, Workers};
use keel_reactors::billing_close::{close_periods, CloseReport};
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent};
use keel_tests::record_usage as record;
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

both_backends!(
    billing_rows_are_exact_and_invoices_are_final,
    two_closers_racing_finalise_each_period_once,
    the_close_waits_for_the_read_models,
    quotas_come_from_the_configured_catalogue,
    a_killed_billing_worker_counts_every_credit_once,
);

fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

/// Just after November 2026 closed (plus the grace period).
fn december() -> DateTime<Utc> {
    at(12, 1, 2)
}

fn metadata(tenant: TenantId, occurred_at: DateTime<Utc>) -> EventMetadata {
    let mut metadata = EventMetadata::new(tenant, Actor::System("test".into()));
    metadata.occurred_at = occurred_at;
    metadata
}

fn tenant_event(tenant: TenantId, occurred_at: DateTime<Utc>, event: TenantEvent) -> NewEvent {
    NewEvent::from_domain(&event, metadata(tenant, occurred_at)).unwrap()
}

fn created(tenant: TenantId, occurred_at: DateTime<Utc>, plan: Plan) -> NewEvent {
    let slug = format!("t-{}", tenant.0.simple());
    tenant_event(
        tenant,
        occurred_at,
        TenantEvent::Created(TenantCreated {
            tenant_id: tenant,
            name: TenantName::parse("Billed").unwrap(),
            slug: TenantSlug::parse(&slug[..20]).unwrap(),
            plan,
            data_region: Region::parse("eu-west-1").unwrap(),
            owner_member_id: Uuid::now_v7(),
            owner_email: Email::parse("owner@billed.example").unwrap(),
        }),
    )
}

fn plan_changed(
    tenant: TenantId,
    previous: Plan,
    plan: Plan,
    effective_at: DateTime<Utc>,
) -> NewEvent {
    tenant_event(
        tenant,
        effective_at,
        TenantEvent::PlanChanged(PlanChanged {
            previous_plan: previous,
            plan,
            effective_at,
        }),
    )
}

async fn append(store: &Arc<dyn EventStore>, tenant: TenantId, events: Vec<NewEvent>) -> u64 {
    store
        .append(
            &format!("tenant-{}", tenant.0),
            ExpectedVersion::Any,
            events,
        )
        .await
        .unwrap()
        .global_position
}

async fn use_api_calls(
    store: &Arc<dyn EventStore>,
    tenant: TenantId,
    quantity: u64,
    when: DateTime<Utc>,
    key: &str,
) -> u64 {
    let sample = UsageRecorded::new(
        "api_calls",
        quantity,
        when,
        key,
        BTreeMap::new(),
        Utc::now(),
    )
    .unwrap();
    record(store, tenant, metadata(tenant, when), vec![sample])
        .await
        .unwrap()
}

async fn caught_up(workers: &Workers, store: &Arc<dyn EventStore>) {
    let head = store.head_position().await.unwrap();
    for name in ["usage", "billing"] {
        assert!(
            workers.wait_for(name, head, Duration::from_secs(20)).await,
            "{name} catches up"
        );
    }
}

fn invoice_handler(store: &Arc<dyn EventStore>) -> CommandHandler<Invoice> {
    CommandHandler::new(store.clone(), HandlerConfig::default())
}

/// Closes as the server's closer does: again while the read models are behind (threshold
/// events appended after a batch move the head), a bounded number of times.
async fn close(
    store: &Arc<dyn EventStore>,
    invoices: &CommandHandler<Invoice>,
    catalogue: &Catalogue,
) -> CloseReport {
    for _ in 0..200 {
        let report = close_periods(store, invoices, catalogue, december())
            .await
            .unwrap();
        if !report.behind {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the read models never caught up");
}

async fn billing_rows_are_exact_and_invoices_are_final(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let catalogue = Catalogue::builtin();
    let (acme, other) = (tenant(0), tenant(1));
    let opened = append(
        &store,
        acme,
        vec![created(acme, at(10, 3, 9), Plan::Standard)],
    )
    .await;
    let changed = append(
        &store,
        acme,
        vec![plan_changed(
            acme,
            Plan::Standard,
            Plan::Premium,
            at(11, 16, 10),
        )],
    )
    .await;
    append(
        &store,
        other,
        vec![created(other, at(11, 20, 0), Plan::Free)],
    )
    .await;
    caught_up(&workers, &store).await;

    let rows: Vec<(String, i64, String, i64, Option<String>)> = keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_as("SELECT tenant_id, position, kind, effective_at, plan FROM billing_plans ORDER BY position")
            .fetch_all(pool).await.unwrap()
    });
    assert_eq!(
        rows[..2],
        [
            (
                acme.to_string(),
                opened as i64,
                "opened".into(),
                at(10, 3, 9).timestamp_micros(),
                Some("standard".into())
            ),
            (
                acme.to_string(),
                changed as i64,
                "changed".into(),
                at(11, 16, 10).timestamp_micros(),
                Some("premium".into())
            ),
        ]
    );
    assert_eq!(rows.len(), 3);

    // The draft follows usage as it arrives: premium includes 500,000 api_calls, then 40 per
    // 1,000 up to 5,000,000.
    let november = Period::parse("2026-11").unwrap();
    let before = keel_projections::billing::draft(&store.database(), &catalogue, acme, november)
        .await
        .unwrap();
    assert_eq!(before.total_minor, 2_450 + 9_950);
    use_api_calls(&store, acme, 750_000, at(11, 20, 12), "nov-1").await;
    caught_up(&workers, &store).await;
    let after = keel_projections::billing::draft(&store.database(), &catalogue, acme, november)
        .await
        .unwrap();
    assert_eq!(after.total_minor, 2_450 + 9_950 + 10_000);

    // Close at the start of December: October (29 of 31 days: 4584) and November.
    let invoices = invoice_handler(&store);
    let report = close(&store, &invoices, &catalogue).await;
    let october = Period::parse("2026-10").unwrap();
    assert_eq!(
        report.finalized,
        vec![(acme, october), (acme, november), (other, november)]
    );
    caught_up(&workers, &store).await;
    let page = keel_projections::billing::invoices(&store.database(), acme, None, 10)
        .await
        .unwrap();
    let totals: Vec<(String, u64)> = page
        .items
        .iter()
        .map(|i| (i.period.clone(), i.total_minor))
        .collect();
    assert_eq!(
        totals,
        vec![("2026-11".into(), 22_400), ("2026-10".into(), 4_584)]
    );
    assert_eq!(page.items[0].invoice_id, invoice_id(acme, november));

    // A sample reported late for November changes the draft, never the final invoice.
    use_api_calls(&store, acme, 1_000_000, at(11, 25, 0), "nov-late").await;
    let credit = invoices
        .execute(
            invoice_aggregate(acme, november),
            InvoiceCommand::IssueCreditNote(IssueCreditNote {
                credit_note_id: Uuid::now_v7(),
                amount_minor: 400,
                reason: "goodwill".into(),
            }),
            metadata(acme, Utc::now()),
            None,
        )
        .await;
    assert!(credit.is_ok(), "{credit:?}");
    caught_up(&workers, &store).await;
    let again = close(&store, &invoices, &catalogue).await;
    assert!(again.finalized.is_empty() && !again.behind, "{again:?}");
    let detail =
        keel_projections::billing::invoice(&store.database(), acme, invoice_id(acme, november))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (detail.summary.total_minor, detail.summary.credited_minor),
        (22_400, 400)
    );
    assert_eq!(detail.credit_notes.len(), 1);
    let kinds: Vec<(String, u64, u64)> = detail
        .lines
        .iter()
        .map(|l| (l.description.clone(), l.quantity, l.amount_minor))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("standard plan, 2026-11-01 to 2026-11-15".into(), 15, 2_450),
            ("premium plan, 2026-11-16 to 2026-11-30".into(), 15, 9_950),
            ("api_calls, included".into(), 500_000, 0),
            ("api_calls 500001-750000".into(), 250_000, 10_000),
        ]
    );
    assert!(
        keel_projections::billing::invoice(&store.database(), other, invoice_id(acme, november))
            .await
            .unwrap()
            .is_none(),
        "another tenant's invoice is not found"
    );

    let incremental = keel_projections::checksum(&store.log(), "billing")
        .await
        .unwrap();
    keel_projections::rebuild(&store.log(), "billing", RebuildMode::BlueGreen, |_| {})
        .await
        .unwrap();
    assert_eq!(
        keel_projections::checksum(&store.log(), "billing")
            .await
            .unwrap(),
        incremental
    );
    workers.stop().await;
}

async fn two_closers_racing_finalise_each_period_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    for n in 0..5 {
        append(
            &store,
            tenant(n),
            vec![created(tenant(n), at(11, 1 + n as u32, 0), Plan::Standard)],
        )
        .await;
    }
    caught_up(&workers, &store).await;
    let catalogue = Catalogue::builtin();
    // Two servers: separate stores and handlers on one database.
    let second = db.open().await;
    let (one, two) = (invoice_handler(&store), invoice_handler(&second));
    let (a, b) = tokio::join!(
        close_periods(&store, &one, &catalogue, december()),
        close_periods(&second, &two, &catalogue, december()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.finalized.len() + b.finalized.len(), 5, "{a:?} {b:?}");
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM events WHERE event_type = 'billing.invoice_finalized'"
        )
        .await,
        5
    );
    // A restart closes nothing again.
    caught_up(&workers, &store).await;
    let restarted = close(&store, &invoice_handler(&store), &catalogue).await;
    assert!(restarted.finalized.is_empty(), "{restarted:?}");
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM events WHERE event_type = 'billing.invoice_finalized'"
        )
        .await,
        5
    );
    workers.stop().await;
}

async fn the_close_waits_for_the_read_models(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    keel_projections::setup(&store.log()).await.unwrap();
    append(
        &store,
        tenant(0),
        vec![created(tenant(0), at(10, 1, 0), Plan::Standard)],
    )
    .await;
    let catalogue = Catalogue::builtin();
    let invoices = invoice_handler(&store);
    // No worker has applied the tenant's creation yet: nothing may be closed.
    let report = close_periods(&store, &invoices, &catalogue, december())
        .await
        .unwrap();
    assert!(report.behind && report.finalized.is_empty(), "{report:?}");
    for name in ["usage", "billing"] {
        let worker = Worker::new(
            keel_projections::projection(name).unwrap(),
            store.clone(),
            100,
        );
        assert_eq!(worker.catch_up().await.unwrap(), BatchStep::CaughtUp);
    }
    let report = close_periods(&store, &invoices, &catalogue, december())
        .await
        .unwrap();
    assert_eq!(
        report.finalized.len(),
        2,
        "October and November: {report:?}"
    );
    // Within the grace period after November, only October is due.
    let early = Period::parse("2026-10").unwrap();
    let db2 = TestDatabase::create(backend).await;
    let fresh = db2.open().await;
    keel_projections::setup(&fresh.log()).await.unwrap();
    append(
        &fresh,
        tenant(0),
        vec![created(tenant(0), at(10, 1, 0), Plan::Standard)],
    )
    .await;
    for name in ["usage", "billing"] {
        let worker = Worker::new(
            keel_projections::projection(name).unwrap(),
            fresh.clone(),
            100,
        );
        worker.catch_up().await.unwrap();
    }
    let report = close_periods(
        &fresh,
        &invoice_handler(&fresh),
        &catalogue,
        at(12, 1, 0) + chrono::Duration::minutes(30),
    )
    .await
    .unwrap();
    assert_eq!(report.finalized, vec![(tenant(0), early)]);
}

async fn quotas_come_from_the_configured_catalogue(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    // The built-in catalogue, with the free plan's api_calls quota lowered to 100.
    let text = keel_domain::billing::catalogue::BUILTIN_TOML.replacen(
        "meters.api_calls = { included = 10_000, quota = 10_000 }",
        "meters.api_calls = { included = 10_000, quota = 100 }",
        1,
    );
    let catalogue = Arc::new(Catalogue::parse(&text).unwrap());
    assert_eq!(catalogue.quota(Plan::Free, "api_calls"), Some(100));
    let workers = Workers::start(
        store.clone(),
        keel_projections::registry_with(catalogue.clone(), None),
    )
    .await
    .unwrap();
    let acme = tenant(0);
    append(&store, acme, vec![created(acme, Utc::now(), Plan::Free)]).await;
    use_api_calls(&store, acme, 85, Utc::now(), "q1").await;
    caught_up(&workers, &store).await;
    let alerts: Vec<(String, i64, i64)> = keel_projections::with_pool!(&store.database(), pool => {
        sqlx::query_as("SELECT meter, percent, quota FROM usage_alerts").fetch_all(pool).await.unwrap()
    });
    assert_eq!(alerts, vec![("api_calls".into(), 80, 100)]);
    let status =
        keel_projections::usage::quota_status(&store.database(), &catalogue, acme, Utc::now())
            .await
            .unwrap();
    let api_calls = status.iter().find(|s| s.meter == "api_calls").unwrap();
    assert_eq!(
        (api_calls.limit, api_calls.used, api_calls.percent),
        (Some(100), 85, Some(85))
    );
    workers.stop().await;
}

async fn a_killed_billing_worker_counts_every_credit_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let november = Period::parse("2026-11").unwrap();
    let tenants = 60;
    for n in 0..tenants {
        let t = tenant(n);
        append(&store, t, vec![created(t, at(10, 1, 0), Plan::Standard)]).await;
        // Invoices and credit notes appended as the aggregate would record them.
        let finalized = InvoiceEvent::Finalized(InvoiceFinalized {
            invoice_id: invoice_id(t, november),
            tenant_id: t.0,
            period: november,
            currency: "USD".into(),
            lines: Vec::new(),
            total_minor: 4_900,
            finalized_at: december(),
        });
        let mut events = vec![NewEvent::from_domain(&finalized, metadata(t, december())).unwrap()];
        for k in 0..3 {
            let note = InvoiceEvent::CreditNoteIssued(CreditNoteIssued {
                credit_note_id: Uuid::from_u128(k + 1),
                amount_minor: 100,
                reason: Reason::parse("outage").unwrap(),
                issued_at: december(),
            });
            events.push(NewEvent::from_domain(&note, metadata(t, december())).unwrap());
        }
        store
            .append(
                &format!("billing-{}", invoice_id(t, november)),
                ExpectedVersion::NoStream,
                events,
            )
            .await
            .unwrap();
    }
    let head = store.head_position().await.unwrap();
    keel_projections::setup(&store.log()).await.unwrap();
    kill_worker_between_batches(&db.url, "billing", 7, head, 4).await;
    let worker = Worker::new(
        keel_projections::projection("billing").unwrap(),
        store.clone(),
        7,
    );
    assert_eq!(worker.catch_up().await.unwrap(), BatchStep::CaughtUp);
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM billing_plans").await,
        tenants as i64
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM billing_credit_notes").await,
        3 * tenants as i64
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM billing_invoices WHERE credited_minor = 300"
        )
        .await,
        tenants as i64,
        "every credit note counted exactly once"
    );
    let incremental = keel_projections::checksum(&store.log(), "billing")
        .await
        .unwrap();
    keel_projections::rebuild(&store.log(), "billing", RebuildMode::Reset, |_| {})
        .await
        .unwrap();
    assert_eq!(
        keel_projections::checksum(&store.log(), "billing")
            .await
            .unwrap(),
        incremental
    );
}
