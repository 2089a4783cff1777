//! The daily re-check of verified custom domains: a lost proof un-verifies.
//!
//! Each round walks every tenant of the directory and, for each verified domain, sends
//! `recheck_domain` to the tenant aggregate, which decides (see
//! `keel_domain::tenant::domain_proof`):
//!
//! - a domain verified with no proof recorded (before proof was required) is un-verified with
//!   the reason "verified before proof was required", without a lookup: this is the upgrade
//!   step, done by the first round after an upgrade;
//! - a domain whose challenge record answered without its token is un-verified, the reason
//!   quoting what was found;
//! - a failed lookup (timeout, server failure) changes nothing: it is tried again next round.
//!
//! Guarantees: **once**: the aggregate refuses to un-verify a domain that is no longer
//! verified, so a round repeated (a restart, a second process after a lease moved) appends
//! nothing more. **Never skipped by a restart**: the first round runs as soon as the process
//! holds the lease, and then every interval; a restart therefore checks early, never late. It
//! runs under a lease, so one process checks at a time.

use crate::domain_proofs::ChallengeResolver;
use crate::error::ReactorError;
use keel_commands::handler::{CommandError, CommandHandler, HandlerConfig};
use keel_domain::tenant::{
    DomainName, RecheckDomain, Tenant, TenantCommand, TenantError, TxtLookup,
};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_projections::{Directory, TenantFilter};
use keel_store::{EventMetadata, EventStore};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Tenants loaded per batch.
const PAGE: usize = 200;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckReport {
    /// Verified domains checked.
    pub checked: usize,
    /// The domains un-verified, by tenant.
    pub unverified: Vec<(TenantId, String)>,
}

/// The re-check reactor.
pub struct Recheck {
    tenants: CommandHandler<Tenant>,
    directory: Arc<Directory>,
    resolver: ChallengeResolver,
    interval: Duration,
}

impl Recheck {
    /// A re-check of the tenants `directory` lists, on `store`, looking up through
    /// `resolver`, every `interval`.
    pub fn new(
        store: Arc<dyn EventStore>,
        directory: Arc<Directory>,
        resolver: ChallengeResolver,
        interval: Duration,
    ) -> Recheck {
        Recheck {
            // A handler of its own: walking every tenant must not evict the API's cache.
            tenants: CommandHandler::new(store, HandlerConfig::default()),
            directory,
            resolver,
            interval,
        }
    }

    /// Runs a round now, then every interval, until `cancel` fires (between domains: each
    /// un-verification is one command, and an interrupted round is simply done again).
    pub async fn run(&self, cancel: CancellationToken) -> Result<(), ReactorError> {
        while !cancel.is_cancelled() {
            let report = self.round(&cancel).await?;
            for (tenant, domain) in &report.unverified {
                tracing::info!(%tenant, domain, "domain un-verified");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = cancel.cancelled() => {}
            }
        }
        Ok(())
    }

    /// Re-checks every verified domain of every tenant once.
    pub async fn round(&self, cancel: &CancellationToken) -> Result<RecheckReport, ReactorError> {
        let mut report = RecheckReport::default();
        let mut after = None;
        loop {
            let page = self.directory.list(&TenantFilter::default(), after, PAGE);
            let Some(last) = page.last() else {
                return Ok(report);
            };
            after = Some(last.id);
            let ids: Vec<AggregateId> = page.iter().map(|t| AggregateId::tenant(t.id)).collect();
            for loaded in self.tenants.states(&ids).await? {
                let tenant = &loaded.state;
                for domain in tenant.domains().values().filter(|d| d.verified) {
                    if cancel.is_cancelled() {
                        return Ok(report);
                    }
                    report.checked += 1;
                    let found = match domain.proof {
                        Some(_) => self.resolver.lookup(&domain.name).await,
                        None => TxtLookup::NotLookedUp,
                    };
                    if self.recheck(tenant.id(), &domain.name, found).await? {
                        let name = domain.name.as_str().to_owned();
                        report.unverified.push((tenant.id(), name));
                    }
                }
            }
        }
    }

    /// Sends `recheck_domain`; whether it un-verified the domain.
    async fn recheck(
        &self,
        tenant: TenantId,
        domain: &DomainName,
        found: TxtLookup,
    ) -> Result<bool, ReactorError> {
        let command = TenantCommand::RecheckDomain(RecheckDomain {
            domain: domain.as_str().to_owned(),
            found,
        });
        let metadata = EventMetadata::new(tenant, Actor::System("domain proof re-check".into()));
        match self
            .tenants
            .execute(AggregateId::tenant(tenant), command, metadata, None)
            .await
        {
            Ok(_) => Ok(true),
            // Still proven, or changed meanwhile (un-verified, removed, tenant decommissioned):
            // nothing to do.
            Err(CommandError::Domain(
                TenantError::Unchanged { .. }
                | TenantError::DomainNotFound { .. }
                | TenantError::Decommissioned,
            )) => Ok(false),
            Err(other) => Err(ReactorError::Command(format!(
                "cannot re-check {domain} of tenant {tenant}: {other}"
            ))),
        }
    }
}
