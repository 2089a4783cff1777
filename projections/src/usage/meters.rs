//! Time buckets of usage (hour, day, billing month) and the SQL that reads them. The meter
//! catalogue itself is domain knowledge ([`keel_domain::usage::meters`]), re-exported here for
//! the projection's code.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
pub use keel_domain::usage::meters::{meter, meter_names, Aggregation, Meter, METERS};

/// Meter names quoted for an SQL `IN (...)` list; `NULL` (matching nothing) when there is
/// none. Meter names are declared identifiers (letters and `_`), safe to write as literals.
pub fn sql_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|m| format!("'{m}'")).collect();
    match quoted.is_empty() {
        true => "NULL".into(),
        false => quoted.join(", "),
    }
}

/// The granularities usage can be read at.
pub const GRANULARITIES: [&str; 3] = ["hour", "day", "month"];

/// The granularities usage is kept at: hours, and months for quotas and invoices. A day is
/// read from its hours ([`kept_granularity`], [`period_sql`]): keeping days too made every
/// sample touch one more row, and a day's row was rewritten by nearly every batch, which took
/// the usage rebuild from 141,000 to 77,000 events/s (docs/BENCHMARKS.md).
pub const KEPT_GRANULARITIES: [&str; 2] = ["hour", "month"];

/// The kept granularity periods of `granularity` are read from: a day from its hours.
pub fn kept_granularity(granularity: &str) -> &'static str {
    match granularity {
        "month" => "month",
        _ => "hour",
    }
}

/// The SQL expression, over a kept row's `bucket` (microseconds), for the start of its period
/// of `granularity`. UTC days are exactly 86,400 s long, so a day starts at a multiple of them.
pub fn period_sql(granularity: &str) -> &'static str {
    match granularity {
        "day" => "(bucket - bucket % 86400000000)",
        _ => "bucket",
    }
}

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

/// Where the kept buckets of the periods of `granularity` that start before `to` end
/// (microseconds): `to` itself, or for days the end of the day `to` falls in, so that the
/// last day is read whole as when days were kept.
pub fn kept_end(granularity: &str, to: DateTime<Utc>) -> i64 {
    let day = bucket_start("day", to);
    match granularity {
        "day" if day < to => (day + chrono::Duration::days(1)).timestamp_micros(),
        _ => to.timestamp_micros(),
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

    #[test]
    fn a_day_is_read_from_hours_that_start_at_its_multiple_of_86400_seconds() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 21, 37, 5).unwrap();
        let day = bucket_start("day", at).timestamp_micros();
        assert_eq!(day % 86_400_000_000, 0);
        assert_eq!(kept_granularity("day"), "hour");
        assert_eq!(period_sql("day"), "(bucket - bucket % 86400000000)");
        assert_eq!(
            (kept_granularity("month"), period_sql("month")),
            ("month", "bucket")
        );
        let midnight = bucket_start("day", at);
        assert_eq!(kept_end("day", at), day + 86_400_000_000);
        assert_eq!(kept_end("day", midnight), day);
        assert_eq!(kept_end("hour", at), at.timestamp_micros());
    }
}
