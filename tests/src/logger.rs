//! A `log` backend for simulations: every line starts with virtual time and node name, so the
//! debug output of five peers reads as one ordered story.
//!
//! `RUST_LOG` filters as with env_logger: a default level and per-module levels, comma
//! separated (`RUST_LOG=debug`, `RUST_LOG=warn,raft=trace`). Without it, warnings and errors
//! are shown.
//!
//! When a test runs several seeds at once, each simulation's lines go to a [`Tail`] of its
//! own, tagged with the seed, instead of being printed as they happen: the runner prints the
//! tails of failed seeds and forgets those of passed ones.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

/// Lines a [`Tail`] keeps: the last ones of a run (the end of a failing run is what explains
/// it), bounded so that a chatty `RUST_LOG=trace` run cannot exhaust memory.
pub const TAIL_LINES: usize = 20_000;

/// The most recent log lines of one seed's simulation, shared between the simulation's
/// thread (which writes) and the runner (which prints them if the seed fails).
#[derive(Clone, Debug)]
pub struct Tail {
    inner: Arc<parking_lot::Mutex<TailInner>>,
}

#[derive(Debug)]
struct TailInner {
    seed: u64,
    lines: VecDeque<String>,
    dropped: u64,
}

impl Tail {
    /// An empty tail for the simulation of `seed`.
    pub fn new(seed: u64) -> Tail {
        Tail {
            inner: Arc::new(parking_lot::Mutex::new(TailInner {
                seed,
                lines: VecDeque::new(),
                dropped: 0,
            })),
        }
    }

    fn push(&self, line: String) {
        let mut inner = self.inner.lock();
        if inner.lines.len() == TAIL_LINES {
            inner.lines.pop_front();
            inner.dropped += 1;
        }
        inner.lines.push_back(line);
    }

    /// The seed the lines belong to.
    pub fn seed(&self) -> u64 {
        self.inner.lock().seed
    }

    /// Takes the lines kept so far (with a first line saying how many earlier ones were
    /// dropped, if any), leaving the tail empty.
    pub fn take(&self) -> Vec<String> {
        let mut inner = self.inner.lock();
        let mut lines = Vec::with_capacity(inner.lines.len() + 1);
        if inner.dropped > 0 {
            lines.push(format!(
                "[seed={}] ... {} earlier lines not kept (replay this seed alone to see them)",
                inner.seed, inner.dropped
            ));
        }
        lines.extend(inner.lines.drain(..));
        inner.dropped = 0;
        lines
    }
}

thread_local! {
    /// Where this thread's log lines go instead of standard error.
    static CAPTURE: RefCell<Option<Tail>> = const { RefCell::new(None) };
    /// The warnings the test's own code logged on this (simulation) thread: a passing test
    /// shows them under its summary line, past the output capture.
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// How many of a run's warnings are kept to show (the rest are counted).
const MAX_WARNINGS: usize = 10;

/// Takes the warnings the test's own code (node `test`) logged on this thread so far: at most
/// [`MAX_WARNINGS`] of them, and a last line if there were more.
pub(crate) fn take_warnings() -> Vec<String> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Sends the log lines of the calling thread (a simulation's thread) to `tail`, each tagged
/// with its seed.
pub fn capture_this_thread(tail: Tail) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(tail));
}

struct SimLogger {
    default: LevelFilter,
    /// (module prefix, level), longest prefix first.
    modules: Vec<(String, LevelFilter)>,
}

impl SimLogger {
    fn from_spec(spec: &str) -> SimLogger {
        let mut default = LevelFilter::Warn;
        let mut modules = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((module, level)) => {
                    if let Ok(level) = level.trim().parse() {
                        modules.push((module.trim().to_string(), level));
                    }
                }
                None => match part.parse() {
                    Ok(level) => default = level,
                    Err(_) => modules.push((part.to_string(), LevelFilter::Trace)),
                },
            }
        }
        modules.sort_by_key(|(module, _)| std::cmp::Reverse(module.len()));
        SimLogger { default, modules }
    }

    fn level_for(&self, target: &str) -> LevelFilter {
        self.modules
            .iter()
            .find(|(module, _)| {
                target.starts_with(module.as_str())
                    && target[module.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| c == ':')
            })
            .map_or(self.default, |(_, level)| *level)
    }

    fn max_level(&self) -> LevelFilter {
        self.modules
            .iter()
            .map(|(_, level)| *level)
            .fold(self.default, Ord::max)
    }
}

impl Log for SimLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level_for(metadata.target())
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let (at, node) = labrpc::sim::context().map_or_else(
            || ("-".to_string(), "-".to_string()),
            |(at, n)| (at.to_string(), n),
        );
        if labrpc::sim::annotating() {
            // A full trace for a picture of the run (the course's trace tool) shows the log lines too.
            labrpc::sim::annotate(
                labrpc::sim::Node::current(),
                "log",
                format!(
                    "{} {}: {}",
                    level.trim_end(),
                    record.target(),
                    record.args()
                ),
            );
        }
        if record.level() <= Level::Warn && node == "test" {
            WARNINGS.with(|w| {
                let mut warnings = w.borrow_mut();
                match warnings.len() {
                    n if n < MAX_WARNINGS => warnings.push(format!("{}", record.args())),
                    MAX_WARNINGS => warnings.push("(more warnings left out)".to_string()),
                    _ => {}
                }
            });
        }
        let captured = CAPTURE.with(|c| {
            let capture = c.borrow();
            let tail = capture.as_ref()?;
            let seed = tail.seed();
            tail.push(format!(
                "[seed={seed} {at:>12} {node:<8}] {level} {}: {}",
                record.target(),
                record.args()
            ));
            Some(())
        });
        if captured.is_none() {
            // eprintln! goes through the test harness's output capture: a passing test stays
            // quiet, a failing one shows its log.
            eprintln!(
                "[{at:>12} {node:<8}] {level} {}: {}",
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once per process; later calls do nothing).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let logger = SimLogger::from_spec(&std::env::var("RUST_LOG").unwrap_or_default());
        let max = logger.max_level();
        if log::set_boxed_logger(Box::new(logger)).is_ok() {
            log::set_max_level(max);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_module_prefix() {
        let logger = SimLogger::from_spec("warn, raft=debug, raft::log=trace, labrpc=off");
        assert_eq!(logger.level_for("kvraft"), LevelFilter::Warn);
        assert_eq!(logger.level_for("raft"), LevelFilter::Debug);
        assert_eq!(logger.level_for("raft::election"), LevelFilter::Debug);
        assert_eq!(logger.level_for("raft::log"), LevelFilter::Trace);
        assert_eq!(logger.level_for("raftish"), LevelFilter::Warn);
        assert_eq!(logger.level_for("labrpc::net"), LevelFilter::Off);
        assert_eq!(logger.max_level(), LevelFilter::Trace);
        assert_eq!(SimLogger::from_spec("").level_for("x"), LevelFilter::Warn);
        assert_eq!(
            SimLogger::from_spec("info").level_for("x"),
            LevelFilter::Info
        );
    }
}
