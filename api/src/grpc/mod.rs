//! The KurrentDB (EventStoreDB) v1 gRPC client protocol, served by `keel serve` beside the
//! HTTP API (cleartext HTTP/2, the clients' `esdb://...?tls=false`), so that the official
//! clients read and write Keel's store.
//!
//! - [`proto`]: the messages, generated from `api/proto/` (written for Keel from the
//!   protocol's public description).
//! - [`auth`] and [`names`]: basic-auth credentials whose password is a Keel API key; how a
//!   client's stream names map to tenant-scoped Keel streams.
//! - [`payload`] and [`convert`]: how client events are stored as ordinary Keel events, and
//!   how stored events look to clients.
//! - [`streams`]: the Streams service; [`filter`]: server-side filters.
//! - [`features`]: ServerFeatures; [`unoffered`]: `UNIMPLEMENTED` for the rest.
//! - [`connection`]: the accepted connections (prompt ACKs for clients that leave Nagle on).

pub mod auth;
pub mod connection;
pub mod convert;
pub mod error;
pub mod features;
pub mod filter;
pub mod names;
pub mod payload;
pub mod proto;
pub mod streams;
pub mod unoffered;

use crate::key_use::KeyUse;
use anyhow::Context as _;
use futures::TryStreamExt as _;
use keel_projections::Directory;
use keel_reactors::api_calls::ApiCalls;
use keel_store::EventStore;
use proto::server_features::server_features_server::ServerFeaturesServer;
use proto::streams::streams_server::StreamsServer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Largest message accepted (one proposed event of an append, one batch chunk).
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How long stopping waits for calls in flight before dropping them.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What every gRPC call needs.
#[derive(Clone)]
pub struct GrpcContext {
    /// The event store.
    pub store: Arc<dyn EventStore>,
    /// Writes client events to it.
    pub appender: Arc<streams::append::Appender>,
    /// The API keys.
    pub directory: Arc<Directory>,
    /// The tenants' metered API calls.
    pub api_calls: Arc<ApiCalls>,
    /// When each key was last used.
    pub key_use: Arc<KeyUse>,
    /// Becomes `true` when the server stops: live subscriptions end.
    pub stop: watch::Receiver<bool>,
}

/// A running gRPC server.
pub struct GrpcServer {
    port: u16,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl GrpcServer {
    /// Binds `address` and serves the protocol until [`GrpcServer::stop`]; over TLS when
    /// `tls` holds a PEM certificate chain and private key.
    pub async fn start(
        address: SocketAddr,
        tls: Option<crate::config::GrpcTls>,
        store: Arc<dyn EventStore>,
        directory: Arc<Directory>,
        api_calls: Arc<ApiCalls>,
        key_use: Arc<KeyUse>,
    ) -> anyhow::Result<GrpcServer> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for gRPC on {address}"))?;
        let port = listener.local_addr()?.port();
        let (stop, stopped) = watch::channel(false);
        let context = GrpcContext {
            appender: Arc::new(streams::append::Appender::new(store.clone())),
            store,
            directory,
            api_calls,
            key_use,
            stop: stopped.clone(),
        };
        let streams = StreamsServer::new(streams::StreamsService::new(context))
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let mut builder = tonic::transport::Server::builder();
        if let Some(crate::config::GrpcTls { cert, key }) = tls {
            // The process-wide provider, unless one is installed already (then that one).
            let _ = rustls::crypto::ring::default_provider().install_default();
            let identity = tonic::transport::Identity::from_pem(cert, key);
            builder = builder
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                .context("the gRPC TLS certificate or key is not valid PEM")?;
        }
        let router = builder
            .layer(unoffered::UnofferedLayer)
            .add_service(streams)
            .add_service(ServerFeaturesServer::new(features::FeaturesService));
        // The builder's `tcp_nodelay` applies only to listeners it binds itself: without it
        // on these connections, small replies wait for delayed ACKs (about 40 ms each).
        let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
            .map_err(|e| anyhow::anyhow!("cannot serve gRPC on {address}: {e}"))?
            .map_ok(connection::Connection::from);
        let mut shutdown = stopped;
        let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        }));
        tracing::info!(%address, port, "serving the KurrentDB gRPC client protocol");
        Ok(GrpcServer { port, stop, task })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops accepting calls, ends live subscriptions, and waits (a bounded time) for the
    /// calls in flight.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let abort = self.task.abort_handle();
        match tokio::time::timeout(STOP_GRACE, self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::error!(%error, "the gRPC server failed"),
            Ok(Err(error)) => tracing::error!(%error, "the gRPC server panicked"),
            Err(_) => {
                tracing::warn!("gRPC calls still running after the grace period; dropped");
                abort.abort();
            }
        }
    }
}
