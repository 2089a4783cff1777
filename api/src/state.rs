//! What every request handler shares.

use crate::key_use::KeyUse;
use crate::metrics::Metrics;
use keel_commands::handler::CommandHandler;
use keel_commands::secrets::SecretKeys;
use keel_domain::billing::{Catalogue, Invoice};
use keel_domain::integration::Integration;
use keel_domain::platform::PlatformKeys;
use keel_domain::policy::Policy;
use keel_domain::tenant::Tenant;
use keel_domain::workflow::{WorkflowDefinition, WorkflowRun};
use keel_projections::audit::{AuditKey, AuditSigner};
use keel_projections::{Directory, Workers};
use keel_reactors::access_denials::AccessDenials;
use keel_reactors::api_calls::ApiCalls;
use keel_reactors::domain_proofs::ChallengeResolver;
use keel_reactors::relay::RelayStatus;
use keel_reactors::Tasks;
use keel_store::{EventLog, EventStore};
use std::sync::Arc;
use std::time::Duration;

/// The application's shared state, registered as `web::Data<AppState>`.
#[derive(Clone)]
pub struct AppState {
    /// The event store.
    pub store: Arc<dyn EventStore>,
    /// The same store, read-only, as the read side takes it.
    pub log: Arc<dyn EventLog>,
    /// Tenant commands.
    pub tenants: CommandHandler<Tenant>,
    /// Platform admin key commands.
    pub platform: CommandHandler<PlatformKeys>,
    /// Policy commands.
    pub policies: CommandHandler<Policy>,
    /// Workflow definition commands.
    pub workflows: CommandHandler<WorkflowDefinition>,
    /// Workflow run commands.
    pub runs: CommandHandler<WorkflowRun>,
    /// Integration commands.
    pub integrations: CommandHandler<Integration>,
    /// Invoice commands (credit notes; the period close finalises).
    pub invoices: CommandHandler<Invoice>,
    /// The plan catalogue (prices, included units, quotas).
    pub catalogue: Arc<Catalogue>,
    /// Signs audit checkpoints and exported heads; `None` when `audit_signing` is off.
    pub audit_signer: Option<Arc<AuditSigner>>,
    /// Keys that encrypt integration secrets at rest; `None` if not configured (then
    /// integrations cannot be registered).
    pub secret_keys: Option<Arc<SecretKeys>>,
    /// Tenants and keys, in memory.
    pub directory: Arc<Directory>,
    /// The projection workers (audit, usage, billing, reports), for read-your-writes waits.
    pub workers: Arc<Workers>,
    /// API calls counted per tenant, flushed as usage periodically.
    pub api_calls: Arc<ApiCalls>,
    /// Access denials of the policy decision endpoint, recorded periodically.
    pub denials: Arc<AccessDenials>,
    /// When each key was last used, recorded periodically.
    pub key_use: Arc<KeyUse>,
    /// Metrics.
    pub metrics: Metrics,
    /// The background tasks (reactors, read side followers), for `/readyz` and `/metrics`.
    pub tasks: Tasks,
    /// Looks up custom domains' challenge records (`dns_nameserver`).
    pub challenges: ChallengeResolver,
    /// The NATS relay's status, if `nats_url` is set.
    pub relay: Option<Arc<RelayStatus>>,
    /// How long a read waits for the read side to reach a requested position.
    pub read_wait: Duration,
}

impl AppState {
    /// The public key audit checkpoints are checked with; `None` when signing is off.
    pub fn audit_key(&self) -> Option<&AuditKey> {
        self.audit_signer.as_deref().map(AuditSigner::public)
    }
}
