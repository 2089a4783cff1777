//! The projection worker framework: checkpoints, batched transactional apply, the live
//! worker, failure handling, rebuilds and checksums. See the crate docs for the guarantees.

pub mod batch;
pub mod checkpoint;
pub mod checksum;
pub mod operate;
pub mod rebuild;
pub mod worker;
