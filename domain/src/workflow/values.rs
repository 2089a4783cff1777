//! Validated text values shared by the workflow definition and run aggregates: names, step ids,
//! event types, inbound webhook names, operation names, free texts and field paths.
//!
//! Each newtype is built by `parse`, which checks a raw input. Commands carry raw strings;
//! `decide` parses them, so events and state only ever hold values that passed these rules.
//! Deserialization deliberately does not re-validate (`serde(transparent)`): stored events are
//! facts checked when they were decided, and re-checking them on read would make a later
//! tightening of a rule break streams that can no longer change.

use serde::{Deserialize, Serialize};
use std::fmt;

pub(crate) use crate::value::quoted;
/// Why a raw input is not a valid value: the tenant aggregate's type, shared so that values
/// of both (roles, emails) and of workflows fail alike.
pub use crate::value::InvalidValue;

/// The shared validated-string macro; workflow values also have a `Default` (an empty value)
/// because the states that hold them do.
macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident) => {
        crate::value::text_value! { $(#[$meta])* #[derive(Default)] $name }
    };
}

/// Checks text a human typed: trimmed, non-empty, at most `max` characters; line breaks only
/// where `multiline` allows them (a message body, an error report).
fn parse_text(raw: &str, max: usize, multiline: bool) -> Result<String, InvalidValue> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(InvalidValue::new("must not be empty"));
    }
    let length = text.chars().count();
    if length > max {
        return Err(InvalidValue::new(format!(
            "must be at most {max} characters (got {length})"
        )));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(InvalidValue::new(if multiline {
            "must not contain control characters other than line breaks and tabs"
        } else {
            "must not contain control characters such as line breaks"
        }));
    }
    Ok(text.to_owned())
}

/// Checks a slug-like handle: 1-64 lowercase letters, digits, '-' or '_', starting with a
/// letter or digit.
fn parse_handle(raw: &str) -> Result<String, InvalidValue> {
    let valid = (1..=64).contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(InvalidValue::new(format!(
            "{} is invalid: use 1-64 lowercase letters, digits, '-' or '_', starting with a \
             letter or digit",
            quoted(raw)
        )))
    }
}

/// Whether `s` is a snake_case identifier: `[a-z][a-z0-9_]*`.
fn is_snake_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

text_value! {
    /// A workflow's human-readable name: trimmed, 1-200 characters, one line.
    WorkflowName
}

impl WorkflowName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS, false).map(WorkflowName)
    }
}

text_value! {
    /// The id of a step within one workflow definition (e.g. `check-plan`): 1-64 lowercase
    /// letters, digits, '-' or '_', starting with a letter or digit.
    StepId
}

impl StepId {
    /// Checks a step id.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_handle(raw).map(StepId)
    }
}

text_value! {
    /// The name of an inbound webhook a workflow listens to (e.g. `stripe-payments`), as in its
    /// receiving URL: 1-64 lowercase letters, digits, '-' or '_'.
    HookName
}

impl HookName {
    /// Checks a webhook name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_handle(raw).map(HookName)
    }
}

text_value! {
    /// An operation of an integration a step calls (e.g. `create_ticket`): 1-64 lowercase
    /// letters, digits, '-' or '_'.
    OperationName
}

impl OperationName {
    /// Checks an operation name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_handle(raw).map(OperationName)
    }
}

text_value! {
    /// A stored event type that triggers a workflow, `<aggregate>.<fact>` in snake_case (e.g.
    /// `tenant.plan_changed`), at most 128 characters.
    EventType
}

impl EventType {
    /// The longest event type accepted, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Checks an event type name. Whether such an event exists is not checked: aggregates are
    /// added over time, and a workflow may be defined before the events it waits for.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = raw.len() <= Self::MAX_CHARS
            && matches!(raw.split_once('.'), Some((kind, fact))
                if is_snake_identifier(kind) && is_snake_identifier(fact));
        if valid {
            Ok(EventType(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use `<aggregate>.<fact>` in snake_case, e.g. \
                 `tenant.plan_changed`",
                quoted(raw)
            )))
        }
    }
}

text_value! {
    /// A one-line text for people (a notification subject): trimmed, 1-200 characters.
    Subject
}

impl Subject {
    /// The longest subject accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a subject.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS, false).map(Subject)
    }
}

text_value! {
    /// A text of several lines for people (a notification body, an error report, a reason):
    /// trimmed, 1-5000 characters.
    Message
}

impl Message {
    /// The longest message accepted, in characters.
    pub const MAX_CHARS: usize = 5000;

    /// Trims and checks a message.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS, true).map(Message)
    }
}

/// The roots a field path may start with, and what each holds while a run is decided:
/// - `input`: the JSON the run was started with;
/// - `context`: values the run's own `set_field` steps wrote;
/// - `trigger`: what started the run (the event's payload, the webhook's body);
/// - `tenant`: the tenant's current profile, as the engine reads it when it evaluates.
pub const KNOWN_ROOTS: &[&str] = &["input", "context", "trigger", "tenant"];

/// The root `set_field` steps write under; the other roots are read-only.
pub const WRITABLE_ROOT: &str = "context";

/// A dotted path to a value in a run's data, e.g. `input.seats` or `tenant.plan`: segments of
/// letters, digits and '_' (not starting with a digit), at most 16 segments and 256 characters.
///
/// Parsing checks the syntax only; whether the root is one of [`KNOWN_ROOTS`] is a rule of
/// workflow definitions, checked with the steps, so the error can name the step.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldPath(String);

impl FieldPath {
    /// The most segments a path may have.
    pub const MAX_SEGMENTS: usize = 16;
    /// The longest path accepted, in characters.
    pub const MAX_CHARS: usize = 256;

    /// Checks a path's syntax.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let segments: Vec<&str> = raw.split('.').collect();
        let valid = raw.len() <= Self::MAX_CHARS
            && segments.len() <= Self::MAX_SEGMENTS
            && segments.iter().all(|s| is_path_segment(s));
        if valid {
            Ok(FieldPath(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is not a field path: use names of letters, digits and '_' joined by '.', \
                 e.g. `input.seats`",
                quoted(raw)
            )))
        }
    }

    /// Builds a path from segments the expression lexer already checked.
    pub(crate) fn from_checked_segments(segments: &[String]) -> Self {
        FieldPath(segments.join("."))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's segments, root first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// The first segment (`input`, `tenant`, ...).
    pub fn root(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }

    /// Whether the path starts with a known root and names something below it (`input` alone
    /// is refused: a condition compares values, not whole documents).
    pub fn has_known_root(&self) -> bool {
        KNOWN_ROOTS.contains(&self.root()) && self.0.contains('.')
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is one segment of a field path: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_path_segment(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The "known roots" rule, as the sentence error messages end with.
pub(crate) fn known_roots_rule() -> String {
    let roots: Vec<String> = KNOWN_ROOTS.iter().map(|r| format!("`{r}.`")).collect();
    format!("a field path must start with {}", roots.join(", "))
}
