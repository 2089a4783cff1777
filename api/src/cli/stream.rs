//! `keel stream state`: an aggregate's state as it was at a past moment (a stream version or a
//! time), replayed from the stream's events, and the difference between two moments.
//!
//! Replays ignore snapshots: the events are the truth, and what a tool shows of the past must
//! not depend on a cache. Secret-bearing fields are shown as `null`.

use super::filter::PAGE;
use super::{CliError, ToolContext};
use crate::redact::redact_secrets;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use keel_commands::handler::load::load_at;
use keel_domain::billing::Invoice;
use keel_domain::integration::Integration;
use keel_domain::platform::PlatformKeys;
use keel_domain::policy::Policy;
use keel_domain::tenant::Tenant;
use keel_domain::workflow::{WorkflowDefinition, WorkflowRun};
use keel_domain::Aggregate;
use keel_store::EventStore;
use serde::Serialize;
use serde_json::Value;
use std::str::FromStr;

/// `keel stream ...`.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Prints a stream's aggregate state now, at a moment (`--at`), or what changed between two
    /// moments (`--diff A B`).
    State(StateArgs),
}

/// The arguments of `keel stream state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The stream, e.g. `tenant-0190...` or `policy-0190...`.
    pub stream: String,
    /// A stream version (`3`) or a time (RFC 3339): the state after the last event at or
    /// before it. Default: now.
    #[arg(long, conflicts_with = "diff")]
    pub at: Option<Moment>,
    /// Two moments: prints each field that differs between the states at A and at B.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub diff: Option<Vec<Moment>>,
}

/// A moment in a stream's life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Moment {
    /// After this many events (0: before the first).
    Version(u64),
    /// After the last event recorded at or before this time.
    Time(DateTime<Utc>),
}

impl FromStr for Moment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(version) = s.parse() {
            return Ok(Moment::Version(version));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Moment::Time(t.with_timezone(&Utc)))
            .map_err(|_| format!("`{s}` is neither a stream version nor an RFC 3339 time"))
    }
}

/// The state of a stream at one version.
#[derive(Debug, Serialize)]
pub struct StateAt {
    /// The stream.
    pub stream_id: String,
    /// Its aggregate kind.
    pub kind: &'static str,
    /// The version the state includes.
    pub version: u64,
    /// The stream's current version.
    pub current_version: u64,
    /// When the last included event was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The state, as JSON.
    pub state: Value,
}

/// One field that differs between two states.
#[derive(Debug, Serialize, PartialEq)]
pub struct FieldChange {
    /// A JSON Pointer to the field (`/members/0/role`).
    pub path: String,
    /// Its value before (`null` if absent).
    pub before: Value,
    /// Its value after (`null` if absent).
    pub after: Value,
}

/// Runs `keel stream ...`.
pub async fn run(command: StreamCommand, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    let StreamCommand::State(args) = command;
    let store = &*context.store;
    let out = &mut context.out;
    if let Some(moments) = args.diff {
        let before = state_at(store, &args.stream, moments[0]).await?;
        let after = state_at(store, &args.stream, moments[1]).await?;
        let changes = diff(&before.state, &after.state);
        if out.is_json() {
            let report = serde_json::json!({
                "stream_id": args.stream,
                "from_version": before.version,
                "to_version": after.version,
                "changes": changes,
            });
            out.json_pretty(&report)?;
        } else {
            out.line(format!(
                "{} from version {} to {}: {} change(s)",
                args.stream,
                before.version,
                after.version,
                changes.len()
            ))?;
            for change in &changes {
                out.line(format!(
                    "{}: {} -> {}",
                    change.path, change.before, change.after
                ))?;
            }
        }
        return Ok(());
    }
    let moment = args.at.unwrap_or(Moment::Version(u64::MAX));
    let state = state_at(store, &args.stream, moment).await?;
    if out.is_json() {
        out.json_pretty(&state)?;
    } else {
        let when = state
            .recorded_at
            .map(|t| format!(", recorded {}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")))
            .unwrap_or_default();
        out.line(format!(
            "{} ({}) at version {} of {}{when}",
            state.stream_id, state.kind, state.version, state.current_version
        ))?;
        out.line(serde_json::to_string_pretty(&state.state).map_err(anyhow::Error::from)?)?;
    }
    Ok(())
}

/// The state of `stream` at `moment`, replayed from its events.
pub async fn state_at(
    store: &dyn EventStore,
    stream: &str,
    moment: Moment,
) -> Result<StateAt, CliError> {
    let current_version = store.stream_version(stream).await?;
    if current_version == 0 {
        return Err(CliError::NotFound(format!("there is no stream `{stream}`")));
    }
    let (version, recorded_at) = resolve(store, stream, moment, current_version).await?;
    let kind = stream.split_once('-').map_or(stream, |(kind, _)| kind);
    let (kind, mut state) = match kind {
        "tenant" => replay::<Tenant>(store, stream, version).await?,
        "policy" => replay::<Policy>(store, stream, version).await?,
        "workflow" => replay::<WorkflowDefinition>(store, stream, version).await?,
        "workflow_run" => replay::<WorkflowRun>(store, stream, version).await?,
        "integration" => replay::<Integration>(store, stream, version).await?,
        "platform" => replay::<PlatformKeys>(store, stream, version).await?,
        "billing" => replay::<Invoice>(store, stream, version).await?,
        other => {
            return Err(CliError::NotFound(format!(
                "`{stream}` is a `{other}` stream, which has no aggregate state; \
                 `keel events read --stream {stream}` shows its events"
            )))
        }
    };
    redact_secrets(&mut state);
    Ok(StateAt {
        stream_id: stream.to_owned(),
        kind,
        version,
        current_version,
        recorded_at,
        state,
    })
}

/// The stream version a moment names, and when its last event was recorded.
async fn resolve(
    store: &dyn EventStore,
    stream: &str,
    moment: Moment,
    current_version: u64,
) -> Result<(u64, Option<DateTime<Utc>>), CliError> {
    let version = match moment {
        Moment::Version(u64::MAX) => current_version,
        Moment::Version(version) if version > current_version => {
            return Err(CliError::InvalidArgument {
                argument: "at",
                reason: format!("`{stream}` has only {current_version} events"),
            })
        }
        Moment::Version(version) => version,
        Moment::Time(time) => {
            let mut version = 0;
            'pages: loop {
                let page = store.read_stream(stream, version + 1, PAGE).await?;
                for event in &page {
                    if event.recorded_at > time {
                        break 'pages;
                    }
                    version = event.stream_version;
                }
                if page.len() < PAGE {
                    break;
                }
            }
            version
        }
    };
    let recorded_at = match version {
        0 => None,
        v => store
            .read_stream(stream, v, 1)
            .await?
            .first()
            .map(|e| e.recorded_at),
    };
    Ok((version, recorded_at))
}

async fn replay<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    version: u64,
) -> Result<(&'static str, Value), CliError> {
    let loaded = load_at::<A>(store, stream, version).await?;
    let state = serde_json::to_value(&loaded.state).map_err(anyhow::Error::from)?;
    Ok((A::KIND, state))
}

/// Every leaf that differs between two JSON values, with JSON Pointer paths, in key order.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    diff_into(String::new(), before, after, &mut changes);
    changes
}

fn diff_into(path: String, before: &Value, after: &Value, changes: &mut Vec<FieldChange>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                let null = Value::Null;
                diff_into(
                    child,
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    changes,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                diff_into(format!("{path}/{index}"), x, y, changes);
            }
        }
        _ if before != after => changes.push(FieldChange {
            path: if path.is_empty() { "/".into() } else { path },
            before: before.clone(),
            after: after.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_each_changed_leaf() {
        let before = json!({"name": "Acme", "flags": {"a": true}, "members": [1, 2]});
        let after =
            json!({"name": "Acme Corp", "flags": {"a": true, "b/c": false}, "members": [1, 2, 3]});
        let changes = diff(&before, &after);
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    path: "/flags/b~1c".into(),
                    before: Value::Null,
                    after: json!(false)
                },
                FieldChange {
                    path: "/members".into(),
                    before: json!([1, 2]),
                    after: json!([1, 2, 3])
                },
                FieldChange {
                    path: "/name".into(),
                    before: json!("Acme"),
                    after: json!("Acme Corp")
                },
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn moments_are_versions_or_times() {
        assert_eq!("3".parse::<Moment>(), Ok(Moment::Version(3)));
        assert!(matches!(
            "2026-12-01T10:00:00Z".parse::<Moment>(),
            Ok(Moment::Time(_))
        ));
        assert!("yesterday"
            .parse::<Moment>()
            .unwrap_err()
            .contains("neither"));
    }
}
