//! The shardkv tester (the original's `config.go`): a controller service of three servers
//! and three replica groups (gids 100, 101, 102) of three servers each, on one simulated
//! network, built on `labtest::cluster`; servers reach each other by name at run time
//! (`make_end`); groups join and leave; servers and whole groups shut down and restart; a
//! second, independent controller service; clerk operations recorded for the linearizability
//! checker.
//!
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use labrpc::rand::RngExt;
use labrpc::sim::Node;
use labrpc::sync::Notify;
use labrpc::{ClientEnd, Network, sim};
use labrpc::{Delivery, DeliveryKind};
use labtest::cluster::{Client, EndMaker, Group, GroupSpec, Incarnation, Started};
use labtest::kv::{LATENCY, OpLog};
use labtest::linearizability::models::{KvInput, KvOutput};
use labtest::{Options, TestCx};
use shardctrler::{Config, Gid, ShardCtrler};
use shardkv::{Clerk, MakeEnd, ShardKv, ShardStore};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// Servers per replica group, and in the controller service.
pub const N: usize = 3;

/// The replica groups' ids: group index `gi` has gid `GIDS[gi]`.
pub const GIDS: [Gid; 3] = [100, 101, 102];

/// How the tester starts one shard server: everything the original's `StartServer` passes.
pub struct ShardServerStart {
    /// Its group's ends, index, persister and node.
    pub incarnation: Incarnation,
    /// Its group.
    pub gid: Gid,
    /// Snapshot limit (`None`: never).
    pub max_raft_state: Option<usize>,
    /// Ends to the controller servers, fresh for this incarnation.
    pub ctrlers: Vec<ClientEnd>,
    /// Makes ends to servers by name, for this incarnation.
    pub make_end: MakeEnd,
}

/// What the tester keeps of a running shard server.
#[derive(Clone)]
pub struct ServerHandle {
    raft_state: Rc<dyn Fn() -> (u64, bool)>,
    config_num: Option<Rc<dyn Fn() -> u64>>,
}

impl ServerHandle {
    /// A handle that asks `raft_state` for (term, is leader).
    pub fn new(raft_state: impl Fn() -> (u64, bool) + 'static) -> ServerHandle {
        ServerHandle {
            raft_state: Rc::new(raft_state),
            config_num: None,
        }
    }

    /// The same, that also asks `config_num` for the configuration the server has applied.
    pub fn with_config_num(mut self, config_num: impl Fn() -> u64 + 'static) -> ServerHandle {
        self.config_num = Some(Rc::new(config_num));
        self
    }
}

/// How the tester starts a shard server (the student's, or a planted bug).
pub type MakeServer = fn(ShardServerStart) -> Started<ServerHandle>;

/// The student's shard server.
pub fn shard_server(start: ShardServerStart) -> Started<ServerHandle> {
    let ShardServerStart {
        incarnation,
        gid,
        max_raft_state,
        ctrlers,
        make_end,
    } = start;
    let kv = ShardKv::new(
        incarnation.ends,
        incarnation.index,
        incarnation.persister,
        max_raft_state,
        gid,
        ctrlers,
        make_end,
    );
    let (state, killed, config) = (kv.clone(), kv.clone(), kv.clone());
    let handle = ServerHandle::new(move || state.raft().get_state())
        .with_config_num(move || config.rsm().with_state(ShardStore::config_num));
    Started::new(handle)
        .service(kv.service())
        .service(kv.raft().service())
        .on_kill(move || killed.kill())
}

/// The controller's server.
fn ctrler_server(start: Incarnation) -> Started<()> {
    let server = ShardCtrler::new(start.ends, start.index, start.persister);
    let killed = server.clone();
    Started::new(())
        .service(server.service())
        .service(server.raft().service())
        .on_kill(move || killed.kill())
}

/// A controller service: a group of controller servers.
#[derive(Clone)]
pub struct Ctrlers {
    group: Group<()>,
}

impl Ctrlers {
    /// Starts a controller service of [`N`] servers named `server-<name>-<i>`, connected.
    fn start(net: &Network, name: &str) -> Ctrlers {
        let group = Group::new(net, GroupSpec::new(N).named(name), ctrler_server);
        group.connect_all();
        Ctrlers { group }
    }

    /// Its servers' names on the network.
    fn names(&self) -> Vec<String> {
        (0..N)
            .map(|i| self.group.server_name(i).to_string())
            .collect()
    }
}

/// A clerk made by the tester: the given [`Clerk`], and its ends (to a controller service,
/// and made by name), deleted with it.
pub struct TestClerk {
    /// The clerk's number (1, 2, ... in the order the tester made them).
    pub id: u64,
    clerk: Clerk,
    ctrler_link: Client,
    ctrlers: Ctrlers,
    ends: EndMaker,
}

/// A controller clerk of the tester's own (joins and leaves), with its ends.
struct AdminClerk {
    clerk: shardctrler::Clerk,
    link: Client,
}

/// The sharded service under test. Cloning gives another handle to it.
#[derive(Clone)]
pub struct Tester {
    cx: TestCx,
    net: Network,
    ctrlers: Ctrlers,
    groups: Vec<Group<ServerHandle>>,
    /// A server's end maker, by (group index, server index), of its current incarnation.
    server_ends: Rc<std::cell::RefCell<BTreeMap<(usize, usize), EndMaker>>>,
    max_raft_state: Option<usize>,
    mck: Rc<AdminClerk>,
    log: OpLog<KvInput, KvOutput>,
    clients_made: Rc<Cell<u64>>,
    /// Controller services started besides the first.
    ctrler_services: Rc<Cell<u64>>,
    /// When the tester was made (the test's start).
    started: sim::Instant,
    /// What the network showed the tester: for the report of what was pending at the time
    /// limit, and the suite's own scenarios.
    seen: Rc<RefCell<Seen>>,
}

/// A clerk operation under way.
struct PendingOp {
    clerk: u64,
    what: String,
    key: String,
    since: sim::Instant,
}

/// What the network showed the tester (no effect on the run: it only watches).
#[derive(Default)]
pub struct Seen {
    /// Every configuration a controller returned, by number.
    configs: BTreeMap<u64, Config>,
    /// For each key, when a clerk's request for it last reached a server, and which.
    requests: BTreeMap<String, (sim::Instant, Node)>,
    /// The key of each clerk request delivered and not answered yet, by rpc id.
    keys: BTreeMap<u64, String>,
    /// For each key, the last `WrongGroup` answer to a clerk's request for it: when, and from
    /// which server.
    answers: BTreeMap<String, (sim::Instant, Node, bool)>,
    /// Clerk operations under way, by a number of the tester's.
    pending: BTreeMap<u64, PendingOp>,
    next_op: u64,
    /// Calls between two groups' servers, recorded while armed: (request or reply, from, to).
    pub cross: Option<Vec<(DeliveryKind, Node, Node)>>,
    /// Woken at each call recorded in `cross`.
    pub cross_notify: Rc<Notify>,
    /// Group index and server index of each shard server's node.
    nodes: BTreeMap<Node, (usize, usize)>,
}

/// Takes a clerk operation off the pending list when it ends (or is dropped).
struct PendingGuard {
    seen: Rc<RefCell<Seen>>,
    op: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.seen.borrow_mut().pending.remove(&self.op);
    }
}

impl Tester {
    /// `make_config`: the controller service and groups 100, 101, 102 (three servers each),
    /// all started and connected, none joined; the network reliable or not; snapshots at
    /// `max_raft_state` bytes (`None`: never).
    pub fn new(cx: &TestCx, unreliable: bool, max_raft_state: Option<usize>) -> Tester {
        Tester::with_servers(cx, unreliable, max_raft_state, shard_server)
    }

    /// Like [`Tester::new`], with shard servers made by `server` (the suite's own tests run
    /// planted bugs this way).
    pub fn with_servers(
        cx: &TestCx,
        unreliable: bool,
        max_raft_state: Option<usize>,
        server: MakeServer,
    ) -> Tester {
        cx.set_peers(N + GIDS.len() * N);
        let net = Network::new();
        net.set_reliable(!unreliable);
        net.set_latency(LATENCY);
        let ctrlers = Ctrlers::start(&net, "ctlr");
        let server_ends: Rc<std::cell::RefCell<BTreeMap<(usize, usize), EndMaker>>> = Rc::default();
        let groups: Vec<Group<ServerHandle>> = GIDS
            .iter()
            .enumerate()
            .map(|(gi, &gid)| {
                let (net2, ctrler_names, server_ends) =
                    (net.clone(), ctrlers.names(), server_ends.clone());
                let group = Group::new(
                    &net,
                    GroupSpec::new(N).named(gid.to_string()),
                    move |incarnation: Incarnation| {
                        let owner =
                            format!("{gid}-{}.{}", incarnation.index, incarnation.generation);
                        let ends = EndMaker::new(&net2, owner);
                        server_ends
                            .borrow_mut()
                            .insert((gi, incarnation.index), ends.clone());
                        let ctrlers = ctrler_names.iter().map(|n| ends.make_end(n)).collect();
                        let maker = ends.clone();
                        server(ShardServerStart {
                            incarnation,
                            gid,
                            max_raft_state,
                            ctrlers,
                            make_end: Rc::new(move |name: &str| maker.make_end(name)),
                        })
                    },
                );
                group.connect_all();
                group
            })
            .collect();
        let link = ctrlers.group.make_client(&(0..N).collect::<Vec<_>>());
        let mck = AdminClerk {
            clerk: shardctrler::Clerk::new(link.ends().to_vec()),
            link,
        };
        let seen: Rc<RefCell<Seen>> = Rc::default();
        for (gi, group) in groups.iter().enumerate() {
            for i in 0..N {
                seen.borrow_mut().nodes.insert(group.node(i), (gi, i));
            }
        }
        let watched = seen.clone();
        net.observe(move |d| watched.borrow_mut().see(d));
        let tester = Tester {
            cx: cx.clone(),
            net,
            ctrlers,
            groups,
            server_ends,
            max_raft_state,
            mck: Rc::new(mck),
            log: OpLog::new(cx),
            clients_made: Rc::default(),
            ctrler_services: Rc::default(),
            started: sim::now(),
            seen,
        };
        let reporter = tester.clone();
        labtest::pending::on_time_limit(move || reporter.pending_report());
        tester
    }

    /// The network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// The servers' names of group `gi`.
    pub fn server_names(&self, gi: usize) -> Vec<String> {
        (0..N)
            .map(|i| self.groups[gi].server_name(i).to_string())
            .collect()
    }

    /// A clerk of the sharded service that asks the tester's controller service.
    pub fn make_client(&self) -> TestClerk {
        self.make_client_of(&self.ctrlers.clone())
    }

    /// A clerk of the sharded service that asks the controller service `ctrlers`.
    pub fn make_client_of(&self, ctrlers: &Ctrlers) -> TestClerk {
        let id = self.clients_made.get() + 1;
        self.clients_made.set(id);
        let ctrler_link = ctrlers.group.make_client(&(0..N).collect::<Vec<_>>());
        let ends = ctrler_link.shuffled_ends();
        let maker = EndMaker::new(&self.net, format!("clerk-{id}"));
        let make = maker.clone();
        TestClerk {
            id,
            clerk: Clerk::new(ends, Rc::new(move |name: &str| make.make_end(name))),
            ctrler_link,
            ctrlers: ctrlers.clone(),
            ends: maker,
        }
    }

    /// Deletes the clerk's ends.
    pub fn delete_client(&self, ck: TestClerk) {
        ck.ctrlers.group.delete_client(ck.ctrler_link);
        ck.ends.delete_all();
    }

    /// `StartCtrlerService`: a second controller service, independent of the first (its
    /// servers are `server-ctlr<k>-<i>`); no group has joined it.
    pub fn start_ctrler_service(&self) -> Ctrlers {
        let started = self.ctrler_services.get() + 1;
        self.ctrler_services.set(started);
        Ctrlers::start(&self.net, &format!("ctlr{}", started + 1))
    }

    /// Group `gi`'s servers, for a join.
    fn group_servers(&self, gi: usize) -> (Gid, Vec<String>) {
        (GIDS[gi], self.server_names(gi))
    }

    /// The tester's controller: groups `gis` join, in one request.
    pub async fn joinm(&self, gis: &[usize]) {
        let servers = gis.iter().map(|&gi| self.group_servers(gi)).collect();
        self.mck.clerk.join(servers).await;
    }

    /// The tester's controller: group `gi` joins.
    pub async fn join(&self, gi: usize) {
        self.joinm(&[gi]).await;
    }

    /// The tester's controller: groups `gis` leave, in one request.
    pub async fn leavem(&self, gis: &[usize]) {
        let gids: Vec<Gid> = gis.iter().map(|&gi| GIDS[gi]).collect();
        self.mck.clerk.leave(&gids).await;
    }

    /// The tester's controller: group `gi` leaves.
    pub async fn leave(&self, gi: usize) {
        self.leavem(&[gi]).await;
    }

    /// Group `gi` joins the controller service `ctrlers` (a second one).
    pub async fn join_at(&self, ctrlers: &Ctrlers, gi: usize) {
        let link = ctrlers.group.make_client(&(0..N).collect::<Vec<_>>());
        let clerk = shardctrler::Clerk::new(link.ends().to_vec());
        clerk.join(BTreeMap::from([self.group_servers(gi)])).await;
        ctrlers.group.delete_client(link);
    }

    /// The tester's controller's latest configuration.
    pub async fn query(&self) -> Config {
        self.mck.clerk.query(None).await
    }

    /// `ShutdownServer(gi, i)`: cuts server `i` of group `gi` from its peers, the controller
    /// and other groups, and shuts it down (its persisted state kept).
    pub fn shutdown_server(&self, gi: usize, i: usize) {
        if let Some(ends) = self.server_ends.borrow().get(&(gi, i)) {
            ends.disconnect_all();
        }
        self.groups[gi].shutdown(i);
    }

    /// `StartServer(gi, i)`: starts server `i` of group `gi` again from its persisted state,
    /// connected.
    pub fn start_server(&self, gi: usize, i: usize) {
        self.groups[gi].start(i);
        self.groups[gi].connect(i);
    }

    /// Shuts every server of group `gi` down.
    pub fn shutdown_group(&self, gi: usize) {
        for i in 0..N {
            self.shutdown_server(gi, i);
        }
    }

    /// Starts every server of group `gi` again.
    pub fn start_group(&self, gi: usize) {
        for i in 0..N {
            self.start_server(gi, i);
        }
    }

    /// `checklogs`: no server's persisted Raft state exceeds 8 × `max_raft_state`, and without
    /// a limit no server has a snapshot.
    pub fn checklogs(&self) {
        for (gi, group) in self.groups.iter().enumerate() {
            for i in 0..N {
                let persister = group.persister(i);
                let (raft, snapshot) = (persister.raft_state_size(), persister.snapshot_size());
                match self.max_raft_state {
                    Some(max) => assert!(
                        raft <= 8 * max,
                        "persister.raft_state_size() {raft}, but max_raft_state {max} (server \
                         {i} of group {}): does the group snapshot when Raft's state nears \
                         max_raft_state?",
                        GIDS[gi]
                    ),
                    None => assert!(
                        snapshot == 0,
                        "max_raft_state is None, but snapshot is non-empty! ({snapshot} bytes, \
                         server {i} of group {})",
                        GIDS[gi]
                    ),
                }
            }
        }
    }

    /// Persisted Raft state plus snapshot, summed over every server of every group.
    pub fn total_persisted_size(&self) -> usize {
        let mut total = 0;
        for group in &self.groups {
            for i in 0..N {
                let persister = group.persister(i);
                total += persister.raft_state_size() + persister.snapshot_size();
            }
        }
        total
    }

    /// Makes the network reliable or not.
    pub fn set_reliable(&self, reliable: bool) {
        self.net.set_reliable(reliable);
    }

    /// The log of recorded operations.
    pub fn op_log(&self) -> &OpLog<KvInput, KvOutput> {
        &self.log
    }

    // ---- clerk operations: `record` puts them in the history for the checker ----

    /// `ck.get(key)`, recorded as client `client` if given; counted as an op either way.
    pub async fn get(&self, ck: &TestClerk, key: &str, record: Option<u64>) -> String {
        let _pending = self.pending(ck, format!("get({key:?})"), key);
        self.log.get(record, key, ck.clerk.get(key)).await
    }

    /// `ck.put(key, value)`, recorded as client `client` if given.
    pub async fn put(&self, ck: &TestClerk, key: &str, value: &str, record: Option<u64>) {
        let _pending = self.pending(ck, format!("put({key:?}, {})", shorten(value)), key);
        self.log
            .put(record, key, value, ck.clerk.put(key, value))
            .await;
    }

    /// `ck.append(key, value)`, recorded as client `client` if given.
    pub async fn append(&self, ck: &TestClerk, key: &str, value: &str, record: Option<u64>) {
        let _pending = self.pending(ck, format!("append({key:?}, {})", shorten(value)), key);
        self.log
            .append(record, key, value, ck.clerk.append(key, value))
            .await;
    }

    /// The original's `check` for a key the test wrote `writes` to (a put, then appends):
    /// `key` reads their concatenation. A mismatch names the first write that is missing,
    /// repeated or out of place.
    pub async fn check_writes(&self, ck: &TestClerk, key: &str, writes: &[String]) {
        let got = self.get(ck, key, None).await;
        let wanted = writes.concat();
        assert!(
            got == wanted,
            "Get({key:?}): expected:\n{}\nreceived:\n{}\n{}",
            shorten(&wanted),
            shorten(&got),
            diagnose_writes(writes, &got)
        );
    }

    /// Runs `op` (a clerk operation of a challenge test) and returns its result, failing with
    /// `what` if it has not completed by the test's time limit (a second before it, so that
    /// the failure names the cause).
    pub async fn before_time_limit<T>(&self, op: impl Future<Output = T>, what: &str) -> T {
        let deadline = self.started + (Options::default().time_limit - Duration::from_secs(1));
        let left = deadline.saturating_duration_since(sim::now());
        match sim::timeout(left, op).await {
            Ok(value) => value,
            Err(sim::Elapsed) => panic!("{what}"),
        }
    }

    /// The original's `check`: `key` reads `value`.
    pub async fn check(&self, ck: &TestClerk, key: &str, value: &str) {
        let got = self.get(ck, key, None).await;
        assert!(
            got == value,
            "Get({key:?}): expected:\n{}\nreceived:\n{}",
            shorten(value),
            shorten(&got)
        );
    }
}

impl Seen {
    /// Takes note of one delivery.
    fn see(&mut self, d: &Delivery<'_>) {
        match d.kind {
            DeliveryKind::Request if d.service == "ShardKv" => {
                let key = d
                    .args::<shardkv::rpc::Get>()
                    .map(|a| a.key)
                    .or_else(|| d.args::<shardkv::rpc::Put>().map(|a| a.key))
                    .or_else(|| d.args::<shardkv::rpc::Append>().map(|a| a.key));
                if let Some(key) = key {
                    self.requests.insert(key.clone(), (d.at, d.to));
                    self.keys.insert(d.rpc, key);
                }
            }
            DeliveryKind::Reply if d.service == "ShardKv" => {
                if let Some(key) = self.keys.remove(&d.rpc) {
                    let wrong_group = d
                        .reply::<shardkv::rpc::Get>()
                        .map(|r| r.err())
                        .or_else(|| d.reply::<shardkv::rpc::Put>().map(|r| r.err()))
                        .or_else(|| d.reply::<shardkv::rpc::Append>().map(|r| r.err()))
                        .flatten()
                        == Some(shardkv::ShardKvError::WrongGroup);
                    if wrong_group {
                        self.answers.insert(key, (d.at, d.from, wrong_group));
                    }
                }
            }
            DeliveryKind::Reply if d.is::<shardctrler::rpc::Query>() => {
                if let Some(Ok(config)) = d.reply::<shardctrler::rpc::Query>() {
                    self.configs.entry(config.num).or_insert(config);
                }
            }
            _ => {}
        }
        if d.service != "Raft"
            && let Some(cross) = &mut self.cross
            && let (Some(a), Some(b)) = (self.nodes.get(&d.from), self.nodes.get(&d.to))
            && a.0 != b.0
        {
            cross.push((d.kind, d.from, d.to));
            self.cross_notify.notify_one();
        }
    }
}

impl Tester {
    /// Puts a clerk operation on the pending list until the guard is dropped.
    fn pending(&self, ck: &TestClerk, what: String, key: &str) -> PendingGuard {
        let mut seen = self.seen.borrow_mut();
        seen.next_op += 1;
        let op = seen.next_op;
        seen.pending.insert(
            op,
            PendingOp {
                clerk: ck.id,
                what,
                key: key.to_string(),
                since: sim::now(),
            },
        );
        PendingGuard {
            seen: self.seen.clone(),
            op,
        }
    }

    /// What the network showed the tester.
    pub fn seen(&self) -> &Rc<RefCell<Seen>> {
        &self.seen
    }

    /// The group index and server index of a shard server's node.
    pub fn server_of(&self, node: Node) -> Option<(usize, usize)> {
        self.seen.borrow().nodes.get(&node).copied()
    }

    /// The configuration server `i` of group `gi` has applied (`None` while it is down, or
    /// for a planted server that does not say).
    pub fn config_num(&self, gi: usize, i: usize) -> Option<u64> {
        let server = self.groups[gi].server(i)?;
        server.config_num.as_ref().map(|f| f())
    }

    /// Whether server `i` of group `gi` believes it leads its group.
    pub fn leads(&self, gi: usize, i: usize) -> bool {
        self.groups[gi]
            .server(i)
            .is_some_and(|s| (s.raft_state)().1)
    }

    /// Group `gi`'s servers in partitions `parts` (they reach only their own partition's
    /// members; other groups and the controller are unaffected).
    pub fn partition_group(&self, gi: usize, parts: &[&[usize]]) {
        self.groups[gi].partition(parts);
    }

    /// Heals group `gi`'s partitions.
    pub fn connect_group(&self, gi: usize) {
        self.groups[gi].connect_all();
    }

    /// Cuts the calls server `i` of group `gi` makes to other groups and the controller (the
    /// calls it receives still arrive), or restores them.
    pub fn set_outgoing(&self, gi: usize, i: usize, connected: bool) {
        if let Some(ends) = self.server_ends.borrow().get(&(gi, i)) {
            if connected {
                ends.connect_all();
            } else {
                ends.disconnect_all();
            }
        }
    }

    /// The tester's controller moves `shard` to group `gi`.
    pub async fn move_shard(&self, shard: usize, gi: usize) {
        self.mck.clerk.move_shard(shard, GIDS[gi]).await;
    }

    /// Waits until every running server of the groups in `gis` has applied configuration
    /// `num`, for `limit` at most; fails with `what` and what was pending if they do not.
    pub async fn wait_configs(&self, gis: &[usize], num: u64, limit: Duration, what: &str) {
        let servers: Vec<(usize, usize)> = gis
            .iter()
            .flat_map(|&gi| (0..N).map(move |i| (gi, i)))
            .collect();
        self.wait_servers(&servers, num, limit, what).await;
    }

    /// Waits until every running server of `servers` (group index, server index) has applied
    /// configuration `num`, for `limit` at most; fails with `what` and what was pending if
    /// they do not.
    pub async fn wait_servers(
        &self,
        servers: &[(usize, usize)],
        num: u64,
        limit: Duration,
        what: &str,
    ) {
        let deadline = sim::now() + limit;
        loop {
            let behind = servers
                .iter()
                .any(|&(gi, i)| self.config_num(gi, i).is_some_and(|c| c < num));
            if !behind {
                return;
            }
            if sim::now() >= deadline {
                let report = self.pending_report();
                // The rule the wait points at comes first.
                let hint = report
                    .lines()
                    .find_map(|l| l.strip_prefix(labtest::pending::HINT))
                    .map_or(String::new(), |h| format!("{h}. "));
                panic!(
                    "{hint}{what}: not every server reached configuration {num} within \
                     {limit:?}.\n{report}"
                );
            }
            sim::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What was pending: the clerks' operations under way (and where their requests last
    /// went), and each group's servers (configuration, leadership) with the shards their
    /// configuration moves. The report of a run that reaches its time limit.
    pub fn pending_report(&self) -> String {
        let seen = self.seen.borrow();
        let server_name = |node: Node| match seen.nodes.get(&node) {
            Some(&(gi, i)) => self.groups[gi].server_name(i).to_string(),
            None => format!("{node:?}"),
        };
        let latest = seen.configs.values().next_back();
        let mut out = String::new();
        let mut hints: Vec<String> = Vec::new();
        if !seen.pending.is_empty() {
            let _ = writeln!(out, "Clerk operations waiting:");
        }
        for op in seen.pending.values() {
            let shard = shardkv::key2shard(&op.key);
            let owner = latest.map_or(0, |c| c.shards[shard]);
            let last = match seen.requests.get(&op.key) {
                Some(&(at, node)) if at >= op.since => {
                    let mut last = format!(
                        "its key's last request reached {} at {at}",
                        server_name(node)
                    );
                    if let Some(&(at, from, true)) = seen.answers.get(&op.key)
                        && at >= op.since
                    {
                        let _ = write!(last, ", the last WrongGroup answer at {at}");
                        if let (Some(&(gi, i)), Some(latest)) = (seen.nodes.get(&from), latest)
                            && GIDS[gi] == owner
                            && self.config_num(gi, i) == Some(latest.num)
                        {
                            hints.push(format!(
                                "group {owner} is in configuration {}, which gives it shard \
                                 {shard}, yet still answers WrongGroup for {:?}: the shard's \
                                 data never arrived. Each configuration must be taken in \
                                 order, exactly once (none skipped), each group handing over \
                                 every shard its configuration moves",
                                latest.num, op.key
                            ));
                        }
                    }
                    last
                }
                _ => {
                    let owner_up = GIDS.iter().position(|&g| g == owner).is_some_and(|gi| {
                        (0..N).any(|i| self.leads(gi, i) && self.groups[gi].is_connected(i))
                    });
                    if owner_up {
                        hints.push(format!(
                            "a clerk must try its group's other servers when one does not \
                             answer (down, or cut off): clerk {}'s requests reached no server \
                             for {:.1}s while group {owner} had a leader",
                            op.clerk,
                            op.since.elapsed().as_secs_f64()
                        ));
                    }
                    "no request for its key has reached any server since".to_string()
                }
            };
            let _ = writeln!(
                out,
                "  clerk {}: {} (shard {shard}, group {owner} in the latest configuration) \
                 waiting since {}; {last}",
                op.clerk, op.what, op.since
            );
        }
        let configs =
            |gi: usize| -> Vec<Option<u64>> { (0..N).map(|i| self.config_num(gi, i)).collect() };
        let show = |cs: &[Option<u64>]| -> String {
            cs.iter()
                .map(|c| c.map_or("-".to_string(), |c| c.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            out,
            "Groups (the controller's latest configuration: {}; servers' configurations in \
             order, - for a server down):",
            latest.map_or("none seen".to_string(), |c| c.num.to_string())
        );
        for (gi, &gid) in GIDS.iter().enumerate() {
            let cs = configs(gi);
            let mut state = Vec::new();
            for i in 0..N {
                if self.groups[gi].server(i).is_none() {
                    state.push(format!("{i} down"));
                } else if self.leads(gi, i) {
                    let term = self.groups[gi].server(i).map_or(0, |s| (s.raft_state)().0);
                    state.push(format!("{i} leads (term {term})"));
                }
                if !self.groups[gi].is_connected(i) {
                    state.push(format!("{i} cut off"));
                }
            }
            let _ = writeln!(
                out,
                "  group {gid}: configurations {}{}",
                show(&cs),
                if state.is_empty() {
                    String::new()
                } else {
                    format!("; server {}", state.join(", "))
                }
            );
            let Some(at) = cs.iter().flatten().max().copied() else {
                continue;
            };
            let (Some(latest), Some(now), Some(before)) = (
                latest,
                seen.configs.get(&at),
                at.checked_sub(1).and_then(|b| seen.configs.get(&b)),
            ) else {
                continue;
            };
            if latest.num <= at {
                continue;
            }
            // Behind the controller: the shards its configuration brings in.
            let mut from: BTreeMap<Gid, Vec<usize>> = BTreeMap::new();
            for shard in 0..shardkv::NSHARDS {
                let (was, is) = (before.shards[shard], now.shards[shard]);
                if is == gid && was != gid && was != 0 {
                    from.entry(was).or_default().push(shard);
                }
            }
            for (source, shards) in from {
                let Some(si) = GIDS.iter().position(|&g| g == source) else {
                    continue;
                };
                let scs = configs(si);
                let _ = writeln!(
                    out,
                    "    configuration {at} brings it shards {shards:?} from group {source} \
                     (configurations {})",
                    show(&scs)
                );
                if scs.iter().flatten().all(|&c| c > at) && scs.iter().any(Option::is_some) {
                    let source_at = scs.iter().flatten().min().copied().unwrap_or(at);
                    let skipped = "each configuration must be taken in order, exactly once \
                                   (none skipped), moving on only once its shards have arrived \
                                   and left";
                    let new_term = "a new leader must commit an entry of its own term (a \
                                    no-op, §5.4.2) to apply an install its predecessor \
                                    acknowledged";
                    let (first, second) = if source_at > at + 1 {
                        (skipped, new_term)
                    } else {
                        (new_term, skipped)
                    };
                    hints.push(format!(
                        "group {gid} waits in configuration {at} for shards {shards:?} that \
                         group {source}, now in {source_at}, handed over: {first}; and \
                         {second}"
                    ));
                }
            }
        }
        for hint in hints {
            let _ = writeln!(out, "{}{hint}", labtest::pending::HINT);
        }
        out
    }
}

/// Why a key's value differs from the concatenation of what was written to it: the first
/// write missing, repeated (a retried append applied twice) or out of place.
pub fn diagnose_writes(writes: &[String], got: &str) -> String {
    let mut at = 0;
    for (i, write) in writes.iter().enumerate() {
        let rest = &got[at..];
        if rest.starts_with(write.as_str()) {
            at += write.len();
            continue;
        }
        if i > 0 && rest.starts_with(writes[i - 1].as_str()) {
            return format!(
                "append #{} ({:?}) appears twice: an append was applied twice (does the \
                 duplicate-detection state move with the shard, and survive restarts?)",
                i - 1,
                writes[i - 1]
            );
        }
        if let Some(later) = (i + 1..writes.len()).find(|&j| rest.starts_with(writes[j].as_str())) {
            return format!(
                "write #{i} ({write:?}) is missing: the value goes on with write #{later} \
                 (a write lost, perhaps when the shard moved?)"
            );
        }
        return format!("the value differs from write #{i} ({write:?}) on, at byte {at}");
    }
    match writes.last() {
        Some(last) if got[at..].starts_with(last.as_str()) => format!(
            "the last append ({last:?}) appears twice: an append was applied twice (does the \
             duplicate-detection state move with the shard, and survive restarts?)"
        ),
        _ => format!(
            "the value has {} bytes after the last write",
            got.len() - at
        ),
    }
}

/// A value for messages: whole if short, else its length and both ends.
pub fn shorten(value: &str) -> String {
    const SHOW: usize = 60;
    if value.len() <= 2 * SHOW || !value.is_ascii() {
        return format!("{value:?}");
    }
    format!(
        "{:?}...{:?} ({} bytes)",
        &value[..SHOW],
        &value[value.len() - SHOW..],
        value.len()
    )
}

/// The original's `randstring(n)`: `n` random letters and digits (from the simulation's
/// generator).
pub fn random_string(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = sim::rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// The keys `"0"`, `"1"`, ... (`n` of them; the first ten land in ten different shards).
pub fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

pub mod scenarios;
