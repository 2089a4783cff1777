//! Building and running the server: open the store, catch up the read side, make sure an admin
//! key exists, start the background tasks, bind, serve until SIGTERM or Ctrl-C.
//!
//! `Application::build` binds before returning (port 0 works), so tests can start a server and
//! read its port. Every background task (the tenant directory's follower, the projection
//! workers, the reactors) runs under one [`Tasks`]: one cancellation token and task tracker,
//! restarts with backoff, states on `/readyz` and `/metrics`. On SIGTERM or SIGINT actix-web
//! stops accepting connections and lets in-flight requests finish (commands run in their own
//! tasks, so none is left half-handled); then the token is cancelled, each task finishes or
//! abandons its batch (an abandoned one is redone by the next run, never lost), and the
//! process waits for them at most [`STOP_BOUND`].

use crate::auth::token;
use crate::body::BodyLimit;
use crate::config::Settings;
use crate::database::{open_store, Missing};
use crate::error::ApiError;
use crate::idempotency::idempotency as idempotency_middleware;
use crate::idempotency::records::IdempotencyStore;
use crate::key_use::KeyUse;
use crate::metrics::Metrics;
use crate::observe::observe;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::state::AppState;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpServer, ResponseError};
use anyhow::Context;
use futures::future::BoxFuture;
use futures::FutureExt;
use keel_commands::handler::{CommandHandler, HandlerConfig};
use keel_domain::billing::Catalogue;
use keel_domain::platform::{platform_keys_id, PlatformCommand};
use keel_domain::{Actor, TenantId};
use keel_projections::audit::AuditSigner;
use keel_projections::{Directory, Workers};
use keel_reactors::access_denials::AccessDenials;
use keel_reactors::api_calls::ApiCalls;
use keel_reactors::billing_close::Closer;
use keel_reactors::domain_proofs::{ChallengeResolver, Recheck};
use keel_reactors::flush::Flush;
use keel_reactors::relay::Relay;
use keel_reactors::timers::TimersReactor;
use keel_reactors::{Leases, ReactorError, Tasks};
use keel_store::{EventLog, EventMetadata, EventStore};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use uuid::Uuid;

/// How long a stopping server waits for its background tasks to finish their batches.
pub const STOP_BOUND: Duration = Duration::from_secs(15);

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// Every background task.
    tasks: Tasks,
    /// The KurrentDB gRPC protocol server, unless switched off.
    grpc: Option<crate::grpc::GrpcServer>,
    /// The tenant command handler the routes use (a clone: clones share the cache).
    tenants: CommandHandler<keel_domain::tenant::Tenant>,
    /// The admin key generated on this start, if one was (printed once by `keel serve`).
    pub generated_admin_key: Option<String>,
}

impl Application {
    /// Opens the store, prepares the read side and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = open_store(
            &settings.database_url,
            settings.database_connections,
            Missing::Create,
        )
        .await?;

        let log: Arc<dyn EventLog> = store.clone();
        let tasks = Tasks::new();
        let directory = Directory::new();
        catch_up(&directory, &*store).await?;
        {
            let (directory, log) = (directory.clone(), log.clone());
            tasks.spawn(
                "directory",
                Box::new(move |cancel| {
                    let (directory, log) = (directory.clone(), log.clone());
                    async move { follow(directory, log, cancel).await }.boxed()
                }),
            );
        }
        let catalogue = Arc::new(settings.catalogue()?);
        let audit_signer = settings.audit_signer(true)?;
        match &audit_signer {
            Some(signer) => {
                tracing::info!(key_id = %signer.public().key_id, "audit checkpoints are signed")
            }
            None => tracing::warn!("audit_signing is off: audit checkpoints are unsigned"),
        }
        // Every projection's tables, also those run elsewhere: queries read them all.
        keel_projections::setup(&log)
            .await
            .context("cannot set up the read models")?;
        let workers = Arc::new(
            Workers::start_on(
                log.clone(),
                in_process_projections(&settings, &catalogue, &audit_signer)?,
                tasks.tracker(),
                tasks.token(),
            )
            .await
            .context("cannot start the projection workers")?,
        );
        let leases = Leases::new(store.database(), settings.reactor_lease());
        let relay = start_relay(&settings, &log).await?;
        let challenges = ChallengeResolver::new(settings.dns_nameserver)?;
        let recheck = Recheck::new(
            store.clone(),
            directory.clone(),
            challenges.clone(),
            settings.domain_recheck(),
        );
        start_reactors(&tasks, &leases, &store, &catalogue, relay.clone(), recheck);

        let api_calls = Arc::new(ApiCalls::default());
        let denials = Arc::new(AccessDenials::default());
        let key_use = Arc::new(KeyUse::default());
        let flushers: [(&'static str, Arc<dyn Flush>); 3] = [
            ("api_calls_flush", api_calls.clone()),
            ("access_denials_flush", denials.clone()),
            ("key_use_flush", key_use.clone()),
        ];
        for (name, what) in flushers {
            let (store, interval) = (store.clone(), settings.usage_flush());
            tasks.spawn(
                name,
                Box::new(move |cancel| {
                    keel_reactors::flush::run(what.clone(), store.clone(), interval, cancel).boxed()
                }),
            );
        }
        let state = AppState {
            tenants: CommandHandler::new(store.clone(), HandlerConfig::default()),
            platform: CommandHandler::new(store.clone(), HandlerConfig::default()),
            policies: CommandHandler::new(store.clone(), HandlerConfig::default()),
            workflows: CommandHandler::new(store.clone(), HandlerConfig::default()),
            runs: CommandHandler::new(store.clone(), HandlerConfig::default()),
            integrations: CommandHandler::new(store.clone(), HandlerConfig::default()),
            invoices: CommandHandler::new(store.clone(), HandlerConfig::default()),
            catalogue,
            audit_signer,
            secret_keys: settings.secret_keys()?.map(Arc::new),
            store,
            log,
            directory,
            workers,
            api_calls,
            denials,
            key_use,
            metrics: Metrics::new(),
            read_wait: settings.read_wait(),
            tasks: tasks.clone(),
            challenges,
            relay: relay.as_ref().map(|relay| relay.status()),
        };
        let generated_admin_key = ensure_admin_key(&state, &settings).await?;

        let grpc = match settings.grpc_listen()? {
            Some(address) => Some(
                crate::grpc::GrpcServer::start(
                    address,
                    settings.grpc_tls()?,
                    state.store.clone(),
                    state.directory.clone(),
                    state.api_calls.clone(),
                    state.key_use.clone(),
                )
                .await?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let tenants = state.tenants.clone();
        let server = serve(listener, state, BodyLimit(settings.body_limit_bytes))?;
        Ok(Application {
            port,
            server,
            tasks,
            grpc,
            tenants,
            generated_admin_key,
        })
    }

    /// A handle to stop the server gracefully (what SIGTERM does): stop accepting, let
    /// in-flight requests finish.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The tenant command handler behind the HTTP routes, with their store and cache: what
    /// the HTTP benchmark drives directly, so the two differ by the HTTP layer alone.
    pub fn tenant_handler(&self) -> CommandHandler<keel_domain::tenant::Tenant> {
        self.tenants.clone()
    }

    /// The port the gRPC protocol is served on, unless switched off.
    pub fn grpc_port(&self) -> Option<u16> {
        self.grpc.as_ref().map(|g| g.port())
    }

    /// Serves until SIGTERM or Ctrl-C (or the server fails), then stops the gRPC server
    /// (ending live subscriptions) and every background task: the projection workers finish
    /// their batch, the relay settles what it has in flight, the flushes append what was
    /// counted, each within [`STOP_BOUND`].
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(grpc) = self.grpc {
            grpc.stop().await;
        }
        if !self.tasks.shutdown(STOP_BOUND).await {
            tracing::warn!(bound = ?STOP_BOUND, "background tasks did not stop in time; exiting");
        }
        result
    }
}

fn serve(listener: TcpListener, state: AppState, limit: BodyLimit) -> anyhow::Result<Server> {
    let directory = state.directory.clone();
    let metrics = state.metrics.clone();
    let idempotency = web::Data::new(IdempotencyStore::new(state.store.database()));
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        let (app, api) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .app_data(state.clone())
            .app_data(web::Data::new(directory.clone()))
            .app_data(web::Data::new(metrics.clone()))
            .app_data(web::Data::new(limit))
            .app_data(idempotency.clone())
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                ApiError::BadRequest {
                    detail: format!("invalid query: {error}"),
                    field: None,
                }
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|error, _| {
                ApiError::BadRequest {
                    detail: format!("invalid path parameter: {error}"),
                    field: None,
                }
                .into()
            }))
            .configure(routes::configure)
            .split_for_parts();
        // The routes' paths are known once the app is assembled: the error responses they
        // share are added to the document then, once per worker.
        let mut api = api;
        crate::openapi::document_problems(&mut api);
        let api = web::Data::new(api);
        app.app_data(api)
            .default_service(web::to(|| async { ApiError::not_found().error_response() }))
            .wrap(from_fn(idempotency_middleware))
            .wrap(ErrorHandlers::new().default_handler(problem_for_any_error))
            .wrap(from_fn(observe))
    })
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Turns any error response that is not already a problem document (one produced by actix
/// itself, say) into one, so every error a client sees has the same shape.
fn problem_for_any_error<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let error = match status.as_u16() {
        404 => ApiError::not_found(),
        413 => ApiError::PayloadTooLarge(0),
        400..=499 => ApiError::BadRequest {
            detail: status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_lowercase(),
            field: None,
        },
        _ => ApiError::Internal(anyhow::anyhow!("{status} from the framework")),
    };
    let mut problem = error.error_response();
    *problem.status_mut() = status;
    let (request, _) = response.into_parts();
    let response: ServiceResponse<EitherBody<B, BoxBody>> =
        ServiceResponse::new(request, problem).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(response))
}

/// Folds the whole log into the directory before serving, so that every key works at once.
async fn catch_up(directory: &Directory, store: &dyn EventStore) -> anyhow::Result<()> {
    loop {
        let events = store.read_all(directory.position(), 5000).await?;
        if events.is_empty() {
            return Ok(());
        }
        for event in &events {
            directory.apply(event);
        }
    }
}

/// Follows the log for the directory until `cancel` fires; a store failure ends the task, for
/// the supervisor to report and start it again.
async fn follow(
    directory: Arc<Directory>,
    log: Arc<dyn EventLog>,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<(), ReactorError> {
    tokio::select! {
        result = directory.follow(log) => result.map_err(ReactorError::from),
        _ = cancel.cancelled() => Ok(()),
    }
}

/// Starts the reactors, each in whichever process holds its lease: the billing period close,
/// the quota alerts, the re-check of verified domains, the timers and, if `nats_url` is set,
/// the NATS relay.
fn start_reactors(
    tasks: &Tasks,
    leases: &Leases,
    store: &Arc<dyn EventStore>,
    catalogue: &Arc<Catalogue>,
    relay: Option<Arc<Relay>>,
    recheck: Recheck,
) {
    let closer = Closer::new(store.clone(), catalogue.clone());
    spawn_rounds(tasks, leases, "billing_close", closer, |closer, cancel| {
        async move { closer.run(cancel).await }.boxed()
    });
    spawn_rounds(
        tasks,
        leases,
        "domain_recheck",
        recheck,
        |recheck, cancel| async move { recheck.run(cancel).await }.boxed(),
    );
    let alerts_store = store.clone();
    tasks.spawn_leased(
        "quota_alerts",
        leases.clone(),
        Box::new(move |_lease, cancel| {
            keel_reactors::quota_alerts::run(alerts_store.clone(), cancel).boxed()
        }),
    );
    let timers = Arc::new(TimersReactor::new(store.clone()));
    tasks.spawn_leased(
        keel_reactors::timers::REACTOR,
        leases.clone(),
        Box::new(move |lease, cancel| {
            let timers = timers.clone();
            async move { timers.run(lease, cancel).await }.boxed()
        }),
    );
    if let Some(relay) = relay {
        tasks.spawn_leased(
            "relay",
            leases.clone(),
            Box::new(move |lease, cancel| {
                let relay = relay.clone();
                async move { relay.run(lease, cancel).await }.boxed()
            }),
        );
    }
}

/// Spawns `reactor` as the leased task `name`, each start running `run` on it.
fn spawn_rounds<R: Send + Sync + 'static>(
    tasks: &Tasks,
    leases: &Leases,
    name: &'static str,
    reactor: R,
    run: fn(
        Arc<R>,
        tokio_util::sync::CancellationToken,
    ) -> BoxFuture<'static, Result<(), ReactorError>>,
) {
    let reactor = Arc::new(reactor);
    tasks.spawn_leased(
        name,
        leases.clone(),
        Box::new(move |_lease, cancel| run(reactor.clone(), cancel)),
    );
}

/// The projections this server runs: all but the `external_projections`, which `keel
/// project` processes fold. (Both running one would be safe, since a batch applies only where
/// its checkpoint still is, but wasteful.) Their tables are set up all the same, so queries
/// and status work before the external process first starts.
fn in_process_projections(
    settings: &Settings,
    catalogue: &Arc<Catalogue>,
    audit_signer: &Option<Arc<AuditSigner>>,
) -> anyhow::Result<Vec<Arc<dyn keel_projections::Projection>>> {
    let external = settings.external_projections()?;
    if !external.is_empty() {
        tracing::info!(projections = ?external, "projections left to `keel project` processes");
    }
    Ok(
        keel_projections::registry_with(catalogue.clone(), audit_signer.clone())
            .into_iter()
            .filter(|p| !external.iter().any(|name| name == p.name()))
            .collect(),
    )
}

/// Connects the NATS relay if `nats_url` is set; refuses to start if NATS is unreachable or
/// has no JetStream, or the stream cannot be set up.
async fn start_relay(
    settings: &Settings,
    log: &Arc<dyn EventLog>,
) -> anyhow::Result<Option<Arc<Relay>>> {
    let Some(config) = settings.relay_config()? else {
        return Ok(None);
    };
    let relay = Relay::start(config, log.clone())
        .await
        .context("cannot start publishing events to NATS (nats_url is set)")?;
    Ok(Some(Arc::new(relay)))
}

/// Registers the configured admin key, or on a first start without one generates a key and
/// returns it (to be printed once). Only its hash is stored.
async fn ensure_admin_key(state: &AppState, settings: &Settings) -> anyhow::Result<Option<String>> {
    let (token, generated) = match &settings.admin_key {
        Some(key) => {
            let token = token::from_token(key.expose_secret().to_owned());
            if state.directory.key_by_hash(&token.hash).is_some() {
                return Ok(None);
            }
            (token, false)
        }
        None if state.directory.has_admin_key() => return Ok(None),
        None => (token::generate(), true),
    };
    let command = PlatformCommand::IssueAdminKey {
        key_id: Uuid::now_v7(),
        name: if generated { "bootstrap" } else { "configured" }.into(),
        prefix: token.prefix.clone(),
        secret_hash: token.hash.clone(),
    };
    let metadata = EventMetadata::new(TenantId::PLATFORM, Actor::System("keel serve".into()));
    let outcome = state
        .platform
        .execute(platform_keys_id(), command, metadata, None)
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the admin key: {e}"))?;
    if let Some(position) = outcome.global_position {
        state
            .directory
            .wait_for(position, std::time::Duration::from_secs(10))
            .await;
    }
    Ok(generated.then_some(token.token))
}
