//! Keel's write side: command handling, and the one entry point for facts no aggregate decides.
//!
//! - [`handler`]: the generic [`CommandHandler`](handler::CommandHandler): load an aggregate
//!   (snapshot + tail, cached), call its pure `decide`, append with the expected version, retry on
//!   conflict where allowed.
//! - [`facts`]: [`append_facts`](facts::append_facts), for events that record what happened
//!   outside any aggregate's decision (usage samples, counted API calls, access denials, quota
//!   alerts): envelopes built and event ids derived in one place, so a repeat is an idempotent
//!   re-append.
//! - [`secrets`]: AES-256-GCM encryption of integration secrets with a keyring of rotatable
//!   keys, so that events only ever hold them encrypted.
//!
//! Only this crate appends to the event store (`keel-store`): every write of the API and of the
//! reactors is a command or a fact.

pub mod facts;
pub mod handler;
pub mod secrets;
