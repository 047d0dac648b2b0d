//! Search tests: every schedule of a small scenario, within bounds, instead of one per seed.
//!
//! A search test's scenario runs in labrpc's search mode ([`labrpc::sim::search`]): messages
//! wait until a chooser delivers or drops them, and whenever no task can run the chooser picks
//! the next step (deliver, drop, fire the next timer, or a scenario action such as a crash).
//! [`run`] runs the scenario again and again, one schedule per run, with one of three
//! strategies:
//!
//! - **depth-first** (the default): every schedule of the first `depth` decisions, with
//!   partial-order reduction (sleep sets: two steps that touch different nodes are tried in
//!   one order only). Stateless (it keeps no states, so "exhausted" is never claimed wrongly);
//! - **random**: seeded random walks (`LAB_SEED` picks the walks);
//! - **PCT**: random priorities with a few priority changes, which finds a bug that needs
//!   `d` ordered steps with probability at least 1/(n·k^(d-1)) per run.
//!
//! A scenario names its invariants (checked at every choice point), its goal (checked at its
//! end) and its prunes (branches not worth searching further: [`labrpc::sim::search::prune`]).
//! There is no state deduplication: a search that says it exhausted its space ran every
//! schedule of it. `LAB_SEARCH_POR=0` turns partial-order reduction off, to measure it.
//!
//! The budget counts schedules, not seconds, so a verdict is the same on every machine. After
//! the decisions run out, a run takes the default steps (deliver the oldest message; fire the
//! next timer when none is pending) until the scenario ends, so goals at the end still see a
//! whole run.
//!
//! A failing schedule is minimised (choices removed while the same check still fails), told
//! as a numbered story, and saved as a choice file; `LAB_CHOICES=FILE` replays it exactly.
//!
//! ```no_run
//! use labtest::search::{Bounds, Search};
//! let bounds = Bounds { depth: 8, drops: 1, holds: 1, actions: 0, deviations: u32::MAX };
//! labtest::search::run(Search::new(bounds, 20_000), |cx| async move {
//!     cx.set_peers(3);
//!     // build a cluster, register invariants with labrpc::sim::search::invariant,
//!     // sleep to the scenario's end, check its goal
//! });
//! ```

mod driver;
mod shrink;
mod story;

use crate::record::RunRecord;
use crate::runner::{Replay, TestCx};
use driver::{Driver, Mode, Taken};
use labrpc::sim::{DetRng, Sim, SimError, TraceMode};
use parking_lot::Mutex;
use std::future::Future;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The bounds of a search's space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Decisions per run (choice points with more than one allowed option); past them a run
    /// takes the default steps.
    pub depth: usize,
    /// Messages a run may drop.
    pub drops: u32,
    /// Times a run may fire a timer while messages are pending (holding them past it).
    pub holds: u32,
    /// Scenario actions (crashes, restarts) a run may take.
    pub actions: u32,
    /// Choices other than the default a run may make, in all (`u32::MAX`: as many as the
    /// other bounds allow). A small number explores whole runs that differ from the default
    /// schedule in a few places (delay bounding), rather than every schedule of a prefix.
    pub deviations: u32,
}

/// How a search picks its schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first, exhaustive within the bounds, with partial-order reduction.
    Dfs,
    /// Seeded random walks.
    Random,
    /// Priority-based (PCT) with this many priority changes.
    Pct(usize),
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Strategy::Dfs => f.write_str("dfs"),
            Strategy::Random => f.write_str("random"),
            Strategy::Pct(d) => write!(f, "pct{d}"),
        }
    }
}

/// A search test's settings.
#[derive(Clone, Debug)]
pub struct Search {
    /// The space.
    pub bounds: Bounds,
    /// Most schedules to run.
    pub budget: u64,
    /// The strategy (`LAB_SEARCH=dfs|random|pct` overrides it).
    pub strategy: Strategy,
    /// Virtual time limit of one run.
    pub time_limit: Duration,
    /// Partial-order reduction (on by default; off only to measure what it saves).
    pub por: bool,
}

impl Search {
    /// A depth-first search within `bounds`, at most `budget` schedules, 60 s of virtual time
    /// per run.
    pub fn new(bounds: Bounds, budget: u64) -> Search {
        Search {
            bounds,
            budget,
            strategy: Strategy::Dfs,
            time_limit: Duration::from_secs(60),
            por: true,
        }
    }
}

/// What a search covered.
#[derive(Clone, Debug)]
pub struct Coverage {
    /// The strategy.
    pub strategy: Strategy,
    /// Schedules run.
    pub schedules: u64,
    /// Of them, runs that partial-order reduction found to repeat covered schedules.
    pub redundant: u64,
    /// Of them, runs a scenario's prune cut short.
    pub pruned: u64,
    /// The most decisions one run made.
    pub deepest: usize,
    /// True if depth-first search ran every schedule of the bounded space.
    pub exhausted: bool,
    /// True if the search stopped at a failing schedule.
    pub failed: bool,
    /// Depth-first: schedules of the last, deepest round (once exhausted, the size of the
    /// bounded space after partial-order reduction).
    pub last_round: u64,
    /// Real time taken.
    pub wall: Duration,
}

impl Coverage {
    /// "dfs exhausted the bounded space: 1,234 schedules (56 redundant), deepest 8 decisions".
    pub fn line(&self, bounds: &Bounds) -> String {
        let verdict = if self.failed {
            "found a failing schedule".to_string()
        } else if self.exhausted {
            format!(
                "exhausted the bounded space ({} schedules deep)",
                self.last_round
            )
        } else if self.strategy == Strategy::Dfs {
            format!(
                "stopped at its budget while searching {} decisions deep",
                self.deepest
            )
        } else {
            "sampled the space".to_string()
        };
        format!(
            "{} {verdict} (bounds: depth {}, {} drop(s), {} hold(s), {} action(s), {}): {} \
             schedules in all ({} cut short by partial-order reduction, {} by the scenario's \
             prunes), deepest {} decisions, {:.1}s, {:.0} schedules/s",
            self.strategy,
            bounds.depth,
            bounds.drops,
            bounds.holds,
            bounds.actions,
            if bounds.deviations == u32::MAX {
                "any number of deviations".to_string()
            } else {
                format!("{} deviation(s)", bounds.deviations)
            },
            self.schedules,
            self.redundant,
            self.pruned,
            self.deepest,
            self.wall.as_secs_f64(),
            self.schedules as f64 / self.wall.as_secs_f64().max(1e-9),
        )
    }
}

/// A failing schedule.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The check that failed (the same after minimising): an invariant's name or a check's
    /// source location.
    pub check: String,
    /// The failure's message.
    pub message: String,
    /// The choice list, every choice point in order.
    pub(crate) taken: Vec<Taken>,
}

impl Counterexample {
    /// Choice points before the failure.
    pub fn len(&self) -> usize {
        self.taken.len()
    }

    /// True if the run failed before its first choice.
    pub fn is_empty(&self) -> bool {
        self.taken.is_empty()
    }

    /// Choices other than the default (drops, holds, deliveries out of order, actions).
    pub fn deviations(&self) -> usize {
        self.taken.iter().filter(|t| !t.default).count()
    }

    /// The choice file's text, for a run of `test` with `seed`.
    pub fn choice_file(&self, test: &str, seed: u64) -> String {
        story::choice_file(test, seed, &self.taken)
    }
}

/// What a search found.
#[derive(Debug)]
pub struct Found {
    /// What was covered.
    pub coverage: Coverage,
    /// The first failing schedule, minimised, and the one found before minimising.
    pub failure: Option<(Counterexample, Counterexample)>,
}

type Scenario<Fut> = dyn Fn(TestCx) -> Fut + Send + Sync;

/// The outcome of one run.
pub(crate) struct RunResult {
    pub(crate) failure: Option<(String, String)>,
    pub(crate) driver: Driver,
}

/// The settings from the environment.
#[derive(Debug)]
struct Settings {
    por: bool,
    strategy: Option<Strategy>,
    budget: Option<u64>,
    seed: u64,
    choices: Option<PathBuf>,
}

fn settings() -> Result<Settings, String> {
    parse_settings(|name| std::env::var(name).ok())
}

fn parse_settings(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    let strategy = match var("LAB_SEARCH").as_deref() {
        None => None,
        Some("dfs") => Some(Strategy::Dfs),
        Some("random") => Some(Strategy::Random),
        Some("pct") => Some(Strategy::Pct(3)),
        Some(other) => match other.strip_prefix("pct").map(str::parse) {
            Some(Ok(d)) => Some(Strategy::Pct(d)),
            _ => {
                return Err(format!(
                    "LAB_SEARCH={other}: expected dfs, random, pct or pct<d> (pct2, pct3, ...)"
                ));
            }
        },
    };
    let number = |name: &str| -> Result<Option<u64>, String> {
        match var(name) {
            None => Ok(None),
            Some(v) => match v.parse::<u64>() {
                Ok(0) | Err(_) => Err(format!("{name}={v}: expected a positive whole number")),
                Ok(n) => Ok(Some(n)),
            },
        }
    };
    let por = match var("LAB_SEARCH_POR").as_deref() {
        None | Some("1") => true,
        Some("0") => false,
        Some(other) => {
            return Err(format!(
                "LAB_SEARCH_POR={other}: expected 0 (no partial-order reduction) or 1"
            ));
        }
    };
    Ok(Settings {
        por,
        strategy,
        budget: number("LAB_SEARCH_BUDGET")?,
        seed: number("LAB_SEED")?.unwrap_or(crate::DEFAULT_SEED),
        choices: var("LAB_CHOICES").map(PathBuf::from),
    })
}

/// Runs a search test: searches the scenario's schedules with the test's settings (or the
/// environment's: `LAB_SEARCH`, `LAB_SEARCH_BUDGET`, `LAB_SEED`), prints what it covered, and
/// panics with the minimised story, its choice file and the command that replays it if a
/// schedule fails. With `LAB_CHOICES=FILE` it replays that choice file instead and tells its
/// story.
#[track_caller]
pub fn run<F, Fut>(search: Search, scenario: F)
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let caller = Location::caller();
    crate::logger::init();
    let settings = settings().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        search.budget > 0 && search.bounds.depth > 0,
        "search: a budget of {} schedules and a depth of {} decisions search nothing",
        search.budget,
        search.bounds.depth
    );
    let name = crate::runner::test_name();
    let replay = Replay::new(caller, &name, false);
    let scenario: Arc<Scenario<Fut>> = Arc::new(scenario);
    if let Some(path) = &settings.choices {
        replay_file(&search, &scenario, path, &name);
        return;
    }
    let mut search = search;
    if let Some(strategy) = settings.strategy {
        search.strategy = strategy;
    }
    if let Some(budget) = settings.budget {
        search.budget = budget;
    }
    search.por &= settings.por;
    let found = explore(&search, settings.seed, &scenario);
    crate::runner::print_uncaptured(&format!(
        "search {name}: {}",
        found.coverage.line(&search.bounds)
    ));
    if let Some(path) = crate::runner::result_file() {
        let wall = found.coverage.wall;
        // A search is one run of the test, not one per seed (the grader runs it once).
        let record = match &found.failure {
            None => RunRecord::passed(&name, None, None, wall),
            Some((minimised, _)) => RunRecord::failed(&name, None, None, wall, &minimised.message),
        };
        crate::record::append_result(path, &record);
    }
    if let Some((minimised, original)) = found.failure {
        let path = save(&name, settings.seed, &minimised);
        let story = story::tell(&minimised.taken);
        panic!(
            "search {name} failed: {}\n  (check: {})\nFound by {} after {} schedules; minimised \
             from {} steps ({} chosen off the default) to {} steps ({} chosen).\n\nThe story \
             (numbered choices; each node's state is shown when it changes):\n{story}\nChoice \
             file: {}\nReplay exactly this run (add RUST_LOG={}=debug to see your log lines):\n  \
             LAB_CHOICES={} {}\n",
            minimised.message,
            minimised.check,
            search.strategy,
            found.coverage.schedules,
            original.len(),
            original.deviations(),
            minimised.len(),
            minimised.deviations(),
            path.display(),
            replay.package(),
            path.display(),
            replay.cargo_command(),
        );
    }
}

/// Searches `scenario`'s schedules; returns what was covered and the first failure, minimised.
pub fn search<F, Fut>(search: &Search, seed: u64, scenario: F) -> Found
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let scenario: Arc<Scenario<Fut>> = Arc::new(scenario);
    explore(search, seed, &scenario)
}

fn explore<Fut>(search: &Search, seed: u64, scenario: &Arc<Scenario<Fut>>) -> Found
where
    Fut: Future<Output = ()> + 'static,
{
    let started = std::time::Instant::now();
    let mut coverage = Coverage {
        strategy: search.strategy,
        schedules: 0,
        redundant: 0,
        pruned: 0,
        deepest: 0,
        exhausted: false,
        failed: false,
        last_round: 0,
        wall: Duration::ZERO,
    };
    // Depth-first search deepens iteratively (depth 1, 2, ... up to the bound), so that the
    // first failure found is one of the fewest decisions.
    let mut depth = if search.strategy == Strategy::Dfs {
        1
    } else {
        search.bounds.depth
    };
    let mut deepest_this_round = 0;
    let mut dfs = Some(driver::Dfs::default());
    let mut failure = None;
    while coverage.schedules < search.budget {
        let walk = coverage.schedules;
        let mode = match search.strategy {
            Strategy::Dfs => Mode::Dfs(dfs.take().expect("the stack is back")),
            Strategy::Random => Mode::Random(DetRng::derive(seed, &[0x5ea, walk])),
            Strategy::Pct(d) => Mode::Pct(driver::Pct::new(seed, walk, d, search.bounds.depth)),
        };
        let bounds = Bounds {
            depth,
            ..search.bounds
        };
        let mut driver = Driver::new(bounds, mode, false);
        driver.por = search.por;
        let result = run_once(search, seed, scenario, driver);
        coverage.schedules += 1;
        coverage.last_round += 1;
        coverage.deepest = coverage.deepest.max(result.driver.decisions);
        deepest_this_round = deepest_this_round.max(result.driver.decisions);
        if result.driver.redundant {
            coverage.redundant += 1;
        }
        if result.driver.pruned.is_some() {
            coverage.pruned += 1;
        }
        if let Some((check, message)) = result.failure {
            // Its whole choice list (past the decisions, the run took defaults unrecorded).
            let labels = result
                .driver
                .taken
                .iter()
                .map(|t| t.label.clone())
                .collect();
            let whole = replay(search, seed, scenario, labels);
            let taken = match whole.failure {
                Some((again, _)) if again == check => whole.driver.taken,
                _ => result.driver.taken,
            };
            let original = Counterexample {
                check,
                message,
                taken,
            };
            let minimised = shrink::minimise(search, seed, scenario, &original);
            failure = Some((minimised, original));
            coverage.failed = true;
            break;
        }
        if let Mode::Dfs(mut stack) = result.driver.mode {
            if stack.backtrack() {
                dfs = Some(stack);
            } else if depth < search.bounds.depth && deepest_this_round == depth {
                // This depth is exhausted: search again one decision deeper.
                depth += 1;
                deepest_this_round = 0;
                coverage.last_round = 0;
                dfs = Some(driver::Dfs::default());
            } else {
                // No run had a decision left beyond this depth: deeper bounds add nothing.
                coverage.exhausted = true;
                break;
            }
        }
    }
    coverage.wall = started.elapsed();
    Found { coverage, failure }
}

/// Runs one schedule.
pub(crate) fn run_once<Fut>(
    search: &Search,
    seed: u64,
    scenario: &Arc<Scenario<Fut>>,
    driver: Driver,
) -> RunResult
where
    Fut: Future<Output = ()> + 'static,
{
    let chooser = Arc::new(Mutex::new(driver));
    let body = scenario.clone();
    let outcome = Sim::new(seed)
        .time_limit(search.time_limit)
        .trace(TraceMode::Recent)
        .search(chooser.clone())
        .run(move || body(TestCx::with_seed(seed)));
    let failure = outcome
        .err()
        .map(|f| (check_of(&f.error), f.error.to_string()));
    let driver = Arc::try_unwrap(chooser)
        .ok()
        .expect("the simulation is over")
        .into_inner();
    RunResult { failure, driver }
}

/// Which check a failure is: an invariant's name, or where the panic was.
fn check_of(error: &SimError) -> String {
    match error {
        SimError::Panic { task, location, .. } if task.starts_with("invariant ") => task.clone(),
        SimError::Panic { location, .. } => format!("panic at {location}"),
        SimError::Deadlock { .. } => "deadlock".into(),
        SimError::TimeLimit { .. } => "time limit".into(),
        SimError::Stalled { .. } => "watchdog (stalled)".into(),
        SimError::BusyLoop { .. } => "watchdog (busy loop)".into(),
        SimError::Internal(_) => "internal".into(),
    }
}

/// Where a failing search saves its choice file: `target/search/<test>.choices` of the
/// workspace (or of the current directory).
fn save(test: &str, seed: u64, counterexample: &Counterexample) -> PathBuf {
    let dir = crate::runner::target_dir().join("search");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{test}.choices"));
    if let Err(e) = std::fs::write(&path, counterexample.choice_file(test, seed)) {
        eprintln!("search: cannot write {}: {e}", path.display());
    }
    path
}

/// Replays a choice file strictly and prints its story; panics with the failure it
/// reproduces (or if the file cannot be read or does not match the code). Records the outcome
/// for the course tool like a search does.
fn replay_file<Fut>(search: &Search, scenario: &Arc<Scenario<Fut>>, path: &Path, name: &str)
where
    Fut: Future<Output = ()> + 'static,
{
    let started = std::time::Instant::now();
    let outcome = replay_outcome(search, scenario, path, name);
    if let Some(file) = crate::runner::result_file() {
        let wall = started.elapsed();
        let record = match &outcome {
            Ok(_) => RunRecord::passed(name, None, None, wall),
            Err(message) => RunRecord::failed(name, None, None, wall, message),
        };
        crate::record::append_result(file, &record);
    }
    match outcome {
        Ok(told) => crate::runner::print_uncaptured(&told),
        Err(message) => panic!("{message}"),
    }
}

/// What replaying a choice file tells: `Ok` with the story of a run that passed, `Err` with
/// the failure and its story, or why the file could not be replayed.
fn replay_outcome<Fut>(
    search: &Search,
    scenario: &Arc<Scenario<Fut>>,
    path: &Path,
    name: &str,
) -> Result<String, String>
where
    Fut: Future<Output = ()> + 'static,
{
    let file = path.display();
    // cargo runs a test in its package's folder; a relative path may be the workspace's.
    let workspace = crate::runner::target_dir()
        .parent()
        .map(|root| root.join(path));
    let path = match workspace {
        Some(resolved) if path.is_relative() && !path.exists() && resolved.exists() => resolved,
        _ => path.to_path_buf(),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("LAB_CHOICES={file}: {e}"))?;
    let (seed, labels) =
        story::parse(&text, name).map_err(|e| format!("LAB_CHOICES={file}: {e}"))?;
    let result = replay(search, seed, scenario, labels);
    let story = story::tell(&result.driver.taken);
    if let Some(label) = &result.driver.mismatch {
        return Err(format!(
            "LAB_CHOICES={file}: this run does not follow the file: \"{label}\" was not offered \
             when its turn came (the code or the scenario changed since the file was saved).\n\
             What the run did:\n{story}"
        ));
    }
    match result.failure {
        Some((check, message)) => Err(format!(
            "replayed {file}: {message}\n  (check: {check})\n\nThe story:\n{story}"
        )),
        None => Ok(format!(
            "replayed {file}: the run passed.\nThe story:\n{story}"
        )),
    }
}

/// Replays a list of labels strictly, recording each node's state for the story.
pub(crate) fn replay<Fut>(
    search: &Search,
    seed: u64,
    scenario: &Arc<Scenario<Fut>>,
    labels: Vec<String>,
) -> RunResult
where
    Fut: Future<Output = ()> + 'static,
{
    let mode = Mode::Script {
        labels: labels.into(),
    };
    run_once(
        search,
        seed,
        scenario,
        Driver::new(search.bounds, mode, true),
    )
}

/// Replays a choice file's text in-process: the failure it reproduces (check, message), and
/// its story. For tests of the search itself, which run the printed command's equivalent.
pub fn replay_text<F, Fut>(
    search: &Search,
    text: &str,
    test: &str,
    scenario: F,
) -> Result<(Option<(String, String)>, String), String>
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let (seed, labels) = story::parse(text, test)?;
    let scenario: Arc<Scenario<Fut>> = Arc::new(scenario);
    let result = replay(search, seed, &scenario, labels);
    if let Some(label) = result.driver.mismatch {
        return Err(format!("\"{label}\" was not offered when its turn came"));
    }
    Ok((result.failure, story::tell(&result.driver.taken)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, String> {
        parse_settings(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn settings_name_the_bad_switch() {
        let bad = |vars: &[(&str, &str)]| parse(vars).expect_err("rejected");
        assert!(bad(&[("LAB_SEARCH", "bfs")]).contains("LAB_SEARCH=bfs"));
        assert!(bad(&[("LAB_SEARCH", "pctx")]).contains("pct<d>"));
        assert!(bad(&[("LAB_SEARCH_BUDGET", "0")]).contains("LAB_SEARCH_BUDGET=0"));
        assert!(bad(&[("LAB_SEARCH_BUDGET", "many")]).contains("positive"));
        assert!(bad(&[("LAB_SEARCH_POR", "off")]).contains("LAB_SEARCH_POR=off"));
        assert!(!parse(&[("LAB_SEARCH_POR", "0")]).expect("valid").por);
        let ok = parse(&[("LAB_SEARCH", "pct2"), ("LAB_SEARCH_BUDGET", "10")]).expect("valid");
        assert_eq!(ok.strategy, Some(Strategy::Pct(2)));
        assert_eq!(ok.budget, Some(10));
        assert_eq!(parse(&[]).expect("defaults").seed, crate::DEFAULT_SEED);
    }

    #[test]
    fn choice_files_are_checked() {
        let taken = |label: &str| Taken {
            label: label.to_string(),
            default: true,
            detail: String::new(),
            at: labrpc::sim::Instant::ZERO,
            pending: 0,
            states: Vec::new(),
        };
        let text = story::choice_file(
            "some_test",
            7,
            &[taken("fire"), taken("deliver a->b X.Y #0")],
        );
        let (seed, labels) = story::parse(&text, "some_test").expect("parses");
        assert_eq!(seed, 7);
        assert_eq!(labels, ["fire", "deliver a->b X.Y #0"]);
        assert!(
            story::parse(&text, "other_test")
                .unwrap_err()
                .contains("some_test")
        );
        assert!(
            story::parse("fire\n", "some_test")
                .unwrap_err()
                .contains("not a choice file")
        );
        let empty = story::choice_file("some_test", 1, &[]);
        let seedless = text.replace("# seed 7\n", "");
        assert!(
            story::parse(&seedless, "some_test")
                .unwrap_err()
                .contains("seed")
        );
        assert!(
            story::parse(&empty, "some_test")
                .unwrap_err()
                .contains("no choices")
        );
    }
}
