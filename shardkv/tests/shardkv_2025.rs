//! The graded shardkv suite, edition 2025 (the original's `shardkv1/shardkv_test.go`): shard
//! groups on the student's rsm and Raft, moved by the student's controller, which keeps its
//! configurations in the student's Lab 2 server. Part 5A (14 tests): moving shards; 5B (2): a
//! controller that fails halfway; 5C (7): controllers at once, cut off and back. Same
//! scenarios, groups, clients, network settings and limits as the original, in virtual time;
//! the histories of the concurrent-clerk tests are checked for linearizability, and an
//! undecided check fails (the original passes it).
//!
//! `make shardkv-2025-5a` runs part 5A (`cargo test -p shardkv --test shardkv_2025 -- 5a`);
//! replay a failure with the command it prints. `LAB_SEEDS=n` runs n seeds,
//! `RUST_LOG=shardkv=debug` shows your log lines.

mod harness_2025;

use harness_2025::scenarios::{self, DELETE_MAX_RAFT_STATE};
use harness_2025::{ShardTester, Spec};
use labtest::Options;

/// Runs `body` on a fresh tester with `spec`.
fn run<F, Fut>(spec: Spec, body: F)
where
    F: Fn(ShardTester) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    labtest::run(Options::default(), move |cx| {
        let body = body.clone();
        async move { body(ShardTester::new(&cx, spec)).await }
    });
}

const RELIABLE: Spec = Spec::new();
const UNRELIABLE: Spec = Spec::new().unreliable();

// ---------------------------------------------------------------------------------------
// 5A: moving shards

/// "Init and Query": the first configuration, through Lab 2's server.
#[test]
fn init_query_5a() {
    run(
        RELIABLE,
        |ts| async move { scenarios::init_query(&ts).await },
    );
}

/// "one shard group": every key on one group, before and after its leader fails.
#[test]
fn static_one_shard_group_5a() {
    run(RELIABLE, |ts| async move {
        scenarios::static_one_shard_group(&ts).await
    });
}

/// "a group joins": half the shards move.
#[test]
fn join_basic_5a() {
    run(
        RELIABLE,
        |ts| async move { scenarios::join_basic(&ts).await },
    );
}

/// "delete": the group that hands shards over deletes them.
#[test]
fn delete_basic_5a() {
    let spec = Spec {
        max_raft_state: Some(DELETE_MAX_RAFT_STATE),
        ..RELIABLE
    };
    run(spec, |ts| async move { scenarios::delete_basic(&ts).await });
}

/// "basic groups join/leave": the first group leaves and comes back.
#[test]
fn join_leave_basic_5a() {
    run(RELIABLE, |ts| async move {
        scenarios::join_leave_basic(&ts).await
    });
}

/// "many groups join/leave", reliable.
#[test]
fn many_join_leave_reliable_5a() {
    run(RELIABLE, |ts| async move {
        scenarios::many_join_leave(&ts).await
    });
}

/// "many groups join/leave", unreliable (the configuration store too).
#[test]
fn many_join_leave_unreliable_5a() {
    run(UNRELIABLE, |ts| async move {
        scenarios::many_join_leave(&ts).await
    });
}

/// "shutdown": every group restarts from its persisted state.
#[test]
fn shutdown_5a() {
    run(RELIABLE, |ts| async move { scenarios::shutdown(&ts).await });
}

/// "progress": live groups serve while others are down.
#[test]
fn progress_shutdown_5a() {
    run(RELIABLE, |ts| async move {
        scenarios::progress_shutdown(&ts).await
    });
}

/// "progress": shards that do not move are served during reconfigurations.
#[test]
fn progress_join_5a() {
    run(
        RELIABLE,
        |ts| async move { scenarios::progress_join(&ts).await },
    );
}

/// "one concurrent clerk reliable".
#[test]
fn one_concurrent_clerk_reliable_5a() {
    run(RELIABLE, |ts| async move {
        scenarios::concurrent_clerks(&ts, 1).await
    });
}

/// "many concurrent clerks reliable".
#[test]
fn many_concurrent_clerk_reliable_5a() {
    run(RELIABLE, |ts| async move {
        scenarios::concurrent_clerks(&ts, 10).await
    });
}

/// "one concurrent clerk unreliable".
#[test]
fn one_concurrent_clerk_unreliable_5a() {
    run(UNRELIABLE, |ts| async move {
        scenarios::concurrent_clerks(&ts, 1).await
    });
}

/// "many concurrent clerks unreliable".
#[test]
fn many_concurrent_clerk_unreliable_5a() {
    run(UNRELIABLE, |ts| async move {
        scenarios::concurrent_clerks(&ts, 10).await
    });
}

// ---------------------------------------------------------------------------------------
// 5B: a controller that fails halfway

/// "Join/leave while a shardgrp is down".
#[test]
fn join_leave_5b() {
    run(RELIABLE, |ts| async move {
        scenarios::join_leave_down(&ts).await
    });
}

/// "recover controller": five controllers cut off halfway through a change.
#[test]
fn recover_ctrler_5b() {
    run(RELIABLE, |ts| async move {
        scenarios::recover_ctrler(&ts, 5).await
    });
}

// ---------------------------------------------------------------------------------------
// 5C: controllers at once

/// "Concurrent ctrlers", reliable.
#[test]
fn concurrent_reliable_5c() {
    run(RELIABLE.partitions(), |ts| async move {
        scenarios::concurrent_ctrlers(&ts).await
    });
}

/// "Concurrent ctrlers", unreliable (the original's name).
#[test]
fn acquire_lock_concurrent_unreliable_5c() {
    run(UNRELIABLE.partitions(), |ts| async move {
        scenarios::concurrent_ctrlers(&ts).await
    });
}

/// "partition controller in join".
#[test]
fn partition_controller_join_5c() {
    run(RELIABLE.partitions(), |ts| async move {
        scenarios::partition_controller_join(&ts).await
    });
}

/// "controllers with leased leadership", reliable, five rounds.
#[test]
fn partition_recovery_reliable_no_clerk_5c() {
    run(RELIABLE.partitions(), |ts| async move {
        scenarios::recover_ctrler(&ts, 5).await
    });
}

/// The same, unreliable, three rounds.
#[test]
fn partition_recovery_unreliable_no_clerk_5c() {
    run(UNRELIABLE.partitions(), |ts| async move {
        scenarios::recover_ctrler(&ts, 3).await
    });
}

/// The same with five clients putting for a minute, reliable, five rounds.
#[test]
fn partition_recovery_reliable_clerks_5c() {
    run(RELIABLE.partitions(), |ts| async move {
        scenarios::recovery_with_clerks(&ts, 5).await
    });
}

/// The same, unreliable, three rounds.
#[test]
fn partition_recovery_unreliable_clerks_5c() {
    run(UNRELIABLE.partitions(), |ts| async move {
        scenarios::recovery_with_clerks(&ts, 3).await
    });
}
