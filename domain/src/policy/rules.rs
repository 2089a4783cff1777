//! The validated content of a policy version: a [`PolicyDocument`], one variant per
//! [`PolicyKind`], each holding that kind's rules.
//!
//! As JSON (and in event payloads) a document is tagged by its kind, the rules next to it:
//! `{"kind": "access", "rules": [{"effect": "allow", "roles": ["admin"], ...}]}`. The raw form a
//! command carries is [`PolicyDocumentInput`](super::input::PolicyDocumentInput), which has the
//! same shape with plain strings; `decide` turns one into the other, refusing what is invalid.

use super::cidr::IpRange;
use super::values::{EndpointGroup, Identifier, Pattern, RuleDescription};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::value::closed_set! {
    /// What a policy governs. Fixed when the policy is drafted: every version has this kind.
    #[derive(Default)]
    PolicyKind, "policy kind" {
        /// Which roles may perform which actions on which resources (the state's value before
        /// a policy is drafted).
        #[default]
        Access = "access",
        /// From which IP ranges requests are accepted.
        IpAllowlist = "ip_allowlist",
        /// How many requests per second, and what burst, each endpoint group accepts.
        RateLimit = "rate_limit",
        /// How many days each class of data is kept.
        DataRetention = "data_retention",
        /// Which roles must use a second factor.
        Mfa = "mfa",
        /// Which compliance frameworks the tenant declares, and the controls they require.
        Compliance = "compliance",
    }
}

crate::value::closed_set! {
    /// Whether an access rule grants or forbids; also the outcome of an evaluation.
    Effect, "effect" {
        /// Grants the matching requests (unless a deny rule matches too).
        Allow = "allow",
        /// Forbids the matching requests, whatever else allows them.
        Deny = "deny",
    }
}

crate::value::closed_set! {
    /// A compliance framework a tenant may declare.
    Framework, "compliance framework" {
        /// The EU General Data Protection Regulation.
        Gdpr = "gdpr",
        /// The US Health Insurance Portability and Accountability Act.
        Hipaa = "hipaa",
        /// The AICPA SOC 2 trust services criteria.
        Soc2 = "soc2",
    }
}

/// Who may do what on which resources: matches a request when one of its roles, one of its
/// actions and one of its resources match, within its time window if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessRule {
    /// Grant or forbid.
    pub effect: Effect,
    /// The roles it applies to (at least one pattern).
    pub roles: Vec<Pattern>,
    /// The actions it covers (at least one pattern).
    pub actions: Vec<Pattern>,
    /// The resources it covers (at least one pattern).
    pub resources: Vec<Pattern>,
    /// What the rule is for, quoted in decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<RuleDescription>,
    /// The rule applies from this instant on (inclusive), e.g. for a temporary grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// The rule no longer applies from this instant on (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<DateTime<Utc>>,
}

impl AccessRule {
    /// Whether the rule is in force at `at` (inside its time window, if it has one).
    pub fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before.is_none_or(|start| start <= at) && self.not_after.is_none_or(|end| at < end)
    }

    /// Whether the rule applies to this role, action and resource at `at`.
    pub fn matches(&self, role: &str, action: &str, resource: &str, at: DateTime<Utc>) -> bool {
        self.in_force_at(at)
            && self.roles.iter().any(|p| p.matches(role))
            && self.actions.iter().any(|p| p.matches(action))
            && self.resources.iter().any(|p| p.matches(resource))
    }
}

/// One range of an IP allowlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpAllowRule {
    /// The network requests may come from.
    pub cidr: IpRange,
    /// What the range is (e.g. `Paris office`), quoted in decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<RuleDescription>,
}

/// The rate limit of one endpoint group: a token bucket refilled at `requests_per_second` that
/// holds at most `burst` requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimitRule {
    /// The endpoint group, or `*` for every group without a limit of its own in this policy.
    pub endpoint_group: EndpointGroup,
    /// The sustained rate, at least 1.
    pub requests_per_second: u32,
    /// How many requests may arrive at once, at least 1.
    pub burst: u32,
}

/// How long one class of data is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionRule {
    /// The class of data (e.g. `audit_log`, `usage_events`).
    pub data_class: Identifier,
    /// How many days it is kept, at least 1.
    pub days: u32,
}

/// Whether members of the matching roles must use a second factor. Within one policy the most
/// specific matching pattern decides (an exact role beats a prefix, a prefix beats `*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaRule {
    /// The roles it applies to.
    pub role: Pattern,
    /// Whether a second factor is required.
    pub required: bool,
}

/// A compliance framework the tenant declares and the controls it requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceRule {
    /// The framework.
    pub framework: Framework,
    /// The controls required (e.g. `encryption_at_rest`, `audit_log`), at least one.
    pub controls: Vec<Identifier>,
}

/// The rules of one policy version, tagged by their kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "rules", rename_all = "snake_case")]
pub enum PolicyDocument {
    /// Access rules; deny wins, and no matching allow means deny.
    Access(Vec<AccessRule>),
    /// Allowed ranges; a request from outside every range is denied.
    IpAllowlist(Vec<IpAllowRule>),
    /// Rate limits per endpoint group.
    RateLimit(Vec<RateLimitRule>),
    /// Retention per data class.
    DataRetention(Vec<RetentionRule>),
    /// MFA requirements per role.
    Mfa(Vec<MfaRule>),
    /// Declared compliance frameworks.
    Compliance(Vec<ComplianceRule>),
}

impl PolicyDocument {
    /// The kind of policy this document belongs to.
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicyDocument::Access(_) => PolicyKind::Access,
            PolicyDocument::IpAllowlist(_) => PolicyKind::IpAllowlist,
            PolicyDocument::RateLimit(_) => PolicyKind::RateLimit,
            PolicyDocument::DataRetention(_) => PolicyKind::DataRetention,
            PolicyDocument::Mfa(_) => PolicyKind::Mfa,
            PolicyDocument::Compliance(_) => PolicyKind::Compliance,
        }
    }

    /// How many rules the document has.
    pub fn len(&self) -> usize {
        match self {
            PolicyDocument::Access(rules) => rules.len(),
            PolicyDocument::IpAllowlist(rules) => rules.len(),
            PolicyDocument::RateLimit(rules) => rules.len(),
            PolicyDocument::DataRetention(rules) => rules.len(),
            PolicyDocument::Mfa(rules) => rules.len(),
            PolicyDocument::Compliance(rules) => rules.len(),
        }
    }

    /// Whether the document has no rules (an empty access policy or allowlist denies every
    /// request; see [`evaluate`](super::evaluate::evaluate)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
