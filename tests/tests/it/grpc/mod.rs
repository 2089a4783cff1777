//! The KurrentDB (EventStoreDB) gRPC client protocol, driven by the official Rust client
//! (`eventstore`) against a real server per test, on both backends.

mod append;
mod delete;
mod official_clients;
mod read;
mod subscribe;
mod support;
mod tenancy;
