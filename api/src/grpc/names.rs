//! How the clients' stream names map to Keel stream ids, per caller, so that tenants never
//! share a stream.
//!
//! - A stream written over gRPC by tenant `T` under the name `orders-1` is the Keel stream
//!   `kurrent-<T>:orders-1`; its events carry tenant `T`. Two tenants' `orders-1` are two
//!   streams, and each tenant is shown its own stream as plain `orders-1`.
//! - A platform admin key writes to the platform's namespace the same way, and may name any
//!   tenant's gRPC stream by its full Keel id (`kurrent-<tenant>:orders-1`).
//! - Names of the form `<kind>-...` with a kind of Keel's own streams (`tenant-<id>`,
//!   `policy-<id>`, ...) are Keel's streams: readable (as JSON) by their tenant, never writable,
//!   so no client can bypass the domain's rules.
//! - Other `$`-names (system streams) do not exist in Keel.

use super::error::GrpcError;
use crate::auth::Principal;
use keel_domain::{Actor, TenantId};
use keel_store::RecordedEvent;
use uuid::Uuid;

/// The prefix of the Keel stream ids of streams written over gRPC.
pub const NAMESPACE: &str = "kurrent-";

/// The kinds of Keel's own streams (the part before the first `-` of their ids).
const KEEL_KINDS: [&str; 10] = [
    "tenant",
    "platform",
    "policy",
    "integration",
    "billing",
    "workflow",
    "workflow_run",
    "usage",
    "access",
    "claim",
];

/// What a client's stream name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamTarget {
    /// A stream of the clients' own: its Keel stream id and the tenant its events belong to.
    Client {
        /// The Keel stream id (`kurrent-<tenant>:<name>`).
        stream_id: String,
        /// The owning tenant.
        tenant: TenantId,
    },
    /// One of Keel's own streams: read-only.
    Keel {
        /// The Keel stream id.
        stream_id: String,
    },
    /// A system stream (`$...`): Keel has none.
    System,
}

impl StreamTarget {
    /// The Keel stream id, unless it is a system stream.
    pub fn stream_id(&self) -> Option<&str> {
        match self {
            StreamTarget::Client { stream_id, .. } | StreamTarget::Keel { stream_id } => {
                Some(stream_id)
            }
            StreamTarget::System => None,
        }
    }
}

/// An authenticated gRPC caller.
#[derive(Debug, Clone)]
pub struct GrpcCaller {
    principal: Principal,
}

impl GrpcCaller {
    /// The caller with this principal.
    pub fn new(principal: Principal) -> GrpcCaller {
        GrpcCaller { principal }
    }

    /// The tenant whose slice of the log this caller sees; `None` for a platform admin, who
    /// sees the whole log.
    pub fn tenant(&self) -> Option<TenantId> {
        (!self.principal.is_admin()).then_some(self.principal.tenant_id)
    }

    /// The actor recorded on the events this caller appends.
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }

    /// What `name` (the bytes a client sent) refers to for this caller.
    pub fn resolve(&self, name: &[u8]) -> Result<StreamTarget, GrpcError> {
        let name = std::str::from_utf8(name)
            .map_err(|_| GrpcError::InvalidArgument("stream names must be UTF-8".into()))?;
        if name.is_empty() {
            return Err(GrpcError::InvalidArgument(
                "the stream name is empty".into(),
            ));
        }
        if name.starts_with('$') {
            return Ok(StreamTarget::System);
        }
        if is_keel_stream(name) {
            return Ok(StreamTarget::Keel {
                stream_id: name.to_owned(),
            });
        }
        if self.tenant().is_none() {
            if let Some(rest) = name.strip_prefix(NAMESPACE) {
                let tenant = rest
                    .split_once(':')
                    .and_then(|(tenant, stream)| {
                        (!stream.is_empty()).then(|| Uuid::parse_str(tenant).ok())?
                    })
                    .ok_or_else(|| {
                        GrpcError::InvalidArgument(format!(
                            "`{name}` is not `{NAMESPACE}<tenant id>:<stream name>`"
                        ))
                    })?;
                return Ok(StreamTarget::Client {
                    stream_id: name.to_owned(),
                    tenant: TenantId(tenant),
                });
            }
        }
        let tenant = self.principal.tenant_id;
        Ok(StreamTarget::Client {
            stream_id: format!("{NAMESPACE}{tenant}:{name}"),
            tenant,
        })
    }

    /// The name this caller knows a Keel stream by: its own gRPC streams without the
    /// namespace, every other stream by its Keel id.
    pub fn display<'a>(&self, stream_id: &'a str) -> &'a str {
        let own = format!("{NAMESPACE}{}:", self.principal.tenant_id);
        stream_id.strip_prefix(own.as_str()).unwrap_or(stream_id)
    }

    /// Whether this caller may see `event` (a tenant sees only its own events).
    pub fn may_see(&self, event: &RecordedEvent) -> bool {
        self.tenant()
            .is_none_or(|tenant| event.metadata.tenant_id == tenant)
    }

    /// Refuses writes to anything but the clients' own streams.
    pub fn writable(
        &self,
        target: StreamTarget,
        name: &str,
    ) -> Result<(String, TenantId), GrpcError> {
        match target {
            StreamTarget::Client { stream_id, tenant } => Ok((stream_id, tenant)),
            StreamTarget::Keel { .. } => Err(GrpcError::PermissionDenied(format!(
                "`{name}` is one of Keel's own streams: it is changed only by Keel's commands \
                 (the HTTP API), never written directly"
            ))),
            StreamTarget::System => Err(GrpcError::PermissionDenied(format!(
                "`{name}` is a system stream; Keel does not offer system streams"
            ))),
        }
    }
}

/// Whether a stream id is one of Keel's own (`tenant-...`, `policy-...`).
fn is_keel_stream(name: &str) -> bool {
    name.split_once('-')
        .is_some_and(|(kind, _)| KEEL_KINDS.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(tenant: TenantId) -> GrpcCaller {
        GrpcCaller::new(Principal::for_tests(tenant))
    }

    #[test]
    fn two_tenants_names_are_two_streams() {
        let (a, b) = (
            caller(TenantId(uuid::Uuid::now_v7())),
            caller(TenantId(uuid::Uuid::now_v7())),
        );
        let (sa, sb) = (
            a.resolve(b"orders-1").unwrap(),
            b.resolve(b"orders-1").unwrap(),
        );
        assert_ne!(sa, sb);
        let id = sa.stream_id().unwrap();
        assert_eq!(a.display(id), "orders-1");
        assert_eq!(b.display(id), id);
    }

    #[test]
    fn keel_streams_are_not_writable_and_system_streams_do_not_exist() {
        let a = caller(TenantId(uuid::Uuid::now_v7()));
        let target = a.resolve(b"tenant-0190").unwrap();
        assert!(matches!(target, StreamTarget::Keel { .. }));
        assert!(a.writable(target, "tenant-0190").is_err());
        assert_eq!(a.resolve(b"$all-ish").unwrap(), StreamTarget::System);
        assert!(a.resolve(b"").is_err());
        assert!(a.resolve(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn an_admin_names_tenant_streams_by_their_keel_id() {
        let admin = caller(TenantId::PLATFORM);
        let tenant = TenantId(uuid::Uuid::now_v7());
        let full = format!("kurrent-{tenant}:orders-1");
        assert_eq!(
            admin.resolve(full.as_bytes()).unwrap(),
            StreamTarget::Client {
                stream_id: full.clone(),
                tenant
            }
        );
        assert!(admin.resolve(b"kurrent-nope:x").is_err());
        // A tenant's `kurrent-` name stays inside its own namespace.
        let t = caller(tenant);
        let own = t.resolve(full.as_bytes()).unwrap();
        assert_eq!(own.stream_id().unwrap(), format!("kurrent-{tenant}:{full}"));
    }
}
