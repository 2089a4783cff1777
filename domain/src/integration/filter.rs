//! Which events an integration receives: a filter of event type patterns with wildcards.
//!
//! Event types are dotted names (`tenant.created`, `workflow.run_failed`). A pattern is such a
//! name in which a whole segment may be `*`:
//! - `*` alone matches every event type;
//! - `tenant.*` matches every event of the tenant aggregate (a trailing `*` matches one or more
//!   segments);
//! - `*.created` matches `tenant.created`, `workflow.created`... (a `*` elsewhere matches exactly
//!   one segment).
//!
//! Partial wildcards (`tenant.api_*`) are refused rather than guessed at, so a filter always
//! means what it reads as.

use super::values::{quoted, InvalidValue};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One event type pattern, e.g. `tenant.*` (see the module doc for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventPattern(String);

impl EventPattern {
    /// The longest pattern accepted, in bytes.
    pub const MAX_LEN: usize = 200;
    /// The most dot-separated segments a pattern may have.
    pub const MAX_SEGMENTS: usize = 8;

    /// Checks a pattern: dot-separated segments, each `*` or 1-64 lowercase letters, digits or
    /// '_'.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return Err(InvalidValue::new(
                "must not contain an empty pattern (use `*` for every event)",
            ));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "{} is longer than {} characters",
                quoted(raw),
                Self::MAX_LEN
            )));
        }
        let segments: Vec<&str> = raw.split('.').collect();
        if segments.len() > Self::MAX_SEGMENTS {
            return Err(InvalidValue::new(format!(
                "{} has more than {} dot-separated segments",
                quoted(raw),
                Self::MAX_SEGMENTS
            )));
        }
        for segment in &segments {
            if *segment == "*" {
                continue;
            }
            if segment.contains('*') {
                return Err(InvalidValue::new(format!(
                    "{} is invalid: `*` must stand for a whole segment, e.g. `tenant.*`",
                    quoted(raw)
                )));
            }
            let valid = (1..=64).contains(&segment.len())
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(InvalidValue::new(format!(
                    "{} is invalid: use dot-separated segments of lowercase letters, digits \
                     or '_', or `*` (e.g. `tenant.created`, `tenant.*`, `*`)",
                    quoted(raw)
                )));
            }
        }
        Ok(EventPattern(raw.to_owned()))
    }

    /// Whether an event type matches this pattern.
    pub fn matches(&self, event_type: &str) -> bool {
        let segments: Vec<&str> = event_type.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return false;
        }
        let pattern: Vec<&str> = self.0.split('.').collect();
        let segment_matches = |(p, s): (&&str, &&str)| *p == "*" || p == s;
        match pattern.split_last() {
            // A trailing `*` stands for the rest of the name: one segment or more.
            Some((&"*", init)) => {
                segments.len() > init.len() && init.iter().zip(&segments).all(segment_matches)
            }
            _ => {
                segments.len() == pattern.len()
                    && pattern.iter().zip(&segments).all(segment_matches)
            }
        }
    }

    /// The pattern as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The event types an integration receives: 1-50 distinct patterns, any of which may match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventFilter(Vec<EventPattern>);

impl EventFilter {
    /// The most patterns a filter may hold.
    pub const MAX_PATTERNS: usize = 50;

    /// Checks a list of patterns: at least one, at most [`Self::MAX_PATTERNS`], each valid and
    /// matching at least one event type the domain declares ([`crate::event_types`]: a pattern
    /// that matches nothing is a typo, not a subscription), none twice. The order given is
    /// kept, as it is how the user wrote it.
    pub fn parse(raw: &[String]) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return Err(InvalidValue::new(
                "must list at least one event type pattern, e.g. `*` or `tenant.*`",
            ));
        }
        if raw.len() > Self::MAX_PATTERNS {
            return Err(InvalidValue::new(format!(
                "must list at most {} patterns (got {})",
                Self::MAX_PATTERNS,
                raw.len()
            )));
        }
        let mut patterns: Vec<EventPattern> = Vec::with_capacity(raw.len());
        for pattern in raw {
            let pattern = EventPattern::parse(pattern)?;
            if !crate::event_types::all().any(|t| pattern.matches(t)) {
                return Err(InvalidValue::new(format!(
                    "{} matches no event type: name one (`tenant.created`), an aggregate's \
                     (`tenant.*`), a fact of every aggregate (`*.created`) or `*`",
                    quoted(pattern.as_str())
                )));
            }
            if patterns.contains(&pattern) {
                return Err(InvalidValue::new(format!(
                    "must not list {} twice",
                    quoted(pattern.as_str())
                )));
            }
            patterns.push(pattern);
        }
        Ok(EventFilter(patterns))
    }

    /// Whether an event type matches any pattern of the filter.
    pub fn matches(&self, event_type: &str) -> bool {
        self.0.iter().any(|pattern| pattern.matches(event_type))
    }

    /// The patterns, in the order given.
    pub fn patterns(&self) -> &[EventPattern] {
        &self.0
    }
}
