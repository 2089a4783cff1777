//! The KurrentDB (EventStoreDB) gRPC client protocol, driven by the official Rust client
//! (`eventstore`) against a real server per test, on both backends; `official_clients` runs
//! the Python and Node clients' conformance checks the same way.

mod append;
mod delete;
mod official_clients;
mod read;
mod subscribe;
pub(crate) mod support;
mod tenancy;
