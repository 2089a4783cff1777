//! What a projection declares: its name, the events it handles, its tables and its handler.
//!
//! Tables are declared as data ([`TableSpec`]) rather than as migrations, because the
//! framework creates one set per generation: `<table>_g<n>`, with a view `<table>` over the
//! active generation. Queries read the view; a blue/green rebuild fills generation `n + 1` and
//! switches the view in one transaction.

use crate::db::{Backend, Tx};
use crate::error::ProjectionError;
use async_trait::async_trait;
use keel_log::RecordedEvent;

/// A column's type. Read models hold only integers and text, so one SQL text and one
/// checksum serve both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A 64-bit integer, not null.
    Int,
    /// Text, not null.
    Text,
    /// A 64-bit integer or NULL.
    OptInt,
    /// Text or NULL.
    OptText,
}

/// A read-model table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The name queries use (the view's name).
    pub base: &'static str,
    /// Columns in order.
    pub columns: &'static [(&'static str, ColumnType)],
    /// The primary key; also the order of rows in checksums.
    pub key: &'static [&'static str],
    /// Secondary indexes, by columns.
    pub indexes: &'static [&'static [&'static str]],
    /// Most batches update its rows (running totals) rather than add rows. On PostgreSQL the
    /// table then keeps half of each page free, so that an update can stay on its row's page
    /// (a HOT update) and writes no index entry: measured 2.4 times faster per updated row.
    pub updated_in_place: bool,
}

impl TableSpec {
    /// The `CREATE TABLE` statement (with its primary key) for this table in `generation`.
    pub fn create_sql(&self, backend: Backend, generation: i64) -> String {
        let table = table_name(self.base, generation);
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(name, kind)| {
                let sql_type = match (kind, backend) {
                    (ColumnType::Int, Backend::Sqlite) => "INTEGER NOT NULL",
                    (ColumnType::OptInt, Backend::Sqlite) => "INTEGER",
                    (ColumnType::Int, Backend::Postgres) => "BIGINT NOT NULL",
                    (ColumnType::OptInt, Backend::Postgres) => "BIGINT",
                    (ColumnType::Text, _) => "TEXT NOT NULL",
                    (ColumnType::OptText, _) => "TEXT",
                };
                format!("{name} {sql_type}")
            })
            .collect();
        // A batch updates each row at most once, so one free slot per row is enough.
        let storage = match (self.updated_in_place, backend) {
            (true, Backend::Postgres) => " WITH (fillfactor = 50)",
            _ => "",
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {table} ({}, PRIMARY KEY ({})){storage}",
            columns.join(", "),
            self.key.join(", ")
        )
    }

    /// The `CREATE INDEX` statements of this table's secondary indexes in `generation`.
    pub fn index_sql(&self, generation: i64) -> Vec<String> {
        let table = table_name(self.base, generation);
        self.indexes
            .iter()
            .enumerate()
            .map(|(i, index)| {
                format!(
                    "CREATE INDEX IF NOT EXISTS {table}_i{i} ON {table} ({})",
                    index.join(", ")
                )
            })
            .collect()
    }

    /// The statements pointing the view at `generation`.
    pub fn view_sql(&self, generation: i64) -> [String; 2] {
        [
            format!("DROP VIEW IF EXISTS {}", self.base),
            format!(
                "CREATE VIEW {} AS SELECT * FROM {}",
                self.base,
                table_name(self.base, generation)
            ),
        ]
    }

    /// A query reading every row as text, in key order (for checksums and comparisons).
    pub fn rows_as_text_sql(&self, from: &str) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(name, _)| format!("CAST({name} AS TEXT)"))
            .collect();
        format!(
            "SELECT {} FROM {from} ORDER BY {}",
            columns.join(", "),
            self.key.join(", ")
        )
    }
}

/// The physical name of a table in a generation.
pub fn table_name(base: &str, generation: i64) -> String {
    format!("{base}_g{generation}")
}

/// The physical tables a batch writes: those of one generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tables {
    /// The generation being written.
    pub generation: i64,
}

impl Tables {
    /// The physical name of `base` in this generation.
    pub fn name(&self, base: &str) -> String {
        table_name(base, self.generation)
    }
}

/// A read model folded from the log.
///
/// `apply` receives a batch of events (only those `handles` accepts, in log order) and
/// writes its rows inside the worker's transaction, which also moves the checkpoint: a batch
/// is applied entirely or not at all. `apply` must be deterministic: a rebuild must produce
/// the same rows as the incremental build (tests compare checksums).
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// A stable name (checkpoints and the CLI use it): `audit`, `usage`.
    fn name(&self) -> &'static str;

    /// The version of what the projection writes. Raising it makes the next start (any
    /// `setup`) replace the serving tables with empty ones of the new shape and fold the whole
    /// log again: rows written by an older version would not be what this one writes.
    fn version(&self) -> i64 {
        1
    }

    /// Whether the projection folds events of this type.
    fn handles(&self, event_type: &str) -> bool;

    /// The tables it writes.
    fn tables(&self) -> &'static [TableSpec];

    /// Folds a batch into `tables`.
    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError>;
}
