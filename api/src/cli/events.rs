//! `keel events read` (what is stored, then exit) and `keel events tail` (then follow new
//! events live until Ctrl-C).
//!
//! Human output is one line per event; `--json` prints JSON Lines and `--pretty` indented
//! JSON. Either JSON form is the event's JSON view with secret-bearing fields as `null`, as the
//! API shows it.

use super::filter::{FilterArgs, LogCursor};
use super::output::Output;
use super::{CliError, ToolContext};
use crate::redact::event_view;
use clap::{Args, Subcommand};
use keel_store::RecordedEvent;
use std::time::Duration;

/// `keel events ...`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Prints the stored events a filter selects, then exits.
    Read(ReadArgs),
    /// Prints new events as they are committed (after the current head, or `--after`), until
    /// Ctrl-C or `--limit`.
    Tail(ReadArgs),
}

/// The arguments of `keel events read` and `keel events tail`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Which events.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Indented JSON instead of one line per event (implies --json).
    #[arg(long)]
    pub pretty: bool,
}

/// How long a follower waits for a wake-up before looking at the store anyway.
const FALLBACK_POLL: Duration = Duration::from_millis(500);

/// Runs `keel events ...`.
pub async fn run(command: EventsCommand, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    match command {
        EventsCommand::Read(args) => read(args, context).await,
        EventsCommand::Tail(mut args) => {
            if args.filter.after.is_none() {
                args.filter.after = Some(context.store.head_position().await?);
            }
            tokio::select! {
                result = follow(args, context) => result,
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
    }
}

async fn read(args: ReadArgs, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    args.filter.validate()?;
    let mut cursor = LogCursor::new(&*context.store, &args.filter);
    drain(&mut cursor, &args, &mut context.out, &mut 0).await?;
    Ok(())
}

async fn follow(args: ReadArgs, context: &mut ToolContext<'_>) -> Result<(), CliError> {
    args.filter.validate()?;
    let store = context.store.clone();
    let mut head = store.watch_head();
    let mut printed = 0;
    let mut cursor = LogCursor::new(&*store, &args.filter);
    loop {
        // Seen before reading, so that a commit between the read and the wait still wakes us.
        head.borrow_and_update();
        if drain(&mut cursor, &args, &mut context.out, &mut printed).await? {
            return Ok(());
        }
        let _ = tokio::time::timeout(FALLBACK_POLL, head.changed()).await;
    }
}

/// Prints every event the cursor finds now; `true` once `--limit` events are printed.
async fn drain(
    cursor: &mut LogCursor<'_>,
    args: &ReadArgs,
    out: &mut Output<'_>,
    printed: &mut u64,
) -> Result<bool, CliError> {
    while let Some(page) = cursor.next_page().await? {
        for event in &page {
            if args.limit.is_some_and(|limit| *printed >= limit) {
                return Ok(true);
            }
            print(out, event, args.pretty)?;
            *printed += 1;
        }
        out.flush()?;
    }
    Ok(args.limit.is_some_and(|limit| *printed >= limit))
}

/// Prints one event in the form asked for.
fn print(out: &mut Output<'_>, event: &RecordedEvent, pretty: bool) -> std::io::Result<()> {
    if pretty {
        out.json_pretty(&event_view(event))
    } else if out.is_json() {
        out.json_line(&event_view(event))
    } else {
        out.line(summary(event))
    }
}

/// One line for humans: position, time, stream and version, type, tenant, actor.
pub fn summary(event: &RecordedEvent) -> String {
    format!(
        "#{} {} {}@{} {} tenant={} actor={}",
        event.global_position,
        event.recorded_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        event.stream_id,
        event.stream_version,
        event.event_type,
        event.metadata.tenant_id,
        event.metadata.actor,
    )
}
