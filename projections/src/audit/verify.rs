//! Verifying audit chains: recompute every record's commitments and hash, check the links,
//! the checkpoints (and, given a public key, their signatures) and the chain head, naming the
//! first record or checkpoint that does not hold. [`ChainCheck`] is the one implementation;
//! [`verify`] feeds it from the database, [`super::offline`] from an export.

use super::chain::GENESIS;
use super::record::{AuditRow, COLUMNS};
use super::sign::AuditKey;
use crate::error::ProjectionError;
use futures::TryStreamExt;
use keel_domain::TenantId;
use keel_log::Database;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first record of a chain that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenRecord {
    /// Its number in the chain (a checkpoint's: the record it checkpoints).
    pub seq: u64,
    /// Its event's position, when the record exists.
    pub position: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// Whether the checkpoints' signatures were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Signatures {
    /// Every checkpoint (and an export's head) is signed by the key given.
    Verified,
    /// No key was given (signing is off): the chain holds by its hashes alone, which whoever
    /// can write to the database can recompute.
    Unsigned,
}

impl Signatures {
    /// `verified` or `unsigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signatures::Verified => "verified",
            Signatures::Unsigned => "unsigned",
        }
    }
}

/// One tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The tenant.
    pub tenant_id: String,
    /// Records read.
    pub records: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Whether their signatures were checked.
    pub signatures: Signatures,
    /// The key they were checked with.
    pub key_id: Option<String>,
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

impl VerifyReport {
    /// The report of `chains`.
    pub fn of(chains: Vec<ChainReport>) -> Self {
        VerifyReport {
            valid: chains.iter().all(|c| c.first_broken.is_none()),
            chains,
        }
    }
}

/// A checkpoint, or an export's head: a record's hash at its chain number, with the
/// signature of its encoding (docs/AUDIT.md) when signing is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SignedCheckpoint {
    /// The tenant.
    pub tenant_id: String,
    /// The record's number.
    pub seq: i64,
    /// Its event's position.
    pub position: i64,
    /// Its hash.
    pub hash: String,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// The Ed25519 signature, hex.
    pub signature: Option<String>,
}

/// What [`ChainCheck::checkpoint`] calls an export's head (not counted as a checkpoint).
pub const HEAD: &str = "head";

/// Checks one tenant's records in chain order, and checkpoints right after the record they
/// name; stops at the first problem.
pub struct ChainCheck<'k> {
    tenant: String,
    key: Option<&'k AuditKey>,
    /// The next record's number and the hash it must link to; unknown before the first
    /// record of an export that starts part-way.
    expected: Option<(i64, String)>,
    last: Option<(i64, i64, String)>,
    records: u64,
    checkpoints: u64,
    first_broken: Option<BrokenRecord>,
}

fn broken(seq: i64, position: Option<i64>, reason: String) -> Option<BrokenRecord> {
    Some(BrokenRecord {
        seq: seq as u64,
        position: position.map(|p| p as u64),
        reason,
    })
}

impl<'k> ChainCheck<'k> {
    /// A check of `tenant`'s chain from its first record (`from_start`) or from wherever the
    /// records given start; signatures checked with `key` if given.
    pub fn new(tenant: String, key: Option<&'k AuditKey>, from_start: bool) -> Self {
        ChainCheck {
            tenant,
            key,
            expected: from_start.then(|| (1, GENESIS.to_owned())),
            last: None,
            records: 0,
            checkpoints: 0,
            first_broken: None,
        }
    }

    /// Whether a problem was found (later input is ignored).
    pub fn is_broken(&self) -> bool {
        self.first_broken.is_some()
    }

    /// The next record in chain order.
    pub fn record(&mut self, row: &AuditRow) {
        if self.is_broken() {
            return;
        }
        self.records += 1;
        let (expected_seq, prev_hash) = match &self.expected {
            Some(expected) => expected.clone(),
            None if row.seq == 1 => (1, GENESIS.to_owned()),
            None => (row.seq, row.prev_hash.clone()),
        };
        let at = |reason: &str| broken(row.seq, Some(row.position), reason.to_owned());
        self.first_broken = if row.tenant_id != self.tenant {
            at("it belongs to another tenant")
        } else if row.seq > expected_seq {
            broken(
                expected_seq,
                None,
                format!(
                    "record {expected_seq} is missing (the next record is {})",
                    row.seq
                ),
            )
        } else if row.seq < expected_seq {
            at("record is out of order")
        } else if row.prev_hash != prev_hash {
            at("its previous hash does not match the record before it (removed or reordered)")
        } else if let Some(field) = row.commitment_mismatch() {
            broken(
                row.seq,
                Some(row.position),
                format!("its {field} does not match its commitment (content changed)"),
            )
        } else if row.hashed().hash() != row.hash {
            at("its content does not match its hash (changed)")
        } else {
            None
        };
        self.expected = Some((row.seq + 1, row.hash.clone()));
        self.last = Some((row.seq, row.position, row.hash.clone()));
    }

    /// A checkpoint (or an export's head) of the record given last.
    pub fn checkpoint(&mut self, checkpoint: &SignedCheckpoint, what: &str) {
        if self.is_broken() {
            return;
        }
        let seq = checkpoint.seq;
        let at = |reason: String| broken(seq, Some(checkpoint.position), reason);
        self.first_broken = match &self.last {
            _ if checkpoint.tenant_id != self.tenant => {
                at(format!("{what} {seq} belongs to another tenant"))
            }
            Some((last, position, hash)) if *last == seq => {
                if *hash != checkpoint.hash || *position != checkpoint.position {
                    at(format!("its hash differs from the {what}"))
                } else if let Some(key) = self.key {
                    key.check(
                        &checkpoint.tenant_id,
                        seq,
                        checkpoint.position,
                        &checkpoint.hash,
                        checkpoint.key_id.as_deref(),
                        checkpoint.signature.as_deref(),
                    )
                    .err()
                    .and_then(|reason| at(format!("{what} {seq}: {reason}")))
                } else {
                    None
                }
            }
            _ => at(format!("{what} {seq} does not follow record {seq}")),
        };
        if what != HEAD {
            self.checkpoints += 1;
        }
    }

    /// Marks the chain broken at `seq` (what the caller found beyond records and
    /// checkpoints: a missing tail, a head that differs).
    pub fn fail(&mut self, seq: i64, reason: String) {
        if !self.is_broken() {
            self.first_broken = broken(seq, None, reason);
        }
    }

    /// The last record checked: (seq, hash).
    pub fn last(&self) -> Option<(i64, &str)> {
        self.last
            .as_ref()
            .map(|(seq, _, hash)| (*seq, hash.as_str()))
    }

    /// The report.
    pub fn finish(self) -> ChainReport {
        ChainReport {
            tenant_id: self.tenant,
            records: self.records,
            checkpoints: self.checkpoints,
            signatures: match self.key {
                Some(_) => Signatures::Verified,
                None => Signatures::Unsigned,
            },
            key_id: self.key.map(|k| k.key_id.clone()),
            first_broken: self.first_broken,
        }
    }
}

/// Verifies the chain of `tenant`, or of every tenant, in the database; checkpoint
/// signatures with `key` if given.
pub async fn verify(
    db: &Database,
    tenant: Option<TenantId>,
    key: Option<&AuditKey>,
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
        chains.push(verify_chain(db, tenant, key).await?);
    }
    Ok(VerifyReport::of(chains))
}

async fn verify_chain(
    db: &Database,
    tenant: String,
    key: Option<&AuditKey>,
) -> Result<ChainReport, ProjectionError> {
    let head: Option<(i64, String)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
            .bind(&tenant).fetch_optional(pool).await?
    });
    let checkpoints = checkpoints_of(db, &tenant).await?;
    let sql = format!("SELECT {COLUMNS} FROM audit_records WHERE tenant_id = $1 ORDER BY seq");
    let mut check = ChainCheck::new(tenant.clone(), key, true);
    crate::with_pool!(db, pool => {
        let mut rows = sqlx::query_as::<_, AuditRow>(&sql).bind(&tenant).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            check.record(&row);
            if let Some(checkpoint) = checkpoints.get(&row.seq) {
                check.checkpoint(checkpoint, "stored checkpoint");
            }
            if check.is_broken() {
                break;
            }
        }
    });
    let (last, last_hash) = check
        .last()
        .map_or((0, String::new()), |(seq, hash)| (seq, hash.to_owned()));
    let claimed = head
        .as_ref()
        .map_or(0, |(seq, _)| *seq)
        .max(checkpoints.keys().next_back().copied().unwrap_or(0));
    if claimed > last {
        check.fail(
            last + 1,
            format!("records {} to {claimed} are missing", last + 1),
        );
    } else if let Some((seq, hash)) = &head {
        if *seq == last && *hash != last_hash {
            check.fail(
                last,
                "the last record's hash differs from the chain head".into(),
            );
        }
    }
    Ok(check.finish())
}

/// A tenant's stored checkpoints, by chain number.
pub async fn checkpoints_of(
    db: &Database,
    tenant: &str,
) -> Result<BTreeMap<i64, SignedCheckpoint>, ProjectionError> {
    Ok(crate::with_pool!(db, pool => {
        sqlx::query_as::<_, SignedCheckpoint>("SELECT tenant_id, seq, position, hash, key_id, signature FROM audit_chain_checkpoints WHERE tenant_id = $1")
            .bind(tenant).fetch_all(pool).await?
    })
    .into_iter()
    .map(|c| (c.seq, c))
    .collect())
}
