//! Validated text values several aggregates share: email addresses (members, approvers,
//! notification recipients), usage meter names (quotas, usage, the plan catalogue) and reasons
//! (suspensions, rejections).

use crate::value::text_value as string_value;
use crate::value::{parse_identifier, parse_text, quoted, InvalidValue};

string_value! {
    /// An email address, trimmed and lowercased so that one person cannot be a member twice
    /// under two spellings. Checked simply (one '@', a local part, a dotted domain): only
    /// sending mail proves an address.
    Email
}

impl Email {
    /// The longest address accepted, in characters.
    pub const MAX_CHARS: usize = 254;

    /// Trims, lowercases and checks an email address.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let email = raw.trim().to_lowercase();
        let length = email.chars().count();
        if length > Self::MAX_CHARS {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters (got {length})",
                Self::MAX_CHARS
            )));
        }
        let well_formed = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if well_formed {
            Ok(Email(email))
        } else {
            Err(InvalidValue::new(format!(
                "{} is not a valid email address (expected e.g. `ada@example.com`)",
                quoted(raw)
            )))
        }
    }
}

string_value! {
    /// The name of a usage meter a quota applies to (e.g. `api_calls`): `[a-z][a-z0-9_]{0,63}`.
    MeterName
}

impl MeterName {
    /// Checks a meter name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_identifier(raw).map(MeterName)
    }

    /// Checks a meter name and that it is one of the meter catalogue's
    /// ([`crate::usage::meters`]): what a new reference to a meter (a quota override) needs.
    /// Stored names are not re-checked, so a meter leaving the catalogue never makes old
    /// events unreadable.
    pub fn parse_known(raw: &str) -> Result<Self, InvalidValue> {
        let name = Self::parse(raw)?;
        if crate::usage::meters::meter(name.as_str()).is_none() {
            let known: Vec<String> = crate::usage::meters::METERS
                .iter()
                .map(|m| quoted(m.name))
                .collect();
            return Err(InvalidValue::new(format!(
                "{} is not a meter; the meters are {}",
                quoted(name.as_str()),
                known.join(", ")
            )));
        }
        Ok(name)
    }
}

string_value! {
    /// Why a tenant was suspended, for the audit trail and support: trimmed, 1-500 characters.
    Reason
}

impl Reason {
    /// The longest reason accepted, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Trims and checks a reason.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(Reason)
    }
}
