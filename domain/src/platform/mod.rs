//! Platform admin keys: the keys of the SaaS vendor's operators, which may act on every tenant.
//!
//! One stream (`platform-00000000-0000-0000-0000-000000000000`) holds them all. Like tenant API
//! keys, only a hash of each secret is ever stored; the caller generates the secret, shows it
//! once and passes the hash.

use crate::tenant::{KeyName, KeyPrefix, SecretHash};
use crate::{domain_events, Aggregate, AggregateId, DecisionContext, TenantId, Upcaster};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The id of the one platform-keys aggregate.
pub fn platform_keys_id() -> AggregateId {
    AggregateId::tenant(TenantId::PLATFORM)
}

/// An admin key as the platform knows it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKey {
    /// The key's id.
    pub key_id: Uuid,
    /// A human-readable name.
    pub name: String,
    /// The non-secret start of the key, shown in lists.
    pub prefix: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// The platform's admin keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlatformKeys {
    /// Every key ever issued, by id.
    pub keys: BTreeMap<Uuid, AdminKey>,
}

impl PlatformKeys {
    /// Whether any key is still usable.
    pub fn has_active_key(&self) -> bool {
        self.keys.values().any(|k| !k.revoked)
    }
}

/// Commands on the platform's admin keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlatformCommand {
    /// Issues an admin key.
    IssueAdminKey {
        /// New, non-nil key id.
        key_id: Uuid,
        /// Human-readable name, 1-100 characters.
        name: String,
        /// Non-secret display prefix.
        prefix: String,
        /// SHA-256 of the secret, 64 hex characters.
        secret_hash: String,
    },
    /// Revokes an admin key; the last usable one cannot be revoked.
    RevokeAdminKey {
        /// The key.
        key_id: Uuid,
    },
}

/// Payload of `platform.admin_key_issued`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKeyIssued {
    /// The key's id.
    pub key_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its display prefix.
    pub prefix: String,
    /// SHA-256 of the secret.
    pub secret_hash: String,
}

/// Payload of `platform.admin_key_revoked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKeyRevoked {
    /// The key's id.
    pub key_id: Uuid,
}

domain_events! {
    /// Events of the platform's admin keys.
    pub enum PlatformEvent {
        /// An admin key was issued.
        AdminKeyIssued(AdminKeyIssued) = ADMIN_KEY_ISSUED: "platform.admin_key_issued" v 1 secret [secret_hash],
        /// An admin key was revoked.
        AdminKeyRevoked(AdminKeyRevoked) = ADMIN_KEY_REVOKED: "platform.admin_key_revoked" v 1,
    }
}

impl Upcaster for PlatformEvent {}

/// Refusals of platform key commands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    /// A field breaks its rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The command field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The key id is already used.
    #[error("an admin key with id {0} already exists")]
    KeyExists(Uuid),
    /// No such key.
    #[error("no admin key with id {0}")]
    KeyNotFound(Uuid),
    /// The key is already revoked.
    #[error("admin key {0} is already revoked")]
    AlreadyRevoked(Uuid),
    /// Revoking it would lock every operator out.
    #[error("admin key {0} is the last usable one and cannot be revoked")]
    LastKey(Uuid),
}

impl crate::Refusal for PlatformError {
    fn kind(&self) -> crate::RefusalKind {
        match self {
            PlatformError::Invalid { .. } => crate::RefusalKind::Invalid,
            PlatformError::KeyNotFound(_) => crate::RefusalKind::NotFound,
            _ => crate::RefusalKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            PlatformError::Invalid { .. } => "invalid",
            PlatformError::KeyExists(_) => "admin_key_exists",
            PlatformError::KeyNotFound(_) => "admin_key_not_found",
            PlatformError::AlreadyRevoked(_) => "admin_key_already_revoked",
            PlatformError::LastKey(_) => "last_admin_key",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            PlatformError::Invalid { field, .. } => Some((*field).to_owned()),
            _ => Some("key_id".to_owned()),
        }
    }
}

fn invalid(field: &'static str) -> impl Fn(crate::tenant::InvalidValue) -> PlatformError {
    move |e| PlatformError::Invalid {
        field,
        reason: e.reason().to_owned(),
    }
}

impl Aggregate for PlatformKeys {
    type Command = PlatformCommand;
    type Event = PlatformEvent;
    type Error = PlatformError;
    const KIND: &'static str = "platform";
    const SNAPSHOT_VERSION: u16 = 1;

    fn decide(
        &self,
        command: &PlatformCommand,
        _ctx: &DecisionContext,
    ) -> Result<Vec<PlatformEvent>, PlatformError> {
        match command {
            PlatformCommand::IssueAdminKey {
                key_id,
                name,
                prefix,
                secret_hash,
            } => {
                if key_id.is_nil() {
                    return Err(PlatformError::Invalid {
                        field: "key_id",
                        reason: "must not be the nil id".into(),
                    });
                }
                if self.keys.contains_key(key_id) {
                    return Err(PlatformError::KeyExists(*key_id));
                }
                let name = KeyName::parse(name).map_err(invalid("name"))?;
                let prefix = KeyPrefix::parse(prefix).map_err(invalid("prefix"))?;
                let secret_hash = SecretHash::parse(secret_hash).map_err(invalid("secret_hash"))?;
                Ok(vec![PlatformEvent::AdminKeyIssued(AdminKeyIssued {
                    key_id: *key_id,
                    name: name.as_str().to_owned(),
                    prefix: prefix.as_str().to_owned(),
                    secret_hash: secret_hash.as_str().to_owned(),
                })])
            }
            PlatformCommand::RevokeAdminKey { key_id } => {
                let key = self
                    .keys
                    .get(key_id)
                    .ok_or(PlatformError::KeyNotFound(*key_id))?;
                if key.revoked {
                    return Err(PlatformError::AlreadyRevoked(*key_id));
                }
                if self.keys.values().filter(|k| !k.revoked).count() == 1 {
                    return Err(PlatformError::LastKey(*key_id));
                }
                Ok(vec![PlatformEvent::AdminKeyRevoked(AdminKeyRevoked {
                    key_id: *key_id,
                })])
            }
        }
    }

    fn apply(&mut self, event: &PlatformEvent) {
        match event {
            PlatformEvent::AdminKeyIssued(e) => {
                self.keys.insert(
                    e.key_id,
                    AdminKey {
                        key_id: e.key_id,
                        name: e.name.clone(),
                        prefix: e.prefix.clone(),
                        secret_hash: e.secret_hash.clone(),
                        revoked: false,
                    },
                );
            }
            PlatformEvent::AdminKeyRevoked(e) => {
                if let Some(key) = self.keys.get_mut(&e.key_id) {
                    key.revoked = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::given;

    fn issue(key_id: Uuid) -> PlatformCommand {
        PlatformCommand::IssueAdminKey {
            key_id,
            name: "bootstrap".into(),
            prefix: "keel_abc".into(),
            secret_hash: "a".repeat(64),
        }
    }

    fn issued(key_id: Uuid) -> PlatformEvent {
        PlatformEvent::AdminKeyIssued(AdminKeyIssued {
            key_id,
            name: "bootstrap".into(),
            prefix: "keel_abc".into(),
            secret_hash: "a".repeat(64),
        })
    }

    #[test]
    fn an_admin_key_is_issued_with_its_hash_only() {
        let id = Uuid::now_v7();
        let state = given::<PlatformKeys>(vec![])
            .when(&issue(id))
            .then(vec![issued(id)]);
        assert!(state.has_active_key());
    }

    #[test]
    fn a_key_id_cannot_be_issued_twice_or_be_nil() {
        let id = Uuid::now_v7();
        given::<PlatformKeys>(vec![issued(id)])
            .when(&issue(id))
            .then_err(PlatformError::KeyExists(id));
        assert!(matches!(
            given::<PlatformKeys>(vec![])
                .when(&issue(Uuid::nil()))
                .outcome(),
            Err(PlatformError::Invalid {
                field: "key_id",
                ..
            })
        ));
    }

    #[test]
    fn a_malformed_hash_is_refused() {
        let command = PlatformCommand::IssueAdminKey {
            key_id: Uuid::now_v7(),
            name: "x".into(),
            prefix: "keel_abc".into(),
            secret_hash: "not-hex".into(),
        };
        assert!(matches!(
            given::<PlatformKeys>(vec![]).when(&command).outcome(),
            Err(PlatformError::Invalid {
                field: "secret_hash",
                ..
            })
        ));
    }

    #[test]
    fn the_last_usable_key_cannot_be_revoked() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        given::<PlatformKeys>(vec![issued(a)])
            .when(&PlatformCommand::RevokeAdminKey { key_id: a })
            .then_err(PlatformError::LastKey(a));
        let state = given::<PlatformKeys>(vec![issued(a), issued(b)])
            .when(&PlatformCommand::RevokeAdminKey { key_id: a })
            .then(vec![PlatformEvent::AdminKeyRevoked(AdminKeyRevoked {
                key_id: a,
            })]);
        assert!(state.keys[&a].revoked);
        given::<PlatformKeys>(vec![issued(a), issued(b)])
            .when(&PlatformCommand::RevokeAdminKey {
                key_id: Uuid::nil(),
            })
            .then_err(PlatformError::KeyNotFound(Uuid::nil()));
    }
}
