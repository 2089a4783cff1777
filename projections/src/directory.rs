//! The tenant directory: every tenant's summary and every API key, in memory, followed live.
//!
//! It is rebuilt from the log at start (a full `read_all` of tenant and platform events) and
//! then follows new events, so it is always a pure function of the log up to [`Directory::position`].
//! Requests are authenticated against it without a database round trip; a revocation takes
//! effect as soon as the directory has folded the revoking event, and the API waits for that
//! before answering the revoke command, so a revoked key is refused from then on.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use keel_domain::platform::PlatformEvent;
use keel_domain::tenant::{Scope, TenantEvent};
use keel_domain::TenantId;
use keel_log::{subscribe, EventLog, RecordedEvent, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tracing::warn;
use uuid::Uuid;

/// Events read per batch while following the log.
const BATCH: usize = 1000;

/// What a tenant list shows of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSummary {
    /// The tenant's id.
    pub id: TenantId,
    /// Its name.
    pub name: String,
    /// Its unique slug.
    pub slug: String,
    /// `active`, `suspended` or `decommissioned`.
    pub status: &'static str,
    /// Its plan.
    pub plan: &'static str,
    /// Where its data lives.
    pub data_region: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An API key as authentication needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyEntry {
    /// The key's id.
    pub key_id: Uuid,
    /// The tenant it acts for; [`TenantId::PLATFORM`] for platform admin keys.
    pub tenant_id: TenantId,
    /// What it may do; empty for admin keys, which may do everything.
    pub scopes: Vec<Scope>,
    /// The member it acts for; `None` for service keys and admin keys.
    pub member_id: Option<Uuid>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl KeyEntry {
    /// Whether this is a platform admin key.
    pub fn is_admin(&self) -> bool {
        self.tenant_id.is_platform()
    }

    /// Whether it may be used at `now`.
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at.is_none_or(|at| now < at)
    }
}

/// Filters for listing tenants.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Only tenants in this status.
    pub status: Option<String>,
    /// Only tenants on this plan.
    pub plan: Option<String>,
    /// Only tenants whose name or slug contains this text (case-insensitive).
    pub search: Option<String>,
}

#[derive(Default)]
struct State {
    tenants: BTreeMap<TenantId, TenantSummary>,
    keys_by_hash: HashMap<String, KeyEntry>,
    hash_by_key: HashMap<Uuid, String>,
}

/// The in-memory tenant directory. Share it as `Arc<Directory>`.
pub struct Directory {
    state: RwLock<State>,
    position: watch::Sender<u64>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            state: RwLock::default(),
            position: watch::Sender::new(0),
        }
    }
}

impl Directory {
    /// An empty directory at position 0.
    pub fn new() -> Arc<Self> {
        Arc::new(Directory::default())
    }

    /// Catches up with the log, then follows it until the store fails. Run it in a task.
    pub async fn follow(self: Arc<Self>, store: Arc<dyn EventLog>) -> Result<(), StoreError> {
        let mut events = Box::pin(subscribe(store, self.position(), BATCH));
        while let Some(event) = events.next().await {
            self.apply(&event?);
        }
        Ok(())
    }

    /// Folds one event (others than tenant and platform events only advance the position).
    pub fn apply(&self, event: &RecordedEvent) {
        let category = event.event_type.split('.').next().unwrap_or_default();
        {
            let mut state = self
                .state
                .write()
                .expect("directory lock is never poisoned");
            match category {
                "tenant" => match event.decode::<TenantEvent>() {
                    Ok(decoded) => state.apply_tenant(event, &decoded),
                    Err(error) => {
                        warn!(%error, position = event.global_position, "undecodable tenant event")
                    }
                },
                "platform" => match event.decode::<PlatformEvent>() {
                    Ok(decoded) => state.apply_platform(&decoded),
                    Err(error) => {
                        warn!(%error, position = event.global_position, "undecodable platform event")
                    }
                },
                _ => {}
            }
        }
        self.position.send_if_modified(|p| {
            let moved = event.global_position > *p;
            *p = (*p).max(event.global_position);
            moved
        });
    }

    /// The position of the last event folded.
    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// Waits until the directory has folded `position`; `false` if `timeout` passed first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut receiver = self.position.subscribe();
        tokio::time::timeout(timeout, receiver.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The key whose secret hashes to `hash`.
    pub fn key_by_hash(&self, hash: &str) -> Option<KeyEntry> {
        self.read().keys_by_hash.get(hash).cloned()
    }

    /// Whether any platform admin key exists (usable or not).
    pub fn has_admin_key(&self) -> bool {
        self.read().keys_by_hash.values().any(KeyEntry::is_admin)
    }

    /// One tenant's summary.
    pub fn tenant(&self, id: TenantId) -> Option<TenantSummary> {
        self.read().tenants.get(&id).cloned()
    }

    /// Up to `limit` tenants after `after` (in id order, which is creation order for UUID v7
    /// ids) that match `filter`.
    pub fn list(
        &self,
        filter: &TenantFilter,
        after: Option<TenantId>,
        limit: usize,
    ) -> Vec<TenantSummary> {
        let search = filter.search.as_ref().map(|s| s.to_lowercase());
        let state = self.read();
        let range = match after {
            Some(after) => state
                .tenants
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => state.tenants.range(..),
        };
        range
            .map(|(_, t)| t)
            .filter(|t| filter.status.as_deref().is_none_or(|s| s == t.status))
            .filter(|t| filter.plan.as_deref().is_none_or(|p| p == t.plan))
            .filter(|t| {
                search
                    .as_deref()
                    .is_none_or(|s| t.slug.contains(s) || t.name.to_lowercase().contains(s))
            })
            .take(limit)
            .cloned()
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("directory lock is never poisoned")
    }
}

impl State {
    fn apply_tenant(&mut self, recorded: &RecordedEvent, event: &TenantEvent) {
        let tenant_id = recorded.metadata.tenant_id;
        let at = recorded.metadata.occurred_at;
        if let TenantEvent::Created(created) = event {
            self.tenants.insert(
                tenant_id,
                TenantSummary {
                    id: tenant_id,
                    name: created.name.as_str().to_owned(),
                    slug: created.slug.as_str().to_owned(),
                    status: "active",
                    plan: created.plan.as_str(),
                    data_region: created.data_region.as_str().to_owned(),
                    created_at: at,
                    updated_at: at,
                },
            );
            return;
        }
        match event {
            TenantEvent::ApiKeyIssued(issued) => {
                let hash = issued.secret_hash.as_str().to_owned();
                self.hash_by_key.insert(issued.key_id, hash.clone());
                self.keys_by_hash.insert(
                    hash,
                    KeyEntry {
                        key_id: issued.key_id,
                        tenant_id,
                        scopes: issued.scopes.clone(),
                        member_id: issued.member_id,
                        expires_at: issued.expires_at,
                        revoked: false,
                    },
                );
            }
            TenantEvent::ApiKeyRevoked(revoked) => self.revoke(revoked.key_id),
            _ => {}
        }
        let Some(summary) = self.tenants.get_mut(&tenant_id) else {
            return;
        };
        summary.updated_at = at;
        match event {
            TenantEvent::Renamed(renamed) => summary.name = renamed.name.as_str().to_owned(),
            TenantEvent::PlanChanged(changed) => summary.plan = changed.plan.as_str(),
            TenantEvent::Suspended(_) => summary.status = "suspended",
            TenantEvent::Reactivated(_) => summary.status = "active",
            TenantEvent::Decommissioned(_) => summary.status = "decommissioned",
            _ => {}
        }
    }

    fn apply_platform(&mut self, event: &PlatformEvent) {
        match event {
            PlatformEvent::AdminKeyIssued(issued) => {
                self.hash_by_key
                    .insert(issued.key_id, issued.secret_hash.clone());
                self.keys_by_hash.insert(
                    issued.secret_hash.clone(),
                    KeyEntry {
                        key_id: issued.key_id,
                        tenant_id: TenantId::PLATFORM,
                        scopes: Vec::new(),
                        member_id: None,
                        expires_at: None,
                        revoked: false,
                    },
                );
            }
            PlatformEvent::AdminKeyRevoked(revoked) => self.revoke(revoked.key_id),
        }
    }

    fn revoke(&mut self, key_id: Uuid) {
        if let Some(entry) = self
            .hash_by_key
            .get(&key_id)
            .and_then(|hash| self.keys_by_hash.get_mut(hash))
        {
            entry.revoked = true;
        }
    }
}
