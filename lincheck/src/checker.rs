//! The checker: Wing & Gong's search with Lowe's just-in-time linearization, a cache of
//! (linearized set, state) pairs, partitions checked in parallel; partitions of log-like
//! models go through the log analysis first ([`super::log_analysis`]).

use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::history::{History, Operation};
use super::log_analysis::{self, LogState, LogSummary};
use super::model::Model;
// States are hashed with rustc-hash's Fx hasher, for speed alone: no outcome depends on a hash
// value (a state's id is the order it was first met in, lookups compare whole keys, and no
// table is iterated), so verdicts and step counts are the same under any hasher.
use rustc_hash::FxBuildHasher;

/// How to run a check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Give up with [`Verdict::Unknown`] after this long (`None`: never). Wall-clock time
    /// depends on the machine: graded tests use [`max_steps`](Options::max_steps) instead.
    pub timeout: Option<Duration>,
    /// Give up with [`Verdict::Unknown`] when the search caches of all partitions together
    /// would hold more than about this many bytes (`None`: no limit). The default is
    /// [`default_memory_budget`]; the process's resident memory stays within about 1.5 times
    /// the budget plus the history itself.
    pub memory_budget: Option<usize>,
    /// Give up on a partition with [`Verdict::Unknown`] after this many model steps in it
    /// (`None`: no limit). Deterministic: the same history and budget always give the same
    /// verdict, on any machine and with any number of threads.
    pub max_steps: Option<u64>,
    /// Worker threads for the partitions (0: as many as the machine has cores, but one for a
    /// history of at most 1000 operations, where starting threads costs more than it saves).
    pub threads: usize,
    /// Split the history with [`Model::partition`] (default `true`); `false` checks the whole
    /// history as one part.
    pub partition: bool,
    /// Stop checking the other partitions as soon as one is found not linearizable (they are
    /// then reported [`UnknownReason::Stopped`]). Default `true`: a failing partition can take
    /// exponential time to refute, and one failure decides the verdict.
    pub stop_on_failure: bool,
    /// Decide partitions of log-like models ([`Model::log_access`]) whose written values are
    /// unique with the log analysis (default `true`); `false` always uses the general search
    /// (the analysis's oracle in tests).
    pub log_analysis: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: None,
            memory_budget: Some(default_memory_budget()),
            max_steps: None,
            threads: 0,
            partition: true,
            stop_on_failure: true,
            log_analysis: true,
        }
    }
}

impl Options {
    /// Default options with a timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Options {
            timeout: Some(timeout),
            ..Options::default()
        }
    }

    /// Deterministic options for graded tests: each partition may take `max_steps` model
    /// steps (see [`DEFAULT_STEP_BUDGET`]); no timeout; partitions are checked one after the
    /// other under a fixed memory budget of [`GRADED_MEMORY_BUDGET`], so that neither thread
    /// timing nor the machine's memory size can change a verdict.
    pub fn with_step_budget(max_steps: u64) -> Self {
        Options {
            max_steps: Some(max_steps),
            memory_budget: Some(GRADED_MEMORY_BUDGET),
            threads: 1,
            ..Options::default()
        }
    }
}

/// A step budget per partition for graded tests ([`Options::with_step_budget`]). What the
/// log analysis needs grows with operations times concurrent clients: 7,000 steps for a
/// 2,000-operation partition of 20 clients, 2 million for 50,000 operations of 100 clients on
/// one key; a general search that cannot decide reaches it within about a second, holding
/// at most about 450 MB (see `BENCHMARKS.md`), well inside [`GRADED_MEMORY_BUDGET`].
pub const DEFAULT_STEP_BUDGET: u64 = 2_000_000;

/// The memory budget of [`Options::with_step_budget`]: the same on every machine.
pub const GRADED_MEMORY_BUDGET: usize = 1 << 30;

/// The default memory budget of a check: a quarter of the machine's memory (or of the
/// control group's limit, when lower), at most 1 GiB; 1 GiB when the memory size is unknown.
pub fn default_memory_budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        const CAP: usize = 1 << 30;
        let limit = [physical_memory(), cgroup_memory_limit()]
            .into_iter()
            .flatten()
            .min();
        limit.map_or(CAP, |bytes| (bytes / 4).min(CAP))
    })
}

/// Total physical memory in bytes, on Linux (`/proc/meminfo`).
fn physical_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit of this process's control group (cgroup v2), if any.
fn cgroup_memory_limit() -> Option<usize> {
    std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every partition has a linearization.
    Linearizable,
    /// Some partition has none.
    NotLinearizable,
    /// The check gave up (timeout, memory or step budget) before deciding.
    Unknown,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not linearizable",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Why a partition's check gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownReason {
    /// The timeout passed.
    Timeout,
    /// The memory budget would have been exceeded.
    MemoryBudget,
    /// The step budget ([`Options::max_steps`]) was used up.
    StepBudget,
    /// Another partition failed and [`Options::stop_on_failure`] was set.
    Stopped,
}

impl std::fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnknownReason::Timeout => "timeout",
            UnknownReason::MemoryBudget => "memory budget reached",
            UnknownReason::StepBudget => "step budget used up",
            UnknownReason::Stopped => "stopped: another partition is not linearizable",
        })
    }
}

/// The outcome of one partition. Operation numbers are indices into the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionOutcome {
    /// A linearization: the operations in the order they take effect. Operations of unknown
    /// outcome that are absent never took effect (or took effect after everything else).
    Linearizable {
        /// The order.
        order: Vec<usize>,
    },
    /// No linearization exists.
    NotLinearizable {
        /// The longest sequence of operations the search could linearize from the start.
        longest_prefix: Vec<usize>,
        /// After that prefix, the operations that were candidates to come next (all called
        /// before the earliest return of the remaining operations), none of which works.
        stuck: Vec<usize>,
    },
    /// The search gave up.
    Unknown {
        /// Why.
        reason: UnknownReason,
        /// The longest prefix linearized so far.
        longest_prefix: Vec<usize>,
    },
}

/// What decided a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// The general search on the model's states.
    Search {
        /// Why the log analysis did not apply, when the model is log-like
        /// ([`Model::log_access`]) and the analysis was on.
        log_analysis_skipped: Option<String>,
    },
    /// The log analysis, then a search on its summary of the state (see
    /// `docs/linearizability.md`).
    LogAnalysis(LogSummary),
}

/// The result for one partition.
#[derive(Clone, Debug)]
pub struct PartitionResult {
    /// The partition's operations (indices into the history, in history order).
    pub ops: Vec<usize>,
    /// What the search found.
    pub outcome: PartitionOutcome,
    /// What decided it.
    pub method: Method,
    /// Model steps taken.
    pub steps: u64,
    /// Entries in the search cache at the end.
    pub cache_entries: usize,
    /// Approximate bytes of the search cache at its largest.
    pub cache_bytes: usize,
    /// Time spent on this partition.
    pub elapsed: Duration,
}

impl PartitionResult {
    /// The verdict of this partition alone.
    pub fn verdict(&self) -> Verdict {
        match self.outcome {
            PartitionOutcome::Linearizable { .. } => Verdict::Linearizable,
            PartitionOutcome::NotLinearizable { .. } => Verdict::NotLinearizable,
            PartitionOutcome::Unknown { .. } => Verdict::Unknown,
        }
    }
}

/// The result of a check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The overall verdict: not linearizable if any partition is not, else unknown if any
    /// partition gave up, else linearizable.
    pub verdict: Verdict,
    /// Per partition (in the order of [`Model::partition`]; empty partitions are left out).
    pub partitions: Vec<PartitionResult>,
    /// Wall-clock time of the whole check.
    pub elapsed: Duration,
}

impl CheckResult {
    /// Total model steps over all partitions.
    pub fn steps(&self) -> u64 {
        self.partitions.iter().map(|p| p.steps).sum()
    }

    /// Total cache bytes over all partitions (approximate, each at its largest).
    pub fn cache_bytes(&self) -> usize {
        self.partitions.iter().map(|p| p.cache_bytes).sum()
    }

    /// Why the check gave up, when its verdict is [`Verdict::Unknown`]: the reason of the
    /// first partition that gave up for a reason of its own (not [`UnknownReason::Stopped`]).
    pub fn unknown_reason(&self) -> Option<UnknownReason> {
        if self.verdict != Verdict::Unknown {
            return None;
        }
        self.partitions.iter().find_map(|p| match p.outcome {
            PartitionOutcome::Unknown { reason, .. } if reason != UnknownReason::Stopped => {
                Some(reason)
            }
            _ => None,
        })
    }
}

/// Checks `history` against `model`.
pub fn check<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    options: &Options,
) -> CheckResult {
    let start = Instant::now();
    let ops = history.operations();
    let parts: Vec<Vec<usize>> = if options.partition {
        model.partition(ops)
    } else {
        vec![(0..ops.len()).collect()]
    };
    let mut parts: Vec<Vec<usize>> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    let mut seen = vec![false; ops.len()];
    for p in &mut parts {
        p.sort_unstable();
        for &i in p.iter() {
            assert!(
                i < ops.len() && !std::mem::replace(&mut seen[i], true),
                "Model::partition must split 0..{} into disjoint parts (bad index {i})",
                ops.len()
            );
        }
    }
    assert!(
        seen.iter().all(|&s| s),
        "Model::partition left operations out"
    );
    let shared = Shared {
        deadline: options.timeout.map(|t| start + t),
        memory_budget: options.memory_budget,
        memory_used: AtomicUsize::new(0),
        max_steps: options.max_steps,
        stop: AtomicBool::new(false),
        stop_on_failure: options.stop_on_failure,
        log_analysis: options.log_analysis,
    };
    // Biggest partitions first, so that the last one to finish is a small one.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i].len()));
    let threads = if options.threads == 0 {
        // Starting threads costs more than checking a small history.
        if ops.len() <= SMALL_HISTORY {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    } else {
        options.threads
    }
    .clamp(1, parts.len().max(1));
    let results: Vec<Mutex<Option<PartitionResult>>> =
        parts.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut worker: Worker<'_, M::State> = Worker::new(&shared);
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break };
            let r = check_partition(model, ops, &parts[i], &mut worker);
            if r.verdict() == Verdict::NotLinearizable && shared.stop_on_failure {
                shared.stop.store(true, Ordering::Relaxed);
            }
            *results[i].lock() = Some(r);
        }
        worker.meter.release();
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let partitions: Vec<PartitionResult> = results
        .into_iter()
        .map(|m| m.into_inner().expect("every partition checked"))
        .collect();
    let verdict = if partitions
        .iter()
        .any(|p| p.verdict() == Verdict::NotLinearizable)
    {
        Verdict::NotLinearizable
    } else if partitions.iter().any(|p| p.verdict() == Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    };
    CheckResult {
        verdict,
        partitions,
        elapsed: start.elapsed(),
    }
}

/// With [`Options::threads`] = 0, histories up to this many operations use one thread.
const SMALL_HISTORY: usize = 1000;

/// What the workers of one check share.
struct Shared {
    deadline: Option<Instant>,
    memory_budget: Option<usize>,
    /// Bytes all workers hold in their search structures (each reports its own).
    memory_used: AtomicUsize,
    max_steps: Option<u64>,
    stop: AtomicBool,
    stop_on_failure: bool,
    log_analysis: bool,
}

/// One worker's share of the memory budget: it reports the bytes its structures hold (they
/// are kept across partitions, so they count until the worker ends).
struct Meter<'a> {
    shared: &'a Shared,
    reported: usize,
}

impl Meter<'_> {
    /// Records that this worker now holds `bytes`; whether all workers together exceed the
    /// budget.
    fn report(&mut self, bytes: usize) -> bool {
        let total = if bytes >= self.reported {
            self.shared
                .memory_used
                .fetch_add(bytes - self.reported, Ordering::Relaxed)
                + (bytes - self.reported)
        } else {
            self.shared
                .memory_used
                .fetch_sub(self.reported - bytes, Ordering::Relaxed)
                - (self.reported - bytes)
        };
        self.reported = bytes;
        self.shared.memory_budget.is_some_and(|b| total > b)
    }

    /// Whether holding `extra` more bytes would stay within the budget.
    fn allows(&self, extra: usize) -> bool {
        self.shared
            .memory_budget
            .is_none_or(|b| self.shared.memory_used.load(Ordering::Relaxed) + extra <= b)
    }

    /// The worker is done: its memory is freed.
    fn release(&mut self) {
        self.report(0);
    }
}

/// A worker thread's search structures, reused from one partition to the next (fewer page
/// faults than fresh ones).
struct Worker<'a, S> {
    shared: &'a Shared,
    visited: Visited,
    interner: Interner<S>,
    log_interner: Interner<LogState>,
    meter: Meter<'a>,
}

impl<'a, S: Eq> Worker<'a, S> {
    fn new(shared: &'a Shared) -> Self {
        Worker {
            shared,
            visited: Visited::new(),
            interner: Interner::new(),
            log_interner: Interner::new(),
            meter: Meter {
                shared,
                reported: 0,
            },
        }
    }
}

/// Checks one partition: with the log analysis when it applies, else (or when its answer
/// does not replay, which would be a bug) with the general search.
fn check_partition<M: Model>(
    model: &M,
    all_ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    worker: &mut Worker<'_, M::State>,
) -> PartitionResult {
    let start = Instant::now();
    let ops: Vec<&Operation<M::Input, M::Output>> = part.iter().map(|&i| &all_ops[i]).collect();
    let global = |local: Vec<usize>| local.into_iter().map(|o| part[o]).collect::<Vec<_>>();
    let to_global = |outcome: PartitionOutcome| match outcome {
        PartitionOutcome::Linearizable { order } => PartitionOutcome::Linearizable {
            order: global(order),
        },
        PartitionOutcome::NotLinearizable {
            longest_prefix,
            stuck,
        } => PartitionOutcome::NotLinearizable {
            longest_prefix: global(longest_prefix),
            stuck: global(stuck),
        },
        PartitionOutcome::Unknown {
            reason,
            longest_prefix,
        } => PartitionOutcome::Unknown {
            reason,
            longest_prefix: global(longest_prefix),
        },
    };
    let max_steps = worker.shared.max_steps.unwrap_or(u64::MAX);
    let mut steps_so_far = 0;
    let mut skipped = None;
    if worker.shared.log_analysis {
        match log_analysis::analyze(model, &ops) {
            Ok(plan) => {
                let plan_ops: Vec<&Operation<_, _>> = plan.ops.iter().collect();
                let forced: Vec<bool> = plan
                    .ops
                    .iter()
                    .map(|o| log_analysis::is_forced(&o.input))
                    .collect();
                // With a proof already in hand (impossible reads, order conflicts), the search
                // only looks for the report, within a small budget.
                let refuted = !plan.culprits.is_empty();
                let found = search(
                    &plan.model,
                    &plan_ops,
                    Some(&forced),
                    0,
                    if refuted {
                        REPORT_SEARCH_STEPS
                    } else {
                        max_steps
                    },
                    worker.shared,
                    &mut worker.visited,
                    &mut worker.log_interner,
                    &mut worker.meter,
                    worker.interner.bytes(),
                );
                steps_so_far = found.steps;
                // The replay is a linear check of the answer, not part of the search: its
                // steps are not counted.
                let outcome = match found.outcome {
                    PartitionOutcome::Linearizable { order }
                        if !refuted && replays(model, &ops, &order) =>
                    {
                        Some(PartitionOutcome::Linearizable { order })
                    }
                    PartitionOutcome::Linearizable { .. } => None,
                    PartitionOutcome::Unknown { longest_prefix, .. } if refuted => {
                        // No search found where it gets stuck within its budget: name the
                        // operations of the proof that are not in the prefix.
                        let mut in_prefix = vec![false; ops.len()];
                        for &o in &longest_prefix {
                            in_prefix[o] = true;
                        }
                        let stuck = plan
                            .culprits
                            .iter()
                            .copied()
                            .filter(|&o| !in_prefix[o])
                            .collect();
                        Some(PartitionOutcome::NotLinearizable {
                            longest_prefix,
                            stuck,
                        })
                    }
                    other => Some(other),
                };
                if let Some(mut outcome) = outcome {
                    if matches!(outcome, PartitionOutcome::NotLinearizable { .. }) {
                        // The analysis prunes early, so its longest prefix can stop short of
                        // the operation a reader would blame. The general search, when it can
                        // refute the partition within a small budget, gives the usual report.
                        let report = search(
                            model,
                            &ops,
                            None,
                            0,
                            REPORT_SEARCH_STEPS,
                            worker.shared,
                            &mut worker.visited,
                            &mut worker.interner,
                            &mut worker.meter,
                            worker.log_interner.bytes(),
                        );
                        steps_so_far += report.steps;
                        if matches!(report.outcome, PartitionOutcome::NotLinearizable { .. }) {
                            outcome = report.outcome;
                        }
                    }
                    return PartitionResult {
                        ops: part.to_vec(),
                        outcome: to_global(outcome),
                        method: Method::LogAnalysis(plan.summary),
                        steps: steps_so_far,
                        cache_entries: found.cache_entries,
                        cache_bytes: found.cache_bytes,
                        elapsed: start.elapsed(),
                    };
                }
                skipped = Some(
                    "its answer did not hold on the model (a bug: please report it)".to_string(),
                );
            }
            Err(why) => skipped = why,
        }
    }
    let found = search(
        model,
        &ops,
        None,
        steps_so_far,
        max_steps,
        worker.shared,
        &mut worker.visited,
        &mut worker.interner,
        &mut worker.meter,
        worker.log_interner.bytes(),
    );
    PartitionResult {
        ops: part.to_vec(),
        outcome: to_global(found.outcome),
        method: Method::Search {
            log_analysis_skipped: skipped,
        },
        steps: found.steps,
        cache_entries: found.cache_entries,
        cache_bytes: found.cache_bytes,
        elapsed: start.elapsed(),
    }
}

/// Steps a search may spend to find the report of a partition the log analysis refuted (the
/// longest prefix and the operations that cannot come next): the verdict does not depend on
/// it.
const REPORT_SEARCH_STEPS: u64 = 100_000;

/// Whether `order` (local operation numbers) is a linearization of `ops`: every completed
/// operation exactly once, no operation twice, real-time order respected, and every step
/// legal in the model.
fn replays<M: Model>(model: &M, ops: &[&Operation<M::Input, M::Output>], order: &[usize]) -> bool {
    let mut placed = vec![false; ops.len()];
    for &i in order {
        if i >= ops.len() || std::mem::replace(&mut placed[i], true) {
            return false;
        }
    }
    if ops.iter().zip(&placed).any(|(o, &p)| o.ret.is_some() && !p) {
        return false;
    }
    // An operation may not come after one that returned before it was called.
    let mut earliest_later_return = u64::MAX;
    for &i in order.iter().rev() {
        if earliest_later_return < ops[i].call {
            return false;
        }
        earliest_later_return = earliest_later_return.min(ops[i].ret.unwrap_or(u64::MAX));
    }
    let mut state = model.init();
    for &i in order {
        match model.step(&state, &ops[i].input, ops[i].output.as_ref()) {
            Some(next) => state = next,
            None => return false,
        }
    }
    true
}

/// What one search found (operation numbers local to the searched slice).
struct Found {
    outcome: PartitionOutcome,
    steps: u64,
    cache_entries: usize,
    cache_bytes: usize,
}

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;
const RET_BIT: u32 = 1 << 31;

/// A node of the doubly linked list of call and return entries.
#[derive(Clone, Copy)]
struct Node {
    /// Local operation number; `RET_BIT` set for a return entry.
    op: u32,
    /// For a call entry: its return entry (or `NIL` for an operation of unknown outcome).
    ret: u32,
    prev: u32,
    next: u32,
}

/// The distinct model states met by the search, each with a small id (so that the set of
/// visited (linearized set, state) pairs compares integers, not states).
struct Interner<S> {
    states: Vec<S>,
    hashes: Vec<u64>,
    /// The previous table, kept to grow into.
    spare: Vec<u64>,
    /// 0: empty; else `(hash >> 32) << 32 | (index + 1)`.
    table: Vec<u64>,
    mask: usize,
    heap_bytes: usize,
}

impl<S: Eq> Interner<S> {
    fn new() -> Self {
        Interner {
            states: Vec::new(),
            hashes: Vec::new(),
            spare: Vec::new(),
            table: vec![0; 64],
            mask: 63,
            heap_bytes: 0,
        }
    }

    /// Empties the interner, keeping its memory.
    fn reset(&mut self) {
        self.states.clear();
        self.hashes.clear();
        self.table.clear();
        self.table.resize(64, 0);
        self.mask = 63;
        self.heap_bytes = 0;
    }

    /// Bytes held: every allocation's capacity, and the states' own heap memory.
    fn bytes(&self) -> usize {
        self.states.capacity() * std::mem::size_of::<S>()
            + (self.hashes.capacity() + self.table.capacity() + self.spare.capacity()) * 8
            + self.heap_bytes
    }

    /// Bytes the next new state may add by growing the tables (0 when they have room).
    fn growth_bytes(&self) -> usize {
        let mut extra = 0;
        if self.states.len() == self.states.capacity() {
            extra += self.states.capacity().max(4) * (std::mem::size_of::<S>() + 8);
        }
        if (self.states.len() + 1) * 2 > self.table.len() {
            extra += (self.table.len() * 2).saturating_sub(self.spare.capacity()) * 8;
        }
        extra
    }

    #[inline]
    fn intern(&mut self, state: S, hash: u64, heap: impl Fn(&S) -> usize) -> u32 {
        let tag = hash & 0xffff_ffff_0000_0000;
        let mut i = (hash as usize) & self.mask;
        loop {
            let slot = self.table[i];
            if slot == 0 {
                break;
            }
            if slot & 0xffff_ffff_0000_0000 == tag {
                let idx = (slot & 0xffff_ffff) as usize - 1;
                if self.states[idx] == state {
                    return idx as u32;
                }
            }
            i = (i + 1) & self.mask;
        }
        let idx = self.states.len();
        self.table[i] = tag | (idx as u64 + 1);
        self.heap_bytes += heap(&state);
        self.states.push(state);
        self.hashes.push(hash);
        if self.states.len() * 2 > self.table.len() {
            let len = self.table.len() * 2;
            let mask = len - 1;
            let mut table = std::mem::take(&mut self.spare);
            table.clear();
            table.resize(len, 0);
            for (k, &h) in self.hashes.iter().enumerate() {
                let mut j = (h as usize) & mask;
                while table[j] != 0 {
                    j = (j + 1) & mask;
                }
                table[j] = (h & 0xffff_ffff_0000_0000) | (k as u64 + 1);
            }
            self.spare = std::mem::replace(&mut self.table, table);
            self.mask = mask;
        }
        idx as u32
    }
}

/// The set of visited (linearized set, state id) pairs: open addressing with the keys inline
/// when short, one slot = `[hash, state id + 1 (0: empty) | key length << 32, key words...]`
/// (longer keys go to an arena, the slot then holding their offset), so that a lookup usually
/// touches a single cache line and never allocates.
struct Visited {
    inline: usize,
    stride: usize,
    slots: Vec<u64>,
    /// The previous table, kept to grow into without asking the system for fresh pages.
    spare: Vec<u64>,
    arena: Vec<u64>,
    mask: usize,
    len: usize,
}

impl Visited {
    fn new() -> Self {
        Visited {
            inline: 0,
            stride: 2,
            slots: Vec::new(),
            spare: Vec::new(),
            arena: Vec::new(),
            mask: 0,
            len: 0,
        }
    }

    /// Empties the set for keys of `inline` words, keeping the memory (a worker checks many
    /// partitions one after the other).
    fn reset(&mut self, inline: usize) {
        let cap = 64;
        self.inline = inline;
        self.stride = inline + 2;
        self.slots.clear();
        self.slots.resize(cap * self.stride, 0);
        self.arena.clear();
        self.mask = cap - 1;
        self.len = 0;
    }

    /// Bytes held (capacities, the spare table included).
    fn bytes(&self) -> usize {
        (self.slots.capacity() + self.spare.capacity() + self.arena.capacity()) * 8
    }

    /// Bytes the next insertion may add by growing the table (0 when it has room), plus the
    /// arena's growth when long keys go there.
    fn growth_bytes(&self) -> usize {
        let mut extra = 0;
        if (self.len + 1) * 2 > self.mask + 1 {
            extra += ((self.mask + 1) * 2 * self.stride).saturating_sub(self.spare.capacity()) * 8;
        }
        if self.arena.len() == self.arena.capacity() && !self.arena.is_empty() {
            extra += self.arena.capacity() * 8;
        }
        extra
    }

    /// Inserts the pair unless present; returns whether it is new.
    #[inline]
    fn insert(&mut self, hash: u64, sid: u32, key: &[u64]) -> bool {
        let tag = (sid as u64 + 1) | ((key.len() as u64) << 32);
        let stride = self.stride;
        let inline = key.len() <= self.inline;
        let mut i = (hash as usize) & self.mask;
        loop {
            let slot = &self.slots[i * stride..(i + 1) * stride];
            if slot[1] == 0 {
                break;
            }
            if slot[0] == hash && slot[1] == tag {
                let stored = if inline {
                    &slot[2..2 + key.len()]
                } else {
                    let off = slot[2] as usize;
                    &self.arena[off..off + key.len()]
                };
                if words_eq(stored, key) {
                    return false;
                }
            }
            i = (i + 1) & self.mask;
        }
        let slot = &mut self.slots[i * stride..(i + 1) * stride];
        slot[0] = hash;
        slot[1] = tag;
        if inline {
            slot[2..2 + key.len()].copy_from_slice(key);
        } else {
            slot[2] = self.arena.len() as u64;
            self.arena.extend_from_slice(key);
        }
        self.len += 1;
        if self.len * 2 > self.mask + 1 {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let cap = (self.mask + 1) * 2;
        let mask = cap - 1;
        let stride = self.stride;
        let mut slots = std::mem::take(&mut self.spare);
        slots.clear();
        slots.resize(cap * stride, 0);
        for old in self.slots.chunks_exact(stride) {
            if old[1] == 0 {
                continue;
            }
            let mut j = (old[0] as usize) & mask;
            while slots[j * stride + 1] != 0 {
                j = (j + 1) & mask;
            }
            slots[j * stride..(j + 1) * stride].copy_from_slice(old);
        }
        self.spare = std::mem::replace(&mut self.slots, slots);
        self.mask = mask;
    }
}

/// The set of linearized operations: a bitset over bit positions (completed operations in call
/// order, then, from the next multiple of 64, the operations of unknown outcome), and a compact
/// key for the visited set: since the search linearizes roughly in call order, the completed
/// operations below `low` are all linearized and those far above none, so the key is `low`, the
/// words from `low` to the highest set word, and the words of the unknown-outcome operations.
struct LinSet {
    bits: Vec<u64>,
    /// Number of completed operations (their positions are `0..nc`).
    nc: usize,
    /// Words of the completed region.
    cwords: usize,
    /// First completed position not linearized.
    low: usize,
    /// Highest word of the completed region with a bit set (-1: none).
    hi_word: isize,
    /// Use the compact key (else the whole bitset is the key).
    compact: bool,
    key: Vec<u64>,
}

impl LinSet {
    fn new(nc: usize, nu: usize) -> Self {
        let cwords = nc.div_ceil(64);
        let words = (cwords + nu.div_ceil(64)).max(1);
        LinSet {
            bits: vec![0; words],
            nc,
            cwords,
            low: 0,
            hi_word: -1,
            compact: words > 4,
            key: Vec::with_capacity(words + 1),
        }
    }

    /// Words of a key stored inline in the visited set.
    fn inline_words(&self) -> usize {
        if self.compact { 4 } else { self.bits.len() }
    }

    #[inline]
    fn set(&mut self, p: usize) {
        self.bits[p >> 6] |= 1 << (p & 63);
        if p < self.nc {
            if p == self.low {
                while self.low < self.nc && self.bits[self.low >> 6] & (1 << (self.low & 63)) != 0 {
                    self.low += 1;
                }
            }
            self.hi_word = self.hi_word.max((p >> 6) as isize);
        }
    }

    #[inline]
    fn clear(&mut self, p: usize) {
        self.bits[p >> 6] &= !(1 << (p & 63));
        if p < self.nc {
            self.low = self.low.min(p);
            while self.hi_word >= 0 && self.bits[self.hi_word as usize] == 0 {
                self.hi_word -= 1;
            }
        }
    }

    #[inline]
    fn key(&mut self) -> &[u64] {
        if !self.compact {
            return &self.bits;
        }
        self.key.clear();
        self.key.push(self.low as u64);
        let lw = self.low >> 6;
        if self.hi_word >= lw as isize {
            self.key
                .extend_from_slice(&self.bits[lw..=self.hi_word as usize]);
        }
        self.key.extend_from_slice(&self.bits[self.cwords..]);
        &self.key
    }
}

#[inline]
fn words_eq(a: &[u64], b: &[u64]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for k in 0..a.len() {
        if a[k] != b[k] {
            return false;
        }
    }
    true
}

/// The search on one slice of operations. `forced[op]`, when given, says which operations to
/// take without trying alternatives whenever they are possible (else: the read-only ones that
/// leave the state unchanged). It gives up when its step count, starting at `steps_before`,
/// reaches `max_steps`; `other_bytes` is what the worker holds besides `visited` and
/// `interner`.
#[allow(clippy::too_many_arguments)]
fn search<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    forced: Option<&[bool]>,
    steps_before: u64,
    max_steps: u64,
    shared: &Shared,
    visited: &mut Visited,
    interner: &mut Interner<M::State>,
    meter: &mut Meter<'_>,
    other_bytes: usize,
) -> Found {
    let n = ops.len();
    let completed: Vec<bool> = ops.iter().map(|o| o.ret.is_some()).collect();
    let read_only: Vec<bool> = ops
        .iter()
        .map(|o| model.is_read_only(&o.input, o.output.as_ref()))
        .collect();
    let n_completed = completed.iter().filter(|&&c| c).count();

    // Entries in time order; at equal times calls first (closed intervals). Only the order
    // of calls relative to returns matters, so the calls between two consecutive returns are
    // ordered by their own return time: the search tries the most urgent candidates first.
    let mut rets: Vec<(u64, u32)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.ret.map(|r| (r, i as u32)))
        .collect();
    rets.sort_unstable();
    // (segment, kind: 0 return / 1 call, tie-break, op)
    let mut order: Vec<(usize, u8, u64, u32)> = Vec::with_capacity(2 * n);
    for (k, &(r, i)) in rets.iter().enumerate() {
        order.push((k + 1, 0, r, i));
    }
    for (i, op) in ops.iter().enumerate() {
        let segment = rets.partition_point(|&(r, _)| r < op.call);
        order.push((segment, 1, op.ret.unwrap_or(u64::MAX), i as u32));
    }
    order.sort_unstable();
    let order: Vec<(u8, u32)> = order
        .into_iter()
        .map(|(_, kind, _, op)| (1 - kind, op))
        .collect();
    let m = order.len();
    let mut nodes: Vec<Node> = Vec::with_capacity(m + 1);
    nodes.push(Node {
        op: NIL,
        ret: NIL,
        prev: NIL,
        next: if m > 0 { 1 } else { NIL },
    });
    let mut call_node = vec![NIL; n];
    for (k, &(kind, op)) in order.iter().enumerate() {
        let id = k as u32 + 1;
        nodes.push(Node {
            op: if kind == 0 { op } else { op | RET_BIT },
            ret: NIL,
            prev: id - 1,
            next: if k + 1 < m { id + 1 } else { NIL },
        });
        if kind == 0 {
            call_node[op as usize] = id;
        } else {
            let c = call_node[op as usize];
            nodes[c as usize].ret = id;
        }
    }
    let sorted_nodes = nodes.clone();

    let zob: Vec<u64> = (0..n as u64)
        .map(|i| mix64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d))
        .collect();
    // Bit positions: completed operations in call order, then the unknown-outcome ones.
    let mut by_call: Vec<u32> = (0..n as u32).filter(|&i| completed[i as usize]).collect();
    by_call.sort_by_key(|&i| (ops[i as usize].call, i));
    let nc = by_call.len();
    let mut pos = vec![0usize; n];
    for (p, &i) in by_call.iter().enumerate() {
        pos[i as usize] = p;
    }
    let cbase = nc.div_ceil(64) * 64;
    let mut nu = 0;
    for i in 0..n {
        if !completed[i] {
            pos[i] = cbase + nu;
            nu += 1;
        }
    }
    let mut lin = LinSet::new(nc, nu);
    let mut zh: u64 = 0;
    interner.reset();
    visited.reset(lin.inline_words());
    let heap = |s: &M::State| model.state_heap_bytes(s);
    let init = model.init();
    let h0 = FxBuildHasher.hash_one(&init);
    let mut cur = interner.intern(init, h0, heap);
    visited.insert(mix64(cur as u64 + 1), cur, lin.key());

    // (call entry, state before it, whether it left the state unchanged)
    let mut stack: Vec<(u32, u32, bool)> = Vec::with_capacity(n);
    // The longest prefix linearized so far; `agree`: length of the common prefix of `best`
    // and the stack, so that a new record copies only the part that changed.
    let mut best: Vec<u32> = Vec::new();
    let mut agree = 0usize;
    let mut steps: u64 = steps_before;
    let mut done = 0usize;
    let mut ticks: u32 = 0;
    let mut peak_bytes = 0;
    let local = |ops: &[u32]| ops.iter().map(|&o| o as usize).collect::<Vec<_>>();

    if n_completed == 0 {
        return Found {
            outcome: PartitionOutcome::Linearizable { order: Vec::new() },
            steps,
            cache_entries: visited.len,
            cache_bytes: visited.bytes() + interner.bytes(),
        };
    }

    let mut entry = nodes[HEAD as usize].next;
    let outcome = 'search: loop {
        ticks = ticks.wrapping_add(1);
        // Checked on every step: the step budget is exact, so that it is deterministic; the
        // rest every 1024 rounds. Before a table grows, the budget is asked first.
        let mut give_up = (steps >= max_steps).then_some(UnknownReason::StepBudget);
        if give_up.is_none() && ticks & 0x3ff == 0 {
            give_up = if shared.stop.load(Ordering::Relaxed) {
                Some(UnknownReason::Stopped)
            } else if shared.deadline.is_some_and(|d| Instant::now() >= d) {
                Some(UnknownReason::Timeout)
            } else {
                let b = visited.bytes() + interner.bytes();
                peak_bytes = peak_bytes.max(b);
                meter
                    .report(b + other_bytes)
                    .then_some(UnknownReason::MemoryBudget)
            };
        }
        if give_up.is_none() && !meter.allows(visited.growth_bytes() + interner.growth_bytes()) {
            give_up = Some(UnknownReason::MemoryBudget);
        }
        {
            if let Some(reason) = give_up {
                let longest: Vec<u32> = if stack.len() > best.len() {
                    stack
                        .iter()
                        .map(|&(e, _, _)| nodes[e as usize].op)
                        .collect()
                } else {
                    best.clone()
                };
                break PartitionOutcome::Unknown {
                    reason,
                    longest_prefix: local(&longest),
                };
            }
        }
        if entry != NIL && nodes[entry as usize].op & RET_BIT == 0 {
            let node = nodes[entry as usize];
            let op = node.op as usize;
            steps += 1;
            let o = ops[op];
            if let Some(next_state) =
                model.step(&interner.states[cur as usize], &o.input, o.output.as_ref())
            {
                // A read-only step usually leaves the state as it is: then skip the interning.
                let sid = if read_only[op] && next_state == interner.states[cur as usize] {
                    cur
                } else {
                    let hs = FxBuildHasher.hash_one(&next_state);
                    interner.intern(next_state, hs, heap)
                };
                // A read-only operation (a read, a failed CAS) that is legal here can always
                // be linearized first among the candidates: any linearization from here can
                // move it to the front. So it is the only branch to explore. (The log
                // analysis says which of its operations are like that.)
                let preserving = match forced {
                    Some(forced) => forced[op],
                    None => read_only[op] && sid == cur,
                };
                lin.set(pos[op]);
                zh ^= zob[op];
                if visited.insert(zh ^ mix64(sid as u64 + 1), sid, lin.key()) {
                    stack.push((entry, cur, preserving));
                    cur = sid;
                    // Lift the call and its return out of the list.
                    let (p, nx) = (node.prev, node.next);
                    nodes[p as usize].next = nx;
                    if nx != NIL {
                        nodes[nx as usize].prev = p;
                    }
                    if node.ret != NIL {
                        let r = nodes[node.ret as usize];
                        nodes[r.prev as usize].next = r.next;
                        if r.next != NIL {
                            nodes[r.next as usize].prev = r.prev;
                        }
                    }
                    if completed[op] {
                        done += 1;
                        if done == n_completed {
                            let order: Vec<u32> = stack
                                .iter()
                                .map(|&(e, _, _)| nodes[e as usize].op)
                                .collect();
                            break PartitionOutcome::Linearizable {
                                order: local(&order),
                            };
                        }
                    }
                    if stack.len() > best.len() {
                        best.truncate(agree);
                        best.extend(stack[agree..].iter().map(|&(e, _, _)| nodes[e as usize].op));
                        agree = stack.len();
                    }
                    entry = nodes[HEAD as usize].next;
                    continue;
                }
                lin.clear(pos[op]);
                zh ^= zob[op];
                if !preserving {
                    entry = node.next;
                    continue;
                }
                // Its only branch was explored already and failed: so does this node.
            } else {
                entry = node.next;
                continue;
            }
        }
        // A return entry (or the end): the operation it closes cannot be linearized in this
        // branch; undo linearized operations up to the last one that had alternatives, and
        // try its next candidate.
        loop {
            let Some((e, prev, forced)) = stack.pop() else {
                let lifted = {
                    let mut v = vec![false; n];
                    for &o in &best {
                        v[o as usize] = true;
                    }
                    v
                };
                let mut stuck = Vec::new();
                let mut k = sorted_nodes[HEAD as usize].next;
                while k != NIL {
                    let nd = sorted_nodes[k as usize];
                    let o = (nd.op & !RET_BIT) as usize;
                    if !lifted[o] {
                        if nd.op & RET_BIT != 0 {
                            break;
                        }
                        stuck.push(o as u32);
                    }
                    k = nd.next;
                }
                break 'search PartitionOutcome::NotLinearizable {
                    longest_prefix: local(&best),
                    stuck: local(&stuck),
                };
            };
            agree = agree.min(stack.len());
            let node = nodes[e as usize];
            let op = node.op as usize;
            lin.clear(pos[op]);
            zh ^= zob[op];
            if completed[op] {
                done -= 1;
            }
            cur = prev;
            // Put the return and then the call back (reverse order of removal).
            if node.ret != NIL {
                let r = nodes[node.ret as usize];
                nodes[r.prev as usize].next = node.ret;
                if r.next != NIL {
                    nodes[r.next as usize].prev = node.ret;
                }
            }
            nodes[node.prev as usize].next = e;
            if node.next != NIL {
                nodes[node.next as usize].prev = e;
            }
            if !forced {
                entry = node.next;
                break;
            }
        }
    };
    let bytes = peak_bytes.max(visited.bytes() + interner.bytes());
    meter.report(visited.bytes() + interner.bytes() + other_bytes);
    Found {
        outcome,
        steps,
        cache_entries: visited.len,
        cache_bytes: bytes,
    }
}

/// A 64-bit avalanche mix (the finalizer of MurmurHash3).
#[inline]
fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}
