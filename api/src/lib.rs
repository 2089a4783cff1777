//! Keel's HTTP server: a thin command and query API over the write side and the read models.
//!
//! - [`config`]: settings (defaults, file, `KEEL_*` environment), validated at start.
//! - [`cli`]: the `keel` command line (`serve` and the audit replay tools).
//! - [`database`]: opening the event store a URL names.
//! - [`startup`]: [`Application`](startup::Application): build, bind, serve, shut down gracefully.
//! - [`routes`]: one module per resource; commands are `POST`s on actions, queries `GET`s.
//! - [`auth`]: API keys (bearer tokens), scopes and tenant isolation.
//! - [`idempotency`]: the `Idempotency-Key` header, backed by stored first responses
//!   (`idempotency::records`).
//! - [`command`] and [`consistency`]: running commands (ETag, If-Match, positions) and
//!   read-your-writes waits.
//! - [`body`], [`error`]: JSON input with precise errors; every error is `application/problem+json`.
//! - [`observe`], [`metrics`], [`relay_metrics`], [`task_metrics`], [`telemetry`]: request ids,
//!   spans, Prometheus metrics (the NATS relay's and the background tasks' among them), logs.
//! - [`redact`]: secret-bearing fields kept out of stored responses and event views.
//! - [`openapi`]: the OpenAPI 3.1 document served at `/openapi.json`.
//!
//! No business rule lives here: commands go to the domain through the command handler.

pub mod auth;
pub mod body;
pub mod cli;
pub mod command;
pub mod config;
pub mod consistency;
pub mod database;
pub mod error;
pub mod grpc;
pub mod idempotency;
pub mod key_use;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod redact;
pub mod relay_metrics;
pub mod routes;
pub mod startup;
pub mod state;
pub mod task_metrics;
pub mod telemetry;
pub mod views;
