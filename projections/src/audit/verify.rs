//! Verifying audit chains: recompute every record's hash and check the links, the stored
//! checkpoints and the chain head, naming the first record that does not hold.

use super::chain::GENESIS;
use super::record::{AuditRow, COLUMNS};
use crate::error::ProjectionError;
use futures::TryStreamExt;
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::BTreeMap;

/// The first record of a chain that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenRecord {
    /// Its number in the chain.
    pub seq: u64,
    /// Its event's position, when the record exists.
    pub position: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// One tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The tenant.
    pub tenant_id: String,
    /// Records read.
    pub records: u64,
    /// The first broken record, if any.
    pub first_broken: Option<BrokenRecord>,
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Whether every chain verified.
    pub valid: bool,
    /// Each chain.
    pub chains: Vec<ChainReport>,
}

/// Verifies the chain of `tenant`, or of every tenant.
pub async fn verify(
    db: &Database,
    tenant: Option<TenantId>,
) -> Result<VerifyReport, ProjectionError> {
    let tenants: Vec<String> = match tenant {
        Some(t) => vec![t.to_string()],
        None => crate::with_pool!(db, pool => {
            sqlx::query_scalar("SELECT tenant_id FROM audit_heads UNION SELECT DISTINCT tenant_id FROM audit_records ORDER BY 1")
                .fetch_all(pool).await?
        }),
    };
    let mut chains = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        chains.push(verify_chain(db, tenant).await?);
    }
    Ok(VerifyReport {
        valid: chains.iter().all(|c| c.first_broken.is_none()),
        chains,
    })
}

async fn verify_chain(db: &Database, tenant: String) -> Result<ChainReport, ProjectionError> {
    let head: Option<(i64, String)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
            .bind(&tenant).fetch_optional(pool).await?
    });
    let checkpoints: BTreeMap<i64, String> = crate::with_pool!(db, pool => {
        sqlx::query_as::<_, (i64, String)>("SELECT seq, hash FROM audit_chain_checkpoints WHERE tenant_id = $1")
            .bind(&tenant).fetch_all(pool).await?.into_iter().collect()
    });
    let sql = format!("SELECT {COLUMNS} FROM audit_records WHERE tenant_id = $1 ORDER BY seq");
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut records = 0u64;
    let broken = |seq: i64, position: Option<i64>, reason: String| BrokenRecord {
        seq: seq as u64,
        position: position.map(|p| p as u64),
        reason,
    };
    let mut first_broken = None;
    crate::with_pool!(db, pool => {
        let mut rows = sqlx::query_as::<_, AuditRow>(&sql).bind(&tenant).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            records += 1;
            let problem = if row.seq > expected_seq {
                Some(broken(expected_seq, None, format!("record {expected_seq} is missing (the next stored record is {})", row.seq)))
            } else if row.seq < expected_seq {
                Some(broken(row.seq, Some(row.position), "record is out of order".into()))
            } else if row.prev_hash != prev_hash {
                Some(broken(row.seq, Some(row.position), "its previous hash does not match the record before it (removed or reordered)".into()))
            } else if row.hashed().hash() != row.hash {
                Some(broken(row.seq, Some(row.position), "its content does not match its hash (changed)".into()))
            } else if checkpoints.get(&row.seq).is_some_and(|h| *h != row.hash) {
                Some(broken(row.seq, Some(row.position), "its hash differs from the stored checkpoint".into()))
            } else {
                None
            };
            if problem.is_some() {
                first_broken = problem;
                break;
            }
            prev_hash = row.hash;
            expected_seq += 1;
        }
    });
    let last = expected_seq - 1;
    if first_broken.is_none() {
        let claimed = head
            .as_ref()
            .map_or(0, |(seq, _)| *seq)
            .max(checkpoints.keys().next_back().copied().unwrap_or(0));
        if claimed > last {
            first_broken = Some(broken(
                last + 1,
                None,
                format!("records {} to {claimed} are missing", last + 1),
            ));
        } else if let Some((seq, hash)) = &head {
            if *seq == last && *hash != prev_hash {
                first_broken = Some(broken(
                    last,
                    None,
                    "the last record's hash differs from the chain head".into(),
                ));
            }
        }
    }
    Ok(ChainReport {
        tenant_id: tenant,
        records,
        first_broken,
    })
}
