//! A tenant's activity report: usage trends, quota status, member and key activity, and a
//! summary of its policies and workflows, over a range.
//!
//! Usage and quotas come from the usage read model, the policy versions from the reports
//! projection, everything else from the tenant's audit trail. Quota status is that of the
//! billing month holding the range's last instant, with the plan and overrides in force now
//! (the usage read model keeps no history of quotas).

use super::audit_facts::{action_counts, actor_activity, ActorActivity};
use super::overview::push_usage;
use super::policies::{versions_in_force, PolicyVersionSpan};
use super::range::{Granularity, ReportRange};
use super::table::{opt, time, CsvTable};
use super::trend::{usage_trend, MeterTrend};
use crate::error::ProjectionError;
use crate::usage::meters::period_of;
use crate::usage::{quota_status, QuotaStatus};
use chrono::{DateTime, Utc};
use keel_domain::billing::Catalogue;
use keel_domain::tenant::TenantEvent;
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::BTreeMap;

/// Member changes in the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberActivity {
    /// Members added.
    pub added: u64,
    /// Members removed.
    pub removed: u64,
    /// Role changes.
    pub role_changed: u64,
}

/// API key changes in the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyActivity {
    /// Keys issued.
    pub issued: u64,
    /// Keys revoked.
    pub revoked: u64,
}

/// The tenant's policies over the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyActivity {
    /// The versions in force at the end of the range (platform-wide ones included).
    pub in_force_at_end: Vec<PolicyVersionSpan>,
    /// How often each policy action was taken (`policy.published`: 2).
    pub actions: BTreeMap<String, u64>,
}

/// The tenant's workflows over the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowActivity {
    /// How often each definition action was taken (`workflow.defined`, `workflow.enabled`...).
    pub definitions: BTreeMap<String, u64>,
    /// How often each run event happened (`workflow_run.started`, `workflow_run.completed`,
    /// `workflow_run.failed`...).
    pub runs: BTreeMap<String, u64>,
}

/// A tenant's activity report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The range's start.
    pub from: DateTime<Utc>,
    /// The range's end (exclusive).
    pub to: DateTime<Utc>,
    /// The granularity of the usage trends.
    pub granularity: &'static str,
    /// Every meter's usage.
    pub usage: Vec<MeterTrend>,
    /// The billing month of the quota status, `YYYY-MM`.
    pub quota_month: String,
    /// Every meter's quota status in that month.
    pub quotas: Vec<QuotaStatus>,
    /// Member changes.
    pub members: MemberActivity,
    /// API key changes.
    pub keys: KeyActivity,
    /// Who acted (keys, users, Keel's own components), most active first.
    pub actors: Vec<ActorActivity>,
    /// Policies.
    pub policies: PolicyActivity,
    /// Workflows and runs.
    pub workflows: WorkflowActivity,
}

/// The CSV columns of the activity report.
pub const CSV_COLUMNS: &[&str] = &[
    "section",
    "meter",
    "period_start",
    "value",
    "events",
    "limit",
    "used",
    "remaining",
    "percent",
    "overridden",
    "action",
    "count",
    "actor_kind",
    "actor_id",
    "policy_id",
    "name",
    "kind",
    "version",
    "platform_wide",
    "active_from",
];

/// Builds `tenant`'s activity report over `range` with usage at `granularity`, quotas from
/// `catalogue`.
pub async fn activity(
    db: &Database,
    catalogue: &Catalogue,
    tenant: TenantId,
    range: &ReportRange,
    granularity: Granularity,
) -> Result<Activity, ProjectionError> {
    let counts = action_counts(db, tenant, range).await?;
    let count = |action: &str| counts.get(action).copied().unwrap_or(0);
    let with_prefix = |prefix: &str| -> BTreeMap<String, u64> {
        counts
            .iter()
            .filter(|(action, _)| action.starts_with(prefix))
            .map(|(action, n)| (action.clone(), *n))
            .collect()
    };
    let mut in_force_at_end = versions_in_force(db, tenant, range).await?;
    in_force_at_end.retain(|span| span.active_until.is_none());
    Ok(Activity {
        tenant_id: tenant,
        from: range.from,
        to: range.to,
        granularity: granularity.as_str(),
        usage: usage_trend(db, Some(tenant), range, granularity).await?,
        quota_month: period_of(range.last_instant()),
        quotas: quota_status(db, catalogue, tenant, range.last_instant()).await?,
        members: MemberActivity {
            added: count(TenantEvent::MEMBER_ADDED),
            removed: count(TenantEvent::MEMBER_REMOVED),
            role_changed: count(TenantEvent::MEMBER_ROLE_CHANGED),
        },
        keys: KeyActivity {
            issued: count(TenantEvent::API_KEY_ISSUED),
            revoked: count(TenantEvent::API_KEY_REVOKED),
        },
        actors: actor_activity(db, tenant, range).await?,
        policies: PolicyActivity {
            in_force_at_end,
            actions: with_prefix("policy."),
        },
        workflows: WorkflowActivity {
            definitions: with_prefix("workflow."),
            runs: with_prefix("workflow_run."),
        },
    })
}

impl super::Report for Activity {
    /// The report as one CSV table (see [`CSV_COLUMNS`]); sections `usage`, `quota`,
    /// `members`, `keys`, `actors`, `policy_in_force`, `policies`, `workflows`, `runs`.
    fn to_csv(&self) -> Vec<u8> {
        let mut table = CsvTable::new(CSV_COLUMNS);
        push_usage(&mut table, &self.usage);
        for quota in &self.quotas {
            table.push(
                "quota",
                &[
                    ("meter", quota.meter.to_owned()),
                    ("limit", opt(&quota.limit)),
                    ("used", quota.used.to_string()),
                    ("remaining", opt(&quota.remaining)),
                    ("percent", opt(&quota.percent)),
                    ("overridden", quota.overridden.to_string()),
                ],
            );
        }
        let members = [
            ("added", self.members.added),
            ("removed", self.members.removed),
            ("role_changed", self.members.role_changed),
        ];
        let keys = [("issued", self.keys.issued), ("revoked", self.keys.revoked)];
        for (section, tallies) in [("members", &members[..]), ("keys", &keys[..])] {
            for (action, n) in tallies {
                table.push(
                    section,
                    &[("action", (*action).to_owned()), ("count", n.to_string())],
                );
            }
        }
        for actor in &self.actors {
            table.push(
                "actors",
                &[
                    ("actor_kind", actor.actor_kind.clone()),
                    ("actor_id", actor.actor_id.clone()),
                    ("count", actor.actions.to_string()),
                ],
            );
        }
        for span in &self.policies.in_force_at_end {
            table.push(
                "policy_in_force",
                &[
                    ("policy_id", span.policy_id.clone()),
                    ("name", span.name.clone()),
                    ("kind", span.kind.clone()),
                    ("version", span.version.to_string()),
                    ("platform_wide", span.platform_wide.to_string()),
                    ("active_from", time(span.active_from)),
                ],
            );
        }
        for (section, tallies) in [
            ("policies", &self.policies.actions),
            ("workflows", &self.workflows.definitions),
            ("runs", &self.workflows.runs),
        ] {
            for (action, n) in tallies {
                table.push(
                    section,
                    &[("action", action.clone()), ("count", n.to_string())],
                );
            }
        }
        table.into_bytes()
    }
}
