//! The simulation runtime: deterministic tasks on virtual time.
//!
//! A simulation runs on one thread. Its tasks belong to *nodes* (simulated servers); crashing a
//! node stops all of its tasks at once. Time is virtual: when no task can run, the clock jumps
//! to the next timer. Randomness comes from generators seeded by the simulation's seed.
//! Together these make a run a pure function of its seed.
//!
//! ```
//! use labrpc::sim::{self, Node, Sim};
//! use std::time::Duration;
//!
//! let outcome = Sim::new(42).run(|| async {
//!     let server = Node::new("server");
//!     let ticks = server.spawn(async {
//!         let mut ticker = sim::interval(Duration::from_millis(100));
//!         for _ in 0..10 {
//!             ticker.tick().await;
//!         }
//!         sim::now()
//!     });
//!     ticks.await.unwrap()
//! });
//! let outcome = outcome.unwrap();
//! // Ten ticks, the first at once: 0.9 virtual seconds, almost no real time.
//! assert_eq!(outcome.value.since_start(), Duration::from_millis(900));
//! ```
//!
//! # Determinism rules for code that runs in a simulation
//! - Time: use [`now`], [`sleep`], [`interval`] and [`timeout`]. `std::time::Instant`,
//!   `SystemTime` and `std::thread::sleep` read or wait on the real clock, which differs from
//!   run to run; `thread::sleep` also blocks every node at once (the watchdog reports it).
//! - Randomness: use [`rng`] (each node has its own seeded stream). `rand::rng()` /
//!   `thread_rng()` are seeded from the operating system.
//! - Maps: iterating a `std::collections::HashMap` visits keys in an order that is random per
//!   process. Use `BTreeMap`, or [`crate::collections::DetHashMap`] whose order is fixed.
//! - Tasks: use [`spawn`] / [`Node::spawn`], never `std::thread::spawn` or another runtime.
//!   Don't hold a `std::sync::Mutex` across an `.await`, and don't block on a channel: a task
//!   that never yields stops the whole simulation (the watchdog reports it).
//! - `tokio::select!` picks a random branch first from an unseeded generator: write
//!   `biased;` as its first line.
//!
//! # Real-clock mode
//! [`RealClock`] runs the same executor in a real process: [`now`] is the wall clock since it
//! started, [`sleep`] and [`timeout`] wait real time, and other threads (the `realproc`
//! crate's sockets and files) wake its tasks. Code written for the simulation, Raft and
//! the key/value server, runs there unchanged. A run on the real clock is **not**
//! deterministic: the operating system schedules its threads and the network, and its seed
//! only seeds [`rng`].

mod executor;
mod rng;
pub mod search;
mod teardown;
mod thread_clock;
mod time;
pub mod trace;

pub use rng::DetRng;
pub use teardown::at_end;
pub use thread_clock::{StuckIn, WatchdogClock};
pub use time::yield_now;
pub use time::{Elapsed, Instant, Interval, Sleep, interval, now, sleep, sleep_until, timeout};
pub use trace::{Trace, TraceMode};

use executor::{Clock, Core, Origin, TEST_NODE, try_with_core, with_core};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::oneshot;

/// A simulated machine. Tasks spawned on a node belong to it and stop when it crashes.
///
/// The test's own code runs on a node named `test`, which never crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node(u32);

impl Node {
    /// Adds a node to the current simulation. It starts up, with no tasks.
    pub fn new(name: impl Into<String>) -> Node {
        with_core(|core| core.add_node(name.into()))
    }

    /// The node the calling code runs on.
    pub fn current() -> Node {
        with_core(|core| core.current_node())
    }

    /// The node's name, as given to [`Node::new`].
    pub fn name(self) -> String {
        with_core(|core| core.node_name(self))
    }

    /// Its index in the simulation (the test node is 0).
    pub fn index(self) -> u32 {
        self.0
    }

    /// Starts a task on this node. If the node is down, the task never runs and its handle
    /// reports [`JoinError::Cancelled`].
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = Location::caller();
        with_core(|core| spawn_on(core, self, future, location))
    }

    /// Runs `f` as this node: tasks it spawns and timers it sets belong to the node.
    pub fn enter<R>(self, f: impl FnOnce() -> R) -> R {
        with_core(|core| core.as_node(self, f))
    }

    /// Crashes the node: every task it owns stops at once (its futures are dropped), its
    /// timers are cancelled and replies it would send are never delivered. The node stays
    /// down until [`Node::restart`].
    ///
    /// # Panics
    /// For the test node.
    pub fn crash(self) {
        with_core(|core| core.crash(self))
    }

    /// Brings the node back up (crashing it first if it is up), with no tasks and a fresh
    /// random stream. The caller starts its code again (typically from a persister copy).
    pub fn restart(self) {
        with_core(|core| core.restart(self))
    }

    /// True unless the node has crashed and not restarted.
    pub fn is_up(self) -> bool {
        with_core(|core| core.is_up(self))
    }
}

/// Starts a task on the current node.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    with_core(|core| spawn_on(core, core.current_node(), future, location))
}

fn spawn_on<F>(
    core: &Core,
    node: Node,
    future: F,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let (tx, rx) = oneshot::channel();
    let task = async move {
        let _ = tx.send(future.await);
    };
    core.spawn(node, Box::pin(task), Origin::Spawn(location));
    JoinHandle { rx }
}

/// Awaits a task's result. Dropping the handle lets the task run on, detached.
#[derive(Debug)]
pub struct JoinHandle<T> {
    rx: oneshot::Receiver<T>,
}

/// Starts the handler task of one call of `service.method` on `node`, as the network does
/// (see [`crate::Method::start`]); false if the node is down (the task will never run).
pub fn spawn_handler(
    node: Node,
    service: &'static str,
    method: &'static str,
    future: Pin<Box<dyn Future<Output = ()>>>,
) -> bool {
    with_core(|core| core.spawn(node, future, Origin::Handler { service, method }))
}

/// Starts a task of the network itself (carrying a request of `service.method` to its
/// server). It belongs to the test node, which never crashes: a request in flight is the
/// network's, whatever happens to its caller.
pub(crate) fn spawn_network(
    service: &'static str,
    method: &'static str,
    future: Pin<Box<dyn Future<Output = ()>>>,
) {
    with_core(|core| core.spawn(TEST_NODE, future, Origin::Delivery { service, method }));
}

/// Why a task produced no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// The task was stopped: its node crashed, or the simulation ended.
    Cancelled,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task cancelled: its node crashed or the simulation ended")
    }
}

impl std::error::Error for JoinError {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| JoinError::Cancelled))
    }
}

/// The current node's random number generator, seeded from the simulation's seed.
///
/// ```
/// use labrpc::sim::{self, Sim};
/// use labrpc::rand::RngExt;
///
/// let timeouts = |seed| {
///     Sim::new(seed)
///         .run(|| async { (0..5).map(|_| sim::rng().random_range(150..300)).collect::<Vec<u32>>() })
///         .unwrap()
///         .value
/// };
/// assert_eq!(timeouts(7), timeouts(7));
/// ```
pub fn rng() -> SimRng {
    SimRng { _private: () }
}

/// A handle to the current node's seeded generator; implements [`rand::Rng`].
#[derive(Debug)]
pub struct SimRng {
    _private: (),
}

impl rand::TryRng for SimRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(with_core(|core| {
            core.nodes.borrow_mut()[core.current_node().0 as usize]
                .rng
                .next_u64()
        }))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        with_core(|core| {
            core.nodes.borrow_mut()[core.current_node().0 as usize]
                .rng
                .try_fill_bytes(dst)
        })
    }
}

/// The seed of the current simulation.
pub fn seed() -> u64 {
    with_core(|core| core.seed)
}

/// A generator for a named purpose (the network's faults, say), independent of every node's.
pub(crate) fn derived_rng(stream: u64) -> DetRng {
    with_core(|core| DetRng::derive(core.seed, &[u64::MAX, stream]))
}

/// Adds a note to the trace (a harness marking "partition [0 1] [2 3 4]", say).
pub fn note(text: impl Into<String>) {
    with_core(|core| {
        core.record(
            core.current_node(),
            trace::What::Note(text.into().into_boxed_str()),
        )
    })
}

/// Annotates `node`'s state for a picture of the run ("term 3 leader" of kind `"raft"`): a
/// lab's harness calls it where it learns a peer's state. Kept only when the simulation keeps
/// its full trace ([`TraceMode::Full`], as the course's trace tool asks); never hashed, and it takes no
/// time or randomness, so it cannot change the run. Does nothing outside a simulation.
pub fn annotate(node: Node, kind: &'static str, text: impl Into<String>) {
    try_with_core(|core| {
        if core.keeps_annotations() {
            core.annotate(
                node,
                trace::What::Annotation {
                    kind,
                    text: text.into().into_boxed_str(),
                },
            );
        }
    });
}

/// True if [`annotate`] keeps what it is given (a full trace is being recorded): lets a
/// harness skip formatting annotations nobody will see.
pub fn annotating() -> bool {
    try_with_core(|core| core.keeps_annotations()).unwrap_or(false)
}

/// The index ([`Node::index`]) of the node whose code runs on this thread, if a simulation
/// runs here. It reads one thread-local cell: it never allocates or panics, so a counting
/// global allocator may call it to attribute each allocation to a node.
pub fn running_node_index() -> Option<u32> {
    executor::running_node_index()
}

/// True if this thread runs the executor on the wall clock ([`RealClock`]); false in a
/// simulation or outside any executor.
pub fn on_real_clock() -> bool {
    try_with_core(|core| core.is_real()).unwrap_or(false)
}

/// Virtual time and the current node's name, if this thread runs a simulation (for log lines).
pub fn context() -> Option<(Instant, String)> {
    try_with_core(|core| (core.now(), core.node_name(core.current_node())))
}

pub(crate) fn record(node: Node, what: trace::What) {
    with_core(|core| core.record(node, what))
}

/// Records an event on the current node, if this thread runs a simulation.
pub(crate) fn record_if_running(what: trace::What) {
    try_with_core(|core| core.record(core.current_node(), what));
}

pub(crate) fn next_id() -> u64 {
    with_core(|core| core.next_id())
}

pub(crate) fn count(rpcs: u64, bytes: u64) {
    with_core(|core| core.count(rpcs, bytes))
}

/// Why a simulation failed.
#[derive(Clone, Debug)]
pub enum SimError {
    /// Code in a task panicked (in the test itself, this is a failed check).
    Panic {
        /// The node whose task panicked.
        node: String,
        /// Where that task was spawned.
        task: String,
        /// Where the panic happened.
        location: String,
        /// The panic message.
        message: String,
        /// Time of the panic: virtual, or since the start on the wall clock.
        at: Instant,
        /// True if the panic was in the test's own code (a failed check).
        in_test: bool,
        /// True if the executor ran on the wall clock ([`RealClock`], a real process).
        real_clock: bool,
    },
    /// No task could run and no timer was pending, but the test had not finished.
    Deadlock {
        /// Virtual time when the simulation stopped.
        at: Instant,
        /// The tasks still waiting.
        tasks: Vec<String>,
    },
    /// Virtual time passed the limit.
    TimeLimit {
        /// The limit.
        limit: Duration,
        /// The tasks that had waited longest without running (at least 10 s), longest first:
        /// what the run was stuck on.
        waiting: Vec<String>,
    },
    /// One poll of a task ran too long: it spins or blocks the thread.
    Stalled {
        /// The task's node.
        node: String,
        /// Where it was spawned.
        task: String,
        /// Virtual time when it stalled.
        at: Instant,
        /// How long the poll had held the thread, measured with `clock`.
        time: Duration,
        /// The clock the watchdog measured with.
        clock: WatchdogClock,
        /// What the thread was doing when the watchdog gave up on it.
        stuck_in: StuckIn,
    },
    /// Tasks kept running but virtual time stood still: a task busy-waits (yields in a loop
    /// without sleeping).
    BusyLoop {
        /// The node of the last task polled.
        node: String,
        /// Where it was spawned.
        task: String,
        /// Virtual time that stood still.
        at: Instant,
        /// How long it stood still, measured with `clock`.
        time: Duration,
        /// The clock the watchdog measured with.
        clock: WatchdogClock,
    },
    /// The simulation thread itself failed (a bug in labrpc).
    Internal(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Panic {
                node,
                task,
                location,
                message,
                at,
                in_test,
                real_clock,
            } => {
                let time = if *real_clock { "time" } else { "virtual time" };
                // The test node runs the tester's checks, but also the code they call (a
                // clerk): only a panic in a test file is a failed check.
                if *in_test && location.contains("tests/") {
                    write!(f, "{message}\n  (check failed at {location}, {time} {at})")
                } else if *in_test {
                    write!(f, "{message}\n  (panicked at {location}, {time} {at})")
                } else {
                    write!(
                        f,
                        "node {node} panicked at {location} ({time} {at}): {message}\n  \
                         (in a task {task})"
                    )
                }
            }
            SimError::Deadlock { at, tasks } => {
                write!(
                    f,
                    "deadlock at virtual time {at}: no task can run and no timer is pending, \
                     but the test has not finished. Waiting tasks:"
                )?;
                for task in tasks {
                    write!(f, "\n  {task}")?;
                }
                Ok(())
            }
            SimError::TimeLimit { limit, waiting } => {
                write!(
                    f,
                    "the test ran past its limit of {limit:?} of virtual time"
                )?;
                if !waiting.is_empty() {
                    write!(f, ". Tasks that waited longest without running:")?;
                    for task in waiting {
                        write!(f, "\n  {task}")?;
                    }
                }
                Ok(())
            }
            SimError::Stalled {
                node,
                task,
                at,
                time,
                clock,
                stuck_in,
            } => {
                write!(
                    f,
                    "watchdog: a task of node {node} ({task}) has held the simulation thread \
                     for {time:.1?} {clock} without yielding, at virtual time {at}. "
                )?;
                match stuck_in {
                    StuckIn::Spinning => f.write_str(
                        "It is running: a loop that never reaches an .await. Wait with \
                         labrpc::sim::sleep, a channel or a Notify instead.",
                    ),
                    StuckIn::Sleeping => f.write_str(
                        "It is blocked in a real-time sleep (std::thread::sleep), which stops \
                         every node at once. Use labrpc::sim::sleep, which waits in virtual \
                         time.",
                    ),
                    StuckIn::Waiting => f.write_str(
                        "It is blocked waiting for a lock (or a condition variable, or a \
                         blocking channel receive) that nothing can release: every task of the \
                         simulation runs on this one thread, so the holder cannot run. Most \
                         likely another task locked a Mutex (std or parking_lot) and is \
                         suspended at an .await while holding its guard, and this task is the \
                         next to lock it. `make lint` names each guard held across an .await \
                         (clippy's await_holding_lock): take what you need from the state, \
                         drop the guard, then await.",
                    ),
                    StuckIn::Unknown => f.write_str(
                        "It spins in a loop or blocks the thread (std::thread::sleep, a lock \
                         whose holder is suspended at an .await, a blocking channel receive). \
                         Use labrpc::sim::sleep and async primitives; `make lint` names a lock \
                         guard held across an .await.",
                    ),
                }
            }
            SimError::BusyLoop {
                node,
                task,
                at,
                time,
                clock,
            } => write!(
                f,
                "watchdog: virtual time has stood still at {at} for {time:.1?} {clock} while \
                 tasks keep running (last: node {node}, task {task}). Something busy-waits: \
                 wait with labrpc::sim::sleep or a channel instead of yielding in a loop."
            ),
            SimError::Internal(message) => write!(f, "internal error in the simulator: {message}"),
        }
    }
}

impl std::error::Error for SimError {}

thread_local! {
    /// Where and why the current thread's last panic happened (set by the panic hook).
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some((at, node)) = context() else {
                return previous(info);
            };
            let location = info
                .location()
                .map_or_else(|| "?".to_string(), |l| l.to_string());
            let message = panic_message(info.payload());
            if node != "test" {
                eprintln!("[{at:>12} {node:<8}] panicked at {location}: {message}");
            }
            LAST_PANIC.with(|p| *p.borrow_mut() = Some((location, message)));
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-text panic)".into())
}

pub(crate) fn panic_error(
    core: &Core,
    node: Node,
    task: String,
    payload: Box<dyn std::any::Any + Send>,
) -> SimError {
    let (location, message) = LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .unwrap_or_else(|| ("?".into(), panic_message(&*payload)));
    SimError::Panic {
        node: core.node_name(node),
        task,
        location,
        message,
        at: core.now(),
        in_test: node == TEST_NODE,
        real_clock: core.is_real(),
    }
}

/// What a simulation did: its seed, times, traffic and trace.
#[derive(Debug)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Virtual time at the end.
    pub virtual_time: Duration,
    /// Real time the run took.
    pub wall_time: Duration,
    /// RPCs handed to every network of the simulation.
    pub rpcs: u64,
    /// Encoded bytes of requests and delivered replies.
    pub bytes: u64,
    /// The trace hash.
    pub trace_hash: u64,
    /// Number of trace events.
    pub events: u64,
    /// The trace (absent when the watchdog had to abandon the simulation thread).
    pub trace: Option<Trace>,
    /// Node names by index, to display trace events.
    pub nodes: Vec<String>,
}

/// A simulation that finished.
#[derive(Debug)]
pub struct Outcome<T> {
    /// What the main future returned.
    pub value: T,
    /// How the run went.
    pub report: Report,
}

/// A simulation that failed.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: SimError,
    /// How far the run got.
    pub report: Report,
}

/// Configures and runs one simulation.
#[derive(Clone, Debug)]
pub struct Sim {
    seed: u64,
    time_limit: Duration,
    trace: TraceMode,
    watchdog: Duration,
    chooser: Option<search::SharedChooser>,
}

impl Sim {
    /// A simulation with this seed, a 10-minute virtual time limit, a recent-events trace and a
    /// 10-second watchdog.
    pub fn new(seed: u64) -> Sim {
        Sim {
            seed,
            time_limit: Duration::from_secs(600),
            trace: TraceMode::Recent,
            watchdog: Duration::from_secs(10),
            chooser: None,
        }
    }

    /// Runs in search mode (see [`search`]): every message waits until `chooser` delivers or
    /// drops it, and whenever no task can run, `chooser` picks what happens next.
    pub fn search<C: search::Chooser + Send + 'static>(
        mut self,
        chooser: Arc<parking_lot::Mutex<C>>,
    ) -> Sim {
        self.chooser = Some(search::SharedChooser(chooser));
        self
    }

    /// Fails the run when virtual time would pass `limit`.
    pub fn time_limit(mut self, limit: Duration) -> Sim {
        self.time_limit = limit;
        self
    }

    /// How much of the trace to keep.
    pub fn trace(mut self, mode: TraceMode) -> Sim {
        self.trace = mode;
        self
    }

    /// Time after which a task that does not yield, or virtual time that does not advance,
    /// fails the run. On Linux it is measured on the simulation thread's own clock (CPU time
    /// plus time blocked), so a starved or stopped process is not mistaken for a stuck task;
    /// elsewhere in real time (see [`WatchdogClock`]).
    pub fn watchdog(mut self, limit: Duration) -> Sim {
        self.watchdog = limit;
        self
    }

    /// Runs `main` (on the test node) until it returns, on a thread of its own, and watches it.
    /// (In search mode the runs of one calling thread share a thread, one after another.)
    ///
    /// Tasks still running when `main` returns are dropped.
    pub fn run<F, Fut>(self, main: F) -> Result<Outcome<Fut::Output>, Box<Failure>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        install_panic_hook();
        if self.chooser.is_some() {
            return self.run_on_worker(main);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let started = std::time::Instant::now();
        let config = self.clone();
        let thread_name = std::thread::current()
            .name()
            .unwrap_or("simulation")
            .to_string();
        let spawned = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                let _ = tx.send(Message::Clock(thread_clock::ThreadClock::current()));
                let result = config.run_here(main, &tx, started);
                let _ = tx.send(Message::Finished(result));
            });
        let thread = match spawned {
            Ok(thread) => thread,
            Err(e) => return Err(self.abandoned(SimError::Internal(e.to_string()), started, None)),
        };
        match self.watch(rx, started) {
            Watched::Finished(result) => {
                // The thread is about to exit: wait for it, so that its thread-locals are freed
                // when `run` returns (what a run leaves allocated is then a function of its
                // seed).
                let _ = thread.join();
                result
            }
            // A stuck thread is abandoned.
            Watched::Abandoned(failure) => Err(failure),
        }
    }

    /// [`Sim::run`] for a search: a search runs thousands of short simulations, so they run
    /// one after another on one thread kept for the calling thread (a thread per run would
    /// cost more than the run), watched like any run. A stuck run's thread is abandoned and
    /// the next run gets a new one.
    fn run_on_worker<F, Fut>(self, main: F) -> Result<Outcome<Fut::Output>, Box<Failure>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        type Job = Box<dyn FnOnce() + Send>;
        thread_local! {
            static WORKER: RefCell<Option<std::sync::mpsc::Sender<Job>>> =
                const { RefCell::new(None) };
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let started = std::time::Instant::now();
        let config = self.clone();
        let mut job: Job = Box::new(move || {
            thread_local! {
                static CLOCK: thread_clock::ThreadClock = thread_clock::ThreadClock::current();
            }
            let _ = tx.send(Message::Clock(CLOCK.with(Clone::clone)));
            let result = config.run_here(main, &tx, started);
            // Nothing of the run may outlive its result (the caller takes back its chooser).
            drop(config);
            let _ = tx.send(Message::Finished(result));
        });
        let name = std::thread::current()
            .name()
            .unwrap_or("simulation")
            .to_string();
        // A worker whose thread is gone refuses the job: start another and try once more.
        for _ in 0..2 {
            let sender = WORKER.with(|w| {
                w.borrow_mut()
                    .get_or_insert_with(|| {
                        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
                        let _ = std::thread::Builder::new()
                            .name(name.clone())
                            .spawn(move || {
                                while let Ok(job) = queue.recv() {
                                    job();
                                }
                            });
                        jobs
                    })
                    .clone()
            });
            match sender.send(job) {
                Ok(()) => {
                    return match self.watch(rx, started) {
                        Watched::Finished(result) => result,
                        Watched::Abandoned(failure) => {
                            WORKER.with(|w| w.borrow_mut().take());
                            Err(failure)
                        }
                    };
                }
                Err(std::sync::mpsc::SendError(refused)) => {
                    job = refused;
                    WORKER.with(|w| w.borrow_mut().take());
                }
            }
        }
        Err(self.abandoned(
            SimError::Internal("no thread could run the simulation".into()),
            started,
            None,
        ))
    }

    fn run_here<F, Fut>(
        &self,
        main: F,
        tx: &std::sync::mpsc::Sender<Message<Fut::Output>>,
        started: std::time::Instant,
    ) -> Result<Outcome<Fut::Output>, Box<Failure>>
    where
        F: FnOnce() -> Fut + 'static,
        Fut: Future + 'static,
    {
        let limit = u64::try_from(self.time_limit.as_nanos()).unwrap_or(u64::MAX);
        let core = Core::new(self.seed, limit, self.trace, Clock::Virtual);
        if let Some(chooser) = &self.chooser {
            *core.search.borrow_mut() = Some(search::SearchState::new(chooser.clone()));
        }
        let _ = tx.send(Message::Started(core.heartbeat.clone()));
        let guard = Core::enter(&core);
        let output = std::rc::Rc::new(RefCell::new(None));
        let slot = output.clone();
        let main_task = async move {
            let value = main().await;
            *slot.borrow_mut() = Some(value);
        };
        core.spawn(
            TEST_NODE,
            Box::pin(main_task),
            Origin::Spawn(Location::caller()),
        );
        let result = core.run(|| output.borrow().is_some());
        core.shut_down();
        teardown::run_all();
        let (rpcs, bytes) = core.counters();
        let (trace_hash, events) = core.trace_hash();
        let report = Report {
            seed: self.seed,
            virtual_time: core.now().since_start(),
            wall_time: started.elapsed(),
            rpcs,
            bytes,
            trace_hash,
            events,
            trace: Some(core.take_trace()),
            nodes: core.node_names(),
        };
        drop(guard);
        match result {
            Ok(()) => {
                let value = output.borrow_mut().take().expect("main finished");
                Ok(Outcome { value, report })
            }
            Err(error) => Err(Box::new(Failure { error, report })),
        }
    }

    /// Waits for the simulation thread, failing the run if it stops making progress.
    ///
    /// Progress is judged on the simulation thread's own clock ([`thread_clock`]): time it
    /// waited for a core, or was stopped, does not count against it.
    fn watch<T>(
        &self,
        rx: std::sync::mpsc::Receiver<Message<T>>,
        started: std::time::Instant,
    ) -> Watched<T> {
        let tick = (self.watchdog / 10).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let mut heartbeat = None;
        let mut meter = None;
        // Time charged to the thread when the poll count and virtual time last changed.
        let (mut polls, mut polls_changed) = (0, Duration::ZERO);
        let (mut now, mut now_changed) = (0, Duration::ZERO);
        // Real time of the last poll-count change: a busy loop keeps polling.
        let mut polled_at = std::time::Instant::now();
        loop {
            match rx.recv_timeout(tick) {
                Ok(Message::Finished(result)) => return Watched::Finished(result),
                Ok(Message::Started(beat)) => heartbeat = Some(beat),
                Ok(Message::Clock(clock)) => meter = Some(thread_clock::Meter::new(clock)),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let error = SimError::Internal("the simulation thread died".into());
                    return Watched::Abandoned(self.abandoned(
                        error,
                        started,
                        heartbeat.as_deref(),
                    ));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            let (Some(beat), Some(meter)) = (&heartbeat, &mut meter) else {
                continue;
            };
            let wall = std::time::Instant::now();
            let charged = meter.look(wall);
            let current_polls = beat.polls.load(Ordering::Relaxed);
            if current_polls != polls {
                (polls, polls_changed, polled_at) = (current_polls, charged, wall);
            }
            let current_now = beat.now.load(Ordering::Relaxed);
            if current_now != now {
                (now, now_changed) = (current_now, charged);
            }
            let (node, task) = beat.describe(beat.current.load(Ordering::Relaxed));
            let at = Instant::from_nanos(now);
            let clock = meter.kind();
            let error = if beat.in_poll.load(Ordering::Acquire)
                && charged - polls_changed > self.watchdog
            {
                SimError::Stalled {
                    node,
                    task,
                    at,
                    time: charged - polls_changed,
                    clock,
                    stuck_in: meter.stuck_in(),
                }
            } else if charged - now_changed > self.watchdog && wall - polled_at < tick * 2 {
                SimError::BusyLoop {
                    node,
                    task,
                    at,
                    time: charged - now_changed,
                    clock,
                }
            } else {
                continue;
            };
            return Watched::Abandoned(self.abandoned(error, started, Some(beat)));
        }
    }

    /// A failure for a simulation whose thread could not be waited for.
    fn abandoned(
        &self,
        error: SimError,
        started: std::time::Instant,
        beat: Option<&executor::Heartbeat>,
    ) -> Box<Failure> {
        let now = beat.map_or(0, |b| b.now.load(Ordering::Relaxed));
        Box::new(Failure {
            error,
            report: Report {
                seed: self.seed,
                virtual_time: Duration::from_nanos(now),
                wall_time: started.elapsed(),
                rpcs: 0,
                bytes: 0,
                trace_hash: 0,
                events: 0,
                trace: None,
                nodes: beat.map_or_else(Vec::new, |b| b.names.lock().1.clone()),
            },
        })
    }
}

/// Runs the executor on the wall clock, in a real process (see the module's "Real-clock mode").
///
/// Tasks, nodes, [`spawn`], [`now`], [`sleep`], [`timeout`], [`rng`] and the `labrpc::sync`
/// channels work as in a simulation, except that time is real: a timer fires once its time has
/// passed on the wall clock, and when no task is ready the thread sleeps until the next timer
/// or until another thread wakes one of its tasks. There is no watchdog and no time limit. Not
/// deterministic: use [`Sim`] for tests that must replay.
///
/// ```
/// use labrpc::sim::{self, RealClock};
/// use std::time::Duration;
///
/// let waited = RealClock::new(7).run(|| async {
///     let start = sim::now();
///     sim::sleep(Duration::from_millis(20)).await;
///     sim::now() - start
/// });
/// assert!(waited.unwrap() >= Duration::from_millis(20));
/// ```
#[derive(Clone, Debug)]
pub struct RealClock {
    seed: u64,
}

impl RealClock {
    /// A real-clock executor whose nodes' [`rng`]s are seeded from `seed` (take it from the
    /// time and the process id for a server: the run cannot replay anyway).
    pub fn new(seed: u64) -> RealClock {
        RealClock { seed }
    }

    /// Runs `main` on the calling thread, as node `main`, until it returns. Fails if a task
    /// panics (with the same report as in a simulation). Tasks still running when `main`
    /// returns are dropped.
    pub fn run<F, Fut>(self, main: F) -> Result<Fut::Output, SimError>
    where
        F: FnOnce() -> Fut + 'static,
        Fut: Future + 'static,
    {
        install_panic_hook();
        let clock = Clock::Real(std::time::Instant::now());
        let core = Core::new(self.seed, u64::MAX, TraceMode::Recent, clock);
        let guard = Core::enter(&core);
        let output = std::rc::Rc::new(RefCell::new(None));
        let slot = output.clone();
        core.spawn(
            TEST_NODE,
            Box::pin(async move {
                let value = main().await;
                *slot.borrow_mut() = Some(value);
            }),
            Origin::Spawn(Location::caller()),
        );
        let result = core.run(|| output.borrow().is_some());
        core.shut_down();
        teardown::run_all();
        drop(guard);
        result?;
        let value = output.borrow_mut().take();
        value.ok_or_else(|| SimError::Internal("main finished without a value".into()))
    }
}

/// How the watch of a simulation thread ended.
enum Watched<T> {
    /// The thread finished the run (it is about to exit).
    Finished(Result<Outcome<T>, Box<Failure>>),
    /// The thread is stuck and left behind.
    Abandoned(Box<Failure>),
}

enum Message<T> {
    /// The simulation thread's clock, for the watchdog.
    Clock(thread_clock::ThreadClock),
    Started(Arc<executor::Heartbeat>),
    Finished(Result<Outcome<T>, Box<Failure>>),
}
