//! The executor: one thread, a set of ready tasks, a heap of timers, virtual time.
//!
//! Determinism comes from doing everything in an order that is a function of the seed: the
//! next task to run is drawn from the ready set by the scheduler's seeded generator, timers
//! fire in (deadline, registration) order, and the clock only moves when no task can run.
//! Drawing (rather than running tasks in the order they were woken) makes each seed explore
//! another interleaving of the events that happen at the same virtual instant.
//!
//! The same executor also runs real processes ([`Clock::Real`], see `sim::RealClock`): time is
//! then the wall clock since the executor started, a timer fires once that much real time has
//! passed, and when no task is ready the thread parks until the next deadline or until another
//! thread (a socket's reader, a persister's writer) wakes one of its tasks. Nothing of that
//! mode touches a simulation: the virtual-time paths below only test which clock they run on.

use super::rng::DetRng;
use super::trace::{Event, Trace, TraceMode, What};
use super::{Instant, Node, SimError};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Where a task came from, for reports.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    /// Spawned by code at this location.
    Spawn(&'static Location<'static>),
    /// Runs the handler of one call of this method.
    Handler {
        service: &'static str,
        method: &'static str,
    },
    /// The network carrying a request of this method to its server.
    Delivery {
        service: &'static str,
        method: &'static str,
    },
}

/// What identifies an origin: the address of a spawn site's `Location`, or a method's
/// service and name (two services may both have a method `Get`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum OriginKey {
    Spawn(usize),
    Handler(&'static str, &'static str),
    Delivery(&'static str, &'static str),
}

/// Identifies a task slot and the generation of its occupant (stale wakes are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskKey {
    index: u32,
    generation: u32,
}

/// Identifies a registered timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

/// A vector of reusable slots whose keys carry a generation, so a key outlives its value safely.
struct Slab<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    fn insert(&mut self, value: T) -> (u32, u32) {
        match self.free.pop() {
            Some(index) => {
                let slot = &mut self.slots[index as usize];
                slot.1 = Some(value);
                (index, slot.0)
            }
            None => {
                self.slots.push((0, Some(value)));
                ((self.slots.len() - 1) as u32, 0)
            }
        }
    }

    fn get_mut(&mut self, index: u32, generation: u32) -> Option<&mut T> {
        match self.slots.get_mut(index as usize) {
            Some((g, Some(value))) if *g == generation => Some(value),
            _ => None,
        }
    }

    /// Removes and returns, in slot order, every value for which `doomed` holds.
    fn remove_where(&mut self, mut doomed: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut removed = Vec::new();
        for (index, (generation, slot)) in self.slots.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(&mut doomed) {
                *generation = generation.wrapping_add(1);
                self.free.push(index as u32);
                removed.extend(slot.take());
            }
        }
        removed
    }

    fn remove(&mut self, index: u32, generation: u32) -> Option<T> {
        let slot = self.slots.get_mut(index as usize)?;
        if slot.0 != generation || slot.1.is_none() {
            return None;
        }
        slot.0 = slot.0.wrapping_add(1);
        self.free.push(index);
        slot.1.take()
    }
}

/// Tasks woken and waiting to be polled. Shared with wakers, which may be cloned anywhere.
#[derive(Default)]
struct ReadyQueue {
    queue: Mutex<Vec<TaskKey>>,
    /// On the wall clock, the executor's thread: a wake from any thread unparks it. (A
    /// simulation never parks: with nothing ready, it moves virtual time instead.)
    executor: Option<std::thread::Thread>,
}

struct TaskWaker {
    key: TaskKey,
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.queue.lock().push(self.key);
            if let Some(executor) = &self.ready.executor {
                executor.unpark();
            }
        }
    }
}

struct Task {
    future: Option<BoxFuture>,
    node: Node,
    incarnation: u32,
    location: u32,
    waker: Arc<TaskWaker>,
    /// Virtual time of its last poll (for the time limit's report of what was waiting).
    last_poll: u64,
}

struct Timer {
    waker: Waker,
    node: Node,
}

#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
    seq: u64,
}

pub(crate) struct NodeState {
    pub(crate) name: String,
    pub(crate) up: bool,
    pub(crate) incarnation: u32,
    pub(crate) rng: DetRng,
}

/// What the watchdog thread can see of a running simulation.
pub(crate) struct Heartbeat {
    /// Number of polls so far.
    pub(crate) polls: AtomicU64,
    /// True while a task is being polled.
    pub(crate) in_poll: AtomicBool,
    /// The task being polled: node id in the high half, location id in the low half.
    pub(crate) current: AtomicU64,
    /// Virtual time in nanoseconds.
    pub(crate) now: AtomicU64,
    /// Task origins by id, and node names by id, for reports.
    pub(crate) names: Mutex<(Vec<String>, Vec<String>)>,
}

impl Heartbeat {
    pub(crate) fn describe(&self, current: u64) -> (String, String) {
        let names = self.names.lock();
        let node = names.1.get((current >> 32) as usize).cloned();
        let origin = names.0.get((current & 0xffff_ffff) as usize).cloned();
        (
            node.unwrap_or_else(|| "?".into()),
            origin.unwrap_or_else(|| "?".into()),
        )
    }
}

/// What an executor's time is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// Virtual time: it jumps to the next timer when no task can run (a simulation).
    Virtual,
    /// The wall clock, counted from this instant (a real process).
    Real(std::time::Instant),
}

/// On the wall clock, how many polls may run before due timers get their turn: a stream of
/// ready tasks must not starve a heartbeat.
const REAL_POLLS_BETWEEN_TIMERS: u32 = 64;

/// The state of one simulation. Lives on the simulation's thread, reached through a
/// thread-local by every function of this module.
pub(crate) struct Core {
    pub(crate) seed: u64,
    time_limit: u64,
    clock: Clock,
    now: Cell<u64>,
    tasks: RefCell<Slab<Task>>,
    ready: Arc<ReadyQueue>,
    timers: RefCell<(Timers, Slab<Timer>)>,
    pub(crate) nodes: RefCell<Vec<NodeState>>,
    current_node: Cell<Node>,
    trace: RefCell<Trace>,
    failure: RefCell<Option<SimError>>,
    pub(crate) heartbeat: Arc<Heartbeat>,
    /// Origin ids by key (each call site has one static `Location`).
    locations: RefCell<FxHashMap<OriginKey, u32>>,
    /// Picks the next task among the ready ones.
    scheduler: RefCell<DetRng>,
    counters: Cell<(u64, u64)>,
    /// Wakers of finished tasks that nobody else holds, reused by later spawns.
    spare_wakers: RefCell<Vec<Arc<TaskWaker>>>,
    next_id: Cell<u64>,
    closed: Cell<bool>,
    /// In search mode, the pending messages, actions and invariants, and the chooser.
    pub(crate) search: RefCell<Option<super::search::SearchState>>,
}

thread_local! {
    static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// The index of the node whose code runs on this thread (`u32::MAX` outside a
    /// simulation): a copy of `Core::current_node` that can be read without touching the
    /// simulation, e.g. from a global allocator.
    static RUNNING_NODE: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// The index of the node whose code runs on this thread, if a simulation runs here. Reads one
/// thread-local cell: it never allocates, never panics, and may be called from anywhere,
/// including a global allocator (after the thread's locals are gone it answers `None`).
pub(crate) fn running_node_index() -> Option<u32> {
    RUNNING_NODE
        .try_with(Cell::get)
        .ok()
        .filter(|&n| n != u32::MAX)
}

/// Runs `f` with the current simulation.
///
/// # Panics
/// Outside a simulation: labrpc's clock, tasks and network only exist inside one.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> R {
    try_with_core(f).expect(
        "labrpc: this needs a running simulation (call it from code run by labrpc::sim::Sim::run)",
    )
}

/// Runs `f` with the current simulation, if there is one.
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.try_with(|slot| {
        let core = slot.borrow().clone();
        core.map(|core| f(&core))
    })
    .ok()
    .flatten()
}

/// The node that owns the simulation's own test code.
pub(crate) const TEST_NODE: Node = Node(0);

impl Core {
    /// An executor on `clock` (on the wall clock, for the calling thread, which must be the
    /// one that runs it).
    pub(crate) fn new(seed: u64, time_limit: u64, trace: TraceMode, clock: Clock) -> Rc<Core> {
        let heartbeat = Arc::new(Heartbeat {
            polls: AtomicU64::new(0),
            in_poll: AtomicBool::new(false),
            current: AtomicU64::new(0),
            now: AtomicU64::new(0),
            names: Mutex::new((Vec::new(), Vec::new())),
        });
        let core = Rc::new(Core {
            seed,
            time_limit,
            clock,
            now: Cell::new(0),
            tasks: RefCell::new(Slab::new()),
            ready: Arc::new(ReadyQueue {
                queue: Mutex::new(Vec::new()),
                executor: match clock {
                    Clock::Virtual => None,
                    Clock::Real(_) => Some(std::thread::current()),
                },
            }),
            timers: RefCell::new((Timers::default(), Slab::new())),
            nodes: RefCell::new(Vec::new()),
            current_node: Cell::new(TEST_NODE),
            trace: RefCell::new(Trace::new(trace)),
            failure: RefCell::new(None),
            heartbeat,
            locations: RefCell::new(FxHashMap::default()),
            scheduler: RefCell::new(DetRng::derive(seed, &[u64::MAX - 1])),
            counters: Cell::new((0, 0)),
            spare_wakers: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            closed: Cell::new(false),
            search: RefCell::new(None),
        });
        // The node of the code given to `run`: the test's own, or a real process's main.
        core.add_node(match clock {
            Clock::Virtual => "test".into(),
            Clock::Real(_) => "main".into(),
        });
        core
    }

    /// Makes `core` the current simulation of this thread until the guard is dropped.
    pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
        CORE.with(|slot| *slot.borrow_mut() = Some(core.clone()));
        RUNNING_NODE.with(|n| n.set(TEST_NODE.0));
        EnterGuard
    }

    pub(crate) fn now(&self) -> Instant {
        if let Clock::Real(start) = self.clock {
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.now.set(nanos.max(self.now.get()));
        }
        Instant::from_nanos(self.now.get())
    }

    /// True if time is the wall clock (a real process), not virtual.
    pub(crate) fn is_real(&self) -> bool {
        matches!(self.clock, Clock::Real(_))
    }

    /// A fresh id, unique within the simulation (RPC ids and the like).
    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    pub(crate) fn current_node(&self) -> Node {
        self.current_node.get()
    }

    /// Makes `node` the running node; returns the one that was.
    fn switch_node(&self, node: Node) -> Node {
        let _ = RUNNING_NODE.try_with(|n| n.set(node.0));
        self.current_node.replace(node)
    }

    /// Runs `f` as if `node` were the running node (spawns inside belong to it).
    pub(crate) fn as_node<R>(&self, node: Node, f: impl FnOnce() -> R) -> R {
        let saved = self.switch_node(node);
        let guard = RestoreNode(self, saved);
        let result = f();
        drop(guard);
        result
    }

    pub(crate) fn record(&self, node: Node, what: What) {
        let event = Event {
            at: self.now(),
            node,
            what,
        };
        self.trace.borrow_mut().record(event);
    }

    pub(crate) fn annotate(&self, node: Node, what: What) {
        let event = Event {
            at: self.now(),
            node,
            what,
        };
        self.trace.borrow_mut().annotate(event);
    }

    pub(crate) fn keeps_annotations(&self) -> bool {
        self.trace.borrow().is_full()
    }

    /// Adds to the simulation-wide RPC and byte counters.
    pub(crate) fn count(&self, rpcs: u64, bytes: u64) {
        let (r, b) = self.counters.get();
        self.counters.set((r + rpcs, b + bytes));
    }

    pub(crate) fn counters(&self) -> (u64, u64) {
        self.counters.get()
    }

    pub(crate) fn fail(&self, error: SimError) {
        let mut failure = self.failure.borrow_mut();
        if failure.is_none() {
            *failure = Some(error);
        }
    }

    // ---- nodes ----

    pub(crate) fn add_node(&self, name: String) -> Node {
        let mut nodes = self.nodes.borrow_mut();
        let id = Node(nodes.len() as u32);
        nodes.push(NodeState {
            name: name.clone(),
            up: true,
            incarnation: 0,
            rng: DetRng::derive(self.seed, &[u64::from(id.0), 0]),
        });
        self.heartbeat.names.lock().1.push(name);
        id
    }

    pub(crate) fn node_names(&self) -> Vec<String> {
        self.nodes.borrow().iter().map(|n| n.name.clone()).collect()
    }

    pub(crate) fn node_name(&self, node: Node) -> String {
        self.nodes.borrow()[node.0 as usize].name.clone()
    }

    pub(crate) fn is_up(&self, node: Node) -> bool {
        self.nodes.borrow()[node.0 as usize].up
    }

    /// Stops every task of `node` and marks it down.
    pub(crate) fn crash(&self, node: Node) {
        assert!(node != TEST_NODE, "labrpc: the test node cannot crash");
        {
            let mut nodes = self.nodes.borrow_mut();
            let state = &mut nodes[node.0 as usize];
            if !state.up {
                return;
            }
            state.up = false;
            state.incarnation += 1;
        }
        self.record(node, What::Crash);
        let doomed = self
            .tasks
            .borrow_mut()
            .remove_where(|task| task.node == node);
        // Dropping futures runs their destructors, which may use the simulation.
        self.as_node(node, || drop_quietly(doomed));
    }

    /// Brings a crashed node back up, with no tasks and a fresh random stream.
    pub(crate) fn restart(&self, node: Node) {
        if self.is_up(node) {
            self.crash(node);
        }
        {
            let mut nodes = self.nodes.borrow_mut();
            let state = &mut nodes[node.0 as usize];
            state.up = true;
            state.incarnation += 1;
            state.rng = DetRng::derive(
                self.seed,
                &[u64::from(node.0), u64::from(state.incarnation)],
            );
        }
        self.record(node, What::Restart);
    }

    // ---- tasks ----

    fn origin_id(&self, origin: Origin) -> u32 {
        let mut origins = self.locations.borrow_mut();
        let next = origins.len() as u32;
        let key = match origin {
            Origin::Spawn(location) => OriginKey::Spawn(std::ptr::from_ref(location) as usize),
            Origin::Handler { service, method } => OriginKey::Handler(service, method),
            Origin::Delivery { service, method } => OriginKey::Delivery(service, method),
        };
        *origins.entry(key).or_insert_with(|| {
            let description = match origin {
                Origin::Spawn(location) => format!("spawned at {location}"),
                Origin::Handler { service, method } => format!("handler of {service}.{method}"),
                Origin::Delivery { service, method } => {
                    format!("network delivery of a {service}.{method} request")
                }
            };
            self.heartbeat.names.lock().0.push(description);
            next
        })
    }

    /// Adds a task owned by `node`. Returns false (dropping the future) if the node is down
    /// or the simulation is over.
    pub(crate) fn spawn(&self, node: Node, future: BoxFuture, origin: Origin) -> bool {
        let incarnation = {
            let nodes = self.nodes.borrow();
            let state = &nodes[node.0 as usize];
            if !state.up || self.closed.get() {
                None
            } else {
                Some(state.incarnation)
            }
        };
        let Some(incarnation) = incarnation else {
            drop_quietly(future);
            return false;
        };
        let location = self.origin_id(origin);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.free.last().copied();
        let (index, generation) = match entry {
            Some(i) => (i, tasks.slots[i as usize].0),
            None => (tasks.slots.len() as u32, 0),
        };
        let key = TaskKey { index, generation };
        let spare = self.spare_wakers.borrow_mut().pop();
        let waker = match spare.and_then(|mut w| Arc::get_mut(&mut w).is_some().then_some(w)) {
            Some(mut waker) => {
                let reused = Arc::get_mut(&mut waker).expect("checked unique");
                reused.key = key;
                *reused.queued.get_mut() = true;
                waker
            }
            None => Arc::new(TaskWaker {
                key,
                queued: AtomicBool::new(true),
                ready: self.ready.clone(),
            }),
        };
        let inserted = tasks.insert(Task {
            future: Some(future),
            node,
            incarnation,
            location,
            waker,
            last_poll: self.now.get(),
        });
        debug_assert_eq!(inserted, (index, generation));
        self.ready.queue.lock().push(key);
        true
    }

    fn poll_task(&self, key: TaskKey) {
        let taken = {
            let mut tasks = self.tasks.borrow_mut();
            let now = self.now.get();
            tasks.get_mut(key.index, key.generation).and_then(|task| {
                task.last_poll = now;
                let future = task.future.take()?;
                Some((
                    future,
                    task.waker.clone(),
                    task.node,
                    task.incarnation,
                    task.location,
                ))
            })
        };
        let Some((mut future, waker, node, incarnation, location)) = taken else {
            return; // a stale wake of a finished or killed task
        };
        waker.queued.store(false, Ordering::Release);
        let alive = {
            let nodes = self.nodes.borrow();
            let state = &nodes[node.0 as usize];
            state.up && state.incarnation == incarnation
        };
        if !alive {
            self.tasks.borrow_mut().remove(key.index, key.generation);
            self.as_node(node, || drop_quietly(future));
            return;
        }

        let beat = &self.heartbeat;
        beat.current.store(
            (u64::from(node.0) << 32) | u64::from(location),
            Ordering::Relaxed,
        );
        beat.in_poll.store(true, Ordering::Release);
        let saved = self.switch_node(node);
        let std_waker = Waker::from(waker);
        let mut cx = Context::from_waker(&std_waker);
        let result = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        self.switch_node(saved);
        beat.in_poll.store(false, Ordering::Release);
        beat.polls.fetch_add(1, Ordering::Relaxed);

        match result {
            Ok(Poll::Pending) => {
                let mut tasks = self.tasks.borrow_mut();
                if let Some(task) = tasks.get_mut(key.index, key.generation) {
                    task.future = Some(future);
                    return;
                }
                // The task was killed while it ran (its node crashed itself).
                drop(tasks);
                self.as_node(node, || drop_quietly(future));
            }
            Ok(Poll::Ready(())) => {
                drop(std_waker);
                let task = self.tasks.borrow_mut().remove(key.index, key.generation);
                // Nobody else holds the finished task's waker: keep it for the next spawn.
                if let Some(task) = task
                    && Arc::strong_count(&task.waker) == 1
                {
                    self.spare_wakers.borrow_mut().push(task.waker);
                }
                self.as_node(node, || drop_quietly(future));
            }
            Err(payload) => {
                self.tasks.borrow_mut().remove(key.index, key.generation);
                let task_location = self.heartbeat.describe(u64::from(location)).1;
                self.fail(super::panic_error(self, node, task_location, payload));
                drop_quietly(future);
            }
        }
    }

    /// Runs tasks and advances time until `done()` or a failure.
    pub(crate) fn run(&self, done: impl Fn() -> bool) -> Result<(), SimError> {
        let real = self.is_real();
        let mut ready = Vec::new();
        loop {
            let mut polls = 0;
            loop {
                ready.append(&mut self.ready.queue.lock());
                if ready.is_empty() {
                    break;
                }
                let pick = self.scheduler.borrow_mut().below(ready.len() as u64) as usize;
                let key = ready.swap_remove(pick);
                self.poll_task(key);
                if let Some(error) = self.failure.borrow_mut().take() {
                    return Err(error);
                }
                if done() {
                    return Ok(());
                }
                if real {
                    polls += 1;
                    if polls == REAL_POLLS_BETWEEN_TIMERS {
                        break;
                    }
                }
            }
            if done() {
                return Ok(());
            }
            if real {
                self.wait_real(ready.is_empty());
            } else if self.search.borrow().is_some() {
                super::search::step(self)?;
            } else {
                self.advance_time()?;
            }
        }
    }

    /// On the wall clock: fires the timers that are due; if none was and `idle` (no task is
    /// ready), parks the thread until the next deadline or until a task is woken.
    fn wait_real(&self, idle: bool) {
        let now = self.now().as_nanos();
        let mut fired = Vec::new();
        let mut next_deadline = None;
        {
            let mut timers = self.timers.borrow_mut();
            let (queue, slots) = &mut *timers;
            while let Some(&Reverse((deadline, _, index, generation))) = queue.heap.peek() {
                if slots.get_mut(index, generation).is_none() {
                    queue.heap.pop(); // cancelled
                    continue;
                }
                if deadline > now {
                    next_deadline = Some(deadline);
                    break;
                }
                queue.heap.pop();
                fired.extend(slots.remove(index, generation));
            }
        }
        if !fired.is_empty() {
            for timer in fired {
                self.record(timer.node, What::Timer);
                timer.waker.wake();
            }
            return;
        }
        if !idle || !self.ready.queue.lock().is_empty() {
            return;
        }
        // A wake from another thread after the check above leaves the thread's unpark token
        // set, so the park returns at once: no wake is lost.
        match next_deadline {
            Some(deadline) => std::thread::park_timeout(Duration::from_nanos(deadline - now)),
            None => std::thread::park(),
        }
    }

    /// True if a timer is pending (not cancelled).
    pub(crate) fn has_timers(&self) -> bool {
        let mut timers = self.timers.borrow_mut();
        let (queue, slots) = &mut *timers;
        while let Some(&Reverse((_, _, index, generation))) = queue.heap.peek() {
            if slots.get_mut(index, generation).is_some() {
                return true;
            }
            queue.heap.pop(); // cancelled
        }
        false
    }

    /// Which nodes' timers fire next, and when ("timer of s1 at 0.312s"), for stories.
    pub(crate) fn next_timers(&self) -> String {
        let timers = self.timers.borrow();
        let (queue, slots) = &*timers;
        let mut live: Vec<(u64, u64, Node)> = queue
            .heap
            .iter()
            .filter_map(|&Reverse((deadline, seq, index, generation))| {
                let slot = slots.slots.get(index as usize)?;
                let timer = slot.1.as_ref().filter(|_| slot.0 == generation)?;
                Some((deadline, seq, timer.node))
            })
            .collect();
        live.sort_unstable();
        let Some(&(first, _, _)) = live.first() else {
            return String::new();
        };
        let mut names: Vec<String> = live
            .iter()
            .take_while(|t| t.0 == first)
            .map(|t| self.node_name(t.2))
            .collect();
        names.dedup();
        format!(
            "timer of {} at {}",
            names.join(", "),
            Instant::from_nanos(first)
        )
    }

    /// Moves the clock to the earliest timer and fires every timer due then.
    pub(crate) fn advance_time(&self) -> Result<(), SimError> {
        let mut fired = Vec::new();
        {
            let mut timers = self.timers.borrow_mut();
            let (queue, slots) = &mut *timers;
            while let Some(&Reverse((deadline, _, index, generation))) = queue.heap.peek() {
                if !fired.is_empty() && deadline > self.now.get() {
                    break;
                }
                queue.heap.pop();
                let Some(timer) = slots.remove(index, generation) else {
                    continue; // cancelled
                };
                if fired.is_empty() {
                    if deadline > self.time_limit {
                        return Err(SimError::TimeLimit {
                            limit: Instant::from_nanos(self.time_limit).since_start(),
                            waiting: self.longest_waiting(),
                        });
                    }
                    self.now.set(self.now.get().max(deadline));
                    self.heartbeat.now.store(self.now.get(), Ordering::Relaxed);
                }
                fired.push(timer);
            }
        }
        if fired.is_empty() {
            return Err(SimError::Deadlock {
                at: self.now(),
                tasks: self.describe_tasks(),
            });
        }
        for timer in fired {
            self.record(timer.node, What::Timer);
            timer.waker.wake();
        }
        Ok(())
    }

    /// The tasks that have waited longest (at least 10 s of virtual time) without running,
    /// longest first, at most ten, one line each: what a test stuck at its time limit was
    /// waiting for. The servers' and clients' tasks come before the test node's, which mostly
    /// wait for them.
    fn longest_waiting(&self) -> Vec<String> {
        const AT_LEAST: u64 = 10_000_000_000;
        let now = self.now.get();
        let tasks = self.tasks.borrow();
        let mut waiting: Vec<((bool, u64), String)> = tasks
            .slots
            .iter()
            .filter_map(|(_, task)| task.as_ref())
            .filter(|task| now.saturating_sub(task.last_poll) >= AT_LEAST)
            .map(|task| {
                let (node, location) = self
                    .heartbeat
                    .describe((u64::from(task.node.0) << 32) | u64::from(task.location));
                let since = Instant::from_nanos(task.last_poll);
                (
                    (task.node == TEST_NODE, task.last_poll),
                    format!("task of {node} {location}, waiting since {since}"),
                )
            })
            .collect();
        waiting.sort();
        waiting.into_iter().take(10).map(|(_, line)| line).collect()
    }

    /// One line per live task: its node and where it was spawned.
    pub(crate) fn describe_tasks(&self) -> Vec<String> {
        let tasks = self.tasks.borrow();
        tasks
            .slots
            .iter()
            .filter_map(|(_, task)| task.as_ref())
            .map(|task| {
                let (node, location) = self
                    .heartbeat
                    .describe((u64::from(task.node.0) << 32) | u64::from(task.location));
                format!("task of {node} {location}")
            })
            .collect()
    }

    // ---- timers ----

    pub(crate) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let mut timers = self.timers.borrow_mut();
        let (queue, slots) = &mut *timers;
        let (index, generation) = slots.insert(Timer {
            waker,
            node: self.current_node.get(),
        });
        queue.seq += 1;
        queue
            .heap
            .push(Reverse((deadline.as_nanos(), queue.seq, index, generation)));
        TimerKey { index, generation }
    }

    /// Replaces the waker of a pending timer; false if the timer no longer exists.
    pub(crate) fn update_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut timers = self.timers.borrow_mut();
        match timers.1.get_mut(key.index, key.generation) {
            Some(timer) => {
                if !timer.waker.will_wake(waker) {
                    timer.waker = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        let removed = self.timers.borrow_mut().1.remove(key.index, key.generation);
        drop(removed);
    }

    /// Trace and virtual time at the end of a run.
    pub(crate) fn take_trace(&self) -> Trace {
        std::mem::replace(&mut self.trace.borrow_mut(), Trace::new(TraceMode::Recent))
    }

    pub(crate) fn trace_hash(&self) -> (u64, u64) {
        let trace = self.trace.borrow();
        (trace.hash(), trace.len())
    }

    /// Drops every remaining task and timer; later spawns are refused.
    pub(crate) fn shut_down(&self) {
        self.closed.set(true);
        loop {
            let tasks = self.tasks.borrow_mut().remove_where(|_| true);
            if tasks.is_empty() {
                break;
            }
            drop_quietly(tasks);
        }
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop(timers);
    }
}

impl Default for Slab<Timer> {
    fn default() -> Self {
        Slab::new()
    }
}

/// Drops a value, swallowing a panic from its destructor (a crashed node's leftovers must not
/// take the simulation down with them).
fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

struct RestoreNode<'a>(&'a Core, Node);

impl Drop for RestoreNode<'_> {
    fn drop(&mut self) {
        self.0.switch_node(self.1);
    }
}

/// Clears the thread's current simulation when dropped.
pub(crate) struct EnterGuard;

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = CORE.try_with(|slot| slot.borrow_mut().take());
        let _ = RUNNING_NODE.try_with(|n| n.set(u32::MAX));
    }
}
