//! Search mode: a run's nondeterminism as explicit choices.
//!
//! In a search ([`super::Sim::search`]) the network draws no delays and no losses. Every
//! request and every reply waits as a *pending message* until a [`Chooser`] delivers or drops
//! it. Whenever no task can run, the executor offers the chooser the moment's options
//! ([`ChoicePoint`]): deliver or drop each pending message, fire the next timer (virtual time
//! moves on; the messages still pending are *held* past it), or run one of the scenario's
//! [`action`]s (crash a server, restart it). The chosen step runs until no task can run, the
//! scenario's [`invariant`]s are checked, and the next choice is asked for, until the test's
//! main future returns.
//!
//! A run is then a function of its seed and of its list of choices. Each option has a label
//! that names it the same way in every run that reaches it ("deliver s0->s1 Raft.RequestVote
//! #0": the first RequestVote from `s0` to `s1`), so a list of labels replays a run, and an
//! option of one run can be recognised in another (which partial-order reduction needs).
//! Timer durations are not choices: what a search explores is the order of timer firings
//! relative to deliveries, drops and actions. `labtest::search` enumerates the lists.
//!
//! ```
//! use labrpc::sim::search::{ChoicePoint, Chooser};
//! use labrpc::sim::{self, Node, Sim};
//! use parking_lot::Mutex;
//! use std::sync::Arc;
//!
//! /// Always drops a message when it can.
//! struct Dropper(Vec<String>);
//! impl Chooser for Dropper {
//!     fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
//!         let pick = point.options.iter().position(|o| o.label.starts_with("drop"));
//!         let pick = pick.unwrap_or(point.default);
//!         self.0.push(point.options[pick].label.to_string());
//!         pick
//!     }
//! }
//!
//! labrpc::service! { service Echo { rpc Shout(String) -> String; } }
//! let chooser = Arc::new(Mutex::new(Dropper(Vec::new())));
//! let outcome = Sim::new(1).search(chooser.clone()).run(|| async {
//!     let net = labrpc::Network::new();
//!     let mut server = labrpc::Server::new(Node::new("server"));
//!     server.add_service(labrpc::Service::new().handle(Shout, |s: String| async move { s }));
//!     net.add_server("server", server);
//!     let end = net.make_end("client");
//!     net.connect("client", "server");
//!     net.enable("client", true);
//!     end.call::<Shout>(&"hi".to_string()).await
//! });
//! assert!(outcome.unwrap().value.is_err());
//! assert_eq!(chooser.lock().0, ["drop test->server Echo.Shout #0"]);
//! ```

use super::executor::{Core, TEST_NODE};
use super::{Instant, Node, SimError};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Picks one option at each choice point of a search run.
pub trait Chooser {
    /// The index (into `point.options`) of the step to take.
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize;

    /// False once the chooser would take the default at every later choice point: the
    /// executor then takes it without building the options (deliver the oldest pending
    /// message, or fire the next timer). Actions are never taken by default.
    fn wants_choices(&self) -> bool {
        true
    }

    /// True if the chooser wants each node's state before every choice point (see
    /// [`Chooser::states`]) and which nodes' timers an option to fire would fire: a story
    /// needs them, a search does not.
    fn wants_states(&self) -> bool {
        false
    }

    /// Each node's state, one line each as the scenario's [`describe`] words it, whenever no
    /// task can run (before the invariants are checked and the next choice is asked for).
    /// Called only for a chooser that [wants them](Chooser::wants_states).
    fn states(&mut self, _at: Instant, _states: Vec<String>) {}

    /// The scenario's prune `name` held: the run takes defaults from now on.
    fn pruned(&mut self, _name: &str) {}
}

/// What an option does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Hand a pending message to its receiver.
    Deliver,
    /// Lose a pending message: its caller sees no reply at once.
    Drop,
    /// Move virtual time to the next timer and fire it (holding every pending message).
    Fire,
    /// Run one of the scenario's actions.
    Act,
}

/// One option of a choice point.
#[derive(Clone, Debug)]
pub struct Choice {
    /// What it does.
    pub step: Step,
    /// Its name, the same in every run that offers it: a choice file is a list of labels.
    pub label: Arc<str>,
    /// The one node whose state the step touches, or `None` if it may touch any (a timer, an
    /// action). Steps that touch different nodes commute.
    pub touches: Option<Node>,
    /// For a message: true if it is a reply.
    pub reply: bool,
    /// For a chooser that [wants states](Chooser::wants_states), what firing does: "timer
    /// of s1 at 0.312s". Empty otherwise.
    pub detail: String,
    target: Target,
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Message(u64),
    Timer,
    Action(usize),
}

impl Choice {
    /// True if taking `self` and `other` in either order leads to the same state (they touch
    /// different nodes and are not the same message).
    pub fn independent_of(&self, other: &Choice) -> bool {
        match (self.touches, other.touches) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }
}

/// The moment's options, offered to the [`Chooser`] whenever no task can run.
#[derive(Debug)]
pub struct ChoicePoint<'a> {
    /// Every option: deliver and drop for each pending message (oldest first), then fire, then
    /// the enabled actions.
    pub options: &'a [Choice],
    /// The option a run takes when nobody chooses: deliver the oldest pending message (of a
    /// link not [held](hold_link)), or fire the next timer when there is none.
    pub default: usize,
    /// Virtual time now.
    pub at: Instant,
    /// Number of pending messages.
    pub pending: usize,
}

/// The chooser of a search run, shared with whoever reads what it recorded.
#[derive(Clone)]
pub struct SharedChooser(pub Arc<Mutex<dyn Chooser + Send>>);

impl fmt::Debug for SharedChooser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedChooser")
    }
}

/// What becomes of a pending message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    Deliver,
    Drop,
}

#[derive(Default)]
struct Slot {
    fate: Option<Fate>,
    waker: Option<Waker>,
}

struct Pending {
    id: u64,
    deliver: Arc<str>,
    drop: Arc<str>,
    from: Node,
    to: Node,
    reply: bool,
    slot: Rc<RefCell<Slot>>,
}

#[derive(Clone)]
struct Action {
    label: Arc<str>,
    enabled: Rc<dyn Fn() -> bool>,
    run: Rc<dyn Fn()>,
}

type Invariant = (Rc<str>, Rc<dyn Fn()>);

/// The search-mode state of a simulation.
pub(crate) struct SearchState {
    chooser: SharedChooser,
    pending: Vec<Pending>,
    next_id: u64,
    /// Messages so far per (from, to, reply, method): the `#n` of a label.
    sequence: BTreeMap<(u32, u32, bool, &'static str, &'static str), u32>,
    actions: Vec<Action>,
    invariants: Vec<Invariant>,
    describe: Option<Rc<dyn Fn() -> Vec<String>>>,
    /// While paused, every choice point takes its default without asking the chooser.
    paused: bool,
    /// Links (from, to) whose messages no default delivers (see [`hold_link`]).
    held: BTreeSet<(u32, u32)>,
    prunes: Vec<Prune>,
    /// Set once a prune held: the run takes defaults from then on.
    pruned: bool,
}

type Prune = (Rc<str>, Rc<dyn Fn() -> bool>);

impl SearchState {
    /// The oldest pending message that no held link keeps back.
    fn oldest_free(&self) -> Option<usize> {
        self.pending
            .iter()
            .position(|p| !self.held.contains(&(p.from.index(), p.to.index())))
    }
}

impl SearchState {
    pub(crate) fn new(chooser: SharedChooser) -> SearchState {
        SearchState {
            chooser,
            pending: Vec::new(),
            next_id: 0,
            sequence: BTreeMap::new(),
            actions: Vec::new(),
            invariants: Vec::new(),
            describe: None,
            paused: false,
            held: BTreeSet::new(),
            prunes: Vec::new(),
            pruned: false,
        }
    }
}

/// True if this thread runs a simulation in search mode.
pub fn active() -> bool {
    super::executor::try_with_core(|core| core.search.borrow().is_some()).unwrap_or(false)
}

fn with_search<R>(what: &str, f: impl FnOnce(&mut SearchState) -> R) -> R {
    super::executor::with_core(|core| {
        let mut search = core.search.borrow_mut();
        let state = search
            .as_mut()
            .unwrap_or_else(|| panic!("labrpc: {what} needs a simulation in search mode"));
        f(state)
    })
}

/// Offers `label` as an option at every choice point where `enabled()` holds; choosing it
/// runs `run` on the test node. For faults a search explores at every point: "crash s1" with
/// `enabled` true while server 1 is up.
pub fn action(
    label: impl Into<String>,
    enabled: impl Fn() -> bool + 'static,
    run: impl Fn() + 'static,
) {
    let label: Arc<str> = label.into().into();
    with_search("search::action", |state| {
        state.actions.push(Action {
            label,
            enabled: Rc::new(enabled),
            run: Rc::new(run),
        })
    });
}

/// Checks `check` at every choice point (whenever no task can run); a panic in it fails the
/// run as a broken invariant named `name`.
pub fn invariant(name: impl Into<String>, check: impl Fn() + 'static) {
    let name: Rc<str> = name.into().into();
    with_search("search::invariant", |state| {
        state.invariants.push((name, Rc::new(check)))
    });
}

/// Cuts the search short where `uninteresting` holds: from the first choice point where it
/// returns true, the run offers no more choices and takes the defaults to its end, and the
/// chooser hears of it ([`Chooser::pruned`]). For branches nothing can go wrong in any more
/// ("every server knows the leader").
pub fn prune(name: impl Into<String>, uninteresting: impl Fn() -> bool + 'static) {
    let name: Rc<str> = name.into().into();
    with_search("search::prune", |state| {
        state.prunes.push((name, Rc::new(uninteresting)))
    });
}

/// Stops offering choices: until [`resume`], the run takes the default at every choice point
/// (deliver the oldest message, fire the next timer), so a scenario can set up the state its
/// search starts from (elect a leader, commit entries) without searching the setup.
pub fn pause() {
    with_search("search::pause", |state| state.paused = true);
}

/// Offers choices again after [`pause`].
pub fn resume() {
    with_search("search::resume", |state| state.paused = false);
}

/// Keeps the messages from `from` to `to` pending: no default step delivers them (a search
/// may still choose to) until [`release_link`]. A scenario's setup holds the messages its
/// search starts with: vote requests on their way, acknowledgements the network keeps late.
pub fn hold_link(from: Node, to: Node) {
    with_search("search::hold_link", |state| {
        state.held.insert((from.index(), to.index()))
    });
}

/// Lets defaults deliver the messages from `from` to `to` again (see [`hold_link`]).
pub fn release_link(from: Node, to: Node) {
    with_search("search::release_link", |state| {
        state.held.remove(&(from.index(), to.index()))
    });
}

fn state_paused(core: &Core) -> bool {
    core.search.borrow().as_ref().is_some_and(|s| s.paused)
}

/// How the scenario describes its nodes' states (one line each), for stories.
pub fn describe(states: impl Fn() -> Vec<String> + 'static) {
    with_search("search::describe", |state| {
        state.describe = Some(Rc::new(states))
    });
}

/// A message held by the network until the chooser decides its fate.
pub(crate) struct Held {
    id: u64,
    slot: Rc<RefCell<Slot>>,
}

/// Makes a message pending (the network's half of a search): resolves when the chooser
/// delivers or drops it.
pub(crate) fn hold(
    from: Node,
    to: Node,
    reply: bool,
    service: &'static str,
    method: &'static str,
) -> Held {
    super::executor::with_core(|core| {
        let from_name = core.node_name(from);
        let to_name = core.node_name(to);
        let mut search = core.search.borrow_mut();
        let state = search.as_mut().expect("hold: search mode");
        let n = state
            .sequence
            .entry((from.index(), to.index(), reply, service, method))
            .or_insert(0);
        let seq = *n;
        *n += 1;
        let what = if reply { " reply" } else { "" };
        let message = format!("{from_name}->{to_name} {service}.{method}{what} #{seq}");
        let id = state.next_id;
        state.next_id += 1;
        let slot = Rc::new(RefCell::new(Slot::default()));
        state.pending.push(Pending {
            id,
            deliver: format!("deliver {message}").into(),
            drop: format!("drop {message}").into(),
            from,
            to,
            reply,
            slot: slot.clone(),
        });
        Held { id, slot }
    })
}

impl Future for Held {
    type Output = Fate;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fate> {
        let mut slot = self.slot.borrow_mut();
        match slot.fate {
            Some(fate) => Poll::Ready(fate),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // A message whose waiter is gone (its caller crashed) is no longer an option.
        if self.slot.borrow().fate.is_none() {
            let id = self.id;
            super::executor::try_with_core(|core| {
                if let Some(state) = core.search.borrow_mut().as_mut() {
                    state.pending.retain(|p| p.id != id);
                }
            });
        }
    }
}

/// Runs `f` as the test node, turning a panic into the run's failure.
fn guarded(core: &Core, what: &str, f: impl FnOnce()) -> Result<(), SimError> {
    core.as_node(TEST_NODE, || catch_unwind(AssertUnwindSafe(f)))
        .map_err(|payload| super::panic_error(core, TEST_NODE, what.to_string(), payload))
}

/// The executor's step when no task can run in search mode: checks the invariants, then
/// takes the chooser's pick among the moment's options.
pub(crate) fn step(core: &Core) -> Result<(), SimError> {
    let (invariants, actions, describe, chooser) = {
        let search = core.search.borrow();
        let state = search.as_ref().expect("search mode");
        let actions = state.actions.clone();
        (
            state.invariants.clone(),
            actions,
            state.describe.clone(),
            state.chooser.clone(),
        )
    };
    let (wants_states, wants_choices) = {
        let chooser = chooser.0.lock();
        (chooser.wants_states(), chooser.wants_choices())
    };
    if wants_states && let Some(describe) = &describe {
        let mut states = Vec::new();
        guarded(core, "search::describe", || states = describe())?;
        chooser.0.lock().states(core.now(), states);
    }
    for (name, check) in &invariants {
        guarded(core, &format!("invariant {name}"), || check())?;
    }
    let (prunes, pruned) = {
        let search = core.search.borrow();
        let state = search.as_ref().expect("search mode");
        (state.prunes.clone(), state.pruned)
    };
    if !pruned && wants_choices && !state_paused(core) {
        for (name, uninteresting) in &prunes {
            let mut cut = false;
            guarded(core, &format!("prune {name}"), || cut = uninteresting())?;
            if cut {
                if let Some(state) = core.search.borrow_mut().as_mut() {
                    state.pruned = true;
                }
                chooser.0.lock().pruned(name);
                break;
            }
        }
    }
    let pruned = core.search.borrow().as_ref().is_some_and(|s| s.pruned);

    // A story goes on asking past a prune, to record every step.
    if !wants_choices || (pruned && !wants_states) || state_paused(core) {
        let oldest = {
            let mut search = core.search.borrow_mut();
            let state = search.as_mut().expect("search mode");
            state.oldest_free().map(|i| state.pending.remove(i).slot)
        };
        return match oldest {
            Some(slot) => {
                decide(&slot, Fate::Deliver);
                Ok(())
            }
            None => core.advance_time(),
        };
    }
    let mut options = Vec::new();
    {
        let search = core.search.borrow();
        let state = search.as_ref().expect("search mode");
        for p in &state.pending {
            options.push(Choice {
                step: Step::Deliver,
                label: p.deliver.clone(),
                touches: Some(p.to),
                reply: p.reply,
                detail: String::new(),
                target: Target::Message(p.id),
            });
            options.push(Choice {
                step: Step::Drop,
                label: p.drop.clone(),
                // A dropped request fails its call at once, on the caller's node.
                touches: Some(if p.reply { p.to } else { p.from }),
                reply: p.reply,
                detail: String::new(),
                target: Target::Message(p.id),
            });
        }
    }
    let pending = options.len() / 2;
    let oldest_free = core
        .search
        .borrow()
        .as_ref()
        .and_then(SearchState::oldest_free);
    if core.has_timers() {
        options.push(Choice {
            step: Step::Fire,
            label: "fire".into(),
            touches: None,
            reply: false,
            detail: if wants_states {
                core.next_timers()
            } else {
                String::new()
            },
            target: Target::Timer,
        });
    }
    for (index, action) in actions.iter().enumerate() {
        let mut on = false;
        guarded(core, &format!("action {}", action.label), || {
            on = (action.enabled)()
        })?;
        if on {
            options.push(Choice {
                step: Step::Act,
                label: action.label.clone(),
                touches: None,
                reply: false,
                detail: String::new(),
                target: Target::Action(index),
            });
        }
    }
    let fire = options.iter().position(|o| o.step == Step::Fire);
    // The oldest free message's delivery, or else fire.
    let default = match (oldest_free, fire) {
        (Some(i), _) => 2 * i,
        (None, Some(fire)) => fire,
        (None, None) => return core.advance_time(), // reports the deadlock
    };
    let point = ChoicePoint {
        options: &options,
        default,
        at: core.now(),
        pending,
    };
    let pick = chooser.0.lock().choose(&point);
    assert!(
        pick < options.len(),
        "labrpc: the chooser picked {pick} of {}",
        options.len()
    );
    let choice = &options[pick];
    match choice.target {
        Target::Message(id) => {
            let slot = {
                let mut search = core.search.borrow_mut();
                let state = search.as_mut().expect("search mode");
                let at = state
                    .pending
                    .iter()
                    .position(|p| p.id == id)
                    .expect("pending");
                state.pending.remove(at).slot
            };
            let fate = if choice.step == Step::Deliver {
                Fate::Deliver
            } else {
                Fate::Drop
            };
            decide(&slot, fate);
            Ok(())
        }
        Target::Timer => core.advance_time(),
        Target::Action(index) => {
            let run = actions[index].run.clone();
            guarded(core, &format!("action {}", choice.label), || run())
        }
    }
}

/// Settles a pending message's fate and wakes its waiter.
fn decide(slot: &RefCell<Slot>, fate: Fate) {
    let waker = {
        let mut slot = slot.borrow_mut();
        slot.fate = Some(fate);
        slot.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}
