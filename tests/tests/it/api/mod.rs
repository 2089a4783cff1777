//! The HTTP API, driven over HTTP only, on a real server per test, on both backends.

mod audit;
mod audit_export;
mod auth;
mod bad_input;
mod billing;
mod commands;
mod grants;
mod integrations;
mod lifecycle;
mod lists;
mod metrics;
mod openapi;
mod policies;
mod reports;
mod tenants;
mod usage;
mod workflows;
