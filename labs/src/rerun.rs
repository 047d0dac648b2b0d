//! `labs merge`, `labs replay` and `labs trace`: joining a partitioned grading, and rerunning
//! one run of one test (of this checkout or of a submission) to read its logs or see its
//! timeline.

use crate::grade::{self, Format, Problem};
use crate::report;
use crate::submission::{self, BuildArea};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Options of `labs merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The JSON reports of the parts (`labs grade --partition K/N --format json`).
    #[arg(required = true, value_name = "PART.json")]
    parts: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `labs merge`.
pub fn merge(args: &MergeArgs) -> ExitCode {
    let result = (|| {
        let mut parts = Vec::new();
        for path in &args.parts {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Problem::Input(format!("{}: {e}", path.display())))?;
            let part = report::from_json(&text).map_err(|e| {
                Problem::Input(format!(
                    "{}: not a JSON report of `labs grade --format json`: {e}",
                    path.display()
                ))
            })?;
            parts.push(part);
        }
        let merged = report::merge(parts).map_err(Problem::Input)?;
        grade::write_report(&merged, args.format, args.out.as_deref())?;
        Ok(merged
            .records
            .iter()
            .all(|r| r.verdict == report::Verdict::Passed))
    })();
    finish("merge", result)
}

fn finish(command: &str, result: Result<bool, Problem>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Problem::Input(message)) => {
            eprintln!("labs {command}: {message}");
            ExitCode::from(2)
        }
        Err(Problem::Internal(message)) => {
            eprintln!("labs {command}: {message}");
            ExitCode::from(3)
        }
    }
}

/// Which run: shared by `labs replay` and `labs trace`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The test (`initial_election_3a`).
    test: String,
    /// The seed (default: the course file's first seed).
    #[arg(long)]
    seed: Option<u64>,
    /// The lab whose suite has the test (default: the one that has it).
    #[arg(long)]
    lab: Option<String>,
    /// A student's repository: rerun its code (default: this checkout's).
    #[arg(long, value_name = "DIR")]
    submission: Option<PathBuf>,
    /// The course file (default: labs/course.toml), for the edition and student files.
    #[arg(long, value_name = "FILE")]
    course: Option<PathBuf>,
}

/// Options of `labs replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Log level of the run (RUST_LOG).
    #[arg(long, default_value = "debug")]
    log: String,
    /// A search test's choice file (saved by its failure): replay that story exactly.
    #[arg(long, value_name = "FILE")]
    choices: Option<PathBuf>,
}

/// Options of `labs trace`.
#[derive(clap::Args)]
pub struct TraceArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Where to write the HTML page.
    #[arg(long, value_name = "OUT")]
    html: PathBuf,
    /// Also keep the run's log lines at this level (RUST_LOG) in the timeline.
    #[arg(long)]
    log: Option<String>,
    /// Also write the trace itself (JSON) here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Runs `labs replay`.
pub fn replay(args: &ReplayArgs) -> ExitCode {
    let result = (|| {
        let prepared = prepare(&args.run, false)?;
        let mut command = prepared.command(Some(&args.log));
        match (&args.choices, grade::is_search(&prepared.target)) {
            (Some(file), true) => {
                let file = std::fs::canonicalize(file)
                    .map_err(|e| Problem::Input(format!("--choices {}: {e}", file.display())))?;
                command.env("LAB_CHOICES", file);
            }
            (Some(_), false) => {
                return Err(Problem::Input(format!(
                    "--choices replays a search test's story, and {} is a run test: replay it \
                     with --seed",
                    args.run.test
                )));
            }
            (None, _) => {}
        }
        eprintln!("replaying {} ...", prepared.describe());
        let status = command
            .status()
            .map_err(|e| Problem::Internal(format!("cannot run the test: {e}")))?;
        Ok(status.success())
    })();
    finish("replay", result)
}

/// Runs `labs trace`.
pub fn trace(args: &TraceArgs) -> ExitCode {
    let result = (|| {
        let prepared = prepare(&args.run, true)?;
        let trace_file = std::env::temp_dir().join(format!(
            "labs-trace-{}-{}.json",
            std::process::id(),
            args.run.test
        ));
        let _ = std::fs::remove_file(&trace_file);
        eprintln!("tracing {} ...", prepared.describe());
        let output = prepared
            .command(args.log.as_deref())
            .env(labtest::record::TRACE_FILE_VAR, &trace_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Problem::Internal(format!("cannot run the test: {e}")))?;
        let passed = output.status.success();
        let json = std::fs::read_to_string(&trace_file).map_err(|e| {
            Problem::Internal(format!(
                "the test wrote no trace ({e}); its output:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        })?;
        let _ = std::fs::remove_file(&trace_file);
        if let Some(path) = &args.json {
            std::fs::write(path, &json)
                .map_err(|e| Problem::Internal(format!("{}: {e}", path.display())))?;
        }
        let title = format!(
            "{} — {}",
            prepared.describe(),
            if passed { "passed" } else { "failed" }
        );
        let page = crate::timeline::render(&json, &title).map_err(Problem::Internal)?;
        std::fs::write(&args.html, page)
            .map_err(|e| Problem::Internal(format!("{}: {e}", args.html.display())))?;
        println!(
            "the run {}; its timeline is in {}",
            if passed { "passed" } else { "failed" },
            args.html.display()
        );
        Ok(true)
    })();
    finish("trace", result)
}

/// Options of `labs render-trace` (hidden: for tests and for traces kept with `--json`).
#[derive(clap::Args)]
pub struct RenderTraceArgs {
    /// A trace file (`labs trace --json`, or `LABTEST_TRACE_FILE`).
    trace: PathBuf,
    /// Where to write the HTML page.
    #[arg(long, value_name = "OUT")]
    html: PathBuf,
}

/// Runs `labs render-trace`.
pub fn render_trace(args: &RenderTraceArgs) -> ExitCode {
    let result = (|| {
        let json = std::fs::read_to_string(&args.trace)
            .map_err(|e| Problem::Input(format!("{}: {e}", args.trace.display())))?;
        let title = args
            .trace
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("trace")
            .to_string();
        let page = crate::timeline::render(&json, &title).map_err(Problem::Input)?;
        std::fs::write(&args.html, page)
            .map_err(|e| Problem::Internal(format!("{}: {e}", args.html.display())))?;
        Ok(true)
    })();
    finish("render-trace", result)
}

/// A built test binary and the run to do.
struct Prepared {
    exe: PathBuf,
    package_dir: PathBuf,
    lab: String,
    target: String,
    test: String,
    seed: Option<u64>,
    submission: Option<String>,
}

impl Prepared {
    fn describe(&self) -> String {
        let seed = self.seed.map_or(String::new(), |s| format!(" seed {s}"));
        let whose = self
            .submission
            .as_deref()
            .map_or(String::new(), |s| format!(" of {s}"));
        format!(
            "{} ({} --test {}){seed}{whose}",
            self.test, self.lab, self.target
        )
    }

    fn command(&self, log: Option<&str>) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .args(["--exact", &self.test, "--nocapture", "--test-threads", "1"])
            .current_dir(&self.package_dir)
            .env("CARGO_MANIFEST_DIR", &self.package_dir)
            .env("CARGO_PKG_NAME", &self.lab);
        crate::sandbox::clear_switches(&mut command);
        if let Some(seed) = self.seed {
            command
                .env("LAB_SEED", seed.to_string())
                .env("LAB_SEEDS", "1");
        }
        if let Some(log) = log {
            command.env("RUST_LOG", log);
        }
        command
    }
}

/// The labs and targets whose test files define `test` (by its `fn NAME()`).
fn find_test(root: &Path, test: &str, lab: Option<&str>) -> Vec<(&'static str, &'static str)> {
    let mut found = Vec::new();
    for package in grade::known_labs() {
        if lab.is_some_and(|l| l != package) {
            continue;
        }
        for target in grade::target_names(package) {
            let file = root
                .join(package)
                .join("tests")
                .join(format!("{target}.rs"));
            if std::fs::read_to_string(&file)
                .is_ok_and(|source| source.contains(&format!("fn {test}()")))
            {
                found.push((package, target));
            }
        }
    }
    found
}

/// Finds the test, builds its suite (of this checkout or of the submission) and says how to
/// run it; `simulated_only`: refuse a test of real processes (it has no trace).
fn prepare(args: &RunArgs, simulated_only: bool) -> Result<Prepared, Problem> {
    let root = crate::workspace_root();
    let course = grade::load_course(args.course.as_deref())?;
    if let Some(lab) = &args.lab
        && !grade::known_labs().contains(&lab.as_str())
    {
        return Err(Problem::Input(format!(
            "unknown lab {lab:?}: the labs are {}",
            grade::known_labs().join(", ")
        )));
    }
    let found = find_test(&root, &args.test, args.lab.as_deref());
    let (lab, target) = match found.as_slice() {
        [] => {
            return Err(Problem::Input(format!(
                "no graded suite{} has a test named {:?}",
                args.lab
                    .as_deref()
                    .map_or(String::new(), |l| format!(" of {l}")),
                args.test
            )));
        }
        [one] => *one,
        many => {
            let labs: Vec<String> = many
                .iter()
                .map(|(l, t)| format!("{l} --test {t}"))
                .collect();
            return Err(Problem::Input(format!(
                "several suites have a test named {:?} ({}): name the lab with --lab",
                args.test,
                labs.join(", ")
            )));
        }
    };
    let targets = grade::targets_named(lab, target);
    if simulated_only && grade::is_search(target) {
        return Err(Problem::Input(format!(
            "{} is a search test: it runs many schedules, not one trace (replay its story with \
             labs replay {} --choices FILE)",
            args.test, args.test
        )));
    }
    if simulated_only && grade::runs_once(target) {
        return Err(Problem::Input(format!(
            "{} runs real processes: it has no simulated trace (use labs replay)",
            args.test
        )));
    }
    let seed = if grade::runs_once(target) {
        if args.seed.is_some() {
            return Err(Problem::Input(format!(
                "{} {} and takes no seed: drop --seed",
                args.test,
                if grade::is_search(target) {
                    "is a search test (it runs its own schedules)"
                } else {
                    "runs real processes"
                }
            )));
        }
        None
    } else {
        Some(args.seed.unwrap_or(course.first_seed))
    };
    let (exe, package_dir, submission_name) = match &args.submission {
        None => {
            let built = grade::cargo_build(
                &root,
                &root.join("target").join("grade"),
                lab,
                &targets,
                "release",
            )
            .map_err(Problem::Internal)?;
            let exes = built.result.map_err(|e| {
                Problem::Internal(format!("the build failed: {e}\n{}", built.stderr_tail))
            })?;
            (
                exes[&(lab.to_string(), target.to_string())].clone(),
                root.join(lab),
                None,
            )
        }
        Some(dir) => {
            let found = submission::discover(std::slice::from_ref(dir)).map_err(Problem::Input)?;
            let [one] = found.as_slice() else {
                return Err(Problem::Input(format!(
                    "--submission {}: a directory of {} submissions; name one",
                    dir.display(),
                    found.len()
                )));
            };
            let tracked = crate::tracked_files(&root).map_err(Problem::Internal)?;
            let area = BuildArea::prepare(&root, &tracked).map_err(Problem::Internal)?;
            eprintln!("building {} ({lab}) ...", one.name);
            let built = grade::build_submission(&area, one, &course, lab, &tracked, &targets)
                .map_err(Problem::Internal)?;
            if let Some(why) = built.refused {
                return Err(Problem::Input(format!("{}: refused: {why}", one.name)));
            }
            if !built.info.ok {
                return Err(Problem::Input(format!(
                    "{}'s {lab} does not build: {}",
                    one.name,
                    built.info.error.unwrap_or_default()
                )));
            }
            (
                built.exes[&(lab.to_string(), target.to_string())].clone(),
                area.workspace.join(lab),
                Some(one.name.clone()),
            )
        }
    };
    Ok(Prepared {
        exe,
        package_dir,
        lab: lab.to_string(),
        target: target.to_string(),
        test: args.test.clone(),
        seed,
        submission: submission_name,
    })
}
