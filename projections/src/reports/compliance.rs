//! A tenant's compliance report over a range: the policy versions in force (platform-wide ones
//! included), the access denials recorded, API key issuance and revocation, member changes, and
//! the verification of the tenant's whole audit hash chain.
//!
//! Key and member changes are the tenant's audit records of those actions, each with its chain
//! number and hash, so an auditor can tie every line to the verified chain. Each list holds at
//! most [`MAX_LISTED`] entries and says when it was cut.

use super::audit_facts::records;
use super::denials::{denials, DenialSummary};
use super::policies::{versions_in_force, PolicyVersionSpan};
use super::range::ReportRange;
use super::table::{opt, time, CsvTable};
use crate::audit::{verify, AuditKey, AuditRecord, BrokenRecord, Signatures, VerifyReport};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::tenant::TenantEvent;
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;

/// Most entries in each list of the report.
pub const MAX_LISTED: usize = 1000;

/// The key actions the report lists.
pub const KEY_ACTIONS: &[&str] = &[TenantEvent::API_KEY_ISSUED, TenantEvent::API_KEY_REVOKED];

/// The member actions the report lists.
pub const MEMBER_ACTIONS: &[&str] = &[
    TenantEvent::MEMBER_ADDED,
    TenantEvent::MEMBER_ROLE_CHANGED,
    TenantEvent::MEMBER_REMOVED,
];

/// One audited change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditedChange {
    /// Its number in the tenant's audit chain.
    pub seq: u64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The event type (`tenant.api_key_issued`).
    pub action: String,
    /// The key or member id.
    pub entity_id: String,
    /// Who did it: `api_key`, `user` or `system`.
    pub actor_kind: String,
    /// Its id.
    pub actor_id: String,
    /// The recorded values (a key's name and scopes, a member's email and role).
    pub details: Option<serde_json::Value>,
    /// The record's hash in the chain.
    pub hash: String,
}

impl From<AuditRecord> for AuditedChange {
    fn from(record: AuditRecord) -> Self {
        AuditedChange {
            seq: record.seq,
            occurred_at: record.occurred_at,
            action: record.action,
            entity_id: record.entity_id,
            actor_kind: record.actor_kind,
            actor_id: record.actor_id,
            details: record.after,
            hash: record.hash,
        }
    }
}

/// A list of changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Changes {
    /// The changes, in chain order.
    pub items: Vec<AuditedChange>,
    /// Whether there were more than [`MAX_LISTED`].
    pub truncated: bool,
}

/// The verification of the tenant's audit chain (all of it, not only the range).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainVerification {
    /// Whether every record verified.
    pub valid: bool,
    /// Records read.
    pub records: u64,
    /// `verified`: every checkpoint is signed by the server's audit key; `unsigned`: signing
    /// is off, and the chain holds by its hashes alone.
    pub signatures: Signatures,
    /// The first changed, removed or reordered record, if any.
    pub first_broken: Option<BrokenRecord>,
}

impl ChainVerification {
    /// The verification of one tenant's chain from `report`.
    pub fn of(report: VerifyReport) -> Self {
        let chain = report.chains.into_iter().next();
        ChainVerification {
            valid: report.valid,
            records: chain.as_ref().map_or(0, |c| c.records),
            signatures: chain
                .as_ref()
                .map_or(Signatures::Unsigned, |c| c.signatures),
            first_broken: chain.and_then(|c| c.first_broken),
        }
    }
}

/// A tenant's compliance report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compliance {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The range's start.
    pub from: DateTime<Utc>,
    /// The range's end (exclusive).
    pub to: DateTime<Utc>,
    /// Policy versions in force at some time in the range.
    pub policy_versions: Vec<PolicyVersionSpan>,
    /// Access denials recorded in the range.
    pub access_denials: DenialSummary,
    /// API keys issued and revoked.
    pub key_changes: Changes,
    /// Members added, removed and given another role.
    pub member_changes: Changes,
    /// The audit chain's verification.
    pub audit_chain: ChainVerification,
}

/// The CSV columns of the compliance report.
pub const CSV_COLUMNS: &[&str] = &[
    "section",
    "at",
    "until",
    "policy_id",
    "name",
    "kind",
    "version",
    "platform_wide",
    "actor_kind",
    "actor_id",
    "subject",
    "role",
    "action",
    "resource",
    "ip",
    "reasons",
    "entity_id",
    "details",
    "seq",
    "hash",
    "valid",
    "count",
];

/// Builds `tenant`'s compliance report over `range`; the chain's checkpoint signatures are
/// checked with `key` (none: signing is off, the report says `unsigned`).
pub async fn compliance(
    db: &Database,
    tenant: TenantId,
    range: &ReportRange,
    key: Option<&AuditKey>,
) -> Result<Compliance, ProjectionError> {
    let changes = |actions: &'static [&'static str]| async move {
        let (items, truncated) = records(db, tenant, range, actions, MAX_LISTED).await?;
        Ok::<_, ProjectionError>(Changes {
            items: items.into_iter().map(AuditedChange::from).collect(),
            truncated,
        })
    };
    let verified = verify(db, Some(tenant), key).await?;
    Ok(Compliance {
        tenant_id: tenant,
        from: range.from,
        to: range.to,
        policy_versions: versions_in_force(db, tenant, range).await?,
        access_denials: denials(db, tenant, range, MAX_LISTED).await?,
        key_changes: changes(KEY_ACTIONS).await?,
        member_changes: changes(MEMBER_ACTIONS).await?,
        audit_chain: ChainVerification::of(verified),
    })
}

impl super::Report for Compliance {
    /// The report as one CSV table (see [`CSV_COLUMNS`]); sections `policy_version`,
    /// `denial`, `denials_total`, `denials_omitted`, `key_change`, `member_change` and
    /// `audit_chain`.
    fn to_csv(&self) -> Vec<u8> {
        let mut table = CsvTable::new(CSV_COLUMNS);
        for span in &self.policy_versions {
            table.push(
                "policy_version",
                &[
                    ("at", time(span.active_from)),
                    ("until", opt(&span.active_until.map(time))),
                    ("policy_id", span.policy_id.clone()),
                    ("name", span.name.clone()),
                    ("kind", span.kind.clone()),
                    ("version", span.version.to_string()),
                    ("platform_wide", span.platform_wide.to_string()),
                ],
            );
        }
        let denials = &self.access_denials;
        for denial in &denials.items {
            table.push(
                "denial",
                &[
                    ("at", time(denial.decided_at)),
                    ("actor_kind", "api_key".into()),
                    ("actor_id", denial.asked_by.clone()),
                    ("subject", opt(&denial.subject)),
                    ("role", denial.role.clone()),
                    ("action", denial.action.clone()),
                    ("resource", denial.resource.clone()),
                    ("ip", opt(&denial.ip)),
                    ("reasons", denial.reasons.to_string()),
                ],
            );
        }
        table.push("denials_total", &[("count", denials.total.to_string())]);
        table.push("denials_omitted", &[("count", denials.omitted.to_string())]);
        for (section, changes) in [
            ("key_change", &self.key_changes),
            ("member_change", &self.member_changes),
        ] {
            for change in &changes.items {
                table.push(
                    section,
                    &[
                        ("at", time(change.occurred_at)),
                        ("actor_kind", change.actor_kind.clone()),
                        ("actor_id", change.actor_id.clone()),
                        ("action", change.action.clone()),
                        ("entity_id", change.entity_id.clone()),
                        ("details", opt(&change.details)),
                        ("seq", change.seq.to_string()),
                        ("hash", change.hash.clone()),
                    ],
                );
            }
        }
        let chain = &self.audit_chain;
        table.push(
            "audit_chain",
            &[
                ("valid", chain.valid.to_string()),
                ("count", chain.records.to_string()),
                ("kind", chain.signatures.as_str().into()),
                ("seq", opt(&chain.first_broken.as_ref().map(|b| b.seq))),
                (
                    "details",
                    opt(&chain.first_broken.as_ref().map(|b| b.reason.clone())),
                ),
            ],
        );
        table.into_bytes()
    }
}
