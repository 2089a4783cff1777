//! ProgressDisplay of long work (replays, exports): a bar with rate and ETA on a terminal, and plain
//! lines every few seconds otherwise (logs, CI), always on standard error so that standard
//! output stays the tool's result.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often plain progress lines are printed.
const LINE_INTERVAL: Duration = Duration::from_secs(2);

/// A progress display for `total` units of work (events), if known.
pub struct ProgressDisplay {
    label: String,
    display: Display,
}

enum Display {
    Bar(ProgressBar),
    Lines {
        done: u64,
        total: Option<u64>,
        started: Instant,
        last: Instant,
    },
    Hidden,
}

impl ProgressDisplay {
    /// ProgressDisplay of `label`: a bar on a terminal, lines otherwise, nothing if `quiet`.
    pub fn new(label: &str, total: Option<u64>, quiet: bool) -> Self {
        let display = if quiet {
            Display::Hidden
        } else if std::io::stderr().is_terminal() {
            let bar = match total {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::new_spinner(),
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            Display::Bar(bar)
        } else {
            let now = Instant::now();
            Display::Lines {
                done: 0,
                total,
                started: now,
                last: now,
            }
        };
        ProgressDisplay {
            label: label.to_owned(),
            display,
        }
    }

    /// Counts `units` more done.
    pub fn advance(&mut self, units: u64) {
        match &mut self.display {
            Display::Bar(bar) => bar.inc(units),
            Display::Lines {
                done,
                total,
                started,
                last,
            } => {
                *done += units;
                if last.elapsed() >= LINE_INTERVAL {
                    *last = Instant::now();
                    eprintln!("{}", line(&self.label, *done, *total, started.elapsed()));
                }
            }
            Display::Hidden => {}
        }
    }

    /// Ends the display with a last line.
    pub fn finish(self) {
        match self.display {
            Display::Bar(bar) => bar.finish(),
            Display::Lines {
                done,
                total,
                started,
                ..
            } => eprintln!("{}", line(&self.label, done, total, started.elapsed())),
            Display::Hidden => {}
        }
    }
}

/// `replay audit: 12000/50000 events, 8000/s`.
fn line(label: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    match total {
        Some(total) => format!("{label}: {done}/{total} events, {rate:.0}/s"),
        None => format!("{label}: {done} events, {rate:.0}/s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_what_how_far_and_how_fast() {
        assert_eq!(
            line("replay audit", 500, Some(1000), Duration::from_secs(2)),
            "replay audit: 500/1000 events, 250/s"
        );
        assert_eq!(
            line("export", 10, None, Duration::from_secs(1)),
            "export: 10 events, 10/s"
        );
    }
}
