//! Which events of the log set or delete which timer.
//!
//! - `tenant.decommission_scheduled` sets the tenant's decommission timer (rescheduling moves
//!   it); `tenant.decommission_cancelled` and `tenant.decommissioned` delete it.
//! - `tenant.api_key_issued` with an expiry sets the key's expiry timer;
//!   `tenant.api_key_revoked` and `tenant.api_key_expired` delete it.
//!
//! Applying the changes of a stretch of the log again gives the same timers (each change sets
//! or deletes a row by an id derived from its cause), so a batch repeated after a crash, before
//! its checkpoint was written, changes nothing.

use super::{Timer, DECOMMISSION, KEY_EXPIRY};
use crate::error::ReactorError;
use keel_domain::tenant::TenantEvent;
use keel_domain::TenantId;
use keel_log::RecordedEvent;
use uuid::Uuid;

/// What one event does to the timers.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Add or move a timer.
    Set(Timer),
    /// Delete the timer of this id, if any.
    Delete(Uuid),
}

/// The timer change `event` makes, if any.
pub fn change_of(event: &RecordedEvent) -> Result<Option<Change>, ReactorError> {
    const FOLLOWED: [&str; 6] = [
        TenantEvent::DECOMMISSION_SCHEDULED,
        TenantEvent::DECOMMISSION_CANCELLED,
        TenantEvent::DECOMMISSIONED,
        TenantEvent::API_KEY_ISSUED,
        TenantEvent::API_KEY_REVOKED,
        TenantEvent::API_KEY_EXPIRED,
    ];
    // Only these are decoded: the log is mostly other events.
    if !FOLLOWED.contains(&event.event_type.as_str()) {
        return Ok(None);
    }
    let tenant = event.metadata.tenant_id;
    let decoded = event
        .decode::<TenantEvent>()
        .map_err(|source| ReactorError::Decode {
            position: event.global_position,
            source,
        })?;
    let decommission = || Timer::id_for(DECOMMISSION, tenant, "");
    Ok(match decoded {
        TenantEvent::DecommissionScheduled(e) => Some(Change::Set(Timer {
            id: decommission(),
            tenant_id: tenant,
            kind: DECOMMISSION.to_owned(),
            due_at: e.at,
            payload: serde_json::json!({}),
        })),
        TenantEvent::DecommissionCancelled(_) | TenantEvent::Decommissioned(_) => {
            Some(Change::Delete(decommission()))
        }
        TenantEvent::ApiKeyIssued(e) => e
            .expires_at
            .map(|due_at| Change::Set(key_expiry(tenant, e.key_id, due_at))),
        TenantEvent::ApiKeyRevoked(e) => Some(Change::Delete(key_expiry_id(tenant, e.key_id))),
        TenantEvent::ApiKeyExpired(e) => Some(Change::Delete(key_expiry_id(tenant, e.key_id))),
        _ => None,
    })
}

fn key_expiry_id(tenant: TenantId, key_id: Uuid) -> Uuid {
    Timer::id_for(KEY_EXPIRY, tenant, &key_id.to_string())
}

fn key_expiry(tenant: TenantId, key_id: Uuid, due_at: chrono::DateTime<chrono::Utc>) -> Timer {
    Timer {
        id: key_expiry_id(tenant, key_id),
        tenant_id: tenant,
        kind: KEY_EXPIRY.to_owned(),
        due_at,
        payload: serde_json::json!({ "key_id": key_id }),
    }
}
