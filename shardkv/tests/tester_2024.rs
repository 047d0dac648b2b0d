//! Tests of the shardkv tester itself: shard servers with the classic bugs, planted one at a
//! time, must fail the graded scenarios that target them, with a message that names the
//! cause. The planted servers are built here from the lab's public API (Lab 4's `Rsm`, the
//! clerk's RPC types, the controller's clerk), with a migration RPC of their own, so the
//! lab's code stays free of test hooks. (Not graded, and kept out of the student skeleton:
//! the planted servers need a working lab underneath.)

// BEGIN SOLUTION
mod harness_2024;

use harness_2024::scenarios;
use harness_2024::{MakeServer, ServerHandle, ShardServerStart};
use kvraft::{Rsm, StateMachine};
use labrpc::{ClientEnd, RpcError, Service, sim};
use labtest::cluster::Started;
use labtest::{Failed, Options, TestCx};
use serde::{Deserialize, Serialize};
use shardkv::rpc::{Append, Get, GetArgs, Put, PutAppendArgs};
use shardkv::{Config, Gid, MakeEnd, NSHARDS, RequestId, ShardKvError, key2shard};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

/// The bugs planted, one per server kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    /// None: the planted server itself must pass (so a failure below is the bug's).
    None,
    /// Answers for every shard, owned or not.
    ServesUnownedShards,
    /// Moves a shard's values without its duplicate-detection state.
    MigrationDropsDuplicates,
    /// Keeps a shard's data after handing it over.
    NeverDeletes,
    /// Serves nothing while any shard of the configuration is still moving.
    BlocksAllDuringChange,
}

/// One shard's data as it moves.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Data {
    values: BTreeMap<String, String>,
    last: BTreeMap<u64, u64>,
}

/// A shard's standing in the current configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Standing {
    #[default]
    NotOurs,
    Serving,
    Waiting,
    Leaving(Gid),
}

/// What goes through the planted group's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Command {
    Get(String),
    Write(String, String, RequestId, bool),
    Config(Config),
    Install(u64, BTreeMap<usize, Data>),
    Gone(u64, Vec<usize>),
    Noop,
}

/// Arguments of the planted migration RPC.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoveArgs {
    num: u64,
    shards: BTreeMap<usize, Data>,
}

labrpc::service! {
    /// The planted servers' own migration RPC.
    service PlantedMove {
        /// Installs shards of configuration `num`; `Ok(true)` once installed.
        rpc Install(MoveArgs) -> bool;
    }
}

/// The planted group's state.
struct Store {
    bug: Bug,
    gid: Gid,
    config: Config,
    standing: Vec<Standing>,
    data: Vec<Data>,
    /// Shards handed over but kept ([`Bug::NeverDeletes`]).
    kept: Vec<Data>,
}

impl Store {
    fn serves(&self, shard: usize) -> bool {
        match self.bug {
            Bug::ServesUnownedShards => true,
            Bug::BlocksAllDuringChange if self.moving() => false,
            _ => self.standing[shard] == Standing::Serving,
        }
    }

    fn moving(&self) -> bool {
        self.standing
            .iter()
            .any(|s| matches!(s, Standing::Waiting | Standing::Leaving(_)))
    }
}

impl StateMachine for Store {
    type Command = Command;
    type Output = Result<String, ShardKvError>;

    fn apply(&mut self, command: Command) -> Self::Output {
        match command {
            Command::Get(key) => {
                let shard = key2shard(&key);
                if !self.serves(shard) {
                    return Err(ShardKvError::WrongGroup);
                }
                Ok(self.data[shard]
                    .values
                    .get(&key)
                    .cloned()
                    .unwrap_or_default())
            }
            Command::Write(key, value, id, append) => {
                let shard = key2shard(&key);
                if !self.serves(shard) {
                    return Err(ShardKvError::WrongGroup);
                }
                let data = &mut self.data[shard];
                if data.last.get(&id.client).is_some_and(|&s| s >= id.seq) {
                    return Ok(String::new());
                }
                data.last.insert(id.client, id.seq);
                let entry = data.values.entry(key).or_default();
                if !append {
                    entry.clear();
                }
                entry.push_str(&value);
                Ok(String::new())
            }
            Command::Config(next) => {
                if next.num == self.config.num + 1 && !self.moving() {
                    for shard in 0..NSHARDS {
                        let (was, now) = (self.config.shards[shard], next.shards[shard]);
                        self.standing[shard] = match (was == self.gid, now == self.gid) {
                            (false, true) if was == 0 => Standing::Serving,
                            (false, true) => Standing::Waiting,
                            (true, false) if now == 0 => Standing::NotOurs,
                            (true, false) => Standing::Leaving(now),
                            (true, true) => Standing::Serving,
                            (false, false) => Standing::NotOurs,
                        };
                    }
                    self.config = next;
                }
                Ok(String::new())
            }
            Command::Install(num, shards) => {
                if num == self.config.num {
                    for (shard, data) in shards {
                        if self.standing[shard] == Standing::Waiting {
                            self.standing[shard] = Standing::Serving;
                            self.data[shard] = data;
                        }
                    }
                }
                Ok(String::new())
            }
            Command::Gone(num, shards) => {
                if num == self.config.num {
                    for shard in shards {
                        if let Standing::Leaving(_) = self.standing[shard] {
                            self.standing[shard] = Standing::NotOurs;
                            let data = std::mem::take(&mut self.data[shard]);
                            if self.bug == Bug::NeverDeletes {
                                self.kept.push(data);
                            }
                        }
                    }
                }
                Ok(String::new())
            }
            Command::Noop => Ok(String::new()),
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        labrpc::codec::encode(&(&self.config, &self.standing, &self.data, &self.kept))
            .expect("encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        (self.config, self.standing, self.data, self.kept) =
            labrpc::codec::decode(snapshot).expect("decodes");
    }
}

/// A planted shard server.
#[derive(Clone)]
struct Planted {
    rsm: Rsm<Store>,
    ctrler: Rc<shardctrler::Clerk>,
    make_end: MakeEnd,
    ends: Rc<RefCell<BTreeMap<String, ClientEnd>>>,
    sending: Rc<RefCell<BTreeSet<Gid>>>,
    noop_term: Rc<Cell<u64>>,
}

impl Planted {
    fn start(bug: Bug, start: ShardServerStart) -> Started<ServerHandle> {
        let store = Store {
            bug,
            gid: start.gid,
            config: Config::default(),
            standing: vec![Standing::NotOurs; NSHARDS],
            data: vec![Data::default(); NSHARDS],
            kept: Vec::new(),
        };
        let inc = start.incarnation;
        let rsm = Rsm::new(
            inc.ends,
            inc.index,
            inc.persister,
            start.max_raft_state,
            store,
        );
        let server = Planted {
            rsm,
            ctrler: Rc::new(shardctrler::Clerk::new(start.ctrlers)),
            make_end: start.make_end,
            ends: Rc::default(),
            sending: Rc::default(),
            noop_term: Rc::default(),
        };
        sim::spawn(server.clone().background());
        let (state, killed) = (server.clone(), server.clone());
        Started::new(ServerHandle::new(move || state.rsm.raft().get_state()))
            .service(server.kv_service())
            .service(server.move_service())
            .service(server.rsm.raft().service())
            .on_kill(move || killed.rsm.kill())
    }

    async fn submit(&self, command: Command) -> Result<String, ShardKvError> {
        self.rsm
            .submit(command)
            .await
            .unwrap_or(Err(ShardKvError::WrongLeader))
    }

    fn kv_service(&self) -> Service {
        let (get, put, append) = (self.clone(), self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args: GetArgs| {
                let server = get.clone();
                async move { server.submit(Command::Get(args.key)).await }
            })
            .handle(Put, move |a: PutAppendArgs| {
                let server = put.clone();
                async move {
                    let command = Command::Write(a.key, a.value, a.id, false);
                    server.submit(command).await.map(|_| ())
                }
            })
            .handle(Append, move |a: PutAppendArgs| {
                let server = append.clone();
                async move {
                    let command = Command::Write(a.key, a.value, a.id, true);
                    server.submit(command).await.map(|_| ())
                }
            })
    }

    fn move_service(&self) -> Service {
        let install = self.clone();
        Service::new().handle(Install, move |args: MoveArgs| {
            let server = install.clone();
            async move {
                if !server.rsm.raft().get_state().1
                    || server.rsm.with_state(|s| s.config.num) < args.num
                {
                    return false;
                }
                let command = Command::Install(args.num, args.shards);
                server.rsm.submit(command).await.is_ok()
            }
        })
    }

    fn end(&self, name: &str) -> ClientEnd {
        let mut ends = self.ends.borrow_mut();
        ends.entry(name.to_string())
            .or_insert_with(|| (self.make_end)(name))
            .clone()
    }

    /// Every 100 ms, as leader: a no-op in a new term, the next configuration once nothing
    /// moves, and the shards owed to other groups.
    async fn background(self) {
        while !self.rsm.raft().killed() {
            sim::sleep(Duration::from_millis(100)).await;
            let (term, leads) = self.rsm.raft().get_state();
            if !leads {
                continue;
            }
            if self.noop_term.replace(term) != term {
                let _ = self.rsm.submit(Command::Noop).await;
            }
            let (num, moving, owed) = self.rsm.with_state(|s| {
                let mut owed: BTreeMap<Gid, MoveArgs> = BTreeMap::new();
                for shard in 0..NSHARDS {
                    if let Standing::Leaving(to) = s.standing[shard] {
                        let mut data = s.data[shard].clone();
                        if s.bug == Bug::MigrationDropsDuplicates {
                            data.last.clear();
                        }
                        owed.entry(to)
                            .or_insert_with(|| MoveArgs {
                                num: s.config.num,
                                shards: BTreeMap::new(),
                            })
                            .shards
                            .insert(shard, data);
                    }
                }
                let owed: Vec<_> = owed
                    .into_iter()
                    .map(|(to, args)| (to, s.config.groups[&to].clone(), args))
                    .collect();
                (s.config.num, s.moving(), owed)
            });
            for (to, servers, args) in owed {
                if self.sending.borrow_mut().insert(to) {
                    let server = self.clone();
                    sim::spawn(async move {
                        server.send(&servers, args).await;
                        server.sending.borrow_mut().remove(&to);
                    });
                }
            }
            if !moving {
                let next = self.ctrler.query(Some(num + 1)).await;
                if next.num == num + 1 {
                    let _ = self.rsm.submit(Command::Config(next)).await;
                }
            }
        }
    }

    async fn send(&self, servers: &[String], args: MoveArgs) {
        for name in servers {
            match self.end(name).call::<Install>(&args).await {
                Ok(true) => {
                    let shards = args.shards.keys().copied().collect();
                    let _ = self.rsm.submit(Command::Gone(args.num, shards)).await;
                    return;
                }
                Ok(false) | Err(RpcError::NoReply) => {}
                Err(error) => panic!("planted server: {error}"),
            }
        }
    }
}

fn no_bug(start: ShardServerStart) -> Started<ServerHandle> {
    Planted::start(Bug::None, start)
}
fn serves_unowned_shards(start: ShardServerStart) -> Started<ServerHandle> {
    Planted::start(Bug::ServesUnownedShards, start)
}
fn migration_drops_duplicates(start: ShardServerStart) -> Started<ServerHandle> {
    Planted::start(Bug::MigrationDropsDuplicates, start)
}
fn never_deletes(start: ShardServerStart) -> Started<ServerHandle> {
    Planted::start(Bug::NeverDeletes, start)
}
fn blocks_all_during_change(start: ShardServerStart) -> Started<ServerHandle> {
    Planted::start(Bug::BlocksAllDuringChange, start)
}

/// A scenario of the suite, run with a shard server maker.
type Scenario = for<'a> fn(&'a TestCx, MakeServer) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs `scenario` with `server` on seeds 1, 2, ... up to `seeds`; returns the first failure.
fn first_failure(seeds: u64, scenario: Scenario, server: MakeServer) -> Option<Failed> {
    (1..=seeds).find_map(|seed| {
        labtest::try_run(&Options::default(), seed, move |cx| async move {
            scenario(&cx, server).await
        })
        .err()
    })
}

/// Checks that `scenario` with `server` fails on one of the first `seeds` seeds, with a
/// message that has `cause` in it.
fn caught(seeds: u64, cause: &str, scenario: Scenario, server: MakeServer) {
    let Some(failed) = first_failure(seeds, scenario, server) else {
        panic!("the planted bug survived {seeds} seeds");
    };
    assert!(
        failed.message.contains(cause),
        "seed {} failed, but the message does not name {cause:?}:\n{}",
        failed.seed,
        failed.message
    );
}

#[test]
fn the_planted_server_without_a_bug_passes() {
    let scenarios: [Scenario; 5] = [
        |cx, s| Box::pin(scenarios::rejection(cx, s)),
        |cx, s| Box::pin(scenarios::unreliable2(cx, s)),
        |cx, s| Box::pin(scenarios::challenge1_delete(cx, s)),
        |cx, s| Box::pin(scenarios::challenge2_unaffected(cx, s)),
        |cx, s| Box::pin(scenarios::challenge2_partial(cx, s)),
    ];
    for scenario in scenarios {
        if let Some(failed) = first_failure(2, scenario, no_bug) {
            panic!(
                "the planted server without a bug failed:\n{}",
                failed.message
            );
        }
    }
}

#[test]
fn serving_unowned_shards_fails_rejection_5a() {
    caught(
        1,
        "should have rejected the request due to wrong shard",
        |cx, s| Box::pin(scenarios::rejection(cx, s)),
        serves_unowned_shards,
    );
}

#[test]
fn a_migration_without_the_duplicate_table_fails_unreliable2_5b() {
    caught(
        5,
        "applied twice",
        |cx, s| Box::pin(scenarios::unreliable2(cx, s)),
        migration_drops_duplicates,
    );
}

#[test]
fn never_deleting_fails_challenge1_delete() {
    caught(
        1,
        "snapshot + persisted Raft state are too big",
        |cx, s| Box::pin(scenarios::challenge1_delete(cx, s)),
        never_deletes,
    );
}

#[test]
fn blocking_every_shard_during_a_change_fails_challenge2_unaffected() {
    caught(
        1,
        "keep serving the shards a configuration change does not move",
        |cx, s| Box::pin(scenarios::challenge2_unaffected(cx, s)),
        blocks_all_during_change,
    );
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The suite's busiest test, concurrent3_5b: every group, controller and clerk must be
    // freed when a run ends, or a many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=3, |cx| async move {
        scenarios::concurrent3(&cx, harness_2024::shard_server).await
    });
}
// END SOLUTION
