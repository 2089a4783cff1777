//! `keel keys audit`: the tenant keys that hold more than the key that issued them.
//!
//! Before issuing was held to the scope lattice, a tenant key could issue a key with scopes it
//! did not hold, or that outlived it. Such keys keep working after an upgrade, so an operator
//! lists them here and revokes them. The log is the evidence: each `tenant.api_key_issued`
//! records its issuer as the event's actor. A key is listed while it is usable (not revoked,
//! not expired) when a tenant key issued it and it holds a scope its issuer did not, expires
//! later than its issuer (or never, when the issuer expires), or was issued by a listed key
//! (what an escalated key issued is no better than it). Keys issued by platform admins are
//! never listed.

use super::filter::{FilterArgs, LogCursor};
use super::{CliError, ToolContext};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use keel_domain::tenant::{first_not_covered, Scope, TenantEvent};
use keel_domain::{Actor, TenantId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// `keel keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Lists usable tenant keys that hold more than the key that issued them, to revoke.
    Audit,
}

/// A key as the log tells it.
struct IssuedKey {
    tenant_id: TenantId,
    name: String,
    scopes: Vec<Scope>,
    expires_at: Option<DateTime<Utc>>,
    issued_at: DateTime<Utc>,
    /// The tenant key that issued it, if a tenant key did.
    issuer: Option<Uuid>,
    revoked: bool,
}

/// A key that holds more than its issuer.
#[derive(Debug, Serialize)]
pub struct ExcessKey {
    /// The key's tenant.
    pub tenant_id: TenantId,
    /// The key.
    pub key_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The tenant key that issued it.
    pub issued_by: Uuid,
    /// What it holds that its issuer did not.
    pub reason: String,
}

/// Runs `keel keys ...`.
pub async fn run(command: KeysCommand, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    let KeysCommand::Audit = command;
    let keys = issued_keys(context).await?;
    let excess = excess_keys(&keys, Utc::now());
    if context.out.is_json() {
        for key in &excess {
            context.out.json_line(key)?;
        }
    } else if excess.is_empty() {
        context
            .out
            .line("no usable key holds more than the key that issued it")?;
    } else {
        for key in &excess {
            context.out.line(format!(
                "tenant {} key {} ({:?}, issued {} by key {}): {}",
                key.tenant_id,
                key.key_id,
                key.name,
                key.issued_at.to_rfc3339(),
                key.issued_by,
                key.reason
            ))?;
        }
        context.out.line(format!(
            "{} key(s) to review: revoke each with POST /v1/tenants/{{tenant_id}}/api-keys/{{key_id}}/revoke",
            excess.len()
        ))?;
    }
    Ok(())
}

/// Every tenant key the log records, by id.
async fn issued_keys(context: &ToolContext<'_>) -> Result<BTreeMap<Uuid, IssuedKey>, CliError> {
    let filter = FilterArgs {
        types: vec![
            TenantEvent::API_KEY_ISSUED.into(),
            TenantEvent::API_KEY_REVOKED.into(),
        ],
        ..FilterArgs::default()
    };
    let mut cursor = LogCursor::new(&*context.store, &filter);
    let mut keys = BTreeMap::new();
    while let Some(page) = cursor.next_page().await? {
        for recorded in page {
            match recorded.decode::<TenantEvent>() {
                Ok(TenantEvent::ApiKeyIssued(issued)) => {
                    let issuer = match &recorded.metadata.actor {
                        Actor::ApiKey(id) => id.parse().ok(),
                        _ => None,
                    };
                    keys.insert(
                        issued.key_id,
                        IssuedKey {
                            tenant_id: recorded.metadata.tenant_id,
                            name: issued.name.as_str().to_owned(),
                            scopes: issued.scopes,
                            expires_at: issued.expires_at,
                            issued_at: recorded.recorded_at,
                            issuer,
                            revoked: false,
                        },
                    );
                }
                Ok(TenantEvent::ApiKeyRevoked(revoked)) => {
                    if let Some(key) = keys.get_mut(&revoked.key_id) {
                        key.revoked = true;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    return Err(CliError::Other(anyhow::anyhow!(
                        "event at position {} does not decode: {error}",
                        recorded.global_position
                    )))
                }
            }
        }
    }
    Ok(keys)
}

/// The usable keys holding more than their issuer, in the order they were issued.
fn excess_keys(keys: &BTreeMap<Uuid, IssuedKey>, now: DateTime<Utc>) -> Vec<ExcessKey> {
    let mut excess = Vec::new();
    let mut by_issue: Vec<(&Uuid, &IssuedKey)> = keys.iter().collect();
    by_issue.sort_by_key(|(_, key)| key.issued_at);
    let mut tainted: BTreeSet<Uuid> = BTreeSet::new();
    for (key_id, key) in by_issue {
        // Platform-issued keys, and keys whose issuer the log does not hold as a tenant key
        // of the same tenant, have no tenant issuer to compare with.
        let Some((issuer_id, issuer)) = key
            .issuer
            .and_then(|id| keys.get(&id).map(|issuer| (id, issuer)))
            .filter(|(_, issuer)| issuer.tenant_id == key.tenant_id)
        else {
            continue;
        };
        let reason = if let Some(scope) = first_not_covered(&issuer.scopes, &key.scopes) {
            Some(format!(
                "holds `{}`, which its issuer did not",
                scope.as_str()
            ))
        } else if outlives(key.expires_at, issuer.expires_at) {
            Some("expires after its issuer".to_owned())
        } else if tainted.contains(&issuer_id) {
            Some("issued by a key that holds more than its own issuer".to_owned())
        } else {
            None
        };
        let Some(reason) = reason else {
            continue;
        };
        tainted.insert(*key_id);
        let usable = !key.revoked && key.expires_at.is_none_or(|at| now < at);
        if usable {
            excess.push(ExcessKey {
                tenant_id: key.tenant_id,
                key_id: *key_id,
                name: key.name.clone(),
                scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                issued_at: key.issued_at,
                issued_by: issuer_id,
                reason,
            });
        }
    }
    excess
}

/// Whether a key expiring at `key` outlives an issuer expiring at `issuer`.
fn outlives(key: Option<DateTime<Utc>>, issuer: Option<DateTime<Utc>>) -> bool {
    match (key, issuer) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(key), Some(issuer)) => key > issuer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: TenantId, scopes: &[&str], issuer: Option<Uuid>, at: i64) -> IssuedKey {
        IssuedKey {
            tenant_id: tenant,
            name: "k".into(),
            scopes: scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
            expires_at: None,
            issued_at: DateTime::from_timestamp(at, 0).unwrap(),
            issuer,
            revoked: false,
        }
    }

    #[test]
    fn escalated_keys_and_their_descendants_are_listed_until_revoked() {
        let tenant = TenantId(Uuid::now_v7());
        let [root, escalated, child, fair] = [1u128, 2, 3, 4].map(Uuid::from_u128);
        let mut keys = BTreeMap::from([
            (root, key(tenant, &["keys:admin", "tenants:write"], None, 1)),
            (escalated, key(tenant, &["*:admin"], Some(root), 2)),
            (child, key(tenant, &["tenants:read"], Some(escalated), 3)),
            (fair, key(tenant, &["tenants:read"], Some(root), 4)),
        ]);
        let listed: Vec<Uuid> = excess_keys(&keys, Utc::now())
            .iter()
            .map(|k| k.key_id)
            .collect();
        assert_eq!(listed, vec![escalated, child]);
        keys.get_mut(&escalated).unwrap().revoked = true;
        let listed: Vec<Uuid> = excess_keys(&keys, Utc::now())
            .iter()
            .map(|k| k.key_id)
            .collect();
        assert_eq!(listed, vec![child], "a descendant stays listed");
    }
}
