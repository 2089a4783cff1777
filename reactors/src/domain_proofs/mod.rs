//! Custom domains stay verified only while their proof stands.
//!
//! - [`dns`]: [`ChallengeResolver`], the DNS lookup of a domain's challenge record
//!   (`_keel-challenge.<domain>` TXT), with a configurable name server. The API's `verify`
//!   looks up through it too, so both apply the same lookup.
//! - [`recheck`]: [`Recheck`], the leased reactor that re-checks every verified domain each
//!   interval (daily by default) and un-verifies those whose proof is gone or was never
//!   recorded (domains verified before proof was required: the upgrade step).

pub mod dns;
pub mod recheck;

pub use dns::ChallengeResolver;
pub use recheck::{Recheck, RecheckReport};
