//! Validated text values of the policy aggregate: the policy's name, rule descriptions, the
//! wildcard patterns access and MFA rules match with, and the identifiers that name endpoint
//! groups, data classes and compliance controls. CIDR ranges are in [`cidr`](super::cidr).
//!
//! Each newtype is built by `parse`, which checks a raw input. Commands carry raw strings;
//! `decide` parses them, so events and state only ever hold values that passed these rules.
//! Deserialization deliberately does not re-validate (`serde(transparent)`): stored events are
//! facts checked when they were decided, and re-checking them on read would make a later
//! tightening of a rule break streams that can no longer change.

pub(crate) use crate::value::quoted;
pub use crate::value::InvalidValue;
use crate::value::{parse_text, text_value as string_value};

string_value! {
    /// A policy's human-readable name (e.g. `Office network only`): trimmed, 1-200 characters,
    /// one line.
    #[derive(Default)]
    PolicyName
}

impl PolicyName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(PolicyName)
    }
}

string_value! {
    /// What a rule is for, in a person's words (e.g. `auditors read everything`): trimmed,
    /// 1-300 characters, one line. Evaluation quotes it in the reasons of a decision.
    RuleDescription
}

impl RuleDescription {
    /// The longest description accepted, in characters.
    pub const MAX_CHARS: usize = 300;

    /// Trims and checks a description.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(RuleDescription)
    }
}

string_value! {
    /// What an access or MFA rule matches a role, action or resource with:
    /// - `*` matches every value;
    /// - `prefix*` matches every value starting with `prefix` (e.g. `workflows/*`);
    /// - anything else matches exactly that value (e.g. `admin`, `tenants.suspend`).
    ///
    /// Text: 1-128 lowercase letters, digits and `_ . : / -`, starting with a letter or digit,
    /// with `*` allowed only as the last character. Matching is exact and case-sensitive: the
    /// caller passes canonical (lowercase) names in the request.
    Pattern
}

impl Pattern {
    /// The longest pattern accepted, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Checks a pattern.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw == "*" {
            return Ok(Pattern(raw.to_owned()));
        }
        let literal = raw.strip_suffix('*').unwrap_or(raw);
        let valid = !literal.is_empty()
            && raw.len() <= Self::MAX_CHARS
            && literal.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && literal
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:/-".contains(&b));
        if valid {
            Ok(Pattern(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is not a valid pattern: use `*`, a name of lowercase letters, digits and \
                 `_ . : / -` (at most {} characters), or such a name ending in `*` to match a \
                 prefix",
                quoted(raw),
                Self::MAX_CHARS
            )))
        }
    }

    /// Whether this pattern matches `value`.
    pub fn matches(&self, value: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => self.0 == value,
        }
    }

    /// How specific the pattern is, for rules where the most specific match wins: an exact
    /// name beats any prefix, a longer prefix beats a shorter one, and `*` comes last.
    pub fn specificity(&self) -> usize {
        match self.0.strip_suffix('*') {
            // Exact names rank above every prefix, whose length is at most MAX_CHARS.
            None => Self::MAX_CHARS + 1,
            Some(prefix) => prefix.len(),
        }
    }
}

string_value! {
    /// A machine name for an endpoint group, a data class or a compliance control (e.g.
    /// `webhooks`, `audit_log`, `encryption_at_rest`): `[a-z][a-z0-9_]{0,63}`.
    Identifier
}

impl Identifier {
    /// Checks an identifier.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (1..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Identifier(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use 1-64 lowercase letters, digits or '_', starting with a letter",
                quoted(raw)
            )))
        }
    }
}

string_value! {
    /// The endpoint group a rate limit applies to: an [`Identifier`] (e.g. `webhooks`), or `*`
    /// for every group that has no limit of its own in the same policy.
    EndpointGroup
}

impl EndpointGroup {
    /// Checks an endpoint group.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw == "*" {
            return Ok(EndpointGroup(raw.to_owned()));
        }
        Identifier::parse(raw)
            .map(|id| EndpointGroup(id.0))
            .map_err(|e| InvalidValue::new(format!("{} (or `*` for every group)", e.reason())))
    }

    /// Whether this is the `*` default.
    pub fn is_default(&self) -> bool {
        self.0 == "*"
    }
}
