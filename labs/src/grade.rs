//! `labs grade`: build every graded suite, then run each and score it per part.
//!
//! - Only what the student writes is scored. The kit's own checks (labrpc's tests of the
//!   simulated network; MapReduce's bad-input tests, which check the kit's programs) are shown
//!   apart, unscored.
//! - Everything is compiled first, so that a row's "wall s" is the time of its tests alone.
//! - Grading builds in a target directory of its own inside the checkout it grades
//!   (`target/grade`), whatever `CARGO_TARGET_DIR` says: two checkouts sharing one target
//!   directory could otherwise run each other's test binaries.
//! - Each failed test is listed with its reason and the command that replays it.
//! - An unknown lab, a lab without a suite, no seeds, a build that fails, or a suite that runs
//!   no test: a clear message and a non-zero exit, never an empty table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Options of `labs grade`.
#[derive(clap::Args)]
pub struct Args {
    /// Run every test with this many consecutive seeds (LAB_SEEDS; at least 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// First seed (LAB_SEED).
    #[arg(long)]
    seed: Option<u64>,
    /// Grade only these labs (package names: labrpc, mapreduce, raft, kvraft, shardctrler,
    /// shardkv).
    #[arg(long = "lab")]
    labs: Vec<String>,
    /// Build in debug mode instead of release.
    #[arg(long)]
    debug: bool,
}

/// Whether a row counts toward the student's score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scored {
    /// Tests of the student's code.
    Yes,
    /// The kit's own checks: they test code the student does not write.
    No,
}

/// One test target of a lab, graded as one or more rows.
#[derive(Debug)]
struct Target {
    /// The integration-test target (`tests/<name>.rs`).
    name: &'static str,
    /// The row's title.
    title: &'static str,
    /// Whether its tests count, unless listed in `kit_tests`.
    scored: Scored,
    /// Tests of this target that check the kit, not the student's code: shown apart.
    kit_tests: &'static [&'static str],
    /// The title of the row of those tests.
    kit_title: &'static str,
    /// Parts named by the start of a test's name, checked before the name's part suffix
    /// (`_3a`): the first rule whose prefix starts the name gives the part (`""` matches every
    /// test). For suites whose test names keep the original's, without a suffix.
    parts: &'static [PartRule],
}

/// A test-name prefix and the part of the tests whose names start with it.
type PartRule = (&'static str, &'static str);

/// A lab: a package and its graded targets (none yet for labs whose suites are to come).
#[derive(Debug)]
struct Lab {
    package: &'static str,
    targets: &'static [Target],
}

impl Lab {
    /// The targets whose test file exists in the checkout at `root` (a student's skeleton has
    /// the suites of one edition only).
    fn present_targets(&self, root: &Path) -> Vec<&'static Target> {
        let tests = root.join(self.package).join("tests");
        self.targets
            .iter()
            .filter(|t| tests.join(format!("{}.rs", t.name)).is_file())
            .collect()
    }
}

const LABS: &[Lab] = &[
    Lab {
        package: "labrpc",
        targets: &[Target {
            name: "labrpc",
            title: "labrpc: the simulated network",
            scored: Scored::No,
            kit_tests: &[],
            kit_title: "",
            parts: &[],
        }],
    },
    Lab {
        package: "mapreduce",
        targets: &[
            Target {
                name: "mr_sim",
                title: "Lab 1: MapReduce, simulated",
                scored: Scored::Yes,
                kit_tests: &[],
                kit_title: "",
                parts: &[],
            },
            Target {
                name: "mr_real",
                title: "Lab 1: MapReduce, processes",
                scored: Scored::Yes,
                kit_tests: MAPREDUCE_KIT_TESTS,
                kit_title: "Lab 1: the programs' bad input",
                parts: &[],
            },
        ],
    },
    Lab {
        package: "kvsrv",
        // Both editions; a student's skeleton has the files of one (the other's are skipped).
        targets: &[
            Target {
                name: "kvsrv_2024",
                title: "Lab 2: key/value server (2024)",
                scored: Scored::Yes,
                kit_tests: &[],
                kit_title: "",
                parts: &[],
            },
            Target {
                name: "mem_2024",
                title: "Lab 2: its memory (2024)",
                scored: Scored::Yes,
                kit_tests: &[],
                kit_title: "",
                parts: &[],
            },
            Target {
                name: "kvsrv_2025",
                title: "Lab 2: versioned server (2025)",
                scored: Scored::Yes,
                kit_tests: &[],
                kit_title: "",
                parts: &[],
            },
            Target {
                name: "mem_2025",
                title: "Lab 2: its memory (2025)",
                scored: Scored::Yes,
                kit_tests: &[],
                kit_title: "",
                parts: &[],
            },
            Target {
                name: "lock_2025",
                title: "Lab 2: the lock (2025)",
                scored: Scored::Yes,
                kit_tests: &[],
                kit_title: "",
                parts: &[],
            },
        ],
    },
    Lab {
        package: "raft",
        targets: &[Target {
            name: "raft",
            title: "Lab 3: Raft",
            scored: Scored::Yes,
            kit_tests: &[],
            kit_title: "",
            parts: &[],
        }],
    },
    Lab {
        package: "kvraft",
        targets: &[Target {
            name: "kvraft",
            title: "Lab 4: fault-tolerant key/value",
            scored: Scored::Yes,
            kit_tests: &[],
            kit_title: "",
            parts: &[],
        }],
    },
    Lab {
        package: "shardctrler",
        targets: &[Target {
            name: "shardctrler",
            title: "Lab 5A: shard controller",
            scored: Scored::Yes,
            kit_tests: &[],
            kit_title: "",
            // The original's names (TestBasic's and TestMulti's subtests) carry no part.
            parts: &[("", "5A")],
        }],
    },
    Lab {
        package: "shardkv",
        targets: &[Target {
            name: "shardkv",
            title: "Lab 5: sharded key/value",
            scored: Scored::Yes,
            kit_tests: &[],
            kit_title: "",
            // A course can grade the challenges apart.
            parts: &[("challenge", CHALLENGE_PART)],
        }],
    },
];

/// The part of the optional challenges (shardkv's `challenge1_delete`, ...).
const CHALLENGE_PART: &str = "challenge";

/// MapReduce tests that check how the kit's programs (`mrcoordinator`, `mrworker`,
/// `mrsequential`) handle bad input: not the student's coordinator and worker.
const MAPREDUCE_KIT_TESTS: &[&str] = &[
    "missing_input_file_real",
    "unknown_app_real",
    "coordinator_unreachable_real",
    "socket_path_of_a_regular_file_real",
];

/// Results of one row part (tests share the part suffix of their names: `_3a`, ...).
#[derive(Debug, Default)]
struct Part {
    passed: u32,
    failed: Vec<Failure>,
    /// Virtual time of the tests that ran in the simulation (none for real processes).
    virtual_secs: Option<f64>,
}

/// A failed test: why, and how to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    test: String,
    reason: String,
    replay: Option<String>,
}

/// One row group of the table: a target's tests (or its kit tests), by part.
#[derive(Debug)]
struct Row {
    title: String,
    scored: Scored,
    parts: BTreeMap<String, Part>,
    /// Real time of the target's run (shown on the row of its student tests).
    wall_secs: Option<f64>,
}

/// Runs `labs grade`.
pub fn run(args: &Args) -> ExitCode {
    let root = crate::workspace_root();
    let labs = match select_labs(&args.labs) {
        Ok(labs) => labs,
        Err(message) => {
            eprintln!("labs grade: {message}");
            return ExitCode::from(2);
        }
    };
    let target_dir = grade_target_dir(&root);
    if let Some(shared) = std::env::var_os("CARGO_TARGET_DIR") {
        eprintln!(
            "labs grade: building in {} (not CARGO_TARGET_DIR={}: grading never shares a \
             target directory with another checkout)",
            target_dir.display(),
            PathBuf::from(shared).display()
        );
    }
    let cargo = Cargo {
        root: root.clone(),
        target_dir,
        release: !args.debug,
    };
    // Compile everything first: the times below are the tests' own.
    eprintln!("building the graded suites ...");
    if let Err(message) = cargo.build(&labs) {
        eprintln!("labs grade: {message}");
        return ExitCode::FAILURE;
    }
    let mut rows = Vec::new();
    let mut all_passed = true;
    for lab in &labs {
        for target in lab.present_targets(&root) {
            eprintln!("running {} --test {} ...", lab.package, target.name);
            let started = Instant::now();
            let output = match cargo.test(lab.package, target.name, args) {
                Ok(output) => output,
                Err(message) => {
                    eprintln!("labs grade: {message}");
                    return ExitCode::FAILURE;
                }
            };
            let wall_secs = started.elapsed().as_secs_f64();
            let results = parse(&output.stdout);
            if results.is_empty() {
                eprintln!(
                    "labs grade: {} --test {} ran no test (exit status {}):\n{}{}",
                    lab.package, target.name, output.status, output.stdout, output.stderr
                );
                return ExitCode::FAILURE;
            }
            let (student, kit) = split_rows(target, &results, wall_secs);
            for row in [Some(student), kit].into_iter().flatten() {
                all_passed &= row.parts.values().all(|p| p.failed.is_empty());
                rows.push(row);
            }
            if !output.status.success() && results.values().all(|r| r.passed) {
                eprintln!(
                    "labs grade: {} --test {} failed although its tests passed ({}):\n{}",
                    lab.package, target.name, output.status, output.stderr
                );
                all_passed = false;
            }
        }
    }
    print!("{}", table(&rows, args.seeds));
    if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The labs `--lab` asks for (every lab with a suite if none), or why not.
fn select_labs(names: &[String]) -> Result<Vec<&'static Lab>, String> {
    select_labs_of(LABS, names)
}

/// The labs of `labs` that `names` asks for (every lab with a suite if none), or why not.
fn select_labs_of(all: &'static [Lab], names: &[String]) -> Result<Vec<&'static Lab>, String> {
    let known: Vec<&str> = all.iter().map(|l| l.package).collect();
    let with_suites: Vec<&str> = all
        .iter()
        .filter(|l| !l.targets.is_empty())
        .map(|l| l.package)
        .collect();
    if names.is_empty() {
        return Ok(all.iter().filter(|l| !l.targets.is_empty()).collect());
    }
    let mut labs = Vec::new();
    for name in names {
        let Some(lab) = all.iter().find(|l| l.package == name) else {
            return Err(format!(
                "unknown lab {name:?}: the labs are {} (graded today: {})",
                known.join(", "),
                with_suites.join(", ")
            ));
        };
        if lab.targets.is_empty() {
            return Err(format!(
                "{name} has no graded suite yet: nothing to grade (graded today: {})",
                with_suites.join(", ")
            ));
        }
        if !labs.iter().any(|l: &&Lab| l.package == lab.package) {
            labs.push(lab);
        }
    }
    Ok(labs)
}

/// Cargo, building into the grader's own target directory.
struct Cargo {
    root: PathBuf,
    target_dir: PathBuf,
    release: bool,
}

/// What one cargo run printed.
struct Output {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

impl Cargo {
    fn command(&self) -> Command {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir);
        // The harness's switches come from the grader's options only (and the kit's own
        // failure-inducing switch never reaches a graded run).
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("LAB")) {
                command.env_remove(&name);
            }
        }
        command.env_remove("RUST_LOG");
        command
    }

    fn profile_args(&self) -> &'static [&'static str] {
        if self.release { &["--release"] } else { &[] }
    }

    /// Builds every graded test target of `labs`.
    fn build(&self, labs: &[&Lab]) -> Result<(), String> {
        let mut command = self.command();
        command.args(["test", "--no-run"]).args(self.profile_args());
        for lab in labs {
            command.args(["-p", lab.package]);
            for target in lab.present_targets(&self.root) {
                command.args(["--test", target.name]);
            }
        }
        let status = command
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "the build failed ({status}): fix the errors above, then grade again"
            ))
        }
    }

    /// Runs one test target to the end.
    fn test(&self, package: &str, target: &str, args: &Args) -> Result<Output, String> {
        let mut command = self.command();
        command
            .args(["test", "-p", package])
            .args(self.profile_args())
            .args(["--test", target, "--no-fail-fast", "--", "--color", "never"])
            .env("LAB_SEEDS", args.seeds.to_string());
        if let Some(seed) = args.seed {
            command.env("LAB_SEED", seed.to_string());
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        Ok(Output {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The part a test of `target` belongs to: the first of the target's part rules whose prefix
/// starts the name, else the name's last `_` suffix if it names a part (`2`, `3a`, `4b`), else `-`.
fn part_of(target: &Target, test: &str) -> String {
    if let Some((_, part)) = target
        .parts
        .iter()
        .find(|(prefix, _)| test.starts_with(prefix))
    {
        return part.to_string();
    }
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

/// One test's result as read from the output.
#[derive(Debug, Default)]
struct TestResult {
    passed: bool,
    virtual_secs: Option<f64>,
    failure: Option<Failure>,
}

/// Reads the harness's `Passed --` lines, libtest's `test NAME ... ok|FAILED` lines and the
/// `---- NAME stdout ----` sections of failures (their reason and replay command).
///
/// Tests run in parallel, so a summary line (written whole) can land in the middle of
/// libtest's `test NAME ... ` / `ok` pair: cut the summaries out first, then parse the rest.
fn parse(stdout: &str) -> BTreeMap<String, TestResult> {
    let mut results: BTreeMap<String, TestResult> = BTreeMap::new();
    let mut virtual_secs: BTreeMap<String, f64> = BTreeMap::new();
    let mut rest = String::with_capacity(stdout.len());
    let mut text = stdout;
    while let Some(start) = text.find("Passed --") {
        rest.push_str(&text[..start]);
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let summary = &text[start..end];
        if let Some(name) = summary.split_whitespace().last()
            && let Some(secs) = summary
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.trim_end_matches('s').parse::<f64>().ok())
        {
            *virtual_secs.entry(name.to_string()).or_default() += secs;
        }
        text = &text[end..];
    }
    rest.push_str(text);
    let mut sections: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in rest.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            section = Some(name.to_string());
            continue;
        }
        if line == "failures:" || line.starts_with("test result:") {
            section = None;
        }
        if let Some(name) = &section {
            sections.entry(name.clone()).or_default().push(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, verdict)) = rest.rsplit_once(" ... ")
        {
            let result = results.entry(name.to_string()).or_default();
            match verdict.trim() {
                "ok" => result.passed = true,
                "FAILED" => result.passed = false,
                _ => {}
            }
        }
    }
    for (name, result) in &mut results {
        result.virtual_secs = virtual_secs.get(name).copied();
        if !result.passed {
            let lines = sections.get(name).map_or(&[][..], Vec::as_slice);
            result.failure = Some(failure_of(name, lines));
        }
    }
    results
}

/// The reason (the harness's `FAILED with seed ...` line, or else the panic's message) and
/// the replay command of a failed test's output section.
fn failure_of(test: &str, lines: &[&str]) -> Failure {
    let reason = lines
        .iter()
        .find(|l| l.starts_with("FAILED with seed") || l.starts_with("NONDETERMINISM"))
        .map(|l| l.to_string())
        .or_else(|| {
            // A plain panic: libtest prints `thread '...' panicked at FILE:LINE:COL:` and the
            // message on the next line.
            let at = lines
                .iter()
                .position(|l| l.starts_with("thread '") && l.contains(" panicked at "))?;
            let message = lines.get(at + 1).map_or("", |l| l.trim());
            Some(format!(
                "panicked at {}: {message}",
                lines[at]
                    .rsplit_once(" panicked at ")?
                    .1
                    .trim_end_matches(':')
            ))
        })
        .unwrap_or_else(|| "no reason printed (see the test's output with cargo test)".into());
    let replay = lines
        .iter()
        .position(|l| l.starts_with("Replay exactly this run"))
        .and_then(|i| lines.get(i + 1))
        .map(|l| l.trim().to_string());
    Failure {
        test: test.to_string(),
        reason,
        replay,
    }
}

/// A target's results as its row (the student's tests) and, if it has any, the row of its
/// kit tests.
fn split_rows(
    target: &Target,
    results: &BTreeMap<String, TestResult>,
    wall_secs: f64,
) -> (Row, Option<Row>) {
    let mut student = Row {
        title: target.title.to_string(),
        scored: target.scored,
        parts: BTreeMap::new(),
        wall_secs: Some(wall_secs),
    };
    let mut kit = Row {
        title: target.kit_title.to_string(),
        scored: Scored::No,
        parts: BTreeMap::new(),
        wall_secs: None,
    };
    for (name, result) in results {
        let row = if target.kit_tests.contains(&name.as_str()) {
            &mut kit
        } else {
            &mut student
        };
        let part = row.parts.entry(part_of(target, name)).or_default();
        if let Some(secs) = result.virtual_secs {
            *part.virtual_secs.get_or_insert(0.0) += secs;
        }
        match &result.failure {
            None => part.passed += 1,
            Some(failure) => part.failed.push(failure.clone()),
        }
    }
    (student, (!kit.parts.is_empty()).then_some(kit))
}

/// The table: scored rows with a total, then the kit's checks, then the failures.
fn table(rows: &[Row], seeds: u64) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let header = |out: &mut String| {
        let _ = writeln!(
            out,
            "{:<34} {:>9} {:>6} {:>7} {:>6} {:>10} {:>8}",
            "", "part", "tests", "passed", "score", "virtual s", "wall s"
        );
    };
    let print_row = |out: &mut String, row: &Row| {
        for (i, (name, part)) in row.parts.iter().enumerate() {
            let tests = part.passed + part.failed.len() as u32;
            let title = if i == 0 { row.title.as_str() } else { "" };
            let wall = match row.wall_secs {
                Some(secs) if i == 0 => format!("{secs:.1}"),
                None if i == 0 => "-".to_string(),
                _ => String::new(),
            };
            let virtual_secs = part
                .virtual_secs
                .map_or_else(|| "-".to_string(), |secs| format!("{secs:.1}"));
            let _ = writeln!(
                out,
                "{:<34} {:>9} {:>6} {:>7} {:>5.0}% {:>10} {:>8}",
                title,
                name,
                tests,
                part.passed,
                100.0 * f64::from(part.passed) / f64::from(tests.max(1)),
                virtual_secs,
                wall
            );
        }
    };
    let (mut total, mut passed) = (0, 0);
    let _ = writeln!(out, "\nYour code");
    header(&mut out);
    for row in rows.iter().filter(|r| r.scored == Scored::Yes) {
        print_row(&mut out, row);
        for part in row.parts.values() {
            total += part.passed + part.failed.len() as u32;
            passed += part.passed;
        }
    }
    let _ = writeln!(
        out,
        "{:<34} {:>9} {:>6} {:>7} {:>5.0}%   (each test run with {seeds} seed{})",
        "score",
        "",
        total,
        passed,
        100.0 * f64::from(passed) / f64::from(total.max(1)),
        if seeds == 1 { "" } else { "s" }
    );
    let kit: Vec<&Row> = rows.iter().filter(|r| r.scored == Scored::No).collect();
    if !kit.is_empty() {
        let _ = writeln!(
            out,
            "\nThe kit's own checks (not scored: they test code you do not write)"
        );
        header(&mut out);
        for row in kit {
            print_row(&mut out, row);
        }
    }
    let failures: Vec<&Failure> = rows
        .iter()
        .flat_map(|r| r.parts.values())
        .flat_map(|p| &p.failed)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailed tests");
        for failure in failures {
            let _ = writeln!(out, "  {}: {}", failure.test, failure.reason);
            if let Some(replay) = &failure.replay {
                let _ = writeln!(out, "    replay: {replay}");
            }
        }
    }
    out
}

/// The directory `labs grade` builds in, for the workspace at `root`.
fn grade_target_dir(root: &Path) -> PathBuf {
    root.join("target").join("grade")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The target of package `package` named `name`.
    fn target(package: &str, name: &str) -> &'static Target {
        let lab = LABS.iter().find(|l| l.package == package).unwrap();
        lab.targets.iter().find(|t| t.name == name).unwrap()
    }

    #[test]
    fn parts_come_from_name_suffixes() {
        let raft = target("raft", "raft");
        assert_eq!(part_of(raft, "initial_election_3a"), "3A");
        assert_eq!(part_of(raft, "snapshot_init_3d"), "3D");
        assert_eq!(part_of(raft, "concurrent_many"), "-");
        assert_eq!(part_of(target("mapreduce", "mr_sim"), "wc_sim"), "-");
    }

    #[test]
    fn part_rules_come_before_suffixes() {
        let ctrler = target("shardctrler", "shardctrler");
        assert_eq!(part_of(ctrler, "basic_leave_join"), "5A");
        assert_eq!(part_of(ctrler, "minimal_again"), "5A");
        let shardkv = target("shardkv", "shardkv");
        assert_eq!(part_of(shardkv, "static_shards_5a"), "5A");
        assert_eq!(part_of(shardkv, "concurrent3_5b"), "5B");
        assert_eq!(part_of(shardkv, "challenge1_delete"), CHALLENGE_PART);
        assert_eq!(part_of(shardkv, "challenge2_partial"), CHALLENGE_PART);
        let results = parse("test challenge1_delete ... ok\ntest join_leave_5b ... ok\n");
        let (row, _) = split_rows(shardkv, &results, 1.0);
        assert_eq!(row.parts.keys().collect::<Vec<_>>(), ["5B", CHALLENGE_PART]);
        let text = table(&[row], 1);
        assert!(text.contains("Lab 5: sharded key/value"), "{text}");
        assert!(text.contains(" challenge "), "{text}");
    }

    /// Every graded test of a lab with parts belongs to one (none to `-`): read from the
    /// suites' sources, so that a new test without a part suffix or rule is caught here.
    #[test]
    fn every_graded_test_of_a_lab_with_parts_has_a_part() {
        let root = crate::workspace_root();
        for package in ["kvsrv", "raft", "kvraft", "shardctrler", "shardkv"] {
            let lab = LABS.iter().find(|l| l.package == package).unwrap();
            for target in lab.targets {
                let path = root
                    .join(lab.package)
                    .join("tests")
                    .join(format!("{}.rs", target.name));
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let tests = test_names(&source);
                assert!(!tests.is_empty(), "no tests in {}", path.display());
                for test in tests {
                    assert_ne!(
                        part_of(target, &test),
                        "-",
                        "{test} of {} belongs to no part",
                        path.display()
                    );
                }
            }
        }
    }

    /// The names of the `#[test]` functions of a test file.
    fn test_names(source: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut lines = source.lines();
        while let Some(line) = lines.next() {
            if line.trim() == "#[test]"
                && let Some(next) = lines.find(|l| l.trim().starts_with("fn "))
                && let Some(rest) = next.trim().strip_prefix("fn ")
                && let Some((name, _)) = rest.split_once('(')
            {
                names.push(name.to_string());
            }
        }
        names
    }

    const RAFT_OUTPUT: &str = "\
running 3 tests
Passed --    3.1s virtual   0.004s real  3 peers     58 rpcs     16840 bytes     0 ops  seed=1 trace=00  initial_election_3a
test initial_election_3a ... ok
test re_election_3a ... FAILED
test basic_agree_3b ... FAILED

failures:

---- re_election_3a stdout ----

thread 're_election_3a' (123) panicked at raft/tests/raft.rs:24:5:
FAILED with seed 1 at virtual time 5.000000s: expected one leader, got none
Last events (virtual time, node, event):
    4.9s s0 timer fired
Replay exactly this run (add RUST_LOG=debug to see log lines):
  LAB_SEED=1 LAB_SEEDS=1 cargo test -p raft --release --test raft -- --exact re_election_3a

---- basic_agree_3b stdout ----

thread 'basic_agree_3b' (124) panicked at raft/src/lib.rs:80:9:
not yet implemented: Lab 3A

failures:
    re_election_3a
    basic_agree_3b

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out
";

    #[test]
    fn failures_keep_their_reason_and_replay_command() {
        let results = parse(RAFT_OUTPUT);
        assert_eq!(results.len(), 3);
        assert!(results["initial_election_3a"].passed);
        assert_eq!(results["initial_election_3a"].virtual_secs, Some(3.1));
        assert_eq!(results["re_election_3a"].virtual_secs, None);
        let failure = results["re_election_3a"].failure.clone().unwrap();
        assert_eq!(
            failure.reason,
            "FAILED with seed 1 at virtual time 5.000000s: expected one leader, got none"
        );
        assert_eq!(
            failure.replay.as_deref(),
            Some(
                "LAB_SEED=1 LAB_SEEDS=1 cargo test -p raft --release --test raft -- --exact \
                 re_election_3a"
            )
        );
        let failure = results["basic_agree_3b"].failure.clone().unwrap();
        assert_eq!(
            failure.reason,
            "panicked at raft/src/lib.rs:80:9: not yet implemented: Lab 3A"
        );
        assert_eq!(failure.replay, None);

        let (row, kit) = split_rows(target("raft", "raft"), &results, 1.0);
        assert!(kit.is_none());
        let text = table(&[row], 1);
        assert!(
            text.contains("re_election_3a: FAILED with seed 1"),
            "{text}"
        );
        assert!(
            text.contains("replay: LAB_SEED=1 LAB_SEEDS=1 cargo test"),
            "{text}"
        );
        assert!(text.contains("score"), "{text}");
    }

    #[test]
    fn a_summary_glued_into_a_libtest_line_is_cut_out() {
        let glued = "test basic ... Passed --    0.0s virtual   0.000s real  1 peers  2 rpcs  \
                     22 bytes  2 ops  seed=1 trace=0  basic\nok\n";
        let results = parse(glued);
        assert!(results["basic"].passed);
    }

    /// The untouched skeleton: every scored test fails, the kit's checks pass. The score must
    /// be 0 %, not the share of the kit's checks.
    #[test]
    fn only_the_students_tests_are_scored() {
        let mr_real = "\
test wc_real ... FAILED
test missing_input_file_real ... ok
test unknown_app_real ... ok
test coordinator_unreachable_real ... ok
test socket_path_of_a_regular_file_real ... ok

failures:

---- wc_real stdout ----
thread 'wc_real' (1) panicked at mapreduce/tests/mr_real.rs:10:5:
the coordinator exited early
";
        let labrpc = "test basic ... ok\ntest counts ... ok\n";
        let mapreduce = &LABS[1].targets[1];
        let (student, kit) = split_rows(mapreduce, &parse(mr_real), 2.0);
        let kit = kit.expect("the bad-input tests are a row of their own");
        assert_eq!(kit.scored, Scored::No);
        assert_eq!(kit.parts["-"].passed, 4);
        assert_eq!(student.parts["-"].passed, 0);
        let (infrastructure, none) = split_rows(&LABS[0].targets[0], &parse(labrpc), 1.0);
        assert!(none.is_none());
        let text = table(&[student, kit, infrastructure], 1);
        let score = text.lines().find(|l| l.starts_with("score")).unwrap();
        assert!(score.contains("     0%"), "{text}");
        assert!(score.contains(" 1       0 "), "{text}");
        assert!(text.contains("The kit's own checks (not scored"), "{text}");
        assert!(text.contains("labrpc: the simulated network"), "{text}");
        assert!(
            text.contains(
                "wc_real: panicked at mapreduce/tests/mr_real.rs:10:5: the coordinator exited early"
            ),
            "{text}"
        );
    }

    #[test]
    fn mapreduce_simulated_and_real_runs_are_separate_rows() {
        let sim = &LABS[1].targets[0];
        let real = &LABS[1].targets[1];
        let (a, _) = split_rows(sim, &parse("test wc_sim ... ok\n"), 0.5);
        let (b, _) = split_rows(real, &parse("test wc_real ... ok\n"), 3.0);
        let text = table(&[a, b], 1);
        assert!(text.contains("Lab 1: MapReduce, simulated"), "{text}");
        assert!(text.contains("Lab 1: MapReduce, processes"), "{text}");
    }

    #[test]
    fn labs_are_checked_before_anything_runs() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let error = select_labs(&names(&["nonsense"])).unwrap_err();
        assert!(error.contains("unknown lab \"nonsense\""), "{error}");
        let all = select_labs(&[]).unwrap();
        let packages: Vec<&str> = all.iter().map(|l| l.package).collect();
        assert_eq!(
            packages,
            [
                "labrpc",
                "mapreduce",
                "kvsrv",
                "raft",
                "kvraft",
                "shardctrler",
                "shardkv"
            ]
        );
        static FUTURE: &[Lab] = &[
            Lab {
                package: "raft",
                targets: &[],
            },
            Lab {
                package: "kvsrv",
                targets: &[],
            },
        ];
        let error = select_labs_of(FUTURE, &names(&["kvsrv"])).unwrap_err();
        assert!(error.contains("kvsrv has no graded suite yet"), "{error}");
        let one = select_labs(&names(&["raft", "raft"])).unwrap();
        assert_eq!(one.len(), 1);
    }

    /// The kit-test names must name real tests: a renamed test would silently be scored.
    #[test]
    fn kit_tests_exist() {
        let root = crate::workspace_root();
        for lab in LABS {
            for target in lab.targets {
                let path = root
                    .join(lab.package)
                    .join("tests")
                    .join(format!("{}.rs", target.name));
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for test in target.kit_tests {
                    assert!(
                        source.contains(&format!("fn {test}()")),
                        "{test} is not a test of {}",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn grading_builds_in_its_own_directory_of_the_checkout() {
        let root = Path::new("/home/student/labs");
        assert_eq!(
            grade_target_dir(root),
            Path::new("/home/student/labs/target/grade")
        );
    }
}
