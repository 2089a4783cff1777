//! The usage projection: samples folded into per-period totals, tenants' plans, seats and
//! quota overrides, and threshold alerts.
//!
//! An alert row is raised when a sample crosses a threshold (`published = 0`); the quota
//! alerts reactor (`keel-reactors`) appends its `usage.quota_threshold_crossed` event, and this
//! projection marks the row published when it folds that event. So the read side only folds,
//! and a row stays pending exactly until its event is in the log.

use super::alerts;
use super::meters::{bucket_start, meter, Aggregation, Meter, KEPT_GRANULARITIES};
use crate::db::{fetch_in, insert_rows, micros, Param, Tx};
use crate::error::ProjectionError;
use crate::projection::{ColumnType as C, Projection, TableSpec, Tables};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keel_domain::billing::Catalogue;
use keel_domain::integration::IntegrationEvent;
use keel_domain::shared::Plan;
use keel_domain::tenant::TenantEvent;
use keel_domain::usage::UsageEvent;
use keel_domain::workflow::RunEvent;
use keel_log::RecordedEvent;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The thresholds that raise an event, in percent of the quota.
pub const THRESHOLDS: [i64; 2] = [80, 100];

static TABLES: &[TableSpec] = &[
    TableSpec {
        base: "usage_totals",
        columns: &[
            ("tenant_id", C::Text),
            ("meter", C::Text),
            ("granularity", C::Text),
            ("bucket", C::Int),
            ("value", C::Int),
            ("events", C::Int),
            ("latest_at", C::Int),
        ],
        key: &["tenant_id", "meter", "granularity", "bucket"],
        indexes: &[],
        updated_in_place: true,
    },
    TableSpec {
        base: "usage_unique",
        columns: &[
            ("tenant_id", C::Text),
            ("meter", C::Text),
            ("granularity", C::Text),
            ("bucket", C::Int),
            ("value", C::Text),
        ],
        key: &["tenant_id", "meter", "granularity", "bucket", "value"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "usage_tenants",
        columns: &[("tenant_id", C::Text), ("plan", C::Text), ("seats", C::Int)],
        key: &["tenant_id"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "usage_overrides",
        columns: &[
            ("tenant_id", C::Text),
            ("meter", C::Text),
            ("quota", C::Int),
        ],
        key: &["tenant_id", "meter"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "usage_alerts",
        columns: &[
            ("tenant_id", C::Text),
            ("meter", C::Text),
            ("period", C::Text),
            ("percent", C::Int),
            ("quota", C::Int),
            ("used", C::Int),
            ("published", C::Int),
        ],
        key: &["tenant_id", "meter", "period", "percent"],
        indexes: &[&["published"]],
        updated_in_place: false,
    },
];

/// The usage projection (`usage`). Quotas come from its plan catalogue: a rebuild with another
/// catalogue raises thresholds at the other quotas.
pub struct UsageProjection {
    catalogue: Arc<Catalogue>,
}

impl UsageProjection {
    /// The usage projection, with quotas from `catalogue`.
    pub fn new(catalogue: Arc<Catalogue>) -> Self {
        UsageProjection { catalogue }
    }
}

/// One sample of a meter, from a usage event or derived from another event.
pub(super) struct Sample {
    pub(super) tenant: String,
    pub(super) meter: &'static Meter,
    pub(super) at: DateTime<Utc>,
    pub(super) quantity: i64,
    /// The counted property's value, for a distinct-count meter.
    pub(super) unique: Option<String>,
    /// The tenant's quota of the meter when the sample was folded (its plan's or its
    /// override), if it has one.
    pub(super) quota: Option<i64>,
}

#[derive(Default, Clone, Copy)]
struct Total {
    value: i64,
    events: i64,
    latest_at: i64,
}

type BucketKey = (String, &'static str, &'static str, i64);

/// Whether an aggregation belongs to one upsert statement's kind.
type IsKind = fn(&Aggregation) -> bool;

#[async_trait]
impl Projection for UsageProjection {
    fn name(&self) -> &'static str {
        "usage"
    }

    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            UsageEvent::RECORDED
                | UsageEvent::QUOTA_THRESHOLD_CROSSED
                | TenantEvent::CREATED
                | TenantEvent::PLAN_CHANGED
                | TenantEvent::MEMBER_ADDED
                | TenantEvent::MEMBER_REMOVED
                | TenantEvent::QUOTA_OVERRIDE_SET
                | TenantEvent::QUOTA_OVERRIDE_CLEARED
                | RunEvent::STARTED
                | IntegrationEvent::DELIVERY_SUCCEEDED
                | IntegrationEvent::DELIVERY_FAILED
        )
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut tenant_ids: Vec<String> = events
            .iter()
            .map(|e| e.metadata.tenant_id.to_string())
            .collect();
        tenant_ids.sort();
        tenant_ids.dedup();
        let sql = format!(
            "SELECT tenant_id, plan, seats FROM {} WHERE tenant_id IN ",
            tables.name("usage_tenants")
        );
        let mut tenants: HashMap<String, (String, i64)> =
            fetch_in::<(String, String, i64)>(tx, &sql, &tenant_ids)
                .await?
                .into_iter()
                .map(|(t, plan, seats)| (t, (plan, seats)))
                .collect();
        let mut overrides: HashMap<String, HashMap<String, i64>> = HashMap::new();
        let sql = format!(
            "SELECT tenant_id, meter, quota FROM {} WHERE tenant_id IN ",
            tables.name("usage_overrides")
        );
        for (tenant, meter, quota) in
            fetch_in::<(String, String, i64)>(tx, &sql, &tenant_ids).await?
        {
            overrides.entry(tenant).or_default().insert(meter, quota);
        }
        let mut dirty_tenants = BTreeSet::new();
        let mut samples = Vec::with_capacity(events.len());
        let mut published = Vec::new();
        for event in events {
            let pushed = samples.len();
            let tenant = event.metadata.tenant_id.to_string();
            let fail =
                |e: &dyn std::fmt::Display| ProjectionError::handler(event.global_position, e);
            let json = || keel_domain::event::payload_to_json(&event.payload).map_err(|e| fail(&e));
            let text = |data: &Value, field: &str| {
                data.get(field).and_then(Value::as_str).map(str::to_owned)
            };
            let derived = |name: &str, quantity: i64| Sample {
                tenant: tenant.clone(),
                meter: meter(name).expect("derived meters are declared"),
                at: event.metadata.occurred_at,
                quantity,
                unique: None,
                quota: None,
            };
            match event.event_type.as_str() {
                UsageEvent::QUOTA_THRESHOLD_CROSSED => {
                    let UsageEvent::QuotaThresholdCrossed(alert) =
                        event.decode::<UsageEvent>().map_err(|e| fail(&e))?
                    else {
                        return Err(fail(&"not a quota threshold alert"));
                    };
                    published.push(alerts::AlertKey {
                        tenant: tenant.clone(),
                        meter: alert.meter.as_str().to_owned(),
                        period: alert.period,
                        percent: i64::from(alert.percent),
                    });
                }
                UsageEvent::RECORDED => {
                    let UsageEvent::Recorded(sample) =
                        event.decode::<UsageEvent>().map_err(|e| fail(&e))?
                    else {
                        return Err(fail(&"not a usage sample"));
                    };
                    let meter = meter(sample.meter.as_str()).ok_or_else(|| {
                        fail(&format!("unknown meter `{}`", sample.meter.as_str()))
                    })?;
                    let unique = match meter.aggregation {
                        Aggregation::UniqueCount(property) => {
                            sample.properties.get(property).cloned()
                        }
                        _ => None,
                    };
                    if matches!(meter.aggregation, Aggregation::UniqueCount(_)) && unique.is_none()
                    {
                        continue; // a sample without the counted property adds no distinct value
                    }
                    samples.push(Sample {
                        tenant,
                        meter,
                        at: sample.timestamp,
                        quantity: sample.quantity.min(i64::MAX as u64) as i64,
                        unique,
                        quota: None,
                    });
                }
                TenantEvent::CREATED | TenantEvent::PLAN_CHANGED => {
                    let plan = text(&json()?, "plan").ok_or_else(|| fail(&"no plan"))?;
                    tenants
                        .entry(tenant.clone())
                        .or_insert_with(|| (String::new(), 0))
                        .0 = plan;
                    dirty_tenants.insert(tenant);
                }
                TenantEvent::MEMBER_ADDED | TenantEvent::MEMBER_REMOVED => {
                    let entry = tenants.entry(tenant.clone()).or_insert(("free".into(), 0));
                    entry.1 = (entry.1
                        + if event.event_type.ends_with("added") {
                            1
                        } else {
                            -1
                        })
                    .max(0);
                    samples.push(derived("seats", entry.1));
                    dirty_tenants.insert(tenant);
                }
                TenantEvent::QUOTA_OVERRIDE_SET | TenantEvent::QUOTA_OVERRIDE_CLEARED => {
                    let data = json()?;
                    let meter = text(&data, "meter").ok_or_else(|| fail(&"no meter"))?;
                    let limit = data.get("limit").and_then(Value::as_i64);
                    let tenant_overrides = overrides.entry(tenant.clone()).or_default();
                    match limit {
                        Some(limit) => tenant_overrides.insert(meter.clone(), limit),
                        None => tenant_overrides.remove(&meter),
                    };
                    set_override(tx, tables, &tenant, &meter, limit).await?;
                }
                RunEvent::STARTED => samples.push(derived("workflow_runs", 1)),
                _ => samples.push(derived("webhook_deliveries", 1)),
            }
            // The quota in force after this event, so that alerts follow plan changes and
            // overrides in log order, not as they stand at the end of the batch.
            for sample in &mut samples[pushed..] {
                let plan = tenants
                    .get(&sample.tenant)
                    .map_or(Plan::Free, |(plan, _)| stored_plan(plan));
                sample.quota = overrides
                    .get(&sample.tenant)
                    .and_then(|o| o.get(sample.meter.name))
                    .copied()
                    .or_else(|| {
                        self.catalogue
                            .quota(plan, sample.meter.name)
                            .map(|q| q.min(i64::MAX as u64) as i64)
                    });
            }
        }
        let tenant_rows: Vec<Vec<Param>> = dirty_tenants
            .iter()
            .map(|t| {
                let (plan, seats) = &tenants[t];
                vec![
                    Param::Text(t.clone()),
                    Param::Text(plan.clone()),
                    Param::Int(*seats),
                ]
            })
            .collect();
        insert_rows(
            tx,
            &tables.name("usage_tenants"),
            &["tenant_id", "plan", "seats"],
            &tenant_rows,
            "ON CONFLICT (tenant_id) DO UPDATE SET plan = excluded.plan, seats = excluded.seats",
        )
        .await?;
        let before = alerts::before(tx, tables, &samples).await?;
        fold_samples(tx, tables, &samples).await?;
        alerts::raise(tx, tables, &samples, &before).await?;
        alerts::mark_published(tx, tables, &published).await
    }
}

async fn set_override(
    tx: &mut Tx,
    tables: Tables,
    tenant: &str,
    meter: &str,
    quota: Option<i64>,
) -> Result<(), ProjectionError> {
    let table = tables.name("usage_overrides");
    match quota {
        Some(quota) => {
            insert_rows(
                tx,
                &table,
                &["tenant_id", "meter", "quota"],
                &[vec![
                    Param::Text(tenant.into()),
                    Param::Text(meter.into()),
                    Param::Int(quota),
                ]],
                "ON CONFLICT (tenant_id, meter) DO UPDATE SET quota = excluded.quota",
            )
            .await
        }
        None => {
            let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND meter = $2");
            crate::with_tx!(tx, conn => {
                sqlx::query(&sql).bind(tenant).bind(meter).execute(&mut *conn).await?;
            });
            Ok(())
        }
    }
}

/// Adds the samples to every kept granularity's totals.
async fn fold_samples(
    tx: &mut Tx,
    tables: Tables,
    samples: &[Sample],
) -> Result<(), ProjectionError> {
    let mut totals: BTreeMap<BucketKey, Total> = BTreeMap::new();
    let mut uniques: BTreeSet<(BucketKey, String)> = BTreeSet::new();
    for sample in samples {
        let at = micros(sample.at);
        for granularity in KEPT_GRANULARITIES {
            let bucket = micros(bucket_start(granularity, sample.at));
            let key = (
                sample.tenant.clone(),
                sample.meter.name,
                granularity,
                bucket,
            );
            let total = totals.entry(key.clone()).or_default();
            total.events += 1;
            match sample.meter.aggregation {
                Aggregation::Count => total.value += 1,
                Aggregation::Sum => total.value = total.value.saturating_add(sample.quantity),
                Aggregation::Max => total.value = total.value.max(sample.quantity),
                Aggregation::Latest if at >= total.latest_at => total.value = sample.quantity,
                Aggregation::Latest => {}
                Aggregation::UniqueCount(_) => {
                    uniques.insert((key, sample.unique.clone().unwrap_or_default()));
                }
            }
            total.latest_at = total.latest_at.max(at);
        }
    }
    let table = tables.name("usage_totals");
    let columns = [
        "tenant_id",
        "meter",
        "granularity",
        "bucket",
        "value",
        "events",
        "latest_at",
    ];
    let greatest = tx.backend().greatest();
    let conflict = |value: String| {
        format!(
            "ON CONFLICT (tenant_id, meter, granularity, bucket) DO UPDATE SET value = {value}, \
             events = {table}.events + excluded.events, \
             latest_at = {greatest}({table}.latest_at, excluded.latest_at)"
        )
    };
    let kinds: [(IsKind, String); 4] = [
        (|a| matches!(a, Aggregation::Count | Aggregation::Sum), format!("{table}.value + excluded.value")),
        (|a| matches!(a, Aggregation::Max), format!("{greatest}({table}.value, excluded.value)")),
        (
            |a| matches!(a, Aggregation::Latest),
            format!("CASE WHEN excluded.latest_at >= {table}.latest_at THEN excluded.value ELSE {table}.value END"),
        ),
        // Distinct counts are recounted from usage_unique below.
        (|a| matches!(a, Aggregation::UniqueCount(_)), format!("{table}.value")),
    ];
    for (is_kind, value) in kinds {
        let rows: Vec<Vec<Param>> = totals
            .iter()
            .filter(|((_, m, _, _), _)| is_kind(&meter(m).expect("declared").aggregation))
            .map(|((tenant, m, granularity, bucket), total)| {
                vec![
                    Param::Text(tenant.clone()),
                    Param::Text((*m).into()),
                    Param::Text((*granularity).into()),
                    Param::Int(*bucket),
                    Param::Int(total.value),
                    Param::Int(total.events),
                    Param::Int(total.latest_at),
                ]
            })
            .collect();
        insert_rows(tx, &table, &columns, &rows, &conflict(value)).await?;
    }
    if !uniques.is_empty() {
        let unique_table = tables.name("usage_unique");
        let rows: Vec<Vec<Param>> = uniques
            .iter()
            .map(|((tenant, m, granularity, bucket), value)| {
                vec![
                    Param::Text(tenant.clone()),
                    Param::Text((*m).into()),
                    Param::Text((*granularity).into()),
                    Param::Int(*bucket),
                    Param::Text(value.clone()),
                ]
            })
            .collect();
        insert_rows(
            tx,
            &unique_table,
            &["tenant_id", "meter", "granularity", "bucket", "value"],
            &rows,
            "ON CONFLICT DO NOTHING",
        )
        .await?;
        let recount = format!(
            "UPDATE {table} SET value = (SELECT COUNT(*) FROM {unique_table} u WHERE u.tenant_id = {table}.tenant_id \
             AND u.meter = {table}.meter AND u.granularity = {table}.granularity AND u.bucket = {table}.bucket) \
             WHERE tenant_id = $1 AND meter = $2 AND granularity = $3 AND bucket = $4"
        );
        let keys: BTreeSet<&BucketKey> = uniques.iter().map(|(key, _)| key).collect();
        for (tenant, m, granularity, bucket) in keys {
            crate::with_tx!(&mut *tx, conn => {
                sqlx::query(&recount).bind(tenant).bind(*m).bind(*granularity).bind(*bucket).execute(&mut *conn).await?;
            });
        }
    }
    Ok(())
}

/// A plan as `usage_tenants` stores it; a row written before the tenant's creation was folded
/// (members first) holds no plan and counts as free, as tenants start.
pub fn stored_plan(plan: &str) -> Plan {
    Plan::parse(plan).unwrap_or(Plan::Free)
}
