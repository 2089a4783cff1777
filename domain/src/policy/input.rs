//! The raw policy document a command carries, and its validation into a [`PolicyDocument`].
//!
//! The shape is the validated document's, with plain strings and numbers, so the API can
//! deserialize a request body straight into it: `{"kind": "ip_allowlist", "rules": [{"cidr":
//! "10.0.0.0/8"}]}`. An unknown kind or field fails JSON decoding; every other rule is checked
//! by [`PolicyDocumentInput::validate`], whose refusals name the failing field by its path in the
//! command (`document.rules[2].cidr`), so a client can point at it.
//!
//! Limits, so that one document cannot grow an event or a decision without bound: at most
//! [`MAX_RULES`] rules, at most [`MAX_LIST`] entries in any list of a rule. Lists hold no
//! duplicates, and the key of a rule (an allowlist's range, a rate limit's endpoint group, a
//! retention's data class, an MFA role, a compliance framework) appears at most once per
//! document, so no two rules of one policy can contradict each other.

use super::cidr::IpRange;
use super::error::PolicyError;
use super::rules::{
    AccessRule, ComplianceRule, Effect, Framework, IpAllowRule, MfaRule, PolicyDocument,
    PolicyKind, RateLimitRule, RetentionRule,
};
use super::values::{quoted, EndpointGroup, Identifier, InvalidValue, Pattern, RuleDescription};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most rules one document may have.
pub const MAX_RULES: usize = 200;
/// The most entries one list of a rule (roles, actions, resources, controls) may have.
pub const MAX_LIST: usize = 50;
/// The highest rate, and the largest burst, a rate limit may set.
pub const MAX_RATE: u32 = 1_000_000;
/// The longest retention, in days (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// A policy document as a command carries it: tagged by kind, rules unchecked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(
    tag = "kind",
    content = "rules",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum PolicyDocumentInput {
    /// See [`AccessRuleInput`].
    Access(Vec<AccessRuleInput>),
    /// See [`IpAllowRuleInput`].
    IpAllowlist(Vec<IpAllowRuleInput>),
    /// See [`RateLimitRuleInput`].
    RateLimit(Vec<RateLimitRuleInput>),
    /// See [`RetentionRuleInput`].
    DataRetention(Vec<RetentionRuleInput>),
    /// See [`MfaRuleInput`].
    Mfa(Vec<MfaRuleInput>),
    /// See [`ComplianceRuleInput`].
    Compliance(Vec<ComplianceRuleInput>),
}

/// An access rule (see [`AccessRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccessRuleInput {
    /// `allow` or `deny`.
    pub effect: String,
    /// Role patterns (`*`, `name`, or `prefix*`), 1-50.
    pub roles: Vec<String>,
    /// Action patterns, 1-50.
    pub actions: Vec<String>,
    /// Resource patterns, 1-50.
    pub resources: Vec<String>,
    /// What the rule is for, 1-300 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// The rule applies from this instant on.
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    /// The rule stops applying at this instant; must be after `not_before`.
    #[serde(default)]
    pub not_after: Option<DateTime<Utc>>,
}

/// One allowed range (see [`IpAllowRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IpAllowRuleInput {
    /// A CIDR range, e.g. `10.0.0.0/8` or `2001:db8::/32`; host bits must be zero.
    pub cidr: String,
    /// What the range is, 1-300 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// One rate limit (see [`RateLimitRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimitRuleInput {
    /// The endpoint group (`[a-z][a-z0-9_]{0,63}`) or `*`.
    pub endpoint_group: String,
    /// 1 to 1,000,000.
    pub requests_per_second: u32,
    /// 1 to 1,000,000.
    pub burst: u32,
}

/// One retention period (see [`RetentionRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetentionRuleInput {
    /// The data class, `[a-z][a-z0-9_]{0,63}`.
    pub data_class: String,
    /// 1 to 36,500 days.
    pub days: u32,
}

/// One MFA requirement (see [`MfaRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaRuleInput {
    /// A role pattern (`*`, `name`, or `prefix*`).
    pub role: String,
    /// Whether a second factor is required.
    pub required: bool,
}

/// One declared framework (see [`ComplianceRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ComplianceRuleInput {
    /// `gdpr`, `hipaa` or `soc2`.
    pub framework: String,
    /// The controls required, 1-50 identifiers (`[a-z][a-z0-9_]{0,63}`).
    pub controls: Vec<String>,
}

/// The path of a rule's field in the command, e.g. `document.rules[2].cidr`.
fn path(index: usize, field: &str) -> String {
    format!("document.rules[{index}].{field}")
}

/// Attaches a field path to a value's parse failure.
fn at<T>(
    result: Result<T, InvalidValue>,
    field: impl FnOnce() -> String,
) -> Result<T, PolicyError> {
    result.map_err(|e| PolicyError::invalid(field(), e.reason()))
}

/// Checks a list of patterns: 1-[`MAX_LIST`] entries, each valid, none twice.
fn patterns(raw: &[String], index: usize, field: &str) -> Result<Vec<Pattern>, PolicyError> {
    check_list_len(raw.len(), index, field, " (use `*` for all)")?;
    let mut parsed = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        let pattern = at(Pattern::parse(text), || {
            path(index, &format!("{field}[{i}]"))
        })?;
        if parsed.contains(&pattern) {
            return Err(PolicyError::invalid(
                path(index, &format!("{field}[{i}]")),
                format!("{} is listed twice", quoted(text)),
            ));
        }
        parsed.push(pattern);
    }
    Ok(parsed)
}

/// Checks a list's length: 1-[`MAX_LIST`] entries. `hint` ends the refusal of an empty list.
fn check_list_len(len: usize, index: usize, field: &str, hint: &str) -> Result<(), PolicyError> {
    if len == 0 {
        return Err(PolicyError::invalid(
            path(index, field),
            format!("must list at least one entry{hint}"),
        ));
    }
    if len > MAX_LIST {
        return Err(PolicyError::invalid(
            path(index, field),
            format!("must list at most {MAX_LIST} entries (got {len})"),
        ));
    }
    Ok(())
}

fn description(raw: &Option<String>, index: usize) -> Result<Option<RuleDescription>, PolicyError> {
    let parsed = raw.as_deref().map(RuleDescription::parse).transpose();
    at(parsed, || path(index, "description"))
}

fn in_range(value: u32, min: u32, max: u32, index: usize, field: &str) -> Result<u32, PolicyError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(PolicyError::invalid(
            path(index, field),
            format!("must be between {min} and {max} (got {value})"),
        ))
    }
}

/// Remembers the key of each rule, refusing a key a previous rule already has.
struct UniqueKeys<K: Ord> {
    seen: BTreeMap<K, usize>,
    field: &'static str,
}

impl<K: Ord + std::fmt::Display> UniqueKeys<K> {
    fn new(field: &'static str) -> Self {
        UniqueKeys {
            seen: BTreeMap::new(),
            field,
        }
    }

    fn insert(&mut self, key: K, index: usize) -> Result<(), PolicyError> {
        if let Some(first) = self.seen.get(&key) {
            return Err(PolicyError::invalid(
                path(index, self.field),
                format!("`{key}` is already covered by rule {first}: each may appear only once"),
            ));
        }
        self.seen.insert(key, index);
        Ok(())
    }
}

impl PolicyDocumentInput {
    /// Checks every rule, returning the validated document or the first refusal (rules are
    /// checked in order, fields in declaration order).
    pub fn validate(&self) -> Result<PolicyDocument, PolicyError> {
        let count = self.len();
        if count > MAX_RULES {
            return Err(PolicyError::invalid(
                "document.rules",
                format!("must have at most {MAX_RULES} rules (got {count})"),
            ));
        }
        Ok(match self {
            PolicyDocumentInput::Access(rules) => PolicyDocument::Access(
                rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| access(r, i))
                    .collect::<Result<_, _>>()?,
            ),
            PolicyDocumentInput::IpAllowlist(rules) => {
                let mut keys = UniqueKeys::new("cidr");
                let mut parsed = Vec::with_capacity(rules.len());
                for (i, rule) in rules.iter().enumerate() {
                    let cidr = at(IpRange::parse(&rule.cidr), || path(i, "cidr"))?;
                    keys.insert(cidr, i)?;
                    let description = description(&rule.description, i)?;
                    parsed.push(IpAllowRule { cidr, description });
                }
                PolicyDocument::IpAllowlist(parsed)
            }
            PolicyDocumentInput::RateLimit(rules) => {
                let mut keys = UniqueKeys::new("endpoint_group");
                let mut parsed = Vec::with_capacity(rules.len());
                for (i, rule) in rules.iter().enumerate() {
                    let group = at(EndpointGroup::parse(&rule.endpoint_group), || {
                        path(i, "endpoint_group")
                    })?;
                    keys.insert(group.clone(), i)?;
                    parsed.push(RateLimitRule {
                        endpoint_group: group,
                        requests_per_second: in_range(
                            rule.requests_per_second,
                            1,
                            MAX_RATE,
                            i,
                            "requests_per_second",
                        )?,
                        burst: in_range(rule.burst, 1, MAX_RATE, i, "burst")?,
                    });
                }
                PolicyDocument::RateLimit(parsed)
            }
            PolicyDocumentInput::DataRetention(rules) => {
                let mut keys = UniqueKeys::new("data_class");
                let mut parsed = Vec::with_capacity(rules.len());
                for (i, rule) in rules.iter().enumerate() {
                    let class = at(Identifier::parse(&rule.data_class), || {
                        path(i, "data_class")
                    })?;
                    keys.insert(class.clone(), i)?;
                    let days = in_range(rule.days, 1, MAX_RETENTION_DAYS, i, "days")?;
                    parsed.push(RetentionRule {
                        data_class: class,
                        days,
                    });
                }
                PolicyDocument::DataRetention(parsed)
            }
            PolicyDocumentInput::Mfa(rules) => {
                let mut keys = UniqueKeys::new("role");
                let mut parsed = Vec::with_capacity(rules.len());
                for (i, rule) in rules.iter().enumerate() {
                    let role = at(Pattern::parse(&rule.role), || path(i, "role"))?;
                    keys.insert(role.clone(), i)?;
                    parsed.push(MfaRule {
                        role,
                        required: rule.required,
                    });
                }
                PolicyDocument::Mfa(parsed)
            }
            PolicyDocumentInput::Compliance(rules) => {
                let mut keys = UniqueKeys::new("framework");
                let mut parsed = Vec::with_capacity(rules.len());
                for (i, rule) in rules.iter().enumerate() {
                    let framework = framework(&rule.framework, i)?;
                    keys.insert(framework, i)?;
                    parsed.push(ComplianceRule {
                        framework,
                        controls: controls(&rule.controls, i)?,
                    });
                }
                PolicyDocument::Compliance(parsed)
            }
        })
    }

    /// The kind of policy the document is for.
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicyDocumentInput::Access(_) => PolicyKind::Access,
            PolicyDocumentInput::IpAllowlist(_) => PolicyKind::IpAllowlist,
            PolicyDocumentInput::RateLimit(_) => PolicyKind::RateLimit,
            PolicyDocumentInput::DataRetention(_) => PolicyKind::DataRetention,
            PolicyDocumentInput::Mfa(_) => PolicyKind::Mfa,
            PolicyDocumentInput::Compliance(_) => PolicyKind::Compliance,
        }
    }

    /// How many rules the document has.
    pub fn len(&self) -> usize {
        match self {
            PolicyDocumentInput::Access(rules) => rules.len(),
            PolicyDocumentInput::IpAllowlist(rules) => rules.len(),
            PolicyDocumentInput::RateLimit(rules) => rules.len(),
            PolicyDocumentInput::DataRetention(rules) => rules.len(),
            PolicyDocumentInput::Mfa(rules) => rules.len(),
            PolicyDocumentInput::Compliance(rules) => rules.len(),
        }
    }

    /// Whether the document has no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn access(rule: &AccessRuleInput, i: usize) -> Result<AccessRule, PolicyError> {
    let effect = Effect::from_name(&rule.effect).ok_or_else(|| {
        PolicyError::invalid(
            path(i, "effect"),
            format!(
                "{} is not an effect: use `allow` or `deny`",
                quoted(&rule.effect)
            ),
        )
    })?;
    let roles = patterns(&rule.roles, i, "roles")?;
    let actions = patterns(&rule.actions, i, "actions")?;
    let resources = patterns(&rule.resources, i, "resources")?;
    let description = description(&rule.description, i)?;
    if let (Some(start), Some(end)) = (rule.not_before, rule.not_after) {
        if end <= start {
            return Err(PolicyError::invalid(
                path(i, "not_after"),
                format!("must be after not_before ({start})"),
            ));
        }
    }
    Ok(AccessRule {
        effect,
        roles,
        actions,
        resources,
        description,
        not_before: rule.not_before,
        not_after: rule.not_after,
    })
}

fn framework(raw: &str, i: usize) -> Result<Framework, PolicyError> {
    Framework::from_name(raw).ok_or_else(|| {
        PolicyError::invalid(
            path(i, "framework"),
            format!(
                "{} is not a known framework: use `gdpr`, `hipaa` or `soc2`",
                quoted(raw)
            ),
        )
    })
}

fn controls(raw: &[String], i: usize) -> Result<Vec<Identifier>, PolicyError> {
    check_list_len(raw.len(), i, "controls", "")?;
    let mut parsed = Vec::with_capacity(raw.len());
    for (j, text) in raw.iter().enumerate() {
        let control = at(Identifier::parse(text), || {
            path(i, &format!("controls[{j}]"))
        })?;
        if parsed.contains(&control) {
            return Err(PolicyError::invalid(
                path(i, &format!("controls[{j}]")),
                format!("{} is listed twice", quoted(text)),
            ));
        }
        parsed.push(control);
    }
    Ok(parsed)
}
