//! Configuration: defaults, then a TOML file, then `KEEL_*` environment variables, validated
//! once at start with errors that name the setting.
//!
//! | setting | env | default |
//! |---|---|---|
//! | `listen` | `KEEL_LISTEN` | `127.0.0.1:8080` |
//! | `database_url` | `KEEL_DATABASE_URL` | `sqlite://./data/keel.db` |
//! | `database_connections` | `KEEL_DATABASE_CONNECTIONS` | `16` |
//! | `nats_url` | `KEEL_NATS_URL` | unset (no publishing); set: the relay publishes to JetStream |
//! | `nats_stream` | `KEEL_NATS_STREAM` | `KEEL_EVENTS` |
//! | `nats_subject_prefix` | `KEEL_NATS_SUBJECT_PREFIX` | `keel.events` |
//! | `nats_duplicate_window_secs` | `KEEL_NATS_DUPLICATE_WINDOW_SECS` | `120` |
//! | `nats_replicas` | `KEEL_NATS_REPLICAS` | `1` |
//! | `nats_retention` | `KEEL_NATS_RETENTION` | `limits` (or `interest`, `workqueue`) |
//! | `nats_max_age_secs` | `KEEL_NATS_MAX_AGE_SECS` | `0` (kept for ever) |
//! | `nats_body_format` | `KEEL_NATS_BODY_FORMAT` | `msgpack` (or `json`) |
//! | `nats_batch` | `KEEL_NATS_BATCH` | `1000` (events per relay batch) |
//! | `log_level` | `KEEL_LOG_LEVEL` | `info` (an `EnvFilter` directive) |
//! | `log_format` | `KEEL_LOG_FORMAT` | `text` (or `json`) |
//! | `admin_key` | `KEEL_ADMIN_KEY` | unset: generated and printed on first start |
//! | `secret_keys` | `KEEL_SECRET_KEYS` | unset: integrations cannot be registered |
//! | `body_limit_bytes` | `KEEL_BODY_LIMIT_BYTES` | `1048576` |
//! | `read_wait_ms` | `KEEL_READ_WAIT_MS` | `2000` (read-your-writes bound) |
//! | `usage_flush_ms` | `KEEL_USAGE_FLUSH_MS` | `10000` (how often counted `api_calls`, collected access denials and keys' last use are written) |
//! | `reactor_lease_ms` | `KEEL_REACTOR_LEASE_MS` | `10000` (how long a process's lease on a reactor lasts unless renewed: after a crash, another process takes the reactor over within it) |
//! | `plan_catalogue` | `KEEL_PLAN_CATALOGUE` | unset: the built-in catalogue; else a TOML file of plan prices and quotas |
//! | `external_projections` | `KEEL_EXTERNAL_PROJECTIONS` | empty: every projection runs in the server; `usage,audit`: those run in `keel project` processes |
//! | `grpc_listen` | `KEEL_GRPC_LISTEN` | `127.0.0.1:2113` (the KurrentDB gRPC client protocol); `off`: not served |
//! | `grpc_tls_cert` | `KEEL_GRPC_TLS_CERT` | unset: cleartext HTTP/2; set (with `grpc_tls_key`): a PEM certificate chain, gRPC over TLS |
//! | `grpc_tls_key` | `KEEL_GRPC_TLS_KEY` | unset; the PEM private key of `grpc_tls_cert` |
//! | `dns_nameserver` | `KEEL_DNS_NAMESERVER` | unset: the system's resolvers; `127.0.0.1:5353`: the name server that custom domains' challenge records are looked up at |
//! | `domain_recheck_secs` | `KEEL_DOMAIN_RECHECK_SECS` | `86400` (how often verified custom domains are re-checked) |
//! | `audit_signing` | `KEEL_AUDIT_SIGNING` | `on` (audit checkpoints signed with Ed25519); `off`: unsigned, and said so |
//! | `audit_signing_key_file` | `KEEL_AUDIT_SIGNING_KEY_FILE` | unset: on SQLite `audit-signing-key.pem` beside the database file (generated, mode 0600); on PostgreSQL required unless `audit_signing = off`. A PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`) |

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use keel_commands::secrets::SecretKeys;
use keel_domain::billing::Catalogue;
use keel_projections::audit::sign::generate_key_file;
use keel_projections::audit::AuditSigner;
use keel_projections::usage::meters::meter_names;
use keel_reactors::relay::{BodyFormat, RelayConfig, Retention};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The audit signing key's file beside an embedded SQLite database, when none is configured.
pub const DEFAULT_AUDIT_KEY_FILE: &str = "audit-signing-key.pem";

/// The settings `KEEL_*` variables may set. Other `KEEL_*` variables (of tests, tools) are
/// not settings of the server and are ignored.
const ENV_SETTINGS: [&str; 29] = [
    "listen",
    "database_url",
    "database_connections",
    "nats_url",
    "nats_stream",
    "nats_subject_prefix",
    "nats_duplicate_window_secs",
    "nats_replicas",
    "nats_retention",
    "nats_max_age_secs",
    "nats_body_format",
    "nats_batch",
    "log_level",
    "log_format",
    "admin_key",
    "secret_keys",
    "body_limit_bytes",
    "read_wait_ms",
    "usage_flush_ms",
    "reactor_lease_ms",
    "plan_catalogue",
    "external_projections",
    "grpc_listen",
    "grpc_tls_cert",
    "grpc_tls_key",
    "dns_nameserver",
    "domain_recheck_secs",
    "audit_signing",
    "audit_signing_key_file",
];

/// Keel's server settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// `sqlite://<file>` (embedded default) or `postgres://...`.
    pub database_url: String,
    /// Database connections in the pool for reads and read models; the event store keeps a
    /// few more for its writer and its own reads.
    pub database_connections: u32,
    /// NATS server to publish events to; unset: events are not published.
    pub nats_url: Option<String>,
    /// The JetStream stream Keel creates or updates and publishes into.
    pub nats_stream: String,
    /// Subjects are `<prefix>.<tenant_id>.<aggregate>.<fact>`.
    pub nats_subject_prefix: String,
    /// JetStream de-duplication window, in seconds.
    pub nats_duplicate_window_secs: u64,
    /// Stream replicas (1 to 5).
    pub nats_replicas: usize,
    /// `limits`, `interest` or `workqueue`.
    pub nats_retention: String,
    /// How long messages are kept (limits retention), in seconds; 0 keeps them for ever.
    pub nats_max_age_secs: u64,
    /// Message body: `msgpack` (the stored bytes) or `json`.
    pub nats_body_format: String,
    /// Events the relay reads and publishes per batch (acks are awaited per batch).
    pub nats_batch: usize,
    /// Log filter, e.g. `info` or `keel=debug,actix_web=info`.
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A platform admin key to accept (and register on first start); never printed.
    #[serde(serialize_with = "never_serialize_secret")]
    pub admin_key: Option<SecretString>,
    /// Keys that encrypt integration secrets: `keyid:base64-32-bytes`, comma-separated, the
    /// first one current (older ones still decrypt, for rotation). Never printed.
    #[serde(serialize_with = "never_serialize_secret")]
    pub secret_keys: Option<SecretString>,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long a query waits for the read side to reach a requested position.
    pub read_wait_ms: u64,
    /// How often the API appends the `api_calls` it counted and the access denials it collected
    /// (one event of each per tenant).
    pub usage_flush_ms: u64,
    /// How long a lease on a reactor lasts unless renewed (it is renewed every third of it):
    /// after a crash, another process takes the reactor over within it. 1,000 to 600,000.
    pub reactor_lease_ms: u64,
    /// A TOML file with every plan's prices, included units and quotas; unset: the built-in
    /// catalogue (see `keel_domain::billing::catalogue`).
    pub plan_catalogue: Option<PathBuf>,
    /// Projections the server does not run, comma-separated (`usage,audit`): `keel project`
    /// processes fold them. Queries still serve them, waiting on their checkpoint rows.
    pub external_projections: String,
    /// Address the KurrentDB (EventStoreDB) gRPC client protocol is served on (cleartext
    /// HTTP/2, port 0 picks a free one), or `off`.
    pub grpc_listen: String,
    /// A PEM certificate chain: with `grpc_tls_key`, gRPC is served over TLS (the clients'
    /// default `tls=true`); unset, over cleartext HTTP/2 (`tls=false`).
    pub grpc_tls_cert: Option<PathBuf>,
    /// The PEM private key of `grpc_tls_cert`.
    pub grpc_tls_key: Option<PathBuf>,
    /// The name server (`ip:port`) custom domains' challenge records are looked up at;
    /// unset: the system's resolvers.
    pub dns_nameserver: Option<SocketAddr>,
    /// How often every verified custom domain's proof is checked again, in seconds (at
    /// least 1).
    pub domain_recheck_secs: u64,
    /// `on` or `off`: whether audit checkpoints are signed.
    pub audit_signing: String,
    /// The audit signing key (PKCS#8 PEM); see [`Settings::audit_signer`].
    pub audit_signing_key_file: Option<PathBuf>,
}

/// The gRPC server's TLS identity, as PEM.
#[derive(Debug, Clone)]
pub struct GrpcTls {
    /// The certificate chain.
    pub cert: Vec<u8>,
    /// The private key.
    pub key: Vec<u8>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://./data/keel.db".into(),
            database_connections: 16,
            nats_url: None,
            nats_stream: "KEEL_EVENTS".into(),
            nats_subject_prefix: "keel.events".into(),
            nats_duplicate_window_secs: 120,
            nats_replicas: 1,
            nats_retention: "limits".into(),
            nats_max_age_secs: 0,
            nats_body_format: "msgpack".into(),
            nats_batch: 1000,
            log_level: "info".into(),
            log_format: LogFormat::Text,
            admin_key: None,
            secret_keys: None,
            body_limit_bytes: 1024 * 1024,
            read_wait_ms: 2000,
            usage_flush_ms: 10_000,
            reactor_lease_ms: 10_000,
            plan_catalogue: None,
            external_projections: String::new(),
            grpc_listen: "127.0.0.1:2113".into(),
            grpc_tls_cert: None,
            grpc_tls_key: None,
            dns_nameserver: None,
            domain_recheck_secs: 24 * 60 * 60,
            audit_signing: "on".into(),
            audit_signing_key_file: None,
        }
    }
}

fn never_serialize_secret<S: serde::Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // Defaults are serialized into the figment; a secret only ever comes in, never goes out.
    match secret {
        Some(_) => serializer.serialize_some("[redacted]"),
        None => serializer.serialize_none(),
    }
}

/// A setting that is missing, malformed or out of range.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or parsed.
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value parsed but breaks a rule.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// The setting's name (as in the file; the env var is `KEEL_` + upper case).
        setting: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Settings {
    /// Loads settings: defaults, then `file` if given (it must exist), then `KEEL_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid {
                    setting: "config file",
                    reason: format!("{} does not exist", file.display()),
                });
            }
            figment = figment.merge(Toml::file(file));
        }
        let mut settings: Settings = figment
            .merge(Env::prefixed("KEEL_").only(&ENV_SETTINGS))
            .extract()
            .map_err(Box::new)?;
        // The serialized default of a secret is a placeholder, not a key.
        for secret in [&mut settings.admin_key, &mut settings.secret_keys] {
            if secret
                .as_ref()
                .is_some_and(|k| k.expose_secret() == "[redacted]")
            {
                *secret = None;
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every rule a value must satisfy beyond its type.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason: &str| {
            Err(ConfigError::Invalid {
                setting,
                reason: reason.to_owned(),
            })
        };
        let url = self.database_url.as_str();
        if !(url.starts_with("sqlite://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("database_url", "use sqlite://<file> or postgres://...");
        }
        if self.database_connections == 0 {
            return invalid("database_connections", "must be at least 1");
        }
        self.relay_config()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return invalid(
                "log_level",
                "not a log filter such as `info` or `keel=debug`",
            );
        }
        if !(1_000..=600_000).contains(&self.reactor_lease_ms) {
            return invalid("reactor_lease_ms", "must be 1000-600000");
        }
        if self.domain_recheck_secs == 0 {
            return invalid("domain_recheck_secs", "must be at least 1");
        }
        if self.body_limit_bytes < 1024 {
            return invalid("body_limit_bytes", "must be at least 1024");
        }
        if let Some(key) = &self.admin_key {
            if !crate::auth::token::looks_like_token(key.expose_secret()) {
                return invalid(
                    "admin_key",
                    "must look like a Keel key: `keel_` followed by at least 32 letters, digits, '-' or '_'",
                );
            }
        }
        self.secret_keys()?;
        self.catalogue()?;
        self.external_projections()?;
        self.grpc_listen()?;
        self.grpc_tls()?;
        self.audit_signing_on()?;
        Ok(())
    }

    /// Whether `audit_signing` is `on`.
    fn audit_signing_on(&self) -> Result<bool, ConfigError> {
        match self.audit_signing.trim() {
            s if s.eq_ignore_ascii_case("on") => Ok(true),
            s if s.eq_ignore_ascii_case("off") => Ok(false),
            other => Err(ConfigError::Invalid {
                setting: "audit_signing",
                reason: format!("`{other}` is neither `on` nor `off`"),
            }),
        }
    }

    /// The key that signs audit checkpoints: `None` when `audit_signing` is `off`. Otherwise
    /// `audit_signing_key_file`, or on SQLite `audit-signing-key.pem` beside the database
    /// file, generated (mode 0600) when `generate` and it does not exist yet (`None` when it
    /// does not and not `generate`). On PostgreSQL the key must be configured: every node
    /// must sign with the same key, so none may make up its own.
    pub fn audit_signer(&self, generate: bool) -> Result<Option<Arc<AuditSigner>>, ConfigError> {
        if !self.audit_signing_on()? {
            return Ok(None);
        }
        let invalid = |reason: String| ConfigError::Invalid {
            setting: "audit_signing_key_file",
            reason,
        };
        let read = |path: &Path| {
            AuditSigner::read_pem_file(path)
                .map(|signer| Some(Arc::new(signer)))
                .map_err(|e| invalid(e.to_string()))
        };
        if let Some(path) = &self.audit_signing_key_file {
            return read(path);
        }
        let Some(database) = crate::database::sqlite_path(&self.database_url) else {
            return Err(invalid(
                "on PostgreSQL set the file of the Ed25519 key that signs audit checkpoints, or set `audit_signing = off`".into(),
            ));
        };
        let path = Path::new(database)
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(DEFAULT_AUDIT_KEY_FILE);
        if path.exists() {
            read(&path)
        } else if generate {
            generate_key_file(&path)
                .map(|signer| Some(Arc::new(signer)))
                .map_err(|e| invalid(e.to_string()))
        } else {
            Ok(None)
        }
    }

    /// The gRPC server's certificate chain and private key, if TLS is configured.
    pub fn grpc_tls(&self) -> Result<Option<GrpcTls>, ConfigError> {
        let read = |setting: &'static str, path: &Path| {
            std::fs::read(path).map_err(|e| ConfigError::Invalid {
                setting,
                reason: format!("cannot read {}: {e}", path.display()),
            })
        };
        match (&self.grpc_tls_cert, &self.grpc_tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(GrpcTls {
                cert: read("grpc_tls_cert", cert)?,
                key: read("grpc_tls_key", key)?,
            })),
            (Some(_), None) | (None, Some(_)) => Err(ConfigError::Invalid {
                setting: "grpc_tls_cert",
                reason: "set both grpc_tls_cert and grpc_tls_key, or neither".into(),
            }),
        }
    }

    /// The address to serve gRPC on; `None` when `grpc_listen` is `off`.
    pub fn grpc_listen(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let value = self.grpc_listen.trim();
        if value.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        value.parse().map(Some).map_err(|_| ConfigError::Invalid {
            setting: "grpc_listen",
            reason: format!("`{value}` is neither `host:port` (an IP address) nor `off`"),
        })
    }

    /// The plan catalogue: the `plan_catalogue` file, parsed and checked against the meters
    /// Keel measures, or the built-in one.
    pub fn catalogue(&self) -> Result<Catalogue, ConfigError> {
        let Some(path) = &self.plan_catalogue else {
            return Ok(Catalogue::builtin());
        };
        let invalid = |reason: String| ConfigError::Invalid {
            setting: "plan_catalogue",
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        let catalogue = Catalogue::parse(&text)
            .and_then(|c| c.check_meters(&meter_names()).map(|()| c))
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        Ok(catalogue)
    }

    /// The names in `external_projections`, each a known projection.
    pub fn external_projections(&self) -> Result<Vec<String>, ConfigError> {
        let mut names = Vec::new();
        for name in self
            .external_projections
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            keel_projections::projection(name).map_err(|e| ConfigError::Invalid {
                setting: "external_projections",
                reason: e.to_string(),
            })?;
            names.push(name.to_owned());
        }
        Ok(names)
    }

    /// The parsed integration secret keys, if configured.
    pub fn secret_keys(&self) -> Result<Option<SecretKeys>, ConfigError> {
        self.secret_keys
            .as_ref()
            .map(|keys| {
                SecretKeys::parse(keys.expose_secret()).map_err(|e| ConfigError::Invalid {
                    setting: "secret_keys",
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The relay's configuration if `nats_url` is set (then `keel serve` publishes every
    /// event to JetStream), validated.
    pub fn relay_config(&self) -> Result<Option<RelayConfig>, ConfigError> {
        let Some(url) = &self.nats_url else {
            return Ok(None);
        };
        let invalid = |setting, reason| ConfigError::Invalid { setting, reason };
        let config = RelayConfig {
            stream: self.nats_stream.clone(),
            subject_prefix: self.nats_subject_prefix.clone(),
            duplicate_window: Duration::from_secs(self.nats_duplicate_window_secs),
            replicas: self.nats_replicas,
            retention: Retention::parse(&self.nats_retention)
                .map_err(|reason| invalid("nats_retention", reason))?,
            max_age: Duration::from_secs(self.nats_max_age_secs),
            format: BodyFormat::parse(&self.nats_body_format)
                .map_err(|reason| invalid("nats_body_format", reason))?,
            batch: self.nats_batch,
            ..RelayConfig::new(url.clone())
        };
        config
            .validate()
            .map_err(|e| invalid(e.setting, e.reason))?;
        Ok(Some(config))
    }

    /// How often counted API calls and collected access denials are flushed.
    pub fn usage_flush(&self) -> Duration {
        Duration::from_millis(self.usage_flush_ms.max(10))
    }

    /// How long a reactor lease lasts unless renewed.
    pub fn reactor_lease(&self) -> Duration {
        Duration::from_millis(self.reactor_lease_ms)
    }

    /// How often verified custom domains are re-checked.
    pub fn domain_recheck(&self) -> Duration {
        Duration::from_secs(self.domain_recheck_secs)
    }

    /// The read-your-writes wait bound.
    pub fn read_wait(&self) -> Duration {
        Duration::from_millis(self.read_wait_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_is_served_on_2113_by_default_and_can_be_switched_off() {
        let mut settings = Settings::default();
        assert_eq!(
            settings.grpc_listen().unwrap(),
            Some(SocketAddr::from(([127, 0, 0, 1], 2113)))
        );
        settings.grpc_listen = "OFF".into();
        assert_eq!(settings.grpc_listen().unwrap(), None);
        settings.grpc_listen = "localhost:2113".into();
        assert!(settings
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`grpc_listen`"));
    }

    #[test]
    fn grpc_tls_needs_both_files() {
        let settings = Settings {
            grpc_tls_cert: Some("cert.pem".into()),
            ..Settings::default()
        };
        assert!(settings
            .grpc_tls()
            .unwrap_err()
            .to_string()
            .contains("grpc_tls_key"));
        let settings = Settings {
            grpc_tls_cert: Some("/nonexistent/cert.pem".into()),
            grpc_tls_key: Some("/nonexistent/key.pem".into()),
            ..Settings::default()
        };
        assert!(settings
            .grpc_tls()
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
    }
}
