//! A tenant's presentation and configuration: branding (with its colour and logo values) and
//! typed settings (with their timezone and locale values and ranges).
//!
//! Branding is replaced as a whole, because each of its parts is optional and replacing is the
//! only way to clear one. Settings are patched field by field, because every setting always has
//! a value (a default until changed).

use super::values::{quoted, string_value, InvalidValue, TenantName};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

string_value! {
    /// A colour as `#rrggbb`, normalized to lowercase so that `#FF0000` and `#ff0000` are one
    /// value.
    HexColor
}

impl HexColor {
    /// Checks a `#RRGGBB` colour (either case) and lowercases it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = raw.len() == 7
            && raw.starts_with('#')
            && raw[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Ok(HexColor(raw.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use a `#RRGGBB` hex colour, e.g. `#1a7f5a`",
                quoted(raw)
            )))
        }
    }
}

string_value! {
    /// An absolute `http`/`https` URL of a logo image, in the URL parser's normalized form.
    LogoUrl
}

impl LogoUrl {
    /// The longest URL accepted, in bytes.
    pub const MAX_LEN: usize = 2048;

    /// Checks and normalizes a logo URL. Credentials in the URL are refused: a logo is shown to
    /// everyone, so a `user:password@` part would leak.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        let url = url::Url::parse(raw).map_err(|_| {
            InvalidValue::new(format!(
                "{} is not an absolute URL (expected e.g. `https://cdn.example.com/logo.png`)",
                quoted(raw)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidValue::new(format!(
                "{} must use http or https",
                quoted(raw)
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidValue::new(format!("{} has no host", quoted(raw))));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new(
                "must not contain a user name or password",
            ));
        }
        Ok(LogoUrl(url.to_string()))
    }
}

/// How a tenant presents itself in UIs and emails. Every part is optional: an absent part falls
/// back to the tenant name or the product's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// The name shown instead of the tenant name.
    pub display_name: Option<TenantName>,
    /// The logo shown in UIs and emails.
    pub logo_url: Option<LogoUrl>,
    /// The accent colour of UIs and emails.
    pub primary_color: Option<HexColor>,
}

string_value! {
    /// An IANA time zone name such as `Europe/London`, `America/Argentina/Buenos_Aires` or
    /// `UTC`. Only its shape is checked: the zone database changes, and the domain holds no copy.
    Timezone
}

impl Timezone {
    /// Checks the shape of a zone name: up to 64 characters of `/`-separated parts made of
    /// letters, digits, '_', '+' or '-', the first starting with an uppercase letter.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (1..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_uppercase())
            && raw.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
            });
        if valid {
            Ok(Timezone(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is not a time zone name (expected e.g. `Europe/London` or `UTC`)",
                quoted(raw)
            )))
        }
    }

    /// UTC, the default zone.
    pub fn utc() -> Self {
        Timezone("UTC".to_owned())
    }
}

string_value! {
    /// A language tag such as `en`, `en-GB`, `es-419` or `zh-Hant-TW`: a 2-3 letter language,
    /// an optional 4-letter script and an optional 2-letter or 3-digit region.
    Locale
}

impl Locale {
    /// Checks a language tag in its canonical case (`en-GB`, not `en-gb`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if Self::is_valid(raw) {
            Ok(Locale(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is not a locale (expected e.g. `en-GB`, `fr` or `zh-Hant-TW`)",
                quoted(raw)
            )))
        }
    }

    fn is_valid(raw: &str) -> bool {
        let mut parts = raw.split('-').peekable();
        let language = parts.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_lowercase()) {
            return false;
        }
        if let Some(script) = parts.next_if(|p| p.len() == 4) {
            let mut letters = script.bytes();
            let title_case = letters.next().is_some_and(|b| b.is_ascii_uppercase())
                && letters.all(|b| b.is_ascii_lowercase());
            if !title_case {
                return false;
            }
        }
        if let Some(region) = parts.next() {
            let valid_region = (region.len() == 2
                && region.bytes().all(|b| b.is_ascii_uppercase()))
                || (region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit()));
            if !valid_region {
                return false;
            }
        }
        parts.next().is_none()
    }

    /// `en-US`, the default locale.
    pub fn en_us() -> Self {
        Locale("en-US".to_owned())
    }
}

/// The settings a tenant's administrators control. Every field always has a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// The zone dates are shown in and schedules run in.
    pub timezone: Timezone,
    /// The language and formatting of UIs and emails.
    pub locale: Locale,
    /// Minutes of inactivity after which a member's session ends.
    pub session_timeout_minutes: u32,
    /// Whether people may sign up on their own (otherwise they must be invited).
    pub allow_public_signup: bool,
    /// Whether members must use multi-factor authentication.
    pub require_mfa: bool,
    /// Days the tenant's audit trail is kept.
    pub audit_log_retention_days: u32,
}

impl TenantSettings {
    /// Accepted session timeouts: five minutes to one day.
    pub const SESSION_TIMEOUT_MINUTES: RangeInclusive<u32> = 5..=1440;
    /// Accepted audit retention: one month to ten years.
    pub const AUDIT_LOG_RETENTION_DAYS: RangeInclusive<u32> = 30..=3650;

    /// Checks a session timeout against [`Self::SESSION_TIMEOUT_MINUTES`].
    pub fn check_session_timeout(minutes: u32) -> Result<u32, InvalidValue> {
        check_range(minutes, &Self::SESSION_TIMEOUT_MINUTES)
    }

    /// Checks an audit retention against [`Self::AUDIT_LOG_RETENTION_DAYS`].
    pub fn check_audit_log_retention(days: u32) -> Result<u32, InvalidValue> {
        check_range(days, &Self::AUDIT_LOG_RETENTION_DAYS)
    }
}

fn check_range(value: u32, range: &RangeInclusive<u32>) -> Result<u32, InvalidValue> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(InvalidValue::new(format!(
            "must be between {} and {} (got {value})",
            range.start(),
            range.end()
        )))
    }
}

impl Default for TenantSettings {
    /// What a new tenant starts with: UTC, `en-US`, one-hour sessions, invitation-only sign-up,
    /// MFA optional, one year of audit trail.
    fn default() -> Self {
        TenantSettings {
            timezone: Timezone::utc(),
            locale: Locale::en_us(),
            session_timeout_minutes: 60,
            allow_public_signup: false,
            require_mfa: false,
            audit_log_retention_days: 365,
        }
    }
}
