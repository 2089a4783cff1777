//! Who caused an event: recorded with every stored event for audit.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The principal on whose behalf a command ran.
///
/// Stored in every event's envelope; the audit trail shows it. The identifier is opaque
/// here: an API key id, a user id, or the name of a system component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Actor {
    /// A request authenticated with an API key (the key's id, never its secret).
    ApiKey(String),
    /// A human member acting through a UI.
    User(String),
    /// Keel itself (a worker, a scheduled job, the CLI).
    System(String),
}

impl Actor {
    /// The kind of principal as stored in the envelope: `api_key`, `user` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::ApiKey(_) => "api_key",
            Actor::User(_) => "user",
            Actor::System(_) => "system",
        }
    }

    /// The principal's identifier.
    pub fn id(&self) -> &str {
        match self {
            Actor::ApiKey(id) | Actor::User(id) | Actor::System(id) => id,
        }
    }

    /// Rebuilds an actor from its stored kind and id; `None` for an unknown kind.
    pub fn from_parts(kind: &str, id: impl Into<String>) -> Option<Actor> {
        let id = id.into();
        match kind {
            "api_key" => Some(Actor::ApiKey(id)),
            "user" => Some(Actor::User(id)),
            "system" => Some(Actor::System(id)),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_round_trips_through_its_stored_parts() {
        for actor in [
            Actor::ApiKey("k1".into()),
            Actor::User("u1".into()),
            Actor::System("cli".into()),
        ] {
            assert_eq!(
                Actor::from_parts(actor.kind(), actor.id()),
                Some(actor.clone())
            );
        }
        assert_eq!(Actor::from_parts("robot", "x"), None);
    }
}
