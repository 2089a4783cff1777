//! Keel's domain: the pure heart of the control plane.
//!
//! Everything here is deterministic and free of IO. An aggregate decides what happens
//! (`decide(state, command) -> events`) and folds what happened (`apply(state, event)`);
//! the write side (`keel-commands`) loads state, calls `decide` and stores the events.
//!
//! - [`aggregate`]: the [`Aggregate`] trait every aggregate implements.
//! - [`event`]: the [`DomainEvent`] trait, MessagePack payload encoding and upcasting.
//! - [`event_types`]: every event type the domain declares, and the secret-bearing ones.
//! - [`actor`]: who caused an event (an API key, a user or the system).
//! - [`ids`]: typed identifiers shared by every aggregate.
//! - [`refusal`]: what every aggregate's refusal says about itself (kind, code, field).
//! - [`platform`]: the platform's admin keys.
//! - [`tenant`], [`policy`], [`workflow`], [`integration`]: the aggregates.
//! - [`billing`]: the plan catalogue, pricing of a billing period, and the invoice aggregate.
//! - [`usage`]: usage samples, quota threshold events, and the meter catalogue.
//! - [`access`]: the access decisions the policy endpoint denied, recorded in batches.
//! - [`shared`]: values several aggregates share (plans, roles, emails, meter names, reasons).
//! - [`value`]: what validated values share (the parse failure, text checks).
//! - [`redact`]: which payload fields hold secrets, so nothing but their one response shows them.
//! - [`testing`]: a given/when/then harness for aggregate tests.

pub mod access;
pub mod actor;
pub mod aggregate;
pub mod billing;
pub mod event;
pub mod event_types;
pub mod ids;
pub mod integration;
pub mod platform;
pub mod policy;
pub mod redact;
pub mod refusal;
pub mod shared;
pub mod tenant;
pub mod testing;
pub mod usage;
pub mod value;
pub mod workflow;

pub use actor::Actor;
pub use aggregate::{Aggregate, Claim, DecisionContext};
pub use event::{DomainEvent, EventCodecError, Upcaster};
pub use ids::{AggregateId, TenantId};
pub use refusal::{Refusal, RefusalKind};
