//! A `log` backend for simulations: every line starts with virtual time and node name, so the
//! debug output of five peers reads as one ordered story.
//!
//! `RUST_LOG` filters as with env_logger: a default level and per-module levels, comma
//! separated (`RUST_LOG=debug`, `RUST_LOG=warn,raft=trace`). Without it, warnings and errors
//! are shown.

use log::{Level, LevelFilter, Log, Metadata, Record};

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
        // eprintln! goes through the test harness's output capture: a passing test stays
        // quiet, a failing one shows its log.
        match labrpc::sim::context() {
            Some((at, node)) => eprintln!(
                "[{at:>12} {node:<8}] {level} {}: {}",
                record.target(),
                record.args()
            ),
            None => eprintln!(
                "[{:>13} {:<8}] {level} {}: {}",
                "-",
                "-",
                record.target(),
                record.args()
            ),
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
