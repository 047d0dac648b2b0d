//! The Raft tester (the original's `config.go`): builds a cluster of Raft peers on a
//! simulated network, crashes, restarts and partitions them, and checks what they apply.
//!
//! Every check panics with what it expected and what it saw; the panic fails the test, and
//! the lab harness adds the seed, the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use labrpc::rand::RngExt;
use labrpc::sim::{self, Node, search};
use labrpc::sync::mpsc;
use labrpc::{DeliveryKind, Network, Service};
use labtest::TestCx;
use labtest::cluster::{Group, GroupSpec, Incarnation, Started};
use raft::{
    AppendEntries, AppendEntriesReply, ApplyMsg, InstallSnapshot, Raft, RequestVote,
    RequestVoteReply, Start,
};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// "The tester generously allows solutions to complete elections in one second (much more
/// than the paper's range of timeouts)."
pub const RAFT_ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);

/// The snapshot applier asks Raft for a snapshot after every this many commands.
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// Upper bound on the persisted Raft state in the snapshot tests, in bytes.
pub const MAX_LOG_SIZE: usize = 2000;

/// How often the tester samples every server's `get_state` for the safety rules it checks
/// all the time (one leader per term, terms never going back, a leader stepping down when
/// its term rises).
pub const WATCH_INTERVAL: Duration = Duration::from_millis(10);

/// The commands the tests replicate: integers, and long strings for the byte-count test.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmd {
    /// A number.
    Int(i64),
    /// A string.
    Text(String),
}

impl From<i64> for Cmd {
    fn from(x: i64) -> Cmd {
        Cmd::Int(x)
    }
}

impl From<String> for Cmd {
    fn from(s: String) -> Cmd {
        Cmd::Text(s)
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cmd::Int(x) => write!(f, "{x}"),
            Cmd::Text(s) if s.len() > 16 => write!(f, "{:?}...({} chars)", &s[..16], s.len()),
            Cmd::Text(s) => write!(f, "{s:?}"),
        }
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Ways to break a cluster on purpose, to check that the tests catch broken Rafts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every peer refuses every vote (its RequestVote handler answers with a default reply).
    DenyVotes,
    /// Every peer refuses every AppendEntries (default reply), so nothing commits.
    RejectAppends,
    /// Server `server` applies a different command at `index` than the others.
    CorruptApply {
        /// The server whose apply is altered.
        server: usize,
        /// The index altered.
        index: u64,
    },
    /// `start()` is refused on every server, as a Raft whose `start` returns `None` does.
    RefuseStarts,
    /// Server `server` never applies `index` (its next apply is then out of order).
    SkipApply {
        /// The server whose apply is dropped.
        server: usize,
        /// The index dropped.
        index: u64,
    },
}

/// What the watcher remembers of the servers' `get_state` samples.
#[derive(Default)]
struct Watched {
    /// The highest term each server reported, across its incarnations.
    max_term: Vec<u64>,
    /// The leader of each term seen so far.
    leaders: BTreeMap<u64, usize>,
    /// Each server's last sample: its generation, term and whether it led.
    last: Vec<Option<(u64, u64, bool)>>,
    /// Who asked whom for votes: for each campaign, the servers whose RequestVote handler
    /// got a request from it. A leader must have asked a majority in its term.
    asked: BTreeMap<Campaign, BTreeSet<usize>>,
    /// Search tests only: the leaders' AppendEntries and InstallSnapshot calls in flight, by
    /// call id, with what the receiver's term was when the request reached it.
    leader_calls: BTreeMap<u64, LeaderCall>,
    /// Search tests only: leaders that got a reply from a server of a higher term, which
    /// must have stepped down by the next check.
    must_step_down: Vec<(LeaderCall, u64)>,
}

/// A call a leader made in its term (search tests).
#[derive(Clone, Copy)]
struct LeaderCall {
    leader: usize,
    generation: u64,
    term: u64,
    to: usize,
    /// The receiver's term when the request reached it (the reply carries at least this).
    receiver_term: Option<u64>,
}

/// One server incarnation's elections in one term.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Campaign {
    server: usize,
    generation: u64,
    term: u64,
}

struct State {
    /// The commands each server applied, by index.
    logs: Vec<BTreeMap<u64, Cmd>>,
    /// The last index each server applied (for the snapshot applier's order check).
    last_applied: Vec<u64>,
    max_index: u64,
    max_index0: u64,
    watched: Watched,
    /// Commands no server may apply for now, each with why (see [`Config::forbid_apply`]).
    forbidden: Vec<(Cmd, String)>,
}

struct Inner {
    cx: TestCx,
    n: usize,
    snapshot: bool,
    faults: Vec<Fault>,
    net: Network,
    group: OnceCell<Group<Raft<Cmd>>>,
    state: RefCell<State>,
}

/// A cluster under test. Cloning gives another handle to the same cluster (for client tasks).
#[derive(Clone)]
pub struct Config(Rc<Inner>);

/// A non-negative random integer from the test's own seeded stream (Go's `rand.Int()`).
pub fn rand_int() -> i64 {
    (sim::rng().random::<u64>() >> 1) as i64
}

/// A random number in `0..n` from the test's stream.
pub fn rand_below(n: u64) -> u64 {
    sim::rng().random_range(0..n)
}

/// A random string of `n` characters.
pub fn rand_string(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
    let mut rng = sim::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

impl Config {
    /// `make_config`: `n` peers on a network that is unreliable or not, with long delays for
    /// calls to disconnected peers; `snapshot` selects the applier that snapshots every
    /// [`SNAPSHOT_INTERVAL`] commands. Starts and connects every peer.
    pub fn new(cx: &TestCx, n: usize, unreliable: bool, snapshot: bool) -> Config {
        Config::with_faults(cx, n, unreliable, snapshot, &[])
    }

    /// Like [`Config::new`], with deliberate faults (for the tester's own tests).
    pub fn with_faults(
        cx: &TestCx,
        n: usize,
        unreliable: bool,
        snapshot: bool,
        faults: &[Fault],
    ) -> Config {
        let cfg = Config::build(cx, n, unreliable, snapshot, faults);
        let watcher = cfg.clone();
        sim::spawn(async move {
            loop {
                sim::sleep(WATCH_INTERVAL).await;
                watcher.watch();
            }
        });
        cfg
    }

    /// A cluster of `n` peers for a search test (`labtest::search`): the search decides every
    /// delivery, and the safety rules are checked at every choice point instead of every
    /// 10 ms. Registers the invariants and how each server's state reads in a story.
    pub fn for_search(cx: &TestCx, n: usize, snapshot: bool) -> Config {
        let cfg = Config::build(cx, n, false, snapshot, &[]);
        cfg.watch_replies();
        let watcher = cfg.clone();
        search::invariant(
            "Raft safety (one leader per term, terms never go back)",
            move || watcher.watch(),
        );
        let describer = cfg.clone();
        search::describe(move || (0..describer.n()).map(|i| describer.describe(i)).collect());
        cfg
    }

    /// Search tests: follows each leader's AppendEntries and InstallSnapshot calls, so that
    /// [`Config::watch`] can check Figure 2's "if an RPC response contains term T >
    /// currentTerm: set currentTerm = T, convert to follower" for the replies. A call counts
    /// only if its sender was leader of the term at the choice point before it sent it (a
    /// leader sends these calls only in its own term), and the reply's term is known to be
    /// at least the receiver's term when the request reached it.
    fn watch_replies(&self) {
        let net = &self.0.net;
        let observed = Rc::downgrade(&self.0);
        net.observe_sends(move |sent| {
            let leaders_call = sent.is::<AppendEntries<Cmd>>() || sent.is::<InstallSnapshot<Cmd>>();
            if let Some(inner) = observed.upgrade()
                && leaders_call
                && let Some(group) = inner.group.get()
                && let Some(from) = (0..group.n()).find(|&i| group.node(i) == sent.from)
                && let Some(to) = (0..group.n()).find(|&i| group.node(i) == sent.to)
            {
                let mut st = inner.state.borrow_mut();
                if let Some((generation, term, true)) = st.watched.last[from]
                    && generation == group.generation(from)
                {
                    let call = LeaderCall {
                        leader: from,
                        generation,
                        term,
                        to,
                        receiver_term: None,
                    };
                    st.watched.leader_calls.insert(sent.rpc, call);
                }
            }
        });
        let observed = Rc::downgrade(&self.0);
        net.observe(move |delivery| {
            let Some(inner) = observed.upgrade() else {
                return;
            };
            let Some(group) = inner.group.get() else {
                return;
            };
            let mut st = inner.state.borrow_mut();
            match delivery.kind {
                DeliveryKind::Request => {
                    if let Some(call) = st.watched.leader_calls.get_mut(&delivery.rpc) {
                        call.receiver_term = group.server(call.to).map(|rf| rf.get_state().0);
                    }
                }
                DeliveryKind::Reply => {
                    if let Some(call) = st.watched.leader_calls.remove(&delivery.rpc)
                        && let Some(receiver_term) = call.receiver_term
                        && receiver_term > call.term
                    {
                        st.watched.must_step_down.push((call, receiver_term));
                    }
                }
            }
        });
    }

    /// Offers crashing server `i` and restarting it at once, from what it persisted, as an
    /// action of a search at every choice point.
    pub fn search_restart(&self, i: usize) {
        let (up, restart) = (self.clone(), self.clone());
        search::action(
            format!("crash and restart server {i}"),
            move || up.raft(i).is_some(),
            move || {
                restart.start1(i);
                restart.connect(i);
            },
        );
    }

    /// Offers cutting server `i` off the network (until the scenario reconnects it) as an
    /// action of a search at every choice point.
    pub fn search_cut_off(&self, i: usize) {
        let (on, cut) = (self.clone(), self.clone());
        search::action(
            format!("cut off server {i}"),
            move || on.is_connected(i),
            move || cut.disconnect(i),
        );
    }

    /// Server `i`'s node (for the search's [`search::hold_link`]).
    pub fn node(&self, i: usize) -> Node {
        self.group().node(i)
    }

    /// True if one server leads and every running server is in its term (a search's prune:
    /// once an election is settled, what follows is not that election's story).
    pub fn leader_known_to_all(&self) -> bool {
        let states: Vec<Option<(u64, bool)>> = (0..self.0.n)
            .map(|i| self.raft(i).map(|rf| rf.get_state()))
            .collect();
        let top = states.iter().flatten().map(|s| s.0).max().unwrap_or(0);
        states.contains(&Some((top, true))) && states.iter().flatten().all(|s| s.0 == top)
    }

    /// A search's goal: within `within` of virtual time, one server leads and every running
    /// server is in its term. Returns the leader; panics, naming each server's state, if not.
    pub async fn settles_on_a_leader(&self, within: Duration) -> usize {
        let deadline = sim::now() + within;
        loop {
            if self.leader_known_to_all() {
                let leader =
                    (0..self.0.n).find(|&i| self.raft(i).is_some_and(|rf| rf.get_state().1));
                return leader.expect("a leader is known to all");
            }
            if sim::now() >= deadline {
                let states: Vec<String> = (0..self.0.n).map(|i| self.describe(i)).collect();
                panic!(
                    "no leader took charge within {within:?} once the network delivered every \
                     message: {}",
                    states.join("; ")
                );
            }
            sim::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One line of server `i`'s state for a story: its term and role, what it applied, and
    /// the size of its persisted state.
    fn describe(&self, i: usize) -> String {
        let st = self.0.state.borrow();
        let applied = &st.logs[i];
        let persister = self.group().persister(i);
        let role = match self.raft(i) {
            None => "down".to_string(),
            Some(rf) => {
                let (term, leader) = rf.get_state();
                format!(
                    "term {term} {}",
                    if leader {
                        "leader"
                    } else {
                        "follower/candidate"
                    }
                )
            }
        };
        let applied = match (applied.keys().next(), applied.keys().next_back()) {
            (Some(first), Some(last)) => format!("applied {first}..={last}"),
            _ => "applied nothing".to_string(),
        };
        format!(
            "server {i}: {role}, {applied}, persisted {} bytes of state and {} of snapshot",
            persister.raft_state_size(),
            persister.snapshot_size()
        )
    }

    fn build(cx: &TestCx, n: usize, unreliable: bool, snapshot: bool, faults: &[Fault]) -> Config {
        cx.set_peers(n);
        let net = Network::new();
        net.set_reliable(!unreliable);
        net.set_long_delays(true);
        let cfg = Config(Rc::new(Inner {
            cx: cx.clone(),
            n,
            snapshot,
            faults: faults.to_vec(),
            net: net.clone(),
            group: OnceCell::new(),
            state: RefCell::new(State {
                logs: vec![BTreeMap::new(); n],
                last_applied: vec![0; n],
                max_index: 0,
                max_index0: 0,
                watched: Watched {
                    max_term: vec![0; n],
                    last: vec![None; n],
                    ..Watched::default()
                },
                forbidden: Vec::new(),
            }),
        }));
        let test_node = Node::current();
        let factory = {
            let cfg = cfg.clone();
            move |start: Incarnation| cfg.start_raft(start, test_node)
        };
        let group = Group::new(&net, GroupSpec::new(n), factory);
        let _ = cfg.0.group.set(group);
        cfg.group().connect_all();
        // Vote requests as they reach a handler, to check that every leader asked a majority
        // in its term; and for the picture of the run, a server whose vote request arrives is
        // a candidate (the watcher's samples cannot tell one from a follower). Only the
        // sender's state is read: the arguments' fields are the student's to define.
        let observed = Rc::downgrade(&cfg.0);
        net.observe(move |delivery| {
            if delivery.kind == DeliveryKind::Request
                && delivery.args::<RequestVote<Cmd>>().is_some()
                && let Some(inner) = observed.upgrade()
                && let Some(group) = inner.group.get()
                && let Some(from) = (0..group.n()).find(|&i| group.node(i) == delivery.from)
                && let Some(to) = (0..group.n()).find(|&i| group.node(i) == delivery.to)
                && let Some(rf) = group.server(from)
            {
                let (term, leader) = rf.get_state();
                let campaign = Campaign {
                    server: from,
                    generation: group.generation(from),
                    term,
                };
                let mut st = inner.state.borrow_mut();
                st.watched.asked.entry(campaign).or_default().insert(to);
                if sim::annotating() && !leader {
                    sim::annotate(delivery.from, "raft", format!("term {term} candidate"));
                }
            }
        });
        cfg
    }

    /// Samples every running server's `get_state` and checks the safety rules that must hold
    /// at every moment, whether a server is connected or not; panics naming the rule, the
    /// servers and the terms.
    fn watch(&self) {
        let due = std::mem::take(&mut self.0.state.borrow_mut().watched.must_step_down);
        for (call, receiver_term) in due {
            let i = call.leader;
            if self.group().generation(i) == call.generation
                && let Some(rf) = self.raft(i)
                && rf.get_state() == (call.term, true)
            {
                panic!(
                    "server {i} still leads term {} after server {} answered its call from term \
                     {receiver_term} or later: a reply with a higher term must make a peer adopt \
                     it and step down (Figure 2, rules for all servers: \"if an RPC request or \
                     response contains term T > currentTerm: set currentTerm = T, convert to \
                     follower\")",
                    call.term, call.to
                );
            }
        }
        for i in 0..self.0.n {
            if let Some(rf) = self.raft(i) {
                let (term, leader) = rf.get_state();
                self.check_sample(i, self.group().generation(i), term, leader);
            }
        }
    }

    fn check_sample(&self, i: usize, generation: u64, term: u64, leader: bool) {
        let mut st = self.0.state.borrow_mut();
        let w = &mut st.watched;
        let previous = w.last[i].replace((generation, term, leader));
        if previous != Some((generation, term, leader)) && sim::annotating() {
            // The picture of the run (the course's trace tool): each server's term and role as sampled.
            let role = if leader { "leader" } else { "follower" };
            sim::annotate(self.group().node(i), "raft", format!("term {term} {role}"));
        }
        let restarted = previous.is_some_and(|(g, _, _)| g != generation);
        if term < w.max_term[i] {
            panic!(
                "server {i}'s term went backwards from {} to {term}{}: a server's current term \
                 never decreases (Figure 2: currentTerm is persistent state)",
                w.max_term[i],
                if restarted || previous.is_none() {
                    " across a restart; does it persist currentTerm before using it?"
                } else {
                    ""
                }
            );
        }
        w.max_term[i] = term;
        if leader && previous != Some((generation, term, true)) {
            // A leader new to this sample: it must have asked a majority for votes in its term.
            // (Sampling alone cannot tell a leader that kept leading into a higher term from
            // one that stepped down and won an election in it within one sampling interval.)
            let campaign = Campaign {
                server: i,
                generation,
                term,
            };
            let asked = w.asked.get(&campaign).map_or(0, BTreeSet::len);
            let needed = self.0.n / 2;
            if asked < needed {
                match previous {
                    Some((g, old_term, true)) if g == generation && term > old_term => panic!(
                        "server {i} stayed leader while its term rose from {old_term} to \
                         {term}: a leader that learns of a higher term must step down to \
                         follower (§5.1), and can lead the new term only by winning an \
                         election in it (it asked {asked} other servers for votes in term \
                         {term}; a majority needs {needed} of them)"
                    ),
                    _ => panic!(
                        "server {i} leads term {term} without an election: it asked {asked} \
                         other servers for votes in term {term}, and a majority needs {needed} \
                         of them (§5.2: a candidate becomes leader only with votes from a \
                         majority)"
                    ),
                }
            }
        }
        if leader {
            match w.leaders.get(&term) {
                Some(&other) if other != i => panic!(
                    "Election Safety violated: servers {other} and {i} were both leader in term \
                     {term} (at most one leader can be elected in a term, §5.2): does every \
                     server vote at most once per term and persist votedFor, and does a \
                     candidate count only votes that answer its current election?"
                ),
                _ => {
                    w.leaders.insert(term, i);
                }
            }
        }
    }

    fn group(&self) -> &Group<Raft<Cmd>> {
        self.0
            .group
            .get()
            .expect("the group is made in Config::new")
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.0.n
    }

    /// Ends the test: reports the number of agreements for the summary line.
    pub fn end(&self) {
        let st = self.0.state.borrow();
        self.0.cx.add_ops(st.max_index - st.max_index0);
    }

    /// The running Raft of server `i` (`None` while crashed).
    pub fn raft(&self, i: usize) -> Option<Raft<Cmd>> {
        self.group().server(i)
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.group().is_connected(i)
    }

    /// Calls `Start(cmd)` on server `i` if it is running.
    pub fn start_on(&self, i: usize, cmd: impl Into<Cmd>) -> Option<Start> {
        if self.0.faults.contains(&Fault::RefuseStarts) {
            return None;
        }
        self.raft(i).and_then(|rf| rf.start(cmd.into()))
    }

    /// Shuts server `i` down, keeping its persisted state (see [`Group::shutdown`]).
    pub fn crash1(&self, i: usize) {
        self.group().shutdown(i);
    }

    /// Starts or restarts server `i` (crashing it first) from its persisted state, with fresh
    /// client ends so that the old incarnation's ends cannot send. It starts disconnected:
    /// call [`Config::connect`].
    pub fn start1(&self, i: usize) {
        self.group().start(i);
    }

    /// The group's factory: one Raft peer (as its node), its applier (on the test's node, so
    /// it outlives crashes and drops a dead incarnation's messages by generation) and faults.
    fn start_raft(&self, start: Incarnation, test_node: Node) -> Started<Raft<Cmd>> {
        let i = start.index;
        self.0.state.borrow_mut().last_applied[i] = 0;
        let snapshot = start.persister.read_snapshot();
        if !snapshot.is_empty() {
            // Like a key/value server restarting: take the state from the snapshot.
            self.ingest_snapshot(i, &snapshot, None);
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rf: Raft<Cmd> = Raft::new(start.ends, i, start.persister, tx);
        let cfg = self.clone();
        let generation = start.generation;
        test_node.spawn(async move {
            while let Some(msg) = rx.recv().await {
                cfg.on_apply(i, generation, msg);
            }
        });
        let mut started = Started::new(rf.clone()).service(rf.service());
        for fault in &self.0.faults {
            match fault {
                Fault::DenyVotes => {
                    started = started.service(
                        Service::new().handle(RequestVote::<Cmd>::new(), |_| async {
                            RequestVoteReply::default()
                        }),
                    );
                }
                Fault::RejectAppends => {
                    started = started.service(
                        Service::new().handle(AppendEntries::<Cmd>::new(), |_| async {
                            AppendEntriesReply::default()
                        }),
                    );
                }
                _ => {}
            }
        }
        started.on_kill(move || rf.kill())
    }

    /// Attaches server `i` to the network: enables its ends to and from every connected
    /// server.
    pub fn connect(&self, i: usize) {
        self.group().connect(i);
    }

    /// Detaches server `i`: disables its ends to and from every server. It keeps running.
    pub fn disconnect(&self, i: usize) {
        self.group().disconnect(i);
    }

    /// Heals every partition and connects every server.
    pub fn connect_all(&self) {
        self.group().connect_all();
    }

    /// Splits the servers: those in the same part reach each other, no others. Every server
    /// listed is connected.
    pub fn partition(&self, parts: &[&[usize]]) {
        self.group().partition(parts);
    }

    /// Fails the test, saying `why`, if a server applies `cmd` before
    /// [`allow_all_applies`](Config::allow_all_applies): for a command the scenario keeps
    /// from reaching a majority.
    pub fn forbid_apply(&self, cmd: impl Into<Cmd>, why: impl Into<String>) {
        self.0
            .state
            .borrow_mut()
            .forbidden
            .push((cmd.into(), why.into()));
    }

    /// Lifts every [`forbid_apply`](Config::forbid_apply).
    pub fn allow_all_applies(&self) {
        self.0.state.borrow_mut().forbidden.clear();
    }

    /// Cuts calls one way: `from`'s calls to `to` fail, while `to`'s calls to `from` go through
    /// with their replies (see [`Group::cut_calls`]). Lasts until the next partition.
    pub fn cut_calls(&self, from: &[usize], to: &[usize]) {
        self.group().cut_calls(from, to);
    }

    /// Waits (up to 5 s) until one of `servers` leads a term above `above`; returns it and
    /// its term. Panics, naming the servers, if none does.
    pub async fn wait_for_leader_among(&self, servers: &[usize], above: u64) -> (usize, u64) {
        for _ in 0..100 {
            for &i in servers {
                if let Some(rf) = self.raft(i) {
                    let (term, leader) = rf.get_state();
                    if leader && term > above {
                        return (i, term);
                    }
                }
            }
            sim::sleep(Duration::from_millis(50)).await;
        }
        panic!("no leader elected among servers {servers:?} (in a term above {above}) in 5 s");
    }

    /// Makes the network reliable or not.
    pub fn set_unreliable(&self, unreliable: bool) {
        self.0.net.set_reliable(!unreliable);
    }

    /// Turns long reply reordering on or off.
    pub fn set_long_reordering(&self, on: bool) {
        self.0.net.set_long_reordering(on);
    }

    /// RPCs that reached server `i`'s current incarnation.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.group().rpc_count(i)
    }

    /// RPCs sent in all.
    pub fn rpc_total(&self) -> u64 {
        self.0.net.total_count()
    }

    /// Bytes sent in all.
    pub fn bytes_total(&self) -> u64 {
        self.0.net.total_bytes()
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        self.group().log_size()
    }

    /// The largest persisted Raft state, checked against [`MAX_LOG_SIZE`].
    pub fn check_log_size(&self) {
        for i in 0..self.0.n {
            let size = self.group().persister(i).raft_state_size();
            assert!(
                size < MAX_LOG_SIZE,
                "Log size too large: server {i} persisted {size} bytes of Raft state \
                 (limit {MAX_LOG_SIZE}); does it trim its log after Snapshot()?"
            );
        }
    }

    // ---- the appliers ----

    fn on_apply(&self, i: usize, generation: u64, msg: ApplyMsg<Cmd>) {
        if self.group().generation(i) != generation {
            return; // a crashed incarnation's leftovers
        }
        if sim::annotating() {
            let text = match &msg {
                ApplyMsg::Command { index, command } => format!("applied {index}: {command}"),
                ApplyMsg::Snapshot { index, .. } => format!("applied a snapshot through {index}"),
            };
            sim::annotate(self.group().node(i), "apply", text);
        }
        match msg {
            ApplyMsg::Command { index, command } => self.apply_command(i, index, command),
            ApplyMsg::Snapshot { index, data, .. } => {
                let applied = self.0.state.borrow().last_applied[i];
                assert!(
                    index > applied,
                    "server {i} was sent a snapshot through index {index} after applying through \
                     {applied}: a snapshot older than the service's state would roll it back \
                     (install a snapshot only if it is ahead of what was committed)"
                );
                if self.0.snapshot {
                    self.ingest_snapshot(i, &data, Some(index));
                }
            }
        }
    }

    fn apply_command(&self, i: usize, index: u64, mut command: Cmd) {
        for fault in &self.0.faults {
            match *fault {
                Fault::SkipApply { server, index: x } if server == i && x == index => return,
                Fault::CorruptApply { server, index: x } if server == i && x == index => {
                    command = match command {
                        Cmd::Int(v) => Cmd::Int(v.wrapping_add(1)),
                        Cmd::Text(s) => Cmd::Text(s + "!"),
                    }
                }
                _ => {}
            }
        }
        let snapshot_bytes = {
            let mut st = self.0.state.borrow_mut();
            if self.0.snapshot && index != st.last_applied[i] + 1 {
                panic!(
                    "server {i} apply out of order, expected index {}, got {index}",
                    st.last_applied[i] + 1
                );
            }
            for (j, log) in st.logs.iter().enumerate() {
                if let Some(old) = log.get(&index)
                    && *old != command
                {
                    panic!(
                        "commit index={index} server={i} {command} != server={j} {old}: \
                         two servers applied different commands at index {index}"
                    );
                }
            }
            if let Some((_, why)) = st.forbidden.iter().find(|(c, _)| *c == command) {
                panic!(
                    "server {i} applied {command} at index {index}, which cannot be committed: {why}"
                );
            }
            let prev_ok = index <= 1 || st.logs[i].contains_key(&(index - 1));
            if !prev_ok {
                panic!(
                    "server {i} apply out of order {index}: it applied index {index} but never \
                     index {}",
                    index - 1
                );
            }
            st.logs[i].insert(index, command);
            st.max_index = st.max_index.max(index);
            st.last_applied[i] = index;
            (self.0.snapshot && (index + 1).is_multiple_of(SNAPSHOT_INTERVAL)).then(|| {
                let xlog: Vec<Option<Cmd>> =
                    (0..=index).map(|j| st.logs[i].get(&j).cloned()).collect();
                labrpc::codec::encode(&(index, xlog)).expect("snapshot encodes")
            })
        };
        if let Some(bytes) = snapshot_bytes
            && let Some(rf) = self.raft(i)
        {
            rf.snapshot(index, bytes);
        }
    }

    /// Replaces server `i`'s applied log by a snapshot's content (`expected`: the index the
    /// ApplyMsg claimed).
    fn ingest_snapshot(&self, i: usize, data: &[u8], expected: Option<u64>) {
        let (last_index, xlog): (u64, Vec<Option<Cmd>>) = labrpc::codec::decode(data)
            .unwrap_or_else(|e| panic!("server {i}: snapshot does not decode ({e})"));
        if let Some(index) = expected
            && index != last_index
        {
            panic!(
                "server {i} snapshot doesn't match m.SnapshotIndex: the snapshot ends at \
                 {last_index}, the ApplyMsg says {index}"
            );
        }
        let mut st = self.0.state.borrow_mut();
        st.logs[i] = xlog
            .into_iter()
            .enumerate()
            .filter_map(|(j, c)| c.map(|c| (j as u64, c)))
            .collect();
        st.last_applied[i] = last_index;
    }

    // ---- checks ----

    /// Checks that exactly one connected server is leader (retrying for about 5 s) and that
    /// no term has two leaders; returns the leader of the highest term.
    pub async fn check_one_leader(&self) -> usize {
        for _ in 0..10 {
            let ms = 450 + sim::rng().random_range(0..100);
            sim::sleep(Duration::from_millis(ms)).await;
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for i in 0..self.0.n {
                if self.is_connected(i)
                    && let Some(rf) = self.raft(i)
                {
                    let (term, leader) = rf.get_state();
                    if leader {
                        leaders.entry(term).or_default().push(i);
                    }
                }
            }
            for (term, ls) in &leaders {
                assert!(
                    ls.len() <= 1,
                    "term {term} has {} (>1) leaders: servers {ls:?}",
                    ls.len()
                );
            }
            if let Some((_, ls)) = leaders.last_key_value() {
                return ls[0];
            }
        }
        panic!(
            "expected one leader, got none: no connected server ({:?}) claimed leadership in \
             about 5 s",
            self.connected_servers()
        );
    }

    fn connected_servers(&self) -> Vec<usize> {
        self.group().connected()
    }

    /// Checks that every connected server has the same term; returns it.
    pub fn check_terms(&self) -> u64 {
        let terms: Vec<(usize, u64)> = (0..self.0.n)
            .filter(|&i| self.is_connected(i))
            .filter_map(|i| self.raft(i).map(|rf| (i, rf.get_state().0)))
            .collect();
        if let Some(&(_, term)) = terms.first() {
            assert!(
                terms.iter().all(|&(_, t)| t == term),
                "servers disagree on term: (server, term) = {terms:?}"
            );
            term
        } else {
            0
        }
    }

    /// Checks that no connected server believes it is leader.
    pub fn check_no_leader(&self) {
        for i in 0..self.0.n {
            if self.is_connected(i)
                && let Some(rf) = self.raft(i)
            {
                let (term, leader) = rf.get_state();
                assert!(
                    !leader,
                    "expected no leader among connected servers {:?}, but server {i} claims to \
                     be leader in term {term}",
                    self.connected_servers()
                );
            }
        }
    }

    /// Waits (up to 5 s) until server `i` has applied `cmd`; panics, naming them, if not.
    pub async fn wait_applied(&self, i: usize, cmd: impl Into<Cmd>) {
        let cmd = cmd.into();
        for _ in 0..500 {
            if self.0.state.borrow().logs[i].values().any(|c| *c == cmd) {
                return;
            }
            sim::sleep(Duration::from_millis(10)).await;
        }
        panic!("server {i} did not apply {cmd} in 5 s");
    }

    /// How many servers applied a command at `index`, and which command (they must agree).
    pub fn n_committed(&self, index: u64) -> (usize, Option<Cmd>) {
        let st = self.0.state.borrow();
        let mut count = 0;
        let mut seen: Option<(usize, &Cmd)> = None;
        for (i, log) in st.logs.iter().enumerate() {
            if let Some(cmd) = log.get(&index) {
                if let Some((j, other)) = seen {
                    assert!(
                        other == cmd,
                        "committed values do not match: index {index}, server {j} has {other}, \
                         server {i} has {cmd}"
                    );
                }
                count += 1;
                seen = Some((i, cmd));
            }
        }
        (count, seen.map(|(_, c)| c.clone()))
    }

    /// Waits (about 10 s at most) for at least `n` servers to commit `index`; returns the
    /// command, or `None` if some server's term passed `start_term` (then the wait can no
    /// longer be sure to succeed).
    pub async fn wait(&self, index: u64, n: usize, start_term: Option<u64>) -> Option<Cmd> {
        let mut to = Duration::from_millis(10);
        for _ in 0..30 {
            let (nd, _) = self.n_committed(index);
            if nd >= n {
                break;
            }
            sim::sleep(to).await;
            if to < Duration::from_secs(1) {
                to *= 2;
            }
            if let Some(start_term) = start_term {
                for i in 0..self.0.n {
                    if let Some(rf) = self.raft(i)
                        && rf.get_state().0 > start_term
                    {
                        return None;
                    }
                }
            }
        }
        let (nd, cmd) = self.n_committed(index);
        assert!(
            nd >= n,
            "only {nd} decided for index {index}; wanted {n} (applied there by: {:?})",
            self.appliers_of(index)
        );
        cmd
    }

    fn appliers_of(&self, index: u64) -> Vec<usize> {
        let st = self.0.state.borrow();
        (0..self.0.n)
            .filter(|&i| st.logs[i].contains_key(&index))
            .collect()
    }

    /// Submits `cmd` until a leader takes it, then waits for `expected` servers to commit it;
    /// returns its index. Tries the connected servers in turn for up to 10 s; after a leader
    /// took the command, waits 2 s for agreement, and if that fails either gives up
    /// (`retry == false`) or submits again.
    pub async fn one(&self, cmd: impl Into<Cmd>, expected: usize, retry: bool) -> u64 {
        let cmd = cmd.into();
        let t0 = sim::now();
        let mut starts = 0;
        let mut accepted = false;
        while t0.elapsed() < Duration::from_secs(10) {
            let mut index = None;
            for _ in 0..self.0.n {
                starts = (starts + 1) % self.0.n;
                if self.is_connected(starts)
                    && let Some(Start { index: i, .. }) = self.start_on(starts, cmd.clone())
                {
                    index = Some(i);
                    break;
                }
            }
            let Some(index) = index else {
                sim::sleep(Duration::from_millis(50)).await;
                continue;
            };
            accepted = true;
            let t1 = sim::now();
            while t1.elapsed() < Duration::from_secs(2) {
                let (nd, cmd1) = self.n_committed(index);
                if nd > 0 && nd >= expected && cmd1.as_ref() == Some(&cmd) {
                    return index;
                }
                sim::sleep(Duration::from_millis(20)).await;
            }
            if !retry {
                let (nd, cmd1) = self.n_committed(index);
                panic!(
                    "one({cmd}) failed to reach agreement: a leader put it at index {index}, \
                     but 2 s later {nd} servers ({:?}) had committed {} there, {expected} \
                     expected",
                    self.appliers_of(index),
                    cmd1.map_or_else(|| "nothing".to_string(), |c| c.to_string())
                );
            }
        }
        panic!(
            "one({cmd}) failed to reach agreement in 10 s ({expected} servers expected; \
             connected: {:?}; {})",
            self.connected_servers(),
            if accepted {
                "leaders accepted it but it never committed on enough servers"
            } else {
                "no connected server ever accepted Start: no leader?"
            }
        );
    }
}

/// Why each try of a test that starts over when the term changes (`concurrent_starts_3b`,
/// `count_3b`) was given up, so that its failure says what happened rather than only "term
/// changed too often".
#[derive(Debug, Default)]
pub struct Tries {
    given_up: Vec<String>,
}

impl Tries {
    /// The leader refused `start()`: records it with what its `get_state()` says.
    pub fn refused(&mut self, cfg: &Config, leader: usize) {
        let state = cfg.raft(leader).map(|rf| rf.get_state());
        self.given_up.push(match state {
            Some((term, true)) => format!(
                "server {leader}, leader of term {term} by its get_state(), refused start() \
                 (it returned None)"
            ),
            _ => format!("server {leader} was no longer the leader when start() was called"),
        });
    }

    /// The term moved on from `term` while the try's commands were being agreed.
    pub fn term_changed(&mut self, term: u64, what: &str) {
        self.given_up
            .push(format!("the term changed from {term} while {what}"));
    }

    /// Panics with each try's reason: "no leader accepted a command" if every try ended with
    /// the leader refusing `start()`, "term changed too often" otherwise.
    pub fn fail(&self) -> ! {
        let refusals = self
            .given_up
            .iter()
            .filter(|w| w.contains("start()"))
            .count();
        let headline = if refusals == self.given_up.len() {
            "no leader accepted a command: start() on the leader must append the command to \
             its log and return its index and term"
        } else {
            "term changed too often"
        };
        let mut message = format!("{headline} ({} tries):", self.given_up.len());
        for (i, why) in self.given_up.iter().enumerate() {
            message.push_str(&format!("\n  try {}: {why}", i + 1));
        }
        panic!("{message}");
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios shared by the graded suite and the tester's own tests

/// Three clients keep submitting commands while servers are disconnected, crashed and
/// restarted; every value a client saw committed must be in the final log.
pub async fn churn(cx: TestCx, unreliable: bool) {
    let servers = 5;
    let cfg = Config::new(&cx, servers, unreliable, false);
    let stop = Rc::new(Cell::new(false));
    let mut clients = Vec::new();
    for me in 0..3u64 {
        let (cfg, stop) = (cfg.clone(), stop.clone());
        clients.push(sim::spawn(async move {
            let mut values = Vec::new();
            while !stop.get() {
                let x = rand_int();
                let mut index = None;
                for i in 0..servers {
                    if let Some(Start { index: index1, .. }) = cfg.start_on(i, x) {
                        index = Some(index1);
                    }
                }
                if let Some(index) = index {
                    // Maybe the leader will commit our value, maybe not; don't wait forever.
                    for to in [10, 20, 50, 100, 200] {
                        let (nd, cmd) = cfg.n_committed(index);
                        if nd > 0 {
                            if cmd == Some(Cmd::Int(x)) {
                                values.push(x);
                            }
                            break;
                        }
                        sim::sleep(Duration::from_millis(to)).await;
                    }
                } else {
                    sim::sleep(Duration::from_millis(79 + me * 17)).await;
                }
            }
            values
        }));
    }
    for _ in 0..20 {
        if rand_below(1000) < 200 {
            let i = rand_below(servers as u64) as usize;
            cfg.disconnect(i);
        }
        if rand_below(1000) < 500 {
            let i = rand_below(servers as u64) as usize;
            if cfg.raft(i).is_none() {
                cfg.start1(i);
            }
            cfg.connect(i);
        }
        if rand_below(1000) < 200 {
            let i = rand_below(servers as u64) as usize;
            if cfg.raft(i).is_some() {
                cfg.crash1(i);
            }
        }
        // Make crash/restart infrequent enough that the peers can often keep up, but not so
        // infrequent that everything has settled down from one change to the next.
        sim::sleep(RAFT_ELECTION_TIMEOUT * 7 / 10).await;
    }
    sim::sleep(RAFT_ELECTION_TIMEOUT).await;
    cfg.set_unreliable(false);
    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
        }
        cfg.connect(i);
    }
    stop.set(true);
    let mut values = Vec::new();
    for client in clients {
        values.extend(client.await.expect("client failed"));
    }
    sim::sleep(RAFT_ELECTION_TIMEOUT).await;
    let last_index = cfg.one(rand_int(), servers, true).await;
    let mut really = Vec::new();
    for index in 1..=last_index {
        match cfg.wait(index, servers, None).await {
            Some(Cmd::Int(v)) => really.push(v),
            other => panic!("index {index} holds {other:?}, not an int"),
        }
    }
    for v in values {
        assert!(
            really.contains(&v),
            "didn't find a value: {v} was committed for a client, but is not in the final \
             log 1..={last_index}"
        );
    }
    cfg.end();
}

/// `concurrent_starts_3b`: five commands started at once on the leader are all committed
/// (retried up to five times when the term changes). `faults` are the tester's own tests'.
pub async fn concurrent_starts(cx: TestCx, faults: &[Fault]) {
    let servers = 3;
    let cfg = Config::with_faults(&cx, servers, false, false, faults);
    let mut success = false;
    let mut tries = Tries::default();
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            sim::sleep(Duration::from_secs(3)).await;
        }
        let leader = cfg.check_one_leader().await;
        let Some(Start { term, .. }) = cfg.start_on(leader, 1) else {
            // Leader moved on really quickly.
            tries.refused(&cfg, leader);
            continue;
        };
        let iters = 5;
        let mut starts = Vec::new();
        for ii in 0..iters {
            let cfg = cfg.clone();
            starts.push(sim::spawn(async move {
                match cfg.start_on(leader, 100 + ii) {
                    Some(Start { index, term: term1 }) if term1 == term => Some(index),
                    _ => None,
                }
            }));
        }
        let mut indices = Vec::new();
        for start in starts {
            if let Some(index) = start.await.expect("start task") {
                indices.push(index);
            }
        }
        for j in 0..servers {
            if let Some(rf) = cfg.raft(j)
                && rf.get_state().0 != term
            {
                // Term changed -- can't expect low RPC counts.
                tries.term_changed(term, "the commands were started");
                continue 'tries;
            }
        }
        let mut cmds = Vec::new();
        for index in indices {
            match cfg.wait(index, servers, Some(term)).await {
                None => {
                    // peers have moved on to later terms
                    tries.term_changed(term, &format!("waiting for index {index}"));
                    continue 'tries;
                }
                Some(Cmd::Int(x)) => cmds.push(x),
                Some(other) => panic!("value {other} is not an int"),
            }
        }
        for ii in 0..iters {
            let x = 100 + ii;
            assert!(cmds.contains(&x), "cmd {x} missing in {cmds:?}");
        }
        success = true;
        break;
    }
    if !success {
        tries.fail();
    }
    cfg.end();
}

/// `count_3b`: RPC counts aren't too high (to elect a leader, to agree on commands, while
/// idle). `faults` are the tester's own tests'.
pub async fn count(cx: TestCx, faults: &[Fault]) {
    let servers = 3;
    let cfg = Config::with_faults(&cx, servers, false, false, faults);
    let rpcs = || (0..servers).map(|j| cfg.rpc_count(j)).sum::<u64>();
    let mut leader = cfg.check_one_leader().await;
    let mut total1 = rpcs();
    assert!(
        (1..=30).contains(&total1),
        "too many or few RPCs ({total1}) to elect initial leader"
    );
    let mut total2 = 0;
    let mut success = false;
    let mut tries = Tries::default();
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            sim::sleep(Duration::from_secs(3)).await;
        }
        leader = cfg.check_one_leader().await;
        total1 = rpcs();
        let iters = 10u64;
        let Some(Start {
            index: starti,
            term,
        }) = cfg.start_on(leader, 1)
        else {
            // Leader moved on really quickly.
            tries.refused(&cfg, leader);
            continue;
        };
        let mut cmds = Vec::new();
        for i in 1..iters + 2 {
            let x = rand_below(1 << 31) as i64;
            cmds.push(x);
            match cfg.start_on(leader, x) {
                Some(Start {
                    index: index1,
                    term: term1,
                }) if term1 == term => {
                    assert_eq!(
                        index1,
                        starti + i,
                        "Start() failed: returned index {index1}, expected {}",
                        starti + i
                    );
                }
                _ => {
                    // no longer the leader, so the term has changed
                    tries.term_changed(term, "the commands were started");
                    continue 'tries;
                }
            }
        }
        for i in 1..iters + 1 {
            match cfg.wait(starti + i, servers, Some(term)).await {
                None => {
                    // term changed -- try again
                    let index = starti + i;
                    tries.term_changed(term, &format!("waiting for index {index}"));
                    continue 'tries;
                }
                Some(Cmd::Int(x)) if x == cmds[i as usize - 1] => {}
                Some(other) => panic!(
                    "wrong value {other} committed for index {}; expected {}",
                    starti + i,
                    cmds[i as usize - 1]
                ),
            }
        }
        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if let Some(rf) = cfg.raft(j)
                && rf.get_state().0 != term
            {
                // Term changed -- can't expect low RPC counts; need to keep going to
                // update total2.
                failed = true;
            }
            total2 += cfg.rpc_count(j);
        }
        if failed {
            tries.term_changed(term, "the RPCs were counted");
            continue 'tries;
        }
        let limit = (iters + 1 + 3) * 3;
        assert!(
            total2 - total1 <= limit,
            "too many RPCs ({}) for {iters} entries (limit {limit}): batch entries into \
             few AppendEntries",
            total2 - total1
        );
        success = true;
        break;
    }
    if !success {
        tries.fail();
    }
    let _ = leader;
    sim::sleep(RAFT_ELECTION_TIMEOUT).await;
    let total3 = rpcs();
    assert!(
        total3 - total2 <= 3 * 20,
        "too many RPCs ({}) for 1 second of idleness (limit 60): at most ~10 heartbeats \
         per second",
        total3 - total2
    );
    cfg.end();
}
