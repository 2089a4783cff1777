//! Evaluation: whether one request is allowed by a tenant's active policies, and why.
//!
//! [`evaluate`] is a pure function of its arguments: no clock (the request carries its time),
//! no IO, no hash-map iteration, so the same input always gives the same decision with the
//! same reasons in the same order.
//!
//! Semantics:
//! - **Scope.** Only platform-wide policies and the request tenant's own count; a policy of
//!   another tenant in the list is ignored (defence in depth against a read-model mix-up).
//!   Callers pass platform-wide policies first and the tenant's own on top; the order only
//!   orders the reasons, never changes the outcome.
//! - **Deny wins.** Every check below may add a violation; one violation anywhere makes the
//!   decision `deny`, whatever allows the request elsewhere. A tenant's allow therefore never
//!   overrides a platform deny, and a tenant can only restrict what the platform allows.
//! - **Access** (default deny): a request is allowed only if at least one access rule of some
//!   active policy allows it (role, action and resource match, within the rule's time window)
//!   and no such rule denies it. No access policy, or only empty ones, means deny.
//! - **IP allowlist**: every active allowlist must contain the request's IP in one of its
//!   ranges; an empty allowlist admits nobody, and a request without a known IP is refused
//!   by any allowlist (fail closed).
//! - **MFA**: for each active MFA policy, the most specific rule matching the role (exact role,
//!   then the longest prefix, then `*`) says whether a second factor is required. If it is and
//!   the request says the second factor is [`MfaStatus::Missing`], that is a violation. A
//!   principal that cannot have one (an API key) is [`MfaStatus::NotApplicable`] and is not
//!   held to MFA rules: its scopes and the access rules govern it.
//! - **Rate limits, retention, compliance** do not decide single requests (a rate limit needs
//!   a counter over time, which the enforcement layer keeps) and are skipped here.
//!
//! A `deny` lists every violation; an `allow` lists what satisfied each check (the access rules
//! that allowed, the allowlist ranges that matched, the MFA requirements met).

use super::cidr::canonical;
use super::events::PolicyPublished;
use super::rules::{AccessRule, Effect, MfaRule, PolicyDocument};
use super::values::{quoted, PolicyName};
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use uuid::Uuid;

/// A version in force, as evaluation takes it (from [`Policy::active`](super::Policy::active)
/// or from a `policy.published` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePolicy {
    /// The tenant it belongs to ([`TenantId::PLATFORM`] when platform-wide).
    pub tenant_id: TenantId,
    /// The policy's id.
    pub policy_id: Uuid,
    /// The policy's name, quoted in reasons.
    pub name: PolicyName,
    /// The version in force.
    pub version: u32,
    /// Its rules.
    pub document: PolicyDocument,
}

impl From<&PolicyPublished> for ActivePolicy {
    fn from(event: &PolicyPublished) -> Self {
        ActivePolicy {
            tenant_id: event.tenant_id,
            policy_id: event.policy_id,
            name: event.name.clone(),
            version: event.version,
            document: event.document.clone(),
        }
    }
}

/// Whether the principal behind a request used a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaStatus {
    /// The session was established with a second factor.
    Verified,
    /// The session was established without one.
    Missing,
    /// The principal cannot use one (an API key, a system component).
    NotApplicable,
}

/// The request being decided on. Names are compared exactly (case-sensitive): the caller
/// passes canonical lowercase names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The tenant the request acts in.
    pub tenant_id: TenantId,
    /// The principal's role (e.g. `admin`).
    pub role: String,
    /// What it wants to do (e.g. `tenants.suspend`, `read`).
    pub action: String,
    /// What it wants to do it on (e.g. `workflows/0190...`).
    pub resource: String,
    /// Where the request comes from, if known.
    pub ip: Option<IpAddr>,
    /// When the request is made (access rules may have a time window).
    pub at: DateTime<Utc>,
    /// Whether a second factor was used.
    pub mfa: MfaStatus,
}

/// Why a reason was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// An access rule allows the request.
    AccessAllowed,
    /// An access rule denies the request.
    AccessDenied,
    /// No access rule matches the request, so it is denied by default.
    NoAccessRule,
    /// The request's IP is in a range of an allowlist.
    IpAllowed,
    /// The request's IP is outside every range of an allowlist.
    IpNotAllowed,
    /// An allowlist is active and the request's IP is unknown.
    IpUnknown,
    /// A second factor is required for the role and was used.
    MfaSatisfied,
    /// A second factor is required for the role and was not used.
    MfaRequired,
}

/// Which policy version, and which of its rules, a reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleRef {
    /// The policy's tenant ([`TenantId::PLATFORM`] when platform-wide).
    pub tenant_id: TenantId,
    /// The policy's id.
    pub policy_id: Uuid,
    /// The version in force.
    pub version: u32,
    /// The rule's index in that version's rules; `None` when the reason is about the policy
    /// as a whole (an IP outside every range).
    pub rule_index: Option<usize>,
}

/// One reason of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// What kind of reason.
    pub code: ReasonCode,
    /// The policy and rule it comes from; `None` for the default deny.
    pub source: Option<RuleRef>,
    /// A sentence for people: the policy, the rule's own description or a summary of it.
    pub description: String,
}

/// The outcome of an evaluation and its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Allow or deny.
    pub effect: Effect,
    /// For a deny, every violation; for an allow, what satisfied each check.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}

/// Decides whether `request` is allowed by `policies` (see the module documentation).
pub fn evaluate(policies: &[ActivePolicy], request: &RequestContext) -> Decision {
    let mut satisfied = Vec::new();
    let mut violations = Vec::new();
    let mut access_matched = false;
    let in_scope = policies
        .iter()
        .filter(|p| p.tenant_id.is_platform() || p.tenant_id == request.tenant_id);
    for policy in in_scope {
        let reason = |code, rule_index, text: String| Reason {
            code,
            source: Some(RuleRef {
                tenant_id: policy.tenant_id,
                policy_id: policy.policy_id,
                version: policy.version,
                rule_index,
            }),
            description: format!("`{}` v{}: {text}", policy.name, policy.version),
        };
        match &policy.document {
            PolicyDocument::Access(rules) => {
                for (index, rule) in rules.iter().enumerate() {
                    if !rule.matches(
                        &request.role,
                        &request.action,
                        &request.resource,
                        request.at,
                    ) {
                        continue;
                    }
                    access_matched = true;
                    let text = format!("rule {index}: {}", describe_access(rule));
                    match rule.effect {
                        Effect::Allow => {
                            satisfied.push(reason(ReasonCode::AccessAllowed, Some(index), text))
                        }
                        Effect::Deny => {
                            violations.push(reason(ReasonCode::AccessDenied, Some(index), text))
                        }
                    }
                }
            }
            PolicyDocument::IpAllowlist(ranges) => match request.ip {
                None => violations.push(reason(
                    ReasonCode::IpUnknown,
                    None,
                    "the request's IP address is unknown and an allowlist is in force".into(),
                )),
                Some(ip) => match ranges.iter().position(|r| r.cidr.contains(ip)) {
                    Some(index) => {
                        let range = &ranges[index];
                        let text = match &range.description {
                            Some(d) => format!("rule {index}: {ip} is in {} ({d})", range.cidr),
                            None => format!("rule {index}: {ip} is in {}", range.cidr),
                        };
                        satisfied.push(reason(ReasonCode::IpAllowed, Some(index), text));
                    }
                    None => violations.push(reason(
                        ReasonCode::IpNotAllowed,
                        None,
                        format!("{} is outside every allowed range", canonical(ip)),
                    )),
                },
            },
            PolicyDocument::Mfa(rules) => {
                let Some((index, rule)) = most_specific(rules, &request.role) else {
                    continue;
                };
                if !rule.required {
                    continue;
                }
                let role = quoted(&request.role);
                match request.mfa {
                    MfaStatus::Verified => satisfied.push(reason(
                        ReasonCode::MfaSatisfied,
                        Some(index),
                        format!("rule {index}: role {role} used the required second factor"),
                    )),
                    MfaStatus::Missing => violations.push(reason(
                        ReasonCode::MfaRequired,
                        Some(index),
                        format!("rule {index}: role {role} must use a second factor"),
                    )),
                    MfaStatus::NotApplicable => {}
                }
            }
            PolicyDocument::RateLimit(_)
            | PolicyDocument::DataRetention(_)
            | PolicyDocument::Compliance(_) => {}
        }
    }
    // A matching deny already explains the refusal; the default deny is for requests no access
    // rule speaks about at all.
    if !access_matched {
        violations.push(Reason {
            code: ReasonCode::NoAccessRule,
            source: None,
            description: format!(
                "no access rule allows role {} to {} on {}",
                quoted(&request.role),
                quoted(&request.action),
                quoted(&request.resource)
            ),
        });
    }
    if violations.is_empty() {
        Decision {
            effect: Effect::Allow,
            reasons: satisfied,
        }
    } else {
        Decision {
            effect: Effect::Deny,
            reasons: violations,
        }
    }
}

/// The MFA rule that decides for `role`: the most specific match, the first one on a tie
/// (which validated documents cannot have: their role patterns are unique).
fn most_specific<'a>(rules: &'a [MfaRule], role: &str) -> Option<(usize, &'a MfaRule)> {
    let mut best: Option<(usize, &MfaRule)> = None;
    for (index, rule) in rules.iter().enumerate() {
        if !rule.role.matches(role) {
            continue;
        }
        let better = best.is_none_or(|(_, b)| rule.role.specificity() > b.role.specificity());
        if better {
            best = Some((index, rule));
        }
    }
    best
}

/// The rule's own description, or a summary such as `allow admin, owner to read on *`.
fn describe_access(rule: &AccessRule) -> String {
    if let Some(description) = &rule.description {
        return description.to_string();
    }
    let list = |patterns: &[super::values::Pattern]| {
        patterns
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} {} to {} on {}",
        rule.effect,
        list(&rule.roles),
        list(&rule.actions),
        list(&rule.resources)
    )
}
