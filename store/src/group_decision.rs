//! Deciding a group of appends against the stored state, without IO.
//!
//! Both backends commit several callers' appends in one database transaction (group commit).
//! Inside that transaction they read the current version of every stream involved and any
//! already-stored copies of the event ids, then hand both to [`plan_group`], which decides each
//! append in arrival order as if it ran alone: it is written, it is an idempotent replay of an
//! earlier append, or it is refused. Keeping this logic here means the two backends cannot
//! disagree on the rules, and the rules are unit-tested without a database.

use crate::append::{AppendResult, ExpectedVersion, NewEvent, StreamAppend};
use keel_log::StoreError;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// An event id that is already stored, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredId {
    /// Its stream.
    pub stream_id: String,
    /// Its version in that stream.
    pub stream_version: u64,
    /// Its global position.
    pub global_position: u64,
}

/// One event row to insert, with its stream version decided.
#[derive(Debug, Clone)]
pub struct PlannedRow<'a> {
    /// Target stream.
    pub stream_id: &'a str,
    /// Version within the stream.
    pub stream_version: u64,
    /// The event.
    pub event: &'a NewEvent,
}

/// What happens to one caller's append.
#[derive(Debug)]
pub enum Outcome {
    /// Written: for each stream append, the index (into [`GroupPlan::rows`]) of its last row.
    Write(Vec<(u64, usize)>),
    /// Already stored exactly like this: the original results.
    Replay(Vec<AppendResult>),
    /// Refused; nothing of it is written.
    Refused(StoreError),
    /// Shares event ids with an earlier append of the same group: decide it again in the next
    /// transaction, when the earlier one is stored and this one can be recognised as a replay.
    Deferred,
}

/// The decision for a whole group.
#[derive(Debug)]
pub struct GroupPlan<'a> {
    /// Rows to insert, in global order.
    pub rows: Vec<PlannedRow<'a>>,
    /// Each stream's version after the group, and whether the stream is new.
    pub stream_versions: Vec<(&'a str, u64, bool)>,
    /// One outcome per append, in the order given.
    pub outcomes: Vec<Outcome>,
}

/// Checks the shape of one caller's append (non-empty, no stream or event id twice).
pub fn validate(unit: &[StreamAppend]) -> Result<(), StoreError> {
    if unit.is_empty() {
        return Err(StoreError::InvalidAppend("no streams to append to".into()));
    }
    let mut streams = HashSet::new();
    let mut ids = HashSet::new();
    for append in unit {
        if append.stream_id.is_empty() {
            return Err(StoreError::InvalidAppend("empty stream id".into()));
        }
        if append.events.is_empty() {
            return Err(StoreError::InvalidAppend(format!(
                "no events for stream `{}`",
                append.stream_id
            )));
        }
        if !streams.insert(append.stream_id.as_str()) {
            return Err(StoreError::InvalidAppend(format!(
                "stream `{}` appears twice in one append",
                append.stream_id
            )));
        }
        for event in &append.events {
            if !ids.insert(event.event_id) {
                return Err(StoreError::InvalidAppend(format!(
                    "event id {} appears twice in one append",
                    event.event_id
                )));
            }
        }
    }
    Ok(())
}

/// Decides a group of appends. `versions` holds the current version of every stream involved
/// (absent = no stream) and `stored` every event id of the group that is already stored.
pub fn plan_group<'a>(
    units: &[&'a [StreamAppend]],
    versions: &HashMap<String, u64>,
    stored: &HashMap<Uuid, StoredId>,
) -> GroupPlan<'a> {
    let mut current: HashMap<&'a str, (u64, bool)> = HashMap::new();
    let mut rows: Vec<PlannedRow<'a>> = Vec::new();
    let mut claimed_ids: HashSet<Uuid> = HashSet::new();
    let mut outcomes = Vec::with_capacity(units.len());

    for &unit in units {
        if let Err(error) = validate(unit) {
            outcomes.push(Outcome::Refused(error));
            continue;
        }
        let ids = unit
            .iter()
            .flat_map(|a| a.events.iter().map(|e| e.event_id));
        if ids.clone().any(|id| claimed_ids.contains(&id)) {
            outcomes.push(Outcome::Deferred);
            continue;
        }
        if ids.clone().any(|id| stored.contains_key(&id)) {
            outcomes.push(replay(unit, stored));
            continue;
        }
        let version_of = |stream: &str, current: &HashMap<&'a str, (u64, bool)>| {
            current
                .get(stream)
                .map(|(v, _)| *v)
                .unwrap_or_else(|| versions.get(stream).copied().unwrap_or(0))
        };
        if let Some((append, actual)) = unit
            .iter()
            .map(|a| (a, version_of(&a.stream_id, &current)))
            .find(|(a, actual)| !a.expected.accepts(*actual))
        {
            outcomes.push(Outcome::Refused(StoreError::WrongExpectedVersion {
                stream_id: append.stream_id.clone(),
                expected: describe(append.expected),
                actual,
            }));
            continue;
        }
        let mut ends = Vec::with_capacity(unit.len());
        for append in unit {
            let base = version_of(&append.stream_id, &current);
            let is_new = match current.get(append.stream_id.as_str()) {
                Some((_, is_new)) => *is_new,
                None => !versions.contains_key(&append.stream_id),
            };
            for (i, event) in append.events.iter().enumerate() {
                rows.push(PlannedRow {
                    stream_id: &append.stream_id,
                    stream_version: base + 1 + i as u64,
                    event,
                });
            }
            let last = base + append.events.len() as u64;
            current.insert(&append.stream_id, (last, is_new));
            ends.push((last, rows.len() - 1));
        }
        claimed_ids.extend(ids);
        outcomes.push(Outcome::Write(ends));
    }

    let mut stream_versions: Vec<(&str, u64, bool)> = current
        .into_iter()
        .map(|(stream, (version, is_new))| (stream, version, is_new))
        .collect();
    // Sorted, so that every writer locks stream rows in the same order (no deadlocks).
    stream_versions.sort_unstable_by(|a, b| a.0.cmp(b.0));
    GroupPlan {
        rows,
        stream_versions,
        outcomes,
    }
}

/// The original result of an append whose event ids are all stored exactly as asked,
/// or an idempotency conflict.
fn replay(unit: &[StreamAppend], stored: &HashMap<Uuid, StoredId>) -> Outcome {
    let ids = || {
        unit.iter()
            .flat_map(|a| a.events.iter().map(|e| e.event_id))
    };
    let conflict = |event_id| Outcome::Refused(StoreError::IdempotencyConflict { event_id });
    let mut results = Vec::with_capacity(unit.len());
    for append in unit {
        let mut previous: Option<&StoredId> = None;
        for event in &append.events {
            let Some(found) = stored.get(&event.event_id) else {
                // Part of the append is new: name an id that is stored, the cause of it all.
                let stored_id = ids().find(|id| stored.contains_key(id));
                return conflict(stored_id.unwrap_or(event.event_id));
            };
            let in_sequence = found.stream_id == append.stream_id
                && previous.is_none_or(|p| found.stream_version == p.stream_version + 1);
            if !in_sequence {
                return conflict(event.event_id);
            }
            previous = Some(found);
        }
        let last = previous.expect("validated: every stream append has events");
        results.push(AppendResult {
            stream_version: last.stream_version,
            global_position: last.global_position,
        });
    }
    Outcome::Replay(results)
}

/// The expectation as text, for error messages.
pub fn describe(expected: ExpectedVersion) -> String {
    match expected {
        ExpectedVersion::Any => "any".into(),
        ExpectedVersion::NoStream => "no stream".into(),
        ExpectedVersion::StreamExists => "an existing stream".into(),
        ExpectedVersion::Exact(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_domain::{Actor, TenantId};
    use keel_log::EventMetadata;

    fn event() -> NewEvent {
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "test.happened".into(),
            schema_version: 1,
            payload: vec![0x80],
            metadata: EventMetadata::new(TenantId::PLATFORM, Actor::System("test".into())),
        }
    }

    fn slices(units: &[Vec<StreamAppend>]) -> Vec<&[StreamAppend]> {
        units.iter().map(Vec::as_slice).collect()
    }

    fn append(stream: &str, expected: ExpectedVersion, n: usize) -> StreamAppend {
        StreamAppend {
            stream_id: stream.into(),
            expected,
            events: (0..n).map(|_| event()).collect(),
        }
    }

    #[test]
    fn appends_in_one_group_see_each_others_versions() {
        let units = vec![
            vec![append("s", ExpectedVersion::NoStream, 2)],
            vec![append("s", ExpectedVersion::Exact(2), 1)],
            vec![append("s", ExpectedVersion::Exact(2), 1)],
        ];
        let plan = plan_group(&slices(&units), &HashMap::new(), &HashMap::new());
        assert!(matches!(&plan.outcomes[0], Outcome::Write(e) if e == &vec![(2, 1)]));
        assert!(matches!(&plan.outcomes[1], Outcome::Write(e) if e == &vec![(3, 2)]));
        assert!(matches!(
            &plan.outcomes[2],
            Outcome::Refused(StoreError::WrongExpectedVersion { actual: 3, .. })
        ));
        assert_eq!(plan.rows.len(), 3);
        assert_eq!(plan.stream_versions, vec![("s", 3, true)]);
    }

    #[test]
    fn a_refused_multi_stream_append_writes_none_of_its_streams() {
        let versions = HashMap::from([("b".to_string(), 4)]);
        let units = vec![vec![
            append("a", ExpectedVersion::NoStream, 1),
            append("b", ExpectedVersion::Exact(3), 1),
        ]];
        let plan = plan_group(&slices(&units), &versions, &HashMap::new());
        assert!(matches!(&plan.outcomes[0], Outcome::Refused(_)));
        assert!(plan.rows.is_empty());
        assert!(plan.stream_versions.is_empty());
    }

    #[test]
    fn a_stored_append_is_replayed_with_its_original_result() {
        let unit = append("s", ExpectedVersion::NoStream, 2);
        let stored = HashMap::from([
            (
                unit.events[0].event_id,
                StoredId {
                    stream_id: "s".into(),
                    stream_version: 1,
                    global_position: 10,
                },
            ),
            (
                unit.events[1].event_id,
                StoredId {
                    stream_id: "s".into(),
                    stream_version: 2,
                    global_position: 11,
                },
            ),
        ]);
        let versions = HashMap::from([("s".to_string(), 2)]);
        let units = vec![vec![unit]];
        let plan = plan_group(&slices(&units), &versions, &stored);
        assert!(
            matches!(&plan.outcomes[0], Outcome::Replay(r) if r == &vec![AppendResult {
                stream_version: 2,
                global_position: 11
            }])
        );
        assert!(plan.rows.is_empty());
    }

    #[test]
    fn a_partly_stored_append_is_an_idempotency_conflict() {
        let unit = append("s", ExpectedVersion::Any, 2);
        let stored = HashMap::from([(
            unit.events[0].event_id,
            StoredId {
                stream_id: "s".into(),
                stream_version: 1,
                global_position: 1,
            },
        )]);
        let units = vec![vec![unit]];
        let plan = plan_group(&slices(&units), &HashMap::new(), &stored);
        assert!(matches!(
            &plan.outcomes[0],
            Outcome::Refused(StoreError::IdempotencyConflict { .. })
        ));
    }

    #[test]
    fn the_same_ids_twice_in_one_group_defer_the_second() {
        let unit = append("s", ExpectedVersion::Any, 1);
        let units = vec![vec![unit.clone()], vec![unit]];
        let plan = plan_group(&slices(&units), &HashMap::new(), &HashMap::new());
        assert!(matches!(plan.outcomes[0], Outcome::Write(_)));
        assert!(matches!(plan.outcomes[1], Outcome::Deferred));
    }

    #[test]
    fn malformed_appends_are_refused() {
        let mut twice = append("s", ExpectedVersion::Any, 1);
        twice.events.push(twice.events[0].clone());
        for unit in [
            vec![],
            vec![append("s", ExpectedVersion::Any, 0)],
            vec![append("", ExpectedVersion::Any, 1)],
            vec![
                append("s", ExpectedVersion::Any, 1),
                append("s", ExpectedVersion::Any, 1),
            ],
            vec![twice],
        ] {
            assert!(matches!(validate(&unit), Err(StoreError::InvalidAppend(_))));
        }
    }
}
