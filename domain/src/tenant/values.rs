//! Validated text values of the tenant aggregate: names, slug, region, domains and flag names
//! (plans, roles, emails, meter names and reasons are shared: [`crate::shared`]).
//!
//! Each newtype is built by `parse`, which checks a raw input and, where the value is
//! case-insensitive (emails, domains), normalizes it. Commands carry raw strings; `decide` parses
//! them, so events and state only ever hold values that passed these rules.
//!
//! Deserialization deliberately does not re-validate (`serde(transparent)`): stored events and
//! snapshots are facts checked when they were decided, and re-checking them on read would make a
//! later tightening of a rule break streams that can no longer change.

pub(super) use crate::value::text_value as string_value;
pub use crate::value::InvalidValue;
pub(super) use crate::value::{parse_identifier, parse_text, quoted};

/// Whether `label` is one DNS label: 1-63 lowercase letters, digits or '-', not starting or
/// ending with '-'.
pub(super) fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

string_value! {
    /// A tenant's human-readable name (also used for its branding display name): trimmed,
    /// 1-200 characters, one line.
    #[derive(Default)]
    TenantName
}

impl TenantName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(TenantName)
    }
}

string_value! {
    /// A tenant's unique, URL- and DNS-safe handle (e.g. `acme` in `acme.keel.example`):
    /// 3-63 lowercase letters, digits or '-', not starting or ending with '-'.
    #[derive(Default)]
    TenantSlug
}

impl TenantSlug {
    /// Checks a slug. It is not lowercased: a slug is chosen, and silently changing what someone
    /// chose would surprise them more than a clear refusal.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() >= 3 && is_dns_label(raw) {
            Ok(TenantSlug(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use 3-63 lowercase letters, digits or '-', \
                 not starting or ending with '-'",
                quoted(raw)
            )))
        }
    }
}

string_value! {
    /// The region a tenant's data lives in (e.g. `eu-west-1`): 2-32 lowercase letters, digits
    /// or '-', starting with a letter and not ending with '-'. Fixed at creation, because moving
    /// data between regions is an operation, not an edit.
    #[derive(Default)]
    Region
}

impl Region {
    /// Checks a region identifier.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (2..=32).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && !raw.ends_with('-')
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Region(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use 2-32 lowercase letters, digits or '-', starting with a \
                 letter (e.g. `eu-west-1`)",
                quoted(raw)
            )))
        }
    }
}

string_value! {
    /// A custom domain (DNS hostname) a tenant serves under, e.g. `app.acme.com`: lowercased,
    /// at least two labels of 1-63 letters, digits or '-', at most 253 characters. Names with
    /// non-ASCII letters must be given in their `xn--` (punycode) form.
    DomainName
}

impl DomainName {
    /// The longest hostname DNS allows.
    pub const MAX_CHARS: usize = 253;

    /// Lowercases and checks a hostname.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.to_ascii_lowercase();
        if name.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if name.len() > Self::MAX_CHARS {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters (got {})",
                Self::MAX_CHARS,
                name.len()
            )));
        }
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 {
            return Err(InvalidValue::new(format!(
                "{} must have at least two labels (e.g. `app.example.com`)",
                quoted(raw)
            )));
        }
        if !labels.iter().all(|label| is_dns_label(label)) {
            return Err(InvalidValue::new(format!(
                "{} is invalid: each dot-separated label must be 1-63 letters, digits or '-', \
                 not starting or ending with '-'",
                quoted(raw)
            )));
        }
        // An all-numeric last label would make `10.0.0.1` a "domain": addresses are not hostnames.
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(InvalidValue::new(format!(
                "{} is an address, not a hostname",
                quoted(raw)
            )));
        }
        Ok(DomainName(name))
    }
}

string_value! {
    /// The name of a feature flag (e.g. `new_billing_ui`): `[a-z][a-z0-9_]{0,63}`.
    FlagName
}

impl FlagName {
    /// Checks a feature flag name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_identifier(raw).map(FlagName)
    }
}
