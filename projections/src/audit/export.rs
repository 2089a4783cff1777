//! Streamed exports of a tenant's audit records as JSON Lines or CSV, carrying everything an
//! auditor needs to re-verify them alone (docs/AUDIT.md): every hashed field exactly as hashed,
//! the stored checkpoints with their signatures right after the record each names, and a last
//! line with the head as exported (the last record's hash), signed by the exporting server.
//!
//! Rows are read with a database cursor and written out in chunks as they arrive, so memory
//! stays constant however many records match (a million or more); only the tenant's
//! checkpoints (one per thousand records) are read first.

use super::query::AuditFilter;
use super::record::{AuditRow, ExportedRecord, COLUMNS};
use super::sign::AuditSigner;
use super::verify::{checkpoints_of, SignedCheckpoint};
use crate::db::Param;
use crate::error::ProjectionError;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use keel_log::Database;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    JsonLines,
    /// RFC 4180 CSV with a header row; before/after as JSON text.
    Csv,
}

/// One line of an export, told apart by its `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportLine {
    /// An audit record.
    Record(Box<ExportedRecord>),
    /// A stored checkpoint of the record on the line before.
    Checkpoint(SignedCheckpoint),
    /// The last line: the last record's hash, signed when the export was made.
    Head(SignedCheckpoint),
}

/// Bytes written per chunk.
const CHUNK: usize = 64 * 1024;

const CSV_HEADER: &str = "kind,tenant_id,seq,position,event_id,occurred_at,occurred_at_us,\
    actor_kind,actor_id,action,entity_type,entity_id,before,after,correlation_id,causation_id,\
    source_ip,salt,before_digest,after_digest,source_ip_digest,prev_hash,hash,key_id,signature\r\n";

/// The matching records, encoded, as a stream of chunks (for HTTP responses); the head is
/// signed by `signer` if given.
pub fn export_stream(
    db: &Database,
    filter: &AuditFilter,
    format: ExportFormat,
    signer: Option<Arc<AuditSigner>>,
) -> BoxStream<'static, Result<Vec<u8>, ProjectionError>> {
    let (condition, params) = filter.where_clause();
    let sql = format!("SELECT {COLUMNS} FROM audit_records WHERE {condition} ORDER BY seq");
    let tenant = filter.tenant_id.to_string();
    let db = db.clone();
    let rows: BoxStream<'static, Result<AuditRow, sqlx::Error>> = crate::with_pool!(&db, pool => {
        let pool = pool.clone();
        Box::pin(async_stream::try_stream! {
            let mut query = sqlx::query_as::<_, AuditRow>(&sql);
            for param in &params {
                query = match param {
                    Param::Int(v) => query.bind(*v),
                    Param::Text(v) => query.bind(v.clone()),
                    Param::OptInt(v) => query.bind(*v),
                    Param::OptText(v) => query.bind(v.clone()),
                };
            }
            let mut rows = query.fetch(&pool);
            while let Some(row) = rows.try_next().await? {
                yield row;
            }
        })
    });
    Box::pin(async_stream::try_stream! {
        let checkpoints = checkpoints_of(&db, &tenant).await?;
        let mut buffer = Vec::with_capacity(CHUNK + 4096);
        if format == ExportFormat::Csv {
            buffer.extend_from_slice(CSV_HEADER.as_bytes());
        }
        let mut rows = rows;
        let mut last = None;
        while let Some(row) = rows.next().await {
            let record = Box::new(ExportedRecord::from(row?));
            let checkpoint = checkpoints.get(&record.row.seq).cloned();
            last = Some((record.row.seq, record.row.position, record.row.hash.clone()));
            encode(&ExportLine::Record(record), format, &mut buffer);
            if let Some(checkpoint) = checkpoint {
                encode(&ExportLine::Checkpoint(checkpoint), format, &mut buffer);
            }
            if buffer.len() >= CHUNK {
                yield std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK + 4096));
            }
        }
        if let Some((seq, position, hash)) = last {
            let (key_id, signature) = signer
                .as_ref()
                .map(|s| s.sign(&tenant, seq, position, &hash))
                .unzip();
            let head = SignedCheckpoint { tenant_id: tenant.clone(), seq, position, hash, key_id, signature };
            encode(&ExportLine::Head(head), format, &mut buffer);
        }
        if !buffer.is_empty() {
            yield buffer;
        }
    })
}

/// Writes the matching records to `writer`; returns how many bytes were written.
pub async fn export<W: AsyncWrite + Unpin + Send>(
    db: &Database,
    filter: &AuditFilter,
    format: ExportFormat,
    signer: Option<Arc<AuditSigner>>,
    writer: &mut W,
) -> Result<u64, ProjectionError> {
    let mut chunks = export_stream(db, filter, format, signer);
    let mut written = 0u64;
    while let Some(chunk) = chunks.try_next().await? {
        writer.write_all(&chunk).await?;
        written += chunk.len() as u64;
    }
    writer.flush().await?;
    Ok(written)
}

fn encode(line: &ExportLine, format: ExportFormat, out: &mut Vec<u8>) {
    match format {
        ExportFormat::JsonLines => {
            serde_json::to_writer(&mut *out, line).expect("a line serializes");
            out.push(b'\n');
        }
        ExportFormat::Csv => {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            let fields: Vec<String> = match line {
                ExportLine::Record(record) => {
                    let (occurred_at, r) = (&record.occurred_at, &record.row);
                    vec![
                        "record".into(),
                        r.tenant_id.clone(),
                        r.seq.to_string(),
                        r.position.to_string(),
                        r.event_id.clone(),
                        occurred_at.clone(),
                        r.occurred_at.to_string(),
                        r.actor_kind.clone(),
                        r.actor_id.clone(),
                        r.action.clone(),
                        r.entity_type.clone(),
                        r.entity_id.clone(),
                        text(&r.before_json),
                        text(&r.after_json),
                        r.correlation_id.clone(),
                        text(&r.causation_id),
                        text(&r.source_ip),
                        text(&r.salt),
                        text(&r.before_digest),
                        text(&r.after_digest),
                        text(&r.source_ip_digest),
                        r.prev_hash.clone(),
                        r.hash.clone(),
                        String::new(),
                        String::new(),
                    ]
                }
                ExportLine::Checkpoint(c) | ExportLine::Head(c) => {
                    let kind = match line {
                        ExportLine::Head(_) => "head",
                        _ => "checkpoint",
                    };
                    let mut fields = vec![String::new(); 25];
                    fields[0] = kind.into();
                    fields[1] = c.tenant_id.clone();
                    fields[2] = c.seq.to_string();
                    fields[3] = c.position.to_string();
                    fields[22] = c.hash.clone();
                    fields[23] = text(&c.key_id);
                    fields[24] = text(&c.signature);
                    fields
                }
            };
            crate::csv::row(&fields[..], out);
        }
    }
}
