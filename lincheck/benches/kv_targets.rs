//! The target histories of issue 11: key/value histories like the labs' tests produce,
//! generated here ([`lincheck::generate::kv_test_history`]), checked with default options.
//! Run: `cargo bench -p lincheck --bench kv_targets` (release build).
//!
//! Environment: `LINCHECK_TARGET_SEEDS` (seeds per class and anomaly, default 3),
//! `LINCHECK_TARGET_PLAIN=1` (also run the general search alone, with a 10 s timeout, for
//! comparison), `LINCHECK_TARGET_WRITE` (a folder: also write every history there as `jsonl`,
//! to time the command line on it).
//!
//! Each history is generated and checked in a process of its own, so that its peak resident
//! set size (Linux: `VmHWM`, reset after generating the history, so it counts the history and
//! the check) is its own.

use std::process::Command;
use std::time::{Duration, Instant};

use lincheck::generate::{Anomaly, KvTestSpec, kv_test_history};
use lincheck::models::KvModel;
use lincheck::{CheckResult, History, Method, Options, Verdict, check, formats};

/// A class of target histories.
struct Class {
    name: &'static str,
    clients: u64,
    keys: u64,
    ops: usize,
    crash_per_mille: u64,
}

const CLASSES: [Class; 2] = [
    Class {
        name: "20 clients, 2 keys, 4,000 ops",
        clients: 20,
        keys: 2,
        ops: 4_000,
        crash_per_mille: 0,
    },
    Class {
        name: "15 clients, 15 keys, 50,000 ops, crashes",
        clients: 15,
        keys: 15,
        ops: 50_000,
        crash_per_mille: 10,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "--one") {
        let field = |i: usize| args.get(k + i).and_then(|a| a.parse::<u64>().ok());
        match (field(1), field(2), field(3), field(4)) {
            (Some(class), Some(anomaly), Some(seed), Some(plain)) => one(
                class as usize,
                Anomaly::ALL[anomaly as usize],
                seed,
                plain == 1,
            ),
            _ => eprintln!("usage: kv_targets --one CLASS ANOMALY SEED PLAIN"),
        }
        return;
    }
    let seeds: u64 = std::env::var("LINCHECK_TARGET_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let plain = std::env::var("LINCHECK_TARGET_PLAIN").is_ok_and(|v| v == "1");
    let exe = std::env::current_exe().expect("own path");
    println!(
        "| class | anomaly | seed | expected | verdict | time | model steps | peak RSS | decided by |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut rows = 0;
    let mut wrong = 0;
    for (c, _) in CLASSES.iter().enumerate() {
        for (a, _) in Anomaly::ALL.iter().enumerate() {
            for seed in 1..=seeds {
                for plain in [false, true].into_iter().filter(|&p| !p || plain) {
                    let out = Command::new(&exe)
                        .args(["--one", &c.to_string(), &a.to_string(), &seed.to_string()])
                        .arg(if plain { "1" } else { "0" })
                        .output()
                        .expect("run one case");
                    let text = String::from_utf8_lossy(&out.stdout);
                    print!("{text}");
                    rows += 1;
                    if !plain && text.contains("WRONG") {
                        wrong += 1;
                    }
                }
            }
        }
    }
    println!();
    println!("{rows} rows, {wrong} wrong or undecided verdicts with default options");
}

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

/// Generates and checks one history; prints its table row.
fn one(class: usize, anomaly: Anomaly, seed: u64, plain: bool) {
    let class = &CLASSES[class];
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
            "| {} | {} | {seed} | (no place for the anomaly) | | | | | |",
            class.name,
            anomaly.name()
        );
        return;
    };
    let expected = if generated.linearizable {
        Verdict::Linearizable
    } else {
        Verdict::NotLinearizable
    };
    let history = History::from_operations(generated.operations).expect("valid");
    if let Some(dir) = std::env::var_os("LINCHECK_TARGET_WRITE").filter(|_| !plain) {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create the output folder");
        let file = dir.join(format!(
            "kv-c{}-k{}-n{}-{}-s{seed}.jsonl",
            class.clients,
            class.keys,
            class.ops,
            anomaly.name()
        ));
        std::fs::write(&file, formats::to_jsonl(Some("kv"), &history)).expect("write history");
    }
    let options = if plain {
        Options {
            log_analysis: false,
            timeout: Some(Duration::from_secs(10)),
            ..Options::default()
        }
    } else {
        Options::default()
    };
    reset_peak_rss();
    let start = Instant::now();
    let result = check(&KvModel, &history, &options);
    let elapsed = start.elapsed();
    let rss = peak_rss().map_or("-".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6));
    let verdict = if result.verdict == expected {
        result.verdict.to_string()
    } else {
        format!("{} (WRONG)", result.verdict)
    };
    println!(
        "| {} | {} | {seed} | {expected} | {verdict} | {:.3} s | {} | {rss} | {} |",
        class.name,
        anomaly.name(),
        elapsed.as_secs_f64(),
        result.steps(),
        decided_by(&result, plain),
    );
}

/// What decided the partitions.
fn decided_by(result: &CheckResult, plain: bool) -> String {
    if plain {
        return match result.unknown_reason() {
            Some(reason) => format!("general search only: gave up ({reason})"),
            None => "general search only".to_string(),
        };
    }
    let log = result
        .partitions
        .iter()
        .filter(|p| matches!(p.method, Method::LogAnalysis(_)))
        .count();
    format!(
        "log analysis {log}, general search {}",
        result.partitions.len() - log
    )
}
