//! The graded shardkv suite: the tests of the original `test_test.go` (2024): part 5A (static
//! shards and rejection, with the shard controller), part 5B (shard movement) and the two
//! challenges (deleting shards handed over; serving unaffected and arrived shards during a
//! change), with the same scenarios, sleeps and limits, in virtual time. The challenges are a
//! part of their own (the course's grader shows them apart).
//!
//! Run one part with `cargo test -p shardkv --test shardkv_2024 -- 5a` (or `make shardkv-5a`,
//! `make shardkv-5b`, `make shardkv-challenge`); replay a failure with the command it prints.
//! `LAB_SEEDS=n` runs n seeds, `RUST_LOG=shardkv=debug` shows your log lines.

mod harness_2024;

use harness_2024::scenarios;
use harness_2024::{MakeServer, shard_server};
use labtest::{Options, TestCx};
use std::future::Future;
use std::pin::Pin;

/// A scenario of the suite, run with a shard server maker.
type Scenario = for<'a> fn(&'a TestCx, MakeServer) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs `scenario` with the student's server and the original's limit of 120 s per test
/// (virtual time here).
fn run(scenario: Scenario) {
    labtest::run(Options::default(), move |cx| async move {
        scenario(&cx, shard_server).await
    });
}

// ---------------------------------------------------------------------------------------
// 5A: the controller and static shards

#[test]
fn static_shards_5a() {
    run(|cx, s| Box::pin(scenarios::static_shards(cx, s)));
}

#[test]
fn rejection_5a() {
    run(|cx, s| Box::pin(scenarios::rejection(cx, s)));
}

// ---------------------------------------------------------------------------------------
// 5B: shard movement

#[test]
fn join_leave_5b() {
    run(|cx, s| Box::pin(scenarios::join_leave(cx, s)));
}

#[test]
fn snapshot_5b() {
    run(|cx, s| Box::pin(scenarios::snapshot(cx, s)));
}

#[test]
fn miss_change_5b() {
    run(|cx, s| Box::pin(scenarios::miss_change(cx, s)));
}

#[test]
fn concurrent1_5b() {
    run(|cx, s| Box::pin(scenarios::concurrent1(cx, s)));
}

#[test]
fn concurrent2_5b() {
    run(|cx, s| Box::pin(scenarios::concurrent2(cx, s)));
}

#[test]
fn concurrent3_5b() {
    run(|cx, s| Box::pin(scenarios::concurrent3(cx, s)));
}

/// Shards moved with no clerk running, the receiving group's leader shut down right after it
/// answered a transfer: every server must reach the latest configuration on its own.
#[test]
fn install_then_leader_restart_5x() {
    run(|cx, s| Box::pin(scenarios::install_then_leader_restart(cx, s)));
}

/// A copy of a shard offered for an older configuration (by a server cut off from its group)
/// must not replace the shard a group waits for in a newer one.
#[test]
fn stale_transfer_5x() {
    run(|cx, s| Box::pin(scenarios::stale_transfer(cx, s)));
}

#[test]
fn unreliable1_5b() {
    run(|cx, s| Box::pin(scenarios::unreliable1(cx, s)));
}

#[test]
fn unreliable2_5b() {
    run(|cx, s| Box::pin(scenarios::unreliable2(cx, s)));
}

#[test]
fn unreliable3_5b() {
    run(|cx, s| Box::pin(scenarios::unreliable3(cx, s)));
}

// ---------------------------------------------------------------------------------------
// The challenges

#[test]
fn challenge1_delete() {
    run(|cx, s| Box::pin(scenarios::challenge1_delete(cx, s)));
}

#[test]
fn challenge2_unaffected() {
    run(|cx, s| Box::pin(scenarios::challenge2_unaffected(cx, s)));
}

#[test]
fn challenge2_partial() {
    run(|cx, s| Box::pin(scenarios::challenge2_partial(cx, s)));
}
