//! Deciding a run of queued commands against one loaded state, without IO.
//!
//! Commands queued for the same aggregate are decided one after another, each on the state the
//! previous ones produced, and their events are appended together. That is how many concurrent
//! writers to one hot aggregate share one append instead of racing and retrying.
//! A command whose events claim or release a unique value is appended on its own, so that a
//! taken value refuses only that command.

use super::load::Loaded;
use keel_domain::{Aggregate, Claim, DecisionContext};

/// What became of one command in a segment.
#[derive(Debug)]
pub enum Decided<A: Aggregate> {
    /// Accepted: its events (possibly none), the claims they make and release, and the state
    /// after them.
    Accepted {
        /// The events to append.
        events: Vec<A::Event>,
        /// Unique values the events claim.
        claims: Vec<Claim>,
        /// Unique values the events give up.
        releases: Vec<Claim>,
        /// The state after this command.
        state: A,
        /// The stream version after this command.
        version: u64,
    },
    /// Refused by the aggregate.
    Refused(A::Error),
    /// The caller required another stream version.
    Mismatch {
        /// The version the caller required.
        expected: u64,
        /// The version the stream is at.
        actual: u64,
    },
}

/// A command as the segment decider sees it.
pub struct Request<'a, A: Aggregate> {
    /// The command.
    pub command: &'a A::Command,
    /// The stream version the caller requires, if any.
    pub expected: Option<u64>,
}

/// Decides a prefix of `requests` against `loaded`: as many as can share one append. Returns
/// one outcome per decided request (the prefix length is `outcomes.len()`) and the state after.
pub fn decide_segment<'a, A: Aggregate>(
    loaded: &Loaded<A>,
    requests: impl IntoIterator<Item = Request<'a, A>>,
    ctx: &DecisionContext,
) -> (Vec<Decided<A>>, Loaded<A>) {
    let mut state = loaded.state.clone();
    let mut version = loaded.version;
    let mut outcomes = Vec::new();
    for request in requests {
        if let Some(expected) = request.expected {
            if expected != version {
                outcomes.push(Decided::Mismatch {
                    expected,
                    actual: version,
                });
                continue;
            }
        }
        match state.decide(request.command, ctx) {
            Err(error) => outcomes.push(Decided::Refused(error)),
            Ok(events) => {
                let claims: Vec<Claim> = events.iter().flat_map(A::claims).collect();
                let releases: Vec<Claim> = events.iter().flat_map(A::releases).collect();
                let alone = !claims.is_empty() || !releases.is_empty();
                if alone && !outcomes.is_empty() {
                    // Decide it again at the head of the next segment, alone.
                    break;
                }
                for event in &events {
                    state.apply(event);
                }
                version += events.len() as u64;
                outcomes.push(Decided::Accepted {
                    events,
                    claims,
                    releases,
                    state: state.clone(),
                    version,
                });
                if alone {
                    break;
                }
            }
        }
    }
    let after = Loaded {
        state,
        version,
        snapshot_version: loaded.snapshot_version,
    };
    (outcomes, after)
}

impl<A: Aggregate> Decided<A> {
    /// Whether this outcome might be wrong if the loaded state was stale (another process
    /// wrote meanwhile): refusals and version mismatches are re-checked against the store
    /// before they are reported.
    pub fn is_negative(&self) -> bool {
        !matches!(self, Decided::Accepted { .. })
    }

    /// The number of events this outcome appends.
    pub fn event_count(&self) -> usize {
        match self {
            Decided::Accepted { events, .. } => events.len(),
            _ => 0,
        }
    }
}
