//! The shardkv tester, edition 2025 (the original's `shardkv1/test.go` and the helpers of
//! `shardkv_test.go`): one key/value server (Lab 2's, group 0) that keeps the configurations,
//! shard groups of three servers started and shut down by gid, controllers and clerks each
//! with ends of their own (a `Clnt` of the original: cut off all at once), and the scenarios
//! the tests share (`joinGroups`, `checkShutdownSharding`, `partitionCtrler`, `concurCtrler`).
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.
//!
//! The servers, controllers and clerks come through the function pointers of a [`Lab`], so
//! that the tester's own tests can run the same scenarios on planted bugs.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

pub mod scenarios;

use kvsrv::v2025::KvServer as ConfigServer;
use labrpc::rand::RngExt;
use labrpc::{Network, sim};
use labtest::cluster::{EndMaker, Group, GroupSpec, Incarnation, Started};
use labtest::kv::{LATENCY, random_value};
use labtest::linearizability::PowerSet;
use labtest::linearizability::models::VersionedKvModel;
pub use labtest::versioned::{BoxFuture, KvClerk};
use labtest::versioned::{GetResult, KvErr, Version, VersionedKv, VersionedLog};
use labtest::versioned::{check_get, one_client_put};
use labtest::{Options, TestCx};
use shardkv::v2025::shardcfg::{GID1, Gid, NSHARDS, ShardConfig};
use shardkv::v2025::{Clerk, Error, MakeEnd, ShardCtrler, ShardGroup};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// Servers per shard group (`NSRV`).
pub const NSRV: usize = 3;

/// The pause after each group joins or leaves (`INTERGRPDELAY`).
pub const INTER_GROUP_DELAY: Duration = Duration::from_millis(200);

/// Groups in the many-groups tests (`NGRP`).
pub const NGRP: usize = 8;

/// Keys the tests put (`NKEYS`).
pub const NKEYS: usize = 5 * NSHARDS;

/// Longer than any request takes to cross the network (reliable or not).
const IN_FLIGHT: Duration = Duration::from_millis(100);

/// How long `checkShutdownSharding` waits for one more Get to finish (`NSEC`).
const SHUTDOWN_QUIET: Duration = Duration::from_secs(2);

/// What the tester keeps of a running server: a way to ask its Raft peer whether it leads.
#[derive(Clone)]
pub struct RaftState(Rc<dyn Fn() -> bool>);

impl RaftState {
    /// A handle that asks `is_leader` whether the server believes it leads.
    pub fn new(is_leader: impl Fn() -> bool + 'static) -> RaftState {
        RaftState(Rc::new(is_leader))
    }

    /// Whether the server believes it leads.
    pub fn is_leader(&self) -> bool {
        (self.0)()
    }
}

/// The controller as the tester calls it: the student's [`ShardCtrler`], or a planted one.
pub trait Ctrler {
    /// `InitController`.
    fn init_controller(&self) -> BoxFuture<()>;
    /// `InitConfig`.
    fn init_config(&self, config: ShardConfig) -> BoxFuture<()>;
    /// `ChangeConfigTo`.
    fn change_config_to(&self, config: ShardConfig) -> BoxFuture<()>;
    /// `Query`.
    fn query(&self) -> BoxFuture<ShardConfig>;
}

impl Ctrler for ShardCtrler {
    fn init_controller(&self) -> BoxFuture<()> {
        let ctrler = self.clone();
        Box::pin(async move { ctrler.init_controller().await })
    }

    fn init_config(&self, config: ShardConfig) -> BoxFuture<()> {
        let ctrler = self.clone();
        Box::pin(async move { ctrler.init_config(config).await })
    }

    fn change_config_to(&self, config: ShardConfig) -> BoxFuture<()> {
        let ctrler = self.clone();
        Box::pin(async move { ctrler.change_config_to(config).await })
    }

    fn query(&self) -> BoxFuture<ShardConfig> {
        let ctrler = self.clone();
        Box::pin(async move { ctrler.query().await })
    }
}

/// The student's [`Clerk`], shared with the futures of its operations.
struct StudentClerk(Rc<Clerk>);

impl KvClerk for StudentClerk {
    fn get(&self, key: &str) -> BoxFuture<GetResult> {
        let (clerk, key) = (self.0.clone(), key.to_string());
        Box::pin(async move {
            let got = Clerk::get(&clerk, &key).await;
            got.map_err(|e| kv_err(e, "get", &key))
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

/// The lab's error as the shared checks name it; a clerk returns only Lab 2's errors.
pub fn kv_err(e: Error, op: &str, key: &str) -> KvErr {
    match e {
        Error::NoKey => KvErr::NoKey,
        Error::Version => KvErr::Version,
        Error::Maybe => KvErr::Maybe,
        Error::WrongLeader | Error::WrongGroup | Error::OldConfig => panic!(
            "the clerk's {op}({key:?}) returned {e}: a clerk keeps trying (asking the \
             controller again) until the group that serves the key answers"
        ),
    }
}

/// How the lab's parts are made: the student's, or the tester's planted bugs.
#[derive(Clone, Copy)]
pub struct Lab {
    /// Starts one server of group `gid` (`StartServerShardGrp`).
    pub group: fn(Incarnation, Gid, Option<usize>) -> Started<RaftState>,
    /// Makes a controller whose ends come from the given maker (`MakeShardCtrler`).
    pub ctrler: fn(MakeEnd) -> Rc<dyn Ctrler>,
    /// Makes a clerk from its ends and its controller's (`MakeClerk`).
    pub clerk: fn(MakeEnd, MakeEnd) -> Box<dyn KvClerk>,
}

/// The student's shard group server.
pub fn shard_group(
    start: Incarnation,
    gid: Gid,
    max_raft_state: Option<usize>,
) -> Started<RaftState> {
    let server = ShardGroup::new(
        start.ends,
        gid,
        start.index,
        start.persister,
        max_raft_state,
    );
    let (state, killed) = (server.raft().clone(), server.raft().clone());
    Started::new(RaftState::new(move || state.get_state().1))
        .service(server.service())
        .service(server.raft().service())
        .on_kill(move || killed.kill())
}

/// The student's controller.
pub fn ctrler(make_end: MakeEnd) -> Rc<dyn Ctrler> {
    Rc::new(ShardCtrler::new(make_end))
}

/// The student's clerk, with the student's controller.
pub fn clerk(make_end: MakeEnd, ctrler_make_end: MakeEnd) -> Box<dyn KvClerk> {
    let clerk = Clerk::new(make_end, ShardCtrler::new(ctrler_make_end));
    Box::new(StudentClerk(Rc::new(clerk)))
}

impl Lab {
    /// The student's code.
    pub const STUDENT: Lab = Lab {
        group: shard_group,
        ctrler,
        clerk,
    };
}

/// How a test is set up (the original's `MakeTestMaxRaft` parameters).
#[derive(Clone, Copy)]
pub struct Spec {
    /// Whether the network (the configuration store's included) delivers every message.
    pub reliable: bool,
    /// Snapshot limit of the groups' servers (`None`: never).
    pub max_raft_state: Option<usize>,
    /// `MakeTestLeases`: `partitionCtrler` cuts the old controller off longer and brings it
    /// back.
    pub partition: bool,
    /// The code under test.
    pub lab: Lab,
}

impl Spec {
    /// Reliable, no snapshots, the student's code.
    pub const fn new() -> Spec {
        Spec {
            reliable: true,
            max_raft_state: None,
            partition: false,
            lab: Lab::STUDENT,
        }
    }

    /// The same on an unreliable network.
    pub const fn unreliable(self) -> Spec {
        Spec {
            reliable: false,
            ..self
        }
    }

    /// The same with `MakeTestLeases`' partitions.
    pub const fn partitions(self) -> Spec {
        Spec {
            partition: true,
            ..self
        }
    }
}

/// A controller with its ends (a `Clnt` of the original).
pub struct TestCtrler {
    ctrler: Rc<dyn Ctrler>,
    ends: EndMaker,
}

impl TestCtrler {
    /// The controller.
    pub fn ctrler(&self) -> &dyn Ctrler {
        &*self.ctrler
    }

    /// Cuts every end it made, and makes, off (`clnt.DisconnectAll`).
    pub fn disconnect(&self) {
        self.ends.disconnect_all();
    }

    /// Connects them again (`clnt.ConnectAll`).
    pub fn connect(&self) {
        self.ends.connect_all();
    }

    /// `Query`.
    pub async fn query(&self) -> ShardConfig {
        self.ctrler.query().await
    }
}

/// A clerk made by the tester, with its ends and its controller's.
pub type TestClerk = labtest::versioned::TestClerk<[EndMaker; 2]>;

/// The sharded service under test. Cloning gives another handle to it.
#[derive(Clone)]
pub struct ShardTester(Rc<Inner>);

struct Inner {
    spec: Spec,
    net: Network,
    /// Group 0: the configuration store.
    store: Group<()>,
    groups: RefCell<BTreeMap<Gid, Group<RaftState>>>,
    /// The next `newGid()`.
    next_gid: Cell<Gid>,
    /// End makers made, for their unique names.
    makers: Cell<u64>,
    /// Recorded clerks made, for their client ids.
    clerks: Cell<u64>,
    log: VersionedLog,
    /// The controller of `setupKVService`.
    ctrler: RefCell<Option<Rc<TestCtrler>>>,
}

impl ShardTester {
    /// The network and the configuration store (`MakeTestMaxRaft`).
    pub fn new(cx: &TestCx, spec: Spec) -> ShardTester {
        cx.set_peers(1);
        let net = Network::new();
        net.set_reliable(spec.reliable);
        net.set_latency(LATENCY);
        let store = Group::new(&net, GroupSpec::new(1).named("0"), |_start| {
            Started::new(()).service(ConfigServer::new().service())
        });
        store.connect_all();
        let tester = ShardTester(Rc::new(Inner {
            spec,
            net,
            store,
            groups: RefCell::default(),
            next_gid: Cell::new(GID1 + 1),
            makers: Cell::new(0),
            clerks: Cell::new(0),
            log: VersionedLog::new(cx),
            ctrler: RefCell::default(),
        }));
        let reporter = tester.clone();
        labtest::pending::on_time_limit(move || reporter.pending_report());
        tester
    }

    /// What was pending (the report of a run that reaches its time limit): the clerks'
    /// operations under way, and each group's servers.
    pub fn pending_report(&self) -> String {
        let mut out = self.0.log.waiting_report();
        for (gid, group) in self.0.groups.borrow().iter() {
            let servers: Vec<String> = (0..group.n())
                .map(|i| match group.server(i) {
                    None => format!("{i} down"),
                    Some(s) => format!(
                        "{i} {}{}",
                        if s.is_leader() { "leader" } else { "follower" },
                        if group.is_connected(i) {
                            ""
                        } else {
                            ", cut off"
                        }
                    ),
                })
                .collect();
            out.push_str(&format!("Group {gid}: {}\n", servers.join("; ")));
        }
        out
    }

    /// A fresh maker of ends, named for `owner`.
    fn end_maker(&self, owner: &str) -> EndMaker {
        let n = self.0.makers.get() + 1;
        self.0.makers.set(n);
        EndMaker::new(&self.0.net, format!("{owner}-{n}"))
    }

    /// A controller with ends of its own (`makeShardCtrlerClnt`).
    pub fn make_ctrler(&self) -> Rc<TestCtrler> {
        let ends = self.end_maker("ctrler");
        let maker = ends.clone();
        let make_end: MakeEnd = Rc::new(move |name| maker.make_end(name));
        Rc::new(TestCtrler {
            ctrler: (self.0.spec.lab.ctrler)(make_end),
            ends,
        })
    }

    /// The controller `setupKVService` made.
    pub fn ctrler(&self) -> Rc<TestCtrler> {
        let ctrler = self.0.ctrler.borrow().clone();
        ctrler.expect("setup_kv_service makes the tester's controller")
    }

    fn make_clerk_recorded(&self, record: bool) -> TestClerk {
        let ends = self.end_maker("clerk");
        let ctrler_ends = self.end_maker("clerk-ctrler");
        let (maker, ctrler_maker) = (ends.clone(), ctrler_ends.clone());
        let make_end: MakeEnd = Rc::new(move |name| maker.make_end(name));
        let ctrler_make_end: MakeEnd = Rc::new(move |name| ctrler_maker.make_end(name));
        let clerk = (self.0.spec.lab.clerk)(make_end, ctrler_make_end);
        let id = self.0.clerks.get();
        if record {
            self.0.clerks.set(id + 1);
        }
        TestClerk {
            clerk,
            ends: [ends, ctrler_ends],
            record: record.then_some(id),
            log: self.0.log.clone(),
        }
    }

    /// `MakeClerk()`: a clerk whose operations are recorded for the checker.
    pub fn make_clerk(&self) -> TestClerk {
        self.make_clerk_recorded(true)
    }

    /// A clerk whose operations are counted but not recorded (`SpreadPuts`', the checks').
    pub fn make_unrecorded_clerk(&self) -> TestClerk {
        self.make_clerk_recorded(false)
    }

    /// `DeleteClient`: its calls fail from now on.
    pub fn delete_clerk(&self, clerk: TestClerk) {
        for ends in &clerk.ends {
            ends.delete_all();
        }
    }

    /// `newGid()`: 2, 3, ...
    pub fn new_gid(&self) -> Gid {
        let gid = self.0.next_gid.get();
        self.0.next_gid.set(gid + 1);
        gid
    }

    /// The names of group `gid`'s servers.
    pub fn names(gid: Gid) -> Vec<String> {
        (0..NSRV).map(|i| format!("server-{gid}-{i}")).collect()
    }

    /// `MakeGroupStart(gid, NSRV)`: starts and connects a fresh group.
    pub fn start_group(&self, gid: Gid) {
        let (lab, max_raft_state) = (self.0.spec.lab, self.0.spec.max_raft_state);
        let spec = GroupSpec::new(NSRV).named(gid.to_string());
        let group = Group::new(&self.0.net, spec, move |start| {
            (lab.group)(start, gid, max_raft_state)
        });
        group.connect_all();
        let old = self.0.groups.borrow_mut().insert(gid, group);
        assert!(old.is_none(), "the tester started group {gid} twice");
    }

    /// Group `gid`.
    pub fn group(&self, gid: Gid) -> Group<RaftState> {
        let group = self.0.groups.borrow().get(&gid).cloned();
        group.unwrap_or_else(|| panic!("the tester has no group {gid}"))
    }

    /// `Group(gid).Shutdown()`: every server down, state kept.
    pub fn shutdown_group(&self, gid: Gid) {
        let group = self.group(gid);
        for i in 0..group.n() {
            group.shutdown(i);
        }
    }

    /// `Group(gid).StartServers()`: every server restarted from its persisted state.
    pub fn start_servers(&self, gid: Gid) {
        let group = self.group(gid);
        for i in 0..group.n() {
            group.start(i);
        }
        group.connect_all();
    }

    /// `ExitGroup(gid)`: shut down and forgotten.
    pub fn exit_group(&self, gid: Gid) {
        let group = self.0.groups.borrow_mut().remove(&gid);
        group.expect("exit a group the tester has").exit();
    }

    /// The largest snapshot of group `gid`'s servers.
    pub fn snapshot_size(&self, gid: Gid) -> usize {
        self.group(gid).snapshot_size()
    }

    /// `setupKVService`: the tester's controller, group 1, and the first configuration (all
    /// shards on group 1). Returns group 1's gid.
    pub async fn setup_kv_service(&self) -> Gid {
        let ctrler = self.make_ctrler();
        *self.0.ctrler.borrow_mut() = Some(ctrler.clone());
        self.start_group(GID1);
        let mut config = ShardConfig::new();
        config.join_balance(BTreeMap::from([(GID1, Self::names(GID1))]));
        ctrler.ctrler.init_config(config).await;
        GID1
    }

    /// `join`: `ctrler` moves to the current configuration plus group `gid`.
    pub async fn join(&self, ctrler: &dyn Ctrler, gid: Gid) {
        let mut config = ctrler.query().await;
        let joined = config.join_balance(BTreeMap::from([(gid, Self::names(gid))]));
        assert!(joined, "join: group {gid} is already present");
        ctrler.change_config_to(config).await;
    }

    /// `joinGroups`: starts each group and joins it, pausing after each; false if one is not
    /// a member after its join.
    pub async fn join_groups(&self, ctrler: &dyn Ctrler, gids: &[Gid]) -> bool {
        for &gid in gids {
            self.start_group(gid);
            self.join(ctrler, gid).await;
            if !ctrler.query().await.is_member(gid) {
                return false;
            }
            sim::sleep(INTER_GROUP_DELAY).await;
        }
        true
    }

    /// `leave`: `ctrler` moves to the current configuration without group `gid`.
    pub async fn leave(&self, ctrler: &dyn Ctrler, gid: Gid) {
        let mut config = ctrler.query().await;
        let num = config.num;
        let left = config.leave_balance(&[gid]);
        assert!(
            left,
            "leave: group {gid} is already not present in configuration {num} (if it joined: did \
             another controller's change replace the one that made it a member?)"
        );
        ctrler.change_config_to(config).await;
    }

    /// `leaveGroups`: each group leaves and exits, pausing after each; false if one is still
    /// a member after its leave.
    pub async fn leave_groups(&self, ctrler: &dyn Ctrler, gids: &[Gid]) -> bool {
        for &gid in gids {
            self.leave(ctrler, gid).await;
            if ctrler.query().await.is_member(gid) {
                return false;
            }
            self.exit_group(gid);
            sim::sleep(INTER_GROUP_DELAY).await;
        }
        true
    }

    /// `disconnectClntFromLeader`: shuts down the server of group `gid` that believes it
    /// leads (it stays down).
    pub fn shut_down_leader(&self, gid: Gid) {
        let group = self.group(gid);
        let leader = (0..group.n()).find(|&i| group.server(i).is_some_and(|s| s.is_leader()));
        let leader = leader.unwrap_or_else(|| panic!("group {gid} has no leader to shut down"));
        group.shutdown(leader);
    }

    /// `SpreadPutsSize`: puts `n` keys `k0`, `k1`, ... with random values of `size` bytes
    /// (unrecorded, whatever the puts return), then checks that each reads its value at
    /// version 1; returns the keys and values.
    pub async fn spread_puts(&self, n: usize, size: usize) -> (Vec<String>, Vec<String>) {
        let ck = self.make_unrecorded_clerk();
        let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let values: Vec<String> = (0..n).map(|_| random_value(size)).collect();
        for (key, value) in keys.iter().zip(&values) {
            // On an unreliable network a put may return ErrMaybe: the reads below tell.
            let _ = ck.put(key, value, 0).await;
        }
        self.check_gets(&ck, &keys, &values).await;
        self.delete_clerk(ck);
        (keys, values)
    }

    /// `CheckGet` of every key: its value, at version 1. A get still waiting when the test's
    /// time limit comes fails the test naming its key (rather than the limit alone).
    pub async fn check_gets(&self, ck: &TestClerk, keys: &[String], values: &[String]) {
        let limit = Options::default().time_limit;
        for (key, value) in keys.iter().zip(values) {
            let left = limit.saturating_sub(sim::now().since_start() + Duration::from_millis(1));
            if sim::timeout(left, check_get(ck, key, value, 1))
                .await
                .is_err()
            {
                panic!(
                    "get({key:?}) did not return before the test's time limit of {limit:?}: no \
                     group serves its shard (frozen for good, or never installed where the \
                     configuration says it is?)"
                );
            }
        }
    }

    /// `checkShutdownSharding`: with group `down` shut down, a fresh clerk per key reads it;
    /// every read that finishes (before two seconds pass without one) must see the key's
    /// value, and some must not finish (the data is really split between groups). Then the
    /// group is restarted.
    pub async fn check_shutdown_sharding(&self, down: Gid, keys: &[String], values: &[String]) {
        self.shutdown_group(down);
        let done: Rc<RefCell<Vec<(usize, GetResult)>>> = Rc::default();
        for (i, key) in keys.iter().enumerate() {
            let (ts, key, done) = (self.clone(), key.clone(), done.clone());
            sim::spawn(async move {
                let ck = ts.make_unrecorded_clerk();
                let got = ck.get(&key).await;
                done.borrow_mut().push((i, got));
            });
        }
        let mut seen = 0;
        loop {
            sim::sleep(SHUTDOWN_QUIET).await;
            let now = done.borrow().len();
            if now == seen {
                break;
            }
            seen = now;
        }
        for (i, got) in done.borrow().iter() {
            if let Ok((value, _)) = got {
                assert!(
                    *value == values[*i],
                    "get({:?}) with group {down} down: expected\n{}\nreceived\n{value}",
                    keys[*i],
                    values[*i]
                );
            }
        }
        assert!(
            seen < keys.len(),
            "expected fewer than {} gets to complete with group {down} down, but all did: does \
             group {down} serve no key?",
            keys.len()
        );
        self.start_servers(down);
    }

    /// Checks that every recorded operation so far is linearizable (the original's
    /// `CheckPorcupine`, which gives up after a second; this one decides every history).
    pub fn check_linearizable(&self) {
        self.0.log.check_linearizable(&PowerSet(VersionedKvModel));
    }

    /// `partitionCtrler`: a controller keeps joining and leaving fresh groups in the
    /// background; group `gid` is shut down under it, then it is cut off; group `gid` comes
    /// back and a new controller must finish the change it left halfway (and, with
    /// partitions, the old one comes back and must bail out). Every key must then read its
    /// value at version 1.
    pub async fn partition_ctrler(&self, gid: Gid, keys: &[String], values: &[String]) {
        const JOIN: u8 = 0;
        const LEAVE: u8 = 1;
        let old = self.make_ctrler();
        old.ctrler.init_controller().await;
        let num = self.ctrler().query().await.num;
        let state = Rc::new(Cell::new(JOIN));
        let joining = Rc::new(Cell::new(0));
        {
            let (ts, old, state, joining) =
                (self.clone(), old.clone(), state.clone(), joining.clone());
            sim::spawn(async move {
                loop {
                    let ngid = ts.new_gid();
                    joining.set(ngid);
                    state.set(JOIN);
                    ts.join_groups(&*old.ctrler, &[ngid]).await;
                    if !old.ctrler.query().await.is_member(ngid) {
                        return;
                    }
                    state.set(LEAVE);
                    ts.leave_groups(&*old.ctrler, &[ngid]).await;
                }
            });
        }
        let pause = sim::rng().random_range(0..400);
        sim::sleep(Duration::from_millis(1000 + pause)).await;
        self.shutdown_group(gid);
        sim::sleep(Duration::from_secs(1)).await;
        old.disconnect();
        if self.0.spec.partition {
            sim::sleep(Duration::from_secs(1)).await;
        }
        self.start_servers(gid);

        let new = self.make_ctrler();
        new.ctrler.init_controller().await;
        let config = new.query().await;
        assert!(
            config.num > num,
            "the new controller did not recover: the configuration is still number {}, as \
             before the old controller was cut off ({num}); init_controller must finish the \
             change a failed controller started",
            config.num
        );
        let (ngid, state) = (joining.get(), state.get());
        if state == JOIN && !config.is_member(ngid) {
            panic!(
                "the new controller did not recover group {ngid}'s join: it is not a member of \
                 configuration {}",
                config.num
            );
        }
        if state == LEAVE && config.is_member(ngid) {
            panic!(
                "the new controller did not recover group {ngid}'s leave: it is still a member \
                 of configuration {}",
                config.num
            );
        }
        if state == JOIN {
            self.leave_groups(&*new.ctrler, &[ngid]).await;
        }
        if self.0.spec.partition {
            // The old controller comes back: it has been superseded and must bail out.
            old.connect();
            sim::sleep(Duration::from_millis(100)).await;
        }
        let ck = self.make_unrecorded_clerk();
        self.check_gets(&ck, keys, values).await;
        self.delete_clerk(ck);
        // The old controller's calls fail from now on. One it sent just before may still be
        // on its way, and could claim a change after the next round's controller has read
        // the configurations, which would fail that round for nothing: let it land.
        old.ends.delete_all();
        new.ends.delete_all();
        sim::sleep(IN_FLIGHT).await;
    }

    /// `concurCtrler`: four controllers at once, each joining and then leaving a fresh group
    /// again and again, for two seconds; then every key must read its value at version 1.
    pub async fn concur_ctrler(&self, keys: &[String], values: &[String]) {
        const CONTROLLERS: usize = 4;
        let stop = Rc::new(Cell::new(false));
        let handles: Vec<_> = (0..CONTROLLERS)
            .map(|_| {
                let (ts, stop) = (self.clone(), stop.clone());
                sim::spawn(async move {
                    while !stop.get() {
                        let ngid = ts.new_gid();
                        let ctrler = ts.make_ctrler();
                        ctrler.ctrler.init_controller().await;
                        if ts.join_groups(&*ctrler.ctrler, &[ngid]).await {
                            ts.leave_groups(&*ctrler.ctrler, &[ngid]).await;
                        }
                    }
                })
            })
            .collect();
        sim::sleep(Duration::from_secs(2)).await;
        stop.set(true);
        for handle in handles {
            handle.await.expect("the test node never crashes");
        }
        let ck = self.make_unrecorded_clerk();
        self.check_gets(&ck, keys, values).await;
        self.delete_clerk(ck);
    }

    /// `n` clients doing `OneClientPut` on `"k0"` for `duration`, while `meanwhile` runs;
    /// then the history is checked.
    pub async fn concurrent_clerks<F: Future<Output = ()>>(
        &self,
        n: usize,
        duration: Duration,
        meanwhile: F,
    ) {
        let done = Rc::new(Cell::new(false));
        let keys = Rc::new(vec!["k0".to_string()]);
        let handles: Vec<_> = (0..n)
            .map(|client| {
                let (ck, done, keys) = (self.make_clerk(), done.clone(), keys.clone());
                sim::spawn(async move {
                    one_client_put(&ck, client, &keys, false, &done).await;
                    ck
                })
            })
            .collect();
        let started = sim::now();
        meanwhile.await;
        let left = duration.saturating_sub(sim::now() - started);
        sim::sleep(left).await;
        done.set(true);
        for handle in handles {
            let ck = handle.await.expect("the test node never crashes");
            self.delete_clerk(ck);
        }
        self.check_linearizable();
    }
}
