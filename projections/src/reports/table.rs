//! A report flattened into one CSV table.
//!
//! A report has several sections (tenant counts, months, usage points...), each a list of rows
//! of its own shape. Its CSV download is one table: a fixed header declared by the report (so
//! the columns do not depend on the data), the first column naming the section, and each row
//! filling the columns its section has, the others left empty. A spreadsheet filters on
//! `section`.

use chrono::{DateTime, SecondsFormat, Utc};

/// Rows under a fixed header whose first column is `section`.
#[derive(Debug)]
pub struct CsvTable {
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// An empty table with `columns` (the first must be `section`).
    pub fn new(columns: &'static [&'static str]) -> Self {
        debug_assert_eq!(columns.first(), Some(&"section"));
        CsvTable {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row of `section` with `cells` (column, value).
    ///
    /// # Panics
    /// If a cell names a column the report did not declare: a programming error that every
    /// report's CSV test reaches.
    pub fn push(&mut self, section: &str, cells: &[(&str, String)]) {
        let mut row = vec![String::new(); self.columns.len()];
        row[0] = section.to_owned();
        for (column, value) in cells {
            let index = self
                .columns
                .iter()
                .position(|c| c == column)
                .unwrap_or_else(|| panic!("column `{column}` is not declared"));
            row[index] = value.clone();
        }
        self.rows.push(row);
    }

    /// The table as CSV: header, then the rows in the order they were pushed.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::new();
        crate::csv::row(self.columns, &mut out);
        for row in &self.rows {
            crate::csv::row(&row[..], &mut out);
        }
        out
    }
}

/// A time as the CSV shows it (RFC 3339, UTC, microseconds only when needed).
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An optional value as a cell (empty when absent).
pub fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(T::to_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fill_their_columns_under_one_header() {
        let mut table = CsvTable::new(&["section", "month", "plan", "value"]);
        table.push(
            "months",
            &[("month", "2026-11".into()), ("value", "3".into())],
        );
        table.push("plans", &[("plan", "free, old".into())]);
        assert_eq!(
            String::from_utf8(table.into_bytes()).unwrap(),
            "section,month,plan,value\r\nmonths,2026-11,,3\r\nplans,,\"free, old\",\r\n"
        );
    }
}
