//! `keel project [--from-nats] [<projection>...]`: runs read-model workers in a process of
//! their own until Ctrl-C or SIGTERM, so read models can scale out of the server.
//!
//! With `--from-nats` the events come from the JetStream stream the relay publishes to
//! (`nats_url`, `nats_stream`, `nats_subject_prefix`) instead of the database's log; the read
//! models and their checkpoints stay in the database of `--database-url`, written in one
//! transaction per batch either way. The server should then leave those projections alone
//! (`external_projections`), though a second writer is harmless: a batch applies only where
//! its checkpoint still is.
//!
//! ProgressDisplay goes to standard error every few seconds; the result (where each projection
//! started and stopped) to standard output. A stop by Ctrl-C or SIGTERM finishes the batches
//! in progress and is a success; a projection that cannot go on (a gap in the stream) stops
//! the others and is an error.

use super::{CliError, ToolContext};
use crate::config::Settings;
use clap::Args;
use keel_projections::consume::{NatsWorker, Source};
use keel_projections::framework::worker::{Worker, DEFAULT_BATCH};
use keel_projections::{Projection, ProjectionError};
use keel_store::EventLog;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How often progress lines are printed (only for projections that moved).
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

/// The arguments of `keel project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The read models to run (default: all): `audit`, `usage`.
    pub projections: Vec<String>,
    /// Consume the events from JetStream (the relay's stream: nats_url, nats_stream,
    /// nats_subject_prefix) instead of reading the database's event log.
    #[arg(long)]
    pub from_nats: bool,
    /// Events folded per transaction (1 to 100000).
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    pub batch: usize,
}

/// Where one projection started and stopped.
#[derive(Debug, Serialize)]
pub struct ProjectReport {
    /// The projection.
    pub projection: &'static str,
    /// `jetstream:<stream>` or `database`.
    pub source: String,
    /// Its checkpoint when the run started.
    pub from: u64,
    /// Its checkpoint when the run stopped.
    pub to: u64,
}

/// A running projection: its name and position, for progress and the report.
struct Running {
    name: &'static str,
    from: u64,
    position: watch::Receiver<u64>,
}

/// Runs `keel project` until `interrupt` (Ctrl-C, SIGTERM) resolves or a projection fails.
pub async fn run(
    args: ProjectArgs,
    context: &mut ToolContext<'_>,
    settings: &Settings,
    interrupt: impl Future<Output = ()>,
) -> Result<(), CliError> {
    if !(1..=100_000).contains(&args.batch) {
        return Err(CliError::InvalidArgument {
            argument: "batch",
            reason: "must be between 1 and 100000".into(),
        });
    }
    let projections = chosen(&args.projections, context)?;
    let store = context.log.clone();
    keel_projections::setup(&store).await?;
    let source = if args.from_nats {
        let config = settings
            .relay_config()?
            .ok_or_else(|| CliError::InvalidArgument {
                argument: "from-nats",
                reason: "nats_url is not set (KEEL_NATS_URL or the configuration file)".into(),
            })?;
        Some(Arc::new(Source::connect(&config).await?))
    } else {
        None
    };
    let source_label = match &source {
        Some(source) => format!("jetstream:{}", source.name()),
        None => "database".to_owned(),
    };

    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut running = Vec::new();
    for projection in projections {
        let (name, position, task) =
            start(projection, &store, source.clone(), args.batch, &stop).await?;
        let from = *position.borrow();
        tasks.spawn(async move { (name, task.await) });
        running.push(Running {
            name,
            from,
            position,
        });
    }
    if !context.out.is_json() {
        for r in &running {
            context.out.line(format!(
                "{}: following {source_label} from position {}",
                r.name, r.from
            ))?;
        }
        context.out.flush()?;
    }

    let failure = supervise(&mut tasks, &running, &stop, interrupt).await;
    let reports: Vec<ProjectReport> = running
        .iter()
        .map(|r| ProjectReport {
            projection: r.name,
            source: source_label.clone(),
            from: r.from,
            to: *r.position.borrow(),
        })
        .collect();
    let out = &mut context.out;
    if out.is_json() {
        out.json_pretty(&reports)?;
    } else {
        for r in &reports {
            out.line(format!(
                "{}: stopped at position {} (from {})",
                r.projection, r.to, r.from
            ))?;
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The projections named (all if none), each once, in the order given; usage quotas from the
/// configured plan catalogue and audit checkpoints signed, as in the server.
fn chosen(
    names: &[String],
    context: &ToolContext<'_>,
) -> Result<Vec<Arc<dyn Projection>>, CliError> {
    if names.is_empty() {
        return context.projections();
    }
    let mut chosen: Vec<Arc<dyn Projection>> = Vec::new();
    for name in names {
        let projection = context.projection(name)?;
        if !chosen.iter().any(|p| p.name() == projection.name()) {
            chosen.push(projection);
        }
    }
    Ok(chosen)
}

type Task = std::pin::Pin<Box<dyn Future<Output = Result<(), ProjectionError>> + Send>>;

/// Prepares a worker for `projection` (set-up errors are returned here) and its run.
async fn start(
    projection: Arc<dyn Projection>,
    store: &Arc<dyn EventLog>,
    source: Option<Arc<Source>>,
    batch: usize,
    stop: &CancellationToken,
) -> Result<(&'static str, watch::Receiver<u64>, Task), CliError> {
    let stop = stop.clone();
    match source {
        Some(source) => {
            let worker = NatsWorker::new(projection, store.clone(), source, batch);
            worker.prepare().await?;
            Ok((worker.name(), worker.position(), Box::pin(worker.run(stop))))
        }
        None => {
            let worker = Worker::new(projection, store.clone(), batch);
            worker.prepare().await?;
            let (name, position) = (worker.name(), worker.position());
            Ok((
                name,
                position,
                Box::pin(async move {
                    worker.run(stop).await;
                    Ok(())
                }),
            ))
        }
    }
}

/// Prints progress until `interrupt` resolves or a projection stops on its own, then stops
/// the others and waits for them. Returns the first projection's error, if one failed.
async fn supervise(
    tasks: &mut JoinSet<(&'static str, Result<(), ProjectionError>)>,
    running: &[Running],
    stop: &CancellationToken,
    interrupt: impl Future<Output = ()>,
) -> Option<CliError> {
    let mut printed: Vec<u64> = running.iter().map(|r| r.from).collect();
    let mut ticks = tokio::time::interval(PROGRESS_INTERVAL);
    ticks.tick().await;
    tokio::pin!(interrupt);
    let mut failure = None;
    loop {
        tokio::select! {
            () = &mut interrupt => break,
            _ = ticks.tick() => {
                for (r, last) in running.iter().zip(printed.iter_mut()) {
                    let now = *r.position.borrow();
                    if now != *last {
                        eprintln!("project {}: position {now} (+{})", r.name, now.saturating_sub(*last));
                        *last = now;
                    }
                }
            }
            Some(done) = tasks.join_next() => {
                failure = outcome(done).err();
                break;
            }
        }
    }
    stop.cancel();
    while let Some(done) = tasks.join_next().await {
        if let (None, Err(error)) = (&failure, outcome(done)) {
            failure = Some(error);
        }
    }
    failure
}

/// What a finished projection task says: `Ok` for a clean stop.
fn outcome(
    done: Result<(&'static str, Result<(), ProjectionError>), tokio::task::JoinError>,
) -> Result<(), CliError> {
    match done {
        Ok((_, Ok(()))) => Ok(()),
        Ok((_, Err(error))) => Err(CliError::Projection(error)),
        Err(error) => Err(CliError::Other(anyhow::anyhow!(
            "a projection worker panicked: {error}"
        ))),
    }
}
