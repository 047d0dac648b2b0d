//! Running a graded test: seeds, the summary line, failure reports, replay, determinism.

use labrpc::sim::trace::{Event, first_divergence};
use labrpc::sim::{Failure, Report, Sim, TraceMode};
use std::cell::Cell;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
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
    /// Real time a task may run without yielding, or virtual time may stand still, before the
    /// watchdog fails the test (`LAB_WATCHDOG_SECS` overrides it).
    pub watchdog: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            time_limit: Duration::from_secs(120),
            watchdog: Duration::from_secs(
                env_u64("LAB_WATCHDOG_SECS").ok().flatten().unwrap_or(10),
            ),
        }
    }
}

/// What a test tells the harness for its summary line.
#[derive(Clone, Debug, Default)]
pub struct TestCx {
    seed: u64,
    peers: Rc<Cell<u64>>,
    ops: Rc<Cell<u64>>,
}

impl TestCx {
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
}

type Body<Fut> = dyn Fn(TestCx) -> Fut + Send + Sync;

/// Runs a graded test in the simulation with the seeds the environment asks for, printing a
/// summary line per passed seed and panicking with a full report if any seed fails.
///
/// - `LAB_SEED=n`: run seed `n` (default [`DEFAULT_SEED`]).
/// - `LAB_SEEDS=k`: run `k` consecutive seeds from there, in parallel on the machine's cores.
/// - `LAB_CHECK_DETERMINISM=1`: run each seed twice and fail, naming the first event where
///   the runs differ, unless both produce the same trace.
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
    crate::logger::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => panic!("{message}"),
    };
    let body: Arc<Body<Fut>> = Arc::new(body);
    let seeds: Vec<u64> = (settings.first_seed..)
        .take(settings.seeds as usize)
        .collect();
    let name = test_name();
    let results = run_seeds(&seeds, &name, |seed| {
        if settings.check_determinism {
            check_determinism(&options, seed, &body)
        } else {
            run_seed_with(&options, seed, TraceMode::Recent, &body).map_err(|f| failed(seed, &f))
        }
    });
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(passed) => print_uncaptured(&format!("{}  {name}", passed.summary())),
            Err(failed) => failures.push(failed),
        }
    }
    if let Some(first) = failures.first() {
        let mut message = first.message.clone();
        if failures.len() > 1 {
            let seeds: Vec<String> = failures.iter().map(|f| f.seed.to_string()).collect();
            let _ = write!(
                message,
                "\n{} of {} seeds failed: {}",
                failures.len(),
                seeds.len().max(settings.seeds as usize),
                seeds.join(" ")
            );
        }
        panic!("{message}");
    }
}

/// Runs one seed and returns the outcome instead of panicking (for the harness's own tests).
pub fn try_run<F, Fut>(options: &Options, seed: u64, body: F) -> Result<Passed, Failed>
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    crate::logger::init();
    let body: Arc<Body<Fut>> = Arc::new(body);
    run_seed_with(options, seed, TraceMode::Recent, &body).map_err(|f| failed(seed, &f))
}

/// Runs one seed twice with full traces and compares them (for the harness's own tests).
pub fn try_check_determinism<F, Fut>(
    options: &Options,
    seed: u64,
    body: F,
) -> Result<Passed, Failed>
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    crate::logger::init();
    let body: Arc<Body<Fut>> = Arc::new(body);
    check_determinism(options, seed, &body)
}

fn run_seed_with<Fut>(
    options: &Options,
    seed: u64,
    trace: TraceMode,
    body: &Arc<Body<Fut>>,
) -> Result<Passed, Box<Failure>>
where
    Fut: Future<Output = ()> + 'static,
{
    let body = body.clone();
    let outcome = Sim::new(seed)
        .time_limit(options.time_limit)
        .watchdog(options.watchdog)
        .trace(trace)
        .run(move || {
            let cx = TestCx {
                seed,
                ..TestCx::default()
            };
            let test = body(cx.clone());
            async move {
                test.await;
                (cx.peers.get(), cx.ops.get())
            }
        })?;
    let (peers, ops) = outcome.value;
    Ok(Passed {
        report: outcome.report,
        peers,
        ops,
    })
}

fn check_determinism<Fut>(
    options: &Options,
    seed: u64,
    body: &Arc<Body<Fut>>,
) -> Result<Passed, Failed>
where
    Fut: Future<Output = ()> + 'static,
{
    let first = run_seed_with(options, seed, TraceMode::Full, body);
    let second = run_seed_with(options, seed, TraceMode::Full, body);
    let (a, b) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) if a.report.trace_hash == b.report.trace_hash => {
            return Err(failed(seed, &a));
        }
        (Err(failure), _) | (_, Err(failure)) => {
            let mut failure = failed(seed, &failure);
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
    let _ = write!(message, "{}", replay_command(seed));
    Err(Failed {
        seed,
        message,
        virtual_time: a.report.virtual_time.max(b.report.virtual_time),
    })
}

fn failed(seed: u64, failure: &Failure) -> Failed {
    let report = &failure.report;
    let mut message = format!(
        "FAILED with seed {seed} at virtual time {:.6}s: {}\n",
        report.virtual_time.as_secs_f64(),
        failure.error
    );
    if let Some(trace) = &report.trace
        && !trace.is_empty()
    {
        let _ = writeln!(message, "Last events (virtual time, node, event):");
        for event in trace.recent() {
            let _ = writeln!(message, "  {}", event.display(&report.nodes));
        }
    }
    let _ = write!(message, "{}", replay_command(seed));
    Failed {
        seed,
        message,
        virtual_time: report.virtual_time,
    }
}

/// The one command that replays this test with this seed.
fn replay_command(seed: u64) -> String {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<package>".into());
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .and_then(|stem| stem.rsplit_once('-').map(|(name, _)| name.to_string()));
    let target = match target {
        Some(name) if name == package.replace('-', "_") => " --lib".to_string(),
        Some(name) => format!(" --test {name}"),
        None => String::new(),
    };
    format!(
        "Replay exactly this run (add RUST_LOG=debug to see log lines):\n  \
         LAB_SEED={seed} cargo test -p {package}{target} -- --exact {}\n",
        test_name()
    )
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<test name>")
        .to_string()
}

/// Prints past the test harness's output capture, so passing tests show their summary.
/// (Standard output, like libtest's own lines, so the two never interleave mid-line.)
fn print_uncaptured(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Runs `f` for each seed, on up to one thread per core, keeping the seeds' order. The
/// threads carry the test's name, which reports and the replay command use.
fn run_seeds<T: Send>(seeds: &[u64], name: &str, f: impl Fn(u64) -> T + Sync) -> Vec<T> {
    if seeds.len() <= 1 {
        return seeds.iter().map(|&s| f(s)).collect();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(seeds.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<parking_lot::Mutex<Option<T>>> = seeds
        .iter()
        .map(|_| parking_lot::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let worker = || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    *results[i].lock() = Some(f(seed));
                }
            };
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn_scoped(scope, worker)
                .expect("cannot start a thread for the seeds");
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().expect("every seed ran"))
        .collect()
}

struct Settings {
    first_seed: u64,
    seeds: u64,
    check_determinism: bool,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        Ok(Settings {
            first_seed: env_u64("LAB_SEED")?.unwrap_or(DEFAULT_SEED),
            seeds: env_u64("LAB_SEEDS")?.unwrap_or(1).max(1),
            check_determinism: std::env::var("LAB_CHECK_DETERMINISM")
                .is_ok_and(|v| !v.is_empty() && v != "0"),
        })
    }
}

fn env_u64(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={value:?} is not a number")),
    }
}
