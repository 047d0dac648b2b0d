//! The kvraft tester, edition 2025 (the original's `kvraft1/rsm/{server,test}.go`,
//! `kvraft1/test.go` and the bodies of `GenericTest`): for 4A, three servers whose replicated
//! state machines run a counter; for 4B and 4C, versioned key/value servers, clerks with their
//! own ends, partitions, crashes and restarts, every clerk operation recorded for the
//! linearizability checker. Built on `labtest::cluster` and `labtest::versioned`.
//!
//! The servers and clerks come through plain functions ([`MakeRsmServer`], [`MakeKvServer`],
//! [`MakeClerk`]), so that the tester's own tests can run the same scenarios on planted bugs.
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use kvraft::v2025::{Clerk, Error, KvServer, Rsm, StateMachine, Version};
use labrpc::rand::RngExt;
use labrpc::{ClientEnd, Network, sim};
use labtest::TestCx;
use labtest::cluster::{Client, Group, GroupSpec, Incarnation, Started};
use labtest::kv::LATENCY;
use labtest::linearizability::PowerSet;
use labtest::linearizability::models::VersionedKvModel;
pub use labtest::versioned::{BoxFuture, KvClerk};
use labtest::versioned::{GetResult, KvErr, PutCounts, VersionedKv, VersionedLog};
use labtest::versioned::{check_get, check_put_count, one_client_put, put_at_least_once};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// The tester's election timeout: how long a new leader may take.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// What the tester keeps of a running server: a way to ask its Raft peer for (term, is
/// leader).
#[derive(Clone)]
pub struct RaftState(Rc<dyn Fn() -> (u64, bool)>);

impl RaftState {
    /// A handle that asks `state` for (term, is leader).
    pub fn new(state: impl Fn() -> (u64, bool) + 'static) -> RaftState {
        RaftState(Rc::new(state))
    }

    /// Whether the server believes it leads.
    pub fn is_leader(&self) -> bool {
        (self.0)().1
    }
}

/// A server group with the tester's bookkeeping: `n` servers on a network where every
/// message takes `labtest::kv::LATENCY`.
fn make_group<S: Clone + 'static>(
    cx: &TestCx,
    n: usize,
    reliable: bool,
    start: impl Fn(Incarnation) -> Started<S> + 'static,
) -> Group<S> {
    cx.set_peers(n);
    let net = Network::new();
    net.set_reliable(reliable);
    net.set_latency(LATENCY);
    let group = Group::new(&net, GroupSpec::new(n), start);
    group.connect_all();
    group
}

/// The servers of `group` that believe they lead, lowest index first.
fn leader_of<S: Clone + 'static>(
    group: &Group<S>,
    state: impl Fn(&S) -> &RaftState,
) -> Option<usize> {
    (0..group.n()).find(|&i| group.server(i).is_some_and(|s| state(&s).is_leader()))
}

/// `MakePartition(l)`: the first `n/2 + 1` servers other than `l`, and the rest with `l` last
/// (the leader in the minority).
fn make_partition(n: usize, leader: usize) -> (Vec<usize>, Vec<usize>) {
    let others: Vec<usize> = (0..n).filter(|&i| i != leader).collect();
    let majority = n / 2 + 1;
    let p1 = others[..majority].to_vec();
    let mut p2 = others[majority..].to_vec();
    p2.push(leader);
    (p1, p2)
}

// ---------------------------------------------------------------------------------------
// 4A: the replicated state machine, running the tester's counter

/// Servers in the rsm tests.
pub const RSM_SERVERS: usize = 3;

/// How long the rsm tests try to get a request executed before they give up (`NSEC`).
pub const RSM_GIVE_UP: Duration = Duration::from_secs(10);

/// [`shutdown`] shuts the servers down within this time after the submissions start.
pub const SHUTDOWN_WITHIN: Duration = Duration::from_millis(8);

/// A request to the tester's counter (`Inc`, `Null`, `Dec` of the original's `rsm/server.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterRequest {
    /// Add one; the reply says the count after it.
    Inc,
    /// Nothing.
    Null,
    /// Submitted only to a leader cut off in a minority: it must never be executed.
    Dec,
}

/// What the counter replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterReply {
    /// An `Inc`'s reply: the count after it.
    Inc(u64),
    /// A `Null`'s reply.
    Null,
}

/// The tester's state machine: a counter, which the tester reads directly (as the original).
pub struct Counter {
    count: Rc<Cell<u64>>,
}

impl Counter {
    /// A counter at 0, and the tester's window on it.
    pub fn new() -> (Counter, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (
            Counter {
                count: count.clone(),
            },
            count,
        )
    }

    /// Executes a request (shared by the student's rsm and the tester's planted ones).
    pub fn execute(&mut self, request: CounterRequest) -> CounterReply {
        match request {
            CounterRequest::Inc => {
                self.count.set(self.count.get() + 1);
                CounterReply::Inc(self.count.get())
            }
            CounterRequest::Null => CounterReply::Null,
            CounterRequest::Dec => panic!(
                "do_op executed a Dec: Decs are submitted only to a leader cut off in a \
                 minority, and must never commit (does submit wait for the entry at its index \
                 to be its own, and do uncommitted entries stay unexecuted?)"
            ),
        }
    }

    /// The counter's snapshot.
    pub fn encode(&self) -> Vec<u8> {
        self.count.get().to_le_bytes().to_vec()
    }

    /// Restores the counter from its snapshot.
    pub fn decode(&mut self, snapshot: &[u8]) {
        assert!(
            !snapshot.is_empty(),
            "restore was called with an empty snapshot: restore only when there is one (a \
             server that never snapshotted has none)"
        );
        let bytes: [u8; 8] = snapshot.try_into().unwrap_or_else(|_| {
            panic!(
                "couldn't decode the counter from a snapshot of {} bytes: restore was given \
                 something snapshot did not return",
                snapshot.len()
            )
        });
        self.count.set(u64::from_le_bytes(bytes));
    }
}

impl StateMachine for Counter {
    type Request = CounterRequest;
    type Reply = CounterReply;

    fn do_op(&mut self, request: CounterRequest) -> CounterReply {
        self.execute(request)
    }

    fn snapshot(&self) -> Vec<u8> {
        self.encode()
    }

    fn restore(&mut self, snapshot: &[u8]) {
        self.decode(snapshot);
    }
}

/// What the tester keeps of a running rsm server: its Raft's state, its `submit`, and its
/// counter.
#[derive(Clone)]
pub struct RsmServer {
    /// Its Raft peer's state.
    pub raft: RaftState,
    /// Its `submit` (`None`: `ErrWrongLeader`).
    pub submit: Rc<dyn Fn(CounterRequest) -> BoxFuture<Option<CounterReply>>>,
    /// Its counter.
    pub count: Rc<Cell<u64>>,
}

/// How the tester starts one rsm server: from its incarnation and the snapshot limit, its
/// handle, the services to serve (Raft's only, as the original) and the kill hook.
pub type MakeRsmServer = fn(Incarnation, Option<usize>) -> Started<RsmServer>;

/// The student's rsm running the tester's counter.
pub fn rsm_server(start: Incarnation, max_raft_state: Option<usize>) -> Started<RsmServer> {
    let (counter, count) = Counter::new();
    let rsm = Rsm::new(
        start.ends,
        start.index,
        start.persister,
        max_raft_state,
        counter,
    );
    let (state, submitter, killed) = (rsm.raft().clone(), rsm.clone(), rsm.raft().clone());
    let submit = move |request| -> BoxFuture<Option<CounterReply>> {
        let rsm = submitter.clone();
        Box::pin(async move { rsm.submit(request).await.ok() })
    };
    Started::new(RsmServer {
        raft: RaftState::new(move || state.get_state()),
        submit: Rc::new(submit),
        count,
    })
    .service(rsm.raft().service())
    .on_kill(move || killed.kill())
}

/// Three rsm servers on a reliable network (the original's `rsm/test.go`).
#[derive(Clone)]
pub struct RsmTester {
    group: Group<RsmServer>,
    /// The server that last executed a request (where the next try starts).
    leader: Rc<Cell<usize>>,
}

impl RsmTester {
    /// The student's rsm servers, snapshotting at `max_raft_state` bytes (`None`: never).
    pub fn new(cx: &TestCx, max_raft_state: Option<usize>) -> RsmTester {
        RsmTester::with_servers(cx, max_raft_state, rsm_server)
    }

    /// [`RsmTester::new`] with servers made by `server` (planted bugs).
    pub fn with_servers(
        cx: &TestCx,
        max_raft_state: Option<usize>,
        server: MakeRsmServer,
    ) -> RsmTester {
        let group = make_group(cx, RSM_SERVERS, true, move |start| {
            server(start, max_raft_state)
        });
        RsmTester {
            group,
            leader: Rc::default(),
        }
    }

    /// The server group (partitions, shutdowns and restarts).
    pub fn group(&self) -> &Group<RsmServer> {
        &self.group
    }

    /// `onePartition`: for up to [`RSM_GIVE_UP`], tries the servers in turn (from the last
    /// one that answered) that are connected, running and in `part` (any when `None`),
    /// submitting `request` on the server itself; returns the first reply, or `None` if none
    /// came. A pass over every server is followed by a pause of 50 ms.
    pub async fn one_partition(
        &self,
        part: Option<&[usize]>,
        request: CounterRequest,
    ) -> Option<CounterReply> {
        let deadline = sim::now() + RSM_GIVE_UP;
        while sim::now() < deadline {
            let first = self.leader.get();
            for k in 0..RSM_SERVERS {
                let i = (first + k) % RSM_SERVERS;
                if !self.group.is_connected(i) || part.is_some_and(|p| !p.contains(&i)) {
                    continue;
                }
                if let Some(reply) = self.submit_on(i, request).await {
                    self.leader.set(i);
                    return Some(reply);
                }
            }
            sim::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Submits `request` to server `i`'s rsm: its reply, or `None` (`ErrWrongLeader`). The
    /// submission runs in the tester's task, as the original's test calls `Submit` itself,
    /// so a shutdown of the server does not end it: the rsm must notice, and return.
    pub async fn submit_on(&self, i: usize, request: CounterRequest) -> Option<CounterReply> {
        let server = self.group.server(i)?;
        (server.submit)(request).await
    }

    /// `oneInc`: an `Inc` executed by some server; the count it returned.
    pub async fn one_inc(&self) -> u64 {
        match self.one_partition(None, CounterRequest::Inc).await {
            Some(CounterReply::Inc(n)) => n,
            Some(other) => panic!("an Inc returned {other:?}; expected Inc(count)"),
            None => panic!(
                "no server executed an Inc within {RSM_GIVE_UP:?} (every submit returned \
                 WrongLeader or never returned): is a leader elected, and does submit return \
                 once its request is executed?"
            ),
        }
    }

    /// `oneNull`: a `Null` executed by some server, if one was within [`RSM_GIVE_UP`].
    pub async fn one_null(&self) -> Option<CounterReply> {
        self.one_partition(None, CounterRequest::Null).await
    }

    /// `checkCounter`: waits (polling 30 times, 10 ms apart doubling up to a second) until
    /// at least `servers` servers' counters are `count`.
    pub async fn check_counter(&self, count: u64, servers: usize) {
        let mut pause = Duration::from_millis(10);
        let mut have = 0;
        for _ in 0..30 {
            have = (0..RSM_SERVERS)
                .filter(|&i| self.group.server(i).is_some_and(|s| s.count.get() == count))
                .count();
            if have >= servers {
                return;
            }
            sim::sleep(pause).await;
            if pause < Duration::from_secs(1) {
                pause *= 2;
            }
        }
        let counts: Vec<String> = (0..RSM_SERVERS)
            .map(|i| match self.group.server(i) {
                Some(s) => format!("server {i}: {}", s.count.get()),
                None => format!("server {i}: down"),
            })
            .collect();
        panic!(
            "checkCounter: only {have} servers have executed {count} Incs instead of \
             {servers} ({}): does every server execute every committed request, once?",
            counts.join(", ")
        );
    }

    /// A server that believes it leads.
    pub fn leader(&self) -> Option<usize> {
        leader_of(&self.group, |s| &s.raft)
    }

    /// `disconnectLeader`: isolates the server that last executed a request; returns it.
    pub fn disconnect_leader(&self) -> usize {
        let leader = self.leader.get();
        self.group.disconnect(leader);
        leader
    }

    /// Shuts every server down.
    pub fn shutdown_all(&self) {
        for i in 0..RSM_SERVERS {
            self.group.shutdown(i);
        }
    }

    /// Starts every server from its persisted state and connects them all.
    pub fn start_all(&self) {
        for i in 0..RSM_SERVERS {
            self.group.start(i);
        }
        self.group.connect_all();
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        self.group.log_size()
    }
}

// ---------------------------------------------------------------------------------------
// 4B and 4C: the key/value service

/// How the tester starts one key/value server.
pub type MakeKvServer = fn(Incarnation, Option<usize>) -> Started<RaftState>;

/// The student's key/value server.
pub fn kv_server(start: Incarnation, max_raft_state: Option<usize>) -> Started<RaftState> {
    let kv = KvServer::new(start.ends, start.index, start.persister, max_raft_state);
    let (state, killed) = (kv.raft().clone(), kv.raft().clone());
    Started::new(RaftState::new(move || state.get_state()))
        .service(kv.service())
        .service(kv.raft().service())
        .on_kill(move || killed.kill())
}

/// How the tester makes a clerk from its ends to every server, in the servers' order.
pub type MakeClerk = fn(Vec<ClientEnd>) -> Box<dyn KvClerk>;

/// The student's clerk.
pub fn clerk(servers: Vec<ClientEnd>) -> Box<dyn KvClerk> {
    Box::new(StudentClerk(Rc::new(Clerk::new(servers))))
}

/// The student's [`Clerk`], shared with the futures of its operations.
struct StudentClerk(Rc<Clerk>);

impl KvClerk for StudentClerk {
    fn get(&self, key: &str) -> BoxFuture<GetResult> {
        let (clerk, key) = (self.0.clone(), key.to_string());
        Box::pin(async move {
            Clerk::get(&clerk, &key)
                .await
                .map_err(|e| kv_err(e, "get", &key))
        })
    }

    fn put(&self, key: &str, value: &str, version: Version) -> BoxFuture<Result<(), KvErr>> {
        let (clerk, key, value) = (self.0.clone(), key.to_string(), value.to_string());
        Box::pin(async move {
            let put = Clerk::put(&clerk, &key, &value, version).await;
            put.map_err(|e| kv_err(e, "put", &key))
        })
    }
}

/// The lab's error as the shared checks name it; a clerk never returns `ErrWrongLeader`.
pub fn kv_err(e: Error, op: &str, key: &str) -> KvErr {
    match e {
        Error::NoKey => KvErr::NoKey,
        Error::Version => KvErr::Version,
        Error::Maybe => KvErr::Maybe,
        Error::WrongLeader => panic!(
            "the clerk's {op}({key:?}) returned ErrWrongLeader: a clerk keeps trying other \
             servers until one leads"
        ),
    }
}

/// How a key/value test is set up (the original's `MakeTest` parameters).
#[derive(Clone, Copy)]
pub struct KvSpec {
    /// Servers.
    pub servers: usize,
    /// Whether the network delivers every message.
    pub reliable: bool,
    /// Snapshot limit (`None`: never, the original's -1).
    pub max_raft_state: Option<usize>,
    /// How servers are started.
    pub server: MakeKvServer,
    /// How clerks are made.
    pub clerk: MakeClerk,
}

impl KvSpec {
    /// The student's server and clerk: `servers` servers, reliable, no snapshots.
    pub const fn new(servers: usize) -> KvSpec {
        KvSpec {
            servers,
            reliable: true,
            max_raft_state: None,
            server: kv_server,
            clerk,
        }
    }
}

/// A key/value cluster under test. Cloning gives another handle to it.
#[derive(Clone)]
pub struct KvTester {
    group: Group<RaftState>,
    spec: KvSpec,
    log: VersionedLog,
    clerks_made: Rc<Cell<u64>>,
}

impl KvTester {
    /// Starts and connects `spec.servers` servers.
    pub fn new(cx: &TestCx, spec: KvSpec) -> KvTester {
        let group = make_group(cx, spec.servers, spec.reliable, move |start| {
            (spec.server)(start, spec.max_raft_state)
        });
        let tester = KvTester {
            group,
            spec,
            log: VersionedLog::new(cx),
            clerks_made: Rc::default(),
        };
        let reporter = tester.clone();
        labtest::pending::on_time_limit(move || {
            let servers = servers_report(&reporter.group, |s| s.is_leader());
            format!("{}{servers}", reporter.log.waiting_report())
        });
        tester
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.group.n()
    }

    /// Every server's index.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    /// Whether the network delivers every message.
    pub fn is_reliable(&self) -> bool {
        self.spec.reliable
    }

    /// The server group (partitions, shutdowns and restarts).
    pub fn group(&self) -> &Group<RaftState> {
        &self.group
    }

    /// `MakeClerkTo(to)`: a clerk with ends to every server, of which only those to `to` are
    /// enabled; its operations are recorded for the checker.
    pub fn make_clerk_to(&self, to: &[usize]) -> TestClerk {
        let link = self.group.make_client(to);
        let id = self.clerks_made.get();
        self.clerks_made.set(id + 1);
        TestClerk {
            clerk: (self.spec.clerk)(link.ends().to_vec()),
            ends: link,
            record: Some(id),
            log: self.log.clone(),
        }
    }

    /// `MakeClerk()`: a clerk to every server.
    pub fn make_clerk(&self) -> TestClerk {
        self.make_clerk_to(&self.all())
    }

    /// A clerk whose operations are counted but not recorded (the speed test's and
    /// `SpreadPuts`' in the original).
    pub fn make_unrecorded_clerk(&self) -> TestClerk {
        TestClerk {
            record: None,
            ..self.make_clerk()
        }
    }

    /// `Clnt.ConnectAll()`: enables the clerk's ends to every server.
    pub fn connect_clerk(&self, clerk: &TestClerk) {
        self.group.connect_client(&clerk.ends, &self.all());
    }

    /// `DeleteClerk`: deletes the clerk's ends; calls in flight on them fail.
    pub fn delete_clerk(&self, clerk: TestClerk) {
        self.group.delete_client(clerk.ends);
    }

    /// A server that believes it leads (the lowest such index).
    pub fn leader(&self) -> Option<usize> {
        leader_of(&self.group, |s| s)
    }

    /// `MakePartition(l)`: a majority without `leader`, and a minority with it, last.
    pub fn make_partition(&self, leader: usize) -> (Vec<usize>, Vec<usize>) {
        make_partition(self.n(), leader)
    }

    /// Servers in `p1` reach each other, servers in `p2` reach each other, and no more.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        self.group.partition(&[p1, p2]);
    }

    /// Shuts every server down, waits a second, and starts and connects them all again.
    pub async fn restart_all(&self) {
        for i in 0..self.n() {
            self.group.shutdown(i);
        }
        sim::sleep(ELECTION_TIMEOUT).await;
        for i in 0..self.n() {
            self.group.start(i);
        }
        self.group.connect_all();
    }

    /// Checks that every recorded operation so far is linearizable (the original's
    /// `CheckPorcupine`, which gives up after a second; this one decides every history).
    pub fn check_linearizable(&self) {
        self.log.check_linearizable(&PowerSet(VersionedKvModel));
    }

    /// The persisted-state checks after a round: logs trimmed at 8 × `max_raft_state` with
    /// snapshots, no snapshot without them.
    pub fn check_sizes(&self) {
        match self.spec.max_raft_state {
            Some(max) => self.check_log_trimmed(8 * max),
            None => {
                let size = self.group.snapshot_size();
                assert!(
                    size == 0,
                    "snapshot too large ({size} bytes), should not be used when max_raft_state is \
                     None"
                );
            }
        }
    }

    /// Checks that no server's persisted Raft state is larger than `limit` bytes.
    pub fn check_log_trimmed(&self, limit: usize) {
        let size = self.group.log_size();
        let max = self.spec.max_raft_state.unwrap_or(0);
        assert!(
            size <= limit,
            "logs were not trimmed ({size} > {limit} bytes, max_raft_state {max}): does the rsm \
             snapshot when Raft's persisted state nears max_raft_state?"
        );
    }

    /// The largest snapshot of any server, in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.group.snapshot_size()
    }
}

/// A clerk made by the tester, with its ends to every server.
pub type TestClerk = labtest::versioned::TestClerk<Client>;

/// The scenario of the original's `GenericTest` (2025).
#[derive(Clone, Copy)]
pub struct Generic {
    /// Concurrent clients.
    pub clients: usize,
    /// Servers, network, snapshots, the server and clerk under test.
    pub spec: KvSpec,
    /// Shut every server down and restart it after each round.
    pub crash: bool,
    /// Repartition the servers at random every second or so.
    pub partitions: bool,
    /// Clients put to 100 random keys rather than all to `"k"` (the history is then the only
    /// check).
    pub random_keys: bool,
}

impl Generic {
    /// One client, five servers, reliable, nothing else.
    pub const fn basic() -> Generic {
        Generic {
            clients: 1,
            spec: KvSpec::new(5),
            crash: false,
            partitions: false,
            random_keys: false,
        }
    }
}

/// Rounds of `GenericTest`.
const ROUNDS: usize = 3;

/// How long clients put in each round.
const CLIENT_TIME: Duration = Duration::from_secs(1);

/// Keys of the random-keys tests.
const RANDOM_KEYS: usize = 100;

/// `GenericTest`: three rounds of one second of clients racing to put (each with the version
/// it last read) under the faults `spec` asks for. After each round: the key's version against
/// the puts that returned `Ok` (exactly, on a reliable network without faults), the history
/// checked for linearizability, the cluster healed (and restarted), the sizes of its persisted
/// state checked.
pub async fn generic_test(cx: &TestCx, spec: Generic) {
    let ts = KvTester::new(cx, spec.spec);
    let ck = Rc::new(ts.make_clerk());
    let keys: Rc<Vec<String>> = Rc::new(if spec.random_keys {
        (0..RANDOM_KEYS).map(|i| format!("k{i}")).collect()
    } else {
        vec!["k".to_string()]
    });
    let total = Rc::new(Cell::new(PutCounts::default()));
    let exact = spec.spec.reliable && !spec.crash && !spec.partitions;
    for _round in 0..ROUNDS {
        let clients = {
            let (ts, ck, keys, total) = (ts.clone(), ck.clone(), keys.clone(), total.clone());
            sim::spawn(async move {
                let counts = spawn_clients_and_wait(
                    &ts,
                    spec.clients,
                    CLIENT_TIME,
                    |client, clerk, done| {
                        let keys = keys.clone();
                        async move {
                            let counts =
                                one_client_put(&clerk, client, &keys, spec.random_keys, &done)
                                    .await;
                            (counts, clerk)
                        }
                    },
                )
                .await;
                if !spec.random_keys {
                    let mut sum = total.get();
                    counts.into_iter().for_each(|c| sum.add(c));
                    total.set(sum);
                    check_put_concurrent(&ck, "k", sum, exact).await;
                }
            })
        };
        let stop_partitioner = Rc::new(Cell::new(false));
        let mut partitioner = None;
        if spec.partitions {
            // Let the clients do some operations without interruption first.
            sim::sleep(Duration::from_secs(1)).await;
            partitioner = Some(sim::spawn(partition_at_random(
                ts.clone(),
                stop_partitioner.clone(),
            )));
        }
        clients.await.expect("the test node never crashes");
        ts.check_linearizable();
        if let Some(partitioner) = partitioner {
            stop_partitioner.set(true);
            partitioner.await.expect("the test node never crashes");
            // A client may have sent a request to a minority: it completes once that server
            // learns of a new term.
            ts.group().connect_all();
            sim::sleep(ELECTION_TIMEOUT).await;
        }
        if spec.crash {
            ts.restart_all().await;
        }
        ts.check_sizes();
    }
}

/// The original's `CheckPutConcurrent`: reads `key` (recorded) and checks its version against
/// the puts counted so far.
async fn check_put_concurrent(ck: &TestClerk, key: &str, total: PutCounts, exact: bool) {
    let version = match ck.get(key).await {
        Ok((_, version)) => version,
        Err(e) => panic!("get({key:?}) after the clients' puts returned {e}"),
    };
    check_put_count(key, version, total, exact);
}

/// `SpawnClientsAndWait`: runs `body` for clients `0..n` at once, each with a clerk of its own
/// to every server (deleted when it is done) and a flag set after `duration`; returns what
/// each returned. A client in the middle of an operation then finishes it first.
pub async fn spawn_clients_and_wait<F, Fut, T>(
    ts: &KvTester,
    n: usize,
    duration: Duration,
    body: F,
) -> Vec<T>
where
    F: Fn(usize, TestClerk, Rc<Cell<bool>>) -> Fut,
    Fut: Future<Output = (T, TestClerk)> + 'static,
    T: 'static,
{
    let done = Rc::new(Cell::new(false));
    let handles: Vec<_> = (0..n)
        .map(|client| sim::spawn(body(client, ts.make_clerk(), done.clone())))
        .collect();
    sim::sleep(duration).await;
    done.set(true);
    let mut results = Vec::new();
    for handle in handles {
        let (result, clerk) = handle.await.expect("the test node never crashes");
        ts.delete_clerk(clerk);
        results.push(result);
    }
    results
}

/// The original's `Partitioner`: until told to stop, splits the servers at random in two
/// (either side may be empty) every election timeout plus 0-199 ms.
async fn partition_at_random(ts: KvTester, stop: Rc<Cell<bool>>) {
    while !stop.get() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..ts.n() {
            if sim::rng().random_range(0..2) == 0 {
                a.push(i);
            } else {
                b.push(i);
            }
        }
        ts.partition(&a, &b);
        let jitter = Duration::from_millis(sim::rng().random_range(0..200));
        sim::sleep(ELECTION_TIMEOUT + jitter).await;
    }
}

/// `GenericTestSpeed`: one clerk, three servers; after a first `get` (which waits for a
/// leader), 1000 sequential puts to one key, each of which must return `Ok`, at most a third
/// of a heartbeat interval each on average (a leader must not wait for the next heartbeat to
/// replicate a new entry). The operations are not recorded, as in the original.
pub async fn generic_test_speed(cx: &TestCx, spec: KvSpec) {
    const OPS: u64 = 1000;
    const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
    const OPS_PER_INTERVAL: u32 = 3;
    let time_per_op = HEARTBEAT_INTERVAL / OPS_PER_INTERVAL;
    let ts = KvTester::new(cx, spec);
    let ck = ts.make_unrecorded_clerk();
    let _ = ck.get("x").await;
    let start = sim::now();
    for version in 0..OPS {
        let put = ck.put("k", &version.to_string(), version).await;
        assert!(
            put.is_ok(),
            "put(\"k\", v{version}) returned {put:?}: with one clerk on a reliable network every \
             put must return Ok"
        );
    }
    let took = start.elapsed();
    match ck.get("k").await {
        Ok((_, version)) if version == OPS => {}
        got => panic!("get(\"k\") after {OPS} puts returned {got:?}; expected version {OPS}"),
    }
    let per_op = took / OPS as u32;
    assert!(
        per_op <= time_per_op,
        "operations completed too slowly: {per_op:?}/op > {time_per_op:?}/op: does the leader \
         wait for the next heartbeat to replicate a new entry?"
    );
}

/// The 4C tests' `maxraftstate`.
pub const MAX_RAFT_STATE: usize = 1000;

/// Keeps a clerk's pending operation running in its own task, and tells when it finished.
pub struct Pending<T> {
    result: Rc<RefCell<Option<T>>>,
}

impl<T: 'static> Pending<T> {
    /// Runs `op` in a task of its own.
    pub fn spawn(op: impl Future<Output = T> + 'static) -> Pending<T> {
        let result = Rc::new(RefCell::new(None));
        let slot = result.clone();
        sim::spawn(async move {
            let value = op.await;
            *slot.borrow_mut() = Some(value);
        });
        Pending { result }
    }

    /// What it returned, once it has.
    pub fn result(&self) -> Option<T>
    where
        T: Clone,
    {
        self.result.borrow().clone()
    }

    /// Whether it has returned.
    pub fn is_done(&self) -> bool {
        self.result.borrow().is_some()
    }
}

// ---------------------------------------------------------------------------------------
// The rsm scenarios (the bodies of `rsm_test.go`)

/// `TestBasic4A`.
pub async fn basic(ts: &RsmTester) {
    for i in 1..=10 {
        let count = ts.one_inc().await;
        assert!(
            count == i,
            "Inc number {i} returned the count {count}; expected {i}"
        );
        ts.check_counter(count, RSM_SERVERS).await;
    }
}

/// `TestConcurrent4A`.
pub async fn concurrent(ts: &RsmTester) {
    const INCS: u64 = 50;
    let tasks: Vec<_> = (0..INCS)
        .map(|_| {
            let ts = ts.clone();
            sim::spawn(async move { ts.one_inc().await })
        })
        .collect();
    for task in tasks {
        task.await.expect("the test node never crashes");
    }
    ts.check_counter(INCS, RSM_SERVERS).await;
}

/// `TestLeaderFailure4A`.
pub async fn leader_failure(ts: &RsmTester) {
    let count = ts.one_inc().await;
    ts.check_counter(count, RSM_SERVERS).await;
    let leader = ts.disconnect_leader();
    let count = ts.one_inc().await;
    ts.check_counter(count, RSM_SERVERS - 1).await;
    ts.group().connect(leader);
    ts.check_counter(count, RSM_SERVERS).await;
}

/// `TestLeaderPartition4A`: a hundred `Dec`s submitted to a leader cut off in a minority must
/// stay blocked for a second after the majority executed an `Inc`, never be executed, and
/// return (with `WrongLeader`) within a second of the partition healing.
pub async fn leader_partition(ts: &RsmTester) {
    const DECS: usize = 100;
    let count = ts.one_inc().await;
    ts.check_counter(count, RSM_SERVERS).await;
    let leader = ts
        .leader()
        .expect("a server executed an Inc, so one believes it leads");
    let (p1, p2) = make_partition(RSM_SERVERS, leader);
    ts.group().partition(&[&p1, &p2]);
    let decs: Vec<Pending<Option<CounterReply>>> = (0..DECS)
        .map(|_| {
            let ts = ts.clone();
            Pending::spawn(async move { ts.submit_on(leader, CounterRequest::Dec).await })
        })
        .collect();
    // Give the old leader time to start them.
    sim::sleep(Duration::from_millis(10)).await;
    let majority = match ts.one_partition(Some(&p1), CounterRequest::Inc).await {
        Some(CounterReply::Inc(n)) => n,
        other => panic!(
            "the majority {p1:?} executed no Inc within {RSM_GIVE_UP:?} ({other:?}) while the \
             old leader {leader} was cut off"
        ),
    };
    let check_decs = |when: &str| {
        for (i, dec) in decs.iter().enumerate() {
            if let Some(Some(reply)) = dec.result() {
                panic!(
                    "submit {i} of a Dec to the leader {leader} cut off in a minority completed \
                     with {reply:?} {when}: a request is answered only once its own entry is \
                     executed at its index"
                );
            }
        }
    };
    sim::sleep(Duration::from_secs(1)).await;
    check_decs("while the partition lasted");
    let returned = decs.iter().filter(|d| d.is_done()).count();
    assert!(
        returned == 0,
        "{returned} of {DECS} Decs submitted to the leader {leader} cut off in a minority \
         returned within a second of the majority executing an Inc: a leader that cannot know \
         it lost leadership must keep its submissions waiting (no timeout of its own)"
    );
    ts.group().connect_all();
    let healed = sim::now();
    while decs.iter().any(|d| !d.is_done()) && healed.elapsed() < Duration::from_secs(1) {
        sim::sleep(Duration::from_millis(10)).await;
    }
    check_decs("after the partition healed");
    let waiting = decs.iter().filter(|d| !d.is_done()).count();
    assert!(
        waiting == 0,
        "{waiting} of {DECS} Decs submitted to the old leader {leader} were still waiting a \
         second after the partition healed: submit must return WrongLeader once its server \
         sees a newer term (or another entry at its index)"
    );
    ts.check_counter(majority, RSM_SERVERS).await;
}

/// `TestRestartReplay4A`: a hundred `Inc`s, every server shut down and restarted after a
/// second; the next `Inc` returns 101 (the restarted rsm replayed its log).
pub async fn restart_replay(ts: &RsmTester) {
    const INCS: u64 = 100;
    for i in 1..=INCS {
        let count = ts.one_inc().await;
        assert!(
            count == i,
            "Inc number {i} returned the count {count}; expected {i}"
        );
        ts.check_counter(count, RSM_SERVERS).await;
    }
    ts.shutdown_all();
    sim::sleep(Duration::from_secs(1)).await;
    ts.start_all();
    let count = ts.one_inc().await;
    assert!(
        count == INCS + 1,
        "after a restart, an Inc returned the count {count}; expected {}: does the rsm replay the \
         persisted log into its fresh state machine?",
        INCS + 1
    );
    sim::sleep(Duration::from_secs(1)).await;
    ts.check_counter(count, RSM_SERVERS).await;
}

/// `TestShutdown4A`: a hundred `Null`s in flight, every server shut down a moment later;
/// every `Null` returns within the give-up time plus a second.
///
/// The original waits 20 ms, long enough to submit, and too short for a Raft that replicates
/// on its 100 ms heartbeats to commit. Here a command commits within about 10 ms, so
/// the shutdown comes at a seeded moment in the first [`SHUTDOWN_WITHIN`]: some
/// submissions still wait on Raft, some were executed.
pub async fn shutdown(ts: &RsmTester) {
    const NULLS: usize = 100;
    let nulls: Vec<Pending<Option<CounterReply>>> = (0..NULLS)
        .map(|_| {
            let ts = ts.clone();
            Pending::spawn(async move { ts.one_null().await })
        })
        .collect();
    let moment = sim::rng().random_range(0..SHUTDOWN_WITHIN.as_micros() as u64);
    sim::sleep(Duration::from_micros(moment)).await;
    ts.shutdown_all();
    let down = sim::now();
    while nulls.iter().any(|n| !n.is_done())
        && down.elapsed() <= RSM_GIVE_UP + Duration::from_secs(1)
    {
        sim::sleep(Duration::from_millis(10)).await;
    }
    let waiting = nulls.iter().filter(|n| !n.is_done()).count();
    assert!(
        waiting == 0,
        "{waiting} of {NULLS} submissions didn't stop after the shutdown"
    );
}

/// `TestRestartSubmit4A`: [`restart_replay`], then [`shutdown`] with `Null`s in flight, then
/// a restart: the next `Inc` is executed everywhere (requests from before the restart are not
/// taken for new ones).
pub async fn restart_submit(ts: &RsmTester) {
    restart_replay(ts).await;
    sim::sleep(Duration::from_secs(1)).await;
    shutdown(ts).await;
    ts.start_all();
    let count = ts.one_inc().await;
    ts.check_counter(count, RSM_SERVERS).await;
}

/// `TestSnapshot4C` (rsm): a hundred `Inc`s with `max_raft_state` 1000 leave at most 2000
/// bytes of Raft state on any server; after a restart from the snapshots, the next `Inc` is
/// the 101st everywhere.
pub async fn snapshot(ts: &RsmTester) {
    const INCS: u64 = 100;
    for _ in 0..INCS {
        ts.one_inc().await;
    }
    ts.check_counter(INCS, RSM_SERVERS).await;
    let size = ts.log_size();
    assert!(
        size <= 2 * MAX_RAFT_STATE,
        "logs were not trimmed ({size} > 2 * {MAX_RAFT_STATE} bytes): does the rsm snapshot \
         when Raft's persisted state nears max_raft_state?"
    );
    // The original's bound alone lets a compact log pass without any snapshot: every request
    // has been executed, so a server whose Raft state is still over the limit never took one.
    for i in 0..RSM_SERVERS {
        let persister = ts.group().persister(i);
        let (raft_state, snapshot) = (persister.raft_state_size(), persister.snapshot_size());
        assert!(
            raft_state < MAX_RAFT_STATE || snapshot > 0,
            "server {i} has {raft_state} bytes of Raft state (max_raft_state is \
             {MAX_RAFT_STATE}) and no snapshot after executing {INCS} Incs: does the rsm \
             snapshot when Raft's persisted state reaches max_raft_state?"
        );
    }
    ts.shutdown_all();
    ts.start_all();
    let count = ts.one_inc().await;
    assert!(
        count == INCS + 1,
        "after a restart from snapshots, an Inc returned the count {count}; expected {}: does \
         the rsm restore the state machine from the persisted snapshot?",
        INCS + 1
    );
    ts.check_counter(INCS + 1, RSM_SERVERS).await;
}

// ---------------------------------------------------------------------------------------
// The key/value scenarios written out in the original's `kvraft_test.go`

/// `TestOnePartition4B` (five servers, unreliable network): progress in a majority without the
/// leader; no progress in the minority with it, where a put and a get wait; both complete
/// within three seconds of the partition healing (the original checks only the put in time,
/// this suite both).
pub async fn one_partition(ts: &KvTester) {
    let ck = ts.make_clerk();
    let ver0 = put_at_least_once(&ck, "1", "13", 0).await;
    let leader = ts.leader().unwrap_or(0);
    let (p1, p2) = ts.make_partition(leader);
    ts.partition(&p1, &p2);
    let ckp1 = ts.make_clerk_to(&p1);
    let ckp2a = Rc::new(ts.make_clerk_to(&p2));
    let ckp2b = Rc::new(ts.make_clerk_to(&p2));
    let ver1 = put_at_least_once(&ckp1, "1", "14", ver0).await;
    check_get(&ckp1, "1", "14", ver1).await;

    // No progress in the minority.
    let put = {
        let ck = ckp2a.clone();
        Pending::spawn(async move { put_at_least_once(&*ck, "1", "15", ver1).await })
    };
    let get = {
        let ck = ckp2b.clone();
        Pending::spawn(async move { ck.get("1").await })
    };
    sim::sleep(Duration::from_secs(1)).await;
    if let Some(version) = put.result() {
        panic!("put in the minority {p2:?} completed with version {version}");
    }
    if let Some(got) = get.result() {
        panic!("get in the minority {p2:?} completed: {got:?}");
    }
    check_get(&ckp1, "1", "14", ver1).await;
    let ver2 = put_at_least_once(&ckp1, "1", "16", ver1).await;
    check_get(&ckp1, "1", "16", ver2).await;

    // Completion after heal.
    ts.group().connect_all();
    ts.connect_clerk(&ckp2a);
    ts.connect_clerk(&ckp2b);
    sim::sleep(ELECTION_TIMEOUT).await;
    let healed = sim::now();
    while !(put.is_done() && get.is_done()) && healed.elapsed() < Duration::from_secs(3) {
        sim::sleep(Duration::from_millis(100)).await;
    }
    let Some(ver15) = put.result() else {
        panic!("the put in the old minority did not complete within 3 s of the partition healing");
    };
    assert!(
        get.is_done(),
        "the get in the old minority did not complete within 3 s of the partition healing"
    );
    check_get(&ck, "1", "15", ver15).await;
}

/// `TestSnapshotRPC4C` (three servers): a majority keeps its log trimmed while the third
/// server is cut off; then a majority that needs the third server brings it up to date (with a
/// snapshot, since the log it lacks is gone).
pub async fn snapshot_rpc(ts: &KvTester) {
    let ck = ts.make_clerk();
    let vera = put_at_least_once(&ck, "a", "A", 0).await;
    check_get(&ck, "a", "A", vera).await;

    ts.partition(&[0, 1], &[2]);
    let verb = {
        let ck1 = ts.make_clerk_to(&[0, 1]);
        for i in 0..50 {
            let key = i.to_string();
            put_at_least_once(&ck1, &key, &key, 0).await;
        }
        sim::sleep(ELECTION_TIMEOUT).await;
        put_at_least_once(&ck1, "b", "B", 0).await
    };
    // Did the majority trim its log while the third server was away?
    ts.check_log_trimmed(8 * MAX_RAFT_STATE);

    // Now make a majority that needs the server that was away.
    ts.partition(&[0, 2], &[1]);
    let ck1 = ts.make_clerk_to(&[0, 2]);
    let verc = put_at_least_once(&ck1, "c", "C", 0).await;
    put_at_least_once(&ck1, "d", "D", 0).await;
    check_get(&ck1, "a", "A", vera).await;
    check_get(&ck1, "b", "B", verb).await;
    check_get(&ck1, "1", "1", 1).await;
    check_get(&ck1, "49", "49", 1).await;

    // Now everybody.
    ts.partition(&[0, 1, 2], &[]);
    let vere = put_at_least_once(&ck, "e", "E", 0).await;
    check_get(&ck, "c", "C", verc).await;
    check_get(&ck, "e", "E", vere).await;
    check_get(&ck, "1", "1", 1).await;
}

/// `TestSnapshotSize4C` (three servers): 800 operations on one key; the log stays trimmed and
/// the snapshot small (at most 500 bytes: no history of operations in it).
pub async fn snapshot_size(ts: &KvTester) {
    const MAX_SNAPSHOT_STATE: usize = 500;
    let ck = ts.make_clerk();
    let mut version = 0;
    for _ in 0..200 {
        version = put_at_least_once(&ck, "x", "0", version).await;
        check_get(&ck, "x", "0", version).await;
        version = put_at_least_once(&ck, "x", "1", version).await;
        check_get(&ck, "x", "1", version).await;
    }
    ts.check_log_trimmed(8 * MAX_RAFT_STATE);
    let size = ts.snapshot_size();
    assert!(
        size <= MAX_SNAPSHOT_STATE,
        "snapshot too large ({size} > {MAX_SNAPSHOT_STATE} bytes): a snapshot holds the store, \
         not a history of operations"
    );
}

/// Each server of `group` in one line: down, leader or follower, cut off (part of what a run
/// that reaches its time limit reports).
pub fn servers_report<S: Clone + 'static>(group: &Group<S>, leads: impl Fn(&S) -> bool) -> String {
    let servers: Vec<String> = (0..group.n())
        .map(|i| match group.server(i) {
            None => format!("{i} down"),
            Some(s) => format!(
                "{i} {}{}",
                if leads(&s) { "leader" } else { "follower" },
                if group.is_connected(i) {
                    ""
                } else {
                    ", cut off"
                }
            ),
        })
        .collect();
    format!("Servers: {}\n", servers.join("; "))
}
