//! Tests of the kvraft tester itself, edition 2025: replicated state machines, key/value
//! servers and clerks with the classic bugs, planted one at a time, must fail the graded
//! scenarios that target them, fast, with a message that names the cause. The planted rsm is
//! written here (a small one, on the lab's Raft); the planted servers run on the lab's own
//! `Rsm`; so the lab's code stays free of test hooks. (Not graded, and kept out of the student
//! skeleton: the planted servers need a working lab underneath.)

// BEGIN SOLUTION
mod harness_2025;

use harness_2025::{BoxFuture, Counter, CounterReply, CounterRequest, Generic, KvClerk, KvSpec};
use harness_2025::{KvTester, MAX_RAFT_STATE, MakeClerk, MakeKvServer, MakeRsmServer};
use harness_2025::{RaftState, RsmServer, RsmTester, generic_test, generic_test_speed};
use kvraft::v2025::{Error, Get, GetArgs, GetReply, Put, PutArgs, PutReply, Version};
use kvraft::v2025::{Rsm, StateMachine};
use labrpc::rand::RngExt;
use labrpc::sync::{mpsc, oneshot};
use labrpc::{ClientEnd, Service, sim};
use labtest::cluster::{Incarnation, Started};
use labtest::versioned::{GetResult, KvErr};
use labtest::{Options, TestCx};
use raft::{ApplyMsg, Raft, Start};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// How a planted bug is caught

/// An rsm scenario of the harness on servers made by `server`.
fn on_rsm<Fut>(
    server: MakeRsmServer,
    max_raft_state: Option<usize>,
    scenario: fn(RsmTester) -> Fut,
) -> impl Fn(TestCx) -> BoxFuture<()> + Send + Sync + Clone + 'static
where
    Fut: Future<Output = ()> + 'static,
{
    move |cx| {
        let ts = RsmTester::with_servers(&cx, max_raft_state, server);
        Box::pin(scenario(ts))
    }
}

/// `GenericTest` with `spec`.
fn generic(spec: Generic) -> impl Fn(TestCx) -> BoxFuture<()> + Send + Sync + Clone + 'static {
    move |cx| Box::pin(async move { generic_test(&cx, spec).await })
}

// ---------------------------------------------------------------------------------------
// A planted rsm (4A)

/// The bugs planted in the rsm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RsmBug {
    /// None: the planted rsm itself must pass (so a failure below is the bug's).
    None,
    /// Answers a submission with whatever was executed at its index, without checking that
    /// it was its own request.
    NoIdCheck,
    /// Gives up on a submission after a second (the 2024 reference's policy).
    TimesOut,
    /// Executes only the requests it submitted itself.
    ExecutesOwnOnly,
    /// Never snapshots, whatever `max_raft_state` says.
    NeverSnapshots,
    /// Calls `restore` at start even when there is no snapshot.
    RestoresEmptySnapshot,
    /// Ignores the persisted snapshot at start.
    ForgetsSnapshotOnStart,
    /// Waits for its reply and nothing else: never notices that its Raft lost leadership
    /// or was killed.
    WaitsOnlyForItsReply,
}

/// What goes through the planted rsm's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PlantedOp {
    server: usize,
    incarnation: u64,
    seq: u64,
    request: CounterRequest,
}

type Waiters = Rc<RefCell<BTreeMap<u64, (u64, oneshot::Sender<CounterReply>)>>>;

/// A small rsm with `bug`, running the tester's counter.
#[derive(Clone)]
struct PlantedRsm {
    bug: RsmBug,
    raft: Raft<PlantedOp>,
    me: usize,
    incarnation: u64,
    next_seq: Rc<Cell<u64>>,
    waiters: Waiters,
}

impl PlantedRsm {
    fn start(bug: RsmBug, start: Incarnation, max_raft_state: Option<usize>) -> Started<RsmServer> {
        let (mut counter, count) = Counter::new();
        let snapshot = start.persister.read_snapshot();
        let restore = match bug {
            RsmBug::RestoresEmptySnapshot => true,
            RsmBug::ForgetsSnapshotOnStart => false,
            _ => !snapshot.is_empty(),
        };
        if restore {
            counter.decode(&snapshot);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let raft = Raft::new(start.ends, start.index, start.persister.clone(), tx);
        let rsm = PlantedRsm {
            bug,
            raft,
            me: start.index,
            incarnation: sim::rng().random(),
            next_seq: Rc::default(),
            waiters: Rc::default(),
        };
        let max_raft_state = max_raft_state.filter(|_| bug != RsmBug::NeverSnapshots);
        let applier = rsm.clone();
        sim::spawn(async move {
            applier
                .apply(rx, counter, start.persister, max_raft_state)
                .await
        });
        let (state, submitter, killed) = (rsm.raft.clone(), rsm.clone(), rsm.raft.clone());
        let submit = move |request| -> BoxFuture<Option<CounterReply>> {
            let rsm = submitter.clone();
            Box::pin(async move { rsm.submit(request).await })
        };
        Started::new(RsmServer {
            raft: RaftState::new(move || state.get_state()),
            submit: Rc::new(submit),
            count,
        })
        .service(rsm.raft.service())
        .on_kill(move || killed.kill())
    }

    async fn submit(&self, request: CounterRequest) -> Option<CounterReply> {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let op = PlantedOp {
            server: self.me,
            incarnation: self.incarnation,
            seq,
            request,
        };
        let Start { index, term } = self.raft.start(op)?;
        let (tx, mut rx) = oneshot::channel();
        self.waiters.borrow_mut().insert(index, (seq, tx));
        let started = sim::now();
        if self.bug == RsmBug::WaitsOnlyForItsReply {
            return rx.await.ok();
        }
        loop {
            match sim::timeout(Duration::from_millis(20), &mut rx).await {
                Ok(reply) => return reply.ok(),
                Err(sim::Elapsed)
                    if self.raft.killed() || self.raft.get_state() != (term, true) =>
                {
                    return None;
                }
                Err(sim::Elapsed)
                    if self.bug == RsmBug::TimesOut
                        && started.elapsed() >= Duration::from_secs(1) =>
                {
                    return None;
                }
                Err(sim::Elapsed) => {}
            }
        }
    }

    async fn apply(
        self,
        mut committed: mpsc::UnboundedReceiver<ApplyMsg<PlantedOp>>,
        mut counter: Counter,
        persister: labrpc::Persister,
        max_raft_state: Option<usize>,
    ) {
        while let Some(message) = committed.recv().await {
            match message {
                ApplyMsg::Command { index, command } => {
                    let own = command.server == self.me && command.incarnation == self.incarnation;
                    if self.bug == RsmBug::ExecutesOwnOnly && !own {
                        continue;
                    }
                    let reply = counter.execute(command.request);
                    if let Some((seq, waiter)) = self.waiters.borrow_mut().remove(&index)
                        && (self.bug == RsmBug::NoIdCheck || (own && seq == command.seq))
                    {
                        let _ = waiter.send(reply);
                    }
                    if max_raft_state.is_some_and(|max| persister.raft_state_size() >= max) {
                        self.raft.snapshot(index, counter.encode());
                    }
                }
                ApplyMsg::Snapshot { index, data, .. } => {
                    counter.decode(&data);
                    self.waiters.borrow_mut().retain(|&i, _| i > index);
                }
            }
        }
    }
}

fn rsm_no_bug(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::None, start, max)
}
fn rsm_no_id_check(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::NoIdCheck, start, max)
}
fn rsm_times_out(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::TimesOut, start, max)
}
fn rsm_executes_own_only(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::ExecutesOwnOnly, start, max)
}
fn rsm_never_snapshots(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::NeverSnapshots, start, max)
}
fn rsm_restores_empty(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::RestoresEmptySnapshot, start, max)
}
fn rsm_forgets_snapshot(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::ForgetsSnapshotOnStart, start, max)
}
fn rsm_waits_only_for_reply(start: Incarnation, max: Option<usize>) -> Started<RsmServer> {
    PlantedRsm::start(RsmBug::WaitsOnlyForItsReply, start, max)
}

#[test]
fn the_planted_rsm_without_a_bug_passes() {
    use harness_2025::{leader_partition, restart_submit, snapshot};
    let options = Options::default();
    labtest::try_run(
        &options,
        1,
        on_rsm(
            rsm_no_bug,
            None,
            |ts| async move { leader_partition(&ts).await },
        ),
    )
    .unwrap();
    labtest::try_run(
        &options,
        1,
        on_rsm(
            rsm_no_bug,
            None,
            |ts| async move { restart_submit(&ts).await },
        ),
    )
    .unwrap();
    let max = Some(MAX_RAFT_STATE);
    labtest::try_run(
        &options,
        1,
        on_rsm(rsm_no_bug, max, |ts| async move { snapshot(&ts).await }),
    )
    .unwrap();
}

#[test]
fn answering_whatever_is_at_the_index_fails_leader_partition_4a() {
    let scenario = on_rsm(rsm_no_id_check, None, |ts| async move {
        harness_2025::leader_partition(&ts).await
    });
    labtest::assert_caught(3, &["in a minority completed"], scenario);
}

#[test]
fn a_submit_that_times_out_fails_leader_partition_4a() {
    let scenario = on_rsm(rsm_times_out, None, |ts| async move {
        harness_2025::leader_partition(&ts).await
    });
    labtest::assert_caught(1, &["no timeout of its own"], scenario);
}

#[test]
fn waiting_only_for_the_reply_fails_shutdown_4a() {
    let scenario = on_rsm(rsm_waits_only_for_reply, None, |ts| async move {
        assert!(ts.one_null().await.is_some());
        harness_2025::shutdown(&ts).await
    });
    labtest::assert_caught(1, &["didn't stop after the shutdown"], scenario);
}

#[test]
fn executing_only_own_requests_fails_basic_4a() {
    let scenario = on_rsm(rsm_executes_own_only, None, |ts| async move {
        harness_2025::basic(&ts).await
    });
    labtest::assert_caught(1, &["checkCounter: only"], scenario);
}

#[test]
fn never_snapshotting_fails_the_rsm_snapshot_4c() {
    let scenario = on_rsm(rsm_never_snapshots, Some(MAX_RAFT_STATE), |ts| async move {
        harness_2025::snapshot(&ts).await
    });
    labtest::assert_caught(
        1,
        &["logs were not trimmed", "does the rsm snapshot"],
        scenario,
    );
}

#[test]
fn restoring_an_empty_snapshot_fails_basic_4a() {
    let scenario = on_rsm(rsm_restores_empty, None, |ts| async move {
        harness_2025::basic(&ts).await
    });
    labtest::assert_caught(1, &["restore was called with an empty snapshot"], scenario);
}

#[test]
fn forgetting_the_snapshot_on_restart_fails_the_rsm_snapshot_4c() {
    let scenario = on_rsm(
        rsm_forgets_snapshot,
        Some(MAX_RAFT_STATE),
        |ts| async move { harness_2025::snapshot(&ts).await },
    );
    labtest::assert_caught(
        1,
        &["restore the state machine from the persisted snapshot"],
        scenario,
    );
}

// ---------------------------------------------------------------------------------------
// A planted key/value server (4B, 4C), on the lab's rsm

/// The bugs planted in the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerBug {
    /// None: the planted server itself must pass.
    None,
    /// The snapshot keeps the values but not their versions (restored as version 1).
    SnapshotWithoutVersions,
    /// `restore` keeps the state it had instead of the snapshot's.
    RestoreKeepsOldState,
    /// Answers `Get` from its own state whenever it believes it leads, without the log.
    StaleReads,
    /// Submits only at heartbeat ticks (every 100 ms), like a leader that waits for the next
    /// heartbeat to replicate.
    ReplicatesOnHeartbeat,
}

/// What goes through the planted server's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Request {
    Get(String),
    Put(PutArgs),
}

/// The planted server's store, shared with its handlers (for the stale reads).
type Entries = Rc<RefCell<BTreeMap<String, (String, Version)>>>;

struct Store {
    bug: ServerBug,
    entries: Entries,
}

impl StateMachine for Store {
    type Request = Request;
    type Reply = Result<(String, Version), Error>;

    fn do_op(&mut self, request: Request) -> Self::Reply {
        let mut entries = self.entries.borrow_mut();
        match request {
            Request::Get(key) => entries.get(&key).cloned().ok_or(Error::NoKey),
            Request::Put(PutArgs {
                key,
                value,
                version,
            }) => match entries.get_mut(&key) {
                Some(entry) if entry.1 == version => {
                    *entry = (value, version + 1);
                    Ok(Default::default())
                }
                Some(_) => Err(Error::Version),
                None if version == 0 => {
                    entries.insert(key, (value, 1));
                    Ok(Default::default())
                }
                None => Err(Error::NoKey),
            },
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let entries = self.entries.borrow();
        if self.bug == ServerBug::SnapshotWithoutVersions {
            let values: BTreeMap<&String, &String> =
                entries.iter().map(|(k, (v, _))| (k, v)).collect();
            return labrpc::codec::encode(&values).expect("encodes");
        }
        labrpc::codec::encode(&*entries).expect("encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        let restored = match self.bug {
            ServerBug::RestoreKeepsOldState => return,
            ServerBug::SnapshotWithoutVersions => {
                let values: BTreeMap<String, String> =
                    labrpc::codec::decode(snapshot).expect("decodes");
                values.into_iter().map(|(k, v)| (k, (v, 1))).collect()
            }
            _ => labrpc::codec::decode(snapshot).expect("decodes"),
        };
        *self.entries.borrow_mut() = restored;
    }
}

/// A key/value server with `bug`, on the lab's `Rsm`.
#[derive(Clone)]
struct PlantedServer {
    bug: ServerBug,
    rsm: Rsm<Store>,
    entries: Entries,
}

impl PlantedServer {
    fn start(bug: ServerBug, start: Incarnation, max: Option<usize>) -> Started<RaftState> {
        let entries = Entries::default();
        let store = Store {
            bug,
            entries: entries.clone(),
        };
        let rsm = Rsm::new(start.ends, start.index, start.persister, max, store);
        let server = PlantedServer { bug, rsm, entries };
        let (state, killed) = (server.rsm.raft().clone(), server.rsm.raft().clone());
        Started::new(RaftState::new(move || state.get_state()))
            .service(server.service())
            .service(server.rsm.raft().service())
            .on_kill(move || killed.kill())
    }

    fn service(&self) -> Service {
        let (get, put) = (self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args: GetArgs| {
                let server = get.clone();
                async move { server.get(args.key).await }
            })
            .handle(Put, move |args: PutArgs| {
                let server = put.clone();
                async move { server.submit(Request::Put(args)).await.map(|_| ()) }
            })
    }

    async fn get(&self, key: String) -> GetReply {
        if self.bug == ServerBug::StaleReads {
            return match self.rsm.raft().get_state() {
                (_, true) => self.entries.borrow().get(&key).cloned().ok_or(Error::NoKey),
                _ => Err(Error::WrongLeader),
            };
        }
        self.submit(Request::Get(key)).await
    }

    async fn submit(&self, request: Request) -> Result<(String, Version), Error> {
        if self.bug == ServerBug::ReplicatesOnHeartbeat {
            const HEARTBEAT: u64 = 100_000_000;
            let now = sim::now().since_start().as_nanos() as u64;
            sim::sleep(Duration::from_nanos(HEARTBEAT - now % HEARTBEAT)).await;
        }
        match self.rsm.submit(request).await {
            Ok(reply) => reply,
            Err(_) => Err(Error::WrongLeader),
        }
    }
}

fn server_no_bug(start: Incarnation, max: Option<usize>) -> Started<RaftState> {
    PlantedServer::start(ServerBug::None, start, max)
}
fn snapshot_without_versions(start: Incarnation, max: Option<usize>) -> Started<RaftState> {
    PlantedServer::start(ServerBug::SnapshotWithoutVersions, start, max)
}
fn restore_keeps_old_state(start: Incarnation, max: Option<usize>) -> Started<RaftState> {
    PlantedServer::start(ServerBug::RestoreKeepsOldState, start, max)
}
fn stale_reads(start: Incarnation, max: Option<usize>) -> Started<RaftState> {
    PlantedServer::start(ServerBug::StaleReads, start, max)
}
fn replicates_on_heartbeat(start: Incarnation, max: Option<usize>) -> Started<RaftState> {
    PlantedServer::start(ServerBug::ReplicatesOnHeartbeat, start, max)
}

// ---------------------------------------------------------------------------------------
// A planted clerk

/// The bugs planted in the clerk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClerkBug {
    /// None: the planted clerk itself must pass.
    None,
    /// Returns `ErrVersion`, not `ErrMaybe`, when a resent put gets `ErrVersion`.
    VersionNotMaybe,
    /// Returns `Ok` when a resent put gets `ErrVersion` (its first copy may not have been
    /// the one executed).
    OkOnRetry,
}

/// A clerk with `bug`.
struct PlantedClerk {
    bug: ClerkBug,
    servers: Vec<ClientEnd>,
    leader: Cell<usize>,
}

impl PlantedClerk {
    async fn get(&self, key: String) -> GetResult {
        let args = GetArgs { key };
        loop {
            for server in self.order() {
                let reply = self.servers[server].call::<Get>(&args).await;
                if matches!(reply, Ok(Ok(_) | Err(Error::NoKey))) {
                    self.leader.set(server);
                }
                match reply {
                    Ok(Ok(found)) => return Ok(found),
                    Ok(Err(Error::NoKey)) => return Err(KvErr::NoKey),
                    _ => {}
                }
            }
            sim::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn put(&self, args: PutArgs) -> Result<(), KvErr> {
        let mut resent = false;
        loop {
            for server in self.order() {
                let reply: Result<PutReply, _> = self.servers[server].call::<Put>(&args).await;
                if matches!(reply, Ok(Ok(()) | Err(Error::NoKey | Error::Version))) {
                    self.leader.set(server);
                }
                match reply {
                    Ok(Ok(())) => return Ok(()),
                    Ok(Err(Error::NoKey)) => return Err(KvErr::NoKey),
                    Ok(Err(Error::Version)) => {
                        return match (resent, self.bug) {
                            (false, _) | (true, ClerkBug::VersionNotMaybe) => Err(KvErr::Version),
                            (true, ClerkBug::OkOnRetry) => Ok(()),
                            (true, _) => Err(KvErr::Maybe),
                        };
                    }
                    _ => resent = true,
                }
            }
            sim::sleep(Duration::from_millis(20)).await;
        }
    }

    fn order(&self) -> Vec<usize> {
        let n = self.servers.len();
        (0..n).map(|k| (self.leader.get() + k) % n).collect()
    }
}

/// A planted clerk, shared with the futures of its operations.
struct Planted(Rc<PlantedClerk>);

impl KvClerk for Planted {
    fn get(&self, key: &str) -> BoxFuture<GetResult> {
        let (clerk, key) = (self.0.clone(), key.to_string());
        Box::pin(async move { PlantedClerk::get(&clerk, key).await })
    }

    fn put(&self, key: &str, value: &str, version: Version) -> BoxFuture<Result<(), KvErr>> {
        let clerk = self.0.clone();
        let args = PutArgs {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        Box::pin(async move { PlantedClerk::put(&clerk, args).await })
    }
}

fn planted_clerk(bug: ClerkBug, servers: Vec<ClientEnd>) -> Box<dyn KvClerk> {
    Box::new(Planted(Rc::new(PlantedClerk {
        bug,
        servers,
        leader: Cell::new(0),
    })))
}
fn clerk_no_bug(servers: Vec<ClientEnd>) -> Box<dyn KvClerk> {
    planted_clerk(ClerkBug::None, servers)
}
fn clerk_version_not_maybe(servers: Vec<ClientEnd>) -> Box<dyn KvClerk> {
    planted_clerk(ClerkBug::VersionNotMaybe, servers)
}
fn clerk_ok_on_retry(servers: Vec<ClientEnd>) -> Box<dyn KvClerk> {
    planted_clerk(ClerkBug::OkOnRetry, servers)
}

/// Five clients on five servers, unreliable (`unreliable_4b`), with `server` and `clerk`.
fn unreliable(server: MakeKvServer, clerk: MakeClerk) -> Generic {
    Generic {
        clients: 5,
        spec: KvSpec {
            reliable: false,
            server,
            clerk,
            ..KvSpec::new(5)
        },
        ..Generic::basic()
    }
}

/// One client on five servers, restarts, snapshots (`snapshot_recover_4c`), with `server`.
fn snapshot_recover(server: MakeKvServer) -> Generic {
    Generic {
        crash: true,
        spec: KvSpec {
            max_raft_state: Some(MAX_RAFT_STATE),
            server,
            ..KvSpec::new(5)
        },
        ..Generic::basic()
    }
}

#[test]
fn the_planted_server_and_clerk_without_a_bug_pass() {
    let spec = unreliable(server_no_bug, clerk_no_bug);
    labtest::try_run(&Options::default(), 1, generic(spec)).unwrap();
    let spec = snapshot_recover(server_no_bug);
    labtest::try_run(&Options::default(), 1, generic(spec)).unwrap();
}

#[test]
fn a_snapshot_without_versions_fails_snapshot_recover_4c() {
    let spec = snapshot_recover(snapshot_without_versions);
    labtest::assert_caught(
        3,
        &["not linearizable", "ErrNoKey", "wrong number of puts"],
        generic(spec),
    );
}

#[test]
fn a_restore_that_keeps_the_old_state_fails_snapshot_recover_4c() {
    let spec = snapshot_recover(restore_keeps_old_state);
    labtest::assert_caught(
        3,
        &["not linearizable", "ErrNoKey", "wrong number of puts"],
        generic(spec),
    );
}

#[test]
fn stale_reads_fail_one_partition_4b() {
    // A client's put, then its get, go to the leader it knows: in GenericTest a cut-off leader
    // holds the put until it learns of a newer term, so only a get sent to it first, as in
    // one_partition_4b's minority, shows its stale read.
    let spec = KvSpec {
        reliable: false,
        server: stale_reads,
        ..KvSpec::new(5)
    };
    labtest::assert_caught(3, &["get in the minority"], move |cx| async move {
        harness_2025::one_partition(&KvTester::new(&cx, spec)).await
    });
}

#[test]
fn a_leader_that_waits_for_the_heartbeat_fails_speed_4b() {
    let spec = KvSpec {
        server: replicates_on_heartbeat,
        ..KvSpec::new(3)
    };
    labtest::assert_caught(
        1,
        &["operations completed too slowly"],
        move |cx| async move { generic_test_speed(&cx, spec).await },
    );
}

#[test]
fn a_clerk_that_says_version_for_maybe_fails_unreliable_4b() {
    let spec = unreliable(harness_2025::kv_server, clerk_version_not_maybe);
    labtest::assert_caught(
        3,
        &["not linearizable", "wrong number of puts"],
        generic(spec),
    );
}

#[test]
fn a_clerk_that_says_ok_for_maybe_fails_unreliable_4b() {
    let spec = unreliable(harness_2025::kv_server, clerk_ok_on_retry);
    labtest::assert_caught(
        3,
        &[
            "not linearizable",
            "wrong number of puts",
            "returned Ok, get(\"k\") returned version",
        ],
        generic(spec),
    );
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The suite's busiest test, snapshot_recover_many_clients_4c: every part of the cluster
    // must be freed when a run ends, or a many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=2, |cx| async move {
        let spec = Generic {
            clients: 20,
            ..snapshot_recover(harness_2025::kv_server)
        };
        generic_test(&cx, spec).await
    });
}
// END SOLUTION
