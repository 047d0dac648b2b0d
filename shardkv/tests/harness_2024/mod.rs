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
use labrpc::{ClientEnd, Network, sim};
use labtest::cluster::{Client, EndMaker, Group, GroupSpec, Incarnation, Started};
use labtest::kv::{LATENCY, OpLog};
use labtest::linearizability::models::{KvInput, KvOutput};
use labtest::{Options, TestCx};
use shardctrler::{Config, Gid, ShardCtrler};
use shardkv::{Clerk, MakeEnd, ShardKv};
use std::cell::Cell;
use std::collections::BTreeMap;
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
}

impl ServerHandle {
    /// A handle that asks `raft_state` for (term, is leader).
    pub fn new(raft_state: impl Fn() -> (u64, bool) + 'static) -> ServerHandle {
        ServerHandle {
            raft_state: Rc::new(raft_state),
        }
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
    let (state, killed) = (kv.clone(), kv.clone());
    Started::new(ServerHandle::new(move || state.raft().get_state()))
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
        let groups = GIDS
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
        Tester {
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
        }
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
