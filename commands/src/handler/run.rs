//! Draining an aggregate's queue: decide, append, answer; reload and retry on conflict.

use super::claims::{claim_append, claim_stream, read_claims, release_append, ClaimState};
use super::decide::{decide_segment, Decided, Request};
use super::load::{load, to_snapshot, Loaded};
use super::{CommandError, CommandOutcome, Conflict, Inner, Pending, Slot};
use chrono::Utc;
use keel_domain::{Aggregate, DecisionContext};
use keel_store::{AppendResult, ExpectedVersion, NewEvent, StoreError, StreamAppend};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tracing::warn;

/// Takes everything queued for the slot and handles it. Whoever holds the state lock drains
/// the queue, so concurrent callers' commands are decided together.
pub(super) async fn drain<A: Aggregate>(inner: &Inner<A>, stream_id: &str, slot: &Slot<A>) {
    let mut loaded = slot.loaded.lock().await;
    let queue: VecDeque<Pending<A>> = std::mem::take(
        &mut *slot
            .queue
            .lock()
            .expect("queue lock is never held across a panic"),
    )
    .into();
    if !queue.is_empty() {
        process(inner, stream_id, &mut loaded, queue).await;
    }
}

/// Makes sure `loaded` holds the stream's current state: loads it if absent, and reloads it if
/// the stored version moved (another process wrote).
pub(super) async fn refresh<A: Aggregate>(
    inner: &Inner<A>,
    stream_id: &str,
    loaded: &mut Option<Loaded<A>>,
) -> Result<(), StoreError> {
    match loaded {
        Some(_) => {
            let stored = inner.store.stream_version(stream_id).await?;
            refresh_to(inner, stream_id, loaded, stored).await
        }
        None => {
            *loaded = Some(load(&*inner.store, stream_id).await?);
            Ok(())
        }
    }
}

/// Makes sure `loaded` holds the stream's state at `stored` (its stored version, read by the
/// caller) or later: keeps it if it is at that version, loads it otherwise.
pub(super) async fn refresh_to<A: Aggregate>(
    inner: &Inner<A>,
    stream_id: &str,
    loaded: &mut Option<Loaded<A>>,
    stored: u64,
) -> Result<(), StoreError> {
    if loaded.as_ref().map(|l| l.version) != Some(stored) {
        *loaded = Some(load(&*inner.store, stream_id).await?);
    }
    Ok(())
}

async fn process<A: Aggregate>(
    inner: &Inner<A>,
    stream_id: &str,
    slot_state: &mut Option<Loaded<A>>,
    mut queue: VecDeque<Pending<A>>,
) {
    let mut attempts = 0;
    let mut just_loaded = false;
    while !queue.is_empty() {
        if slot_state.is_none() {
            match load(&*inner.store, stream_id).await {
                Ok(fresh) => *slot_state = Some(fresh),
                Err(error) => return fail_all(queue, Arc::new(error)),
            }
            just_loaded = true;
        }
        let loaded = slot_state.as_ref().expect("loaded above");
        let ctx = DecisionContext::at(Utc::now());
        let requests = queue.iter().map(|p| Request {
            command: &p.command,
            expected: p.expected,
        });
        let (decided, after) = decide_segment(loaded, requests, &ctx);

        // A refusal decided on a cached state might be stale: check the stored version first.
        if !just_loaded && decided.iter().any(Decided::is_negative) {
            match inner.store.stream_version(stream_id).await {
                Ok(version) if version == loaded.version => {}
                Ok(_) => {
                    *slot_state = None;
                    continue;
                }
                Err(error) => return fail_all(queue, Arc::new(error)),
            }
        }
        just_loaded = false;

        let segment: Vec<Pending<A>> = queue.drain(..decided.len()).collect();
        let claim_streams = match read_claims(&*inner.store, &decided).await {
            Ok(streams) => streams,
            Err(error) => {
                answer_failure(segment, decided, Arc::new(error));
                continue;
            }
        };
        let built = build_appends::<A>(
            stream_id,
            loaded.version,
            &segment,
            &decided,
            &claim_streams,
        );
        let appends = match built {
            Ok(appends) => appends,
            Err(error) => {
                answer_failure(segment, decided, Arc::new(error));
                continue;
            }
        };
        if appends.is_empty() {
            answer(stream_id, segment, decided, None);
            continue;
        }
        match inner.store.append_streams(appends).await {
            Ok(results) => {
                tracing::debug!(
                    commands = segment.len(),
                    version = results[0].stream_version,
                    position = results[0].global_position,
                    "commands decided and appended"
                );
                answer(stream_id, segment, decided, Some(results[0]));
                let previous_snapshot = loaded.snapshot_version;
                let mut after = after;
                if after.version - previous_snapshot >= inner.config.snapshot_every {
                    save_snapshot(inner, stream_id, &after);
                    after.snapshot_version = after.version;
                }
                *slot_state = Some(after);
                attempts = 0;
            }
            Err(StoreError::WrongExpectedVersion {
                stream_id: lost, ..
            }) if lost == stream_id => {
                // Another process wrote first: reload and decide the same commands again.
                attempts += 1;
                *slot_state = None;
                if attempts >= inner.config.max_attempts {
                    let conflict = Conflict::Contention {
                        stream_id: stream_id.to_owned(),
                        attempts,
                    };
                    for pending in segment {
                        let _ = pending
                            .reply
                            .send(Err(CommandError::Conflict(conflict.clone())));
                    }
                    attempts = 0;
                } else {
                    for pending in segment.into_iter().rev() {
                        queue.push_front(pending);
                    }
                }
            }
            Err(StoreError::WrongExpectedVersion {
                stream_id: lost, ..
            }) => {
                // A claim stream moved since it was read, or is held: the unique value is taken.
                // Claims are appended alone, so this segment is that one command.
                let claim = decided.iter().find_map(|d| match d {
                    Decided::Accepted { claims, .. } => {
                        claims.iter().find(|c| claim_stream(c) == lost).cloned()
                    }
                    _ => None,
                });
                let conflict = match claim {
                    Some(claim) => Conflict::Taken {
                        scope: claim.scope,
                        value: claim.value,
                    },
                    None => Conflict::Contention {
                        stream_id: lost,
                        attempts: 1,
                    },
                };
                for pending in segment {
                    let _ = pending
                        .reply
                        .send(Err(CommandError::Conflict(conflict.clone())));
                }
            }
            Err(error) => {
                // The outcome of the append is unknown to us (it may have committed before the
                // connection broke): forget the cached state so the next command reloads it.
                *slot_state = None;
                answer_failure(segment, decided, Arc::new(error));
            }
        }
    }
}

/// The appends of a segment: its events on the aggregate's stream, and the claim streams its
/// claims and releases write to (`claim_streams`: as read before).
fn build_appends<A: Aggregate>(
    stream_id: &str,
    version: u64,
    segment: &[Pending<A>],
    decided: &[Decided<A>],
    claim_streams: &HashMap<String, ClaimState>,
) -> Result<Vec<StreamAppend>, StoreError> {
    let mut events = Vec::new();
    let mut claims = Vec::new();
    for (pending, outcome) in segment.iter().zip(decided) {
        if let Decided::Accepted {
            events: new,
            claims: claimed,
            releases,
            ..
        } = outcome
        {
            for event in new {
                events.push(NewEvent::from_domain(event, pending.metadata.clone())?);
            }
            let metadata = &pending.metadata;
            for claim in claimed {
                claims.push(claim_append(claim, stream_id, metadata, claim_streams)?);
            }
            for claim in releases {
                claims.extend(release_append(claim, stream_id, metadata, claim_streams)?);
            }
        }
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut appends = vec![StreamAppend {
        stream_id: stream_id.to_owned(),
        expected: ExpectedVersion::Exact(version),
        events,
    }];
    appends.extend(claims);
    Ok(appends)
}

/// Answers every command of a segment; `appended` is the aggregate stream's append result.
fn answer<A: Aggregate>(
    stream_id: &str,
    segment: Vec<Pending<A>>,
    decided: Vec<Decided<A>>,
    appended: Option<AppendResult>,
) {
    // Positions of one append are consecutive, so each command's last position is the
    // append's last position minus the events appended after it.
    let mut events_after: u64 = decided.iter().map(|d| d.event_count() as u64).sum();
    for (pending, outcome) in segment.into_iter().zip(decided) {
        let result = match outcome {
            Decided::Accepted {
                events,
                state,
                version,
                ..
            } => {
                events_after -= events.len() as u64;
                let global_position = match (events.is_empty(), appended) {
                    (false, Some(result)) => Some(result.global_position - events_after),
                    _ => None,
                };
                Ok(CommandOutcome {
                    stream_id: stream_id.to_owned(),
                    stream_version: version,
                    global_position,
                    events,
                    state,
                })
            }
            Decided::Refused(error) => Err(CommandError::Domain(error)),
            Decided::Mismatch { expected, actual } => {
                Err(CommandError::Conflict(Conflict::ExpectedVersion {
                    stream_id: stream_id.to_owned(),
                    expected,
                    actual,
                }))
            }
        };
        let _ = pending.reply.send(result);
    }
}

/// Answers a segment whose append failed: accepted commands get the infrastructure error,
/// refused ones still get their refusal.
fn answer_failure<A: Aggregate>(
    segment: Vec<Pending<A>>,
    decided: Vec<Decided<A>>,
    error: Arc<StoreError>,
) {
    warn!(%error, "append failed");
    for (pending, outcome) in segment.into_iter().zip(decided) {
        let result = match outcome {
            Decided::Refused(refusal) => Err(CommandError::Domain(refusal)),
            _ => Err(CommandError::Infra(error.clone())),
        };
        let _ = pending.reply.send(result);
    }
}

fn fail_all<A: Aggregate>(queue: VecDeque<Pending<A>>, error: Arc<StoreError>) {
    warn!(%error, "cannot load aggregate");
    for pending in queue {
        let _ = pending.reply.send(Err(CommandError::Infra(error.clone())));
    }
}

fn save_snapshot<A: Aggregate>(inner: &Inner<A>, stream_id: &str, loaded: &Loaded<A>) {
    let Some(snapshot) = to_snapshot(stream_id, loaded) else {
        return;
    };
    let store = inner.store.clone();
    // Snapshots are an optimisation: taking one must not delay the next command.
    tokio::spawn(async move {
        if let Err(error) = store.save_snapshot(&snapshot).await {
            warn!(%error, stream_id = %snapshot.stream_id, "could not save snapshot");
        }
    });
}
