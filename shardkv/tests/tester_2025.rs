//! Tests of the shardkv tester itself, edition 2025: shard groups and controllers with the
//! classic bugs, planted one at a time, must fail the graded scenarios that target them, fast,
//! with a message that names the cause. The planted groups and controllers are written here
//! (small ones, on the lab's rsm, group clerk and Lab 2 clerk), so the lab's code stays free of
//! test hooks. (Not graded, and kept out of the student skeleton: the planted parts need a
//! working lab underneath.)

// BEGIN SOLUTION
mod harness_2025;

use harness_2025::scenarios;
use harness_2025::{BoxFuture, Ctrler, KvClerk, Lab, RaftState, ShardTester, Spec, kv_err};
use kvraft::v2025::{Rsm, StateMachine};
use kvsrv::v2025::Clerk as StoreClerk;
use labrpc::{Service, sim};
use labtest::cluster::{Incarnation, Started};
use labtest::versioned::{GetResult, KvErr, Version};
use labtest::{Options, TestCx};
use serde::{Deserialize, Serialize};
use shardkv::v2025::shardcfg::{ConfigNum, GID1, Gid, NSHARDS, ShardConfig, key2shard};
use shardkv::v2025::shardctrler::CONFIG_STORE;
use shardkv::v2025::{DeleteShard, DeleteShardArgs, Error, FreezeShard, FreezeShardArgs, Get};
use shardkv::v2025::{GetArgs, GroupClerk, InstallShard, InstallShardArgs, MakeEnd, Put, PutArgs};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// How a planted bug is caught

/// A scenario on a tester whose code comes from `lab`.
fn on(
    spec: Spec,
    lab: Lab,
    scenario: fn(ShardTester) -> BoxFuture<()>,
) -> impl Fn(TestCx) -> BoxFuture<()> + Send + Sync + Clone + 'static {
    move |cx| scenario(ShardTester::new(&cx, Spec { lab, ..spec }))
}

// ---------------------------------------------------------------------------------------
// A planted shard group, on the lab's rsm

/// The bugs planted in a shard group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupBug {
    /// None: the planted group itself must pass (so a failure below is the bug's).
    None,
    /// Keeps serving a shard after freezing it.
    ServesFrozen,
    /// Installs a shard whatever the configuration number (a move done again overwrites).
    InstallsOlder,
    /// Freezes and deletes whatever the number, and deletes a shard it serves.
    Unfenced,
    /// Never deletes a shard it handed over.
    KeepsMovedShards,
}

/// Where a planted group's shard stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Holding {
    Serving,
    Frozen,
    Absent,
}

type Keys = BTreeMap<String, (String, Version)>;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Shard {
    holding: Holding,
    num: ConfigNum,
    keys: Keys,
}

/// What goes through the planted group's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Request {
    Get(GetArgs),
    Put(PutArgs),
    Freeze(FreezeShardArgs),
    Install(InstallShardArgs),
    Delete(DeleteShardArgs),
}

/// Every reply, in one shape: a value and version (`Get`), keys (`FreezeShard`), or nothing.
type Reply = Result<(String, Version, Vec<u8>), Error>;

struct PlantedStore {
    bug: GroupBug,
    shards: Vec<Shard>,
}

impl PlantedStore {
    fn new(bug: GroupBug, gid: Gid) -> PlantedStore {
        let holding = if gid == GID1 {
            Holding::Serving
        } else {
            Holding::Absent
        };
        let shard = Shard {
            holding,
            num: 0,
            keys: Keys::new(),
        };
        PlantedStore {
            bug,
            shards: vec![shard; NSHARDS],
        }
    }

    fn serving(&mut self, key: &str) -> Result<&mut Keys, Error> {
        let bug = self.bug;
        let shard = &mut self.shards[key2shard(key)];
        match shard.holding {
            Holding::Serving => Ok(&mut shard.keys),
            Holding::Frozen if bug == GroupBug::ServesFrozen => Ok(&mut shard.keys),
            _ => Err(Error::WrongGroup),
        }
    }
}

impl StateMachine for PlantedStore {
    type Request = Request;
    type Reply = Reply;

    fn do_op(&mut self, request: Request) -> Reply {
        let bug = self.bug;
        let nothing = || (String::new(), 0, Vec::new());
        match request {
            Request::Get(GetArgs { key }) => {
                let (value, version) =
                    self.serving(&key)?.get(&key).cloned().ok_or(Error::NoKey)?;
                Ok((value, version, Vec::new()))
            }
            Request::Put(PutArgs {
                key,
                value,
                version,
            }) => {
                let keys = self.serving(&key)?;
                match keys.get_mut(&key) {
                    Some(entry) if entry.1 == version => *entry = (value, version + 1),
                    Some(_) => return Err(Error::Version),
                    None if version == 0 => {
                        keys.insert(key, (value, 1));
                    }
                    None => return Err(Error::NoKey),
                }
                Ok(nothing())
            }
            Request::Freeze(FreezeShardArgs { shard, num }) => {
                let shard = &mut self.shards[shard];
                if num < shard.num && bug != GroupBug::Unfenced {
                    return Err(Error::OldConfig);
                }
                shard.num = shard.num.max(num);
                if shard.holding == Holding::Serving {
                    shard.holding = Holding::Frozen;
                }
                let keys = labrpc::codec::encode(&shard.keys).expect("keys encode");
                Ok((String::new(), 0, keys))
            }
            Request::Install(InstallShardArgs { shard, state, num }) => {
                let shard = &mut self.shards[shard];
                if num <= shard.num && bug != GroupBug::InstallsOlder {
                    return Ok(nothing());
                }
                shard.keys = labrpc::codec::decode(&state).expect("keys decode");
                shard.holding = Holding::Serving;
                shard.num = shard.num.max(num);
                Ok(nothing())
            }
            Request::Delete(DeleteShardArgs { shard, num }) => {
                let shard = &mut self.shards[shard];
                if num < shard.num && bug != GroupBug::Unfenced {
                    return Err(Error::OldConfig);
                }
                shard.num = shard.num.max(num);
                let deletes = match bug {
                    GroupBug::KeepsMovedShards => false,
                    GroupBug::Unfenced => true,
                    _ => shard.holding == Holding::Frozen,
                };
                if deletes {
                    shard.holding = Holding::Absent;
                    shard.keys = Keys::new();
                }
                Ok(nothing())
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        labrpc::codec::encode(&self.shards).expect("encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        self.shards = labrpc::codec::decode(snapshot).expect("decodes");
    }
}

/// Starts one server of a planted group.
fn planted_group(
    bug: GroupBug,
    start: Incarnation,
    gid: Gid,
    max_raft_state: Option<usize>,
) -> Started<RaftState> {
    let store = PlantedStore::new(bug, gid);
    let rsm = Rsm::new(
        start.ends,
        start.index,
        start.persister,
        max_raft_state,
        store,
    );
    let (state, killed) = (rsm.raft().clone(), rsm.raft().clone());
    let submit = {
        let rsm = rsm.clone();
        move |request: Request| {
            let rsm = rsm.clone();
            async move { rsm.submit(request).await.unwrap_or(Err(Error::WrongLeader)) }
        }
    };
    let (get, put, freeze, install) = (
        submit.clone(),
        submit.clone(),
        submit.clone(),
        submit.clone(),
    );
    let service = Service::new()
        .handle(Get, move |args| {
            let reply = get(Request::Get(args));
            async move { reply.await.map(|(value, version, _)| (value, version)) }
        })
        .handle(Put, move |args| {
            let reply = put(Request::Put(args));
            async move { reply.await.map(drop) }
        })
        .handle(FreezeShard, move |args| {
            let reply = freeze(Request::Freeze(args));
            async move { reply.await.map(|(_, _, keys)| keys) }
        })
        .handle(InstallShard, move |args| {
            let reply = install(Request::Install(args));
            async move { reply.await.map(drop) }
        })
        .handle(DeleteShard, move |args| {
            let reply = submit(Request::Delete(args));
            async move { reply.await.map(drop) }
        });
    Started::new(RaftState::new(move || state.get_state().1))
        .service(service)
        .service(rsm.raft().service())
        .on_kill(move || killed.kill())
}

fn group_no_bug(start: Incarnation, gid: Gid, max: Option<usize>) -> Started<RaftState> {
    planted_group(GroupBug::None, start, gid, max)
}
fn group_serves_frozen(start: Incarnation, gid: Gid, max: Option<usize>) -> Started<RaftState> {
    planted_group(GroupBug::ServesFrozen, start, gid, max)
}
fn group_installs_older(start: Incarnation, gid: Gid, max: Option<usize>) -> Started<RaftState> {
    planted_group(GroupBug::InstallsOlder, start, gid, max)
}
fn group_unfenced(start: Incarnation, gid: Gid, max: Option<usize>) -> Started<RaftState> {
    planted_group(GroupBug::Unfenced, start, gid, max)
}
fn group_keeps_moved(start: Incarnation, gid: Gid, max: Option<usize>) -> Started<RaftState> {
    planted_group(GroupBug::KeepsMovedShards, start, gid, max)
}

// ---------------------------------------------------------------------------------------
// A planted controller, on the lab's Lab 2 clerk and group clerk

/// The bugs planted in a controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CtrlerBug {
    /// None: the planted controller itself must pass.
    None,
    /// Makes the new configuration current before it moves the shards.
    PostsBeforeMoves,
    /// `init_controller` does nothing: a change a failed controller left halfway stays so.
    IgnoresNext,
    /// Stores the next configuration and makes it current with unconditional puts, so that
    /// controllers changing the same configuration number all go ahead.
    NoClaim,
    /// No bug: retries each move until a group answers, and stops only when a group refuses it
    /// as old, never looking at the stored configurations (the handout's design: the groups'
    /// fencing alone stops a superseded controller).
    FencedOnly,
}

const CURRENT: &str = "planted/current";
const NEXT: &str = "planted/next";

/// A planted controller. Cloning gives another handle to it.
#[derive(Clone)]
struct PlantedCtrler {
    bug: CtrlerBug,
    make_end: MakeEnd,
    store: StoreClerk,
}

impl PlantedCtrler {
    fn new(bug: CtrlerBug, make_end: MakeEnd) -> PlantedCtrler {
        let store = StoreClerk::new(make_end(CONFIG_STORE));
        PlantedCtrler {
            bug,
            make_end,
            store,
        }
    }

    async fn read(&self, key: &str) -> (ShardConfig, Version) {
        match self.store.get(key).await {
            Ok((text, version)) => (ShardConfig::from_json(&text).expect("a config"), version),
            Err(_) => (ShardConfig::new(), 0),
        }
    }

    /// Puts `config` at `key`: at `version`, or (with [`CtrlerBug::NoClaim`]) at whatever
    /// version the key has now. True if it was stored.
    async fn store(&self, key: &str, config: &ShardConfig, version: Version) -> bool {
        let version = if self.bug == CtrlerBug::NoClaim {
            self.read(key).await.1
        } else {
            version
        };
        match self.store.put(key, &config.to_json(), version).await {
            Ok(()) => true,
            Err(kvsrv::v2025::Error::Maybe) => self.read(key).await.0 == *config,
            Err(_) => false,
        }
    }

    fn group(&self, config: &ShardConfig, gid: Gid) -> GroupClerk {
        let servers = config.groups.get(&gid).cloned().unwrap_or_default();
        GroupClerk::new(servers.iter().map(|name| (self.make_end)(name)).collect())
    }

    /// Repeats `step` until it is done; `None` if the group refused it as old, or the change
    /// to `num` is over.
    async fn until_done<T, F: std::future::Future<Output = Result<T, Error>>>(
        &self,
        num: ConfigNum,
        step: impl Fn() -> F,
    ) -> Option<T> {
        loop {
            match step().await {
                Ok(done) => return Some(done),
                Err(Error::OldConfig) => return None,
                Err(_) => {
                    let looks = !matches!(
                        self.bug,
                        CtrlerBug::PostsBeforeMoves | CtrlerBug::FencedOnly
                    );
                    if looks && self.read(CURRENT).await.0.num >= num {
                        return None;
                    }
                    sim::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn move_shards(&self, from: &ShardConfig, to: &ShardConfig) -> bool {
        for shard in 0..NSHARDS {
            let (old, new) = (from.shards[shard], to.shards[shard]);
            if old == new {
                continue;
            }
            let keys = if old == 0 {
                labrpc::codec::encode(&Keys::new()).expect("encodes")
            } else {
                let group = self.group(from, old);
                match self
                    .until_done(to.num, || group.freeze_shard(shard, to.num))
                    .await
                {
                    Some(keys) => keys,
                    None => return false,
                }
            };
            if new == 0 {
                continue;
            }
            let group = self.group(to, new);
            let install = || group.install_shard(shard, keys.clone(), to.num);
            if self.until_done(to.num, install).await.is_none() {
                return false;
            }
            if old != 0 {
                let group = self.group(from, old);
                let delete = || group.delete_shard(shard, to.num);
                if self.until_done(to.num, delete).await.is_none() {
                    return false;
                }
            }
        }
        true
    }
}

impl Ctrler for PlantedCtrler {
    fn init_controller(&self) -> BoxFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            if this.bug == CtrlerBug::IgnoresNext {
                return;
            }
            let (current, version) = this.read(CURRENT).await;
            let (next, _) = this.read(NEXT).await;
            if next.num > current.num && this.move_shards(&current, &next).await {
                this.store(CURRENT, &next, version).await;
            }
        })
    }

    fn init_config(&self, config: ShardConfig) -> BoxFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let _ = this.store.put(CURRENT, &config.to_json(), 0).await;
            let _ = this.store.put(NEXT, &config.to_json(), 0).await;
        })
    }

    fn change_config_to(&self, new: ShardConfig) -> BoxFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let (current, current_version) = this.read(CURRENT).await;
            let (next, next_version) = this.read(NEXT).await;
            let claimed = next.num < new.num || this.bug == CtrlerBug::NoClaim;
            if new.num != current.num + 1 || !claimed {
                return;
            }
            if !this.store(NEXT, &new, next_version).await {
                return;
            }
            if this.bug == CtrlerBug::PostsBeforeMoves {
                this.store(CURRENT, &new, current_version).await;
                this.move_shards(&current, &new).await;
                return;
            }
            if this.move_shards(&current, &new).await {
                this.store(CURRENT, &new, current_version).await;
            }
        })
    }

    fn query(&self) -> BoxFuture<ShardConfig> {
        let this = self.clone();
        Box::pin(async move { this.read(CURRENT).await.0 })
    }
}

/// A clerk on a planted controller's configurations (the lab's clerk reads the lab's keys).
struct PlantedClerk {
    ctrler: PlantedCtrler,
}

/// A planted clerk, shared with the futures of its operations.
struct Planted(Rc<PlantedClerk>);

impl KvClerk for Planted {
    fn get(&self, key: &str) -> BoxFuture<GetResult> {
        let (this, key) = (self.0.clone(), key.to_string());
        Box::pin(async move {
            loop {
                let config = this.ctrler.read(CURRENT).await.0;
                let gid = config.shards[key2shard(&key)];
                if gid != 0 {
                    let group = this.ctrler.group(&config, gid);
                    match group.get(&key).await {
                        Err(Error::WrongGroup | Error::WrongLeader) => {}
                        got => return got.map_err(|e| kv_err(e, "get", &key)),
                    }
                }
                sim::sleep(Duration::from_millis(50)).await;
            }
        })
    }

    fn put(&self, key: &str, value: &str, version: Version) -> BoxFuture<Result<(), KvErr>> {
        let (this, key, value) = (self.0.clone(), key.to_string(), value.to_string());
        Box::pin(async move {
            let mut maybe = false;
            loop {
                let config = this.ctrler.read(CURRENT).await.0;
                let gid = config.shards[key2shard(&key)];
                if gid != 0 {
                    let group = this.ctrler.group(&config, gid);
                    match group.put(&key, &value, version).await {
                        Err(Error::WrongGroup) => {}
                        Err(Error::WrongLeader) => maybe = true,
                        Err(Error::Version) if maybe => return Err(KvErr::Maybe),
                        put => return put.map_err(|e| kv_err(e, "put", &key)),
                    }
                }
                sim::sleep(Duration::from_millis(50)).await;
            }
        })
    }
}

fn planted_lab(bug: CtrlerBug) -> Lab {
    macro_rules! lab {
        ($bug:expr) => {
            Lab {
                group: harness_2025::shard_group,
                ctrler: |make_end| Rc::new(PlantedCtrler::new($bug, make_end)),
                clerk: |_, ctrler_make_end| {
                    Box::new(Planted(Rc::new(PlantedClerk {
                        ctrler: PlantedCtrler::new($bug, ctrler_make_end),
                    })))
                },
            }
        };
    }
    match bug {
        CtrlerBug::None => lab!(CtrlerBug::None),
        CtrlerBug::PostsBeforeMoves => lab!(CtrlerBug::PostsBeforeMoves),
        CtrlerBug::IgnoresNext => lab!(CtrlerBug::IgnoresNext),
        CtrlerBug::NoClaim => lab!(CtrlerBug::NoClaim),
        CtrlerBug::FencedOnly => lab!(CtrlerBug::FencedOnly),
    }
}

/// The lab's controller and clerk on planted groups.
const fn groups(group: fn(Incarnation, Gid, Option<usize>) -> Started<RaftState>) -> Lab {
    Lab {
        group,
        ..Lab::STUDENT
    }
}

const RELIABLE: Spec = Spec::new();

#[test]
fn the_planted_group_and_controller_without_a_bug_pass() {
    let options = Options::default();
    let both = Lab {
        group: group_no_bug,
        ..planted_lab(CtrlerBug::None)
    };
    let fenced_only = planted_lab(CtrlerBug::FencedOnly);
    for lab in [
        groups(group_no_bug),
        planted_lab(CtrlerBug::None),
        both,
        fenced_only,
    ] {
        let scenario = on(RELIABLE.partitions(), lab, |ts| {
            Box::pin(async move { scenarios::recover_ctrler(&ts, 2).await })
        });
        labtest::try_run(&options, 1, scenario).unwrap();
        let scenario = on(RELIABLE, lab, |ts| {
            Box::pin(async move { scenarios::join_leave_basic(&ts).await })
        });
        labtest::try_run(&options, 1, scenario).unwrap();
    }
}

#[test]
fn a_group_that_serves_a_frozen_shard_fails_one_concurrent_clerk_5a() {
    let scenario = on(RELIABLE, groups(group_serves_frozen), |ts| {
        Box::pin(async move { scenarios::concurrent_clerks(&ts, 1).await })
    });
    labtest::assert_caught(1, &["not linearizable"], scenario);
}

#[test]
fn an_install_of_an_older_number_fails_recover_ctrler_5b() {
    let scenario = on(RELIABLE, groups(group_installs_older), |ts| {
        Box::pin(async move { scenarios::recover_ctrler(&ts, 5).await })
    });
    labtest::assert_caught(3, &["returned Err"], scenario);
}

#[test]
fn a_group_that_ignores_numbers_fails_partition_recovery_5c() {
    let lab = Lab {
        group: group_unfenced,
        ..planted_lab(CtrlerBug::FencedOnly)
    };
    let scenario = on(RELIABLE.partitions(), lab, |ts| {
        Box::pin(async move { scenarios::recover_ctrler(&ts, 5).await })
    });
    labtest::assert_caught(3, &["returned Err", "no group serves its shard"], scenario);
}

#[test]
fn a_group_that_keeps_moved_shards_fails_delete_basic_5a() {
    let spec = Spec {
        max_raft_state: Some(scenarios::DELETE_MAX_RAFT_STATE),
        ..RELIABLE
    };
    let scenario = on(spec, groups(group_keeps_moved), |ts| {
        Box::pin(async move { scenarios::delete_basic(&ts).await })
    });
    labtest::assert_caught(
        1,
        &["does the group that hands a shard over delete it?"],
        scenario,
    );
}

#[test]
fn posting_before_the_moves_fails_recover_ctrler_5b() {
    let scenario = on(RELIABLE, planted_lab(CtrlerBug::PostsBeforeMoves), |ts| {
        Box::pin(async move { scenarios::recover_ctrler(&ts, 5).await })
    });
    labtest::assert_caught(3, &["returned Err", "no group serves its shard"], scenario);
}

#[test]
fn ignoring_the_stored_next_configuration_fails_recover_ctrler_5b() {
    let scenario = on(RELIABLE, planted_lab(CtrlerBug::IgnoresNext), |ts| {
        Box::pin(async move { scenarios::recover_ctrler(&ts, 5).await })
    });
    labtest::assert_caught(3, &["did not recover"], scenario);
}

#[test]
fn controllers_that_do_not_claim_the_number_fail_concurrent_5c() {
    let scenario = on(
        RELIABLE.partitions(),
        planted_lab(CtrlerBug::NoClaim),
        |ts| Box::pin(async move { scenarios::concurrent_ctrlers(&ts).await }),
    );
    labtest::assert_caught(3, &["already not present"], scenario);
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // One of the suite's busiest tests: every part of the service must be freed when a run
    // ends, or a many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=2, |cx| async move {
        let ts = ShardTester::new(&cx, RELIABLE.partitions());
        scenarios::recover_ctrler(&ts, 2).await
    });
}

// END SOLUTION
