//! `keel audit verify` (the tenants' hash chains and checkpoints, naming the first broken
//! record; exit code 1 if any chain is broken) and `keel audit export` (a tenant's audit records
//! as JSON Lines or CSV, streamed in constant memory).

use super::{CliError, ToolContext};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use futures::TryStreamExt;
use keel_domain::TenantId;
use keel_projections::audit::{export_stream, verify, AuditFilter, ExportFormat};
use std::io::Write;
use std::path::PathBuf;

/// `keel audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verifies the audit hash chains (of one tenant, or all) and their checkpoints.
    Verify(VerifyArgs),
    /// Writes a tenant's audit records, oldest first.
    Export(AuditExportArgs),
}

/// The arguments of `keel audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only this tenant's chain.
    #[arg(long)]
    pub tenant: Option<TenantId>,
}

/// The arguments of `keel audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// The tenant.
    #[arg(long)]
    pub tenant: TenantId,
    /// Only records that happened at or after this time (RFC 3339).
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    /// Only records that happened before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<DateTime<Utc>>,
    /// `jsonl` (one JSON object per line) or `csv` (RFC 4180 with a header row).
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// A file to write (created, never overwritten) instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines.
    Jsonl,
    /// CSV.
    Csv,
}

/// Runs `keel audit ...`.
pub async fn run(command: AuditCommand, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    keel_projections::setup(&context.log).await?;
    match command {
        AuditCommand::Verify(args) => verify_chains(args, context).await,
        AuditCommand::Export(args) => export(args, context).await,
    }
}

async fn verify_chains(args: VerifyArgs, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    let report = verify(&context.store.database(), args.tenant).await?;
    let out = &mut context.out;
    if out.is_json() {
        out.json_pretty(&report)?;
    } else {
        for chain in &report.chains {
            match &chain.first_broken {
                None => out.line(format!(
                    "tenant {}: {} records, chain intact",
                    chain.tenant_id, chain.records
                ))?,
                Some(broken) => out.line(format!(
                    "tenant {}: BROKEN at record {}{}: {}",
                    chain.tenant_id,
                    broken.seq,
                    broken
                        .position
                        .map(|p| format!(" (event position {p})"))
                        .unwrap_or_default(),
                    broken.reason
                ))?,
            }
        }
    }
    let broken = report
        .chains
        .iter()
        .filter(|c| c.first_broken.is_some())
        .count();
    if broken > 0 {
        return Err(CliError::Failed(format!(
            "audit verification failed: {broken} of {} chains broken",
            report.chains.len()
        )));
    }
    if args.tenant.is_some() && report.chains.iter().all(|c| c.records == 0) {
        return Err(CliError::NotFound(
            "that tenant has no audit records".into(),
        ));
    }
    Ok(())
}

async fn export(args: AuditExportArgs, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from >= to {
            return Err(CliError::InvalidArgument {
                argument: "to",
                reason: "must be later than --from".into(),
            });
        }
    }
    let filter = AuditFilter {
        from: args.from,
        to: args.to,
        ..AuditFilter::tenant(args.tenant)
    };
    let format = match args.format {
        Format::Jsonl => ExportFormat::JsonLines,
        Format::Csv => ExportFormat::Csv,
    };
    let mut file;
    let writer: &mut dyn Write = match &args.output {
        Some(path) => {
            file = std::fs::File::create_new(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            &mut file
        }
        None => context.out.writer(),
    };
    let mut chunks = export_stream(&context.store.database(), &filter, format);
    while let Some(chunk) = chunks.try_next().await? {
        writer.write_all(&chunk)?;
    }
    writer.flush()?;
    Ok(())
}
