//! Tests of the kvraft tester itself: key/value servers with the classic bugs, planted one at
//! a time, must fail the graded scenarios that target them, with a message that names the
//! cause. The planted servers are built here from the lab's own `Rsm` and RPC types, so the
//! lab's code stays free of test hooks. (Not graded, and kept out of the student skeleton:
//! the planted servers need a working lab underneath.)

// BEGIN SOLUTION
mod harness_2024;

use harness_2024::{Generic, MAX_RAFT_STATE, MakeServer, ServerHandle, generic_test};
use harness_2024::{generic_test_speed, snapshot_size_test};
use kvraft::rpc::{Append, Get, PutAppendArgs};
use kvraft::{KvError, Rsm, StateMachine};
use kvraft::{Op, RequestId};
use labrpc::Service;
use labrpc::sim;
use labrpc::sync::oneshot;
use labtest::cluster::{Incarnation, Started};
use labtest::{Options, TestCx};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// The bugs planted, one per server kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    /// None: the planted server itself must pass (so a failure below is the bug's).
    None,
    /// Every Put and Append is applied, retries included.
    NoDuplicateDetection,
    /// The snapshot leaves out the duplicate-detection table.
    SnapshotWithoutDuplicates,
    /// Never snapshots, whatever `max_raft_state` says.
    NeverSnapshots,
    /// Answers Get from its own state whenever it believes it leads, without the log.
    StaleReads,
    /// Waits for its request to be applied, with no check of term or time: after losing
    /// leadership it never answers.
    IgnoresLeadershipLoss,
    /// Submits only at heartbeat ticks (every 100 ms), like a leader that waits for the next
    /// heartbeat to replicate.
    ReplicatesOnHeartbeat,
}

/// What goes through the planted server's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Command {
    Get(String),
    Put(String, String, RequestId),
    Append(String, String, RequestId),
}

/// The planted server's store.
struct Store {
    bug: Bug,
    values: BTreeMap<String, String>,
    last: BTreeMap<u64, u64>,
    /// Handlers waiting for their request to be applied ([`Bug::IgnoresLeadershipLoss`]).
    waiting: Rc<RefCell<BTreeMap<RequestId, oneshot::Sender<()>>>>,
}

impl StateMachine for Store {
    type Command = Command;
    type Output = String;

    fn apply(&mut self, command: Command) -> String {
        let (key, value, id, append) = match command {
            Command::Get(key) => return self.values.get(&key).cloned().unwrap_or_default(),
            Command::Put(key, value, id) => (key, value, id, false),
            Command::Append(key, value, id) => (key, value, id, true),
        };
        if let Some(waiter) = self.waiting.borrow_mut().remove(&id) {
            let _ = waiter.send(());
        }
        let seen = self.last.get(&id.client).is_some_and(|&seq| seq >= id.seq);
        if seen && self.bug != Bug::NoDuplicateDetection {
            return String::new();
        }
        self.last.insert(id.client, id.seq);
        if append {
            self.values.entry(key).or_default().push_str(&value);
        } else {
            self.values.insert(key, value);
        }
        String::new()
    }

    fn snapshot(&self) -> Vec<u8> {
        let last = if self.bug == Bug::SnapshotWithoutDuplicates {
            BTreeMap::new()
        } else {
            self.last.clone()
        };
        labrpc::codec::encode(&(&self.values, &last)).expect("encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        (self.values, self.last) = labrpc::codec::decode(snapshot).expect("decodes");
    }
}

/// A key/value server with `bug`, on the lab's `Rsm`.
#[derive(Clone)]
struct Planted {
    bug: Bug,
    rsm: Rsm<Store>,
    waiting: Rc<RefCell<BTreeMap<RequestId, oneshot::Sender<()>>>>,
    next_op: Rc<Cell<u64>>,
}

impl Planted {
    fn start(bug: Bug, start: Incarnation, max_raft_state: Option<usize>) -> Started<ServerHandle> {
        let waiting = Rc::default();
        let store = Store {
            bug,
            values: BTreeMap::new(),
            last: BTreeMap::new(),
            waiting: Rc::clone(&waiting),
        };
        let max_raft_state = max_raft_state.filter(|_| bug != Bug::NeverSnapshots);
        let rsm = Rsm::new(
            start.ends,
            start.index,
            start.persister,
            max_raft_state,
            store,
        );
        let server = Planted {
            bug,
            rsm,
            waiting,
            next_op: Rc::default(),
        };
        let (state, killed) = (server.clone(), server.clone());
        Started::new(ServerHandle::new(move || state.rsm.raft().get_state()))
            .service(server.service())
            .service(server.rsm.raft().service())
            .on_kill(move || killed.rsm.kill())
    }

    fn service(&self) -> Service {
        let (get, put, append) = (self.clone(), self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args: kvraft::rpc::GetArgs| {
                let server = get.clone();
                async move { server.get(args.key).await }
            })
            .handle(kvraft::rpc::Put, move |args: PutAppendArgs| {
                let server = put.clone();
                async move {
                    let command = Command::Put(args.key, args.value, args.id);
                    server.submit(command, args.id).await.map(|_| ())
                }
            })
            .handle(Append, move |args: PutAppendArgs| {
                let server = append.clone();
                async move {
                    let command = Command::Append(args.key, args.value, args.id);
                    server.submit(command, args.id).await.map(|_| ())
                }
            })
    }

    async fn get(&self, key: String) -> Result<String, KvError> {
        if self.bug == Bug::StaleReads {
            return match self.rsm.raft().get_state() {
                (_, true) => Ok(self
                    .rsm
                    .with_state(|s| s.values.get(&key).cloned().unwrap_or_default())),
                _ => Err(KvError::WrongLeader),
            };
        }
        self.rsm
            .submit(Command::Get(key))
            .await
            .map_err(|_| KvError::WrongLeader)
    }

    async fn submit(&self, command: Command, id: RequestId) -> Result<String, KvError> {
        match self.bug {
            Bug::IgnoresLeadershipLoss => {
                let (tx, rx) = oneshot::channel();
                self.waiting.borrow_mut().insert(id, tx);
                let seq = self.next_op.get();
                self.next_op.set(seq + 1);
                let op = Op {
                    id: kvraft::OpId {
                        server: usize::MAX,
                        incarnation: 0,
                        seq,
                    },
                    command,
                };
                if self.rsm.raft().start(op).is_none() {
                    self.waiting.borrow_mut().remove(&id);
                    return Err(KvError::WrongLeader);
                }
                let _ = rx.await;
                Ok(String::new())
            }
            Bug::ReplicatesOnHeartbeat => {
                const HEARTBEAT: u64 = 100_000_000;
                let now = sim::now().since_start().as_nanos() as u64;
                sim::sleep(Duration::from_nanos(HEARTBEAT - now % HEARTBEAT)).await;
                self.rsm
                    .submit(command)
                    .await
                    .map_err(|_| KvError::WrongLeader)
            }
            _ => self
                .rsm
                .submit(command)
                .await
                .map_err(|_| KvError::WrongLeader),
        }
    }
}

/// Server makers for the planted bugs (the tester takes plain functions).
fn no_bug(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::None, start, max)
}
fn no_duplicate_detection(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::NoDuplicateDetection, start, max)
}
fn snapshot_without_duplicates(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::SnapshotWithoutDuplicates, start, max)
}
fn never_snapshots(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::NeverSnapshots, start, max)
}
fn stale_reads(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::StaleReads, start, max)
}
fn ignores_leadership_loss(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::IgnoresLeadershipLoss, start, max)
}
fn replicates_on_heartbeat(start: Incarnation, max: Option<usize>) -> Started<ServerHandle> {
    Planted::start(Bug::ReplicatesOnHeartbeat, start, max)
}

fn generic(
    spec: Generic,
) -> impl Fn(TestCx) -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send + Sync + Clone + 'static
{
    move |cx| Box::pin(async move { generic_test(&cx, spec).await })
}

fn with_server(server: MakeServer, spec: Generic) -> Generic {
    Generic { server, ..spec }
}

const UNRELIABLE: Generic = Generic {
    clients: 5,
    unreliable: true,
    ..Generic::basic()
};

#[test]
fn the_planted_server_without_a_bug_passes() {
    let spec = with_server(no_bug, UNRELIABLE);
    labtest::try_run(&Options::default(), 1, generic(spec)).unwrap();
}

#[test]
fn no_duplicate_detection_fails_unreliable_4a() {
    let spec = with_server(no_duplicate_detection, UNRELIABLE);
    labtest::assert_caught(3, &["more than once", "get wrong value"], generic(spec));
}

#[test]
fn a_snapshot_without_the_duplicate_table_fails_unreliable_recover_4b() {
    let spec = Generic {
        crash: true,
        max_raft_state: Some(MAX_RAFT_STATE),
        ..with_server(snapshot_without_duplicates, UNRELIABLE)
    };
    labtest::assert_caught(5, &["more than once", "get wrong value"], generic(spec));
}

#[test]
fn never_snapshotting_fails_snapshot_size_4b() {
    labtest::assert_caught(1, &["logs were not trimmed"], |cx| async move {
        snapshot_size_test(&cx, never_snapshots).await
    });
}

#[test]
fn stale_reads_fail_the_random_keys_partition_test() {
    // persist_partition_unreliable_linearizable_4a's scenario.
    let spec = Generic {
        clients: 15,
        servers: 7,
        unreliable: true,
        crash: true,
        partitions: true,
        random_keys: true,
        ..with_server(stale_reads, Generic::basic())
    };
    labtest::assert_caught(5, &["not linearizable"], generic(spec));
}

#[test]
fn a_handler_that_ignores_leadership_loss_is_named_at_the_time_limit() {
    let spec = Generic {
        partitions: true,
        ..with_server(ignores_leadership_loss, Generic::basic())
    };
    labtest::assert_caught(3, &["handler of KvServer."], generic(spec));
}

#[test]
fn a_leader_that_waits_for_the_heartbeat_fails_speed_4a() {
    labtest::assert_caught(1, &["Operations completed too slowly"], |cx| async move {
        generic_test_speed(&cx, None, replicates_on_heartbeat).await
    });
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The suite's busiest test, snapshot_recover_many_clients_4b: every part of the cluster
    // must be freed when a run ends, or a many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=2, |cx| async move {
        let spec = Generic {
            clients: 20,
            crash: true,
            max_raft_state: Some(MAX_RAFT_STATE),
            ..Generic::basic()
        };
        generic_test(&cx, spec).await
    });
}
// END SOLUTION
