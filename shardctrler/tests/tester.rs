//! Tests of the shardctrler tester itself: controllers with the classic bugs, planted one at a
//! time, must fail the graded scenarios that target them, with a message that names the
//! cause. The planted controllers are built here from the lab's `Rsm` and RPC types, so the
//! lab's code stays free of test hooks. (Not graded, and kept out of the student skeleton:
//! the planted servers need a working lab underneath.)

// BEGIN SOLUTION
mod harness;

use harness::{Basic, Multi, NSERVERS, ServerHandle, Tester};
use kvraft::{Rsm, StateMachine};
use labrpc::collections::StableHasher;
use labrpc::rand::RngExt;
use labrpc::{Service, sim};
use labtest::Options;
use labtest::cluster::{Incarnation, Started};
use serde::{Deserialize, Serialize};
use shardctrler::rpc::{Join, JoinArgs, Leave, LeaveArgs, Move, MoveArgs, Query, QueryArgs};
use shardctrler::{Config, CtrlerError, Gid, NSHARDS};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// The bugs planted, one per controller kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Bug {
    /// None: the planted controller itself must pass (so a failure below is the bug's).
    None,
    /// Rebalances by walking the groups in a hash map's order, which differs from replica to
    /// replica (as a Go map's, or a `std` `HashMap` with a random seed).
    HashMapOrder,
    /// Deals every shard out again on each rebalance, round robin over the groups: balanced
    /// and deterministic, but shards move that did not have to.
    RebalancesFromScratch,
}

/// A hasher seeded per replica: each replica's hash map iterates in its own order.
#[derive(Clone, Copy)]
struct ReplicaSeed(u64);

impl BuildHasher for ReplicaSeed {
    type Hasher = StableHasher;
    fn build_hasher(&self) -> StableHasher {
        let mut hasher = StableHasher::default();
        hasher.add(self.0);
        hasher
    }
}

/// What goes through the planted controller's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Command {
    Join(BTreeMap<Gid, Vec<String>>, u64, u64),
    Leave(Vec<Gid>, u64, u64),
    Move(usize, Gid, u64, u64),
    Query(Option<u64>),
}

/// The planted controller's state.
struct Store {
    bug: Bug,
    seed: ReplicaSeed,
    configs: Vec<Config>,
    last: BTreeMap<u64, u64>,
}

impl Store {
    /// Rebalances `config` with the store's bug.
    fn rebalance(&self, config: &mut Config) {
        if config.groups.is_empty() {
            config.shards = [0; NSHARDS];
            return;
        }
        let gids: Vec<Gid> = match self.bug {
            Bug::HashMapOrder => {
                let mut map = HashMap::with_hasher(self.seed);
                map.extend(config.groups.keys().map(|&g| (g, ())));
                map.into_keys().collect()
            }
            _ => config.groups.keys().copied().collect(),
        };
        if self.bug == Bug::RebalancesFromScratch {
            for shard in 0..NSHARDS {
                config.shards[shard] = gids[shard % gids.len()];
            }
            return;
        }
        // Shares in the walk's order: the first groups walked get the extra shards.
        let (base, extra) = (NSHARDS / gids.len(), NSHARDS % gids.len());
        let share: BTreeMap<Gid, usize> = gids
            .iter()
            .enumerate()
            .map(|(i, &g)| (g, base + usize::from(i < extra)))
            .collect();
        let mut kept: BTreeMap<Gid, usize> = BTreeMap::new();
        let mut free = Vec::new();
        for shard in 0..NSHARDS {
            let gid = config.shards[shard];
            match share.get(&gid) {
                Some(&limit) if kept.get(&gid).copied().unwrap_or(0) < limit => {
                    *kept.entry(gid).or_default() += 1;
                }
                _ => free.push(shard),
            }
        }
        let mut free = free.into_iter();
        for gid in gids {
            for _ in kept.get(&gid).copied().unwrap_or(0)..share[&gid] {
                config.shards[free.next().expect("shares add up")] = gid;
            }
        }
    }
}

impl StateMachine for Store {
    type Command = Command;
    type Output = Config;

    fn apply(&mut self, command: Command) -> Config {
        let (client, seq) = match &command {
            Command::Query(num) => {
                let latest = self.configs.len() - 1;
                let num = num.map_or(latest, |n| (n as usize).min(latest));
                return self.configs[num].clone();
            }
            Command::Join(_, c, s) | Command::Leave(_, c, s) | Command::Move(_, _, c, s) => {
                (*c, *s)
            }
        };
        let mut next = self.configs.last().expect("config 0").clone();
        if self.last.get(&client).is_some_and(|&last| last >= seq) {
            return next;
        }
        self.last.insert(client, seq);
        next.num += 1;
        match command {
            Command::Join(servers, ..) => {
                next.groups.extend(servers);
                self.rebalance(&mut next);
            }
            Command::Leave(gids, ..) => {
                for gid in gids {
                    next.groups.remove(&gid);
                }
                self.rebalance(&mut next);
            }
            Command::Move(shard, gid, ..) => next.shards[shard] = gid,
            Command::Query(_) => unreachable!(),
        }
        self.configs.push(next.clone());
        next
    }

    fn snapshot(&self) -> Vec<u8> {
        labrpc::codec::encode(&(&self.configs, &self.last)).expect("encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        (self.configs, self.last) = labrpc::codec::decode(snapshot).expect("decodes");
    }
}

/// Starts a planted controller server with `bug`.
fn planted(bug: Bug, start: Incarnation) -> Started<ServerHandle> {
    let store = Store {
        bug,
        seed: ReplicaSeed(sim::rng().random()),
        configs: vec![Config::default()],
        last: BTreeMap::new(),
    };
    let rsm = Rsm::new(start.ends, start.index, start.persister, None, store);
    let submit = |rsm: &Rsm<Store>| {
        let rsm = rsm.clone();
        move |command: Command| {
            let rsm = rsm.clone();
            async move {
                rsm.submit(command)
                    .await
                    .map_err(|_| CtrlerError::WrongLeader)
            }
        }
    };
    let (join, leave, move_, query) = (submit(&rsm), submit(&rsm), submit(&rsm), submit(&rsm));
    let service = Service::new()
        .handle(Join, move |a: JoinArgs| {
            let f = join(Command::Join(a.servers, a.id.client, a.id.seq));
            async move { f.await.map(|_| ()) }
        })
        .handle(Leave, move |a: LeaveArgs| {
            let f = leave(Command::Leave(a.gids, a.id.client, a.id.seq));
            async move { f.await.map(|_| ()) }
        })
        .handle(Move, move |a: MoveArgs| {
            let f = move_(Command::Move(a.shard, a.gid, a.id.client, a.id.seq));
            async move { f.await.map(|_| ()) }
        })
        .handle(Query, move |a: QueryArgs| query(Command::Query(a.num)));
    let (state, killed) = (rsm.clone(), rsm.clone());
    Started::new(ServerHandle::new(move || state.raft().get_state()))
        .service(service)
        .service(rsm.raft().service())
        .on_kill(move || killed.kill())
}

fn no_bug(start: Incarnation) -> Started<ServerHandle> {
    planted(Bug::None, start)
}
fn hash_map_order(start: Incarnation) -> Started<ServerHandle> {
    planted(Bug::HashMapOrder, start)
}
fn rebalances_from_scratch(start: Incarnation) -> Started<ServerHandle> {
    planted(Bug::RebalancesFromScratch, start)
}

#[test]
fn the_planted_controller_without_a_bug_passes() {
    for seed in 1..=3 {
        labtest::try_run(&Options::default(), seed, |cx| async move {
            let cfg = Tester::with_servers(&cx, NSERVERS, no_bug);
            harness::basic(&cfg, Basic::MinimalTransferAfterLeave).await;
            let cfg = Tester::with_servers(&cx, NSERVERS, no_bug);
            harness::multi(&cfg, Multi::AgreeConfig).await;
            let cfg = Tester::with_servers(&cx, NSERVERS, no_bug);
            harness::minimal_again(&cfg).await;
        })
        .unwrap();
    }
}

#[test]
fn hash_map_order_fails_multi_agree_config() {
    labtest::assert_caught(3, &["replicas disagree"], |cx| async move {
        let cfg = Tester::with_servers(&cx, NSERVERS, hash_map_order);
        harness::multi(&cfg, Multi::AgreeConfig).await;
    });
}

#[test]
fn rebalancing_from_scratch_fails_minimal_again() {
    labtest::assert_caught(1, &["moved from gid"], |cx| async move {
        harness::minimal_again(&Tester::with_servers(
            &cx,
            NSERVERS,
            rebalances_from_scratch,
        ))
        .await;
    });
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The suite's longest test, multi_agree_config (every step of TestMulti): the controller's
    // cluster must be freed when a run ends, or a many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=3, |cx| async move {
        harness::multi(&Tester::new(&cx, NSERVERS), Multi::AgreeConfig).await
    });
}
// END SOLUTION
