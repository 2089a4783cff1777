//! Quota alerts: which thresholds a batch's samples cross, and the usage at each crossing.
//!
//! Each touched month is followed sample by sample, in log order, from its total before the
//! batch; an alert records the month's usage right after the sample that reached the
//! threshold. The rows are therefore the same however the log is cut into batches (a live
//! worker's 1,000 events or a rebuild's 50,000), and a gauge that crosses a threshold and
//! falls back within one batch (seats) still raises its alert.

use super::meters::{bucket_start, sql_list, Aggregation};
use super::project::{Sample, THRESHOLDS};
use crate::db::{fetch_in, from_micros, insert_rows, micros, Param, Tx};
use crate::error::ProjectionError;
use crate::projection::Tables;
use keel_log::Database;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A tenant's meter in the billing month starting at the bucket (microseconds).
type MonthKey = (String, &'static str, i64);

/// The touched months as they stood before the batch.
#[derive(Default)]
pub(super) struct Before {
    /// Each month's value and latest sample time.
    totals: HashMap<MonthKey, (i64, i64)>,
    /// Distinct values each month of a distinct-count meter already holds.
    distinct: HashSet<(MonthKey, String)>,
}

/// One threshold reached.
#[derive(Debug, PartialEq, Eq)]
struct Crossing {
    key: MonthKey,
    percent: i64,
    quota: i64,
    used: i64,
}

fn month_of(sample: &Sample) -> MonthKey {
    (
        sample.tenant.clone(),
        sample.meter.name,
        micros(bucket_start("month", sample.at)),
    )
}

/// Reads the months `samples` touch as they are before the batch is folded in.
pub(super) async fn before(
    tx: &mut Tx,
    tables: Tables,
    samples: &[Sample],
) -> Result<Before, ProjectionError> {
    let mut before = Before::default();
    if samples.is_empty() {
        return Ok(before);
    }
    let tenants = tenants_of(samples);
    // The meters narrow the look-up to the key's first columns instead of every bucket of
    // each tenant.
    let meters = sql_list(
        samples
            .iter()
            .map(|s| s.meter.name)
            .collect::<BTreeSet<_>>(),
    );
    let rows: Vec<(String, String, i64, i64, i64)> = fetch_in(
        tx,
        &format!(
            "SELECT tenant_id, meter, bucket, value, latest_at FROM {} \
             WHERE granularity = 'month' AND meter IN ({meters}) AND tenant_id IN ",
            tables.name("usage_totals")
        ),
        &tenants,
    )
    .await?;
    let months: HashSet<MonthKey> = samples.iter().map(month_of).collect();
    for (tenant, meter, bucket, value, latest_at) in rows {
        if let Some(key) = months.get(&(tenant, declared(&meter), bucket)) {
            before.totals.insert(key.clone(), (value, latest_at));
        }
    }
    let counted: BTreeSet<&str> = samples
        .iter()
        .filter(|s| matches!(s.meter.aggregation, Aggregation::UniqueCount(_)))
        .map(|s| s.meter.name)
        .collect();
    if !counted.is_empty() {
        let rows: Vec<(String, String, i64, String)> = fetch_in(
            tx,
            &format!(
                "SELECT tenant_id, meter, bucket, value FROM {} \
                 WHERE granularity = 'month' AND meter IN ({}) AND tenant_id IN ",
                tables.name("usage_unique"),
                sql_list(counted)
            ),
            &tenants,
        )
        .await?;
        for (tenant, meter, bucket, value) in rows {
            if let Some(key) = months.get(&(tenant, declared(&meter), bucket)) {
                before.distinct.insert((key.clone(), value));
            }
        }
    }
    Ok(before)
}

/// The tenants of `samples`, each once.
fn tenants_of(samples: &[Sample]) -> Vec<String> {
    let tenants: BTreeSet<&String> = samples.iter().map(|s| &s.tenant).collect();
    tenants.into_iter().cloned().collect()
}

/// A stored meter name as the declared `&'static str` (an unknown one matches no month).
fn declared(meter: &str) -> &'static str {
    super::meters::meter(meter).map_or("", |m| m.name)
}

/// Follows each month from `before` through `samples` in order and names the first sample at
/// which its usage reached each threshold of its quota.
fn crossings(samples: &[Sample], before: &Before) -> Vec<Crossing> {
    /// A month followed through the batch.
    struct Running {
        value: i64,
        latest_at: i64,
        /// Distinct values the batch added.
        added: HashSet<String>,
        /// Thresholds reached in the batch.
        reached: BTreeSet<i64>,
    }
    let mut months: HashMap<MonthKey, Running> = HashMap::new();
    let mut found = Vec::new();
    for sample in samples {
        let key = month_of(sample);
        let month = months.entry(key.clone()).or_insert_with(|| {
            let (value, latest_at) = before.totals.get(&key).copied().unwrap_or((0, 0));
            Running {
                value,
                latest_at,
                added: HashSet::new(),
                reached: BTreeSet::new(),
            }
        });
        let Running {
            value,
            latest_at,
            added,
            reached,
        } = month;
        let at = micros(sample.at);
        match sample.meter.aggregation {
            Aggregation::Count => *value += 1,
            Aggregation::Sum => *value = value.saturating_add(sample.quantity),
            Aggregation::Max => *value = (*value).max(sample.quantity),
            // The sample with the latest time gives a gauge's value, as in the totals.
            Aggregation::Latest if at >= *latest_at => *value = sample.quantity,
            Aggregation::Latest => {}
            Aggregation::UniqueCount(_) => {
                let distinct = sample.unique.clone().unwrap_or_default();
                if !before.distinct.contains(&(key.clone(), distinct.clone()))
                    && added.insert(distinct)
                {
                    *value += 1;
                }
            }
        }
        *latest_at = (*latest_at).max(at);
        let Some(quota) = sample.quota.filter(|q| *q > 0) else {
            continue;
        };
        for percent in THRESHOLDS {
            if !reached.contains(&percent)
                && value.saturating_mul(100) >= quota.saturating_mul(percent)
            {
                reached.insert(percent);
                found.push(Crossing {
                    key: key.clone(),
                    percent,
                    quota,
                    used: *value,
                });
            }
        }
    }
    found
}

/// Records an alert (once per tenant, meter, month and threshold: an earlier batch's row
/// stays) for every threshold the batch's samples reached, each against the quota in force
/// when its sample was folded.
pub(super) async fn raise(
    tx: &mut Tx,
    tables: Tables,
    samples: &[Sample],
    before: &Before,
) -> Result<(), ProjectionError> {
    let rows: Vec<Vec<Param>> = crossings(samples, before)
        .into_iter()
        .map(|c| {
            let (tenant, meter, bucket) = c.key;
            vec![
                Param::Text(tenant),
                Param::Text(meter.into()),
                Param::Text(super::meters::period_of(from_micros(bucket))),
                Param::Int(c.percent),
                Param::Int(c.quota),
                Param::Int(c.used),
                Param::Int(0),
            ]
        })
        .collect();
    insert_rows(
        tx,
        &tables.name("usage_alerts"),
        &[
            "tenant_id",
            "meter",
            "period",
            "percent",
            "quota",
            "used",
            "published",
        ],
        &rows,
        "ON CONFLICT DO NOTHING",
    )
    .await
}

/// One alert: a tenant's meter reached `percent` of its quota in the billing `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertKey {
    /// The tenant, as stored.
    pub tenant: String,
    /// The meter's name.
    pub meter: String,
    /// The billing month (`2026-12`).
    pub period: String,
    /// The threshold reached, in percent of the quota.
    pub percent: i64,
}

/// Marks the alerts whose `usage.quota_threshold_crossed` events this batch folds published.
pub(super) async fn mark_published(
    tx: &mut Tx,
    tables: Tables,
    published: &[AlertKey],
) -> Result<(), ProjectionError> {
    let sql = format!(
        "UPDATE {} SET published = 1 \
         WHERE tenant_id = $1 AND meter = $2 AND period = $3 AND percent = $4",
        tables.name("usage_alerts")
    );
    for alert in published {
        crate::with_tx!(&mut *tx, conn => {
            sqlx::query(&sql)
                .bind(&alert.tenant)
                .bind(&alert.meter)
                .bind(&alert.period)
                .bind(alert.percent)
                .execute(conn)
                .await?;
        });
    }
    Ok(())
}

/// An alert raised and not yet in the log as an event, with the figures the event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAlert {
    /// Which alert.
    pub key: AlertKey,
    /// The quota in force when it was raised.
    pub quota: i64,
    /// The usage right after the sample that reached the threshold.
    pub used: i64,
}

/// Every raised alert whose event the usage read model has not folded yet, oldest period
/// first: what the quota alerts reactor appends.
pub async fn pending(db: &Database) -> Result<Vec<PendingAlert>, ProjectionError> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = crate::with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT tenant_id, meter, period, percent, quota, used FROM usage_alerts \
             WHERE published = 0 ORDER BY period, tenant_id, meter, percent",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(tenant, meter, period, percent, quota, used)| PendingAlert {
                key: AlertKey {
                    tenant,
                    meter,
                    period,
                    percent,
                },
                quota,
                used,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::meters::meter;
    use chrono::{TimeZone, Utc};

    fn sample(name: &str, quantity: i64, minute: u32, unique: Option<&str>) -> Sample {
        let quota = match name {
            "compute_seconds" => Some(100),
            "active_users" => Some(2),
            "seats" => Some(10),
            _ => None,
        };
        Sample {
            quota,
            tenant: "t".into(),
            meter: meter(name).unwrap(),
            at: Utc.with_ymd_and_hms(2026, 11, 3, 10, minute, 0).unwrap(),
            quantity,
            unique: unique.map(str::to_owned),
        }
    }

    /// The months after `samples`, as the next batch would read them.
    fn after(samples: &[Sample], mut before: Before) -> Before {
        for s in samples {
            let key = month_of(s);
            let (value, latest_at) = before.totals.get(&key).copied().unwrap_or((0, 0));
            let at = micros(s.at);
            let value = match s.meter.aggregation {
                Aggregation::Count => value + 1,
                Aggregation::Sum => value + s.quantity,
                Aggregation::Max => value.max(s.quantity),
                Aggregation::Latest if at >= latest_at => s.quantity,
                Aggregation::Latest => value,
                Aggregation::UniqueCount(_) => {
                    let new = before
                        .distinct
                        .insert((key.clone(), s.unique.clone().unwrap()));
                    value + i64::from(new)
                }
            };
            before.totals.insert(key, (value, latest_at.max(at)));
        }
        before
    }

    #[test]
    fn crossings_do_not_depend_on_where_the_batches_end() {
        let samples = vec![
            sample("compute_seconds", 30, 0, None),
            sample("compute_seconds", 55, 1, None),
            sample("active_users", 1, 2, Some("ada")),
            sample("active_users", 1, 3, Some("ada")),
            sample("active_users", 1, 4, Some("bob")),
            sample("seats", 10, 5, None),
            sample("seats", 4, 6, None),
            sample("compute_seconds", 40, 7, None),
        ];
        let whole = crossings(&samples, &Before::default());
        let used = |c: &[Crossing]| {
            c.iter()
                .map(|c| (c.key.1, c.percent, c.used))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            used(&whole),
            vec![
                ("compute_seconds", 80, 85),
                ("active_users", 80, 2),
                ("active_users", 100, 2),
                ("seats", 80, 10),
                ("seats", 100, 10),
                ("compute_seconds", 100, 125),
            ]
        );
        for cut in 1..samples.len() {
            let (first, second) = samples.split_at(cut);
            let earlier = crossings(first, &Before::default());
            let later = crossings(second, &after(first, Before::default()));
            // An earlier batch's row stays (ON CONFLICT DO NOTHING).
            let later: Vec<Crossing> = later
                .into_iter()
                .filter(|c| {
                    !earlier
                        .iter()
                        .any(|e| (e.key.1, e.percent) == (c.key.1, c.percent))
                })
                .collect();
            let mut split = [used(&earlier), used(&later)].concat();
            let mut expected = used(&whole);
            split.sort();
            expected.sort();
            assert_eq!(split, expected, "cut after {cut}");
        }
    }
}
