//! Claims on the write side: the streams that keep a value unique across aggregates.
//!
//! A claim of `value` in `scope` is the stream `claim-<scope>-<value>`: a `claim.reserved`
//! event naming its holder (the aggregate's stream), and, once given up, a `claim.released`
//! event after it. A stream's last event says whether the value is held. Guarantees:
//!
//! - **One holder at a time**: a claim is appended expecting the claim stream as it was read
//!   (absent, or ending with a release at that version), in the same transaction as the
//!   aggregate's events. Of two concurrent claims one commits; the other fails on the claim
//!   stream's version and is answered `Taken`, like a claim of a held value (appended expecting
//!   no stream, which fails).
//! - **Only the holder releases**: a release is appended only if the stream's last event is a
//!   reservation by the releasing aggregate, expecting that version; otherwise it is skipped.
//!   The holder's own appends are serialized by its stream version, so its release cannot race
//!   another release.
//!
//! Claim streams are read only for a command whose events claim or release something, and
//! such a command is appended alone ([`super::decide`]).

use super::decide::Decided;
use keel_domain::{Aggregate, Claim};
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError, StreamAppend};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The event type of a reservation.
pub const RESERVED: &str = "claim.reserved";
/// The event type of a release.
pub const RELEASED: &str = "claim.released";

/// The stream that reserves a claimed value.
pub(crate) fn claim_stream(claim: &Claim) -> String {
    format!("claim-{}-{}", claim.scope, claim.value)
}

/// The payload of a claim stream's events: the value and who holds (or held) it.
#[derive(Serialize, Deserialize)]
struct ClaimEvent {
    scope: String,
    value: String,
    holder: String,
}

/// Where a claim stream stands: its version and its last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimState {
    version: u64,
    released: bool,
    holder: String,
}

/// The claim streams a segment's claims and releases touch, read from the store (absent
/// streams are left out).
pub(crate) async fn read_claims<A: Aggregate>(
    store: &dyn EventStore,
    decided: &[Decided<A>],
) -> Result<HashMap<String, ClaimState>, StoreError> {
    let mut states = HashMap::new();
    let touched = decided.iter().flat_map(|d| match d {
        Decided::Accepted {
            claims, releases, ..
        } => claims.iter().chain(releases).collect(),
        _ => Vec::new(),
    });
    for claim in touched {
        let stream = claim_stream(claim);
        let version = store.stream_version(&stream).await?;
        if version == 0 || states.contains_key(&stream) {
            continue;
        }
        let Some(last) = store.read_stream(&stream, version, 1).await?.pop() else {
            continue;
        };
        let event: ClaimEvent =
            keel_domain::event::decode_msgpack(&last.payload).map_err(|e| StoreError::Corrupt {
                position: last.global_position as i64,
                reason: format!("claim stream {stream}: {e}"),
            })?;
        states.insert(
            stream,
            ClaimState {
                version,
                released: last.event_type == RELEASED,
                holder: event.holder,
            },
        );
    }
    Ok(states)
}

/// The append that reserves `claim` for `holder`: expecting no stream, or the release it was
/// read ending with.
pub(crate) fn claim_append(
    claim: &Claim,
    holder: &str,
    metadata: &EventMetadata,
    states: &HashMap<String, ClaimState>,
) -> Result<StreamAppend, StoreError> {
    let stream_id = claim_stream(claim);
    let expected = match states.get(&stream_id) {
        Some(state) if state.released => ExpectedVersion::Exact(state.version),
        // Held by someone (or absent): expecting no stream makes a held value fail as taken.
        _ => ExpectedVersion::NoStream,
    };
    claim_event(claim, holder, metadata, RESERVED, stream_id, expected)
}

/// The append that releases `claim`, if `holder` holds it.
pub(crate) fn release_append(
    claim: &Claim,
    holder: &str,
    metadata: &EventMetadata,
    states: &HashMap<String, ClaimState>,
) -> Result<Option<StreamAppend>, StoreError> {
    let stream_id = claim_stream(claim);
    match states.get(&stream_id) {
        Some(state) if !state.released && state.holder == holder => {
            let expected = ExpectedVersion::Exact(state.version);
            claim_event(claim, holder, metadata, RELEASED, stream_id, expected).map(Some)
        }
        _ => Ok(None),
    }
}

fn claim_event(
    claim: &Claim,
    holder: &str,
    metadata: &EventMetadata,
    event_type: &str,
    stream_id: String,
    expected: ExpectedVersion,
) -> Result<StreamAppend, StoreError> {
    let payload = keel_domain::event::encode_payload(&ClaimEvent {
        scope: claim.scope.to_owned(),
        value: claim.value.clone(),
        holder: holder.to_owned(),
    })?;
    Ok(StreamAppend {
        stream_id,
        expected,
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            payload,
            metadata: metadata.clone(),
        }],
    })
}
