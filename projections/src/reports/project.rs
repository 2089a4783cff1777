//! The reports projection (`reports`): the facts reports need that no other read model keeps.
//!
//! - `report_tenant_history`: every change of a tenant's status or plan, with the time it took
//!   effect (a plan change at its `effective_at`, everything else when it happened). A tenant's
//!   status and plan at any instant, and the tenants created and decommissioned in a month,
//!   follow from it.
//! - `report_policy_events`: every time a policy version was put in force or taken out of it,
//!   so the versions in force during any period can be told.
//! - `report_denials` and `report_denial_batches`: the access denials the API recorded, one
//!   row per denial kept in full and one row per batch with the count of those only counted.
//!
//! Every row is inserted once, keyed by the event's position: the handler reads nothing, so a
//! rebuild writes exactly the rows the incremental build did, and a batch applied twice would
//! fail on its keys instead of counting twice (the framework applies each batch once).

use crate::db::{insert_rows, micros, Param, Tx};
use crate::error::ProjectionError;
use crate::projection::{ColumnType as C, Projection, TableSpec, Tables};
use async_trait::async_trait;
use keel_domain::access::AccessEvent;
use keel_domain::policy::PolicyEvent;
use keel_domain::tenant::TenantEvent;
use keel_log::RecordedEvent;

static TABLES: &[TableSpec] = &[
    TableSpec {
        base: "report_tenant_history",
        columns: &[
            ("tenant_id", C::Text),
            ("position", C::Int),
            // `status` or `plan`.
            ("kind", C::Text),
            ("at", C::Int),
            ("value", C::Text),
            // The event, without its `tenant.` prefix.
            ("event", C::Text),
        ],
        key: &["tenant_id", "position", "kind"],
        indexes: &[&["at"]],
        updated_in_place: false,
    },
    TableSpec {
        base: "report_policy_events",
        columns: &[
            // The policy's tenant, or the nil id for a platform-wide policy.
            ("owner_id", C::Text),
            ("position", C::Int),
            ("policy_id", C::Text),
            ("name", C::Text),
            ("kind", C::Text),
            ("version", C::Int),
            // `published` or `deactivated`.
            ("event", C::Text),
            ("at", C::Int),
        ],
        key: &["owner_id", "position"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "report_denials",
        columns: &[
            ("tenant_id", C::Text),
            ("position", C::Int),
            ("idx", C::Int),
            ("decided_at", C::Int),
            ("requested_at", C::Int),
            ("asked_by", C::Text),
            ("subject", C::OptText),
            ("role", C::Text),
            ("action", C::Text),
            ("resource", C::Text),
            ("ip", C::OptText),
            // JSON array of `{code, policy_id, version}`.
            ("reasons", C::Text),
        ],
        key: &["tenant_id", "position", "idx"],
        indexes: &[&["tenant_id", "decided_at"]],
        updated_in_place: false,
    },
    TableSpec {
        base: "report_denial_batches",
        columns: &[
            ("tenant_id", C::Text),
            ("position", C::Int),
            ("from_at", C::Int),
            ("to_at", C::Int),
            ("kept", C::Int),
            ("omitted", C::Int),
        ],
        key: &["tenant_id", "position"],
        indexes: &[&["tenant_id", "to_at"]],
        updated_in_place: false,
    },
];

/// The reports projection (`reports`).
pub struct ReportsProjection;

/// The rows one batch inserts, per table, each row in its table's column order.
#[derive(Default)]
struct Rows {
    history: Vec<Vec<Param>>,
    policies: Vec<Vec<Param>>,
    denials: Vec<Vec<Param>>,
    batches: Vec<Vec<Param>>,
}

#[async_trait]
impl Projection for ReportsProjection {
    fn name(&self) -> &'static str {
        "reports"
    }

    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            TenantEvent::CREATED
                | TenantEvent::PLAN_CHANGED
                | TenantEvent::SUSPENDED
                | TenantEvent::REACTIVATED
                | TenantEvent::DECOMMISSIONED
                | PolicyEvent::PUBLISHED
                | PolicyEvent::DEACTIVATED
                | AccessEvent::DENIALS_RECORDED
        )
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut rows = Rows::default();
        for event in events {
            let fail =
                |e: &dyn std::fmt::Display| ProjectionError::handler(event.global_position, e);
            match event.event_type.split('.').next() {
                Some("tenant") => {
                    tenant_rows(event, &event.decode().map_err(|e| fail(&e))?, &mut rows)
                }
                Some("policy") => {
                    policy_rows(event, &event.decode().map_err(|e| fail(&e))?, &mut rows)
                }
                _ => denial_rows(event, event.decode().map_err(|e| fail(&e))?, &mut rows)
                    .map_err(|e| fail(&e))?,
            }
        }
        // `TABLES` and the rows are in the same order: history, policies, denials, batches.
        for (table, rows) in
            TABLES
                .iter()
                .zip([&rows.history, &rows.policies, &rows.denials, &rows.batches])
        {
            let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
            insert_rows(tx, &tables.name(table.base), &columns, rows, "").await?;
        }
        Ok(())
    }
}

fn tenant_rows(recorded: &RecordedEvent, event: &TenantEvent, rows: &mut Rows) {
    let at = micros(recorded.metadata.occurred_at);
    let mut push = |kind: &str, at: i64, value: &str| {
        rows.history.push(vec![
            Param::Text(recorded.metadata.tenant_id.to_string()),
            Param::Int(recorded.global_position as i64),
            Param::Text(kind.to_owned()),
            Param::Int(at),
            Param::Text(value.to_owned()),
            Param::Text(recorded.event_type.trim_start_matches("tenant.").to_owned()),
        ])
    };
    match event {
        TenantEvent::Created(created) => {
            push("status", at, "active");
            push("plan", at, created.plan.as_str());
        }
        // Billing and quotas switch over at `effective_at`; so does a report's plan.
        TenantEvent::PlanChanged(changed) => {
            push("plan", micros(changed.effective_at), changed.plan.as_str())
        }
        TenantEvent::Suspended(_) => push("status", at, "suspended"),
        TenantEvent::Reactivated(_) => push("status", at, "active"),
        TenantEvent::Decommissioned(_) => push("status", at, "decommissioned"),
        _ => {}
    }
}

fn policy_rows(recorded: &RecordedEvent, event: &PolicyEvent, rows: &mut Rows) {
    let (tenant_id, policy_id, name, kind, version, what) = match event {
        PolicyEvent::Published(e) => (
            e.tenant_id,
            e.policy_id,
            &e.name,
            e.kind,
            e.version,
            "published",
        ),
        PolicyEvent::Deactivated(e) => (
            e.tenant_id,
            e.policy_id,
            &e.name,
            e.kind,
            e.version,
            "deactivated",
        ),
        _ => return,
    };
    rows.policies.push(vec![
        Param::Text(tenant_id.to_string()),
        Param::Int(recorded.global_position as i64),
        Param::Text(policy_id.to_string()),
        Param::Text(name.as_str().to_owned()),
        Param::Text(kind.as_str().to_owned()),
        Param::Int(i64::from(version)),
        Param::Text(what.to_owned()),
        Param::Int(micros(recorded.metadata.occurred_at)),
    ]);
}

fn denial_rows(
    recorded: &RecordedEvent,
    event: AccessEvent,
    rows: &mut Rows,
) -> Result<(), serde_json::Error> {
    let AccessEvent::DenialsRecorded(batch) = event;
    let tenant = recorded.metadata.tenant_id.to_string();
    let position = recorded.global_position as i64;
    for (idx, denial) in batch.denials.iter().enumerate() {
        rows.denials.push(vec![
            Param::Text(tenant.clone()),
            Param::Int(position),
            Param::Int(idx as i64),
            Param::Int(micros(denial.decided_at)),
            Param::Int(micros(denial.requested_at)),
            Param::Text(denial.asked_by.clone()),
            Param::OptText(denial.subject.clone()),
            Param::Text(denial.role.clone()),
            Param::Text(denial.action.clone()),
            Param::Text(denial.resource.clone()),
            Param::OptText(denial.ip.clone()),
            Param::Text(serde_json::to_string(&denial.reasons)?),
        ]);
    }
    rows.batches.push(vec![
        Param::Text(tenant),
        Param::Int(position),
        Param::Int(micros(batch.from)),
        Param::Int(micros(batch.to)),
        Param::Int(batch.denials.len() as i64),
        Param::Int(batch.omitted.min(i64::MAX as u64) as i64),
    ]);
    Ok(())
}
