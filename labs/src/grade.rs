//! `labs grade`: run each lab's graded suite with cargo and score it per part.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Options of `labs grade`.
#[derive(clap::Args)]
pub struct Args {
    /// Run every test with this many consecutive seeds (LAB_SEEDS).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// First seed (LAB_SEED).
    #[arg(long)]
    seed: Option<u64>,
    /// Grade only these labs (package names: labrpc, mapreduce, raft, ...).
    #[arg(long = "lab")]
    labs: Vec<String>,
    /// Build in debug mode instead of release.
    #[arg(long)]
    debug: bool,
}

/// A graded suite: a package and the integration-test targets that grade it.
struct Suite {
    package: &'static str,
    title: &'static str,
    /// Test targets (files in the package's `tests/`); empty means all of them.
    targets: &'static [&'static str],
}

const SUITES: &[Suite] = &[
    Suite {
        package: "labrpc",
        title: "labrpc: the simulated network",
        targets: &["labrpc"],
    },
    Suite {
        package: "mapreduce",
        title: "Lab 1: MapReduce",
        targets: &["mr_sim", "mr_real"],
    },
    Suite {
        package: "kvsrv",
        title: "Lab 2: key/value server",
        // Both editions; a student skeleton has one edition's files.
        targets: &[
            "kvsrv_2024",
            "mem_2024",
            "kvsrv_2025",
            "mem_2025",
            "lock_2025",
        ],
    },
    Suite {
        package: "raft",
        title: "Lab 3: Raft",
        targets: &["raft"],
    },
    Suite {
        package: "kvraft",
        title: "Lab 4: fault-tolerant KV",
        targets: &[],
    },
    Suite {
        package: "shardctrler",
        title: "Lab 5A: shard controller",
        targets: &[],
    },
    Suite {
        package: "shardkv",
        title: "Lab 5B: sharded KV",
        targets: &[],
    },
];

/// Results of one part of a lab (tests share the part suffix of their names: `_3a`, ...).
#[derive(Default)]
struct Part {
    passed: u32,
    failed: Vec<String>,
    virtual_secs: f64,
}

pub fn run(args: &Args) -> ExitCode {
    let root = crate::workspace_root();
    let mut rows = Vec::new();
    let mut all_passed = true;
    for suite in SUITES {
        if !args.labs.is_empty() && !args.labs.iter().any(|l| l == suite.package) {
            continue;
        }
        let targets = graded_targets(&root, suite);
        if targets.is_empty() {
            continue; // this lab has no graded suite yet
        }
        eprintln!("grading {} ...", suite.package);
        let started = Instant::now();
        let (parts, ok) = run_suite(&root, suite, &targets, args);
        all_passed &= ok;
        rows.push((suite, parts, started.elapsed().as_secs_f64()));
    }
    print_table(&rows, args.seeds);
    if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The suite's test targets that exist in this checkout.
fn graded_targets(root: &Path, suite: &Suite) -> Vec<String> {
    let dir = root.join(suite.package).join("tests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let is_rs = path.extension().is_some_and(|x| x == "rs");
            is_rs.then(|| path.file_stem()?.to_str().map(str::to_string))?
        })
        .filter(|name| suite.targets.is_empty() || suite.targets.contains(&name.as_str()))
        .collect();
    found.sort();
    found
}

fn run_suite(
    root: &Path,
    suite: &Suite,
    targets: &[String],
    args: &Args,
) -> (BTreeMap<String, Part>, bool) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["test", "-p", suite.package]);
    if !args.debug {
        command.arg("--release");
    }
    for target in targets {
        command.args(["--test", target]);
    }
    command
        .args(["--no-fail-fast", "--", "--color", "never"])
        .env("LAB_SEEDS", args.seeds.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(seed) = args.seed {
        command.env("LAB_SEED", seed.to_string());
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("cannot run cargo: {e}");
            return (BTreeMap::new(), false);
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parts = parse(&stdout);
    let ok = output.status.success() && parts.values().all(|p| p.failed.is_empty());
    if !output.status.success() && parts.is_empty() {
        eprintln!("{stdout}");
    }
    (parts, ok)
}

/// The part a test belongs to: its name's last `_` suffix if it names a part (`3a`, `4b`, or
/// a lab without parts: `2`).
fn part_of(test: &str) -> String {
    match test.rsplit_once('_') {
        Some((_, suffix)) if suffix.len() == 1 && suffix.as_bytes()[0].is_ascii_digit() => {
            suffix.to_string()
        }
        Some((_, suffix))
            if suffix.len() == 2
                && suffix.as_bytes()[0].is_ascii_digit()
                && suffix.as_bytes()[1].is_ascii_alphabetic() =>
        {
            suffix.to_uppercase()
        }
        _ => "-".to_string(),
    }
}

/// Reads the harness's `Passed --` lines and libtest's `test NAME ... ok|FAILED` lines.
///
/// Tests run in parallel, so a summary line (written whole) can land in the middle of
/// libtest's `test NAME ... ` / `ok` pair: cut the summaries out first, then parse the rest.
fn parse(stdout: &str) -> BTreeMap<String, Part> {
    let mut parts: BTreeMap<String, Part> = BTreeMap::new();
    let mut rest = String::with_capacity(stdout.len());
    let mut text = stdout;
    while let Some(start) = text.find("Passed --") {
        rest.push_str(&text[..start]);
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let summary = &text[start..end];
        if let Some(name) = summary.split_whitespace().last()
            && let Some(virtual_secs) = summary
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.trim_end_matches('s').parse::<f64>().ok())
        {
            parts.entry(part_of(name)).or_default().virtual_secs += virtual_secs;
        }
        text = &text[end..];
    }
    rest.push_str(text);
    for line in rest.lines() {
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, verdict)) = rest.rsplit_once(" ... ")
        {
            let part = parts.entry(part_of(name)).or_default();
            match verdict.trim() {
                "ok" => part.passed += 1,
                "FAILED" => part.failed.push(name.to_string()),
                _ => {}
            }
        }
    }
    parts
}

fn print_table(rows: &[(&Suite, BTreeMap<String, Part>, f64)], seeds: u64) {
    println!();
    println!(
        "{:<32} {:>4} {:>7} {:>7} {:>6} {:>10} {:>8}",
        "lab", "part", "tests", "passed", "score", "virtual s", "wall s"
    );
    let (mut total, mut passed) = (0, 0);
    for (suite, parts, wall) in rows {
        for (i, (name, part)) in parts.iter().enumerate() {
            let tests = part.passed + part.failed.len() as u32;
            total += tests;
            passed += part.passed;
            let title = if i == 0 { suite.title } else { "" };
            let wall = if i == 0 {
                format!("{wall:.1}")
            } else {
                String::new()
            };
            println!(
                "{:<32} {:>4} {:>7} {:>7} {:>5.0}% {:>10.1} {:>8}",
                title,
                name,
                tests,
                part.passed,
                100.0 * f64::from(part.passed) / f64::from(tests.max(1)),
                part.virtual_secs,
                wall
            );
            for failed in &part.failed {
                println!("{:<32}      FAILED: {failed}", "");
            }
        }
    }
    println!(
        "{:<32} {:>4} {:>7} {:>7} {:>5.0}%   (each test run with {seeds} seed{})",
        "total",
        "",
        total,
        passed,
        100.0 * f64::from(passed) / f64::from(total.max(1)),
        if seeds == 1 { "" } else { "s" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_from_name_suffixes() {
        assert_eq!(part_of("initial_election_3a"), "3A");
        assert_eq!(part_of("snapshot_init_3d"), "3D");
        assert_eq!(part_of("mem_put_many_clients_2"), "2");
        assert_eq!(part_of("concurrent_many"), "-");
        assert_eq!(part_of("wc_sim"), "-");
        assert_eq!(part_of("unreliable_2025"), "-");
        assert_eq!(part_of("crash_3"), "3");
    }

    /// The names of the `#[test]` functions in a Rust source file.
    fn test_names(source: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut lines = source.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line != "#[test]" {
                continue;
            }
            let declaration = lines.find(|l| l.starts_with("fn ")).unwrap_or_default();
            let name = declaration["fn ".len().min(declaration.len())..]
                .split('(')
                .next()
                .unwrap_or_default();
            names.push(name.to_string());
        }
        names
    }

    #[test]
    fn no_graded_test_of_a_lab_with_parts_falls_into_part_none() {
        let root = crate::workspace_root();
        let graded_tests = |suite: &Suite| -> Vec<String> {
            graded_targets(&root, suite)
                .iter()
                .flat_map(|target| {
                    let path = root
                        .join(suite.package)
                        .join("tests")
                        .join(format!("{target}.rs"));
                    let source = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    test_names(&source)
                })
                .collect()
        };
        for suite in SUITES {
            let names = graded_tests(suite);
            let (parted, unparted): (Vec<&String>, Vec<&String>) =
                names.iter().partition(|name| part_of(name) != "-");
            assert!(
                parted.is_empty() || unparted.is_empty(),
                "{}: these graded tests name no part, so `labs grade` would score them in part \
                 `-`: {unparted:?}",
                suite.package
            );
        }
        let kvsrv = SUITES.iter().find(|s| s.package == "kvsrv");
        let kvsrv = graded_tests(kvsrv.expect("kvsrv is graded"));
        assert!(!kvsrv.is_empty(), "the kvsrv suites are missing");
        for name in &kvsrv {
            assert_eq!(part_of(name), "2", "{name}");
        }
    }

    #[test]
    fn parses_libtest_and_summary_lines() {
        let out = "\
Passed --    3.1s virtual   0.004s real  3 peers     58 rpcs     16840 bytes     0 ops  seed=1 trace=00  initial_election_3a
test initial_election_3a ... ok
test re_election_3a ... FAILED
test basic ... ok
";
        let parts = parse(out);
        assert_eq!(parts["3A"].passed, 1);
        assert_eq!(parts["3A"].failed, vec!["re_election_3a"]);
        assert!((parts["3A"].virtual_secs - 3.1).abs() < 1e-9);
        assert_eq!(parts["-"].passed, 1);
        // A summary that landed inside libtest's `test NAME ... ok` line.
        let glued = "test basic ... Passed --    0.0s virtual   0.000s real  1 peers  2 rpcs  \
                     22 bytes  2 ops  seed=1 trace=0  counts\nok\n";
        assert_eq!(parse(glued)["-"].passed, 1);
    }
}
