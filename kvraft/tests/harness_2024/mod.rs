//! The kvraft tester (the original's `config.go` and `GenericTest`): key/value servers on a
//! simulated network, built on `labtest::cluster`; clerks with their own ends; partitions,
//! crashes and restarts; every clerk operation recorded for the linearizability checker.
//!
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use kvraft::{Clerk, KvServer};
use labrpc::Network;
use labrpc::rand::RngExt;
use labrpc::sim;
use labtest::TestCx;
use labtest::cluster::{Client, Group, GroupSpec, Incarnation, Started};
use labtest::kv::{LATENCY, OpLog, append_value, check_client_appends};
use labtest::linearizability::models::{KvInput, KvModel, KvOutput};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// The tester's election timeout: how long a new leader may take.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// What the tester keeps of a running server: a way to ask its Raft peer for its state.
#[derive(Clone)]
pub struct ServerHandle {
    raft_state: Rc<dyn Fn() -> (u64, bool)>,
}

impl ServerHandle {
    /// A handle that asks `raft_state` for (term, is leader).
    pub fn new(raft_state: impl Fn() -> (u64, bool) + 'static) -> ServerHandle {
        ServerHandle {
            raft_state: Rc::new(raft_state),
        }
    }
}

/// How the tester starts one server: from its incarnation (ends, index, persister) and the
/// snapshot limit, the handle, the services to serve (key/value and Raft) and the kill hook.
pub type MakeServer = fn(Incarnation, Option<usize>) -> Started<ServerHandle>;

/// The student's key/value server.
pub fn kv_server(start: Incarnation, max_raft_state: Option<usize>) -> Started<ServerHandle> {
    let kv = KvServer::new(start.ends, start.index, start.persister, max_raft_state);
    let (state, killed) = (kv.clone(), kv.clone());
    Started::new(ServerHandle::new(move || state.raft().get_state()))
        .service(kv.service())
        .service(kv.raft().service())
        .on_kill(move || killed.kill())
}

/// A clerk made by the tester: the student's [`Clerk`] and the tester's handle on its ends.
pub struct TestClerk {
    clerk: Clerk,
    link: Client,
}

/// A key/value cluster under test. Cloning gives another handle to it.
#[derive(Clone)]
pub struct Config {
    cx: TestCx,
    group: Group<ServerHandle>,
    max_raft_state: Option<usize>,
    log: OpLog<KvInput, KvOutput>,
}

impl Config {
    /// `make_config`: `n` servers on a network that is reliable or not, snapshotting at
    /// `max_raft_state` bytes (`None`: never); starts and connects them all.
    pub fn new(cx: &TestCx, n: usize, unreliable: bool, max_raft_state: Option<usize>) -> Config {
        Config::with_servers(cx, n, unreliable, max_raft_state, kv_server)
    }

    /// Like [`Config::new`], with servers made by `server` (the suite's own tests run planted
    /// bugs this way).
    pub fn with_servers(
        cx: &TestCx,
        n: usize,
        unreliable: bool,
        max_raft_state: Option<usize>,
        server: MakeServer,
    ) -> Config {
        cx.set_peers(n);
        let net = Network::new();
        net.set_reliable(!unreliable);
        net.set_latency(LATENCY);
        let group = Group::new(&net, GroupSpec::new(n), move |start: Incarnation| {
            server(start, max_raft_state)
        });
        group.connect_all();
        let cfg = Config {
            cx: cx.clone(),
            group,
            max_raft_state,
            log: OpLog::new(cx),
        };
        let reporter = cfg.clone();
        labtest::pending::on_time_limit(move || reporter.pending_report());
        cfg
    }

    /// What was pending (the report of a run that reaches its time limit): the clerks'
    /// operations under way, and each server's state.
    pub fn pending_report(&self) -> String {
        let mut out = self.log.waiting_report();
        let servers: Vec<String> = (0..self.n())
            .map(|i| match self.group.server(i) {
                None => format!("{i} down"),
                Some(s) => {
                    let (term, leads) = (s.raft_state)();
                    format!(
                        "{i} {} of term {term}{}",
                        if leads { "leader" } else { "follower" },
                        if self.group.is_connected(i) {
                            ""
                        } else {
                            ", cut off"
                        }
                    )
                }
            })
            .collect();
        out.push_str(&format!("Servers: {}\n", servers.join("; ")));
        out
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.group.n()
    }

    /// Every server's index.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    /// A clerk whose ends reach the servers in `to` (the others are disabled), handed to it in
    /// a random order.
    pub fn make_client(&self, to: &[usize]) -> TestClerk {
        let link = self.group.make_client(to);
        let ends = link.shuffled_ends();
        TestClerk {
            clerk: Clerk::new(ends),
            link,
        }
    }

    /// Enables the clerk's ends to the servers in `to`.
    pub fn connect_client(&self, ck: &TestClerk, to: &[usize]) {
        self.group.connect_client(&ck.link, to);
    }

    /// Disables the clerk's ends to the servers in `from`.
    pub fn disconnect_client(&self, ck: &TestClerk, from: &[usize]) {
        self.group.disconnect_client(&ck.link, from);
    }

    /// Deletes the clerk's ends.
    pub fn delete_client(&self, ck: TestClerk) {
        self.group.delete_client(ck.link);
    }

    /// Shuts server `i` down, keeping its persisted state.
    pub fn shutdown_server(&self, i: usize) {
        self.group.shutdown(i);
    }

    /// Starts server `i` again from its persisted state (disconnected).
    pub fn start_server(&self, i: usize) {
        self.group.start(i);
    }

    /// Heals every partition and connects every server.
    pub fn connect_all(&self) {
        self.group.connect_all();
    }

    /// Servers in `p1` reach each other, servers in `p2` reach each other, and no more.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        self.group.partition(&[p1, p2]);
    }

    /// A server that believes it leads, if any (the lowest such index).
    pub fn leader(&self) -> Option<usize> {
        (0..self.n()).find(|&i| self.group.server(i).is_some_and(|s| (s.raft_state)().1))
    }

    /// `make_partition`: a majority without the current leader, and a minority with it (as
    /// its last member).
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let leader = self.leader().unwrap_or(0);
        let others: Vec<usize> = (0..self.n()).filter(|&i| i != leader).collect();
        let majority = self.n() / 2 + 1;
        let p1 = others[..majority].to_vec();
        let mut p2 = others[majority..].to_vec();
        p2.push(leader);
        (p1, p2)
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        self.group.log_size()
    }

    /// The largest snapshot of any server, in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.group.snapshot_size()
    }

    /// The log of recorded operations.
    pub fn op_log(&self) -> &OpLog<KvInput, KvOutput> {
        &self.log
    }

    // ---- clerk operations: `record` puts them in the history for the checker ----

    /// `ck.get(key)`, recorded as client `client` if given; counted as an op either way.
    pub async fn get(&self, ck: &TestClerk, key: &str, record: Option<u64>) -> String {
        self.log.get(record, key, ck.clerk.get(key)).await
    }

    /// `ck.put(key, value)`, recorded as client `client` if given.
    pub async fn put(&self, ck: &TestClerk, key: &str, value: &str, record: Option<u64>) {
        self.log
            .put(record, key, value, ck.clerk.put(key, value))
            .await;
    }

    /// `ck.append(key, value)`, recorded as client `client` if given.
    pub async fn append(&self, ck: &TestClerk, key: &str, value: &str, record: Option<u64>) {
        self.log
            .append(record, key, value, ck.clerk.append(key, value))
            .await;
    }

    /// Checks that `key` reads `value`.
    pub async fn check(&self, ck: &TestClerk, key: &str, value: &str) {
        let got = self.get(ck, key, None).await;
        assert_eq!(
            got, value,
            "Get({key:?}): expected {value:?}, received {got:?}"
        );
    }

    /// The persisted-state checks after a round: logs trimmed with snapshots, no snapshot
    /// without them.
    pub fn check_sizes(&self) {
        match self.max_raft_state {
            Some(max) => {
                let size = self.log_size();
                assert!(
                    size <= 8 * max,
                    "logs were not trimmed ({size} > 8*{max}): does the server snapshot when \
                     Raft's state nears max_raft_state?"
                );
            }
            None => {
                let size = self.snapshot_size();
                assert!(
                    size == 0,
                    "snapshot too large ({size}), should not be used when max_raft_state is None"
                );
            }
        }
    }
}

/// Runs `body` for clients `0..n` at once, each with a clerk of its own connected to every
/// server (deleted when it is done); returns what each returned.
pub async fn spawn_clients_and_wait<F, Fut, T>(cfg: &Config, n: usize, body: F) -> Vec<T>
where
    F: Fn(usize, TestClerk) -> Fut,
    Fut: std::future::Future<Output = (T, TestClerk)> + 'static,
    T: 'static,
{
    let handles: Vec<_> = (0..n)
        .map(|client| sim::spawn(body(client, cfg.make_client(&cfg.all()))))
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        let (result, ck) = handle.await.expect("the test node never crashes");
        cfg.delete_client(ck);
        results.push(result);
    }
    results
}

/// The scenario of the original `GenericTest`.
#[derive(Clone, Copy, Debug)]
pub struct Generic {
    /// Concurrent clients.
    pub clients: usize,
    /// Servers.
    pub servers: usize,
    /// Unreliable network.
    pub unreliable: bool,
    /// Shut every server down and restart it after each round.
    pub crash: bool,
    /// Repartition the servers at random every second or so.
    pub partitions: bool,
    /// Snapshot limit (`None`: never).
    pub max_raft_state: Option<usize>,
    /// Clients use random keys (their Gets are then checked by the linearizability checker
    /// only).
    pub random_keys: bool,
    /// How servers are started (the student's server, or a planted bug).
    pub server: MakeServer,
}

impl Generic {
    /// One client, five servers, reliable, nothing else.
    pub const fn basic() -> Generic {
        Generic {
            clients: 1,
            servers: 5,
            unreliable: false,
            crash: false,
            partitions: false,
            max_raft_state: None,
            random_keys: false,
            server: kv_server,
        }
    }
}

/// One client's loop in a round: until told to stop, appends (half the time) or reads its key
/// and checks the value; with random keys, also puts. Returns how many appends and puts it
/// made.
async fn client_loop(
    cfg: Config,
    ck: TestClerk,
    client: usize,
    spec: Generic,
    stop: Rc<Cell<bool>>,
) -> (usize, TestClerk) {
    let mut n = 0;
    let mut last = String::new();
    let me = Some(client as u64);
    if !spec.random_keys {
        cfg.put(&ck, &client.to_string(), "", me).await;
    }
    while !stop.get() {
        let key = if spec.random_keys {
            sim::rng().random_range(0..spec.clients).to_string()
        } else {
            client.to_string()
        };
        let value = append_value(client, n);
        if sim::rng().random_range(0..1000) < 500 {
            cfg.append(&ck, &key, &value, me).await;
            if !spec.random_keys {
                last.push_str(&value);
            }
            n += 1;
        } else if spec.random_keys && sim::rng().random_range(0..1000) < 100 {
            cfg.put(&ck, &key, &value, me).await;
            n += 1;
        } else {
            let got = cfg.get(&ck, &key, me).await;
            if !spec.random_keys && got != last {
                panic!(
                    "get wrong value, key {key:?}: wanted {} bytes ...{:?}, got {} bytes ...{:?}",
                    last.len(),
                    tail(&last),
                    got.len(),
                    tail(&got)
                );
            }
        }
    }
    (n, ck)
}

/// The last 60 bytes of a value (for messages).
fn tail(value: &str) -> &str {
    let mut start = value.len().saturating_sub(60);
    while !value.is_char_boundary(start) {
        start += 1;
    }
    &value[start..]
}

/// Repartitions the servers at random every election timeout plus 0-199 ms until told to
/// stop.
async fn partitioner(cfg: Config, stop: Rc<Cell<bool>>) {
    while !stop.get() {
        let mut parts = (Vec::new(), Vec::new());
        for i in 0..cfg.n() {
            if sim::rng().random_range(0..2) == 0 {
                parts.0.push(i);
            } else {
                parts.1.push(i);
            }
        }
        cfg.partition(&parts.0, &parts.1);
        let jitter = Duration::from_millis(sim::rng().random_range(0..200));
        sim::sleep(ELECTION_TIMEOUT + jitter).await;
    }
}

/// `GenericTest`: three rounds of five seconds of client load with the faults `spec` asks
/// for, each round checked (every append present once and in order, log and snapshot sizes),
/// then the whole history checked for linearizability.
pub async fn generic_test(cx: &TestCx, spec: Generic) {
    let cfg = Config::with_servers(
        cx,
        spec.servers,
        spec.unreliable,
        spec.max_raft_state,
        spec.server,
    );
    let ck = cfg.make_client(&cfg.all());
    for _round in 0..3 {
        let stop_clients = Rc::new(Cell::new(false));
        let stop_partitioner = Rc::new(Cell::new(false));
        let clients = {
            let (cfg, stop) = (cfg.clone(), stop_clients.clone());
            sim::spawn(async move {
                let body = |client, ck| client_loop(cfg.clone(), ck, client, spec, stop.clone());
                spawn_clients_and_wait(&cfg, spec.clients, body).await
            })
        };
        let mut partitions = None;
        if spec.partitions {
            // Let the clients do some operations without interruption first.
            sim::sleep(Duration::from_secs(1)).await;
            partitions = Some(sim::spawn(partitioner(
                cfg.clone(),
                stop_partitioner.clone(),
            )));
        }
        sim::sleep(Duration::from_secs(5)).await;
        stop_clients.set(true);
        stop_partitioner.set(true);
        if let Some(partitioner) = partitions {
            partitioner.await.expect("the test node never crashes");
            // A client may have sent a request to a minority: it completes once that server
            // learns of a new term.
            cfg.connect_all();
            sim::sleep(ELECTION_TIMEOUT).await;
        }
        if spec.crash {
            for i in 0..cfg.n() {
                cfg.shutdown_server(i);
            }
            sim::sleep(ELECTION_TIMEOUT).await;
            for i in 0..cfg.n() {
                cfg.start_server(i);
            }
            cfg.connect_all();
        }
        let appends = clients.await.expect("the test node never crashes");
        for (client, &count) in appends.iter().enumerate() {
            let value = cfg
                .get(&ck, &client.to_string(), Some(spec.clients as u64))
                .await;
            if !spec.random_keys {
                check_client_appends(client, &value, count);
            }
        }
        cfg.check_sizes();
    }
    cfg.op_log().check_linearizable(&KvModel);
}

/// `GenericTestSpeed`: one clerk, three servers; 1000 appends must take at most a third of a
/// heartbeat interval each on average (a leader must not wait for the next heartbeat to
/// replicate a new entry).
pub async fn generic_test_speed(cx: &TestCx, max_raft_state: Option<usize>, server: MakeServer) {
    const OPS: usize = 1000;
    const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
    const OPS_PER_INTERVAL: u32 = 3;
    let time_per_op = HEARTBEAT_INTERVAL / OPS_PER_INTERVAL;
    let cfg = Config::with_servers(cx, 3, false, max_raft_state, server);
    let ck = cfg.make_client(&cfg.all());
    // Wait for a leader: the first operation completes once one is elected.
    cfg.get(&ck, "x", None).await;
    let start = sim::now();
    for i in 0..OPS {
        cfg.append(&ck, "x", &append_value(0, i), None).await;
    }
    let took = start.elapsed();
    let value = cfg.get(&ck, "x", None).await;
    check_client_appends(0, &value, OPS);
    let per_op = took / OPS as u32;
    assert!(
        per_op <= time_per_op,
        "Operations completed too slowly {per_op:?}/op > {time_per_op:?}/op: does the leader wait \
         for the next heartbeat to replicate a new entry?"
    );
}

/// The snapshot tests' limit on persisted Raft state (`maxraftstate`).
pub const MAX_RAFT_STATE: usize = 1000;

/// `TestSnapshotSize`: 800 operations on one key; the log must stay trimmed and the snapshot
/// small.
pub async fn snapshot_size_test(cx: &TestCx, server: MakeServer) {
    const MAX_SNAPSHOT_STATE: usize = 500;
    let cfg = Config::with_servers(cx, 3, false, Some(MAX_RAFT_STATE), server);
    let ck = cfg.make_client(&cfg.all());
    for _ in 0..200 {
        cfg.put(&ck, "x", "0", None).await;
        cfg.check(&ck, "x", "0").await;
        cfg.put(&ck, "x", "1", None).await;
        cfg.check(&ck, "x", "1").await;
    }
    let size = cfg.log_size();
    assert!(
        size <= 8 * MAX_RAFT_STATE,
        "logs were not trimmed ({size} > 8*{MAX_RAFT_STATE}): does the server snapshot when \
         Raft's state nears max_raft_state?"
    );
    let snapshot = cfg.snapshot_size();
    assert!(
        snapshot <= MAX_SNAPSHOT_STATE,
        "snapshot too large ({snapshot} > {MAX_SNAPSHOT_STATE})"
    );
}
