//! NATS for tests: a JetStream stream and subject prefix of the test's own on the shared server
//! (deleted when dropped), a private `nats-server` child process for outage tests, and a
//! reader that collects everything a stream holds.

use async_nats::jetstream::{self, consumer, Context};
use futures::StreamExt;
use keel_api::config::Settings;
use keel_projections::published::RelayConfig;
use std::path::Path;
use std::time::Duration;

/// The shared NATS server: `KEEL_TEST_NATS_URL` or the local default.
pub fn nats_server_url() -> String {
    std::env::var("KEEL_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A stream name and subject prefix no other test uses; the stream is deleted when dropped.
pub struct TestStream {
    /// The NATS server.
    pub url: String,
    /// `KEEL_TEST_<uuid>`.
    pub name: String,
    /// `keel_test_<uuid>.events`.
    pub prefix: String,
}

impl TestStream {
    /// A fresh stream on the shared server.
    pub fn new() -> TestStream {
        TestStream::on(nats_server_url())
    }

    /// A fresh stream on the server at `url`.
    pub fn on(url: String) -> TestStream {
        let id = uuid::Uuid::now_v7().simple().to_string();
        TestStream {
            url,
            name: format!("KEEL_TEST_{id}"),
            prefix: format!("keel_test_{id}.events"),
        }
    }

    /// The relay configuration for this stream.
    pub fn relay_config(&self) -> RelayConfig {
        RelayConfig {
            stream: self.name.clone(),
            subject_prefix: self.prefix.clone(),
            ..RelayConfig::new(self.url.clone())
        }
    }

    /// Points a server's settings at this stream.
    pub fn configure(&self, settings: &mut Settings) {
        settings.nats_url = Some(self.url.clone());
        settings.nats_stream = self.name.clone();
        settings.nats_subject_prefix = self.prefix.clone();
    }

    /// A JetStream context on the stream's server. Panics if the server is unreachable: a test
    /// that cannot reach NATS must fail, not skip.
    pub async fn jetstream(&self) -> Context {
        let client = async_nats::connect(&self.url).await.unwrap_or_else(|e| {
            panic!(
                "NATS is not reachable at {}: {e} (scripts/test starts it)",
                self.url
            )
        });
        jetstream::new(client)
    }

    /// How many messages the stream stores.
    pub async fn message_count(&self) -> u64 {
        let js = self.jetstream().await;
        let mut stream = js.get_stream(&self.name).await.expect("the stream exists");
        stream.info().await.expect("stream info").state.messages
    }

    /// Every message on `filter` (a subject under the prefix; `None` for all), in stream order,
    /// read by an ephemeral ordered consumer until `expected` arrived; panics after 30 s.
    pub async fn read(&self, filter: Option<&str>, expected: usize) -> Vec<jetstream::Message> {
        let js = self.jetstream().await;
        let stream = js.get_stream(&self.name).await.expect("the stream exists");
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter.map(str::to_owned).unwrap_or_default(),
                ..Default::default()
            })
            .await
            .expect("create an ordered consumer");
        let mut messages = consumer.messages().await.expect("consume");
        let mut received = Vec::with_capacity(expected);
        while received.len() < expected {
            let next = tokio::time::timeout(Duration::from_secs(30), messages.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("only {} of {expected} messages arrived", received.len())
                })
                .expect("the consumer keeps going")
                .expect("a message");
            received.push(next);
        }
        received
    }
}

impl Default for TestStream {
    fn default() -> Self {
        TestStream::new()
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // As with test databases: Drop may run inside a runtime or while unwinding, so the
        // deletion runs on a thread with its own runtime. A server that is gone (an outage
        // test's private one) has nothing left to delete.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a cleanup runtime");
            runtime.block_on(async {
                let connect = async_nats::ConnectOptions::new()
                    .connection_timeout(Duration::from_secs(2))
                    .connect(&url);
                if let Ok(Ok(client)) = tokio::time::timeout(Duration::from_secs(3), connect).await
                {
                    let _ = jetstream::new(client).delete_stream(&name).await;
                }
            });
        })
        .join();
    }
}

/// A `nats-server -js` child process of one test, on its own port and store directory, that
/// the test can kill and start again (the shared server must never be stopped).
pub struct PrivateNats {
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
    dir: tempfile::TempDir,
    jetstream: bool,
    child: Option<tokio::process::Child>,
}

impl PrivateNats {
    /// Starts a server on a free port; waits until it accepts connections.
    pub async fn start() -> PrivateNats {
        PrivateNats::start_with(true).await
    }

    /// Starts a server without JetStream (no `-js`).
    pub async fn start_without_jetstream() -> PrivateNats {
        PrivateNats::start_with(false).await
    }

    async fn start_with(jetstream: bool) -> PrivateNats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind a free port")
            .local_addr()
            .expect("its address")
            .port();
        let mut server = PrivateNats {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            dir: tempfile::tempdir().expect("a store directory"),
            jetstream,
            child: None,
        };
        server.restart().await;
        server
    }

    /// Starts the server again on the same port and store directory.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let child = spawn_server(self.port, self.dir.path(), self.jetstream);
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not come up on port {}", self.port);
    }

    /// Kills the server outright (SIGKILL) and waits until it is gone.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        child.kill().await.expect("kill nats-server");
    }
}

fn spawn_server(port: u16, dir: &Path, jetstream: bool) -> tokio::process::Child {
    let binary =
        std::env::var("KEEL_TEST_NATS_SERVER").unwrap_or_else(|_| "/usr/sbin/nats-server".into());
    let mut command = tokio::process::Command::new(&binary);
    command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
    if jetstream {
        command.arg("-js").arg("-sd").arg(dir);
    }
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary} (install nats-server): {e}"))
}

/// Runs `relay` in a task of its own, under a lease of its own (a fresh reactor name, so a
/// relay started again in the same test is not kept waiting by the lease of one it aborted).
pub async fn run_relay(
    relay: keel_reactors::relay::Relay,
    store: &std::sync::Arc<dyn keel_store::EventStore>,
) -> tokio::task::JoinHandle<()> {
    let lease = test_lease(store).await;
    tokio::spawn(async move {
        let stop = tokio_util::sync::CancellationToken::new();
        if let Err(error) = relay.run(lease, stop).await {
            panic!("the relay failed: {error}");
        }
    })
}

/// A lease on a reactor name no other test uses, for driving a reactor by hand.
pub async fn test_lease(
    store: &std::sync::Arc<dyn keel_store::EventStore>,
) -> keel_reactors::Lease {
    let name: &'static str = Box::leak(format!("test-{}", uuid::Uuid::now_v7()).into_boxed_str());
    keel_reactors::Leases::new(store.database(), Duration::from_secs(60))
        .try_acquire(name)
        .await
        .expect("the lease table answers")
        .expect("a fresh reactor name is free")
}
