//! A given/when/then harness for aggregate tests.
//!
//! ```text
//! given::<Tenant>(vec![created()]).when(&rename("New")).then(vec![renamed("New")]);
//! given::<Tenant>(vec![created(), suspended()]).when(&rename("New")).then_err(TenantError::Suspended);
//! ```

use crate::aggregate::{Aggregate, DecisionContext};
use chrono::{TimeZone, Utc};
use std::fmt::Debug;

/// The fixed time every harness decision is made at: 2026-01-01T00:00:00Z.
pub fn test_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Starts a test from the events that already happened.
pub fn given<A: Aggregate>(events: Vec<A::Event>) -> Given<A> {
    Given {
        state: A::from_events(events.iter()),
        ctx: DecisionContext::at(test_now()),
    }
}

/// The state built from the given events.
pub struct Given<A: Aggregate> {
    state: A,
    ctx: DecisionContext,
}

impl<A: Aggregate> Given<A> {
    /// Decides at another time than [`test_now`].
    pub fn at(mut self, now: chrono::DateTime<Utc>) -> Self {
        self.ctx = DecisionContext::at(now);
        self
    }

    /// Decides the command in the given state.
    pub fn when(self, command: &A::Command) -> Then<A> {
        let outcome = self.state.decide(command, &self.ctx);
        Then {
            state: self.state,
            outcome,
        }
    }
}

/// The outcome of a decision, to assert on.
pub struct Then<A: Aggregate> {
    state: A,
    outcome: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Then<A>
where
    A::Event: PartialEq,
    A::Error: PartialEq + Debug,
{
    /// Asserts the command produced exactly these events; returns the state after them.
    #[track_caller]
    pub fn then(self, expected: Vec<A::Event>) -> A {
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "unexpected events");
                let mut state = self.state;
                for event in &events {
                    state.apply(event);
                }
                state
            }
            Err(error) => panic!("expected events {expected:?}, got refusal {error:?}"),
        }
    }

    /// Asserts the command was refused with exactly this error.
    #[track_caller]
    pub fn then_err(self, expected: A::Error) {
        match self.outcome {
            Ok(events) => panic!("expected refusal {expected:?}, got events {events:?}"),
            Err(error) => assert_eq!(error, expected),
        }
    }

    /// Asserts the command was accepted, whatever it recorded; returns the state after it.
    #[track_caller]
    pub fn then_ok(self) -> A {
        match self.outcome {
            Ok(events) => {
                let mut state = self.state;
                for event in &events {
                    state.apply(event);
                }
                state
            }
            Err(error) => panic!("expected acceptance, got refusal {error:?}"),
        }
    }

    /// The raw outcome, for assertions the helpers above do not cover.
    pub fn outcome(self) -> Result<Vec<A::Event>, A::Error> {
        self.outcome
    }
}

/// Checks an aggregate's event codec with one event of every type: each round-trips through
/// encode and decode, has a JSON view, and together they cover exactly `all_types`.
#[track_caller]
pub fn assert_codec_covers<E: crate::DomainEvent + PartialEq>(events: &[E], all_types: &[&str]) {
    for event in events {
        let bytes = event.encode().expect("an event encodes");
        let decoded = E::decode(event.event_type(), event.schema_version(), &bytes);
        assert_eq!(decoded.as_ref(), Ok(event), "{}", event.event_type());
        let json = crate::event::payload_to_json(&bytes);
        assert!(json.is_ok(), "{}: {json:?}", event.event_type());
    }
    let mut covered: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    covered.sort_unstable();
    covered.dedup();
    let mut expected = all_types.to_vec();
    expected.sort_unstable();
    assert_eq!(covered, expected, "one event of every type");
}
