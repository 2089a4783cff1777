//! Why the relay could not start or stopped a batch.

/// A relay failure. Start-up failures stop `keel serve`; failures while running are retried
/// by the relay from its checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The NATS server could not be reached.
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        /// The configured URL.
        url: String,
        /// The client's error.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The server answers but has no JetStream (start it with `-js`).
    #[error("the NATS server at {url} has no JetStream (start nats-server with -js): {detail}")]
    NoJetStream {
        /// The configured URL.
        url: String,
        /// What the server said.
        detail: String,
    },
    /// The stream could not be created or updated to the configuration.
    #[error("cannot create or update the JetStream stream `{stream}`: {detail}")]
    Stream {
        /// The configured stream name.
        stream: String,
        /// What the server said.
        detail: String,
    },
    /// Reading the log or the checkpoint failed.
    #[error("the relay's database access failed: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading the event log failed.
    #[error("the relay cannot read the event log: {0}")]
    Store(#[from] keel_log::StoreError),
    /// A publish was not acknowledged.
    #[error("publishing to JetStream failed: {0}")]
    Publish(String),
}
