//! The audit trail: one record per event, per tenant, in a tamper-evident hash chain.
//!
//! Each record says when, who (actor), what (the event type as the action, the entity type
//! and id), the before and after values of what changed (secrets shown as `null`), and the
//! correlation and causation ids, and the source IP (the HTTP client's address, for events a
//! request caused). Records of one tenant are numbered 1, 2, ... and each
//! record's hash covers its content and the previous record's hash ([`chain`]); every
//! [`CHECKPOINT_EVERY`] records the chain's head is stored as a checkpoint, and the head itself
//! is kept in `audit_heads`. [`verify`] recomputes the chains and names the first record that
//! was changed, removed or reordered.
//!
//! - [`project`]: the projection (handler and tables).
//! - [`query`]: filtered, cursor-paginated queries.
//! - [`export`]: streamed JSON Lines and CSV.
//! - [`verify`]: chain verification, in the database or ([`offline`]) of an export alone.
//! - [`chain`]: the exact encoding hashed and signed (specified in docs/AUDIT.md).
//! - [`sign`]: Ed25519 signatures of checkpoints and exported heads.

pub mod chain;
pub mod export;
pub mod offline;
pub mod project;
pub mod query;
pub mod record;
pub mod sign;
pub mod verify;

pub use export::{export, export_stream, ExportFormat};
pub use offline::verify_export;
pub use project::{AuditProjection, CHECKPOINT_EVERY};
pub use query::{query, AuditFilter, AuditPage};
pub use record::{AuditRecord, ExportedRecord};
pub use sign::{AuditKey, AuditSigner, PublicKeyView};
pub use verify::{verify, BrokenRecord, ChainReport, Signatures, VerifyReport};
