//! What a run of the suites says to people: one line per test however many seeds ran, and,
//! when the test binary ends, every test that passed with warnings.
//!
//! A warning is a check the original labs only warn about (the Raft tester's "term changed
//! even though there were no failures"): the test passes, but the student should know. With
//! many seeds, a warning on some of them would be lost among hundreds of lines; here each
//! test's warnings are counted across its seeds, shown under its line with the first seed that
//! had them, and listed again after the last test, each with a command that replays it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

/// Distinct warnings kept per test (further ones are only counted).
const MAX_DISTINCT_WARNINGS: usize = 10;

/// Tests with warnings kept for the end of the run (further ones are only counted).
const MAX_WARNED_TESTS: usize = 200;

/// One warning of a test, counted across its seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WarningCount {
    /// What the test's code logged.
    pub(crate) text: String,
    /// On how many seeds.
    pub(crate) seeds: u64,
    /// The first seed (in order) that logged it.
    pub(crate) first_seed: u64,
}

/// The passed seeds of one test, summed up as they are reported.
#[derive(Debug, Default)]
pub(crate) struct SeedsSummary {
    passed: u64,
    virtual_time: Option<(Duration, Duration)>,
    real_time: Option<(Duration, Duration)>,
    warnings: Vec<WarningCount>,
    /// Seeds whose warnings were not kept (past [`MAX_DISTINCT_WARNINGS`]).
    other_warnings: u64,
}

/// Widens `range` to include `value`.
fn widen(range: &mut Option<(Duration, Duration)>, value: Duration) {
    *range = Some(match *range {
        None => (value, value),
        Some((low, high)) => (low.min(value), high.max(value)),
    });
}

impl SeedsSummary {
    /// Counts a passed seed with its times and warnings.
    pub(crate) fn passed(
        &mut self,
        seed: u64,
        virtual_time: Duration,
        real_time: Duration,
        warnings: &[String],
    ) {
        self.passed += 1;
        widen(&mut self.virtual_time, virtual_time);
        widen(&mut self.real_time, real_time);
        let mut distinct: Vec<&String> = warnings.iter().collect();
        distinct.dedup();
        for text in distinct {
            if let Some(known) = self.warnings.iter_mut().find(|w| &w.text == text) {
                known.seeds += 1;
            } else if self.warnings.len() < MAX_DISTINCT_WARNINGS {
                self.warnings.push(WarningCount {
                    text: text.clone(),
                    seeds: 1,
                    first_seed: seed,
                });
            } else {
                self.other_warnings += 1;
            }
        }
    }

    /// The test's warnings, in the order they first appeared.
    pub(crate) fn warnings(&self) -> &[WarningCount] {
        &self.warnings
    }

    /// The test's one line for `run` seeds, with a line per warning under it:
    /// `Passed -- 50/50 seeds       3.0-5.1s virtual    0.001-0.004s real  name`.
    pub(crate) fn line(&self, name: &str, run: u64) -> String {
        let range = |range: Option<(Duration, Duration)>, digits: usize| match range {
            None => "-".to_string(),
            Some((low, high)) => format!(
                "{:.digits$}-{:.digits$}s",
                low.as_secs_f64(),
                high.as_secs_f64()
            ),
        };
        let verdict = if self.passed == run {
            "Passed"
        } else {
            "FAILED"
        };
        let mut line = format!(
            "{verdict} -- {}/{run} seeds {:>14} virtual {:>15} real  {name}",
            self.passed,
            range(self.virtual_time, 1),
            range(self.real_time, 3),
        );
        for w in &self.warnings {
            let _ = write!(
                line,
                "\n  warning on {} of {run} seeds (first: seed {}): {}",
                w.seeds, w.first_seed, w.text
            );
        }
        if self.other_warnings > 0 {
            let _ = write!(
                line,
                "\n  ({} more warnings of other kinds not shown)",
                self.other_warnings
            );
        }
        line
    }
}

/// A test that passed with a warning, listed again when the run ends.
#[derive(Clone, Debug)]
struct Warned {
    test: String,
    warning: WarningCount,
    seeds_run: u64,
    replay: String,
}

/// The tests that passed with warnings in this process, and how many were not kept.
static WARNED: parking_lot::Mutex<(Vec<Warned>, u64)> = parking_lot::Mutex::new((Vec::new(), 0));

/// Remembers that `test` passed with `warning` on some of its `seeds_run` seeds (`replay`
/// replays the first such seed), to list it when the test binary ends.
pub(crate) fn remember_warned(test: &str, warning: &WarningCount, seeds_run: u64, replay: String) {
    {
        let mut warned = WARNED.lock();
        if warned.0.len() < MAX_WARNED_TESTS {
            warned.0.push(Warned {
                test: test.to_string(),
                warning: warning.clone(),
                seeds_run,
                replay,
            });
        } else {
            warned.1 += 1;
        }
    }
    exit_hook::install();
}

/// The list printed when the test binary ends, or `None` if no test passed with a warning.
fn end_of_run_list() -> Option<String> {
    let warned = WARNED.lock();
    if warned.0.is_empty() {
        return None;
    }
    let mut list = String::from(
        "\nPassed with warnings (checks the original labs only warn about: your handout's \
         table of checks says what each means):\n",
    );
    let mut sorted = warned.0.clone();
    sorted.sort_by(|a, b| a.test.cmp(&b.test));
    for w in &sorted {
        let _ = writeln!(
            list,
            "  {}: on {} of {} seed{}: {}\n    {}",
            w.test,
            w.warning.seeds,
            w.seeds_run,
            if w.seeds_run == 1 { "" } else { "s" },
            w.warning.text,
            w.replay
        );
    }
    if warned.1 > 0 {
        let _ = writeln!(list, "  (and {} more)", warned.1);
    }
    Some(list)
}

/// Prints the end-of-run list (past the test harness's output capture, like the summary
/// lines).
fn print_end_of_run_list() {
    if let Some(list) = end_of_run_list() {
        let _ = std::io::stdout().lock().write_all(list.as_bytes());
        let _ = std::io::stdout().lock().flush();
    }
}

/// The hook that prints the list when the process exits. libtest gives no hook after its
/// last test, so the C runtime's `atexit` does: it runs after libtest's own closing line,
/// whether the binary returns from `main` or exits with a failure.
#[allow(unsafe_code)]
mod exit_hook {
    /// Registers the hook once per process.
    pub(super) fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: `atexit` stores a pointer to a function without arguments that the C
            // runtime calls once, at exit, on the exiting thread; `at_exit` is such a function,
            // lives for the whole program, and never unwinds (it catches every panic).
            unsafe {
                libc::atexit(at_exit);
            }
        });
    }

    extern "C" fn at_exit() {
        let _ = std::panic::catch_unwind(super::print_end_of_run_list);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn many_seeds_make_one_line_with_counted_warnings() {
        let mut summary = SeedsSummary::default();
        let term = "term changed even though there were no failures".to_string();
        summary.passed(1, secs(3.0), secs(0.002), &[]);
        summary.passed(2, secs(5.1), secs(0.001), &[term.clone(), term.clone()]);
        summary.passed(3, secs(4.0), secs(0.004), std::slice::from_ref(&term));
        let line = summary.line("initial_election_3a", 3);
        assert_eq!(
            line,
            "Passed -- 3/3 seeds       3.0-5.1s virtual    0.001-0.004s real  \
             initial_election_3a\n  warning on 2 of 3 seeds (first: seed 2): term changed \
             even though there were no failures"
        );
        assert_eq!(summary.warnings()[0].first_seed, 2);
        assert!(summary.line("t", 4).starts_with("FAILED -- 3/4 seeds"));
    }

    #[test]
    fn distinct_warnings_are_bounded() {
        let mut summary = SeedsSummary::default();
        for seed in 0..50 {
            summary.passed(seed, secs(1.0), secs(0.1), &[format!("warning {seed}")]);
        }
        assert_eq!(summary.warnings().len(), MAX_DISTINCT_WARNINGS);
        assert!(summary.line("t", 50).contains("(40 more warnings"));
    }
}
