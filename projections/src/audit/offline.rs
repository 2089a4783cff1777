//! Verifying an audit export (JSON Lines) alone, without the database: the records' hashes and
//! links, the checkpoints it carries and, given the public key, their signatures and the
//! signed head on its last line. `keel audit verify --export` runs this; an auditor's own
//! script does the same from docs/AUDIT.md.

use super::export::ExportLine;
use super::sign::AuditKey;
use super::verify::{ChainCheck, VerifyReport, HEAD};
use crate::error::ProjectionError;
use std::io::BufRead;

/// Verifies the export read from `input`, line by line (constant memory).
pub fn verify_export(
    input: impl BufRead,
    key: Option<&AuditKey>,
) -> Result<VerifyReport, ProjectionError> {
    let mut check: Option<ChainCheck<'_>> = None;
    let mut head_seen = false;
    for (index, line) in input.lines().enumerate() {
        let number = index as u64 + 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ExportLine =
            serde_json::from_str(&line).map_err(|e| ProjectionError::AuditExport {
                line: number,
                reason: e.to_string(),
            })?;
        if head_seen {
            return Err(ProjectionError::AuditExport {
                line: number,
                reason: "nothing may follow the head".into(),
            });
        }
        let tenant = match &parsed {
            ExportLine::Record(r) => &r.row.tenant_id,
            ExportLine::Checkpoint(c) | ExportLine::Head(c) => &c.tenant_id,
        };
        let check = check.get_or_insert_with(|| ChainCheck::new(tenant.clone(), key, false));
        match parsed {
            ExportLine::Record(record) => check.record(&record.row),
            ExportLine::Checkpoint(checkpoint) => check.checkpoint(&checkpoint, "checkpoint"),
            ExportLine::Head(head) => {
                head_seen = true;
                check.checkpoint(&head, HEAD);
            }
        }
    }
    let Some(mut check) = check else {
        return Ok(VerifyReport::of(Vec::new()));
    };
    if !head_seen {
        let next = check.last().map_or(1, |(seq, _)| seq + 1);
        check.fail(
            next,
            "the export has no head line: it was cut short or its end removed".into(),
        );
    }
    Ok(VerifyReport::of(vec![check.finish()]))
}
