//! Running a graded test: seeds, the summary line, failure reports, replay, determinism.

use crate::alloc::RunTag;
use crate::record::{RESULT_FILE_VAR, RunRecord, TRACE_FILE_VAR};
use crate::summary::SeedsSummary;
use labrpc::sim::trace::{Event, first_divergence};
use labrpc::sim::{Failure, Report, Sim, SimError, TraceMode};
use std::cell::Cell;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// The seed a test runs with when `LAB_SEED` is not set.
pub const DEFAULT_SEED: u64 = 1;

/// Settings of one graded test.
#[derive(Clone, Debug)]
pub struct Options {
    /// Virtual time after which the test fails (the original's per-test limit is 120 s).
    pub time_limit: Duration,
    /// Time a task may hold the simulation thread without yielding, or virtual time may stand
    /// still, before the watchdog fails the test (`LAB_WATCHDOG_SECS` overrides it). Measured
    /// on the simulation thread's own clock where there is one (see
    /// [`labrpc::sim::WatchdogClock`]), so a starved process is not taken for a stuck task.
    pub watchdog: Duration,
}

impl Default for Options {
    /// 120 s of virtual time; a 10 s watchdog, or `LAB_WATCHDOG_SECS`.
    ///
    /// Reads the environment's switches, so a bad one stops the test process here with its
    /// message (see [`run`]).
    fn default() -> Options {
        Options {
            time_limit: Duration::from_secs(120),
            watchdog: settings().watchdog.unwrap_or(DEFAULT_WATCHDOG),
        }
    }
}

/// The watchdog's limit when `LAB_WATCHDOG_SECS` is not set.
const DEFAULT_WATCHDOG: Duration = Duration::from_secs(10);

/// What a test tells the harness for its summary line.
#[derive(Clone, Debug, Default)]
pub struct TestCx {
    seed: u64,
    peers: Rc<Cell<u64>>,
    ops: Rc<Cell<u64>>,
}

impl TestCx {
    /// A context for one run with `seed`.
    pub(crate) fn with_seed(seed: u64) -> TestCx {
        TestCx {
            seed,
            ..TestCx::default()
        }
    }

    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Sets the number of servers the test ran.
    pub fn set_peers(&self, peers: usize) {
        self.peers.set(peers as u64);
    }

    /// Adds to the number of operations (commands agreed, client operations) the test did.
    pub fn add_ops(&self, ops: u64) {
        self.ops.set(self.ops.get() + ops);
    }
}

/// A passed run.
#[derive(Debug)]
pub struct Passed {
    /// The simulation's report (times, traffic, trace hash).
    pub report: Report,
    /// Servers the test reported.
    pub peers: u64,
    /// Operations the test reported.
    pub ops: u64,
    /// What the test's own code logged as warnings (a passed test shows them).
    pub warnings: Vec<String>,
}

impl Passed {
    /// The summary line: `Passed -- <virtual> <real> <peers> <rpcs> <bytes> <ops> seed trace`.
    pub fn summary(&self) -> String {
        let r = &self.report;
        format!(
            "Passed -- {:6.1}s virtual {:7.3}s real {:2} peers {:6} rpcs {:9} bytes {:5} ops  seed={} trace={:016x}",
            r.virtual_time.as_secs_f64(),
            r.wall_time.as_secs_f64(),
            self.peers,
            r.rpcs,
            r.bytes,
            self.ops,
            r.seed,
            r.trace_hash,
        )
    }
}

/// A failed run, with everything needed to understand and replay it.
#[derive(Debug)]
pub struct Failed {
    /// The seed.
    pub seed: u64,
    /// What went wrong, with the last events of the trace.
    pub message: String,
    /// Virtual time when the run failed (how quickly a broken solution is caught).
    pub virtual_time: Duration,
    /// The seed's log lines, each tagged with the seed (kept only when several seeds ran:
    /// a single seed's log is printed as it happens).
    pub log: Vec<String>,
}

type Body<Fut> = dyn Fn(TestCx) -> Fut + Send + Sync;

/// Runs a graded test in the simulation with the seeds the environment asks for, printing a
/// summary line per passed seed and panicking with a full report if any seed fails.
///
/// - `LAB_SEED=n`: run seed `n` (default [`DEFAULT_SEED`]).
/// - `LAB_SEEDS=k`: run `k` consecutive seeds from there, in parallel on the machine's cores.
///   Each seed's log lines are kept apart and printed, tagged with their seed, only if that
///   seed fails; a passed seed keeps nothing but its summary line.
/// - `LAB_VERBOSE=1`: with several seeds, print each seed's summary line too (by default a
///   test prints one line for all its seeds: how many passed, the range of their times, and
///   its warnings counted across them).
/// - `LAB_CHECK_DETERMINISM=1`: run each seed twice and fail, naming the first event where
///   the runs differ, unless both produce the same trace; a line confirms the check.
/// - `LAB_WATCHDOG_SECS=s`: the watchdog's limit (see [`Options::watchdog`]).
///
/// The switches are checked once per process: a bad value (`LAB_SEEDS=0`, a seed range
/// past the largest seed, `LAB_CHECK_DETERMINISM=maybe`, ...) stops the test process with one
/// message naming the switch, before any test runs its simulation.
///
/// ```no_run
/// labtest::run(labtest::Options::default(), |cx| async move {
///     cx.set_peers(3);
///     // ... build a cluster, drive faults, check ...
/// });
/// ```
#[track_caller]
pub fn run<F, Fut>(options: Options, body: F)
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let caller = Location::caller();
    crate::logger::init();
    let settings = settings();
    if settings.choices {
        let _ = writeln!(
            std::io::stderr().lock(),
            "\nerror: LAB_CHOICES replays a search test's choice file, and {} is a run test: \
             replay it with LAB_SEED\n",
            test_name()
        );
        std::process::exit(2);
    }
    let body: Arc<Body<Fut>> = Arc::new(body);
    let name = test_name();
    let replay = Replay::new(caller, &name, settings.check_determinism);
    let count = settings.seeds;
    let capture_logs = count > 1;
    let result_file = settings.result_file.as_deref();
    let mut failures: Vec<Failed> = Vec::new();
    let mut failed_seeds: Vec<u64> = Vec::new();
    let mut summary = SeedsSummary::default();
    run_seeds(
        settings.first_seed,
        count,
        &name,
        |seed| {
            let logs = capture_logs.then(|| crate::logger::Tail::new(seed));
            let started = std::time::Instant::now();
            let result = if settings.check_determinism {
                check_determinism(&options, seed, &body, logs.as_ref(), &replay)
            } else if let Some(path) = &settings.trace_file {
                run_traced(&options, seed, &body, &replay, &name, path)
            } else {
                run_seed_with(
                    &options,
                    seed,
                    TraceMode::Recent,
                    &body,
                    logs.as_ref(),
                    None,
                )
                .map_err(|f| failed(seed, &f, &replay))
            };
            let result = match result {
                Ok(_) if settings.induce_failure => Err(induced_failure(seed, &replay)),
                other => other,
            };
            let wall = started.elapsed();
            // A passed seed keeps only its summary line; a failed one its report and log.
            match result {
                Ok(passed) => SeedResult::Passed {
                    line: format!("{}  {name}", passed.summary()),
                    warnings: passed.warnings,
                    seed,
                    virtual_time: passed.report.virtual_time,
                    wall,
                },
                Err(mut failed) => {
                    if let Some(logs) = logs {
                        failed.log = logs.take();
                    }
                    SeedResult::Failed(Box::new(failed), wall)
                }
            }
        },
        |result| match result {
            SeedResult::Passed {
                line,
                warnings,
                seed,
                virtual_time,
                wall,
            } => {
                summary.passed(seed, virtual_time, wall, &warnings);
                if let Some(path) = result_file {
                    let record = RunRecord::passed(&name, Some(seed), Some(virtual_time), wall);
                    crate::record::append_result(path, &record);
                }
                // One seed, or asked for: the seed's own line, its warnings under it.
                if count == 1 || settings.verbose {
                    let warnings: String = warnings
                        .iter()
                        .map(|w| format!("\n  warning (seed {seed}): {w}"))
                        .collect();
                    print_uncaptured(&format!("{line}{warnings}"));
                }
            }
            SeedResult::Failed(failed, wall) => {
                if let Some(path) = result_file {
                    let record = RunRecord::failed(
                        &name,
                        Some(failed.seed),
                        Some(failed.virtual_time),
                        wall,
                        &failed.message,
                    );
                    crate::record::append_result(path, &record);
                }
                failed_seeds.push(failed.seed);
                if failures.len() < KEPT_FAILURES {
                    failures.push(*failed);
                }
            }
        },
    );
    if count > 1 {
        print_uncaptured(&summary.line(&name, count));
    }
    if failures.is_empty() {
        for warning in summary.warnings() {
            let command = replay.command_line(warning.first_seed);
            crate::summary::remember_warned(&name, warning, count, command);
        }
        if settings.check_determinism {
            print_uncaptured(&format!(
                "Determinism checked: {count} seed{} of {name} ran twice each with identical \
                 traces",
                if count == 1 { "" } else { "s" }
            ));
        }
        return;
    }
    // The logs of failing seeds go to the test's captured output, each line with its seed.
    for failed in &failures {
        if !failed.log.is_empty() {
            eprintln!("---- log of seed {} ----", failed.seed);
            for line in &failed.log {
                eprintln!("{line}");
            }
        }
    }
    let mut message = failures[0].message.clone();
    if failed_seeds.len() > 1 {
        let seeds: Vec<String> = failed_seeds.iter().map(u64::to_string).collect();
        let _ = write!(
            message,
            "\n{} of {} seeds failed: {}",
            failed_seeds.len(),
            count,
            seeds.join(" ")
        );
        if failed_seeds.len() > failures.len() {
            let _ = write!(
                message,
                "\n(the logs of the first {} are shown; replay the others one by one)",
                failures.len()
            );
        }
    }
    panic!("{message}");
}

/// How many failed seeds of one test keep their report and log (the others only their
/// number), so that memory stays flat however many seeds fail.
const KEPT_FAILURES: usize = 3;

/// What one seed of [`run`] leaves behind: a passed seed its summary line and times, a failed
/// one its report (and real time).
enum SeedResult {
    Passed {
        line: String,
        warnings: Vec<String>,
        seed: u64,
        virtual_time: Duration,
        wall: Duration,
    },
    Failed(Box<Failed>, Duration),
}

/// Runs one seed keeping its full trace and the labs' annotations, and writes them to `path`
/// (`LABTEST_TRACE_FILE`, for the course's trace tool), whether the run passes or fails.
fn run_traced<Fut>(
    options: &Options,
    seed: u64,
    body: &Arc<Body<Fut>>,
    replay: &Replay,
    name: &str,
    path: &Path,
) -> Result<Passed, Failed>
where
    Fut: Future<Output = ()> + 'static,
{
    match run_seed_with(options, seed, TraceMode::Full, body, None, None) {
        Ok(passed) => {
            crate::record::write_trace(path, name, &passed.report, None);
            Ok(passed)
        }
        Err(failure) => {
            let failed = failed(seed, &failure, replay);
            crate::record::write_trace(
                path,
                name,
                &failure.report,
                Some((failed.virtual_time, &failed.message)),
            );
            Err(failed)
        }
    }
}

/// Runs a test of real processes (no simulation, no seed), recording its outcome for the
/// course tool like [`run`] does (see [`crate::record`]): a panic in `body` fails the test
/// as usual, and is recorded first.
pub fn run_real(body: impl FnOnce()) {
    let settings = settings();
    let name = test_name();
    let started = std::time::Instant::now();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let wall = started.elapsed();
    if let Some(path) = settings.result_file.as_deref() {
        let record = match &outcome {
            Ok(()) => RunRecord::passed(&name, None, None, wall),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("the test panicked");
                RunRecord::failed(&name, None, None, wall, message)
            }
        };
        crate::record::append_result(path, &record);
    }
    if let Err(payload) = outcome {
        std::panic::resume_unwind(payload);
    }
}

/// The failure `LABTEST_INDUCE_FAILURE` asks for: the kit's own test of the replay command
/// makes a passing test fail, to see what a student would see.
fn induced_failure(seed: u64, replay: &Replay) -> Failed {
    Failed {
        seed,
        message: format!(
            "FAILED with seed {seed}: induced failure (LABTEST_INDUCE_FAILURE is set; the kit's \
             own test of the replay command sets it; unset it)\n{}",
            replay.command(seed)
        ),
        virtual_time: Duration::ZERO,
        log: Vec::new(),
    }
}

/// Runs `body` on seed 1 and returns its failure (for a suite's own tests of a planted bug);
/// prints the failure, as a student would read it, and panics if the run passed.
#[track_caller]
pub fn must_fail<F, Fut>(body: F) -> Failed
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    match try_run(&Options::default(), 1, body) {
        Ok(passed) => panic!(
            "expected the planted bug to fail the test, but it passed: {}",
            passed.summary()
        ),
        Err(failed) => {
            eprintln!("{}", failed.message);
            failed
        }
    }
}

/// Runs `body` with `options` on each of `seeds`, one after the other, and panics unless every
/// finished run after the first left nothing allocated once its report was dropped. (The first
/// run may fill what the binary keeps for good, such as inputs computed once in a `OnceLock`.)
/// A leak (a reference cycle between a cluster's parts, a structure kept in a global) makes a
/// many-seed run grow with every seed; this check finds it deterministically, by bytes rather
/// than by resident memory or time.
///
/// The test binary must count allocations: `#[global_allocator] static ALLOCATOR:
/// labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;`.
///
/// # Panics
/// If a run fails (with its report), if a run leaves bytes allocated (naming the seed and the
/// bytes), or if allocations are not being counted.
#[track_caller]
pub fn assert_seeds_leave_nothing<F, Fut>(
    options: &Options,
    seeds: std::ops::RangeInclusive<u64>,
    body: F,
) where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let replay = Replay::new(Location::caller(), &test_name(), false);
    crate::logger::init();
    let body: Arc<Body<Fut>> = Arc::new(body);
    assert!(
        seeds.clone().count() >= 2,
        "labtest: the leak check needs at least two seeds (the first one only warms up)"
    );
    assert!(
        RunTag::counting(),
        "labtest: allocations are not being counted: install the allocator in the test file \
         with `#[global_allocator] static ALLOCATOR: labtest::alloc::NodeCounting = \
         labtest::alloc::NodeCounting;`"
    );
    let first = *seeds.start();
    let mut leaks = Vec::new();
    for seed in seeds {
        let tag = RunTag::new();
        let result = run_seed_with(options, seed, TraceMode::Recent, &body, None, Some(tag));
        match result {
            Ok(passed) => drop(passed),
            Err(failure) => panic!("{}", failed(seed, &failure, &replay).message),
        }
        let live = tag.live();
        if seed != first && live != 0 {
            leaks.push(format!("seed {seed}: {live} bytes"));
        }
    }
    assert!(
        leaks.is_empty(),
        "finished runs left allocations behind ({}): something of the simulation outlives it \
         (a reference cycle between the cluster's parts? break it when the simulation ends, \
         with labrpc::sim::at_end)",
        leaks.join(", ")
    );
}

impl Failed {
    /// Panics unless the failure's message mentions every one of `needles`.
    #[track_caller]
    pub fn assert_mentions(&self, needles: &[&str]) {
        for needle in needles {
            assert!(
                self.message.contains(needle),
                "the failure message should mention {needle:?}:\n{}",
                self.message
            );
        }
    }
}

/// Runs one seed and returns the outcome instead of panicking (for the harness's own tests).
#[track_caller]
pub fn try_run<F, Fut>(options: &Options, seed: u64, body: F) -> Result<Passed, Failed>
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let replay = Replay::new(Location::caller(), &test_name(), false);
    crate::logger::init();
    let body: Arc<Body<Fut>> = Arc::new(body);
    run_seed_with(options, seed, TraceMode::Recent, &body, None, None)
        .map_err(|f| failed(seed, &f, &replay))
}

/// Runs `body` on seeds 1, 2, ... up to `seeds`; returns the first failure (for testers' own
/// tests, which plant a bug and expect a graded scenario to catch it).
#[track_caller]
pub fn first_failure<F, Fut>(seeds: u64, body: F) -> Option<Failed>
where
    F: Fn(TestCx) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    for seed in 1..=seeds {
        if let Err(failed) = try_run(&Options::default(), seed, body.clone()) {
            return Some(failed);
        }
    }
    None
}

/// Checks that `body` fails on one of seeds 1 to `seeds`, with a message that has one of
/// `causes` in it: a planted bug is caught, and the message names its cause.
///
/// # Panics
/// If every seed passes, or the failure names none of `causes`.
#[track_caller]
pub fn assert_caught<F, Fut>(seeds: u64, causes: &[&str], body: F)
where
    F: Fn(TestCx) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let Some(failed) = first_failure(seeds, body) else {
        panic!("the planted bug survived {seeds} seeds");
    };
    assert!(
        causes.iter().any(|cause| failed.message.contains(cause)),
        "seed {} failed, but the message names none of {causes:?}:\n{}",
        failed.seed,
        failed.message
    );
}

/// Runs one seed twice with full traces and compares them (for the harness's own tests).
#[track_caller]
pub fn try_check_determinism<F, Fut>(
    options: &Options,
    seed: u64,
    body: F,
) -> Result<Passed, Failed>
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let replay = Replay::new(Location::caller(), &test_name(), true);
    crate::logger::init();
    let body: Arc<Body<Fut>> = Arc::new(body);
    check_determinism(options, seed, &body, None, &replay)
}

/// Runs one seed; `tag`, if given, is charged with what the simulation allocates.
fn run_seed_with<Fut>(
    options: &Options,
    seed: u64,
    trace: TraceMode,
    body: &Arc<Body<Fut>>,
    logs: Option<&crate::logger::Tail>,
    tag: Option<RunTag>,
) -> Result<Passed, Box<RunFailure>>
where
    Fut: Future<Output = ()> + 'static,
{
    let body = body.clone();
    let logs = logs.cloned();
    let pending: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let slot = pending.clone();
    let outcome = Sim::new(seed)
        .time_limit(options.time_limit)
        .watchdog(options.watchdog)
        .trace(trace)
        .run(move || {
            if let Some(tag) = tag {
                tag.enter();
            }
            // This runs on the simulation's thread: its log lines go to the seed's tail.
            if let Some(logs) = logs {
                crate::logger::capture_this_thread(logs);
            }
            let cx = TestCx {
                seed,
                ..TestCx::default()
            };
            crate::pending::clear();
            let test = crate::pending::Watched::new(body(cx.clone()), slot);
            async move {
                test.await;
                (cx.peers.get(), cx.ops.get(), crate::logger::take_warnings())
            }
        })
        .map_err(|failure| {
            // What the lab's tester says was pending, after the simulation's own words.
            let said = pending.lock().ok().and_then(|mut p| p.take());
            let ran_out = matches!(
                failure.error,
                SimError::TimeLimit { .. } | SimError::Deadlock { .. }
            );
            Box::new(RunFailure {
                failure: *failure,
                pending: said.filter(|_| ran_out),
            })
        })?;
    let (peers, ops, warnings) = outcome.value;
    Ok(Passed {
        report: outcome.report,
        peers,
        ops,
        warnings,
    })
}

fn check_determinism<Fut>(
    options: &Options,
    seed: u64,
    body: &Arc<Body<Fut>>,
    logs: Option<&crate::logger::Tail>,
    replay: &Replay,
) -> Result<Passed, Failed>
where
    Fut: Future<Output = ()> + 'static,
{
    let first = run_seed_with(options, seed, TraceMode::Full, body, logs, None);
    if let Some(logs) = logs {
        logs.take(); // the second run logs the same lines again
    }
    let second = run_seed_with(options, seed, TraceMode::Full, body, logs, None);
    let (a, b) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) if a.report.trace_hash == b.report.trace_hash => {
            return Err(failed(seed, &a, replay));
        }
        (Err(failure), _) | (_, Err(failure)) => {
            let mut failure = failed(seed, &failure, replay);
            failure.message = format!(
                "NONDETERMINISM: seed {seed} failed in only one of two runs:\n{}",
                failure.message
            );
            return Err(failure);
        }
    };
    if a.report.trace_hash == b.report.trace_hash {
        return Ok(a);
    }
    let events = |p: &Passed| {
        p.report
            .trace
            .as_ref()
            .and_then(|t| t.events())
            .map(<[Event]>::to_vec)
            .unwrap_or_default()
    };
    let (ea, eb) = (events(&a), events(&b));
    let mut message = format!(
        "NONDETERMINISM: two runs of seed {seed} produced different traces \
         ({:016x} vs {:016x}).\n",
        a.report.trace_hash, b.report.trace_hash
    );
    if let Some((index, x, y)) = first_divergence(&ea, &eb) {
        let names = &a.report.nodes;
        let show = |e: Option<&Event>| {
            e.map_or_else(
                || "(trace ended)".to_string(),
                |e| e.display(names).to_string(),
            )
        };
        let _ = writeln!(message, "First difference at event #{index}:");
        let _ = writeln!(message, "  run 1: {}", show(x));
        let _ = writeln!(message, "  run 2: {}", show(y));
        if index > 0 {
            let _ = writeln!(
                message,
                "  (the event before, in both: {})",
                show(ea.get(index - 1))
            );
        }
    }
    message.push_str(
        "Something in the code depends on more than the seed: std::time, thread_rng, \
         iteration over a std HashMap, threads. See labrpc::sim's determinism rules.\n",
    );
    let _ = write!(message, "{}", replay.command(seed));
    Err(Failed {
        seed,
        message,
        virtual_time: a.report.virtual_time.max(b.report.virtual_time),
        log: Vec::new(),
    })
}

/// A failed simulation, with what the lab's tester said was pending if it ran out of time
/// (see [`crate::pending`]).
#[derive(Debug)]
pub(crate) struct RunFailure {
    failure: Failure,
    pending: Option<String>,
}

impl std::ops::Deref for RunFailure {
    type Target = Failure;

    fn deref(&self) -> &Failure {
        &self.failure
    }
}

fn failed(seed: u64, failure: &RunFailure, replay: &Replay) -> Failed {
    let report = &failure.report;
    let at = report.virtual_time.as_secs_f64();
    let hint = failure
        .pending
        .as_deref()
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix(crate::pending::HINT)));
    let mut message = match (&failure.error, hint) {
        // The lab's tester knows which rule the wait points at: that comes first.
        (SimError::TimeLimit { limit, waiting }, Some(hint)) => {
            let mut message = format!(
                "FAILED with seed {seed} at virtual time {at:.6}s: {hint} (the test ran past \
                 its limit of {limit:?} of virtual time)\n"
            );
            if !waiting.is_empty() {
                let _ = writeln!(message, "Tasks that waited longest without running:");
                for task in waiting {
                    let _ = writeln!(message, "  {task}");
                }
            }
            message
        }
        (error, _) => format!("FAILED with seed {seed} at virtual time {at:.6}s: {error}\n"),
    };
    if let Some(pending) = &failure.pending {
        let _ = writeln!(message, "What was pending:\n{pending}");
    }
    if let Some(trace) = &report.trace
        && !trace.is_empty()
    {
        let _ = writeln!(message, "Last events (virtual time, node, event):");
        for event in trace.recent() {
            let _ = writeln!(message, "  {}", event.display(&report.nodes));
        }
    }
    let _ = write!(message, "{}", replay.command(seed));
    Failed {
        seed,
        message,
        virtual_time: report.virtual_time,
        log: Vec::new(),
    }
}

/// The cargo target directory the running test binary was built in (`target/` of its
/// workspace), or `target` under the current directory if that cannot be told.
pub(crate) fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// How to rerun one test: the cargo command line that selects its target, and the test.
#[derive(Clone, Debug)]
pub(crate) struct Replay {
    /// The test's package (`raft`): its log lines are the student's (`RUST_LOG=raft=debug`).
    package: String,
    /// `-p raft --test raft` (or `--lib`, `--bin x`, ...; no target if it cannot be told).
    selection: String,
    test: String,
    check_determinism: bool,
}

impl Replay {
    pub(crate) fn new(caller: &Location<'_>, test: &str, check_determinism: bool) -> Replay {
        let package = std::env::var("CARGO_PKG_NAME").ok();
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let exe = std::env::current_exe().ok();
        let mut selection = format!("-p {}", package.as_deref().unwrap_or("<package>"));
        if let Some(profile) = exe.as_deref().and_then(profile_flag) {
            selection.push(' ');
            selection.push_str(&profile);
        }
        if let Some(target) = target_flag(
            Path::new(caller.file()),
            manifest_dir.as_deref(),
            package.as_deref(),
            exe.as_deref(),
        ) {
            selection.push(' ');
            selection.push_str(&target);
        }
        Replay {
            package: package.unwrap_or_else(|| "<package>".to_string()),
            selection,
            test: test.to_string(),
            check_determinism,
        }
    }

    /// The one command that replays this test with this seed, with an introduction.
    fn command(&self, seed: u64) -> String {
        format!(
            "Replay exactly this run (add RUST_LOG={}=debug to see your log lines):\n  {}\n",
            self.package,
            self.command_line(seed)
        )
    }

    /// The test's package (its log target).
    pub(crate) fn package(&self) -> &str {
        &self.package
    }

    /// `cargo test <selection> -- --exact <test>`, with no environment.
    pub(crate) fn cargo_command(&self) -> String {
        format!("cargo test {} -- --exact {}", self.selection, self.test)
    }

    /// The command line alone.
    fn command_line(&self, seed: u64) -> String {
        let check = if self.check_determinism {
            "LAB_CHECK_DETERMINISM=1 "
        } else {
            ""
        };
        format!(
            "{check}LAB_SEED={seed} LAB_SEEDS=1 cargo test {} -- --exact {}",
            self.selection, self.test
        )
    }
}

/// Which cargo target a test is in, from the source file of the code that called the harness
/// (`tests/raft.rs` is the integration test `raft`, even in the package `raft`, whose library
/// has the same crate name), relative to the package's directory.
///
/// `None` if it cannot be told: the command then names no target, and cargo runs the test in
/// whichever target has it (slower, never wrong).
fn target_flag(
    caller: &Path,
    manifest_dir: Option<&Path>,
    package: Option<&str>,
    exe: Option<&Path>,
) -> Option<String> {
    let relative = package_relative(caller, manifest_dir)?;
    let parts: Vec<&str> = relative.iter().filter_map(|c| c.to_str()).collect();
    let stem = |file: &str| file.strip_suffix(".rs").map(str::to_string);
    match parts.as_slice() {
        ["tests", file] => Some(format!("--test {}", stem(file)?)),
        ["tests", dir, "main.rs"] => Some(format!("--test {dir}")),
        // A module shared by several test files: the running binary says which one.
        ["tests", ..] => {
            let crate_name = exe?.file_stem()?.to_str()?.rsplit_once('-')?.0.to_string();
            let dir = manifest_dir?.join("tests");
            let target = std::fs::read_dir(dir)
                .ok()?
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    Some(name.strip_suffix(".rs").unwrap_or(&name).to_string())
                })
                .find(|name| name.replace('-', "_") == crate_name)?;
            Some(format!("--test {target}"))
        }
        ["src", "bin", file] => Some(format!("--bin {}", stem(file)?)),
        ["src", "bin", dir, ..] => Some(format!("--bin {dir}")),
        ["src", "main.rs"] => Some(format!("--bin {}", package?)),
        ["src", ..] => Some("--lib".to_string()),
        ["benches", file] => Some(format!("--bench {}", stem(file)?)),
        ["examples", file] => Some(format!("--example {}", stem(file)?)),
        _ => None,
    }
}

/// `caller` relative to the package's directory. The compiler names files relative to the
/// workspace's root (`raft/tests/raft.rs`), or absolutely for packages outside it: find the
/// part that is a file of this package.
fn package_relative(caller: &Path, manifest_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = manifest_dir
        && let Ok(relative) = caller.strip_prefix(dir)
    {
        return Some(relative.to_path_buf());
    }
    let components: Vec<_> = caller.components().collect();
    (0..components.len()).find_map(|i| {
        let candidate: PathBuf = components[i..].iter().collect();
        let first = candidate.iter().next()?.to_str()?;
        let is_source_dir = matches!(first, "src" | "tests" | "benches" | "examples");
        let exists = manifest_dir.is_none_or(|dir| dir.join(&candidate).is_file());
        (is_source_dir && exists).then_some(candidate)
    })
}

/// `--release` (or `--profile NAME`) if the test binary was not built in the dev profile.
fn profile_flag(exe: &Path) -> Option<String> {
    let mut dir = exe.parent()?;
    if dir.file_name()? == "deps" {
        dir = dir.parent()?;
    }
    match dir.file_name()?.to_str()? {
        "debug" => None,
        "release" => Some("--release".to_string()),
        other => Some(format!("--profile {other}")),
    }
}

/// The running test's name (libtest names each test's thread after it).
pub(crate) fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<test name>")
        .to_string()
}

/// Prints past the test harness's output capture, so passing tests show their summary.
/// (Standard output, like libtest's own lines, so the two never interleave mid-line.)
pub(crate) fn print_uncaptured(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Runs `f` for each of `count` seeds from `first`, on up to one thread per core, and hands
/// each result to `report` in the seeds' order as soon as every earlier seed has been
/// reported: nothing is kept for a seed once it is reported, so memory stays flat in the
/// number of seeds. The threads carry the test's name, which reports and the replay command
/// use.
fn run_seeds<T: Send>(
    first: u64,
    count: u64,
    name: &str,
    f: impl Fn(u64) -> T + Sync,
    mut report: impl FnMut(T) + Send,
) {
    if count <= 1 {
        report(f(first));
        return;
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(usize::try_from(count).unwrap_or(usize::MAX));
    let next = std::sync::atomic::AtomicU64::new(0);
    // Results not yet reported, by index, and the index to report next.
    let pending: parking_lot::Mutex<(std::collections::BTreeMap<u64, T>, u64)> =
        parking_lot::Mutex::new((std::collections::BTreeMap::new(), 0));
    let report = parking_lot::Mutex::new(&mut report);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let worker = || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let result = f(first + i);
                    // Report every result that is next in order (one reporter at a time).
                    let mut report = report.lock();
                    let mut pending = pending.lock();
                    pending.0.insert(i, result);
                    loop {
                        let index = pending.1;
                        let Some(result) = pending.0.remove(&index) else {
                            break;
                        };
                        pending.1 += 1;
                        (*report)(result);
                    }
                }
            };
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn_scoped(scope, worker)
                .expect("cannot start a thread for the seeds");
        }
    });
}

/// The switches of the environment, validated.
#[derive(Debug, PartialEq, Eq)]
struct Settings {
    first_seed: u64,
    seeds: u64,
    check_determinism: bool,
    /// `LAB_VERBOSE=1`: with several seeds, print every seed's line too.
    verbose: bool,
    watchdog: Option<Duration>,
    induce_failure: bool,
    /// Where to append each run's result (`LABTEST_RESULT_FILE`, set by the grader).
    result_file: Option<PathBuf>,
    /// `LAB_CHOICES` is set: it replays a search test, and a run test refuses it.
    choices: bool,
    /// Where to write the run's full trace (`LABTEST_TRACE_FILE`, set by the course's trace tool).
    trace_file: Option<PathBuf>,
}

/// The environment's switches, read and checked once per process. A bad switch stops the
/// process with one message (written past the test harness's output capture), instead of
/// failing every test with the same message.
/// Where the course tool wants each test's result recorded (`LABTEST_RESULT_FILE`), if it
/// does.
pub(crate) fn result_file() -> Option<&'static Path> {
    settings().result_file.as_deref()
}

fn settings() -> &'static Settings {
    static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();
    SETTINGS.get_or_init(|| match Settings::parse(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(message) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "\nerror: {message}\n(no test was run: fix or unset the variable)\n"
            );
            std::process::exit(2);
        }
    })
}

impl Settings {
    /// Reads and checks the switches from `var` (the environment, or a test's map).
    fn parse(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let number = |name: &str| -> Result<Option<u64>, String> {
            match var(name) {
                None => Ok(None),
                Some(value) if value.trim().is_empty() => Ok(None),
                Some(value) => value.trim().parse().map(Some).map_err(|_| {
                    format!(
                        "{name}={value:?} is not a whole number from 0 to {}",
                        u64::MAX
                    )
                }),
            }
        };
        let first_seed = number("LAB_SEED")?.unwrap_or(DEFAULT_SEED);
        let seeds = match number("LAB_SEEDS")? {
            None => 1,
            Some(0) => {
                return Err("LAB_SEEDS=0: the number of seeds to run must be at least 1".into());
            }
            Some(n) => n,
        };
        if first_seed.checked_add(seeds - 1).is_none() {
            return Err(format!(
                "LAB_SEED={first_seed} with LAB_SEEDS={seeds} runs past the largest seed, {}: \
                 start lower or run fewer seeds",
                u64::MAX
            ));
        }
        let check_determinism = switch("LAB_CHECK_DETERMINISM", var("LAB_CHECK_DETERMINISM"))?;
        let verbose = switch("LAB_VERBOSE", var("LAB_VERBOSE"))?;
        let watchdog = match number("LAB_WATCHDOG_SECS") {
            Err(_) | Ok(Some(0)) => {
                return Err(format!(
                    "LAB_WATCHDOG_SECS={:?}: the watchdog's limit is a whole number of seconds, \
                     at least 1 (the default is {})",
                    var("LAB_WATCHDOG_SECS").unwrap_or_default(),
                    DEFAULT_WATCHDOG.as_secs()
                ));
            }
            Ok(secs) => secs.map(Duration::from_secs),
        };
        let induce_failure = switch("LABTEST_INDUCE_FAILURE", var("LABTEST_INDUCE_FAILURE"))?;
        let path = |name: &str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        };
        let result_file = path(RESULT_FILE_VAR);
        let trace_file = path(TRACE_FILE_VAR);
        if trace_file.is_some() && (seeds > 1 || check_determinism) {
            return Err(format!(
                "{TRACE_FILE_VAR} records the trace of one run: set LAB_SEEDS=1 (or unset it) \
                 and unset LAB_CHECK_DETERMINISM"
            ));
        }
        Ok(Settings {
            choices: path("LAB_CHOICES").is_some(),
            first_seed,
            seeds,
            check_determinism,
            verbose,
            watchdog,
            induce_failure,
            result_file,
            trace_file,
        })
    }
}

/// An on/off switch: `1`/`true` or `0`/`false` (unset or empty is off); anything else is an
/// error, so that `=no` or a typo cannot turn a check on or off silently.
fn switch(name: &str, value: Option<String>) -> Result<bool, String> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!(
            "{name}={v:?}: write {name}=1 to turn it on, {name}=0 (or unset it) to turn it off"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::parse(|name| vars.get(name).cloned())
    }

    #[test]
    fn switches_have_defaults() {
        assert_eq!(
            parse(&[]),
            Ok(Settings {
                first_seed: DEFAULT_SEED,
                seeds: 1,
                check_determinism: false,
                verbose: false,
                watchdog: None,
                induce_failure: false,
                result_file: None,
                choices: false,
                trace_file: None,
            })
        );
        let s = parse(&[
            ("LAB_SEED", "7"),
            ("LAB_SEEDS", " 20 "),
            ("LAB_CHECK_DETERMINISM", "true"),
            ("LAB_WATCHDOG_SECS", "30"),
        ])
        .unwrap();
        assert_eq!((s.first_seed, s.seeds), (7, 20));
        assert!(s.check_determinism);
        assert_eq!(s.watchdog, Some(Duration::from_secs(30)));
        // The largest seed itself is fine.
        assert_eq!(
            parse(&[("LAB_SEED", "18446744073709551615")])
                .unwrap()
                .first_seed,
            u64::MAX
        );
    }

    #[test]
    fn bad_switches_are_errors_that_name_them() {
        let error = |vars: &[(&str, &str)]| parse(vars).unwrap_err();
        assert!(error(&[("LAB_SEEDS", "0")]).contains("LAB_SEEDS=0"));
        assert!(error(&[("LAB_SEEDS", "-3")]).contains("LAB_SEEDS=\"-3\""));
        assert!(
            error(&[("LAB_SEED", "18446744073709551615"), ("LAB_SEEDS", "2")])
                .contains("past the largest seed")
        );
        assert!(error(&[("LAB_SEED", "1e3")]).contains("LAB_SEED=\"1e3\""));
        assert!(parse(&[("LAB_CHOICES", "x.choices")]).unwrap().choices);
        for bad in ["no", "yes", "2", "on"] {
            let message = error(&[("LAB_CHECK_DETERMINISM", bad)]);
            assert!(message.contains("LAB_CHECK_DETERMINISM=1"), "{message}");
        }
        assert!(
            !parse(&[("LAB_CHECK_DETERMINISM", "0")])
                .unwrap()
                .check_determinism
        );
        assert!(
            !parse(&[("LAB_CHECK_DETERMINISM", "FALSE")])
                .unwrap()
                .check_determinism
        );
        let message = error(&[(TRACE_FILE_VAR, "/tmp/t.json"), ("LAB_SEEDS", "2")]);
        assert!(message.contains("LAB_SEEDS=1"), "{message}");
        let ok = parse(&[(TRACE_FILE_VAR, "/tmp/t.json"), (RESULT_FILE_VAR, "/tmp/r")]).unwrap();
        assert_eq!(ok.trace_file.as_deref(), Some(Path::new("/tmp/t.json")));
        assert_eq!(ok.result_file.as_deref(), Some(Path::new("/tmp/r")));
        for bad in ["abc", "0", "1.5"] {
            let message = error(&[("LAB_WATCHDOG_SECS", bad)]);
            assert!(message.contains("LAB_WATCHDOG_SECS"), "{message}");
        }
    }

    #[test]
    fn a_test_file_named_like_its_package_is_a_test_target() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target =
            |file: &str, package: &str| target_flag(Path::new(file), None, Some(package), None);
        assert_eq!(
            target("raft/tests/raft.rs", "raft").as_deref(),
            Some("--test raft")
        );
        assert_eq!(
            target("/home/s/labs/raft/tests/raft.rs", "raft").as_deref(),
            Some("--test raft")
        );
        assert_eq!(
            target("raft/src/state.rs", "raft").as_deref(),
            Some("--lib")
        );
        assert_eq!(target("raft/src/lib.rs", "raft").as_deref(), Some("--lib"));
        assert_eq!(
            target("kv/tests/suite/main.rs", "kv").as_deref(),
            Some("--test suite")
        );
        assert_eq!(
            target("m/src/bin/mrworker.rs", "m").as_deref(),
            Some("--bin mrworker")
        );
        assert_eq!(target("m/src/main.rs", "m").as_deref(), Some("--bin m"));
        assert_eq!(target("elsewhere.rs", "m"), None);
        // With the package's directory known, only its own files match.
        assert_eq!(
            target_flag(
                Path::new("tests/tests/kv.rs"),
                Some(&dir),
                Some("labtest"),
                None
            )
            .as_deref(),
            Some("--test kv")
        );
        assert_eq!(
            target_flag(
                Path::new("tests/src/runner.rs"),
                Some(&dir),
                Some("labtest"),
                None
            )
            .as_deref(),
            Some("--lib")
        );
    }

    #[test]
    fn a_shared_test_module_is_told_apart_by_the_running_binary() {
        // The Raft suite's harness module, shared by raft/tests/raft.rs and tester.rs.
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../raft");
        let exe = dir.join("../target/debug/deps/tester-0123abcd");
        assert_eq!(
            target_flag(
                Path::new("raft/tests/harness/mod.rs"),
                Some(&dir),
                Some("raft"),
                Some(&exe)
            )
            .as_deref(),
            Some("--test tester")
        );
    }

    #[test]
    fn the_profile_comes_from_the_binary_path() {
        assert_eq!(profile_flag(Path::new("/t/debug/deps/raft-1")), None);
        assert_eq!(
            profile_flag(Path::new("/t/release/deps/raft-1")).as_deref(),
            Some("--release")
        );
        assert_eq!(
            profile_flag(Path::new("/t/fast/deps/raft-1")).as_deref(),
            Some("--profile fast")
        );
    }

    #[test]
    fn seeds_are_reported_in_order_whatever_order_they_finish() {
        let mut seen = Vec::new();
        run_seeds(
            10,
            40,
            "order",
            |seed| {
                // Later seeds finish first.
                std::thread::sleep(Duration::from_micros(200 * (50 - (seed - 10))));
                seed
            },
            |seed| seen.push(seed),
        );
        assert_eq!(seen, (10..50).collect::<Vec<_>>());
        let mut last = Vec::new();
        run_seeds(u64::MAX, 1, "last", |seed| seed, |seed| last.push(seed));
        assert_eq!(last, vec![u64::MAX]);
    }
}
