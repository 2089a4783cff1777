//! The write-side benchmark: how many tenant commands per second Keel stores through its command
//! handler, measured against what the database itself does on the same machine in the same run,
//! and how fast the global log reads back.
//!
//! Run it with `scripts/bench` (or `cargo bench -p keel-commands --bench write_side`). Arguments:
//! `--seconds S` (length of one timed run, default 3) and `--backend postgres|sqlite|all`.
//! PostgreSQL is the server at `KEEL_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`, no database name): the benchmark creates a database
//! `keel_bench_<uuid>` there and drops it when done, also on an error, a panic or Ctrl-C.
//! SQLite runs in files of a temporary directory.
//!
//! On each backend every figure is the median of [`RUNS`] runs. Commands go through one shared
//! [`CommandHandler<Tenant>`] on [`store::open`] with default options. In order:
//! 1. Creating 1,000 tenants from 32 tasks (per run).
//! 2. In rounds, each round running each of these once, so that they share the machine's drift:
//!    - raw baseline: single-row INSERTs (one event per transaction) from 1, 8 and 32 connections
//!      (SQLite: 1) into a table shaped like the store's `events` table;
//!    - renames spread over those 1,000 tenants from 1, 8 and 32 tasks, and 32 tasks renaming one
//!      hot tenant (counting the conflicts they get back);
//!    - sequential renames of a tenant with 10 prior events and of one with 10,000 (snapshotted),
//!      alternating command by command and timed apart: on a fresh handler per command (cold: it
//!      loads snapshot + tail) and on one handler (warm).
//! 3. Raw INSERTs of 100 rows (PostgreSQL: 8 connections, SQLite: 1) and one streamed SELECT of
//!    the whole raw table; the table is then dropped and a checkpoint taken.
//! 4. Bulk appends of 1,000 events until the log holds 200,000, then `read_all` of the whole log
//!    in pages of 1,000 and of 10,000.
//!
//! The results are printed as one markdown table per backend, with the targets checked.

use anyhow::{bail, ensure, Context, Result};
use async_trait::async_trait;
use keel_commands::handler::{CommandError, CommandHandler, HandlerConfig};
use keel_domain::tenant::{
    CreateTenant, RenameTenant, Tenant, TenantCommand, TenantError, TenantEvent, TenantName,
    TenantRenamed,
};
use keel_domain::{Actor, AggregateId, TenantId};
use keel_store::{self, EventMetadata, EventStore, ExpectedVersion, NewEvent};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Timed runs per figure; the figure is their median.
const RUNS: usize = 3;
/// Tenants the spread-out renames go round.
const TENANTS: usize = 1_000;
/// Concurrent tasks of the spread-out renames.
const CONCURRENCY: [usize; 3] = [1, 8, 32];
/// Concurrent tasks creating tenants, and renaming the hot tenant.
const WRITERS: usize = 32;
/// Rows per transaction of the batched raw baseline.
const RAW_BATCH: usize = 100;
/// Events per append when filling the log, and per append of the long stream's history.
const BULK: usize = 1_000;
/// Concurrent tasks filling the log.
const FILL_TASKS: usize = 4;
/// Fewest appends of one fill run, so that its rate means something.
const MIN_FILL_APPENDS: i64 = 20;
/// Events the log holds before `read_all` is measured.
const LOG_SIZE: u64 = 200_000;
/// `read_all` page sizes.
const PAGES: [usize; 2] = [1_000, 10_000];
/// Upper bound of a run that ends when its work is done (creations, fills).
const FINITE_RUN_LIMIT: Duration = Duration::from_secs(300);

fn main() -> Result<()> {
    let settings = Settings::from_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Dropping `run` on Ctrl-C drops the PostgreSQL database guard, which drops the database.
        tokio::select! {
            result = run(&settings) => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

async fn run(settings: &Settings) -> Result<()> {
    println!("{}", machine::describe());
    let mut reports = Vec::new();
    for backend in &settings.backends {
        let report = match backend {
            Backend::Postgres => bench_postgres(settings).await?,
            Backend::Sqlite => bench_sqlite(settings).await?,
        };
        reports.push(report);
    }
    for report in &reports {
        println!("{}", report.to_markdown());
    }
    println!("\nLoad average at the end: {}.", machine::load_average());
    Ok(())
}

/// How the benchmark was asked to run.
struct Settings {
    /// Length of one timed run.
    run_length: Duration,
    /// The backends to measure, in order.
    backends: Vec<Backend>,
    /// The PostgreSQL server, without a database name.
    postgres_server: String,
}

impl Settings {
    fn from_args() -> Result<Self> {
        let mut settings = Settings {
            run_length: Duration::from_secs(3),
            backends: vec![Backend::Postgres, Backend::Sqlite],
            postgres_server: std::env::var("KEEL_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned()),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let seconds: f64 = args.next().context("--seconds needs a value")?.parse()?;
                    settings.run_length = Duration::from_secs_f64(seconds);
                }
                "--backend" => {
                    settings.backends = match args.next().as_deref() {
                        Some("postgres") => vec![Backend::Postgres],
                        Some("sqlite") => vec![Backend::Sqlite],
                        Some("all") => vec![Backend::Postgres, Backend::Sqlite],
                        other => bail!("--backend postgres|sqlite|all, not {other:?}"),
                    }
                }
                // `cargo bench` passes `--bench` to every benchmark binary.
                "--bench" => {}
                other => bail!("unknown argument `{other}`; use --seconds S, --backend B"),
            }
        }
        Ok(settings)
    }
}

/// A backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }

    /// Connection counts of the single-row raw baseline. SQLite has one writer at a time.
    fn raw_insert_connections(self) -> &'static [usize] {
        match self {
            Backend::Postgres => &CONCURRENCY,
            Backend::Sqlite => &[1],
        }
    }

    /// Connections of the batched raw baseline.
    fn raw_batch_connections(self) -> usize {
        match self {
            Backend::Postgres => 8,
            Backend::Sqlite => 1,
        }
    }

    /// The targets on this backend.
    fn goals(self) -> Vec<Goal> {
        let mut goals = vec![
            Goal::relative(Key::Hot, Key::Renames(WRITERS), 0.5),
            Goal::relative(
                Key::Sequential(Cache::Cold, History::Long),
                Key::Sequential(Cache::Cold, History::Short),
                0.9,
            ),
        ];
        match self {
            Backend::Postgres => {
                goals.push(Goal::relative(
                    Key::Renames(WRITERS),
                    Key::RawInsert(WRITERS),
                    0.7,
                ));
                goals.extend(PAGES.map(|page| Goal::absolute(Key::ReadAll(page), 200_000.0)));
            }
            Backend::Sqlite => goals.push(Goal::relative(
                Key::Renames(WRITERS),
                Key::RawInsert(1),
                1.0,
            )),
        }
        goals
    }
}

async fn bench_postgres(settings: &Settings) -> Result<Report> {
    let database = postgres::BenchDatabase::create(&settings.postgres_server).await?;
    let raw = postgres::PgRaw::connect(&database.url()).await?;
    let environment = raw.describe().await?;
    bench_backend(
        settings,
        Backend::Postgres,
        environment,
        raw,
        &database.url(),
    )
    .await
}

async fn bench_sqlite(settings: &Settings) -> Result<Report> {
    let directory = tempfile::tempdir()?;
    let raw = sqlite::SqliteRaw::open(&directory.path().join("raw.db")).await?;
    let environment = raw.describe().await?;
    let url = format!("sqlite://{}", directory.path().join("keel.db").display());
    bench_backend(settings, Backend::Sqlite, environment, raw, &url).await
}

/// Measures everything on one backend, the store at `store_url`. The figures that are compared
/// with each other (raw inserts, the handler's renames) are measured in the same rounds.
async fn bench_backend<R: RawTable>(
    settings: &Settings,
    backend: Backend,
    environment: String,
    raw: R,
    store_url: &str,
) -> Result<Report> {
    let mut report = Report::new(backend, environment);
    let raw = Arc::new(raw);
    let store = keel_store::open(store_url, &keel_store::StoreOptions::default()).await?;
    let handler = CommandHandler::<Tenant>::new(store.clone(), HandlerConfig::default());
    let tenants = creations(&handler, &mut report).await?;
    let mut rounds = Rounds::new(settings.run_length);
    raw_inserts(backend, &raw, &mut rounds);
    renames(&handler, tenants, &mut rounds);
    sequential_renames(&handler, &mut rounds).await?;
    rounds.run(&mut report).await?;
    raw_bulk(settings, backend, &raw, &mut report).await?;
    read_all(&store, &mut report).await?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/// What one step of a workload achieved.
enum Step {
    /// This many units (events or commands) done.
    Done(u64),
    /// The command came back with a conflict (`CommandError::Conflict`).
    Conflict,
    /// Nothing left to do.
    Finished,
}

/// Work that concurrent tasks repeat, step after step, until the time is up or it is finished.
#[async_trait]
trait Workload: Send + Sync + 'static {
    /// One task's own state (for example its database connection).
    type Task: Send + 'static;

    /// Prepares task number `index`; not timed.
    async fn start_task(&self, index: usize) -> Result<Self::Task>;

    /// Does one step.
    async fn step(&self, task: &mut Self::Task) -> Result<Step>;
}

/// What one timed run achieved.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    units: u64,
    conflicts: u64,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.units as f64 / self.elapsed.as_secs_f64()
    }

    /// Counts a step; `false` if the workload is finished.
    fn count(&mut self, step: Step) -> bool {
        match step {
            Step::Done(units) => self.units += units,
            Step::Conflict => self.conflicts += 1,
            Step::Finished => return false,
        }
        true
    }
}

/// A measured figure: the rates of its runs and the conflicts they met.
#[derive(Debug, Clone, Default)]
struct Figure {
    rates: Vec<f64>,
    conflicts: u64,
}

impl Figure {
    fn add(&mut self, run: Run) {
        self.rates.push(run.rate());
        self.conflicts += run.conflicts;
    }

    fn median(&self) -> f64 {
        let mut sorted = self.rates.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }
}

/// Runs `workload` on `tasks` concurrent tasks for `length` (or until it is finished).
async fn run_for<W: Workload>(workload: &Arc<W>, tasks: usize, length: Duration) -> Result<Run> {
    let mut states = Vec::with_capacity(tasks);
    for index in 0..tasks {
        states.push(workload.start_task(index).await?);
    }
    let start = Instant::now();
    let deadline = start + length;
    let handles: Vec<_> = states
        .into_iter()
        .map(|state| tokio::spawn(repeat_steps(workload.clone(), state, deadline)))
        .collect();
    let mut total = Run::default();
    for handle in handles {
        let run = handle.await??;
        total.units += run.units;
        total.conflicts += run.conflicts;
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

/// One task of [`run_for`].
async fn repeat_steps<W: Workload>(
    workload: Arc<W>,
    mut state: W::Task,
    deadline: Instant,
) -> Result<Run> {
    let mut run = Run::default();
    while Instant::now() < deadline && run.count(workload.step(&mut state).await?) {}
    Ok(run)
}

/// Times one job that returns how many units it handled.
async fn timed(job: impl Future<Output = Result<u64>>) -> Result<Run> {
    let start = Instant::now();
    let units = job.await?;
    Ok(Run {
        units,
        conflicts: 0,
        elapsed: start.elapsed(),
    })
}

/// Runs `run` [`RUNS`] times.
async fn runs<F, Fut>(mut run: F) -> Result<Figure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Run>>,
{
    let mut figure = Figure::default();
    for _ in 0..RUNS {
        figure.add(run().await?);
    }
    Ok(figure)
}

/// A measurement that can be taken again and again: one timed run of one or more figures.
#[async_trait]
trait Repeatable: Send + Sync {
    async fn run(&self) -> Result<Vec<(Key, Run)>>;
}

/// A workload on `tasks` tasks for `length`, measured as `key`.
struct Timed<W> {
    key: Key,
    workload: Arc<W>,
    tasks: usize,
    length: Duration,
}

#[async_trait]
impl<W: Workload> Repeatable for Timed<W> {
    async fn run(&self) -> Result<Vec<(Key, Run)>> {
        let run = run_for(&self.workload, self.tasks, self.length).await?;
        Ok(vec![(self.key, run)])
    }
}

/// Measurements taken in [`RUNS`] rounds, each round running every measurement once: drift
/// during the phase (WAL checkpoints, caches, other load on the machine) then spreads over all
/// of them alike, and the ratios between them stay fair.
struct Rounds {
    /// How long each run lasts.
    length: Duration,
    measurements: Vec<Box<dyn Repeatable>>,
}

impl Rounds {
    fn new(length: Duration) -> Self {
        Rounds {
            length,
            measurements: Vec::new(),
        }
    }

    /// Adds `workload` on `tasks` tasks, measured as `key`.
    fn add<W: Workload>(&mut self, key: Key, workload: W, tasks: usize) {
        self.push(Timed {
            key,
            workload: Arc::new(workload),
            tasks,
            length: self.length,
        });
    }

    fn push(&mut self, measurement: impl Repeatable + 'static) {
        self.measurements.push(Box::new(measurement));
    }

    /// Runs the rounds and records every figure.
    async fn run(self, report: &mut Report) -> Result<()> {
        let mut figures: Vec<(Key, Figure)> = Vec::new();
        for round in 1..=RUNS {
            for measurement in &self.measurements {
                for (key, run) in measurement.run().await? {
                    eprintln!("  round {round}/{RUNS}: {key}: {}", thousands(run.rate()));
                    let index = match figures.iter().position(|(k, _)| *k == key) {
                        Some(index) => index,
                        None => {
                            figures.push((key, Figure::default()));
                            figures.len() - 1
                        }
                    };
                    figures[index].1.add(run);
                }
            }
        }
        for (key, figure) in figures {
            report.record(key, figure);
        }
        Ok(())
    }
}

/// A shared allowance of steps: a finite workload takes one per step and stops at zero.
struct Budget(AtomicI64);

impl Budget {
    fn new(steps: i64) -> Self {
        Budget(AtomicI64::new(steps))
    }

    fn take(&self) -> bool {
        self.0.fetch_sub(1, Ordering::Relaxed) > 0
    }
}

// ---------------------------------------------------------------------------------------------
// Raw baselines
// ---------------------------------------------------------------------------------------------

/// The columns the raw baselines write: the store's `events` columns but the position, which
/// the database assigns (PostgreSQL `bigserial`, SQLite rowid).
const RAW_COLUMNS: &str = "event_id, stream_id, stream_version, tenant_id, event_type, \
     schema_version, occurred_at, recorded_at, actor_kind, actor_id, correlation_id, causation_id, \
     payload";

/// A table shaped like the store's `events` table, written and read with plain SQL.
#[async_trait]
trait RawTable: Send + Sync + 'static {
    /// A connection of one writing task.
    type Connection: Send + 'static;

    /// Opens a writing connection.
    async fn connect(&self) -> Result<Self::Connection>;

    /// Inserts the events `versions` of `stream` with one INSERT statement: one transaction.
    async fn insert(
        &self,
        connection: &mut Self::Connection,
        stream: &str,
        versions: Range<i64>,
    ) -> Result<()>;

    /// Reads the whole table, in position order, as one streamed SELECT; returns the row count.
    async fn stream_all(&self) -> Result<u64>;

    /// Drops the table and flushes what its inserts left to write (a checkpoint), so that
    /// neither weighs on the measurements that follow.
    async fn discard(&self) -> Result<()>;
}

/// The fixed parts of every raw row: a real `tenant.renamed` payload and its metadata.
#[derive(Clone)]
struct RowTemplate {
    event: NewEvent,
}

impl RowTemplate {
    fn new() -> Result<Self> {
        let tenant = TenantId(uuid::Uuid::now_v7());
        let event = renamed_events(tenant, 1)?.remove(0);
        Ok(RowTemplate { event })
    }
}

/// Raw inserts of `rows_per_insert` events, each task to a stream of its own.
struct RawInserts<R> {
    table: Arc<R>,
    rows_per_insert: usize,
}

/// A raw-insert task: its connection and the next free version of its stream.
struct RawTask<C> {
    connection: C,
    stream: String,
    next_version: i64,
}

#[async_trait]
impl<R: RawTable> Workload for RawInserts<R> {
    type Task = RawTask<R::Connection>;

    async fn start_task(&self, _index: usize) -> Result<Self::Task> {
        Ok(RawTask {
            connection: self.table.connect().await?,
            stream: format!("raw-{}", Uuid::now_v7()),
            next_version: 1,
        })
    }

    async fn step(&self, task: &mut Self::Task) -> Result<Step> {
        let versions = task.next_version..task.next_version + self.rows_per_insert as i64;
        task.next_version = versions.end;
        self.table
            .insert(&mut task.connection, &task.stream, versions)
            .await?;
        Ok(Step::Done(self.rows_per_insert as u64))
    }
}

/// Single-row raw inserts (one event per transaction) on each connection count.
fn raw_inserts<R: RawTable>(backend: Backend, table: &Arc<R>, rounds: &mut Rounds) {
    for &connections in backend.raw_insert_connections() {
        let inserts = RawInserts {
            table: table.clone(),
            rows_per_insert: 1,
        };
        rounds.add(Key::RawInsert(connections), inserts, connections);
    }
}

/// Batched raw inserts and the streamed SELECT of the whole table; then drops the table.
async fn raw_bulk<R: RawTable>(
    settings: &Settings,
    backend: Backend,
    table: &Arc<R>,
    report: &mut Report,
) -> Result<()> {
    let mut rounds = Rounds::new(settings.run_length);
    let batches = RawInserts {
        table: table.clone(),
        rows_per_insert: RAW_BATCH,
    };
    let connections = backend.raw_batch_connections();
    rounds.add(Key::RawBatch(connections), batches, connections);
    rounds.run(report).await?;
    let figure = runs(|| timed(table.stream_all())).await?;
    report.record(Key::RawSelect, figure);
    table.discard().await
}

// ---------------------------------------------------------------------------------------------
// Tenant commands through the handler
// ---------------------------------------------------------------------------------------------

/// Numbers for unique tenant names and slugs, across the whole run.
static NEXT_NUMBER: AtomicU64 = AtomicU64::new(1);

fn next_number() -> u64 {
    NEXT_NUMBER.fetch_add(1, Ordering::Relaxed)
}

fn metadata(tenant: TenantId) -> EventMetadata {
    EventMetadata::new(tenant, Actor::ApiKey("bench".into()))
}

fn create_command(tenant: TenantId) -> TenantCommand {
    let n = next_number();
    TenantCommand::Create(CreateTenant {
        tenant_id: tenant,
        name: format!("Tenant {n}"),
        slug: format!("bench-{n}"),
        plan: "standard".into(),
        data_region: "eu-west-1".into(),
        owner_email: format!("owner@bench-{n}.example"),
        owner_member_id: Uuid::now_v7(),
    })
}

/// A rename to a name no tenant has had before in this run, so it is never refused.
fn rename_command() -> TenantCommand {
    TenantCommand::Rename(RenameTenant {
        name: format!("Name {}", next_number()),
    })
}

/// `count` `tenant.renamed` events with fresh names, as the handler would append them.
fn renamed_events(tenant: TenantId, count: usize) -> Result<Vec<NewEvent>> {
    (0..count)
        .map(|_| {
            let name = TenantName::parse(&format!("Name {}", next_number()))?;
            let event = TenantEvent::Renamed(TenantRenamed { name });
            Ok(NewEvent::from_domain(&event, metadata(tenant))?)
        })
        .collect()
}

/// The step of a handler workload: one command, a conflict counted rather than failing.
fn command_step<T>(result: Result<T, CommandError<TenantError>>) -> Result<Step> {
    match result {
        Ok(_) => Ok(Step::Done(1)),
        Err(CommandError::Conflict(_)) => Ok(Step::Conflict),
        Err(error) => Err(error).context("a benchmark command failed"),
    }
}

/// Creates tenants until its budget is spent, remembering their ids.
struct Creations {
    handler: CommandHandler<Tenant>,
    budget: Budget,
    created: Arc<Mutex<Vec<TenantId>>>,
}

#[async_trait]
impl Workload for Creations {
    type Task = ();

    async fn start_task(&self, _index: usize) -> Result<()> {
        Ok(())
    }

    async fn step(&self, _task: &mut ()) -> Result<Step> {
        if !self.budget.take() {
            return Ok(Step::Finished);
        }
        let tenant = TenantId(uuid::Uuid::now_v7());
        let result = self
            .handler
            .execute(
                AggregateId::tenant(tenant),
                create_command(tenant),
                metadata(tenant),
                None,
            )
            .await;
        if result.is_ok() {
            self.created.lock().expect("never poisoned").push(tenant);
        }
        command_step(result)
    }
}

/// Creates [`TENANTS`] tenants per run from [`WRITERS`] tasks; returns the first run's.
async fn creations(handler: &CommandHandler<Tenant>, report: &mut Report) -> Result<Vec<TenantId>> {
    let created = Arc::new(Mutex::new(Vec::new()));
    let figure = runs(|| {
        let workload = Arc::new(Creations {
            handler: handler.clone(),
            budget: Budget::new(TENANTS as i64),
            created: created.clone(),
        });
        async move { run_for(&workload, WRITERS, FINITE_RUN_LIMIT).await }
    })
    .await?;
    report.record(Key::Create, figure);
    let created = created.lock().expect("never poisoned");
    // Runs follow one another, so the first run's tenants come first.
    ensure!(
        created.len() == TENANTS * RUNS,
        "created {} tenants, not {}",
        created.len(),
        TENANTS * RUNS
    );
    Ok(created[..TENANTS].to_vec())
}

/// Whether each command gets the shared handler (its cache warm) or a fresh one (cold: it
/// loads the tenant's snapshot and the events after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cache {
    Cold,
    Warm,
}

/// Renames `tenant` through `handler`, or through a fresh handler on the same store if cold.
async fn rename(handler: &CommandHandler<Tenant>, cache: Cache, tenant: TenantId) -> Result<Step> {
    let fresh;
    let handler = match cache {
        Cache::Warm => handler,
        Cache::Cold => {
            fresh = CommandHandler::new(handler.store().clone(), HandlerConfig::default());
            &fresh
        }
    };
    let result = handler
        .execute(
            AggregateId::tenant(tenant),
            rename_command(),
            metadata(tenant),
            None,
        )
        .await;
    command_step(result)
}

/// Renames tenants round-robin through one handler, one command per step.
struct Renames {
    handler: CommandHandler<Tenant>,
    tenants: Vec<TenantId>,
    next: AtomicUsize,
}

impl Renames {
    fn new(handler: &CommandHandler<Tenant>, tenants: Vec<TenantId>) -> Self {
        Renames {
            handler: handler.clone(),
            tenants,
            next: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Workload for Renames {
    type Task = ();

    async fn start_task(&self, _index: usize) -> Result<()> {
        Ok(())
    }

    async fn step(&self, _task: &mut ()) -> Result<Step> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let tenant = self.tenants[turn % self.tenants.len()];
        rename(&self.handler, Cache::Warm, tenant).await
    }
}

/// Renames spread over `tenants` from each concurrency, and renames of one hot tenant.
fn renames(handler: &CommandHandler<Tenant>, tenants: Vec<TenantId>, rounds: &mut Rounds) {
    let hot = tenants[0];
    for tasks in CONCURRENCY {
        let spread = Renames::new(handler, tenants.clone());
        rounds.add(Key::Renames(tasks), spread, tasks);
    }
    rounds.add(Key::Hot, Renames::new(handler, vec![hot]), WRITERS);
}

/// Sequential renames that alternate, command by command, between tenants of different
/// histories, each tenant's commands timed apart. Drift (disk latency, other load) then hits
/// them alike: their ratio stays steady where separate runs of a few seconds would scatter it.
struct Alternating {
    handler: CommandHandler<Tenant>,
    cache: Cache,
    tenants: Vec<(History, TenantId)>,
    length: Duration,
}

#[async_trait]
impl Repeatable for Alternating {
    async fn run(&self) -> Result<Vec<(Key, Run)>> {
        let mut runs = vec![Run::default(); self.tenants.len()];
        let deadline = Instant::now() + self.length;
        let mut turn = 0;
        while Instant::now() < deadline {
            let index = turn % self.tenants.len();
            let start = Instant::now();
            let step = rename(&self.handler, self.cache, self.tenants[index].1).await?;
            runs[index].elapsed += start.elapsed();
            runs[index].count(step);
            turn += 1;
        }
        let keys = self
            .tenants
            .iter()
            .map(|&(history, _)| Key::Sequential(self.cache, history));
        Ok(keys.zip(runs).collect())
    }
}

/// Sequential renames of a tenant with a short and one with a long history, cold and warm.
async fn sequential_renames(handler: &CommandHandler<Tenant>, rounds: &mut Rounds) -> Result<()> {
    let mut tenants = Vec::new();
    for history in [History::Short, History::Long] {
        tenants.push((history, tenant_with_history(handler, history).await?));
    }
    for cache in [Cache::Cold, Cache::Warm] {
        rounds.push(Alternating {
            handler: handler.clone(),
            cache,
            tenants: tenants.clone(),
            length: rounds.length,
        });
    }
    Ok(())
}

/// How long a tenant's stream is when the sequential renames start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum History {
    /// 10 prior events: created, owner added, 8 renames.
    Short,
    /// 10,000 prior events, and a snapshot.
    Long,
}

impl History {
    fn prior_events(self) -> u64 {
        match self {
            History::Short => 10,
            History::Long => 10_000,
        }
    }
}

/// A new tenant whose stream holds `history.prior_events()` events. A long history is appended
/// straight to the store in bulk, then one command through a fresh handler loads all of it and
/// takes the snapshot that later loads start from.
async fn tenant_with_history(
    handler: &CommandHandler<Tenant>,
    history: History,
) -> Result<TenantId> {
    let tenant = TenantId(uuid::Uuid::now_v7());
    let id = AggregateId::tenant(tenant);
    let created = handler
        .execute(id, create_command(tenant), metadata(tenant), None)
        .await?;
    let mut version = created.stream_version;
    let store = handler.store();
    let stream = id.stream_id("tenant");
    if history == History::Short {
        while version < history.prior_events() {
            version = handler
                .execute(id, rename_command(), metadata(tenant), None)
                .await?
                .stream_version;
        }
        return Ok(tenant);
    }
    while version < history.prior_events() {
        let count = BULK.min((history.prior_events() - version) as usize);
        let events = renamed_events(tenant, count)?;
        version = store
            .append(&stream, ExpectedVersion::Exact(version), events)
            .await?
            .stream_version;
    }
    let fresh = CommandHandler::<Tenant>::new(store.clone(), HandlerConfig::default());
    fresh
        .execute(id, rename_command(), metadata(tenant), None)
        .await?;
    wait_for_snapshot(store.as_ref(), &stream, history.prior_events()).await?;
    Ok(tenant)
}

/// Waits until `stream` has a snapshot at `version` or later (the handler saves it in the
/// background).
async fn wait_for_snapshot(store: &dyn EventStore, stream: &str, version: u64) -> Result<()> {
    for _ in 0..200 {
        if let Some(snapshot) = store.load_snapshot(stream).await? {
            if snapshot.stream_version >= version {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("no snapshot of {stream} at version {version} after 10 s")
}

// ---------------------------------------------------------------------------------------------
// Filling and reading the log
// ---------------------------------------------------------------------------------------------

/// Appends [`BULK`] events per step to a new stream, until its budget is spent.
struct Fill {
    store: Arc<dyn EventStore>,
    budget: Budget,
}

#[async_trait]
impl Workload for Fill {
    type Task = ();

    async fn start_task(&self, _index: usize) -> Result<()> {
        Ok(())
    }

    async fn step(&self, _task: &mut ()) -> Result<Step> {
        if !self.budget.take() {
            return Ok(Step::Finished);
        }
        let tenant = TenantId(uuid::Uuid::now_v7());
        let events = renamed_events(tenant, BULK)?;
        let stream = format!("fill-{}", tenant.0);
        self.store
            .append(&stream, ExpectedVersion::NoStream, events)
            .await?;
        Ok(Step::Done(BULK as u64))
    }
}

/// Fills the log to [`LOG_SIZE`] events in bulk appends (measuring them), then measures
/// `read_all` of the whole log in each page size.
async fn read_all(store: &Arc<dyn EventStore>, report: &mut Report) -> Result<()> {
    let missing = LOG_SIZE.saturating_sub(store.head_position().await?);
    let appends_per_run = (missing.div_ceil((BULK * RUNS) as u64) as i64).max(MIN_FILL_APPENDS);
    let figure = runs(|| {
        let fill = Arc::new(Fill {
            store: store.clone(),
            budget: Budget::new(appends_per_run),
        });
        async move { run_for(&fill, FILL_TASKS, FINITE_RUN_LIMIT).await }
    })
    .await?;
    report.record(Key::Fill, figure);
    for page in PAGES {
        let figure = runs(|| timed(read_whole_log(store.as_ref(), page))).await?;
        report.record(Key::ReadAll(page), figure);
    }
    Ok(())
}

/// Reads the global log from the start in pages of `page`; returns the number of events.
async fn read_whole_log(store: &dyn EventStore, page: usize) -> Result<u64> {
    let mut after = 0;
    let mut count = 0;
    loop {
        let events = store.read_all(after, page).await?;
        count += events.len() as u64;
        match events.last() {
            Some(last) if events.len() == page => after = last.global_position,
            _ => return Ok(count),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

/// What a figure measures; tables list figures in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// Raw single-row INSERTs (one event per transaction) from this many connections.
    RawInsert(usize),
    /// Raw [`RAW_BATCH`]-row INSERTs from this many connections.
    RawBatch(usize),
    /// One streamed SELECT of the raw table.
    RawSelect,
    /// Tenant creations from [`WRITERS`] tasks.
    Create,
    /// Renames from this many tasks over [`TENANTS`] tenants.
    Renames(usize),
    /// Renames from [`WRITERS`] tasks on one tenant.
    Hot,
    /// Sequential renames of one tenant.
    Sequential(Cache, History),
    /// Bulk appends of [`BULK`] events from [`FILL_TASKS`] tasks.
    Fill,
    /// `read_all` of the whole log in pages of this size.
    ReadAll(usize),
}

impl Key {
    fn unit(self) -> &'static str {
        match self {
            Key::Create | Key::Renames(_) | Key::Hot | Key::Sequential(..) => "commands/s",
            _ => "events/s",
        }
    }

    /// Whether the figure comes from the command handler (and so may meet conflicts).
    fn is_command(self) -> bool {
        self.unit() == "commands/s"
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match *self {
            Key::RawInsert(n) => write!(f, "raw INSERT, 1 event/tx, {n} connection{}", plural(n)),
            Key::RawBatch(n) => {
                write!(
                    f,
                    "raw INSERT, {RAW_BATCH} events/tx, {n} connection{}",
                    plural(n)
                )
            }
            Key::RawSelect => write!(f, "raw streamed SELECT of the raw table"),
            Key::Create => write!(f, "handler: create tenant, {WRITERS} tasks"),
            Key::Renames(n) => write!(
                f,
                "handler: rename, {n} task{} over {} tenants",
                plural(n),
                thousands(TENANTS as f64)
            ),
            Key::Hot => write!(f, "handler: rename, {WRITERS} tasks on one tenant"),
            Key::Sequential(cache, history) => {
                let cache = match cache {
                    Cache::Cold => "cold (fresh handler per command)",
                    Cache::Warm => "warm",
                };
                write!(
                    f,
                    "handler: rename, 1 task, {} prior events, {cache}",
                    thousands(history.prior_events() as f64)
                )
            }
            Key::Fill => write!(
                f,
                "store: append {} events per append, {FILL_TASKS} tasks",
                thousands(BULK as f64)
            ),
            Key::ReadAll(page) => write!(f, "store: read_all, pages of {}", thousands(page as f64)),
        }
    }
}

/// A target of the issue for one figure.
struct Goal {
    key: Key,
    required: Required,
}

/// What a goal requires of a figure's median.
enum Required {
    /// At least this share of another figure's median.
    Share { of: Key, at_least: f64 },
    /// At least this rate.
    Rate(f64),
}

impl Goal {
    fn relative(key: Key, of: Key, at_least: f64) -> Self {
        Goal {
            key,
            required: Required::Share { of, at_least },
        }
    }

    fn absolute(key: Key, rate: f64) -> Self {
        Goal {
            key,
            required: Required::Rate(rate),
        }
    }

    /// The goal as text, e.g. `≥ 70% of raw INSERT, 1 event/tx, 32 connections`.
    fn describe(&self) -> String {
        match self.required {
            Required::Share { of, at_least } => format!("≥ {:.0}% of {of}", at_least * 100.0),
            Required::Rate(rate) => format!("≥ {}", thousands(rate)),
        }
    }

    /// PASS or FAIL, with the measured share for a relative goal; `None` if a figure is
    /// missing. A command figure with conflicts fails: conflicts mean a retry storm.
    fn verdict(&self, report: &Report) -> Option<String> {
        let figure = report.get(self.key)?;
        let (pass, share) = match self.required {
            Required::Share { of, at_least } => {
                let share = figure.median() / report.get(of)?.median();
                (share >= at_least, format!(" ({:.0}%)", share * 100.0))
            }
            Required::Rate(rate) => (figure.median() >= rate, String::new()),
        };
        let verdict = if pass && figure.conflicts == 0 {
            "PASS"
        } else {
            "FAIL"
        };
        Some(format!("{verdict}{share}"))
    }
}

/// One backend's figures, in the order measured.
struct Report {
    backend: Backend,
    environment: String,
    figures: Vec<(Key, Figure)>,
}

impl Report {
    fn new(backend: Backend, environment: String) -> Self {
        Report {
            backend,
            environment,
            figures: Vec::new(),
        }
    }

    /// Adds a figure, and shows it at once on stderr as progress.
    fn record(&mut self, key: Key, figure: Figure) {
        let runs: Vec<String> = figure.rates.iter().map(|&r| thousands(r)).collect();
        eprintln!(
            "{}: {key}: {} {} (runs {}{})",
            self.backend.name(),
            thousands(figure.median()),
            key.unit(),
            runs.join(", "),
            if key.is_command() {
                format!(", {} conflicts", figure.conflicts)
            } else {
                String::new()
            },
        );
        self.figures.push((key, figure));
    }

    fn get(&self, key: Key) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, figure)| figure)
    }

    /// The backend's table: every figure with its runs, conflicts and target.
    fn to_markdown(&self) -> String {
        let goals = self.backend.goals();
        let mut out = format!(
            "\n### {}\n\n{}\n\n| Measurement | Median | Runs | Conflicts | Target | Result |\n\
             |---|---:|---|---:|---|---|\n",
            self.backend.name(),
            self.environment
        );
        let mut figures: Vec<&(Key, Figure)> = self.figures.iter().collect();
        figures.sort_by_key(|(key, _)| *key);
        for (key, figure) in figures {
            let goal = goals.iter().find(|goal| goal.key == *key);
            let runs: Vec<String> = figure.rates.iter().map(|&r| thousands(r)).collect();
            out += &format!(
                "| {key} | {} {} | {} | {} | {} | {} |\n",
                thousands(figure.median()),
                key.unit(),
                runs.join(" / "),
                if key.is_command() {
                    figure.conflicts.to_string()
                } else {
                    "–".into()
                },
                goal.map(Goal::describe).unwrap_or_default(),
                goal.and_then(|goal| goal.verdict(self)).unwrap_or_default(),
            );
        }
        out + &self.ratios()
    }

    /// Ratios worth reading besides the targets.
    fn ratios(&self) -> String {
        let ratio = |a: Key, b: Key| -> Option<String> {
            let r = self.get(a)?.median() / self.get(b)?.median();
            Some(format!("- {a} / {b}: {:.0}%\n", r * 100.0))
        };
        let insert_baseline =
            Key::RawInsert(*self.backend.raw_insert_connections().last().unwrap_or(&1));
        let pairs = [
            (Key::Renames(WRITERS), insert_baseline),
            (
                Key::Renames(WRITERS),
                Key::RawBatch(self.backend.raw_batch_connections()),
            ),
            (Key::Hot, Key::Renames(WRITERS)),
            (
                Key::Sequential(Cache::Cold, History::Long),
                Key::Sequential(Cache::Cold, History::Short),
            ),
            (
                Key::Sequential(Cache::Warm, History::Long),
                Key::Sequential(Cache::Warm, History::Short),
            ),
            (Key::ReadAll(PAGES[1]), Key::RawSelect),
        ];
        let lines: String = pairs.iter().filter_map(|&(a, b)| ratio(a, b)).collect();
        format!("\nRatios (medians):\n{lines}")
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------------------------

mod machine {
    //! What the benchmark ran on: CPU, cores, memory and the source revision.

    use std::process::Command;

    /// A markdown paragraph describing the machine and the commit.
    pub fn describe() -> String {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let cpu = field(&cpuinfo, "model name").unwrap_or("unknown CPU");
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let memory = field(&meminfo, "MemTotal")
            .and_then(|kb| kb.trim_end_matches(" kB").parse::<f64>().ok())
            .map_or("unknown".to_owned(), |kb| {
                format!("{:.1} GiB", kb / 1024.0 / 1024.0)
            });
        // Other work on the machine skews every figure: show how busy it was when we started.
        let load = load_average();
        format!(
            "## Keel write-side benchmark\n\nMachine: {cpu}, {cores} cores, {memory} RAM; load \
             average {load} at the start. Commit: {}.",
            commit()
        )
    }

    /// The 1-minute load average.
    pub fn load_average() -> String {
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        loadavg
            .split_whitespace()
            .next()
            .unwrap_or("unknown")
            .to_owned()
    }

    /// The value of the first `name: value` line.
    fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim())
    }

    /// The git commit of the source, marked when the working tree has changes.
    fn commit() -> String {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(["-C", env!("CARGO_MANIFEST_DIR")])
                .args(args)
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        match git(&["rev-parse", "--short=12", "HEAD"]) {
            Some(commit) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|status| !status.is_empty());
                if dirty {
                    format!("{commit} with uncommitted changes")
                } else {
                    commit
                }
            }
            None => "unknown (no git)".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

mod postgres {
    //! The benchmark's own PostgreSQL database, and the raw baseline table in it.

    use super::{RawTable, RowTemplate, RAW_COLUMNS};
    use anyhow::{Context, Result};
    use async_trait::async_trait;
    use chrono::Utc;
    use futures::TryStreamExt;
    use sqlx::pool::PoolConnection;
    use sqlx::postgres::{PgPool, PgPoolOptions};
    use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};
    use std::ops::Range;
    use uuid::Uuid;

    /// A database of its own on the server, dropped when this guard is.
    pub struct BenchDatabase {
        server: String,
        name: String,
    }

    impl BenchDatabase {
        /// Creates `keel_bench_<uuid>` on `server`.
        pub async fn create(server: &str) -> Result<Self> {
            let name = format!("keel_bench_{}", Uuid::now_v7().simple());
            admin_execute(server, &format!("CREATE DATABASE \"{name}\"")).await?;
            Ok(BenchDatabase {
                server: server.to_owned(),
                name,
            })
        }

        pub fn url(&self) -> String {
            format!("{}/{}", self.server, self.name)
        }
    }

    impl Drop for BenchDatabase {
        fn drop(&mut self) {
            let server = self.server.clone();
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            // Drop runs inside the runtime (or while unwinding), where blocking on async work
            // is not allowed: do it on a thread with its own runtime.
            let dropped = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(anyhow::Error::from)
                    .and_then(|runtime| runtime.block_on(admin_execute(&server, &sql)))
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the benchmark database {}", self.name);
            }
        }
    }

    async fn admin_execute(server: &str, sql: &str) -> Result<()> {
        let url = format!("{server}/postgres");
        let mut connection = PgConnection::connect(&url).await.with_context(|| {
            format!("PostgreSQL is not reachable at {url} (scripts/bench starts it)")
        })?;
        sqlx::query(sql).execute(&mut connection).await?;
        Ok(())
    }

    /// The raw table `raw_events`, shaped like the store's `events` table.
    pub struct PgRaw {
        pool: PgPool,
        template: RowTemplate,
    }

    impl PgRaw {
        /// Connects to the benchmark database and creates the raw table.
        pub async fn connect(url: &str) -> Result<Self> {
            let pool = PgPoolOptions::new()
                .max_connections(40)
                .connect(url)
                .await?;
            sqlx::raw_sql(
                "CREATE TABLE raw_events (
                    global_position bigserial   PRIMARY KEY,
                    event_id        uuid        NOT NULL UNIQUE,
                    stream_id       text        NOT NULL,
                    stream_version  bigint      NOT NULL,
                    tenant_id       uuid        NOT NULL,
                    event_type      text        NOT NULL,
                    schema_version  integer     NOT NULL,
                    occurred_at     timestamptz NOT NULL,
                    recorded_at     timestamptz NOT NULL DEFAULT now(),
                    actor_kind      text        NOT NULL,
                    actor_id        text        NOT NULL,
                    correlation_id  uuid        NOT NULL,
                    causation_id    uuid,
                    payload         bytea       NOT NULL,
                    UNIQUE (stream_id, stream_version)
                );
                CREATE INDEX raw_events_by_tenant ON raw_events (tenant_id, global_position);",
            )
            .execute(&pool)
            .await?;
            Ok(PgRaw {
                pool,
                template: RowTemplate::new()?,
            })
        }

        /// The server's version and durability settings.
        pub async fn describe(&self) -> Result<String> {
            let settings: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', \
                 'synchronous_commit', 'shared_buffers', 'commit_delay') ORDER BY name",
            )
            .fetch_all(&self.pool)
            .await?;
            let settings: Vec<String> =
                settings.iter().map(|(n, v)| format!("{n} = {v}")).collect();
            Ok(format!("PostgreSQL server: {}.", settings.join(", ")))
        }
    }

    #[async_trait]
    impl RawTable for PgRaw {
        type Connection = PoolConnection<Postgres>;

        async fn connect(&self) -> Result<Self::Connection> {
            Ok(self.pool.acquire().await?)
        }

        async fn insert(
            &self,
            connection: &mut Self::Connection,
            stream: &str,
            versions: Range<i64>,
        ) -> Result<()> {
            let event = &self.template.event;
            let meta = &event.metadata;
            let now = Utc::now();
            let mut insert =
                QueryBuilder::<Postgres>::new(format!("INSERT INTO raw_events ({RAW_COLUMNS}) "));
            insert.push_values(versions, |mut row, version| {
                row.push_bind(Uuid::now_v7())
                    .push_bind(stream)
                    .push_bind(version)
                    .push_bind(meta.tenant_id.0)
                    .push_bind(event.event_type.as_str())
                    .push_bind(event.schema_version as i32)
                    .push_bind(meta.occurred_at)
                    .push_bind(now)
                    .push_bind(meta.actor.kind())
                    .push_bind(meta.actor.id())
                    .push_bind(meta.correlation_id)
                    .push_bind(meta.causation_id)
                    .push_bind(event.payload.as_slice());
            });
            insert.build().execute(&mut **connection).await?;
            Ok(())
        }

        async fn stream_all(&self) -> Result<u64> {
            let sql = format!(
                "SELECT global_position, {RAW_COLUMNS} FROM raw_events ORDER BY global_position"
            );
            let rows = sqlx::query(&sql).fetch(&self.pool);
            Ok(rows
                .try_fold(0, |count, _| async move { Ok(count + 1) })
                .await?)
        }

        async fn discard(&self) -> Result<()> {
            for sql in ["DROP TABLE raw_events", "CHECKPOINT"] {
                sqlx::query(sql).execute(&self.pool).await?;
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------------

mod sqlite {
    //! The raw baseline table in a SQLite file of its own, set up like the store's.

    use super::{RawTable, RowTemplate, RAW_COLUMNS};
    use anyhow::Result;
    use async_trait::async_trait;
    use chrono::Utc;
    use futures::TryStreamExt;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
    use std::ops::Range;
    use std::path::Path;
    use std::time::Duration;
    use uuid::Uuid;

    /// The raw table `raw_events` in its own file, connections configured as the store's
    /// (WAL, `synchronous = FULL`).
    pub struct SqliteRaw {
        options: SqliteConnectOptions,
        template: RowTemplate,
    }

    impl SqliteRaw {
        /// Creates the file and the raw table.
        pub async fn open(path: &Path) -> Result<Self> {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-65536");
            let mut connection = SqliteConnection::connect_with(&options).await?;
            sqlx::raw_sql(
                "CREATE TABLE raw_events (
                    global_position INTEGER PRIMARY KEY,
                    event_id        BLOB    NOT NULL UNIQUE,
                    stream_id       TEXT    NOT NULL,
                    stream_version  INTEGER NOT NULL,
                    tenant_id       BLOB    NOT NULL,
                    event_type      TEXT    NOT NULL,
                    schema_version  INTEGER NOT NULL,
                    occurred_at     INTEGER NOT NULL,
                    recorded_at     INTEGER NOT NULL,
                    actor_kind      TEXT    NOT NULL,
                    actor_id        TEXT    NOT NULL,
                    correlation_id  BLOB    NOT NULL,
                    causation_id    BLOB,
                    payload         BLOB    NOT NULL,
                    UNIQUE (stream_id, stream_version)
                );
                CREATE INDEX raw_events_by_tenant ON raw_events (tenant_id, global_position);",
            )
            .execute(&mut connection)
            .await?;
            Ok(SqliteRaw {
                options,
                template: RowTemplate::new()?,
            })
        }

        /// The SQLite library version.
        pub async fn describe(&self) -> Result<String> {
            let mut connection = self.connect().await?;
            let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(&mut connection)
                .await?;
            Ok(format!(
                "SQLite {version}, WAL, synchronous = FULL, files in a temporary directory."
            ))
        }
    }

    #[async_trait]
    impl RawTable for SqliteRaw {
        type Connection = SqliteConnection;

        async fn connect(&self) -> Result<Self::Connection> {
            Ok(SqliteConnection::connect_with(&self.options).await?)
        }

        async fn insert(
            &self,
            connection: &mut Self::Connection,
            stream: &str,
            versions: Range<i64>,
        ) -> Result<()> {
            let event = &self.template.event;
            let meta = &event.metadata;
            let now = Utc::now().timestamp_micros();
            let mut insert =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO raw_events ({RAW_COLUMNS}) "));
            insert.push_values(versions, |mut row, version| {
                row.push_bind(Uuid::now_v7().as_bytes().to_vec())
                    .push_bind(stream)
                    .push_bind(version)
                    .push_bind(meta.tenant_id.0.as_bytes().to_vec())
                    .push_bind(event.event_type.as_str())
                    .push_bind(event.schema_version as i64)
                    .push_bind(meta.occurred_at.timestamp_micros())
                    .push_bind(now)
                    .push_bind(meta.actor.kind())
                    .push_bind(meta.actor.id())
                    .push_bind(meta.correlation_id.as_bytes().to_vec())
                    .push_bind(meta.causation_id.map(|id| id.as_bytes().to_vec()))
                    .push_bind(event.payload.as_slice());
            });
            insert.build().execute(connection).await?;
            Ok(())
        }

        async fn stream_all(&self) -> Result<u64> {
            let mut connection = self.connect().await?;
            let sql = format!(
                "SELECT global_position, {RAW_COLUMNS} FROM raw_events ORDER BY global_position"
            );
            let rows = sqlx::query(&sql).fetch(&mut connection);
            Ok(rows
                .try_fold(0, |count, _| async move { Ok(count + 1) })
                .await?)
        }

        async fn discard(&self) -> Result<()> {
            let mut connection = self.connect().await?;
            for sql in ["DROP TABLE raw_events", "PRAGMA wal_checkpoint(TRUNCATE)"] {
                sqlx::query(sql).execute(&mut connection).await?;
            }
            Ok(())
        }
    }
}
