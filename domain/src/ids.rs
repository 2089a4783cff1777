//! Typed identifiers, so that a tenant id cannot be passed where a policy id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The tenant an event, a stream or a read model row belongs to.
///
/// Platform-wide data (for example platform policies) belongs to [`TenantId::PLATFORM`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
pub struct TenantId(pub Uuid);

impl TenantId {
    /// The pseudo-tenant that owns platform-wide data.
    pub const PLATFORM: TenantId = TenantId(Uuid::nil());

    /// Whether this is the platform pseudo-tenant.
    pub fn is_platform(&self) -> bool {
        self.0.is_nil()
    }
}

impl Default for TenantId {
    fn default() -> Self {
        TenantId::PLATFORM
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TenantId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(TenantId)
    }
}

/// The identity of one aggregate instance: the tenant it belongs to and its own id.
///
/// Its stream id is `<kind>-<id>`, for example `tenant-0190...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AggregateId {
    /// The tenant whose data this aggregate is.
    pub tenant_id: TenantId,
    /// The aggregate's own id (for a tenant aggregate, equal to the tenant id).
    pub id: Uuid,
}

impl AggregateId {
    /// The id of a tenant aggregate: its own id is the tenant id.
    pub fn tenant(tenant_id: TenantId) -> Self {
        AggregateId {
            tenant_id,
            id: tenant_id.0,
        }
    }

    /// The stream id of this aggregate for an aggregate kind.
    pub fn stream_id(&self, kind: &str) -> String {
        format!("{kind}-{}", self.id)
    }
}

/// Stores an optional [`Uuid`] as hyphenated text, like the ids of other payloads.
pub(crate) mod optional_uuid_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use uuid::Uuid;

    pub fn serialize<S: Serializer>(id: &Option<Uuid>, serializer: S) -> Result<S::Ok, S::Error> {
        id.map(|id| id.hyphenated().to_string())
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Uuid>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| Uuid::parse_str(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
