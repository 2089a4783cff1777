//! Cron expressions for scheduled workflows: the classic five fields, validated by hand (no
//! dependency), evaluated in UTC by the scheduler that comes with the engine.
//!
//! ```text
//! minute  hour  day-of-month  month  day-of-week
//! 0-59    0-23  1-31          1-12   0-7 (0 and 7 are Sunday)
//! ```
//!
//! Each field is `*` or a comma-separated list of items; an item is a value, a range `a-b`, or
//! either of those or `*` followed by a step `/n`. Months accept `jan`-`dec` and days of the
//! week `sun`-`sat`, in any case. The shorthands `@yearly`, `@annually`, `@monthly`, `@weekly`,
//! `@daily`, `@midnight` and `@hourly` are accepted too. Quartz extensions (`?`, `L`, `W`, `#`,
//! a seconds field) are refused with a clear message rather than guessed at.

use super::values::{quoted, InvalidValue};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A validated cron expression, stored as written with blanks between fields normalized to
/// one space.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CronExpression(String);

/// One field's name, range and names (for months and week days).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for the values from `min` on, lowercase.
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    Field {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

const SHORTHANDS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

impl CronExpression {
    /// The longest expression accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Checks a cron expression.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if trimmed.len() > Self::MAX_CHARS {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if trimmed.starts_with('@') {
            let lower = trimmed.to_ascii_lowercase();
            return if SHORTHANDS.contains(&lower.as_str()) {
                Ok(CronExpression(lower))
            } else {
                Err(InvalidValue::new(format!(
                    "{} is not a known shorthand: use one of {}",
                    quoted(trimmed),
                    SHORTHANDS.join(", ")
                )))
            };
        }
        let parts: Vec<&str> = trimmed.split_whitespace().collect();
        if parts.len() != FIELDS.len() {
            return Err(InvalidValue::new(format!(
                "{} has {} fields; a cron expression has 5: minute hour day-of-month month \
                 day-of-week (e.g. `0 9 * * mon-fri`)",
                quoted(trimmed),
                parts.len()
            )));
        }
        for (part, field) in parts.iter().zip(FIELDS.iter()) {
            check_field(part, field)
                .map_err(|reason| InvalidValue::new(format!("{} field: {reason}", field.name)))?;
        }
        Ok(CronExpression(parts.join(" ")))
    }

    /// The expression as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CronExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_field(text: &str, field: &Field) -> Result<(), String> {
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("{} has an empty list item", quoted(text)));
        }
        check_item(item, field)?;
    }
    Ok(())
}

fn check_item(item: &str, field: &Field) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        let span = field.max - field.min;
        match step.parse::<u32>() {
            Ok(n) if (1..=span.max(1)).contains(&n) => {}
            _ => {
                return Err(format!(
                    "step {} must be a whole number from 1 to {}",
                    quoted(step),
                    span.max(1)
                ))
            }
        }
    }
    if range == "*" {
        return Ok(());
    }
    match range.split_once('-') {
        Some((from, to)) => {
            let (from, to) = (value(from, field)?, value(to, field)?);
            if from > to {
                return Err(format!(
                    "range {} goes backwards: write the smaller value first",
                    quoted(range)
                ));
            }
            Ok(())
        }
        None => value(range, field).map(|_| ()),
    }
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    if let Ok(n) = text.parse::<u32>() {
        if (field.min..=field.max).contains(&n) {
            return Ok(n);
        }
        return Err(format!(
            "{} is out of range {}-{}",
            quoted(text),
            field.min,
            field.max
        ));
    }
    let lower = text.to_ascii_lowercase();
    if let Some(index) = field.names.iter().position(|name| *name == lower) {
        // `position` is below the names' length (at most 12), so this cannot overflow.
        return Ok(field.min + index as u32);
    }
    let names = match (field.names.first(), field.names.last()) {
        (Some(first), Some(last)) => format!(" or a name ({first}-{last})"),
        _ => String::new(),
    };
    Err(format!(
        "{} is not a value: use a number {}-{}{names}, `*`, a range `a-b` or a step `/n`",
        quoted(text),
        field.min,
        field.max
    ))
}
