//! `keel audit verify` (the tenants' hash chains and checkpoints with their signatures, in the
//! database or of an export alone, naming the first broken record or checkpoint; exit code 1 if
//! any chain is broken), `keel audit export` (a tenant's audit records as JSON Lines or CSV,
//! streamed in constant memory, with the signed checkpoints and head) and `keel audit
//! public-key` (the key auditors check signatures with).

use super::output::Output;
use super::{CliError, ToolContext};
use crate::config::Settings;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use futures::TryStreamExt;
use keel_domain::TenantId;
use keel_projections::audit::{
    export_stream, verify, verify_export, AuditFilter, AuditKey, ExportFormat, Signatures,
    VerifyReport,
};
use std::io::Write;
use std::path::PathBuf;

/// `keel audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verifies the audit hash chains (of one tenant, or all) and their checkpoints'
    /// signatures, in the database or (--export) of an export file alone.
    Verify(VerifyArgs),
    /// Writes a tenant's audit records, oldest first, with the signed checkpoints and head.
    Export(AuditExportArgs),
    /// Prints the public key audit checkpoints are signed with (as
    /// `/.well-known/keel-audit-key` serves it).
    PublicKey,
}

/// The arguments of `keel audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only this tenant's chain.
    #[arg(long)]
    pub tenant: Option<TenantId>,
    /// Check the checkpoints' signatures with this Ed25519 public key (hex or base64; default:
    /// the configured signing key's).
    #[arg(long)]
    pub public_key: Option<String>,
    /// Verify this JSON Lines export instead of the database (no database needed).
    #[arg(long)]
    pub export: Option<PathBuf>,
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
        AuditCommand::PublicKey => public_key(&context.settings, &mut context.out),
    }
}

/// Runs the commands that need no database (verifying an export file, printing the public
/// key); `None` for the others.
pub fn run_without_store(
    command: &AuditCommand,
    settings: &Settings,
    out: &mut Output<'_>,
) -> Option<Result<(), CliError>> {
    match command {
        AuditCommand::Verify(VerifyArgs {
            export: Some(path),
            public_key,
            ..
        }) => Some(verify_file(path, public_key.as_deref(), out)),
        AuditCommand::PublicKey => Some(public_key(settings, out)),
        _ => None,
    }
}

fn public_key(settings: &Settings, out: &mut Output<'_>) -> Result<(), CliError> {
    let signer = settings.audit_signer(false)?.ok_or_else(|| {
        CliError::NotFound(
            "no audit signing key: audit_signing is off, or the server has not generated one yet"
                .into(),
        )
    })?;
    let view = signer.public().view();
    if out.is_json() {
        out.json_pretty(&view)?;
    } else {
        out.line(format!("key id: {}", view.key_id))?;
        out.line(format!("public key (base64): {}", view.public_key_base64))?;
        out.line(format!("public key (hex): {}", view.public_key_hex))?;
    }
    Ok(())
}

fn parse_key(text: Option<&str>) -> Result<Option<AuditKey>, CliError> {
    text.map(AuditKey::parse)
        .transpose()
        .map_err(|e| CliError::InvalidArgument {
            argument: "public-key",
            reason: e.to_string(),
        })
}

fn verify_file(
    path: &std::path::Path,
    public_key: Option<&str>,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let key = parse_key(public_key)?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let report = verify_export(std::io::BufReader::new(file), key.as_ref())?;
    if report.chains.is_empty() {
        return Err(CliError::NotFound(
            "the export holds no audit records".into(),
        ));
    }
    print_report(&report, out)
}

async fn verify_chains(args: VerifyArgs, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    let key = match parse_key(args.public_key.as_deref())? {
        Some(key) => Some(key),
        None => context
            .existing_audit_signer()
            .map(|signer| signer.public().clone()),
    };
    let report = verify(&context.store.database(), args.tenant, key.as_ref()).await?;
    print_report(&report, &mut context.out)?;
    if args.tenant.is_some() && report.chains.iter().all(|c| c.records == 0) {
        return Err(CliError::NotFound(
            "that tenant has no audit records".into(),
        ));
    }
    Ok(())
}

/// Prints the report; an error (exit 1) if a chain is broken.
fn print_report(report: &VerifyReport, out: &mut Output<'_>) -> Result<(), CliError> {
    if out.is_json() {
        out.json_pretty(report)?;
    } else {
        for chain in &report.chains {
            let signatures = match (&chain.signatures, &chain.key_id) {
                (Signatures::Verified, Some(key)) => {
                    format!("{} checkpoints signed by key {key}", chain.checkpoints)
                }
                _ => "unsigned (signatures not checked)".to_owned(),
            };
            match &chain.first_broken {
                None => out.line(format!(
                    "tenant {}: {} records, chain intact, {signatures}",
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
    let signer = context.existing_audit_signer();
    let mut file;
    let writer: &mut dyn Write = match &args.output {
        Some(path) => {
            file = std::fs::File::create_new(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            &mut file
        }
        None => context.out.writer(),
    };
    let mut chunks = export_stream(&context.store.database(), &filter, format, signer);
    while let Some(chunk) = chunks.try_next().await? {
        writer.write_all(&chunk)?;
    }
    writer.flush()?;
    Ok(())
}
