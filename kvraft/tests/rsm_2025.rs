//! The graded rsm suite, edition 2025 (the original's `kvraft1/rsm/rsm_test.go`): part 4A, the
//! replicated state machine on its own, and its snapshot test of part 4C. Three servers on a
//! reliable network run the tester's counter through the student's `Rsm`; the tester submits
//! `Inc`s, `Null`s and (to a leader cut off in a minority) `Dec`s, and reads every server's
//! counter. Limits are the original's, in virtual time.
//!
//! `make kvraft-2025-4a` runs part 4A (`cargo test -p kvraft --test rsm_2025 -- 4a`); replay a
//! failure with the command it prints. `LAB_SEEDS=n` runs n seeds, `RUST_LOG=kvraft=debug`
//! shows your log lines.

mod harness_2025;

use harness_2025::RsmTester;
use labtest::Options;

/// Runs an rsm scenario on the student's rsm with `max_raft_state`.
fn rsm_test<F, Fut>(max_raft_state: Option<usize>, body: F)
where
    F: Fn(RsmTester) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    labtest::run(Options::default(), move |cx| {
        let body = body.clone();
        async move { body(RsmTester::new(&cx, max_raft_state)).await }
    });
}

/// "Test RSM basic": ten `Inc`s, one after another; each returns the count so far, and every
/// server executes each.
#[test]
fn basic_4a() {
    rsm_test(None, |ts| async move { harness_2025::basic(&ts).await });
}

/// "Test concurrent submit": fifty `Inc`s at once; each executed exactly once.
#[test]
fn concurrent_4a() {
    rsm_test(
        None,
        |ts| async move { harness_2025::concurrent(&ts).await },
    );
}

/// "Test Leader Failure": progress after the leader is cut off; it catches up when it returns.
#[test]
fn leader_failure_4a() {
    rsm_test(
        None,
        |ts| async move { harness_2025::leader_failure(&ts).await },
    );
}

/// "Test Leader Partition": a leader cut off in a minority executes nothing, and its
/// submissions stay blocked until the partition heals, then return `WrongLeader` within a
/// second.
#[test]
fn leader_partition_4a() {
    rsm_test(None, |ts| async move {
        harness_2025::leader_partition(&ts).await
    });
}

/// "Test Restart": a hundred `Inc`s, every server shut down and restarted: the restarted rsm
/// replays the persisted log into a fresh state machine.
#[test]
fn restart_replay_4a() {
    rsm_test(
        None,
        |ts| async move { harness_2025::restart_replay(&ts).await },
    );
}

/// "Test Shutdown": a hundred `Null`s in flight when every server shuts down; each returns
/// within `RSM_GIVE_UP` plus a second. Unlike the original, a leader is elected first (one
/// `Null` goes through): 20 ms after the start there is none yet, so no submission would be
/// waiting on Raft at the shutdown, and every seed would run the same schedule.
#[test]
fn shutdown_4a() {
    rsm_test(None, |ts| async move {
        assert!(
            ts.one_null().await.is_some(),
            "no server executed a Null within {:?}: is a leader elected?",
            harness_2025::RSM_GIVE_UP
        );
        harness_2025::shutdown(&ts).await
    });
}

/// "Test Restart and submit": as `restart_replay_4a`, then `Null`s in flight across a
/// shutdown, then a restart: requests submitted before it must not be taken for new ones.
#[test]
fn restart_submit_4a() {
    rsm_test(
        None,
        |ts| async move { harness_2025::restart_submit(&ts).await },
    );
}

/// "Test creating and restoring snapshot" (part 4C): with `max_raft_state` 1000, a hundred
/// `Inc`s leave at most 2000 bytes of Raft state; every server restarts from its snapshot.
#[test]
fn snapshot_4c() {
    rsm_test(Some(harness_2025::MAX_RAFT_STATE), |ts| async move {
        harness_2025::snapshot(&ts).await
    });
}
