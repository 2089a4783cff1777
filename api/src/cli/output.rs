//! Where a tool's output goes, and in which form: lines for humans, or JSON for machines.

use serde::Serialize;
use std::fmt::Display;
use std::io::{self, Write};

/// A tool's output: human-readable by default, JSON with `--json`.
pub struct Output<'a> {
    writer: &'a mut (dyn Write + Send),
    json: bool,
}

impl<'a> Output<'a> {
    /// Output to `writer`, as JSON if `json`.
    pub fn new(writer: &'a mut (dyn Write + Send), json: bool) -> Self {
        Output { writer, json }
    }

    /// Whether JSON was asked for.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Writes one line of text.
    pub fn line(&mut self, text: impl Display) -> io::Result<()> {
        writeln!(self.writer, "{text}")
    }

    /// Writes a value as one line of JSON (JSON Lines).
    pub fn json_line<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut *self.writer, value)?;
        writeln!(self.writer)
    }

    /// Writes a value as indented JSON.
    pub fn json_pretty<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *self.writer, value)?;
        writeln!(self.writer)
    }

    /// The raw writer, for output that is already encoded (exports).
    pub fn writer(&mut self) -> &mut (dyn Write + Send) {
        self.writer
    }

    /// Flushes what was written, so a follower sees each event as it comes.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}
