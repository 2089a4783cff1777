//! Streamed exports of a tenant's audit records as JSON Lines or CSV.
//!
//! Rows are read with a database cursor and written out in chunks as they arrive, so memory
//! stays constant however many records match (a million or more).

use super::query::AuditFilter;
use super::record::{AuditRecord, AuditRow, COLUMNS};
use crate::db::Param;
use crate::error::ProjectionError;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use keel_log::Database;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    JsonLines,
    /// RFC 4180 CSV with a header row; before/after as JSON text.
    Csv,
}

/// Bytes written per chunk.
const CHUNK: usize = 64 * 1024;

const CSV_HEADER: &str = "tenant_id,seq,position,event_id,occurred_at,actor_kind,actor_id,action,\
    entity_type,entity_id,before,after,correlation_id,causation_id,source_ip,prev_hash,hash\r\n";

/// The matching records, encoded, as a stream of chunks (for HTTP responses).
pub fn export_stream(
    db: &Database,
    filter: &AuditFilter,
    format: ExportFormat,
) -> BoxStream<'static, Result<Vec<u8>, ProjectionError>> {
    let (condition, params) = filter.where_clause();
    let sql = format!("SELECT {COLUMNS} FROM audit_records WHERE {condition} ORDER BY seq");
    let rows: BoxStream<'static, Result<AuditRow, sqlx::Error>> = crate::with_pool!(db, pool => {
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
        let mut buffer = Vec::with_capacity(CHUNK + 4096);
        if format == ExportFormat::Csv {
            buffer.extend_from_slice(CSV_HEADER.as_bytes());
        }
        let mut rows = rows;
        while let Some(row) = rows.next().await {
            let record = AuditRecord::from(row?);
            encode(&record, format, &mut buffer);
            if buffer.len() >= CHUNK {
                yield std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK + 4096));
            }
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
    writer: &mut W,
) -> Result<u64, ProjectionError> {
    let mut chunks = export_stream(db, filter, format);
    let mut written = 0u64;
    while let Some(chunk) = chunks.try_next().await? {
        writer.write_all(&chunk).await?;
        written += chunk.len() as u64;
    }
    writer.flush().await?;
    Ok(written)
}

fn encode(record: &AuditRecord, format: ExportFormat, out: &mut Vec<u8>) {
    match format {
        ExportFormat::JsonLines => {
            serde_json::to_writer(&mut *out, record).expect("a record serializes");
            out.push(b'\n');
        }
        ExportFormat::Csv => {
            let json = |v: &Option<serde_json::Value>| {
                v.as_ref().map(|v| v.to_string()).unwrap_or_default()
            };
            let fields = [
                record.tenant_id.clone(),
                record.seq.to_string(),
                record.position.to_string(),
                record.event_id.clone(),
                record
                    .occurred_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                record.actor_kind.clone(),
                record.actor_id.clone(),
                record.action.clone(),
                record.entity_type.clone(),
                record.entity_id.clone(),
                json(&record.before),
                json(&record.after),
                record.correlation_id.clone(),
                record.causation_id.clone().unwrap_or_default(),
                record.source_ip.clone().unwrap_or_default(),
                record.prev_hash.clone(),
                record.hash.clone(),
            ];
            crate::csv::row(&fields[..], out);
        }
    }
}
