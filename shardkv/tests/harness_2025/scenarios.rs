//! The bodies of the original's `shardkv1/shardkv_test.go` (2025), one function per test, on a
//! [`ShardTester`] (so that the tester's own tests run them on planted bugs too).

use super::{INTER_GROUP_DELAY, NGRP, NKEYS, ShardTester};
use labrpc::sim;
use labtest::versioned::check_get;
use shardkv::v2025::shardcfg::{GID1, Gid, ShardConfig, key2shard};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// The values `SpreadPuts` writes.
const VALUE_SIZE: usize = 20;

/// `TestInitQuery5A`: the first configuration, stored and read back through Lab 2's server.
pub async fn init_query(ts: &ShardTester) {
    let ctrler = ts.make_ctrler();
    let mut config = ShardConfig::new();
    config.join_balance(BTreeMap::from([(GID1, vec!["xxx".to_string()])]));
    ctrler.ctrler().init_config(config).await;
    let read = ctrler.query().await;
    assert!(
        read.num == 1 && read.shards[0] == GID1,
        "query after init_config returned configuration {} with shard 0 on group {}; expected \
         configuration 1 with every shard on group 1:\n{read}",
        read.num,
        read.shards[0]
    );
    if let Err(e) = read.check(&[GID1]) {
        panic!("query after init_config: {e}\n{read}");
    }
}

/// `TestStaticOneShardGroup5A`: one group serves every key, before and after its leader fails.
pub async fn static_one_shard_group(ts: &ShardTester) {
    ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let ck = ts.make_unrecorded_clerk();
    ts.check_gets(&ck, &keys, &values).await;
    ts.shut_down_leader(GID1);
    ts.check_gets(&ck, &keys, &values).await;
}

/// `TestJoinBasic5A`: a second group joins; half the shards move to it.
pub async fn join_basic(ts: &ShardTester) {
    let gid1 = ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let ctrler = ts.ctrler();
    let before = ctrler.query().await;
    let gid2 = ts.new_gid();
    assert!(
        ts.join_groups(ctrler.ctrler(), &[gid2]).await,
        "group {gid2} is not a member after it joined"
    );
    let after = ctrler.query().await;
    assert!(
        after.num == before.num + 1,
        "wrong configuration number after a join: {} (before it: {})",
        after.num,
        before.num
    );
    let ck = ts.make_unrecorded_clerk();
    ts.check_shutdown_sharding(gid1, &keys, &values).await;
    ts.check_gets(&ck, &keys, &values).await;
    ts.check_shutdown_sharding(gid2, &keys, &values).await;
    ts.check_gets(&ck, &keys, &values).await;
}

/// The snapshot limit of `TestDeleteBasic5A`.
pub const DELETE_MAX_RAFT_STATE: usize = 10_000;

/// Rounds of reads after the join in `TestDeleteBasic5A`: at least the original's, at most
/// this many.
pub const DELETE_MAX_ROUNDS: usize = 50;

/// `TestDeleteBasic5A`: the group that hands shards over deletes them (its snapshots shrink).
/// The original reads every key five times, which makes every server of its groups snapshot
/// again (its log entries are gob-encoded, about a hundred bytes each); the kit's entries are
/// smaller, so it reads on until every server of the first group has taken a snapshot since
/// the join, as the original's reads meant to.
pub async fn delete_basic(ts: &ShardTester) {
    const VALUE: usize = 1000;
    const ROUNDS: usize = 5;
    let gid1 = ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE).await;
    let size = ts.snapshot_size(gid1);
    let gid2 = ts.new_gid();
    ts.join_groups(ts.ctrler().ctrler(), &[gid2]).await;
    let group1 = ts.group(gid1);
    let snapshot = |i| group1.persister(i).read_snapshot();
    let after_join: Vec<Vec<u8>> = (0..group1.n()).map(snapshot).collect();
    let ck = ts.make_unrecorded_clerk();
    for round in 1..=DELETE_MAX_ROUNDS {
        ts.check_gets(&ck, &keys, &values).await;
        let all_snapshotted = (0..group1.n()).all(|i| snapshot(i) != after_join[i]);
        if round >= ROUNDS && all_snapshotted {
            break;
        }
    }
    let (size1, size2) = (ts.snapshot_size(gid1), ts.snapshot_size(gid2));
    assert!(
        size1 + size2 <= size + DELETE_MAX_RAFT_STATE,
        "group {gid1}'s snapshot ({size1} bytes) + group {gid2}'s ({size2}) = {} bytes, more \
         than the {size} bytes of all the keys + {DELETE_MAX_RAFT_STATE}: does the group that \
         hands a shard over delete it?",
        size1 + size2
    );
}

/// `TestJoinLeaveBasic5A`: a group joins, the first group leaves and comes back.
pub async fn join_leave_basic(ts: &ShardTester) {
    let gid1 = ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let ctrler = ts.ctrler();
    let gid2 = ts.new_gid();
    assert!(
        ts.join_groups(ctrler.ctrler(), &[gid2]).await,
        "group {gid2} is not a member after it joined"
    );
    let ck = ts.make_unrecorded_clerk();
    ts.check_shutdown_sharding(gid1, &keys, &values).await;
    ts.check_gets(&ck, &keys, &values).await;
    ts.leave(ctrler.ctrler(), gid1).await;
    assert!(
        !ctrler.query().await.is_member(gid1),
        "group {gid1} is a member after it left"
    );
    ts.shutdown_group(gid1);
    ts.check_gets(&ck, &keys, &values).await;
    // Group 1 comes back with its old state and joins again.
    ts.start_servers(gid1);
    ts.join(ctrler.ctrler(), gid1).await;
    ts.check_gets(&ck, &keys, &values).await;
    ts.check_shutdown_sharding(gid2, &keys, &values).await;
}

/// `TestManyJoinLeave{Reliable,Unreliable}5A`: eight groups join, then leave.
pub async fn many_join_leave(ts: &ShardTester) {
    ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let ctrler = ts.ctrler();
    let gids: Vec<Gid> = (0..NGRP).map(|_| ts.new_gid()).collect();
    ts.join_groups(ctrler.ctrler(), &gids).await;
    let ck = ts.make_unrecorded_clerk();
    ts.check_shutdown_sharding(gids[0], &keys, &values).await;
    ts.check_gets(&ck, &keys, &values).await;
    ts.leave_groups(ctrler.ctrler(), &gids).await;
    ts.check_gets(&ck, &keys, &values).await;
}

/// `TestShutdown5A`: every group restarts from its persisted state.
pub async fn shutdown(ts: &ShardTester) {
    let gid1 = ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let gids = [gid1, ts.new_gid(), ts.new_gid()];
    ts.join_groups(ts.ctrler().ctrler(), &gids[1..]).await;
    let ck = ts.make_unrecorded_clerk();
    ts.check_shutdown_sharding(gids[1], &keys, &values).await;
    ts.check_gets(&ck, &keys, &values).await;
    for &gid in &gids {
        ts.shutdown_group(gid);
    }
    for &gid in &gids {
        ts.start_servers(gid);
    }
    ts.check_gets(&ck, &keys, &values).await;
}

/// How long `TestProgressShutdown5A` gives the live groups' gets.
pub const PROGRESS_SHUTDOWN_WITHIN: Duration = Duration::from_secs(2);

/// `TestProgressShutdown5A`: with two groups down, the others' keys are still served.
pub async fn progress_shutdown(ts: &ShardTester) {
    ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let gids: Vec<Gid> = (0..4).map(|_| ts.new_gid()).collect();
    ts.join_groups(ts.ctrler().ctrler(), &gids).await;
    ts.shutdown_group(gids[0]);
    ts.shutdown_group(gids[1]);
    let config = ts.ctrler().query().await;
    let live = [gids[2], gids[3]];
    let reads: Vec<(String, String)> = keys
        .iter()
        .zip(&values)
        .filter(|(key, _)| live.contains(&config.shards[key2shard(key)]))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let done = Rc::new(Cell::new(false));
    {
        let (ts, done) = (ts.clone(), done.clone());
        sim::spawn(async move {
            let ck = ts.make_unrecorded_clerk();
            for (key, value) in &reads {
                check_get(&ck, key, value, 1).await;
            }
            done.set(true);
        });
    }
    sim::sleep(PROGRESS_SHUTDOWN_WITHIN).await;
    assert!(
        done.get(),
        "the gets of keys on the live groups {live:?} did not finish within \
         {PROGRESS_SHUTDOWN_WITHIN:?} while groups {:?} were down: a request to a live group \
         must not wait for a dead one",
        &gids[..2]
    );
}

/// `TestProgressJoin5A`'s limits: gets for this long, finished within the second, at least
/// this many.
pub const PROGRESS_JOIN_GETS_FOR: Duration = Duration::from_secs(4);
/// See [`PROGRESS_JOIN_GETS_FOR`].
pub const PROGRESS_JOIN_WITHIN: Duration = Duration::from_secs(8);
/// See [`PROGRESS_JOIN_GETS_FOR`].
pub const PROGRESS_JOIN_MIN_GETS: usize = 100;

/// `TestProgressJoin5A`: while a group keeps joining and leaving, the groups involved keep
/// serving the shards that do not move.
pub async fn progress_join(ts: &ShardTester) {
    const JOINING: usize = 4;
    ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let ctrler = ts.ctrler();
    let gids: Vec<Gid> = (0..JOINING).map(|_| ts.new_gid()).collect();
    ts.join_groups(ctrler.ctrler(), &gids).await;
    let config = ctrler.query().await;
    let new_gid = (JOINING + 3) as Gid;
    let mut with = config.clone();
    with.join_balance(BTreeMap::from([(new_gid, vec!["xxx".to_string()])]));
    let mut without = with.clone();
    without.leave_balance(&[new_gid]);
    let stable: Vec<bool> = (0..with.shards.len())
        .map(|s| with.shards[s] == without.shards[s])
        .collect();
    let participating: Vec<Gid> = (0..with.shards.len())
        .filter(|&s| !stable[s])
        .map(|s| without.shards[s])
        .collect();
    let reads: Vec<(String, String)> = keys
        .iter()
        .zip(&values)
        .filter(|(key, _)| {
            let shard = key2shard(key);
            stable[shard] && participating.contains(&without.shards[shard])
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let stop = Rc::new(Cell::new(false));
    {
        let (ts, stop, ctrler) = (ts.clone(), stop.clone(), ctrler.clone());
        sim::spawn(async move {
            while !stop.get() {
                let joined = ts.join_groups(ctrler.ctrler(), &[new_gid]).await;
                assert!(joined, "group {new_gid} is not a member after it joined");
                let left = ts.leave_groups(ctrler.ctrler(), &[new_gid]).await;
                assert!(left, "group {new_gid} is still a member after it left");
            }
        });
    }
    let gets = Rc::new(Cell::new(None));
    {
        let (ts, gets) = (ts.clone(), gets.clone());
        sim::spawn(async move {
            let ck = ts.make_unrecorded_clerk();
            let started = sim::now();
            let mut n = 0;
            while sim::now() - started < PROGRESS_JOIN_GETS_FOR {
                for (key, value) in &reads {
                    check_get(&ck, key, value, 1).await;
                    n += 1;
                }
                if reads.is_empty() {
                    sim::sleep(INTER_GROUP_DELAY).await;
                }
            }
            gets.set(Some(n));
        });
    }
    let started = sim::now();
    while gets.get().is_none() && sim::now() - started < PROGRESS_JOIN_WITHIN {
        sim::sleep(Duration::from_millis(100)).await;
    }
    stop.set(true);
    let Some(n) = gets.get() else {
        panic!(
            "the gets of shards that do not move did not finish within \
             {PROGRESS_JOIN_WITHIN:?} while group {new_gid} joined and left: a group must keep \
             serving its other shards while some move"
        );
    };
    assert!(
        n >= PROGRESS_JOIN_MIN_GETS,
        "only {n} gets of shards that do not move finished in {PROGRESS_JOIN_GETS_FOR:?} while \
         group {new_gid} joined and left; expected at least {PROGRESS_JOIN_MIN_GETS}: a group \
         must keep serving its other shards while some move"
    );
}

/// How long the concurrent clerks of 5A put.
pub const CONCURRENT_CLERKS_FOR: Duration = Duration::from_secs(20);

/// `Test{One,Many}ConcurrentClerk{Reliable,Unreliable}5A`: `clients` clerks put to one key
/// while eight groups join and leave; the history must be linearizable.
pub async fn concurrent_clerks(ts: &ShardTester, clients: usize) {
    ts.setup_kv_service().await;
    let ctrler = ts.ctrler();
    let gids: Vec<Gid> = (0..NGRP).map(|_| ts.new_gid()).collect();
    let reconfigure = async {
        assert!(
            ts.join_groups(ctrler.ctrler(), &gids).await,
            "a group is not a member after it joined"
        );
        assert!(
            ts.leave_groups(ctrler.ctrler(), &gids).await,
            "a group is still a member after it left"
        );
    };
    ts.concurrent_clerks(clients, CONCURRENT_CLERKS_FOR, reconfigure)
        .await;
}

/// How long `TestJoinLeave5B` waits for a change that needs a group that is down (it must
/// not finish), and then for it to finish once the group is back.
pub const JOIN_LEAVE_WAIT: Duration = Duration::from_secs(2);

/// `TestJoinLeave5B`: a join and a leave wait while a group they need is down, and finish
/// soon after it is back.
pub async fn join_leave_down(ts: &ShardTester) {
    let gid1 = ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let ctrler = ts.ctrler();
    let before = ctrler.query().await;
    let gid2 = ts.new_gid();
    let join = {
        let (ts, ctrler) = (ts.clone(), ctrler.clone());
        async move { ts.join_groups(ctrler.ctrler(), &[gid2]).await }
    };
    // (The original waits 2 ns, not 2 s, before its first check, which so never fires.)
    let what = format!("group {gid2}'s join");
    waits_for_group(ts, gid1, &what, "is not a member after it", join).await;
    let after = ctrler.query().await;
    assert!(
        after.num == before.num + 1,
        "wrong configuration number after a join: {} (before it: {})",
        after.num,
        before.num
    );
    let leave = {
        let (ts, ctrler) = (ts.clone(), ctrler.clone());
        async move { ts.leave_groups(ctrler.ctrler(), &[gid1]).await }
    };
    let what = format!("group {gid1}'s leave");
    waits_for_group(ts, gid2, &what, "is still a member after it", leave).await;
    let ck = ts.make_unrecorded_clerk();
    ts.check_gets(&ck, &keys, &values).await;
}

/// Runs `change` (a join or a leave, which returns whether the group's membership is right
/// after it) while group `down`, which it needs, is down: it must not finish within
/// [`JOIN_LEAVE_WAIT`], and must finish, right, within [`JOIN_LEAVE_WAIT`] of `down`'s return.
async fn waits_for_group(
    ts: &ShardTester,
    down: Gid,
    what: &str,
    wrong: &str,
    change: impl std::future::Future<Output = bool> + 'static,
) {
    ts.shutdown_group(down);
    let done = Rc::new(Cell::new(None));
    {
        let done = done.clone();
        sim::spawn(async move { done.set(Some(change.await)) });
    }
    sim::sleep(JOIN_LEAVE_WAIT).await;
    assert!(
        done.get().is_none(),
        "{what} finished while group {down}, which it needs, was down"
    );
    ts.start_servers(down);
    let started = sim::now();
    while done.get().is_none() && sim::now() - started < JOIN_LEAVE_WAIT {
        sim::sleep(Duration::from_millis(10)).await;
    }
    match done.get() {
        None => {
            panic!("{what} did not finish within {JOIN_LEAVE_WAIT:?} after group {down} came back")
        }
        Some(false) => panic!("{what}: the group {wrong}"),
        Some(true) => {}
    }
}

/// `TestRecoverCtrler5B` and `TestPartitionRecovery*NoClerk5C`: `rounds` controllers fail
/// halfway through a change, and a new one finishes it.
pub async fn recover_ctrler(ts: &ShardTester, rounds: usize) {
    let gid1 = ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    for _ in 0..rounds {
        ts.partition_ctrler(gid1, &keys, &values).await;
    }
}

/// `TestConcurrentReliable5C` and `TestAcquireLockConcurrentUnreliable5C`: four controllers
/// at once.
pub async fn concurrent_ctrlers(ts: &ShardTester) {
    ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    ts.concur_ctrler(&keys, &values).await;
}

/// `TestPartitionControllerJoin5C`: a controller is cut off in a join that waits for a group
/// that is down; a new one finishes it; the old one comes back and must change nothing.
pub async fn partition_controller_join(ts: &ShardTester) {
    ts.setup_kv_service().await;
    let (keys, values) = ts.spread_puts(NKEYS, VALUE_SIZE).await;
    let old = ts.make_ctrler();
    old.ctrler().init_controller().await;
    let ngid = ts.new_gid();
    let done = Rc::new(Cell::new(false));
    {
        let (ts, old, done) = (ts.clone(), old.clone(), done.clone());
        sim::spawn(async move {
            ts.start_group(ngid);
            ts.shutdown_group(ngid);
            ts.join(old.ctrler(), ngid).await;
            done.set(true);
        });
    }
    sim::sleep(Duration::from_secs(1)).await;
    old.disconnect();
    sim::sleep(Duration::from_secs(1)).await;
    ts.start_servers(ngid);
    let new = ts.make_ctrler();
    new.ctrler().init_controller().await;
    let config = new.query().await;
    old.connect();
    // The original waits without a limit; the test's own time limit stands for it.
    while !done.get() {
        sim::sleep(Duration::from_millis(10)).await;
    }
    sim::sleep(Duration::from_secs(1)).await;
    assert!(
        config.is_member(ngid),
        "the new controller did not recover group {ngid}'s join: it is not a member of \
         configuration {}",
        config.num
    );
    let ck = ts.make_unrecorded_clerk();
    ts.check_gets(&ck, &keys, &values).await;
}

/// How long the clients of the 5C partition tests put.
pub const RECOVERY_CLERKS_FOR: Duration = Duration::from_secs(60);

/// `TestPartitionRecovery{Reliable,Unreliable}Clerks5C`: five clients put to one key while
/// `rounds` controllers fail and are replaced; the history must be linearizable.
pub async fn recovery_with_clerks(ts: &ShardTester, rounds: usize) {
    let gid1 = ts.setup_kv_service().await;
    let reconfigure = async {
        for _ in 0..rounds {
            ts.partition_ctrler(gid1, &[], &[]).await;
        }
    };
    ts.concurrent_clerks(5, RECOVERY_CLERKS_FOR, reconfigure)
        .await;
}
