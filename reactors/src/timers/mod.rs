//! Durable timers: things that must happen at a time (a scheduled decommission, an API key's
//! expiry; later the workflow engine's step timeouts), kept as rows of `timers` until acted on.
//!
//! - [`store`]: the `timers` table (a generic row: id, tenant, kind, due time, JSON payload)
//!   and the reactor's checkpoint, every write fenced by the reactor's lease.
//! - [`feed`]: which events set or delete which timer (`tenant.decommission_scheduled` sets
//!   one, `tenant.decommission_cancelled` deletes it; a key issued with an expiry sets one).
//! - [`fire`]: what a due timer does, always through a command (never a raw append).
//! - [`reactor`]: the leased loop that follows the log, fires what is due within a second of
//!   its due time (it sleeps until the earliest one, and wakes when the log moves, which is how
//!   an earlier timer arrives), and polls at least every [`reactor::POLL`].
//!
//! Guarantees: **durable**: a timer is a row, so a restart or a takeover by another node
//! fires it (late by at most the takeover, never lost). **Exactly once in effect**: a timer is
//! deleted after its command succeeded or was refused; a crash in between fires it again, and
//! the aggregate refuses the repeat (a tenant is decommissioned once, a key's expiry is
//! recorded once). **One firer**: only the leaseholder fires, and its writes check the lease.

pub mod feed;
pub mod fire;
pub mod reactor;
pub mod store;

pub use reactor::TimersReactor;
pub use store::TimerStore;

use chrono::{DateTime, Utc};
use keel_commands::facts::derived_id;
use keel_domain::TenantId;
use uuid::Uuid;

/// The lease (and checkpoint) name of the timers reactor.
pub const REACTOR: &str = "timers";

/// The kind of a timer that decommissions its tenant (payload: `{}`).
pub const DECOMMISSION: &str = "tenant.decommission";
/// The kind of a timer that records an API key's expiry (payload: `{"key_id": ...}`).
pub const KEY_EXPIRY: &str = "tenant.api_key_expiry";

/// Something to do at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// Derived from what scheduled it ([`Timer::id_for`]): scheduling it again moves it.
    pub id: Uuid,
    /// The tenant it acts on.
    pub tenant_id: TenantId,
    /// What to do (e.g. [`DECOMMISSION`]).
    pub kind: String,
    /// When.
    pub due_at: DateTime<Utc>,
    /// With what, as the kind defines it.
    pub payload: serde_json::Value,
}

impl Timer {
    /// The id of the timer of `kind` scheduled for `tenant` by `subject` (empty when the tenant
    /// has one such timer at most, a key id for a key's expiry).
    pub fn id_for(kind: &str, tenant: TenantId, subject: &str) -> Uuid {
        derived_id(&format!("keel timer/{kind}/{tenant}/{subject}"))
    }
}
