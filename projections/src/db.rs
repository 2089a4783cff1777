//! Database access for the read side, on both backends with one body of code.
//!
//! Read models live in the event store's database ([`EventLog::database`]). Their columns
//! are only 64-bit integers and text (times as microseconds since the Unix epoch, ids and
//! hashes as text), so one SQL text with `$n` placeholders (which SQLite accepts too) serves
//! both backends; [`with_pool!`](crate::with_pool) and [`with_tx!`](crate::with_tx) expand a
//! body once per backend so sqlx's types line up.
//!
//! [`EventLog::database`]: keel_log::EventLog::database

use crate::error::ProjectionError;
use chrono::{DateTime, TimeZone, Utc};
use keel_log::write_turns::{write_turn, WriteTurn};
use keel_log::Database;

/// Which backend a database or transaction is on, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend of a database handle.
    pub fn of(db: &Database) -> Backend {
        match db {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// ` FOR UPDATE` on PostgreSQL (row lock until commit); nothing on SQLite, whose
    /// `BEGIN IMMEDIATE` already holds the only write lock.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// The SQL function taking the larger of two values.
    pub fn greatest(self) -> &'static str {
        match self {
            Backend::Sqlite => "max",
            Backend::Postgres => "GREATEST",
        }
    }
}

/// A turn at SQLite's write lock for one autocommit write on `db`'s pool (see
/// [`keel_log::write_turns`]); nothing to wait for on PostgreSQL. Held until the
/// write is done.
pub async fn turn_for_a_write(db: &Database) -> Option<WriteTurn> {
    match db {
        Database::Sqlite(pool) => Some(write_turn(pool).await),
        Database::Postgres(_) => None,
    }
}

/// A read-model transaction on either backend.
pub enum Tx {
    /// On SQLite (begun with `BEGIN IMMEDIATE`, in its turn at the file's write lock).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>, WriteTurn),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Begins a transaction. On SQLite it takes the write lock up front: a deferred
    /// transaction that reads and then writes fails with `SQLITE_BUSY` if the event store
    /// committed in between, instead of waiting. It waits for its turn first
    /// ([`keel_log::write_turns`]), so that it never sleeps in SQLite's busy
    /// handler while the event writer or another worker holds the lock.
    pub async fn begin(db: &Database) -> Result<Tx, ProjectionError> {
        Ok(match db {
            Database::Sqlite(pool) => {
                let turn = write_turn(pool).await;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Database::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), ProjectionError> {
        match self {
            Tx::Sqlite(tx, _turn) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs statements without parameters (DDL, migrations).
    pub async fn execute_raw(&mut self, sql: &str) -> Result<(), ProjectionError> {
        // `Executor::execute` with a bare `&str` binds nothing, so it may hold several
        // statements (simple query protocol on PostgreSQL). `sqlx::raw_sql` would do too, but
        // its future is not `Send` for every lifetime, which spawned workers need.
        crate::with_tx!(self, conn => { sqlx::Executor::execute(&mut *conn, sql).await?; });
        Ok(())
    }
}

/// Expands `$body` once per backend with `$conn` bound to the transaction's connection
/// (`&mut SqliteConnection` or `&mut PgConnection`); use it as `&mut *$conn`. The body may
/// name the backend's type as `Db` (e.g. `sqlx::QueryBuilder::<Db>::new(..)`).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx, _) => {
                #[allow(unused)]
                type Db = sqlx::Sqlite;
                let $conn = &mut **tx;
                $body
            }
            $crate::db::Tx::Postgres(tx) => {
                #[allow(unused)]
                type Db = sqlx::Postgres;
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Expands `$body` once per backend with `$pool` bound to the database's pool.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            keel_log::Database::Sqlite($pool) => $body,
            keel_log::Database::Postgres($pool) => $body,
        }
    };
}

/// A time as stored in read models: microseconds since the Unix epoch.
pub fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A stored time back as a `DateTime`.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Now, as stored.
pub fn now_micros() -> i64 {
    micros(Utc::now())
}

/// A value bound into a statement built at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// Text or NULL.
    OptText(Option<String>),
}

/// Binds values that each backend has the same types for.
macro_rules! bind_param {
    ($target:expr, $param:expr) => {
        match $param {
            Param::Int(v) => $target.push_bind(*v),
            Param::Text(v) => $target.push_bind(v.clone()),
            Param::OptInt(v) => $target.push_bind(*v),
            Param::OptText(v) => $target.push_bind(v.clone()),
        }
    };
}

/// Bind parameters per statement: below SQLite's limit (32766) and PostgreSQL's (65535).
const MAX_BINDS: usize = 30_000;

/// Inserts `rows` into `table`, each statement followed by `suffix` (an `ON CONFLICT`
/// clause, or nothing). Every row binds the same kinds of values in the same order.
///
/// On PostgreSQL one statement takes the whole set as one array per column
/// (`INSERT ... SELECT * FROM UNNEST($1::bigint[], $2::text[], ...)`): its text depends only on
/// the table and columns, so it is prepared once per connection and planned like a one-row
/// insert, where a multi-row `VALUES` list is a new statement with thousands of parameters to
/// parse and plan for every batch size. SQLite, in process and with no array type, takes
/// multi-row `INSERT`s.
pub async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Param>],
    suffix: &str,
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Postgres(tx) => insert_unnest(tx, table, columns, rows, suffix).await,
        Tx::Sqlite(tx, _) => insert_values(tx, table, columns, rows, suffix).await,
    }
}

async fn insert_values(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Param>],
    suffix: &str,
) -> Result<(), ProjectionError> {
    let per_statement = (MAX_BINDS / columns.len().max(1)).max(1);
    let head = format!("INSERT INTO {table} ({}) ", columns.join(", "));
    for chunk in rows.chunks(per_statement) {
        let mut builder = sqlx::QueryBuilder::<sqlx::Sqlite>::new(&head);
        builder.push_values(chunk, |mut values, row| {
            for param in row {
                bind_param!(values, param);
            }
        });
        builder.push(" ");
        builder.push(suffix);
        builder.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One column's values, as a PostgreSQL array.
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

async fn insert_unnest(
    conn: &mut sqlx::PgConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Param>],
    suffix: &str,
) -> Result<(), ProjectionError> {
    let mut arrays: Vec<Column> = rows[0]
        .iter()
        .map(|param| match param {
            Param::Int(_) | Param::OptInt(_) => Column::Int(Vec::with_capacity(rows.len())),
            Param::Text(_) | Param::OptText(_) => Column::Text(Vec::with_capacity(rows.len())),
        })
        .collect();
    if arrays.len() != columns.len() {
        return Err(ProjectionError::InvalidState(format!(
            "{} values for the {} columns of {table}",
            arrays.len(),
            columns.len()
        )));
    }
    for row in rows {
        if row.len() != columns.len() {
            return Err(ProjectionError::InvalidState(format!(
                "a row of {} values for the {} columns of {table}",
                row.len(),
                columns.len()
            )));
        }
        for ((array, param), column) in arrays.iter_mut().zip(row).zip(columns) {
            match (array, param) {
                (Column::Int(values), Param::Int(v)) => values.push(Some(*v)),
                (Column::Int(values), Param::OptInt(v)) => values.push(*v),
                (Column::Text(values), Param::Text(v)) => values.push(Some(v.clone())),
                (Column::Text(values), Param::OptText(v)) => values.push(v.clone()),
                _ => {
                    return Err(ProjectionError::InvalidState(format!(
                        "column {column} of {table} mixes integers and text"
                    )))
                }
            }
        }
    }
    let casts: Vec<String> = arrays
        .iter()
        .enumerate()
        .map(|(i, array)| match array {
            Column::Int(_) => format!("${}::bigint[]", i + 1),
            Column::Text(_) => format!("${}::text[]", i + 1),
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT * FROM UNNEST({}) {suffix}",
        columns.join(", "),
        casts.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for array in arrays {
        query = match array {
            Column::Int(values) => query.bind(values),
            Column::Text(values) => query.bind(values),
        };
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Runs `sql` (ending in `IN `) with `keys` as the list. On PostgreSQL the list is one array
/// parameter (`= ANY($1)`), so the statement is the same for any number of keys and prepared
/// once; SQLite takes the list in chunks of bound values.
pub async fn fetch_in<T>(tx: &mut Tx, sql: &str, keys: &[String]) -> Result<Vec<T>, ProjectionError>
where
    T: Send + Unpin,
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    match tx {
        Tx::Postgres(tx) => {
            let column = sql.trim_end().strip_suffix("IN").ok_or_else(|| {
                ProjectionError::InvalidState(format!("`{sql}` must end in `IN `"))
            })?;
            Ok(sqlx::query_as::<_, T>(&format!("{column}= ANY($1)"))
                .bind(keys)
                .fetch_all(&mut **tx)
                .await?)
        }
        Tx::Sqlite(tx, _) => {
            let mut out = Vec::new();
            for chunk in keys.chunks(1000) {
                let mut builder = sqlx::QueryBuilder::<sqlx::Sqlite>::new(sql);
                builder.push("(");
                let mut list = builder.separated(", ");
                for key in chunk {
                    list.push_bind(key.clone());
                }
                builder.push(")");
                out.extend(builder.build_query_as::<T>().fetch_all(&mut **tx).await?);
            }
            Ok(out)
        }
    }
}

/// Runs a query built at run time with `params` bound in order to `$1`, `$2`, ... and reads
/// every row.
pub async fn fetch_all<T>(
    db: &Database,
    sql: &str,
    params: &[Param],
) -> Result<Vec<T>, ProjectionError>
where
    T: Send + Unpin,
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    Ok(crate::with_pool!(db, pool => {
        let mut query = sqlx::query_as::<_, T>(sql);
        for param in params {
            query = match param {
                Param::Int(v) => query.bind(*v),
                Param::Text(v) => query.bind(v.clone()),
                Param::OptInt(v) => query.bind(*v),
                Param::OptText(v) => query.bind(v.clone()),
            };
        }
        query.fetch_all(pool).await?
    }))
}
