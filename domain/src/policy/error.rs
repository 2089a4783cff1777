//! Why the policy aggregate refuses a command: one closed enum, a variant per rule.
//!
//! Messages are written for the person who sent the command. [`PolicyError::field`] names the
//! command field a refusal is about (a path such as `document.rules[2].cidr` for a rule), so the
//! HTTP layer can point at it, and [`PolicyError::code`] gives a stable machine-readable code,
//! so clients never have to match on message text.

use super::rules::PolicyKind;

/// A refusal of a policy command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// The policy has not been drafted, and only drafting is possible.
    #[error("policy does not exist")]
    NotFound,
    /// Drafting was asked for a policy that already exists (archived ones included).
    #[error("policy already exists")]
    AlreadyExists,
    /// The policy is archived, which is final.
    #[error("policy is archived and can no longer be changed")]
    Archived,
    /// A command field holds a value that breaks its format or range rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The command field, as a path in the command's JSON (e.g. `document.rules[0].cidr`).
        field: String,
        /// What is wrong, phrased to follow the field name.
        reason: String,
    },
    /// A revision of another kind than the policy's.
    #[error(
        "this is a `{kind}` policy and its revisions must be too (got `{found}`): draft a new \
         policy for `{found}` rules"
    )]
    KindMismatch {
        /// The policy's kind.
        kind: PolicyKind,
        /// The kind the revision has.
        found: PolicyKind,
    },
    /// A revision identical to the latest version while that version is a draft or the active
    /// one, so a new version would add nothing.
    #[error("nothing to change: version {version} already has exactly these rules")]
    Unchanged {
        /// The version that already has these rules.
        version: u32,
    },
    /// Publishing a version the policy does not have.
    #[error("version {version} does not exist")]
    VersionNotFound {
        /// The version named in the command.
        version: u32,
    },
    /// Publishing a version that was already published: a published version never changes,
    /// and is never published twice.
    #[error(
        "version {version} was already published; to put its rules in force again, revise the \
         policy with them and publish the new version"
    )]
    VersionAlreadyPublished {
        /// The version named in the command.
        version: u32,
    },
    /// Publishing a draft older than a version published since: it would roll rules back
    /// silently.
    #[error(
        "version {version} is a draft older than the published version {published} and can no \
         longer be published; revise the policy to make a new version"
    )]
    VersionSuperseded {
        /// The version named in the command.
        version: u32,
        /// The newest published version.
        published: u32,
    },
    /// Deactivating a policy that has no active version.
    #[error("policy has no active version to deactivate")]
    NotActive,
    /// The policy has as many versions as it may have.
    #[error("policy has reached the limit of {max} versions: draft a new policy instead")]
    TooManyVersions {
        /// The limit.
        max: u32,
    },
}

impl PolicyError {
    /// The command field this refusal is about, if it is about one (for the HTTP layer).
    pub fn field(&self) -> Option<&str> {
        match self {
            PolicyError::Invalid { field, .. } => Some(field),
            PolicyError::KindMismatch { .. } => Some("document.kind"),
            PolicyError::Unchanged { .. } => Some("document"),
            PolicyError::VersionNotFound { .. }
            | PolicyError::VersionAlreadyPublished { .. }
            | PolicyError::VersionSuperseded { .. } => Some("version"),
            PolicyError::NotFound
            | PolicyError::AlreadyExists
            | PolicyError::Archived
            | PolicyError::NotActive
            | PolicyError::TooManyVersions { .. } => None,
        }
    }

    /// A stable snake_case code for this kind of refusal (e.g. `invalid`, `not_active`).
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::NotFound => "not_found",
            PolicyError::AlreadyExists => "already_exists",
            PolicyError::Archived => "archived",
            PolicyError::Invalid { .. } => "invalid",
            PolicyError::KindMismatch { .. } => "kind_mismatch",
            PolicyError::Unchanged { .. } => "unchanged",
            PolicyError::VersionNotFound { .. } => "version_not_found",
            PolicyError::VersionAlreadyPublished { .. } => "version_already_published",
            PolicyError::VersionSuperseded { .. } => "version_superseded",
            PolicyError::NotActive => "not_active",
            PolicyError::TooManyVersions { .. } => "too_many_versions",
        }
    }

    /// A refusal of `field` for the given reason.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        PolicyError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl crate::Refusal for PolicyError {
    fn kind(&self) -> crate::RefusalKind {
        match self {
            PolicyError::Invalid { .. } | PolicyError::KindMismatch { .. } => {
                crate::RefusalKind::Invalid
            }
            PolicyError::NotFound | PolicyError::VersionNotFound { .. } => {
                crate::RefusalKind::NotFound
            }
            _ => crate::RefusalKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        PolicyError::code(self)
    }

    fn field(&self) -> Option<String> {
        PolicyError::field(self).map(str::to_owned)
    }
}
