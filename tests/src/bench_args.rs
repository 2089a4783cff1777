//! The command-line options the load benchmarks (`tests/benches/`) share, parsed with clap: a
//! mistyped option or value stops the run with an error instead of measuring the defaults, and
//! `--help` says what there is.

use crate::Backend;

/// Which backends a benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backends {
    /// SQLite only.
    Sqlite,
    /// PostgreSQL only.
    Postgres,
    /// Both, SQLite first.
    All,
}

impl Backends {
    /// The backends named, in the order they are measured.
    pub fn list(self) -> Vec<Backend> {
        match self {
            Backends::Sqlite => vec![Backend::Sqlite],
            Backends::Postgres => vec![Backend::Postgres],
            Backends::All => vec![Backend::Sqlite, Backend::Postgres],
        }
    }
}

/// The options every load benchmark takes.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The backends to measure.
    #[arg(long, value_enum, default_value = "all")]
    pub backend: Backends,
    /// Seconds of one timed run.
    #[arg(long, default_value_t = 3.0, value_parser = positive)]
    pub seconds: f64,
    /// Paces every measurement: its tasks together start at most this many operations per
    /// second, so that paths compare at the same load (default: as fast as they go).
    #[arg(long, value_parser = positive)]
    pub rate: Option<f64>,
    /// Runs the server without projection workers, so every path is measured alone.
    #[arg(long)]
    pub external_projections: bool,
    /// `cargo bench` passes `--bench` to every benchmark binary; it means nothing here.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A finite number above zero.
fn positive(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err("must be a number above 0".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Args {
        #[command(flatten)]
        common: BenchArgs,
    }

    #[test]
    fn cargo_benchs_own_flag_is_accepted_and_the_defaults_apply() {
        let args = Args::try_parse_from(["bench", "--bench"]).expect("accepted");
        assert_eq!(
            args.common.backend.list(),
            [Backend::Sqlite, Backend::Postgres]
        );
        assert_eq!(args.common.seconds, 3.0);
        assert_eq!(args.common.rate, None);
        assert!(!args.common.external_projections);
    }

    #[test]
    fn mistyped_options_and_bad_values_are_errors() {
        for bad in [
            &["bench", "--rat", "5000"][..],
            &["bench", "--rate", "fast"],
            &["bench", "--rate", "0"],
            &["bench", "--seconds", "-1"],
            &["bench", "--backend", "mysql"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?} was accepted");
        }
        let args = Args::try_parse_from(["bench", "--backend", "postgres", "--rate", "7000"])
            .expect("accepted");
        assert_eq!(args.common.backend.list(), [Backend::Postgres]);
        assert_eq!(args.common.rate, Some(7000.0));
    }
}
