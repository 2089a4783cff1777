//! The read side: the projection framework (checkpoints, crashes, failures, rebuilds) and
//! the read models, on both backends.

mod audit;
mod billing;
mod failures;
mod framework;
mod reports;
mod resources;
pub mod support;
mod usage;
