//! Validated values of API keys: their name, scopes, display prefix and secret hash.
//!
//! The secret itself never reaches the domain: the caller generates it, shows it once, and
//! passes only its SHA-256 hash and a short display prefix. Events and state therefore cannot
//! leak it.

use super::values::{parse_text, quoted, string_value, InvalidValue};

string_value! {
    /// A key's human-readable name (e.g. `CI deploys`): trimmed, 1-100 characters.
    KeyName
}

impl KeyName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks a key name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        parse_text(raw, Self::MAX_CHARS).map(KeyName)
    }
}

/// The resources a scope may name (besides `*`, every resource).
pub const SCOPE_RESOURCES: &[&str] = &[
    "tenants",
    "members",
    "keys",
    "policies",
    "workflows",
    "integrations",
    "usage",
    "audit",
    "billing",
    "reports",
];

crate::value::closed_set! {
    /// How much a scope grants on its resource. Each level includes the ones before it
    /// (`admin > write > read`), which is what the derived order says.
    Access, "access" {
        /// See.
        Read = "read",
        /// Change.
        Write = "write",
        /// Manage: issue keys, change roles and the like.
        Admin = "admin",
    }
}

string_value! {
    /// A permission granted to an API key, `resource:action` (e.g. `workflows:write`,
    /// `*:read`): the resource is one of [`SCOPE_RESOURCES`] or `*`, the action one of
    /// [`Access`].
    Scope
}

impl Scope {
    /// Checks a scope.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let (resource, action) = raw.split_once(':').ok_or_else(|| {
            InvalidValue::new(format!(
                "{} is invalid: use `resource:action`, e.g. `workflows:read`",
                quoted(raw)
            ))
        })?;
        if resource != "*" && !SCOPE_RESOURCES.contains(&resource) {
            return Err(InvalidValue::new(format!(
                "{} names an unknown resource: use `*` or one of {}",
                quoted(raw),
                SCOPE_RESOURCES.join(", ")
            )));
        }
        if Access::from_name(action).is_none() {
            return Err(InvalidValue::new(format!(
                "{} names an unknown action: use read, write or admin",
                quoted(raw)
            )));
        }
        Ok(Scope(raw.to_owned()))
    }

    /// The resource part (`workflows` in `workflows:write`), or `*`.
    pub fn resource(&self) -> &str {
        self.0.split_once(':').map_or("", |(resource, _)| resource)
    }

    /// The action part (`write` in `workflows:write`).
    pub fn action(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, action)| action)
    }

    /// How much the scope grants; valid by construction.
    pub fn access(&self) -> Access {
        Access::from_name(self.action()).unwrap_or(Access::Read)
    }

    /// Whether this scope grants `access` on `resource`: the same resource or `*`, at that level
    /// or above.
    pub fn grants(&self, resource: &str, access: Access) -> bool {
        (self.resource() == "*" || self.resource() == resource) && self.access() >= access
    }

    /// Whether this scope grants everything `other` grants: the lattice a key's issuer is held
    /// to. `*` covers every resource, and `admin > write > read`.
    pub fn covers(&self, other: &Scope) -> bool {
        (self.resource() == "*" || self.resource() == other.resource())
            && self.access() >= other.access()
    }
}

/// Whether any of `scopes` grants `access` on `resource`.
pub fn scopes_grant(scopes: &[Scope], resource: &str, access: Access) -> bool {
    scopes.iter().any(|scope| scope.grants(resource, access))
}

/// The first of `wanted` that no scope of `held` covers, if any. A wanted scope counts as held
/// only when one held scope covers it: `*:read` is not held by a list of every resource's
/// `read`, because `*` also stands for resources added later.
pub fn first_not_covered<'a>(held: &[Scope], wanted: &'a [Scope]) -> Option<&'a Scope> {
    wanted
        .iter()
        .find(|scope| !held.iter().any(|h| h.covers(scope)))
}

string_value! {
    /// The non-secret start of a key shown in lists so people can tell keys apart
    /// (e.g. `kl_live_4f9a`): 3-16 letters, digits, '_' or '-'.
    KeyPrefix
}

impl KeyPrefix {
    /// Checks a display prefix. The length cap keeps a prefix from revealing much of a secret.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (3..=16).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(KeyPrefix(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use 3-16 letters, digits, '_' or '-'",
                quoted(raw)
            )))
        }
    }
}

string_value! {
    /// The SHA-256 hash of a key's secret as 64 lowercase hex characters; the write side
    /// authenticates a presented secret by hashing it and comparing.
    SecretHash
}

impl SecretHash {
    /// Checks (and lowercases) a hex SHA-256 digest. The input is never echoed in the error, in
    /// case a caller mistakenly sent the secret itself.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(SecretHash(raw.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::new(
                "must be the SHA-256 hash of the secret as 64 hex characters",
            ))
        }
    }
}

/// A key's scopes as parsed from a command: at least one, each valid, none twice.
pub(super) fn parse_scopes(raw: &[String]) -> Result<Vec<Scope>, InvalidValue> {
    if raw.is_empty() {
        return Err(InvalidValue::new(
            "must list at least one scope, e.g. `workflows:read`",
        ));
    }
    let mut scopes: Vec<Scope> = Vec::with_capacity(raw.len());
    for scope in raw {
        let scope = Scope::parse(scope)?;
        if scopes.contains(&scope) {
            return Err(InvalidValue::new(format!(
                "must not list {} twice",
                quoted(scope.as_str())
            )));
        }
        scopes.push(scope);
    }
    Ok(scopes)
}
