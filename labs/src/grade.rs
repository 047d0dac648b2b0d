//! `labs grade`: grade the checkout, or many students' submissions, with the course's own
//! suites, and report in the formats courses use.
//!
//! - **What is graded.** The labs and parts of the course file (`labs/course.toml`), or those
//!   named on the command line (`raft`, `3a`). Only what the student writes is scored; the
//!   kit's own checks (labrpc's tests, MapReduce's bad-input tests) are shown apart when the
//!   checkout itself is graded, and not run for submissions (they test the course's code).
//! - **Runs.** Each (submission, test, seed) is one run, in a test process of its own under a
//!   time and a memory limit ([`crate::sandbox`]). Its verdict is what the harness recorded in
//!   a result file the grader names: not the process's output or exit status, which student
//!   code linked into the test binary could forge. A run the harness did not record as passed
//!   failed, with the reason: a panic, a hang, a blown limit, a build that failed.
//! - **Submissions** build in target directories of their own, from a warm copy of the
//!   course's build ([`crate::submission`]).
//! - **Scale-out.** `--partition K/N` takes the K-th of N contiguous slices of the runs, in a
//!   fixed order (so each part builds only the submissions it grades); `labs merge` joins the
//!   parts' JSON reports into the one-machine report.
//! - **Exit status**: 0 if every run passed, 1 if some failed, 2 for bad input (an unknown lab
//!   or part, zero seeds, a bad partition, a directory that is not a submission, a bad course
//!   file), 3 if the course's own suites do not build or a run could not be started.

use crate::course::Course;
use crate::manifest::manifest;
use crate::report::{
    self, BuildInfo, Record, Report, SubmissionInfo, Verdict, parse_partition, partition_range,
};
use crate::sandbox;
use crate::submission::{self, BuildArea, Submission};
use labtest::record::RunRecord;
use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Options of `labs grade`.
#[derive(clap::Args)]
pub struct Args {
    /// Labs (`raft`) or parts (`3a`) to grade; default: every lab of the course file.
    #[arg(value_name = "LAB|PART")]
    selection: Vec<String>,
    /// Same as naming the lab (kept for older scripts).
    #[arg(long = "lab", value_name = "LAB", hide = true)]
    labs: Vec<String>,
    /// Seeds per test (default: the course file's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: Option<u64>,
    /// First seed (default: the course file's).
    #[arg(long)]
    seed: Option<u64>,
    /// Test processes at a time (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// A student's repository, or a directory of them (repeatable); default: this checkout.
    #[arg(long = "submission", value_name = "DIR")]
    submissions: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report here instead of standard output (for `gradescope` with several
    /// submissions: a directory, one `<name>.json` each).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Grade only part K of N of the runs (`2/3`); `labs merge` joins the parts' JSON reports.
    #[arg(long, value_name = "K/N")]
    partition: Option<String>,
    /// The course file (default: labs/course.toml).
    #[arg(long, value_name = "FILE")]
    course: Option<PathBuf>,
    /// Build in debug mode instead of release (the checkout itself only).
    #[arg(long)]
    debug: bool,
}

/// A report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table per submission, with failures and their commands.
    Text,
    /// One record per submission × test × seed (what `labs merge` reads).
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
}

/// The kit's labs and their suites, from the manifest (`labs/manifest.toml`).
pub(crate) use crate::manifest::{Lab, Target};

/// The kit's labs (packages), in the manifest's order.
pub fn known_labs() -> Vec<&'static str> {
    manifest().labs.iter().map(|l| l.name.as_str()).collect()
}

/// The labs whose tests grade the student's code (not `labrpc`, the kit's own network).
pub(crate) fn student_labs() -> Vec<&'static str> {
    manifest()
        .labs
        .iter()
        .filter(|l| l.graded)
        .map(|l| l.name.as_str())
        .collect()
}

/// The lab `package`.
pub(crate) fn lab_named(package: &str) -> Option<&'static Lab> {
    manifest().lab(package)
}

/// The test targets of lab `package`.
pub(crate) fn target_names(package: &str) -> Vec<&'static str> {
    lab_named(package)
        .map(|l| l.targets.iter().map(|t| t.name.as_str()).collect())
        .unwrap_or_default()
}

/// The target `name` of lab `package`, as a list for [`cargo_build`].
pub(crate) fn targets_named(package: &str, name: &str) -> Vec<&'static Target> {
    lab_named(package)
        .map(|l| l.targets.iter().filter(|t| t.name == name).collect())
        .unwrap_or_default()
}

/// True if the target's tests run once, without a seed: real processes, or search tests.
pub(crate) fn runs_once(target: &str) -> bool {
    manifest()
        .labs
        .iter()
        .flat_map(|l| &l.targets)
        .any(|t| t.name == target && t.runs_once())
}

/// True if the target's tests are search tests.
pub(crate) fn is_search(target: &str) -> bool {
    manifest()
        .labs
        .iter()
        .flat_map(|l| &l.targets)
        .any(|t| t.name == target && t.search)
}

/// What to grade of one lab: every part, or these.
#[derive(Clone, Debug)]
pub(crate) struct Selected {
    pub lab: &'static Lab,
    pub parts: Option<Vec<String>>,
}

/// The labs and parts the command line names (every lab of the course if none), checked
/// against the kit and the course file.
pub(crate) fn select(names: &[String], course: &Course) -> Result<Vec<Selected>, String> {
    let graded: Vec<&str> = course.labs.iter().map(|l| l.name.as_str()).collect();
    let all_parts: Vec<String> = course
        .labs
        .iter()
        .flat_map(|l| l.points.keys().cloned())
        .collect();
    let mut selected: Vec<Selected> = Vec::new();
    let add = |selected: &mut Vec<Selected>, lab: &'static Lab, part: Option<String>| match selected
        .iter_mut()
        .find(|s| s.lab.name == lab.name)
    {
        Some(s) => match (&mut s.parts, part) {
            (Some(parts), Some(part)) if !parts.contains(&part) => parts.push(part),
            (parts, None) => *parts = None,
            _ => {}
        },
        None => selected.push(Selected {
            lab,
            parts: part.map(|p| vec![p]),
        }),
    };
    for name in names {
        if let Some(lab) = lab_named(name) {
            if course.lab(name).is_none() {
                return Err(format!(
                    "{name} is not a lab of the course file {} (its labs: {})",
                    course.path.display(),
                    graded.join(", ")
                ));
            }
            add(&mut selected, lab, None);
            continue;
        }
        let part = name.to_uppercase();
        let Some(course_lab) = course.labs.iter().find(|l| l.points.contains_key(&part)) else {
            return Err(format!(
                "unknown lab or part {name:?}: the labs are {}; the parts of the course are {}",
                known_labs().join(", "),
                all_parts.join(", ")
            ));
        };
        let lab = lab_named(&course_lab.name).expect("the course's labs are the kit's");
        add(&mut selected, lab, Some(part));
    }
    if names.is_empty() {
        for course_lab in &course.labs {
            if let Some(lab) = lab_named(&course_lab.name) {
                add(&mut selected, lab, None);
            }
        }
    }
    // In the course's order.
    selected.sort_by_key(|s| graded.iter().position(|g| *g == s.lab.name));
    Ok(selected)
}

/// One run to do.
#[derive(Clone, Debug)]
struct Unit {
    submission: usize,
    lab: &'static str,
    target: &'static Target,
    test: String,
    part: String,
    scored: bool,
    seed: Option<u64>,
}

/// A test of a suite: its name, its part, and whether it is scored.
type ListedTest = (String, String, bool);

/// Runs of one submission's lab: (left to run, failed, in all).
type LabCounts = (usize, usize, usize);

/// Where the graded code is: this checkout, or submissions.
enum Mode {
    Checkout,
    Submissions(Vec<Submission>),
}

/// Runs `labs grade`.
pub fn run(args: &Args) -> ExitCode {
    match grade(args) {
        Ok(code) => code,
        Err(Problem::Input(message)) => {
            eprintln!("labs grade: {message}");
            ExitCode::from(2)
        }
        Err(Problem::Internal(message)) => {
            eprintln!("labs grade: {message}");
            ExitCode::from(3)
        }
    }
}

/// Why `labs` stopped: bad input (exit 2) or something it could not do (exit 3).
#[derive(Debug)]
pub(crate) enum Problem {
    Input(String),
    Internal(String),
}

pub(crate) fn load_course(path: Option<&Path>) -> Result<Course, Problem> {
    let root = crate::workspace_root();
    let path = path.map_or_else(
        || root.join(crate::course::DEFAULT_COURSE_FILE),
        Path::to_path_buf,
    );
    Course::load(&path).map_err(Problem::Input)
}

fn grade(args: &Args) -> Result<ExitCode, Problem> {
    let root = crate::workspace_root();
    let mut course = load_course(args.course.as_deref())?;
    if let Some(seeds) = args.seeds {
        course.seeds = seeds;
    }
    if let Some(seed) = args.seed {
        course.first_seed = seed;
    }
    if course.first_seed.checked_add(course.seeds - 1).is_none() {
        return Err(Problem::Input(
            "--seed plus --seeds runs past the largest seed".into(),
        ));
    }
    let (k, n) = match &args.partition {
        Some(text) => parse_partition(text).map_err(Problem::Input)?,
        None => (1, 1),
    };
    let names: Vec<String> = args.selection.iter().chain(&args.labs).cloned().collect();
    let selected = select(&names, &course).map_err(Problem::Input)?;
    let mode = if args.submissions.is_empty() {
        Mode::Checkout
    } else {
        Mode::Submissions(submission::discover(&args.submissions).map_err(Problem::Input)?)
    };
    if args.format == Format::Gradescope
        && matches!(&mode, Mode::Submissions(s) if s.len() > 1)
        && args.out.is_none()
    {
        return Err(Problem::Input(
            "--format gradescope with several submissions writes one results file each: give \
             --out DIR"
                .into(),
        ));
    }
    if args.debug && matches!(mode, Mode::Submissions(_)) {
        return Err(Problem::Input(
            "--debug grades this checkout only: submissions build in release mode".into(),
        ));
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );

    // The course's own build: the test binaries to list, and the warm cache.
    let tracked = crate::tracked_files(&root).map_err(Problem::Internal)?;
    let (course_dir, course_target, area) = match &mode {
        Mode::Checkout => (root.clone(), grade_target_dir(&root), None),
        Mode::Submissions(_) => {
            let area = BuildArea::prepare(&root, &tracked).map_err(Problem::Internal)?;
            (area.workspace.clone(), area.warm.clone(), Some(area))
        }
    };
    if let Some(shared) = std::env::var_os("CARGO_TARGET_DIR") {
        eprintln!(
            "labs grade: building in {} (not CARGO_TARGET_DIR={}: grading never shares a \
             target directory with another checkout)",
            course_target.display(),
            PathBuf::from(shared).display()
        );
    }
    // The course's edition picks the suites, for the checkout as for submissions: the
    // other edition's are another course (`make grade` grades the checkout as both).
    let targets_of = |lab: &'static Lab| -> Vec<&'static Target> {
        lab.present_targets(&root)
            .into_iter()
            .filter(|t| crate::manifest::edition_of(&t.name).is_none_or(|e| e == course.edition))
            .collect()
    };
    let profile = if args.debug { "debug" } else { "release" };
    eprintln!("building the course's suites ...");
    let mut course_exes = BTreeMap::new();
    for s in &selected {
        let build = cargo_build(
            &course_dir,
            &course_target,
            &s.lab.name,
            &targets_of(s.lab),
            profile,
        )
        .map_err(Problem::Internal)?;
        if let Err(error) = build.result {
            return Err(Problem::Internal(format!(
                "the course's {} suites do not build: {error}\n{}",
                s.lab.name, build.stderr_tail
            )));
        }
        course_exes.extend(build.result.unwrap_or_default());
    }

    // The runs, in a fixed order.
    let submissions: Vec<(String, String)> = match &mode {
        Mode::Checkout => vec![("checkout".into(), root.display().to_string())],
        Mode::Submissions(list) => list
            .iter()
            .map(|s| (s.name.clone(), s.dir.display().to_string()))
            .collect(),
    };
    let mut tests_of: Vec<(&Selected, &'static Target, Vec<ListedTest>)> = Vec::new();
    for s in &selected {
        let course_lab = course
            .lab(&s.lab.name)
            .expect("selected labs are the course's");
        for target in targets_of(s.lab) {
            let exe = &course_exes[&(s.lab.name.clone(), target.name.clone())];
            let mut tests = Vec::new();
            for test in list_tests(exe).map_err(Problem::Internal)? {
                let kit = !s.lab.graded || target.kit_tests.contains(&test);
                if kit && matches!(mode, Mode::Submissions(_)) {
                    continue;
                }
                let part = s.lab.part_of(&test);
                if !kit && !course_lab.points.contains_key(&part) {
                    return Err(Problem::Input(format!(
                        "{}: the test {test} of {} is in part {part}, which has no points in \
                         the course file: add it to lab {:?}'s points (0 to grade it unscored)",
                        course.path.display(),
                        s.lab.name,
                        s.lab.name
                    )));
                }
                if let Some(parts) = &s.parts
                    && !parts.contains(&part)
                {
                    continue;
                }
                tests.push((test, part, !kit));
            }
            tests_of.push((s, target, tests));
        }
    }
    let seeds: Vec<u64> = (0..course.seeds).map(|i| course.first_seed + i).collect();
    let mut units = Vec::new();
    for submission in 0..submissions.len() {
        for (s, target, tests) in &tests_of {
            for (test, part, scored) in tests {
                let runs: Vec<Option<u64>> = if target.runs_once() {
                    vec![None]
                } else {
                    seeds.iter().copied().map(Some).collect()
                };
                for seed in runs {
                    units.push(Unit {
                        submission,
                        lab: &s.lab.name,
                        target,
                        test: test.clone(),
                        part: part.clone(),
                        scored: *scored,
                        seed,
                    });
                }
            }
        }
    }
    if units.is_empty() {
        return Err(Problem::Input(
            "the selection has no test to run (no suite of this edition?)".into(),
        ));
    }
    let total = units.len();
    let range = partition_range(total, k, n);
    let mine: Vec<(usize, Unit)> = units
        .into_iter()
        .enumerate()
        .filter(|(i, _)| range.contains(i))
        .collect();

    // Build what this part runs.
    let mut infos: BTreeMap<usize, SubmissionInfo> = BTreeMap::new();
    let mut exes: BTreeMap<(usize, String, String), PathBuf> = BTreeMap::new();
    let mut workdirs: BTreeMap<usize, PathBuf> = BTreeMap::new();
    let mut refused: BTreeMap<usize, String> = BTreeMap::new();
    let mut wanted: Vec<(usize, &'static str)> =
        mine.iter().map(|(_, u)| (u.submission, u.lab)).collect();
    wanted.dedup();
    for (position, &(index, lab)) in wanted.iter().enumerate() {
        let (name, path) = &submissions[index];
        let info = infos.entry(index).or_insert_with(|| SubmissionInfo {
            name: name.clone(),
            path: path.clone(),
            builds: BTreeMap::new(),
            missing: Vec::new(),
        });
        let targets = targets_of(lab_named(lab).expect("a kit lab"));
        match (&mode, &area) {
            (Mode::Checkout, _) | (_, None) => {
                workdirs.insert(index, root.clone());
                for t in &targets {
                    let key = (lab.to_string(), t.name.to_string());
                    exes.insert(
                        (index, key.0.clone(), key.1.clone()),
                        course_exes[&key].clone(),
                    );
                }
                info.builds.insert(
                    lab.to_string(),
                    BuildInfo {
                        ok: true,
                        error: None,
                        secs: 0.0,
                    },
                );
            }
            (Mode::Submissions(list), Some(area)) => {
                let submission = &list[index];
                workdirs.insert(index, area.workspace.clone());
                eprintln!("building {} ({lab}) ...", submission.name);
                let built = build_submission(area, submission, &course, lab, &tracked, &targets)
                    .map_err(Problem::Internal)?;
                info.missing.extend(built.missing.iter().cloned());
                if let Some(why) = built.refused {
                    refused.insert(index, why);
                }
                eprintln!(
                    "built {} ({lab}) in {:.1} s{}",
                    submission.name,
                    built.info.secs,
                    built.copied.map_or(String::new(), |c| format!(
                        " (+ {:.1} s copying the cache)",
                        c.as_secs_f64()
                    ))
                );
                info.builds.insert(lab.to_string(), built.info);
                for (key, exe) in built.exes {
                    exes.insert((index, key.0, key.1), exe);
                }
                // Its last lab built: keep only the executables of its target directory.
                if wanted
                    .get(position + 1)
                    .is_none_or(|(next, _)| *next != index)
                {
                    let keep: Vec<PathBuf> = exes
                        .iter()
                        .filter(|((i, _, _), _)| *i == index)
                        .map(|(_, exe)| exe.clone())
                        .collect();
                    submission::prune_target(
                        &area.submissions.join(&submission.name).join("target"),
                        &keep,
                    );
                }
            }
        }
    }
    for info in infos.values_mut() {
        info.missing.sort();
        info.missing.dedup();
    }

    // Run.
    let scratch = root
        .join("target")
        .join("grade-runs")
        .join(format!("part-{k}-of-{n}"));
    let _ = std::fs::remove_dir_all(&scratch);
    let progress = Progress::new(&mine, &submissions);
    let next = AtomicUsize::new(0);
    let records: Mutex<Vec<Record>> = Mutex::new(Vec::with_capacity(mine.len()));
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let context = RunContext {
        course: &course,
        mode: &mode,
        exes: &exes,
        workdirs: &workdirs,
        infos: &infos,
        refused: &refused,
        scratch: &scratch,
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(mine.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((unit_index, unit)) = mine.get(i) else {
                        break;
                    };
                    match context.run_unit(*unit_index, unit, i) {
                        Ok(record) => {
                            progress.finished(unit, &record);
                            records.lock().expect("records").push(record);
                        }
                        Err(message) => {
                            *failure.lock().expect("failure") = Some(message);
                            next.store(mine.len(), Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    progress.done();
    if let Some(message) = failure.into_inner().expect("failure") {
        return Err(Problem::Internal(message));
    }
    let mut records = records.into_inner().expect("records");
    records.sort_by_key(|r| r.unit);
    let _ = std::fs::remove_dir_all(&scratch);
    let report = Report {
        format: report::REPORT_FORMAT.into(),
        course: report::CourseSummary {
            file: course
                .path
                .strip_prefix(&root)
                .unwrap_or(&course.path)
                .display()
                .to_string(),
            edition: course.edition.clone(),
            seeds: course.seeds,
            first_seed: course.first_seed,
            flaky_credit: course.flaky_credit,
            points: selected
                .iter()
                .map(|s| {
                    let lab = course.lab(&s.lab.name).expect("a course lab");
                    (s.lab.name.clone(), lab.points.clone())
                })
                .collect(),
            labs: selected.iter().map(|s| s.lab.name.clone()).collect(),
        },
        partition: (n > 1).then_some(report::Partition { index: k, count: n }),
        units_total: total,
        submissions: infos.into_values().collect(),
        records,
    };
    write_report(&report, args.format, args.out.as_deref())?;
    let all_passed = report.records.iter().all(|r| r.verdict == Verdict::Passed);
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes `report` in `format` to `out` (standard output if none).
pub(crate) fn write_report(
    report: &Report,
    format: Format,
    out: Option<&Path>,
) -> Result<(), Problem> {
    let write = |path: Option<&Path>, text: &str| -> Result<(), Problem> {
        match path {
            None => {
                print!("{text}");
                Ok(())
            }
            Some(path) => std::fs::write(path, text)
                .map_err(|e| Problem::Internal(format!("{}: {e}", path.display()))),
        }
    };
    match format {
        Format::Text => write(out, &report::text(report)),
        Format::Json => write(out, &report::json(report)),
        Format::Junit => write(out, &report::junit(report)),
        Format::Gradescope => {
            let names: Vec<&str> = report.submissions.iter().map(|s| s.name.as_str()).collect();
            match (names.as_slice(), out) {
                ([one], _) => write(
                    out,
                    &report::gradescope(report, one).map_err(Problem::Internal)?,
                ),
                (_, Some(dir)) => {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Problem::Internal(format!("{}: {e}", dir.display())))?;
                    for name in names {
                        let text = report::gradescope(report, name).map_err(Problem::Internal)?;
                        write(Some(&dir.join(format!("{name}.json"))), &text)?;
                    }
                    Ok(())
                }
                (_, None) => Err(Problem::Input(
                    "--format gradescope with several submissions needs --out DIR".into(),
                )),
            }
        }
    }
}

/// What the runs share.
struct RunContext<'a> {
    course: &'a Course,
    mode: &'a Mode,
    exes: &'a BTreeMap<(usize, String, String), PathBuf>,
    workdirs: &'a BTreeMap<usize, PathBuf>,
    infos: &'a BTreeMap<usize, SubmissionInfo>,
    refused: &'a BTreeMap<usize, String>,
    scratch: &'a Path,
}

impl RunContext<'_> {
    /// Runs one unit and makes its record.
    fn run_unit(&self, unit_index: usize, unit: &Unit, slot: usize) -> Result<Record, String> {
        let info = &self.infos[&unit.submission];
        let submission_dir = match self.mode {
            Mode::Checkout => None,
            Mode::Submissions(list) => Some(list[unit.submission].dir.as_path()),
        };
        let commands = Commands::new(unit, submission_dir);
        let mut record = Record {
            unit: unit_index,
            submission: info.name.clone(),
            lab: unit.lab.to_string(),
            target: unit.target.name.to_string(),
            row: if unit.scored || unit.target.kit_title.is_empty() {
                unit.target.title.to_string()
            } else {
                unit.target.kit_title.to_string()
            },
            part: unit.part.clone(),
            scored: unit.scored,
            test: unit.test.clone(),
            seed: unit.seed,
            verdict: Verdict::Failed,
            reason: None,
            virtual_secs: None,
            wall_secs: 0.0,
            replay: commands.replay,
            trace: commands.trace,
            student_replay: commands.student,
        };
        if let Some(why) = self.refused.get(&unit.submission) {
            record.reason = Some(format!("refused: {why}"));
            return Ok(record);
        }
        let build = &info.builds[unit.lab];
        if !build.ok {
            record.reason = Some(format!(
                "build failed: {}",
                build.error.as_deref().unwrap_or("see the build log")
            ));
            return Ok(record);
        }
        let key = (
            unit.submission,
            unit.lab.to_string(),
            unit.target.name.to_string(),
        );
        let exe = self
            .exes
            .get(&key)
            .ok_or_else(|| format!("no test binary for {key:?}"))?;
        let package_dir = self.workdirs[&unit.submission].join(unit.lab);
        let mut env = vec![
            (
                "CARGO_MANIFEST_DIR".to_string(),
                package_dir.display().to_string(),
            ),
            ("CARGO_PKG_NAME".to_string(), unit.lab.to_string()),
        ];
        if let Some(seed) = unit.seed {
            env.push(("LAB_SEED".into(), seed.to_string()));
            env.push(("LAB_SEEDS".into(), "1".into()));
        }
        let time_limit = self.course.time_limit(unit.lab);
        let memory = self.course.limits.memory_mib;
        let scratch = sandbox::scratch_dir(self.scratch, slot);
        let finished = sandbox::run(&sandbox::Job {
            exe,
            args: vec![
                "--exact".into(),
                unit.test.clone(),
                "--test-threads".into(),
                "1".into(),
            ],
            env,
            cwd: &package_dir,
            time_limit,
            memory_mib: memory,
            scratch: &scratch,
        })?;
        let _ = std::fs::remove_dir_all(&scratch);
        record.wall_secs = finished.wall.as_secs_f64();
        let records = match &finished.records {
            Ok(records) => records,
            Err(why) => {
                record.reason = Some(format!("the harness's result file cannot be read: {why}"));
                return Ok(record);
            }
        };
        let mine: Vec<&RunRecord> = records
            .iter()
            .filter(|r| r.test == unit.test && r.seed == unit.seed)
            .collect();
        if let Some(first) = mine.first() {
            record.virtual_secs = first.virtual_secs;
            record.wall_secs = first.wall_secs;
        }
        let failed_record = mine.iter().find(|r| r.verdict == Verdict::Failed);
        let passed_record = mine.iter().any(|r| r.verdict == Verdict::Passed);
        if let Some(failed) = failed_record {
            record.reason = failed.reason.clone().or(Some("failed".into()));
        } else if passed_record && finished.succeeded() {
            record.verdict = Verdict::Passed;
        } else if passed_record {
            record.reason = Some(format!(
                "the run passed, then its test process failed: {}",
                finished.failure_reason(time_limit, memory)
            ));
        } else if !unit.scored && finished.succeeded() {
            // A kit check that does not go through the harness: the kit's own code, whose
            // exit status can be trusted.
            record.verdict = Verdict::Passed;
        } else {
            let why = finished.failure_reason(time_limit, memory);
            record.reason = Some(if finished.succeeded() {
                "no result from the harness: the test process exited with status 0 without the \
                 harness recording a run (did the code call exit?)"
                    .to_string()
            } else {
                why
            });
        }
        Ok(record)
    }
}

/// The commands printed for a run.
struct Commands {
    replay: String,
    trace: Option<String>,
    student: String,
}

impl Commands {
    fn new(unit: &Unit, submission: Option<&Path>) -> Commands {
        let mut common = format!("{} --lab {}", unit.test, unit.lab);
        if let Some(seed) = unit.seed {
            common = format!("{} --seed {seed} --lab {}", unit.test, unit.lab);
        }
        if let Some(dir) = submission {
            common.push_str(&format!(" --submission {}", dir.display()));
        }
        let labs = "cargo run -q --release -p labs --";
        let trace = unit
            .seed
            .map(|seed| format!("{labs} trace {common} --html {}-{seed}.html", unit.test));
        let student = match unit.seed {
            Some(seed) => format!(
                "LAB_SEED={seed} LAB_SEEDS=1 cargo test -p {} --test {} -- --exact {}",
                unit.lab, unit.target.name, unit.test
            ),
            None => format!(
                "cargo test -p {} --test {} -- --exact {}",
                unit.lab, unit.target.name, unit.test
            ),
        };
        Commands {
            replay: format!("{labs} replay {common}"),
            trace,
            student,
        }
    }
}

/// Progress: a bar on a terminal, plain lines (one per submission and lab done) otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    /// Runs left and failed per (submission, lab).
    left: Mutex<BTreeMap<(usize, &'static str), LabCounts>>,
    names: Vec<String>,
}

impl Progress {
    fn new(units: &[(usize, Unit)], submissions: &[(String, String)]) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(units.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} runs, {msg} (eta {eta})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        });
        let mut left = BTreeMap::new();
        for (_, unit) in units {
            let entry = left.entry((unit.submission, unit.lab)).or_insert((0, 0, 0));
            entry.0 += 1;
            entry.2 += 1;
        }
        Progress {
            bar,
            left: Mutex::new(left),
            names: submissions.iter().map(|s| s.0.clone()).collect(),
        }
    }

    fn finished(&self, unit: &Unit, record: &Record) {
        let mut left = self.left.lock().expect("progress");
        let entry = left
            .get_mut(&(unit.submission, unit.lab))
            .expect("a unit counted");
        entry.0 -= 1;
        if record.verdict == Verdict::Failed {
            entry.1 += 1;
        }
        let (remaining, failed_here, runs) = *entry;
        let failed: usize = left.values().map(|e| e.1).sum();
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{failed} failed"));
                bar.inc(1);
            }
            None if remaining == 0 => {
                eprintln!(
                    "{} {}: {} of {runs} runs passed",
                    self.names[unit.submission],
                    unit.lab,
                    runs - failed_here,
                );
            }
            None => {}
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What `cargo test --no-run` built: (package, target) → test binary, or the first error.
pub(crate) struct Built {
    pub result: Result<BTreeMap<(String, String), PathBuf>, String>,
    pub stderr_tail: String,
    pub secs: f64,
}

/// Builds `targets` of `package` in the workspace at `dir` into `target_dir`.
pub(crate) fn cargo_build(
    dir: &Path,
    target_dir: &Path,
    package: &str,
    targets: &[&Target],
    profile: &str,
) -> Result<Built, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .args([
            "test",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", package]);
    if profile == "release" {
        command.arg("--release");
    }
    for t in targets {
        command.args(["--test", &t.name]);
    }
    sandbox::clear_switches(&mut command);
    let started = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr_tail: String = {
        let lines: Vec<&str> = stderr.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    };
    if !output.status.success() {
        return Ok(Built {
            result: Err(first_error(&stderr)),
            stderr_tail,
            secs,
        });
    }
    let mut exes = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let (Some(exe), Some(name)) = (
            message["executable"].as_str(),
            message["target"]["name"].as_str(),
        ) else {
            continue;
        };
        let is_test = message["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "test"));
        if is_test && targets.iter().any(|t| t.name == name) {
            exes.insert((package.to_string(), name.to_string()), PathBuf::from(exe));
        }
    }
    for t in targets {
        if !exes.contains_key(&(package.to_string(), t.name.to_string())) {
            return Err(format!(
                "cargo built no test binary for {package} --test {}",
                t.name
            ));
        }
    }
    Ok(Built {
        result: Ok(exes),
        stderr_tail,
        secs,
    })
}

/// The first compiler error of cargo's rendered diagnostics, with its place.
fn first_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("error")) else {
        return "cargo failed".into();
    };
    let place = lines[at + 1..]
        .iter()
        .take(3)
        .find_map(|l| l.trim_start().strip_prefix("--> "));
    match place {
        Some(place) => format!("{} ({place})", lines[at]),
        None => lines[at].to_string(),
    }
}

/// The tests of a test binary (`--list`).
pub(crate) fn list_tests(exe: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(exe)
        .args(["--list", "--format", "terse"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot list the tests of {}: {e}", exe.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --list failed: {}",
            exe.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut tests: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    tests.sort();
    Ok(tests)
}

/// One lab of one submission, built.
pub(crate) struct SubmissionBuild {
    pub info: BuildInfo,
    pub exes: BTreeMap<(String, String), PathBuf>,
    pub missing: Vec<String>,
    pub refused: Option<String>,
    /// Time spent copying the warm cache (the first lab of a submission only).
    pub copied: Option<Duration>,
}

/// Builds `lab`'s `targets` for `submission` in its own target directory (from the warm
/// cache), then keeps only the executables.
pub(crate) fn build_submission(
    area: &BuildArea,
    submission: &Submission,
    course: &Course,
    lab: &str,
    tracked: &[String],
    targets: &[&'static Target],
) -> Result<SubmissionBuild, String> {
    let files = handin_files(area, submission, course, lab, tracked)?;
    let handin = submission::read_handin(submission, &area.course_root, &files, &course.edition);
    let (target_dir, copied) =
        match std::fs::metadata(area.submissions.join(&submission.name).join("target")) {
            // Several labs of one submission share its target directory: copy the cache once.
            Ok(_)
                if SUBMISSION_TARGETS
                    .lock()
                    .expect("targets")
                    .contains(&submission.name) =>
            {
                (area.submissions.join(&submission.name).join("target"), None)
            }
            _ => {
                SUBMISSION_TARGETS
                    .lock()
                    .expect("targets")
                    .push(submission.name.clone());
                let (dir, took) = area.fresh_target(&submission.name)?;
                (dir, Some(took))
            }
        };
    let built = area.with_handin(&handin, || {
        cargo_build(&area.workspace, &target_dir, lab, targets, "release")
    })??;
    let (ok, error, exes) = match built.result {
        Ok(exes) => (true, None, exes),
        Err(error) => (false, Some(error), BTreeMap::new()),
    };
    Ok(SubmissionBuild {
        info: BuildInfo {
            ok,
            error,
            secs: built.secs,
        },
        exes,
        missing: handin.missing,
        refused: handin.refused,
        copied,
    })
}

/// What `submission` hands in for `lab`: the student files of the lab and of the labs it
/// builds on (each by the course file's patterns for it, or by its solution regions).
fn handin_files(
    area: &BuildArea,
    submission: &Submission,
    course: &Course,
    lab: &str,
    tracked: &[String],
) -> Result<Vec<String>, String> {
    if course.lab(lab).is_none() {
        return Err(format!("{lab} is not in the course"));
    }
    let builds_on = lab_named(lab).map_or(&[][..], |l| l.builds_on.as_slice());
    // Only those that come in the course's edition (2025's Lab 5 has no shardctrler lab).
    let builds_on = builds_on
        .iter()
        .map(String::as_str)
        .filter(|base| lab_named(base).is_some_and(|l| l.comes_in(&course.edition)));
    let mut candidates = None;
    let mut files = Vec::new();
    for name in builds_on.chain([lab]) {
        let patterns = course.lab(name).and_then(|l| l.student_files.as_deref());
        let candidates: &[String] = match patterns {
            Some(_) => candidates.get_or_insert_with(|| submission::files_of(&submission.dir)),
            None => &[],
        };
        files.extend(submission::student_files(
            &area.course_root,
            tracked,
            name,
            patterns,
            candidates,
            &course.edition,
        )?);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Submissions whose target directory this process has started (and so may build into).
static SUBMISSION_TARGETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The directory `labs grade` builds in, for the workspace at `root`.
fn grade_target_dir(root: &Path) -> PathBuf {
    root.join("target").join("grade")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> Course {
        load_course(None).unwrap_or_else(|e| panic!("the course file loads: {e:?}"))
    }

    #[test]
    fn parts_come_from_the_manifest() {
        let part_of = |lab: &str, test: &str| lab_named(lab).unwrap().part_of(test);
        assert_eq!(part_of("raft", "initial_election_3a"), "3A");
        assert_eq!(part_of("raft", "snapshot_init_3d"), "3D");
        assert_eq!(part_of("raft", "mem_get_2"), "-");
        assert_eq!(part_of("raft", "concurrent_many"), "-");
        assert_eq!(part_of("shardkv", "static_shards_5a"), "5A");
        assert_eq!(part_of("shardkv", "challenge1_delete"), "CHALLENGE");
        assert_eq!(part_of("shardctrler", "minimal_again"), "5A");
    }

    #[test]
    fn a_lab_builds_on_the_labs_its_crate_depends_on() {
        // Their student files are part of its hand-in: a lab that depended on a student crate
        // missing here would be built from the reference's copy, or from a stale build of the
        // student's (the target directory is shared between a submission's labs).
        let packages = known_labs();
        for lab in &manifest().labs {
            let manifest =
                std::fs::read_to_string(crate::workspace_root().join(&lab.name).join("Cargo.toml"))
                    .unwrap();
            let manifest: toml::Table = toml::from_str(&manifest).unwrap();
            let mut labs_used: Vec<&str> = manifest
                .get("dependencies")
                .and_then(|d| d.as_table())
                .into_iter()
                .flat_map(|d| d.keys())
                .map(String::as_str)
                .filter(|name| packages.contains(name) && *name != "labrpc")
                .collect();
            labs_used.sort_unstable();
            let mut declared: Vec<&str> = lab.builds_on.iter().map(String::as_str).collect();
            declared.sort_unstable();
            assert_eq!(labs_used, declared, "{}", lab.name);
        }
    }

    #[test]
    fn labs_and_parts_are_checked_before_anything_runs() {
        let course = course();
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let error = select(&names(&["nonsense"]), &course).unwrap_err();
        assert!(
            error.contains("unknown lab or part \"nonsense\""),
            "{error}"
        );
        assert!(error.contains("3A"), "{error}");
        let all = select(&[], &course).unwrap();
        let packages: Vec<&str> = all.iter().map(|s| s.lab.name.as_str()).collect();
        assert_eq!(
            packages,
            [
                "mapreduce",
                "kvsrv",
                "raft",
                "kvraft",
                "shardctrler",
                "shardkv"
            ]
        );
        let challenge = select(&names(&["challenge"]), &course).unwrap();
        assert_eq!(challenge[0].lab.name, "shardkv");
        let one = select(&names(&["raft", "raft"]), &course).unwrap();
        assert_eq!(one.len(), 1);
        let parts = select(&names(&["3a", "3C", "2"]), &course).unwrap();
        assert_eq!(parts[0].lab.name, "kvsrv");
        assert_eq!(
            parts[1].parts.as_deref(),
            Some(&["3A".to_string(), "3C".to_string()][..])
        );
        let whole = select(&names(&["3a", "raft"]), &course).unwrap();
        assert_eq!(whole[0].parts, None);
    }

    #[test]
    fn partitions_are_contiguous_and_cover_every_run_once() {
        for total in [0, 1, 2, 7, 100] {
            for n in 1..=5 {
                let mut covered = Vec::new();
                for k in 1..=n {
                    covered.extend(partition_range(total, k, n));
                }
                assert_eq!(covered, (0..total).collect::<Vec<_>>());
            }
        }
        assert_eq!(parse_partition("2/3"), Ok((2, 3)));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(parse_partition(bad).unwrap_err().contains("K/N"), "{bad}");
        }
    }

    #[test]
    fn commands_replay_the_same_run_for_a_submission() {
        let target = targets_named("raft", "raft")[0];
        let unit = Unit {
            submission: 0,
            lab: "raft",
            target,
            test: "initial_election_3a".into(),
            part: "3A".into(),
            scored: true,
            seed: Some(7),
        };
        let c = Commands::new(&unit, Some(Path::new("/subs/alice")));
        assert_eq!(
            c.replay,
            "cargo run -q --release -p labs -- replay initial_election_3a --seed 7 --lab raft \
             --submission /subs/alice"
        );
        assert!(
            c.trace
                .unwrap()
                .contains("trace initial_election_3a --seed 7")
        );
        assert_eq!(
            c.student,
            "LAB_SEED=7 LAB_SEEDS=1 cargo test -p raft --test raft -- --exact initial_election_3a"
        );
    }

    #[test]
    fn the_first_compiler_error_is_the_reason() {
        let stderr = "   Compiling raft v0.1.0\nerror[E0425]: cannot find value `x` in this scope\n  \
                      --> raft/src/lib.rs:10:5\n   |\nerror: could not compile `raft`\n";
        assert_eq!(
            first_error(stderr),
            "error[E0425]: cannot find value `x` in this scope (raft/src/lib.rs:10:5)"
        );
        assert_eq!(first_error("nothing"), "cargo failed");
    }

    /// The kit-test names must name real tests: a renamed test would silently be scored.
    #[test]
    fn kit_tests_exist() {
        let root = crate::workspace_root();
        for lab in &manifest().labs {
            for target in &lab.targets {
                let path = root
                    .join(&lab.name)
                    .join("tests")
                    .join(format!("{}.rs", target.name));
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for test in &target.kit_tests {
                    assert!(
                        source.contains(&format!("fn {test}()")),
                        "{test} is not a test of {}",
                        path.display()
                    );
                }
            }
        }
    }

    /// The names of the `#[test]` functions of a test file.
    fn test_names(source: &str) -> Vec<String> {
        let mut lines = source.lines().map(str::trim);
        let mut names = Vec::new();
        while let Some(line) = lines.next() {
            if line == "#[test]"
                && let Some(declaration) = lines.find(|l| l.starts_with("fn "))
            {
                let name = declaration["fn ".len()..].split('(').next().unwrap_or("");
                names.push(name.to_string());
            }
        }
        names
    }

    /// The graded tests of `lab`'s suites of `edition`, each with its part (kit tests left
    /// out).
    fn graded_tests(lab: &Lab, edition: &str) -> Vec<(String, String)> {
        let root = crate::workspace_root();
        lab.targets_of(Some(edition))
            .into_iter()
            .flat_map(|t| {
                let path = root
                    .join(&lab.name)
                    .join("tests")
                    .join(format!("{}.rs", t.name));
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                test_names(&source)
                    .into_iter()
                    .filter(|name| !t.kit_tests.contains(name))
                    .map(|name| (lab.part_of(&name), name))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every scored test is in one of its lab's parts of the edition, and that part has points
    /// in each committed course file (a part missing there would stop `labs grade`).
    #[test]
    fn every_graded_test_has_a_part_with_points() {
        let root = crate::workspace_root();
        for file in [crate::course::DEFAULT_COURSE_FILE, "labs/course-2025.toml"] {
            let course = Course::load(&root.join(file)).unwrap();
            for lab in manifest().labs.iter().filter(|l| l.graded) {
                if !lab.comes_in(&course.edition) {
                    continue;
                }
                let parts = lab.parts_of(Some(&course.edition));
                for (part, name) in graded_tests(lab, &course.edition) {
                    assert!(
                        parts.contains(&part),
                        "{}: the graded test {name} is in no part of edition {}: {parts:?}",
                        lab.name,
                        course.edition
                    );
                    if let Some(course_lab) = course.lab(&lab.name) {
                        assert!(
                            course_lab.points.contains_key(&part),
                            "{name}: part {part} has no points in {file}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn lab_4_of_2025_has_the_originals_parts() {
        let kvraft = lab_named("kvraft").unwrap();
        let count = |edition, part: &str| {
            let tests = graded_tests(kvraft, edition);
            tests.iter().filter(|(p, _)| p == part).count()
        };
        assert_eq!(
            [
                count("2025", "4A"),
                count("2025", "4B"),
                count("2025", "4C")
            ],
            [7, 13, 10]
        );
        assert_eq!([count("2024", "4A"), count("2024", "4B")], [14, 9]);
        assert_eq!(
            Course::load(&crate::workspace_root().join("labs/course-2025.toml"))
                .unwrap()
                .edition,
            "2025"
        );
    }

    #[test]
    fn lab_5_of_2025_has_the_originals_parts_and_no_controller_lab() {
        let shardkv = lab_named("shardkv").unwrap();
        let count = |edition, part: &str| {
            let tests = graded_tests(shardkv, edition);
            tests.iter().filter(|(p, _)| p == part).count()
        };
        assert_eq!(
            [
                count("2025", "5A"),
                count("2025", "5B"),
                count("2025", "5C")
            ],
            [14, 2, 7]
        );
        assert_eq!(count("2024", "5C"), 0);
        let course = |text: &str| Course::parse(text, Path::new("c.toml")).unwrap_err();
        let error = course(
            "edition = \"2025\"\nseeds = 1\n[[lab]]\nname = \"shardctrler\"\npoints = { \"5A\" = 1 }\n",
        );
        assert!(error.contains("does not come in edition 2025"), "{error}");
        let error = course(
            "edition = \"2024\"\nseeds = 1\n[[lab]]\nname = \"shardkv\"\npoints = { \"5A\" = 1, \"5B\" = 1, \"CHALLENGE\" = 0, \"5C\" = 1 }\n",
        );
        assert!(
            error.contains("the lab's parts in edition 2024 are"),
            "{error}"
        );
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
