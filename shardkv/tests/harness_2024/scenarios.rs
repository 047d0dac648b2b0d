//! The scenarios of the original `test_test.go`, one function per test, each taking the
//! shard server to run (the student's, or a planted bug). Sleeps, counts and limits are the
//! original's, in virtual time.

use super::{
    GIDS, MakeServer, N, TestClerk, Tester, diagnose_writes, keys, random_string, shorten,
};
use labrpc::DeliveryKind;
use labrpc::rand::RngExt;
use labrpc::sim;
use labrpc::sync::mpsc;
use labtest::TestCx;
use labtest::linearizability::models::KvModel;
use shardkv::key2shard;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Waits for answers on `done` until none comes for two seconds (the original's
/// `time.After(2 s)` in a loop): the number that came. An answer carrying a message fails the
/// test with it.
async fn completions_within_two_seconds(
    done: &mut mpsc::UnboundedReceiver<Option<String>>,
) -> usize {
    let mut completed = 0;
    while let Ok(answer) = sim::timeout(Duration::from_secs(2), done.recv()).await {
        match answer {
            Some(None) => completed += 1,
            Some(Some(error)) => panic!("{error}"),
            None => break,
        }
    }
    completed
}

/// What the test wrote to one key, in order: the value put first, then every append. The
/// key must hold their concatenation.
type Writes = Vec<String>;

/// Puts `n` keys with random values of `len` characters; returns the keys and what was
/// written to each.
async fn put_keys(
    cfg: &Tester,
    ck: &TestClerk,
    n: usize,
    len: usize,
) -> (Vec<String>, Vec<Writes>) {
    let ka = keys(n);
    let mut va = Vec::new();
    for key in &ka {
        let value = random_string(len);
        cfg.put(ck, key, &value, None).await;
        va.push(vec![value]);
    }
    (ka, va)
}

/// Checks every key, then appends `len` random characters to it.
async fn check_and_append(
    cfg: &Tester,
    ck: &TestClerk,
    ka: &[String],
    va: &mut [Writes],
    len: usize,
) {
    for (key, writes) in ka.iter().zip(va.iter_mut()) {
        cfg.check_writes(ck, key, writes).await;
        let x = random_string(len);
        cfg.append(ck, key, &x, None).await;
        writes.push(x);
    }
}

/// Checks every key.
async fn check_all(cfg: &Tester, ck: &TestClerk, ka: &[String], va: &[Writes]) {
    for (key, writes) in ka.iter().zip(va) {
        cfg.check_writes(ck, key, writes).await;
    }
}

/// `TestStaticShards5A`: two groups; with one of them down, exactly the Gets of the other's
/// five shards complete.
pub async fn static_shards(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, None, server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    cfg.join(1).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 20).await;
    check_all(&cfg, &ck, &ka, &va).await;
    let va: Vec<String> = va.iter().map(|w| w.concat()).collect();

    // Make sure the data really is sharded: with group 101 down, only about half the Gets
    // complete.
    cfg.shutdown_group(1);
    cfg.checklogs(); // no snapshots
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (key, value) in ka.iter().zip(&va) {
        let ck1 = cfg.make_client(); // one call per clerk
        let (cfg, tx, key, value) = (cfg.clone(), tx.clone(), key.clone(), value.clone());
        sim::spawn(async move {
            let got = cfg.get(&ck1, &key, None).await;
            let _ = tx.send((got != value).then(|| {
                format!(
                    "Get({key:?}): expected:\n{}\nreceived:\n{}",
                    shorten(&value),
                    shorten(&got)
                )
            }));
        });
    }
    let completed = completions_within_two_seconds(&mut rx).await;
    assert!(
        completed == 5,
        "expected 5 completions with one shard dead; got {completed}"
    );

    // Bring the crashed group back to life.
    cfg.start_group(1);
    for (key, value) in ka.iter().zip(&va) {
        cfg.check(&ck, key, value).await;
    }
}

/// `TestRejection5A`: a second controller that knows only group 100 sends every key there;
/// group 100 must answer only for its own five shards and reject the others.
pub async fn rejection(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, None, server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    cfg.join(1).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 20).await;
    check_all(&cfg, &ck, &ka, &va).await;
    let va: Vec<String> = va.iter().map(|w| w.concat()).collect();

    // A separate controller that thinks group 100 is the only group: its clerks go to
    // group 100 for every key, and must be told it is the wrong group for half of them.
    let ctrlers2 = cfg.start_ctrler_service();
    cfg.join_at(&ctrlers2, 0).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (key, value) in ka.iter().zip(&va) {
        let ck1 = cfg.make_client_of(&ctrlers2);
        let (cfg, tx, key, value) = (cfg.clone(), tx.clone(), key.clone(), value.clone());
        sim::spawn(async move {
            let got = cfg.get(&ck1, &key, None).await;
            let error = if got == value {
                None
            } else if got.is_empty() {
                Some(format!(
                    "server should have rejected the request due to wrong shard: Get({key:?}) \
                     (shard {}) returned \"\" from group 100, which does not own that shard",
                    key2shard(&key)
                ))
            } else {
                Some(format!(
                    "Get({key:?}): expected:\n{}\nreceived:\n{}",
                    shorten(&value),
                    shorten(&got)
                ))
            };
            let _ = tx.send(error);
        });
    }
    let completed = completions_within_two_seconds(&mut rx).await;
    assert!(
        completed == 5,
        "expected 5 completions (the keys of group 100's own shards); got {completed}"
    );
}

/// `TestJoinLeave5B`: shards follow a join and a leave; after the leave the old group can go.
pub async fn join_leave(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, None, server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, mut va) = put_keys(&cfg, &ck, 10, 5).await;
    check_all(&cfg, &ck, &ka, &va).await;
    cfg.join(1).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 5).await;
    cfg.leave(0).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 5).await;
    // Allow time for shards to transfer.
    sim::sleep(Duration::from_secs(1)).await;
    cfg.checklogs();
    cfg.shutdown_group(0);
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestSnapshot5B`: joins and leaves with snapshots, then every group restarts from them.
pub async fn snapshot(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, Some(1000), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, mut va) = put_keys(&cfg, &ck, 30, 20).await;
    check_all(&cfg, &ck, &ka, &va).await;
    cfg.join(1).await;
    cfg.join(2).await;
    cfg.leave(0).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 20).await;
    cfg.leave(1).await;
    cfg.join(0).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 20).await;
    sim::sleep(Duration::from_secs(1)).await;
    check_all(&cfg, &ck, &ka, &va).await;
    sim::sleep(Duration::from_secs(1)).await;
    cfg.checklogs();
    for gi in 0..3 {
        cfg.shutdown_group(gi);
    }
    for gi in 0..3 {
        cfg.start_group(gi);
    }
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestMissChange5B`: servers that were down through configuration changes catch up.
pub async fn miss_change(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, Some(1000), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, mut va) = put_keys(&cfg, &ck, 10, 20).await;
    check_all(&cfg, &ck, &ka, &va).await;
    cfg.join(1).await;
    for gi in 0..3 {
        cfg.shutdown_server(gi, 0);
    }
    cfg.join(2).await;
    cfg.leave(1).await;
    cfg.leave(0).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 20).await;
    cfg.join(1).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 20).await;
    for gi in 0..3 {
        cfg.start_server(gi, 0);
    }
    check_and_append(&cfg, &ck, &ka, &mut va, 20).await;
    sim::sleep(Duration::from_secs(2)).await;
    for gi in 0..3 {
        cfg.shutdown_server(gi, 1);
    }
    cfg.join(0).await;
    cfg.leave(2).await;
    check_and_append(&cfg, &ck, &ka, &mut va, 20).await;
    for gi in 0..3 {
        cfg.start_server(gi, 1);
    }
    check_all(&cfg, &ck, &ka, &va).await;
}

/// Starts one clerk per key, each appending `len` random characters to its key until `stop`,
/// pausing `pause` after each append; each returns what it wrote to its key.
fn start_appenders(
    cfg: &Tester,
    ka: &[String],
    va: &[Writes],
    len: usize,
    pause: Option<Duration>,
    stop: &Rc<Cell<bool>>,
) -> Vec<sim::JoinHandle<Writes>> {
    ka.iter()
        .zip(va)
        .map(|(key, writes)| {
            let (cfg, stop, key, mut writes) =
                (cfg.clone(), stop.clone(), key.clone(), writes.clone());
            let ck1 = cfg.make_client();
            sim::spawn(async move {
                while !stop.get() {
                    let x = random_string(len);
                    cfg.append(&ck1, &key, &x, None).await;
                    writes.push(x);
                    if let Some(pause) = pause {
                        sim::sleep(pause).await;
                    }
                }
                cfg.delete_client(ck1);
                writes
            })
        })
        .collect()
}

/// Stops the appenders, waits for them, and returns what they wrote.
async fn stop_appenders(stop: &Cell<bool>, appenders: Vec<sim::JoinHandle<Writes>>) -> Vec<Writes> {
    stop.set(true);
    let mut writes = Vec::new();
    for appender in appenders {
        writes.push(appender.await.expect("the test node never crashes"));
    }
    writes
}

/// `TestConcurrent1_5B`: clients append while groups join, leave, shut down and restart.
pub async fn concurrent1(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, Some(100), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 5).await;
    let stop = Rc::new(Cell::new(false));
    let appenders = start_appenders(&cfg, &ka, &va, 5, Some(ms(10)), &stop);

    sim::sleep(ms(150)).await;
    cfg.join(1).await;
    sim::sleep(ms(500)).await;
    cfg.join(2).await;
    sim::sleep(ms(500)).await;
    cfg.leave(0).await;

    cfg.shutdown_group(0);
    sim::sleep(ms(100)).await;
    cfg.shutdown_group(1);
    sim::sleep(ms(100)).await;
    cfg.shutdown_group(2);

    cfg.leave(2).await;

    sim::sleep(ms(100)).await;
    cfg.start_group(0);
    cfg.start_group(1);
    cfg.start_group(2);

    sim::sleep(ms(100)).await;
    cfg.join(0).await;
    cfg.leave(1).await;
    sim::sleep(ms(500)).await;
    cfg.join(1).await;

    sim::sleep(Duration::from_secs(1)).await;
    let va = stop_appenders(&stop, appenders).await;
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestConcurrent2_5B`: the various sources from which a restarting group might need to
/// fetch shard contents.
pub async fn concurrent2(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, None, server);
    let ck = cfg.make_client();
    cfg.join(1).await;
    cfg.join(0).await;
    cfg.join(2).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 1).await;
    let stop = Rc::new(Cell::new(false));
    let appenders = start_appenders(&cfg, &ka, &va, 1, Some(ms(50)), &stop);

    cfg.leave(0).await;
    cfg.leave(2).await;
    sim::sleep(ms(3000)).await;
    cfg.join(0).await;
    cfg.join(2).await;
    cfg.leave(1).await;
    sim::sleep(ms(3000)).await;
    cfg.join(1).await;
    cfg.leave(0).await;
    cfg.leave(2).await;
    sim::sleep(ms(3000)).await;

    cfg.shutdown_group(1);
    cfg.shutdown_group(2);
    sim::sleep(ms(1000)).await;
    cfg.start_group(1);
    cfg.start_group(2);

    sim::sleep(Duration::from_secs(2)).await;
    let va = stop_appenders(&stop, appenders).await;
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestConcurrent3_5B`: for 12 s, groups join, every group restarts, and groups leave, at
/// random moments, while clients append without pause.
pub async fn concurrent3(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, Some(300), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 1).await;
    let stop = Rc::new(Cell::new(false));
    let appenders = start_appenders(&cfg, &ka, &va, 1, None, &stop);

    let random_pause = || ms(sim::rng().random_range(0..900));
    let t0 = sim::now();
    while t0.elapsed() < Duration::from_secs(12) {
        cfg.join(2).await;
        cfg.join(1).await;
        sim::sleep(random_pause()).await;
        for gi in 0..3 {
            cfg.shutdown_group(gi);
        }
        for gi in 0..3 {
            cfg.start_group(gi);
        }
        sim::sleep(random_pause()).await;
        cfg.leave(1).await;
        cfg.leave(2).await;
        sim::sleep(random_pause()).await;
    }

    sim::sleep(Duration::from_secs(2)).await;
    let va = stop_appenders(&stop, appenders).await;
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestUnreliable1_5B`: checks and appends on an unreliable network while shards move.
pub async fn unreliable1(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, true, Some(100), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, mut va) = put_keys(&cfg, &ck, 10, 5).await;
    cfg.join(1).await;
    cfg.join(2).await;
    cfg.leave(0).await;
    for ii in 0..ka.len() * 2 {
        let i = ii % ka.len();
        cfg.check_writes(&ck, &ka[i], &va[i]).await;
        let x = random_string(5);
        cfg.append(&ck, &ka[i], &x, None).await;
        va[i].push(x);
    }
    cfg.join(0).await;
    cfg.leave(1).await;
    for ii in 0..ka.len() * 2 {
        let i = ii % ka.len();
        cfg.check_writes(&ck, &ka[i], &va[i]).await;
    }
}

/// The configuration changes of `TestUnreliable2` and `TestUnreliable3`, about half a second
/// apart, then two seconds.
async fn unreliable_changes(cfg: &Tester) {
    sim::sleep(ms(150)).await;
    cfg.join(1).await;
    sim::sleep(ms(500)).await;
    cfg.join(2).await;
    sim::sleep(ms(500)).await;
    cfg.leave(0).await;
    sim::sleep(ms(500)).await;
    cfg.leave(1).await;
    sim::sleep(ms(500)).await;
    cfg.join(1).await;
    cfg.join(0).await;
    sim::sleep(Duration::from_secs(2)).await;
}

/// `TestUnreliable2_5B`: clients append without pause on an unreliable network while groups
/// join and leave.
pub async fn unreliable2(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, true, Some(100), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 5).await;
    let stop = Rc::new(Cell::new(false));
    let appenders = start_appenders(&cfg, &ka, &va, 5, None, &stop);
    unreliable_changes(&cfg).await;
    stop.set(true);
    cfg.set_reliable(true);
    let va = stop_appenders(&stop, appenders).await;
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestUnreliable3_5B`: clients do random operations on random keys on an unreliable network
/// while groups join and leave; the whole history must be linearizable.
pub async fn unreliable3(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, true, Some(100), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    let n = 10;
    let ka = keys(n);
    for key in &ka {
        cfg.put(&ck, key, &random_string(5), Some(n as u64)).await;
    }
    let stop = Rc::new(Cell::new(false));
    let clients: Vec<_> = (0..n)
        .map(|client| {
            let (cfg, stop, ka) = (cfg.clone(), stop.clone(), ka.clone());
            let ck1 = cfg.make_client();
            sim::spawn(async move {
                let me = Some(client as u64);
                while !stop.get() {
                    let key = &ka[sim::rng().random_range(0..n)];
                    let value = random_string(5);
                    if sim::rng().random_range(0..1000) < 500 {
                        cfg.append(&ck1, key, &value, me).await;
                    } else if sim::rng().random_range(0..1000) < 100 {
                        cfg.put(&ck1, key, &value, me).await;
                    } else {
                        cfg.get(&ck1, key, me).await;
                    }
                }
                cfg.delete_client(ck1);
            })
        })
        .collect();
    unreliable_changes(&cfg).await;
    stop.set(true);
    cfg.set_reliable(true);
    for client in clients {
        client.await.expect("the test node never crashes");
    }
    cfg.op_log().check_linearizable(&KvModel);
}

/// `TestChallenge1Delete`: groups must delete the shards they hand over: after the moves,
/// the persisted state of all nine servers stays under what their own shards need.
pub async fn challenge1_delete(cx: &TestCx, server: MakeServer) {
    // `Some(1)`: snapshot after every log entry.
    let cfg = Tester::with_servers(cx, false, Some(1), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    // 30,000 bytes of values.
    let n = 30;
    let (ka, va) = put_keys(&cfg, &ck, n, 1000).await;
    check_all(&cfg, &ck, &ka[..3], &va[..3]).await;
    for _ in 0..2 {
        cfg.join(1).await;
        cfg.leave(0).await;
        cfg.join(2).await;
        sim::sleep(Duration::from_secs(3)).await;
        check_all(&cfg, &ck, &ka[..3], &va[..3]).await;
        cfg.leave(1).await;
        cfg.join(0).await;
        cfg.leave(2).await;
        sim::sleep(Duration::from_secs(3)).await;
        check_all(&cfg, &ck, &ka[..3], &va[..3]).await;
    }
    cfg.join(1).await;
    cfg.join(2).await;
    for _ in 0..3 {
        sim::sleep(Duration::from_secs(1)).await;
        check_all(&cfg, &ck, &ka[..3], &va[..3]).await;
    }

    let total = cfg.total_persisted_size();
    log::info!("challenge1_delete: {total} bytes persisted");
    // 27 keys stored once, 3 keys perhaps also in duplicate tables, everything on 3
    // replicas, plus slop (the original's bound).
    let expected = 3 * ((n - 3) * 1000 + 2 * 3 * 1000 + 6000);
    assert!(
        total <= expected,
        "snapshot + persisted Raft state are too big: {total} > {expected}: does every group \
         delete the shards it handed over?"
    );
    check_all(&cfg, &ck, &ka, &va).await;
}

/// `TestChallenge2Unaffected`: while group 101 waits for shards from group 100, which is
/// down, it must keep serving the shards it already had.
pub async fn challenge2_unaffected(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, true, Some(100), server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    // Puts to keys in every shard.
    let ka = keys(10);
    let mut va = vec!["100".to_string(); ka.len()];
    for (key, value) in ka.iter().zip(&va) {
        cfg.put(&ck, key, value, None).await;
    }
    cfg.join(1).await;
    // The shards group 101 owns now.
    let config = cfg.query().await;
    let owned = |key: &str| config.shards[key2shard(key)] == super::GIDS[1];
    // Wait for the migration to finish and clients to use the new configuration: keys of
    // those shards are now served by group 101.
    sim::sleep(Duration::from_secs(1)).await;
    for (key, value) in ka.iter().zip(va.iter_mut()) {
        if owned(key) {
            *value = "101".to_string();
            cfg.put(&ck, key, value, None).await;
        }
    }
    // Group 100 goes down, then leaves: 101 cannot get 100's shards.
    cfg.shutdown_group(0);
    cfg.leave(0).await;
    // Wait for clients to see the new configuration.
    sim::sleep(Duration::from_secs(1)).await;
    // Operations on the keys of 101's own shards still complete.
    for (key, value) in ka.iter().zip(&va) {
        if owned(key) {
            let what = format!(
                "operations on key {key:?} (shard {}, which group 101 served before the change) \
                 did not complete: a group must keep serving the shards a configuration change \
                 does not move, while it waits for the others (challenge 2)",
                key2shard(key)
            );
            let new = format!("{value}-1");
            let ops = async {
                cfg.check(&ck, key, value).await;
                cfg.put(&ck, key, &new, None).await;
                cfg.check(&ck, key, &new).await;
            };
            cfg.before_time_limit(ops, &what).await;
        }
    }
}

/// `TestChallenge2Partial`: group 101 gets shards from groups 100 (down) and 102; it must
/// serve 102's as soon as they arrive.
pub async fn challenge2_partial(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, true, Some(100), server);
    let ck = cfg.make_client();
    cfg.joinm(&[0, 1, 2]).await;
    // Give the implementation some time to reconfigure.
    sim::sleep(Duration::from_secs(1)).await;
    let ka = keys(10);
    let va = vec!["100".to_string(); ka.len()];
    for (key, value) in ka.iter().zip(&va) {
        cfg.put(&ck, key, value, None).await;
    }
    // The shards group 102 owns.
    let config = cfg.query().await;
    let owned = |key: &str| config.shards[key2shard(key)] == super::GIDS[2];
    cfg.shutdown_group(0);
    // 101 can get 102's old shards, but not 100's; it should serve 102's as soon as it can.
    cfg.leavem(&[0, 2]).await;
    // Time to start the reconfiguration and move 102's shards to 101.
    sim::sleep(Duration::from_secs(1)).await;
    for (key, value) in ka.iter().zip(&va) {
        if owned(key) {
            let what = format!(
                "operations on key {key:?} (shard {}, moving from group 102 to group 101) did not \
                 complete: a group must serve a shard as soon as it arrives, not once every \
                 shard of the change has (challenge 2)",
                key2shard(key)
            );
            let new = format!("{value}-2");
            let ops = async {
                cfg.check(&ck, key, value).await;
                cfg.put(&ck, key, &new, None).await;
                cfg.check(&ck, key, &new).await;
            };
            cfg.before_time_limit(ops, &what).await;
        }
    }
}

/// Waits (10 s at most) for a call between two groups' servers recorded in the tester's
/// `cross` list that `pick` accepts; returns what `pick` made of it.
async fn wait_cross<T>(
    cfg: &Tester,
    mut pick: impl FnMut(DeliveryKind, (usize, usize), (usize, usize)) -> Option<T>,
) -> Option<T> {
    let notify = cfg.seen().borrow().cross_notify.clone();
    let deadline = sim::now() + Duration::from_secs(10);
    while sim::now() < deadline {
        let events = cfg
            .seen()
            .borrow_mut()
            .cross
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for (kind, from, to) in events {
            if let (Some(from), Some(to)) = (cfg.server_of(from), cfg.server_of(to))
                && let Some(found) = pick(kind, from, to)
            {
                return Some(found);
            }
        }
        let left = deadline.saturating_duration_since(sim::now());
        let _ = sim::timeout(left, notify.notified()).await;
    }
    None
}

/// Shards move with no clerk running, six times (group 102 joins, leaves, joins...); each time
/// the receiving group's leader is shut down the moment its answer to a transfer reaches the
/// sending group (having applied the configuration), and started again a second later. Every
/// server must then reach the latest configuration before any clerk calls: an install that
/// only the old leader knew committed must be applied by the next leader on its own.
pub async fn install_then_leader_restart(cx: &TestCx, server: MakeServer) {
    const ROUNDS: usize = 6;
    let cfg = Tester::with_servers(cx, false, None, server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    cfg.join(1).await;
    let (ka, va) = put_keys(&cfg, &ck, 10, 5).await;
    let settle = Duration::from_secs(15);
    let latest = cfg.query().await.num;
    cfg.wait_configs(
        &[0, 1, 2],
        latest,
        settle,
        "after groups 100 and 101 joined",
    )
    .await;
    let mut restarted: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        cfg.seen().borrow_mut().cross = Some(Vec::new());
        let receivers: &[usize] = if round % 2 == 0 {
            cfg.join(2).await;
            &[2]
        } else {
            cfg.leave(2).await;
            &[0, 1]
        };
        let latest = cfg.query().await.num;
        let victim = wait_cross(&cfg, |kind, from, _| {
            (kind == DeliveryKind::Reply
                && receivers.contains(&from.0)
                && cfg.leads(from.0, from.1)
                && cfg.config_num(from.0, from.1).is_none_or(|c| c >= latest))
            .then_some(from)
        })
        .await;
        cfg.seen().borrow_mut().cross = None;
        if let Some((gi, i)) = victim {
            restarted.push(format!("server {i} of group {} in round {round}", GIDS[gi]));
            cfg.shutdown_server(gi, i);
            sim::sleep(Duration::from_millis(sim::rng().random_range(500..1500))).await;
            cfg.start_server(gi, i);
        }
        cfg.wait_configs(
            &[0, 1, 2],
            latest,
            settle,
            &format!(
                "round {round}: shards moved with no clerk running, and each time the \
                 receiving group's leader was shut down right after it answered a transfer \
                 (and started again a second later: {})",
                restarted.join(", ")
            ),
        )
        .await;
    }
    check_all(&cfg, &ck, &ka, &va).await;
}

/// A transfer sent for an older configuration must not be installed. A shard moves from group
/// 100 to 101, and the group-100 server sending it is cut off from its group at its first call
/// (it keeps believing it leads, and keeps offering that configuration's copy); the shard
/// comes back to 100, then goes to 101 again while 100's other servers cannot reach anyone
/// (101 waits for it). The value written in between must survive.
pub async fn stale_transfer(cx: &TestCx, server: MakeServer) {
    let cfg = Tester::with_servers(cx, false, None, server);
    let ck = cfg.make_client();
    cfg.join(0).await;
    cfg.join(1).await;
    let settle = Duration::from_secs(15);
    let joined = cfg.query().await;
    cfg.wait_configs(
        &[0, 1],
        joined.num,
        settle,
        "after groups 100 and 101 joined",
    )
    .await;
    let mine = joined.shards_of(GIDS[0]);
    let shard = mine[sim::rng().random_range(0..mine.len())];
    let key = (0..)
        .map(|i| format!("{i}s"))
        .find(|k| key2shard(k) == shard)
        .expect("some key lands in every shard");
    let mut writes = vec![random_string(5)];
    cfg.put(&ck, &key, &writes[0], None).await;

    // To 101; the group-100 server of the first call between the groups is cut off.
    cfg.seen().borrow_mut().cross = Some(Vec::new());
    cfg.move_shard(shard, 1).await;
    let sender = wait_cross(&cfg, |_, a, b| {
        if a.0 == 0 && b.0 == 1 {
            Some(a.1)
        } else if b.0 == 0 && a.0 == 1 {
            Some(b.1)
        } else {
            None
        }
    })
    .await
    .expect("no call between groups 100 and 101 within 10 s of moving a shard between them");
    cfg.seen().borrow_mut().cross = None;
    let others: Vec<usize> = (0..N).filter(|&i| i != sender).collect();
    cfg.partition_group(0, &[&[sender], &others]);
    let all: Vec<usize> = (0..N).collect();
    let servers =
        |gi: usize, is: &[usize]| -> Vec<(usize, usize)> { is.iter().map(|&i| (gi, i)).collect() };
    let mut both = servers(0, &others);
    both.extend(servers(1, &all));
    let to_101 = joined.num + 1;
    cfg.wait_servers(&both, to_101, settle, "moving a shard to group 101")
        .await;
    let x = random_string(5);
    cfg.append(&ck, &key, &x, None).await;
    writes.push(x);

    // Back to 100 (its majority), where it takes another write.
    cfg.move_shard(shard, 0).await;
    cfg.wait_servers(
        &both,
        to_101 + 1,
        settle,
        "moving the shard back to group 100",
    )
    .await;
    let x = random_string(5);
    cfg.append(&ck, &key, &x, None).await;
    writes.push(x);

    // To 101 again, while 100's majority cannot send it: 101 waits for the shard, and the
    // cut-off server still offers its copy of two configurations ago.
    for &i in &others {
        cfg.set_outgoing(0, i, false);
    }
    cfg.move_shard(shard, 1).await;
    cfg.wait_servers(
        &servers(1, &all),
        to_101 + 2,
        settle,
        "moving the shard to group 101 again",
    )
    .await;
    sim::sleep(Duration::from_secs(3)).await;
    for &i in &others {
        cfg.set_outgoing(0, i, true);
    }
    // Until 100's majority has the configuration, it may still answer for the shard.
    cfg.wait_servers(
        &both,
        to_101 + 2,
        settle,
        "moving the shard to group 101 again",
    )
    .await;
    let got = cfg.get(&ck, &key, None).await;
    let wanted = writes.concat();
    assert!(
        got == wanted,
        "Get({key:?}) after shard {shard} moved 100 -> 101 -> 100 -> 101: expected {}, got {}: \
         {}. Server {sender} of group 100, cut off from its group while it sent the shard in \
         configuration {to_101}, kept offering that copy: a group must install only shards sent \
         for the configuration it is in (fence transfers by configuration number)",
        shorten(&wanted),
        shorten(&got),
        diagnose_writes(&writes, &got)
    );
    cfg.connect_group(0);
}
