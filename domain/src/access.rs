//! Access decisions: the requests the policy decision endpoint denied, recorded for compliance.
//!
//! Deciding is a query (nothing changes), and deciding is hot: appending an event per decision
//! would turn every check into a write. The API therefore collects a tenant's denials in memory
//! in a [`DenialBatch`] and appends it as one [`AccessDenialsRecorded`] per tenant per interval.
//! A batch keeps at most [`MAX_DENIALS_PER_BATCH`] denials in full (the first ones of the
//! interval) and counts the rest, so a flood of denials cannot grow an event without bound yet
//! none goes uncounted. Allowed decisions are not recorded.
//!
//! The events are on the stream `access-<tenant id>`; there is no aggregate deciding on them.

use crate::event::Upcaster;
use crate::policy::ReasonCode;
use crate::{domain_events, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Denials kept in full per tenant per interval; later ones are only counted.
pub const MAX_DENIALS_PER_BATCH: usize = 100;

/// The longest text kept of a denial's subject, role, action and resource, in characters: the
/// decision endpoint takes any length, a recorded batch must stay small.
pub const MAX_TEXT_CHARS: usize = 200;

/// Why a request was denied: one violation, and the policy version behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenialReason {
    /// `access_denied`, `no_access_rule`, `ip_not_allowed`, `ip_unknown` or `mfa_required`.
    pub code: ReasonCode,
    /// The policy the violation comes from; absent for the default deny.
    #[serde(default, with = "crate::ids::optional_uuid_text")]
    pub policy_id: Option<Uuid>,
    /// That policy's version in force.
    #[serde(default)]
    pub version: Option<u32>,
}

/// One denied request: who asked, about whom, what, when, from where, and why it was denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeniedRequest {
    /// When the decision was made (the server's clock).
    pub decided_at: DateTime<Utc>,
    /// The instant the request was decided for (its `at`, or the decision time).
    pub requested_at: DateTime<Utc>,
    /// The API key that asked for the decision (its id).
    pub asked_by: String,
    /// Whom the request was for (a user id), when the caller said.
    #[serde(default)]
    pub subject: Option<String>,
    /// The principal's role.
    pub role: String,
    /// What it wanted to do.
    pub action: String,
    /// What it wanted to do it on.
    pub resource: String,
    /// Where the request came from, when known.
    #[serde(default)]
    pub ip: Option<String>,
    /// Every violation.
    pub reasons: Vec<DenialReason>,
}

impl DeniedRequest {
    /// Clips the subject, role, action and resource to [`MAX_TEXT_CHARS`] characters.
    pub fn clipped(mut self) -> Self {
        for text in [&mut self.role, &mut self.action, &mut self.resource]
            .into_iter()
            .chain(self.subject.as_mut())
        {
            if let Some((end, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
                text.truncate(end);
            }
        }
        self
    }
}

/// A tenant's denials of one interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDenialsRecorded {
    /// When the first denial of the interval was decided.
    pub from: DateTime<Utc>,
    /// When the last one was.
    pub to: DateTime<Utc>,
    /// The first [`MAX_DENIALS_PER_BATCH`] denials, in decision order.
    pub denials: Vec<DeniedRequest>,
    /// How many more there were in the interval, not kept in full.
    pub omitted: u64,
}

domain_events! {
    /// Access decision events, on the stream `access-<tenant id>`.
    pub enum AccessEvent {
        /// A batch of denials.
        DenialsRecorded(AccessDenialsRecorded) = DENIALS_RECORDED: "access.denials_recorded" v 1,
    }
}

impl Upcaster for AccessEvent {}

/// The stream a tenant's access decision events are appended to.
pub fn access_stream(tenant: TenantId) -> String {
    format!("access-{tenant}")
}

/// Denials collected for one tenant until they are recorded: the first
/// [`MAX_DENIALS_PER_BATCH`] in full, the rest counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DenialBatch {
    denials: Vec<DeniedRequest>,
    omitted: u64,
    last: Option<DateTime<Utc>>,
}

impl DenialBatch {
    /// Adds a denial.
    pub fn push(&mut self, denial: DeniedRequest) {
        self.last = Some(
            self.last
                .map_or(denial.decided_at, |l| l.max(denial.decided_at)),
        );
        if self.denials.len() < MAX_DENIALS_PER_BATCH {
            self.denials.push(denial);
        } else {
            self.omitted += 1;
        }
    }

    /// How many denials it holds or counts.
    pub fn len(&self) -> u64 {
        self.denials.len() as u64 + self.omitted
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event recording it; `None` when empty.
    pub fn into_event(self) -> Option<AccessDenialsRecorded> {
        let first = self.denials.first()?.decided_at;
        Some(AccessDenialsRecorded {
            from: first,
            to: self.last.unwrap_or(first),
            denials: self.denials,
            omitted: self.omitted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainEvent;

    fn denial(n: i64) -> DeniedRequest {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000 + n, 0).unwrap();
        DeniedRequest {
            decided_at: at,
            requested_at: at,
            asked_by: "key".into(),
            subject: Some(format!("user-{n}")),
            role: "viewer".into(),
            action: "tenants.suspend".into(),
            resource: "tenants/1".into(),
            ip: None,
            reasons: vec![DenialReason {
                code: ReasonCode::NoAccessRule,
                policy_id: None,
                version: None,
            }],
        }
    }

    #[test]
    fn a_batch_keeps_the_first_denials_and_counts_the_rest() {
        let mut batch = DenialBatch::default();
        assert!(batch.is_empty());
        assert_eq!(batch.clone().into_event(), None);
        for n in 0..(MAX_DENIALS_PER_BATCH as i64 + 5) {
            batch.push(denial(n));
        }
        assert_eq!(batch.len(), MAX_DENIALS_PER_BATCH as u64 + 5);
        let event = batch.into_event().unwrap();
        assert_eq!(event.denials.len(), MAX_DENIALS_PER_BATCH);
        assert_eq!(event.omitted, 5);
        assert_eq!(event.from, denial(0).decided_at);
        assert_eq!(
            event.to,
            denial(MAX_DENIALS_PER_BATCH as i64 + 4).decided_at
        );
        assert_eq!(event.denials[0].subject.as_deref(), Some("user-0"));
    }

    #[test]
    fn long_texts_are_clipped_on_a_character_boundary() {
        let mut long = denial(1);
        long.resource = "é".repeat(MAX_TEXT_CHARS + 10);
        long.subject = Some("s".repeat(MAX_TEXT_CHARS + 1));
        let clipped = long.clipped();
        assert_eq!(clipped.resource.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(clipped.subject.unwrap().len(), MAX_TEXT_CHARS);
        assert_eq!(clipped.role, "viewer");
    }

    #[test]
    fn denials_round_trip_through_the_stored_payload() {
        let mut reason = denial(3);
        reason.reasons[0].policy_id = Some(Uuid::from_u128(7));
        reason.reasons[0].version = Some(2);
        let event = AccessEvent::DenialsRecorded(AccessDenialsRecorded {
            from: reason.decided_at,
            to: reason.decided_at,
            denials: vec![reason],
            omitted: 0,
        });
        let bytes = event.encode().unwrap();
        let json = crate::event::payload_to_json(&bytes).unwrap();
        assert_eq!(
            json["denials"][0]["reasons"][0]["policy_id"],
            "00000000-0000-0000-0000-000000000007"
        );
        assert_eq!(
            AccessEvent::decode("access.denials_recorded", 1, &bytes).unwrap(),
            event
        );
    }
}
