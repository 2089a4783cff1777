//! Keel's black-box test binary. Every test of a store or handler property runs on both
//! backends through [`both_backends!`], each on its own fresh database.

/// Generates `sqlite` and `postgres` test modules calling each listed `async fn(Backend)`.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(keel_tests::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(keel_tests::Backend::Postgres).await
                }
            )+
        }
    };
}

pub(crate) mod api;
mod audit_signatures;
mod cli;
mod cli_read_models;
mod crash;
mod docs;
mod domains;
mod grpc;
mod handler;
mod integration;
mod local_dns;
mod nats;
mod openapi_conformance;
mod openapi_typed;
mod ordering;
mod policy;
mod project;
mod projections;
mod reactors;
mod secrets;
mod store;
mod tenant;
mod timers;
mod workflow;
