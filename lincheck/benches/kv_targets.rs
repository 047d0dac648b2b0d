//! The target histories of issue 11: key/value histories like the labs' tests produce,
//! generated here ([`lincheck::generate::kv_test_history`]), checked with default options.
//! Run: `cargo bench -p lincheck --bench kv_targets` (release build).
//!
//! Environment: `LINCHECK_TARGET_SEEDS` (seeds per class, default 3), `LINCHECK_TARGET_WRITE`
//! (a folder: also write every history there as `jsonl`, to time the command line on it).
//!
//! Peak memory per history is the process's peak resident set size, reset before each check
//! (Linux: `/proc/self/clear_refs`, `VmHWM`); elsewhere it is not measured.

use std::time::{Duration, Instant};

use lincheck::generate::{Anomaly, KvTestSpec, kv_test_history};
use lincheck::models::KvModel;
use lincheck::{History, Method, Options, Verdict, check, formats};

/// Resets the peak resident set size to the current one (Linux only).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set size since the last reset, in bytes (Linux only).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct Class {
    name: &'static str,
    clients: u64,
    keys: u64,
    ops: usize,
    crash_per_mille: u64,
    anomalies: &'static [Anomaly],
}

fn main() {
    let seeds: u64 = std::env::var("LINCHECK_TARGET_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let write_dir = std::env::var_os("LINCHECK_TARGET_WRITE").map(std::path::PathBuf::from);
    if let Some(dir) = &write_dir {
        std::fs::create_dir_all(dir).expect("create the output folder");
    }
    let classes = [
        Class {
            name: "20 clients, 2 keys, 4,000 ops",
            clients: 20,
            keys: 2,
            ops: 4_000,
            crash_per_mille: 0,
            anomalies: &Anomaly::ALL,
        },
        Class {
            name: "15 clients, 15 keys, 50,000 ops, crashes",
            clients: 15,
            keys: 15,
            ops: 50_000,
            crash_per_mille: 10,
            anomalies: &Anomaly::ALL,
        },
    ];
    println!(
        "| class | anomaly | seed | expected | verdict | time | model steps | peak RSS | decided by |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut wrong = 0;
    for class in &classes {
        for &anomaly in class.anomalies {
            for seed in 1..=seeds {
                let spec = KvTestSpec {
                    seed,
                    clients: class.clients,
                    keys: class.keys,
                    ops: class.ops,
                    crash_per_mille: class.crash_per_mille,
                    anomaly,
                };
                let Some(generated) = kv_test_history(&spec) else {
                    println!(
                        "| {} | {} | {seed} | no place for it | | | | | |",
                        class.name,
                        anomaly.name()
                    );
                    continue;
                };
                let expected = if generated.linearizable {
                    Verdict::Linearizable
                } else {
                    Verdict::NotLinearizable
                };
                let history = History::from_operations(generated.operations).expect("valid");
                if let Some(dir) = &write_dir {
                    let file = dir.join(format!(
                        "kv-c{}-k{}-n{}-{}-s{seed}.jsonl",
                        class.clients,
                        class.keys,
                        class.ops,
                        anomaly.name()
                    ));
                    std::fs::write(&file, formats::to_jsonl(Some("kv"), &history))
                        .expect("write history");
                }
                let options = Options {
                    timeout: Some(Duration::from_secs(30)),
                    ..Options::default()
                };
                reset_peak_rss();
                let start = Instant::now();
                let result = check(&KvModel, &history, &options);
                let elapsed = start.elapsed();
                let rss =
                    peak_rss().map_or("-".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6));
                if result.verdict != expected {
                    wrong += 1;
                }
                println!(
                    "| {} | {} | {seed} | {expected} | {} | {:.3} s | {} | {rss} | {} |",
                    class.name,
                    anomaly.name(),
                    result.verdict,
                    elapsed.as_secs_f64(),
                    result.steps(),
                    decided_by(&result),
                );
            }
        }
    }
    println!();
    println!("{wrong} wrong or undecided verdicts");
}

/// How many partitions each method decided.
fn decided_by(result: &lincheck::CheckResult) -> String {
    let log = result
        .partitions
        .iter()
        .filter(|p| matches!(p.method, Method::LogAnalysis(_)))
        .count();
    format!(
        "log analysis {log}, search {}",
        result.partitions.len() - log
    )
}
