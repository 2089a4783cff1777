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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use keel_domain::tenant::{
        ApiKeyIssued, DecommissionCancelled, DecommissionScheduled, KeyName, KeyPrefix, Scope,
        SecretHash, TenantName, TenantRenamed,
    };
    use keel_domain::{Actor, DomainEvent};
    use keel_log::EventMetadata;

    fn tenant() -> TenantId {
        TenantId(Uuid::from_u128(7))
    }

    fn recorded(event: TenantEvent) -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::now_v7(),
            stream_id: format!("tenant-{}", tenant()),
            stream_version: 1,
            global_position: 1,
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.encode().unwrap(),
            metadata: EventMetadata::new(tenant(), Actor::System("test".into())),
            recorded_at: Utc::now(),
        }
    }

    fn key_issued(expires_at: Option<chrono::DateTime<Utc>>) -> TenantEvent {
        TenantEvent::ApiKeyIssued(ApiKeyIssued {
            key_id: Uuid::from_u128(9),
            name: KeyName::parse("ci").unwrap(),
            scopes: vec![Scope::parse("*:read").unwrap()],
            prefix: KeyPrefix::parse("kl_live_4f9a").unwrap(),
            secret_hash: SecretHash::parse(&"a".repeat(64)).unwrap(),
            expires_at,
            member_id: None,
        })
    }

    #[test]
    fn scheduling_sets_and_cancelling_deletes_the_same_timer() {
        let at = Utc::now() + Duration::days(1);
        let scheduled = DecommissionScheduled { at };
        let Some(Change::Set(timer)) =
            change_of(&recorded(TenantEvent::DecommissionScheduled(scheduled))).unwrap()
        else {
            panic!("scheduling sets a timer");
        };
        assert_eq!((timer.kind.as_str(), timer.due_at), (DECOMMISSION, at));
        assert_eq!(timer.tenant_id, tenant());
        let cancelled = TenantEvent::DecommissionCancelled(DecommissionCancelled {});
        assert_eq!(
            change_of(&recorded(cancelled)).unwrap(),
            Some(Change::Delete(timer.id))
        );
    }

    #[test]
    fn only_a_key_with_an_expiry_gets_a_timer() {
        let at = Utc::now() + Duration::hours(1);
        let Some(Change::Set(timer)) = change_of(&recorded(key_issued(Some(at)))).unwrap() else {
            panic!("a key with an expiry sets a timer");
        };
        assert_eq!((timer.kind.as_str(), timer.due_at), (KEY_EXPIRY, at));
        assert_eq!(timer.payload["key_id"], Uuid::from_u128(9).to_string());
        assert_eq!(change_of(&recorded(key_issued(None))).unwrap(), None);
    }

    #[test]
    fn other_events_change_no_timer() {
        let renamed = TenantEvent::Renamed(TenantRenamed {
            name: TenantName::parse("Acme").unwrap(),
        });
        assert_eq!(change_of(&recorded(renamed)).unwrap(), None);
    }
}
