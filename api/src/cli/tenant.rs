//! `keel tenant export`: everything Keel holds about one tenant, for data portability
//! requests: its events as JSON Lines, the current state of each of its aggregates, its audit
//! trail and its monthly usage per meter.
//!
//! The export is a directory, written file by file as the events stream past (constant memory
//! in the number of events). Secret-bearing fields (key hashes, encrypted secrets) are `null`.

use super::filter::PAGE;
use super::stream::{state_at, Moment};
use super::{CliError, ToolContext};
use crate::redact::event_view;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use futures::TryStreamExt;
use keel_domain::TenantId;
use keel_projections::audit::{export_stream, AuditFilter, AuditSigner, ExportFormat};
use keel_projections::usage::meters::METERS;
use keel_projections::usage::usage;
use keel_store::EventStore;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// `keel tenant ...`.
#[derive(Debug, Subcommand)]
pub enum TenantCliCommand {
    /// Writes everything Keel holds about a tenant into a directory.
    Export(TenantExportArgs),
}

/// The arguments of `keel tenant export`.
#[derive(Debug, Args)]
pub struct TenantExportArgs {
    /// The tenant.
    pub tenant: TenantId,
    /// The directory to write (created; must not hold an earlier export). Default:
    /// `./keel-export-<tenant>`.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// What an export wrote.
#[derive(Debug, Serialize)]
pub struct ExportSummary {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The directory.
    pub directory: PathBuf,
    /// Events written to `events.jsonl`.
    pub events: u64,
    /// Aggregates whose state is in `aggregates.jsonl`.
    pub aggregates: usize,
    /// Monthly usage rows in `usage.jsonl`.
    pub usage_rows: usize,
}

/// Runs `keel tenant ...`.
pub async fn run(command: TenantCliCommand, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    let TenantCliCommand::Export(args) = command;
    let directory = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("keel-export-{}", args.tenant)));
    keel_projections::setup(&context.log).await?;
    let signer = context.existing_audit_signer();
    let summary = export(&*context.store, args.tenant, directory, signer).await?;
    if context.out.is_json() {
        context.out.json_pretty(&summary)?;
    } else {
        context.out.line(format!(
            "exported tenant {} to {}: {} events, {} aggregates, {} monthly usage rows, audit trail",
            summary.tenant_id,
            summary.directory.display(),
            summary.events,
            summary.aggregates,
            summary.usage_rows
        ))?;
    }
    Ok(())
}

async fn export(
    store: &dyn EventStore,
    tenant: TenantId,
    directory: PathBuf,
    audit_signer: Option<Arc<AuditSigner>>,
) -> Result<ExportSummary, CliError> {
    let first = store.read_tenant(tenant, 0, 1).await?;
    if first.is_empty() {
        return Err(CliError::NotFound(format!("tenant {tenant} has no events")));
    }
    if directory.join("events.jsonl").exists() {
        return Err(CliError::InvalidArgument {
            argument: "output",
            reason: format!("{} already holds an export", directory.display()),
        });
    }
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;

    let mut events = create(&directory, "events.jsonl")?;
    let mut streams = BTreeSet::new();
    let mut count = 0;
    let mut position = 0;
    loop {
        let page = store.read_tenant(tenant, position, PAGE).await?;
        for event in &page {
            serde_json::to_writer(&mut events, &event_view(event)).map_err(anyhow::Error::from)?;
            events.write_all(b"\n")?;
            streams.insert(event.stream_id.clone());
            position = event.global_position;
            count += 1;
        }
        if page.len() < PAGE {
            break;
        }
    }
    events.flush()?;

    let mut aggregates = create(&directory, "aggregates.jsonl")?;
    let mut states = 0;
    for stream in &streams {
        match state_at(store, stream, Moment::Version(u64::MAX)).await {
            Ok(state) => {
                serde_json::to_writer(&mut aggregates, &state).map_err(anyhow::Error::from)?;
                aggregates.write_all(b"\n")?;
                states += 1;
            }
            // Streams without an aggregate (claims of unique values) are in events.jsonl.
            Err(CliError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    }
    aggregates.flush()?;

    let db = store.database();
    let mut audit = create(&directory, "audit.jsonl")?;
    let mut chunks = export_stream(
        &db,
        &AuditFilter::tenant(tenant),
        ExportFormat::JsonLines,
        audit_signer,
    );
    while let Some(chunk) = chunks.try_next().await? {
        audit.write_all(&chunk)?;
    }
    audit.flush()?;

    let mut usage_file = create(&directory, "usage.jsonl")?;
    let mut usage_rows = 0;
    let (from, to) = (
        DateTime::UNIX_EPOCH,
        Utc::now() + chrono::Duration::days(31),
    );
    for meter in METERS {
        for point in usage(&db, tenant, meter.name, "month", from, to).await? {
            let row = serde_json::json!({ "meter": meter.name, "month": point.start, "value": point.value, "events": point.events });
            serde_json::to_writer(&mut usage_file, &row).map_err(anyhow::Error::from)?;
            usage_file.write_all(b"\n")?;
            usage_rows += 1;
        }
    }
    usage_file.flush()?;
    Ok(ExportSummary {
        tenant_id: tenant,
        directory,
        events: count,
        aggregates: states,
        usage_rows,
    })
}

fn create(directory: &std::path::Path, name: &str) -> Result<BufWriter<File>, CliError> {
    let path = directory.join(name);
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::new(file))
}
