//! The policy aggregate: a versioned document of rules, at platform or tenant level, and the
//! evaluation of the versions in force against a request.
//!
//! A policy belongs to one tenant, or to the platform ([`TenantId::PLATFORM`](crate::TenantId::PLATFORM)) when it applies
//! beneath every tenant's own. Its kind (access, IP allowlist, rate limit, data retention, MFA,
//! compliance) is fixed when it is drafted; its rules are validated on the way in (see
//! [`input`]) and live in immutable, numbered versions.
//!
//! Life cycle:
//! - `draft` creates the policy with version 1 as a draft; nothing is in force yet.
//! - `revise` adds a new draft version (the latest number + 1) with new rules of the same kind.
//!   Existing versions never change. Revising with the rules the latest version already has is
//!   refused while that version is a draft or in force ([`PolicyError::Unchanged`]); after it
//!   was retired, the same rules make a new version, which is how past rules come back.
//! - `publish` puts one draft in force: it becomes the only active version, the one it replaces
//!   is retired, and every draft older than it is superseded (it can no longer be published,
//!   since that would silently roll newer published rules back). Drafts newer than it stay
//!   drafts. A version is published at most once: a published version never changes, nor comes
//!   back; to restore its rules, revise with them and publish the new version.
//! - `deactivate` retires the active version; the policy then has none in force until another
//!   draft is published.
//! - `archive` ends the policy for good (deactivating it first, in the same decision, if it is
//!   active); every command after it is refused with [`PolicyError::Archived`].
//!
//! Evaluation ([`evaluate()`](evaluate::evaluate)) takes the versions in force of a tenant and the platform and a
//! request, and returns allow or deny with its reasons: deny wins, no allowing access rule
//! means deny, an allowlist refuses addresses outside its ranges, and a missing required
//! second factor denies (see [`evaluate`](mod@evaluate) for the exact semantics).
//!
//! Layout:
//! - [`values`], [`cidr`]: validated values (`parse` constructors).
//! - [`rules`]: [`PolicyDocument`], the validated rules of each kind; [`input`]: their raw form
//!   in commands and its validation.
//! - [`commands`]: [`PolicyCommand`] and one struct per command.
//! - [`events`]: [`PolicyEvent`] and its payloads (`policy.<fact>`, version 1).
//! - [`state`]: the [`Policy`] state and how events fold into it.
//! - `decide`: the rules (`impl Aggregate for Policy`); [`error`]: [`PolicyError`].
//! - [`evaluate`](mod@evaluate): the pure evaluation of active policies.
#![deny(missing_docs)]

pub mod cidr;
pub mod commands;
mod decide;
pub mod error;
pub mod evaluate;
pub mod events;
pub mod input;
pub mod rules;
pub mod state;
pub mod values;

#[cfg(test)]
mod tests;

pub use cidr::IpRange;
pub use commands::{
    ArchivePolicy, DeactivatePolicy, DraftPolicy, PolicyCommand, PublishPolicy, RevisePolicy,
};
pub use decide::MAX_VERSIONS;
pub use error::PolicyError;
pub use evaluate::{
    evaluate, ActivePolicy, Decision, MfaStatus, Reason, ReasonCode, RequestContext, RuleRef,
};
pub use events::{
    PolicyArchived, PolicyDeactivated, PolicyDrafted, PolicyEvent, PolicyPublished, PolicyRevised,
};
pub use input::{
    AccessRuleInput, ComplianceRuleInput, IpAllowRuleInput, MfaRuleInput, PolicyDocumentInput,
    RateLimitRuleInput, RetentionRuleInput,
};
pub use rules::{
    AccessRule, ComplianceRule, Effect, Framework, IpAllowRule, MfaRule, PolicyDocument,
    PolicyKind, RateLimitRule, RetentionRule,
};
pub use state::{Policy, PolicyStatus, PolicyVersion, VersionStatus};
pub use values::{EndpointGroup, Identifier, InvalidValue, Pattern, PolicyName, RuleDescription};
