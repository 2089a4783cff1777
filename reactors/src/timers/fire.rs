//! What a due timer does: a tenant command, sent as `System("scheduler")`.
//!
//! - [`DECOMMISSION`] sends `decommission`; the aggregate accepts it only once the scheduled
//!   time has come.
//! - [`KEY_EXPIRY`] sends `expire_api_key`, which records `tenant.api_key_expired`.
//!
//! A refusal that says the timer has nothing left to do (the decommission was cancelled or
//! moved later, the tenant is already decommissioned, the key's expiry is already recorded or
//! the key was revoked) counts as fired: the timer is dropped. That is what makes a timer fired
//! again after a crash harmless. Any other failure is an error: the timer stays and fires again.

use super::{Timer, DECOMMISSION, KEY_EXPIRY};
use crate::error::ReactorError;
use keel_commands::handler::{CommandError, CommandHandler};
use keel_domain::tenant::{DecommissionTenant, ExpireApiKey, Tenant, TenantCommand, TenantError};
use keel_domain::{Actor, AggregateId};
use keel_store::EventMetadata;
use uuid::Uuid;

/// The kinds of timer [`fire`] knows.
pub const KINDS: &[&str] = &[DECOMMISSION, KEY_EXPIRY];

/// What firing a timer did.
#[derive(Debug, Clone, PartialEq)]
pub enum Fired {
    /// Its command was accepted.
    Acted,
    /// Its command was refused because there was nothing left to do (the refusal says why).
    Moot(TenantError),
}

/// Fires `timer` through `tenants`.
pub async fn fire(tenants: &CommandHandler<Tenant>, timer: &Timer) -> Result<Fired, ReactorError> {
    let command = match timer.kind.as_str() {
        DECOMMISSION => TenantCommand::Decommission(DecommissionTenant {}),
        KEY_EXPIRY => TenantCommand::ExpireApiKey(ExpireApiKey {
            key_id: key_id(timer)?,
        }),
        other => {
            return Err(ReactorError::Command(format!(
                "timer {} has a kind no one fires: {other}",
                timer.id
            )))
        }
    };
    let metadata = EventMetadata::new(timer.tenant_id, Actor::System("scheduler".into()));
    match tenants
        .execute(
            AggregateId::tenant(timer.tenant_id),
            command,
            metadata,
            None,
        )
        .await
    {
        Ok(_) => Ok(Fired::Acted),
        Err(CommandError::Domain(refusal)) if is_moot(&refusal) => Ok(Fired::Moot(refusal)),
        Err(other) => Err(ReactorError::Command(format!(
            "cannot fire timer {} ({}) of tenant {}: {other}",
            timer.id, timer.kind, timer.tenant_id
        ))),
    }
}

/// Whether a refusal means the timer has nothing left to do. `DecommissionNotDue`: the
/// decommission was moved later, and the move's event sets the timer again.
fn is_moot(refusal: &TenantError) -> bool {
    matches!(
        refusal,
        TenantError::NotFound
            | TenantError::Decommissioned
            | TenantError::DecommissionNotScheduled
            | TenantError::DecommissionNotDue { .. }
            | TenantError::ApiKeyNotFound { .. }
            | TenantError::ApiKeyAlreadyRevoked { .. }
            | TenantError::ApiKeyAlreadyExpired { .. }
            | TenantError::ApiKeyNotExpired { .. }
    )
}

fn key_id(timer: &Timer) -> Result<Uuid, ReactorError> {
    timer.payload["key_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| {
            ReactorError::Command(format!("timer {} has no key_id in its payload", timer.id))
        })
}
