//! What every request handler shares.

use crate::metrics::Metrics;
use keel_commands::handler::CommandHandler;
use keel_commands::store::EventStore;
use keel_domain::platform::PlatformKeys;
use keel_domain::tenant::Tenant;
use keel_projections::Directory;
use std::sync::Arc;
use std::time::Duration;

/// The application's shared state, registered as `web::Data<AppState>`.
#[derive(Clone)]
pub struct AppState {
    /// The event store.
    pub store: Arc<dyn EventStore>,
    /// Tenant commands.
    pub tenants: CommandHandler<Tenant>,
    /// Platform admin key commands.
    pub platform: CommandHandler<PlatformKeys>,
    /// Tenants and keys, in memory.
    pub directory: Arc<Directory>,
    /// Metrics.
    pub metrics: Metrics,
    /// How long a read waits for the read side to reach a requested position.
    pub read_wait: Duration,
}
