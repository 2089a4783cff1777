//! A tiny aggregate for exercising the command handler and the store's upcasting: a counter
//! that can be incremented by an amount and refuses to go above a limit.

use keel_domain::{domain_events, Aggregate, DecisionContext, EventCodecError, Upcaster};
use serde::{Deserialize, Serialize};

/// The counter's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// Current value.
    pub value: u64,
    /// Every increment applied, in order (so replays can be compared exactly).
    pub history: Vec<u64>,
}

/// Counter commands.
#[derive(Debug, Clone)]
pub enum CounterCommand {
    /// Adds `by` to the value.
    Increment {
        /// How much.
        by: u64,
    },
    /// Adds nothing and records nothing.
    Touch,
}

/// The value would pass [`LIMIT`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the counter cannot go above {LIMIT}")]
pub struct OverLimit;

/// The highest value a counter may reach.
pub const LIMIT: u64 = 1_000_000;

/// Payload of `counter.incremented`, version 2 (version 1 called the field `amount`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incremented {
    /// How much was added.
    pub by: u64,
}

domain_events! {
    /// Counter events.
    pub enum CounterEvent {
        /// The counter was incremented.
        Incremented(Incremented) = INCREMENTED: "counter.incremented" v 2,
    }
}

impl Upcaster for CounterEvent {
    fn upcast(
        event_type: &str,
        from_version: u16,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, EventCodecError> {
        match (event_type, from_version) {
            ("counter.incremented", 1) => Ok(serde_json::json!({ "by": payload["amount"] })),
            _ => Err(EventCodecError::NoUpcaster {
                event_type: event_type.to_owned(),
                version: from_version,
            }),
        }
    }
}

impl Aggregate for Counter {
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = OverLimit;
    const KIND: &'static str = "counter";
    const SNAPSHOT_VERSION: u16 = 1;

    fn decide(
        &self,
        command: &CounterCommand,
        _ctx: &DecisionContext,
    ) -> Result<Vec<CounterEvent>, OverLimit> {
        match command {
            CounterCommand::Increment { by } if self.value + by > LIMIT => Err(OverLimit),
            CounterCommand::Increment { by } => {
                Ok(vec![CounterEvent::Incremented(Incremented { by: *by })])
            }
            CounterCommand::Touch => Ok(Vec::new()),
        }
    }

    fn apply(&mut self, event: &CounterEvent) {
        match event {
            CounterEvent::Incremented(e) => {
                self.value += e.by;
                self.history.push(e.by);
            }
        }
    }
}
