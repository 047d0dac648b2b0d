//! The shardctrler tester (the original's `config.go` and the checks of `test_test.go`):
//! controller servers on a simulated network, built on `labtest::cluster`; clerks with their
//! own ends; shutdown and restart of a server.
//!
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use labrpc::Network;
use labrpc::rand::RngExt;
use labrpc::sim;
use labtest::TestCx;
use labtest::cluster::{Client, Group, GroupSpec, Incarnation, Started};
use labtest::kv::LATENCY;
use shardctrler::{Clerk, Config, Gid, NSHARDS, ShardCtrler};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Controller servers in every test, as the original.
pub const NSERVERS: usize = 3;

/// Clerks running at once in the concurrent steps.
const NPARA: usize = 10;

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

/// How the tester starts one controller server: the handle, the services to serve (the
/// controller's and Raft's) and the kill hook.
pub type MakeServer = fn(Incarnation) -> Started<ServerHandle>;

/// The student's controller server.
pub fn ctrler_server(start: Incarnation) -> Started<ServerHandle> {
    let server = ShardCtrler::new(start.ends, start.index, start.persister);
    let (state, killed) = (server.clone(), server.clone());
    Started::new(ServerHandle::new(move || state.raft().get_state()))
        .service(server.service())
        .service(server.raft().service())
        .on_kill(move || killed.kill())
}

/// A clerk made by the tester: the given [`Clerk`], the tester's handle on its ends, and the
/// count of operations for the summary line.
pub struct TestClerk {
    clerk: Clerk,
    link: Client,
    cx: TestCx,
}

impl TestClerk {
    /// `Clerk::query`, counted.
    pub async fn query(&self, num: Option<u64>) -> Config {
        self.cx.add_ops(1);
        self.clerk.query(num).await
    }

    /// `Clerk::join`, counted.
    pub async fn join(&self, servers: BTreeMap<Gid, Vec<String>>) {
        self.cx.add_ops(1);
        self.clerk.join(servers).await
    }

    /// `Clerk::leave`, counted.
    pub async fn leave(&self, gids: &[Gid]) {
        self.cx.add_ops(1);
        self.clerk.leave(gids).await
    }

    /// `Clerk::move_shard`, counted.
    pub async fn move_shard(&self, shard: usize, gid: Gid) {
        self.cx.add_ops(1);
        self.clerk.move_shard(shard, gid).await
    }
}

/// A controller service under test. Cloning gives another handle to it.
#[derive(Clone)]
pub struct Tester {
    cx: TestCx,
    group: Group<ServerHandle>,
}

impl Tester {
    /// `make_config`: `n` controller servers on a reliable network, all started and connected.
    pub fn new(cx: &TestCx, n: usize) -> Tester {
        Tester::with_servers(cx, n, ctrler_server)
    }

    /// Like [`Tester::new`], with servers made by `server` (the suite's own tests run planted
    /// bugs this way).
    pub fn with_servers(cx: &TestCx, n: usize, server: MakeServer) -> Tester {
        cx.set_peers(n);
        let net = Network::new();
        net.set_latency(LATENCY);
        let group = Group::new(&net, GroupSpec::new(n), server);
        group.connect_all();
        Tester {
            cx: cx.clone(),
            group,
        }
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
            cx: self.cx.clone(),
        }
    }

    /// Shuts server `i` down, keeping its persisted state.
    pub fn shutdown_server(&self, i: usize) {
        self.group.shutdown(i);
    }

    /// Starts server `i` again from its persisted state (disconnected).
    pub fn start_server(&self, i: usize) {
        self.group.start(i);
    }

    /// Connects every server.
    pub fn connect_all(&self) {
        self.group.connect_all();
    }

    /// A running server that believes it leads, if any (the lowest such index).
    pub fn leader(&self) -> Option<usize> {
        (0..self.n()).find(|&i| self.group.server(i).is_some_and(|s| (s.raft_state)().1))
    }
}

/// The original's `check`: the latest configuration has exactly the groups `groups`, every
/// shard (if there are groups) on one of them, and the groups' shard counts differ by at
/// most one.
pub async fn check(ck: &TestClerk, groups: &[Gid]) {
    let config = ck.query(None).await;
    let have: Vec<Gid> = config.groups.keys().copied().collect();
    let mut want = groups.to_vec();
    want.sort_unstable();
    want.dedup();
    assert!(
        have.len() == want.len(),
        "wanted {} groups {want:?}, got {} groups {have:?} in configuration {}",
        want.len(),
        have.len(),
        config.num
    );
    for gid in &want {
        assert!(
            config.groups.contains_key(gid),
            "missing group {gid} in configuration {} (groups {have:?})",
            config.num
        );
    }
    if !want.is_empty() {
        for (shard, gid) in config.shards.iter().enumerate() {
            assert!(
                config.groups.contains_key(gid),
                "shard {shard} -> invalid group {gid} in configuration {} (groups {have:?})",
                config.num
            );
        }
    }
    let counts = config.shard_counts();
    if let (Some(max), Some(min)) = (counts.values().max(), counts.values().min()) {
        assert!(
            max <= &(min + 1),
            "max {max} too much larger than min {min}: configuration {} gives shards {:?} to \
             groups {have:?}",
            config.num,
            config.shards
        );
    }
}

/// The original's `check_same_config`: two answers for one configuration number are the same
/// configuration (number, shards, groups and their server lists).
pub fn check_same_config(c1: &Config, c2: &Config) {
    let hint = "replicas disagree? every replica must compute the same configuration (the \
                rebalancing must not depend on a hash map's iteration order)";
    assert!(
        c1.num == c2.num,
        "Num wrong: asked for the same configuration, got numbers {} and {}",
        c1.num,
        c2.num
    );
    assert!(
        c1.shards == c2.shards,
        "Shards wrong: configuration {} is {:?} in one answer and {:?} in another: {hint}",
        c1.num,
        c1.shards,
        c2.shards
    );
    assert!(
        c1.groups == c2.groups,
        "Groups wrong: configuration {} has groups {:?} in one answer and {:?} in another",
        c1.num,
        c1.groups,
        c2.groups
    );
}

/// Checks that group `gid` of the latest configuration has the servers `servers`, in order.
pub async fn check_servers(ck: &TestClerk, gid: Gid, servers: &[&str]) {
    let config = ck.query(None).await;
    let have = config.groups.get(&gid);
    assert!(
        have.is_some_and(|s| s.iter().map(String::as_str).eq(servers.iter().copied())),
        "wrong servers for gid {gid}: {have:?}, wanted {servers:?}"
    );
}

/// One group's servers for a join: `gid` → `names`.
pub fn group(gid: Gid, names: &[&str]) -> BTreeMap<Gid, Vec<String>> {
    BTreeMap::from([(gid, names.iter().map(|s| s.to_string()).collect())])
}

/// Checks a rebalancing after joins: every shard that `after` gives to one of `groups` (the
/// groups that were there before) was already on that group in `before`.
pub fn check_join_minimal(before: &Config, after: &Config, groups: &[Gid]) {
    for shard in 0..before.shards.len() {
        let (from, to) = (before.shards[shard], after.shards[shard]);
        assert!(
            !groups.contains(&to) || from == to,
            "non-minimal transfer after Join()s: shard {shard} moved from gid {from} to gid {to}, \
             a group that was there before (configurations {} and {})",
            before.num,
            after.num
        );
    }
}

/// Checks a rebalancing after leaves: every shard that `before` gives to one of `groups` (the
/// groups that stayed) is still on that group in `after`.
pub fn check_leave_minimal(before: &Config, after: &Config, groups: &[Gid]) {
    for shard in 0..before.shards.len() {
        let (from, to) = (before.shards[shard], after.shards[shard]);
        assert!(
            !groups.contains(&from) || from == to,
            "non-minimal transfer after Leave()s: shard {shard} moved from gid {from}, which \
             stayed, to gid {to} (configurations {} and {})",
            before.num,
            after.num
        );
    }
}

// ---------------------------------------------------------------------------------------
// The scenarios of `test_test.go`.
// TestBasic

/// The subtests of `TestBasic`, in their order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Basic {
    LeaveJoin,
    HistoricalQueries,
    Move,
    ConcurrentLeaveJoin,
    MinimalTransfer,
    MinimalTransferAfterLeave,
}

/// `TestBasic`'s steps on `cfg`, up to and including `last`.
pub async fn basic(cfg: &Tester, last: Basic) {
    let ck = cfg.make_client(&cfg.all());

    // Basic leave/join.
    let mut saved = vec![ck.query(None).await];
    check(&ck, &[]).await;
    ck.join(group(1, &["x", "y", "z"])).await;
    check(&ck, &[1]).await;
    saved.push(ck.query(None).await);
    ck.join(group(2, &["a", "b", "c"])).await;
    check(&ck, &[1, 2]).await;
    saved.push(ck.query(None).await);
    check_servers(&ck, 1, &["x", "y", "z"]).await;
    check_servers(&ck, 2, &["a", "b", "c"]).await;
    ck.leave(&[1]).await;
    check(&ck, &[2]).await;
    saved.push(ck.query(None).await);
    ck.leave(&[2]).await;
    saved.push(ck.query(None).await);
    if last == Basic::LeaveJoin {
        return;
    }

    // Historical queries: every saved configuration, with each server down in turn.
    for s in 0..NSERVERS {
        cfg.shutdown_server(s);
        for config in &saved {
            let got = ck.query(Some(config.num)).await;
            check_same_config(&got, config);
        }
        cfg.start_server(s);
        cfg.connect_all();
    }
    if last == Basic::HistoricalQueries {
        return;
    }

    // Move.
    let (gid3, gid4): (Gid, Gid) = (503, 504);
    ck.join(group(gid3, &["3a", "3b", "3c"])).await;
    ck.join(group(gid4, &["4a", "4b", "4c"])).await;
    for shard in 0..NSHARDS {
        let before = ck.query(None).await;
        let gid = if shard < NSHARDS / 2 { gid3 } else { gid4 };
        ck.move_shard(shard, gid).await;
        if before.shards[shard] != gid {
            let after = ck.query(None).await;
            assert!(
                after.num > before.num,
                "Move should increase Config.Num: moving shard {shard} to gid {gid} left it at \
                 {} (was {})",
                after.num,
                before.num
            );
        }
    }
    let moved = ck.query(None).await;
    for shard in 0..NSHARDS {
        let gid = if shard < NSHARDS / 2 { gid3 } else { gid4 };
        assert!(
            moved.shards[shard] == gid,
            "expected shard {shard} on gid {gid} actually {}",
            moved.shards[shard]
        );
    }
    ck.leave(&[gid3]).await;
    ck.leave(&[gid4]).await;
    if last == Basic::Move {
        return;
    }

    // Concurrent leave/join: each clerk joins gid + 1000 and gid, then leaves gid + 1000.
    let gids: Vec<Gid> = (0..NPARA as Gid).map(|i| i * 10 + 100).collect();
    let clerks: Vec<_> = gids
        .iter()
        .map(|&gid| {
            let ck = cfg.make_client(&cfg.all());
            sim::spawn(async move {
                ck.join(group(gid + 1000, &[&format!("s{gid}a")])).await;
                ck.join(group(gid, &[&format!("s{gid}b")])).await;
                ck.leave(&[gid + 1000]).await;
            })
        })
        .collect();
    for clerk in clerks {
        clerk.await.expect("the test node never crashes");
    }
    check(&ck, &gids).await;
    if last == Basic::ConcurrentLeaveJoin {
        return;
    }

    // Minimal transfers after joins: five more groups, one join each.
    let c1 = ck.query(None).await;
    let new_gids: Vec<Gid> = (0..5).map(|i| NPARA as Gid + 1 + i).collect();
    for &gid in &new_gids {
        let names = [format!("{gid}a"), format!("{gid}b"), format!("{gid}b")];
        ck.join(BTreeMap::from([(gid, names.to_vec())])).await;
    }
    let c2 = ck.query(None).await;
    check_join_minimal(&c1, &c2, &gids);
    if last == Basic::MinimalTransfer {
        return;
    }

    // Minimal transfers after leaves: the five leave again, one at a time.
    for &gid in &new_gids {
        ck.leave(&[gid]).await;
    }
    let c3 = ck.query(None).await;
    check_leave_minimal(&c2, &c3, &gids);
}

// ---------------------------------------------------------------------------------------
// TestMinimalAgain

/// `TestMinimalAgain`: a third group joins two, then the first leaves; only shards to or
/// from the group that changed may move, at most `NSHARDS / 3 + 1` of them.
pub async fn minimal_again(cfg: &Tester) {
    let ck = cfg.make_client(&cfg.all());
    ck.join(group(1, &["x", "y", "z"])).await;
    ck.join(group(2, &["a", "b", "c"])).await;
    let c1 = ck.query(None).await;
    ck.join(group(3, &["d", "e", "f"])).await;
    let c2 = ck.query(None).await;
    check_moves(&c1, &c2, |_, to| to == 3, "join");
    ck.leave(&[1]).await;
    let c3 = ck.query(None).await;
    check_moves(&c2, &c3, |from, _| from == 1, "leave");
}

/// Checks that every shard that moved from `before` to `after` satisfies `allowed(from, to)`,
/// and that at most `NSHARDS / 3 + 1` moved.
fn check_moves(before: &Config, after: &Config, allowed: impl Fn(Gid, Gid) -> bool, what: &str) {
    let mut changed = 0;
    for shard in 0..NSHARDS {
        let (from, to) = (before.shards[shard], after.shards[shard]);
        if from != to {
            assert!(
                allowed(from, to),
                "shard {shard} moved from gid {from} to gid {to}, but shouldn't have (after \
                 {what}: {:?} -> {:?})",
                before.shards,
                after.shards
            );
            changed += 1;
        }
    }
    assert!(
        changed <= NSHARDS / 3 + 1,
        "too many shards ({changed}) moved after {what}: at most {} may ({:?} -> {:?})",
        NSHARDS / 3 + 1,
        before.shards,
        after.shards
    );
}

// ---------------------------------------------------------------------------------------
// TestMulti

/// The subtests of `TestMulti`, in their order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Multi {
    LeaveJoin,
    ConcurrentLeaveJoin,
    MinimalTransfer,
    MinimalTransferAfterLeave,
    AgreeConfig,
}

/// `TestMulti`'s steps on `cfg`, up to and including `last`.
pub async fn multi(cfg: &Tester, last: Multi) {
    let ck = cfg.make_client(&cfg.all());

    // Multi-group join/leave.
    check(&ck, &[]).await;
    let mut two = group(1, &["x", "y", "z"]);
    two.extend(group(2, &["a", "b", "c"]));
    ck.join(two).await;
    check(&ck, &[1, 2]).await;
    ck.join(group(3, &["j", "k", "l"])).await;
    check(&ck, &[1, 2, 3]).await;
    check_servers(&ck, 1, &["x", "y", "z"]).await;
    check_servers(&ck, 2, &["a", "b", "c"]).await;
    check_servers(&ck, 3, &["j", "k", "l"]).await;
    ck.leave(&[1, 3]).await;
    check(&ck, &[2]).await;
    check_servers(&ck, 2, &["a", "b", "c"]).await;
    ck.leave(&[2]).await;
    if last == Multi::LeaveJoin {
        return;
    }

    // Concurrent multi leave/join: each clerk joins three groups at once, then two leave.
    let gids: Vec<Gid> = (0..NPARA as Gid).map(|i| i + 1000).collect();
    let clerks: Vec<_> = gids
        .iter()
        .map(|&gid| {
            let ck = cfg.make_client(&cfg.all());
            sim::spawn(async move {
                let names = |g: Gid, suffixes: &[&str]| -> Vec<String> {
                    suffixes.iter().map(|s| format!("{g}{s}")).collect()
                };
                let servers = BTreeMap::from([
                    (gid, names(gid, &["a", "b", "c"])),
                    (gid + 1000, names(gid + 1000, &["a"])),
                    (gid + 2000, names(gid + 2000, &["a"])),
                ]);
                ck.join(servers).await;
                ck.leave(&[gid + 1000, gid + 2000]).await;
            })
        })
        .collect();
    for clerk in clerks {
        clerk.await.expect("the test node never crashes");
    }
    check(&ck, &gids).await;
    if last == Multi::ConcurrentLeaveJoin {
        return;
    }

    // Minimal transfers after multijoins: five groups in one join.
    let c1 = ck.query(None).await;
    let new_gids: Vec<Gid> = (0..5).map(|i| NPARA as Gid + 1 + i).collect();
    let joining = new_gids
        .iter()
        .map(|&gid| (gid, vec![format!("{gid}a"), format!("{gid}b")]))
        .collect();
    ck.join(joining).await;
    let c2 = ck.query(None).await;
    check_join_minimal(&c1, &c2, &gids);
    if last == Multi::MinimalTransfer {
        return;
    }

    // Minimal transfers after multileaves: the five leave in one call.
    ck.leave(&new_gids).await;
    let c3 = ck.query(None).await;
    check_leave_minimal(&c2, &c3, &gids);
    if last == Multi::MinimalTransferAfterLeave {
        return;
    }

    // Check same config on servers: the leader's latest configuration, then, with the leader
    // down, the others'.
    let Some(leader) = cfg.leader() else {
        panic!("Leader not found: no controller server believes it leads");
    };
    let c = ck.query(None).await;
    cfg.shutdown_server(leader);
    if let Some(other) = cfg.leader() {
        // As the original: a server that still claims to lead right after the leader's
        // shutdown fails the test after three seconds.
        for _ in 0..3 {
            sim::sleep(Duration::from_secs(1)).await;
        }
        panic!(
            "Leader not found: server {other} still claimed to lead after leader {leader} was \
             shut down"
        );
    }
    let c1 = ck.query(None).await;
    check_same_config(&c, &c1);
}

/// The fewest shards a rebalancing from `before` to a balanced configuration of `after`'s
/// groups can move: every group ends with `NSHARDS / n` or one more, and keeps what it can.
fn fewest_moves(before: &Config, after: &Config) -> usize {
    let nshards = before.shards.len();
    let n = after.groups.len();
    if n == 0 {
        return before.shards.iter().filter(|&&g| g != 0).count();
    }
    let (base, extra) = (nshards / n, nshards % n);
    let held: Vec<usize> = after
        .groups
        .keys()
        .map(|&gid| before.shards.iter().filter(|&&g| g == gid).count())
        .collect();
    let kept: usize = held.iter().map(|&h| h.min(base)).sum::<usize>()
        + extra.min(held.iter().filter(|&&h| h > base).count());
    nshards - kept
}

/// Forty joins and leaves of one to three groups at a time, drawn from the seed, among twelve
/// groups: after each, the configuration is balanced and moved exactly the fewest shards a
/// balanced configuration can (the original's checks look at a few pairs of configurations).
pub async fn minimal_every_change(cfg: &Tester) {
    const CHANGES: usize = 40;
    const GROUPS: Gid = 12;
    let ck = cfg.make_client(&cfg.all());
    let mut members: Vec<Gid> = Vec::new();
    let mut before = ck.query(None).await;
    for change in 0..CHANGES {
        let mut rng = sim::rng();
        let outside: Vec<Gid> = (1..=GROUPS).filter(|g| !members.contains(g)).collect();
        let join = members.is_empty() || (!outside.is_empty() && rng.random_bool(0.55));
        let pool = if join { &outside } else { &members };
        let count = rng.random_range(1..=pool.len().min(3));
        let mut chosen = pool.clone();
        for i in 0..count {
            let j = rng.random_range(i..chosen.len());
            chosen.swap(i, j);
        }
        chosen.truncate(count);
        let what = if join {
            let servers = chosen
                .iter()
                .map(|&gid| (gid, vec![format!("s{gid}a"), format!("s{gid}b")]))
                .collect();
            ck.join(servers).await;
            members.extend(&chosen);
            format!("Join of {chosen:?}")
        } else {
            ck.leave(&chosen).await;
            members.retain(|g| !chosen.contains(g));
            format!("Leave of {chosen:?}")
        };
        let after = ck.query(None).await;
        let counts: BTreeMap<Gid, usize> = members
            .iter()
            .map(|&gid| (gid, after.shards.iter().filter(|&&g| g == gid).count()))
            .collect();
        let (least, most) = (
            counts.values().min().copied().unwrap_or(0),
            counts.values().max().copied().unwrap_or(0),
        );
        assert!(
            most <= least + 1
                && after
                    .shards
                    .iter()
                    .all(|g| members.contains(g) || (members.is_empty() && *g == 0)),
            "change {change} ({what}): configuration {} is not balanced over {members:?}: {:?}",
            after.num,
            after.shards
        );
        let moved = (0..after.shards.len())
            .filter(|&s| before.shards[s] != after.shards[s])
            .count();
        let fewest = fewest_moves(&before, &after);
        assert!(
            moved == fewest,
            "change {change} ({what}): {moved} shards moved from configuration {} ({:?}) to {} \
             ({:?}), but a balanced configuration could move only {fewest}: a rebalancing must \
             move as few shards as possible after every join and leave (each group keeps as \
             many of its shards as its new share allows, including a share one above the base)",
            before.num,
            before.shards,
            after.num,
            after.shards
        );
        before = after;
    }
}
