//! What every aggregate's validated values share: the parse failure, the text checks, and the
//! macro that declares a validated string newtype.
//!
//! Each newtype is built by a hand-written `parse` that checks a raw command input. Commands
//! carry raw strings and `decide` parses them, so events and state only hold values that passed.
//! Deserialization deliberately does not re-validate (`serde(transparent)`): stored events are
//! facts checked when they were decided, and re-checking them on read would make a later
//! tightening of a rule break streams that can no longer change.

/// Why a raw input is not a valid value. `decide` attaches the command field it came from,
/// which is why the reason is phrased to follow a field name ("must not be empty").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    reason: String,
}

impl InvalidValue {
    /// A failure with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        InvalidValue {
            reason: reason.into(),
        }
    }

    /// What is wrong with the value.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Quotes a raw input for an error message, cut short and with control characters escaped so a
/// hostile or accidental huge input cannot flood a response or a log line.
pub(crate) fn quoted(raw: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut shown = String::new();
    for c in raw.chars().take(MAX_CHARS) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if raw.chars().nth(MAX_CHARS).is_some() {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// Checks free text a human typed (a name, a reason): trimmed, non-empty, at most `max`
/// characters, one line.
pub(crate) fn parse_text(raw: &str, max: usize) -> Result<String, InvalidValue> {
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
    if text.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "must not contain control characters such as line breaks",
        ));
    }
    Ok(text.to_owned())
}

/// Checks a machine identifier (meter or flag name): `[a-z][a-z0-9_]{0,63}`.
pub(crate) fn parse_identifier(raw: &str) -> Result<String, InvalidValue> {
    let valid = (1..=64).contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(InvalidValue::new(format!(
            "{} is invalid: use 1-64 lowercase letters, digits or '_', starting with a letter",
            quoted(raw)
        )))
    }
}

/// Declares a string newtype with the accessors and trait impls every validated text value
/// shares. Its constructor (`parse`) is written by hand next to it.
macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(::utoipa::ToSchema))]
        pub struct $name(String);

        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Lets maps keyed by this type be looked up with a plain `&str`.
        impl ::std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}
pub(crate) use text_value;

/// Declares a closed set of snake_case names as an enum: serde as those names, `ALL`,
/// `as_str`, `from_name`, `parse` (whose error lists the accepted names, calling the value
/// `$what`) and `Display`. Commands carry such values as strings, so an unknown name is
/// refused by `decide` with its field named, like any other invalid value.
macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(::utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name (snake_case).
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The value with this wire name, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($text => Some($name::$variant),)+ _ => None }
            }

            /// Parses a wire name; the error lists the accepted ones.
            pub fn parse(raw: &str) -> Result<Self, $crate::value::InvalidValue> {
                Self::from_name(raw).ok_or_else(|| {
                    $crate::value::InvalidValue::new(format!(
                        "{} is not a known {}: use one of {}",
                        $crate::value::quoted(raw),
                        $what,
                        [$(concat!("`", $text, "`")),+].join(", ")
                    ))
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_set;
