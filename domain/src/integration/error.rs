//! Why the integration aggregate refuses a command: one closed enum, a variant per rule.
//!
//! Messages are written for the person who sent the command. [`IntegrationError::field`] names
//! the command field a refusal is about, and [`IntegrationError::code`] gives a stable
//! machine-readable code, so clients never have to match on message text.

use super::values::InvalidValue;

/// A refusal of an integration command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntegrationError {
    /// The integration has not been registered, and only registration is possible.
    #[error("integration does not exist")]
    NotFound,
    /// Registration was asked for an integration that already exists (in any status).
    #[error("integration already exists")]
    AlreadyRegistered,
    /// A command field holds a value that breaks its format or range rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The command field, as named in the command's JSON (e.g. `endpoint_url`).
        field: &'static str,
        /// What is wrong, phrased to follow the field name.
        reason: String,
    },
    /// The command would change nothing; refused so that no empty events are stored.
    #[error("nothing to change: {field} already has this value")]
    Unchanged {
        /// The command field that is already as asked.
        field: &'static str,
    },
    /// Enabling an integration that is enabled.
    #[error("integration is already enabled")]
    AlreadyEnabled,
    /// Disabling an integration that is disabled.
    #[error("integration is already disabled")]
    AlreadyDisabled,
}

impl IntegrationError {
    /// The command field this refusal is about, if it is about one (for the HTTP layer).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            IntegrationError::Invalid { field, .. } | IntegrationError::Unchanged { field } => {
                Some(field)
            }
            IntegrationError::NotFound
            | IntegrationError::AlreadyRegistered
            | IntegrationError::AlreadyEnabled
            | IntegrationError::AlreadyDisabled => None,
        }
    }

    /// A stable snake_case code for this kind of refusal (e.g. `invalid`, `already_enabled`).
    pub fn code(&self) -> &'static str {
        match self {
            IntegrationError::NotFound => "not_found",
            IntegrationError::AlreadyRegistered => "already_exists",
            IntegrationError::Invalid { .. } => "invalid",
            IntegrationError::Unchanged { .. } => "unchanged",
            IntegrationError::AlreadyEnabled => "already_enabled",
            IntegrationError::AlreadyDisabled => "already_disabled",
        }
    }

    /// A refusal of `field` for the given reason.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        IntegrationError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl crate::Refusal for IntegrationError {
    fn kind(&self) -> crate::RefusalKind {
        match self {
            IntegrationError::Invalid { .. } => crate::RefusalKind::Invalid,
            IntegrationError::NotFound => crate::RefusalKind::NotFound,
            _ => crate::RefusalKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        IntegrationError::code(self)
    }

    fn field(&self) -> Option<String> {
        IntegrationError::field(self).map(str::to_owned)
    }
}

/// Attaches the command field to a value's parse failure, so `decide` can write
/// `EndpointUrl::parse(&c.endpoint_url).in_field("endpoint_url")?`.
pub(super) trait InIntegrationField<T> {
    /// Turns an [`InvalidValue`] into [`IntegrationError::Invalid`] for `field`.
    fn in_field(self, field: &'static str) -> Result<T, IntegrationError>;
}

impl<T> InIntegrationField<T> for Result<T, InvalidValue> {
    fn in_field(self, field: &'static str) -> Result<T, IntegrationError> {
        self.map_err(|e| IntegrationError::invalid(field, e.reason()))
    }
}
