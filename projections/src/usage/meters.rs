//! The meter catalogue: each meter's aggregation and where its samples come from. The plans'
//! quotas are in the plan catalogue ([`keel_domain::billing::Catalogue`]).

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

/// How a meter's samples combine within a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The number of samples.
    Count,
    /// The sum of the quantities.
    Sum,
    /// The largest quantity.
    Max,
    /// The number of distinct values of a property.
    UniqueCount(&'static str),
    /// The quantity of the latest sample (a gauge: seats, stored bytes).
    Latest,
}

/// A declared meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meter {
    /// Its name.
    pub name: &'static str,
    /// How samples combine.
    pub aggregation: Aggregation,
    /// Whether clients may report it through the ingestion API (the others are derived from
    /// Keel's own events or counted by the API).
    pub ingestible: bool,
}

/// Every meter Keel knows.
pub const METERS: &[Meter] = &[
    Meter {
        name: "api_calls",
        aggregation: Aggregation::Sum,
        ingestible: false,
    },
    Meter {
        name: "seats",
        aggregation: Aggregation::Latest,
        ingestible: false,
    },
    Meter {
        name: "storage_bytes",
        aggregation: Aggregation::Latest,
        ingestible: true,
    },
    Meter {
        name: "workflow_runs",
        aggregation: Aggregation::Count,
        ingestible: false,
    },
    Meter {
        name: "webhook_deliveries",
        aggregation: Aggregation::Count,
        ingestible: false,
    },
    Meter {
        name: "active_users",
        aggregation: Aggregation::UniqueCount("user_id"),
        ingestible: true,
    },
    Meter {
        name: "peak_connections",
        aggregation: Aggregation::Max,
        ingestible: true,
    },
    Meter {
        name: "compute_seconds",
        aggregation: Aggregation::Sum,
        ingestible: true,
    },
];

/// The meter called `name`.
pub fn meter(name: &str) -> Option<&'static Meter> {
    METERS.iter().find(|m| m.name == name)
}

/// The names of every meter, for checking a plan catalogue against them.
pub fn meter_names() -> Vec<&'static str> {
    METERS.iter().map(|m| m.name).collect()
}

/// The granularities usage is kept at.
pub const GRANULARITIES: [&str; 3] = ["hour", "day", "month"];

/// The start of the period of `granularity` containing `at` (UTC; months are calendar months).
pub fn bucket_start(granularity: &str, at: DateTime<Utc>) -> DateTime<Utc> {
    let day = Utc
        .with_ymd_and_hms(at.year(), at.month(), at.day(), 0, 0, 0)
        .single()
        .expect("midnight UTC exists");
    match granularity {
        "hour" => day + chrono::Duration::hours(i64::from(at.hour())),
        "day" => day,
        _ => Utc
            .with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
            .single()
            .expect("the first of a month exists"),
    }
}

/// The billing month of `at`, `YYYY-MM`.
pub fn period_of(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_at_the_hour_day_and_calendar_month() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 21, 37, 5).unwrap();
        assert_eq!(
            bucket_start("hour", at),
            Utc.with_ymd_and_hms(2026, 12, 1, 21, 0, 0).unwrap()
        );
        assert_eq!(
            bucket_start("day", at),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(
            bucket_start("month", late),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(period_of(late), "2026-12");
    }
}
