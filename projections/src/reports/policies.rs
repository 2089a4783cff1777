//! Policy versions in force over time, from `report_policy_events`: for a tenant, its own
//! policies and the platform-wide ones beneath every tenant.
//!
//! A version is in force from its `policy.published` until the next version of the policy is
//! published or it is deactivated (archiving deactivates first).

use super::range::ReportRange;
use crate::db::{fetch_all, from_micros, micros, Param};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::BTreeMap;

/// A policy version and when it was in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersionSpan {
    /// The policy's id.
    pub policy_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The version.
    pub version: u32,
    /// Whether it is a platform-wide policy.
    pub platform_wide: bool,
    /// When it was put in force.
    pub active_from: DateTime<Utc>,
    /// When it went out of force; absent when still in force at the end of the range.
    pub active_until: Option<DateTime<Utc>>,
}

/// The versions of `tenant`'s and the platform's policies in force at some time in `range`,
/// ordered by when they came into force.
pub async fn versions_in_force(
    db: &Database,
    tenant: TenantId,
    range: &ReportRange,
) -> Result<Vec<PolicyVersionSpan>, ProjectionError> {
    let rows: Vec<(String, String, String, String, i64, String, i64)> = fetch_all(
        db,
        "SELECT owner_id, policy_id, name, kind, version, event, at FROM report_policy_events \
         WHERE owner_id IN ($1, $2) AND at < $3 ORDER BY position",
        &[
            Param::Text(tenant.to_string()),
            Param::Text(TenantId::PLATFORM.to_string()),
            Param::Int(micros(range.to)),
        ],
    )
    .await?;
    let mut open: BTreeMap<String, PolicyVersionSpan> = BTreeMap::new();
    let mut spans = Vec::new();
    for (owner, policy_id, name, kind, version, event, at) in rows {
        let at = from_micros(at);
        let version = version as u32;
        let closes = open
            .get(&policy_id)
            .is_some_and(|span| event == "published" || span.version == version);
        if closes {
            let mut span = open.remove(&policy_id).expect("checked above");
            span.active_until = Some(at);
            spans.push(span);
        }
        if event == "published" {
            open.insert(
                policy_id.clone(),
                PolicyVersionSpan {
                    policy_id,
                    name,
                    kind,
                    version,
                    platform_wide: owner == TenantId::PLATFORM.to_string(),
                    active_from: at,
                    active_until: None,
                },
            );
        }
    }
    spans.extend(open.into_values());
    spans.retain(|span| span.active_until.is_none_or(|until| until > range.from));
    spans.sort_by(|a, b| {
        (a.active_from, &a.policy_id, a.version).cmp(&(b.active_from, &b.policy_id, b.version))
    });
    Ok(spans)
}
