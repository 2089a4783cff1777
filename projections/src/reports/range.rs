//! A report's time range and the periods it is cut into.
//!
//! A range is half-open, `[from, to)`, in UTC, at most [`MAX_DAYS`] long so that no report can
//! be asked to fold an unbounded number of periods. Trends are cut into days or calendar months;
//! the first period is the one containing `from`, the last the one containing the last instant
//! before `to`.

use crate::usage::meters::bucket_start;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

/// The longest range a report covers, in days (three years and a leap day).
pub const MAX_DAYS: i64 = 1096;

/// Why a range is refused, naming the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidRange {
    /// `from` or `to`.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    /// The first instant covered.
    pub from: DateTime<Utc>,
    /// The first instant after it.
    pub to: DateTime<Utc>,
}

impl ReportRange {
    /// Checks a range: `from` before `to`, at most [`MAX_DAYS`] apart.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, InvalidRange> {
        if from >= to {
            return Err(InvalidRange {
                field: "from",
                reason: "must be before `to`".into(),
            });
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(InvalidRange {
                field: "to",
                reason: format!("must be at most {MAX_DAYS} days after `from`"),
            });
        }
        Ok(ReportRange { from, to })
    }

    /// The last instant covered.
    pub fn last_instant(&self) -> DateTime<Utc> {
        self.to - Duration::microseconds(1)
    }

    /// The starts of the periods of `granularity` the range touches, oldest first.
    pub fn periods(&self, granularity: Granularity) -> Vec<DateTime<Utc>> {
        let mut starts = Vec::new();
        let mut start = bucket_start(granularity.as_str(), self.from);
        while start < self.to {
            starts.push(start);
            start = granularity.next(start);
        }
        starts
    }
}

/// How a trend is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// UTC days.
    Day,
    /// Calendar months (UTC).
    Month,
}

impl Granularity {
    /// `day` or `month`.
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "day" => Some(Granularity::Day),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }

    /// The granularity's name: `hour`, `day` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }

    /// The start of the period after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Granularity::Day => start + Duration::days(1),
            Granularity::Month => {
                let (year, month) = if start.month() == 12 {
                    (start.year() + 1, 1)
                } else {
                    (start.year(), start.month() + 1)
                };
                Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
                    .single()
                    .expect("the first of a month exists")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_range_must_be_forward_and_bounded() {
        assert_eq!(
            ReportRange::new(at(2026, 2, 1), at(2026, 1, 1))
                .unwrap_err()
                .field,
            "from"
        );
        assert_eq!(
            ReportRange::new(at(2026, 1, 1), at(2026, 1, 1))
                .unwrap_err()
                .field,
            "from"
        );
        assert_eq!(
            ReportRange::new(at(2020, 1, 1), at(2026, 1, 1))
                .unwrap_err()
                .field,
            "to"
        );
        assert!(ReportRange::new(at(2023, 1, 1), at(2026, 1, 1)).is_ok());
    }

    #[test]
    fn periods_cover_the_range_from_the_period_containing_from() {
        let range = ReportRange::new(at(2026, 11, 15), at(2027, 1, 2)).unwrap();
        assert_eq!(
            range.periods(Granularity::Month),
            vec![at(2026, 11, 1), at(2026, 12, 1), at(2027, 1, 1)]
        );
        let days = ReportRange::new(at(2026, 12, 30), at(2027, 1, 1)).unwrap();
        assert_eq!(
            days.periods(Granularity::Day),
            vec![at(2026, 12, 30), at(2026, 12, 31)]
        );
        let exact = ReportRange::new(at(2026, 11, 1), at(2026, 12, 1)).unwrap();
        assert_eq!(exact.periods(Granularity::Month), vec![at(2026, 11, 1)]);
    }
}
