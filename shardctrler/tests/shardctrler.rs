//! The graded shardctrler suite (part 5A): the original `test_test.go`'s `TestBasic` and
//! `TestMulti`, one test per subtest, and `TestMinimalAgain`, with the same steps and checks,
//! in virtual time.
//!
//! The original's subtests run one after the other on one cluster, each starting from the
//! state the previous one left. Here each subtest is a test of its own that replays the steps
//! before it (checks included) and then its own: `basic_move` runs leave/join, historical
//! queries, then move. Run them with `cargo test -p shardctrler` (or `make shardctrler`);
//! replay a failure with the command it prints.

mod harness;

use harness::{Basic, Multi, NSERVERS, Tester};
use labtest::Options;

/// Runs `TestBasic`'s steps up to `last` on a fresh controller, with the original's limit of
/// 120 s per test (virtual time here).
fn basic(last: Basic) {
    labtest::run(Options::default(), move |cx| async move {
        harness::basic(&Tester::new(&cx, NSERVERS), last).await
    });
}

/// Runs `TestMulti`'s steps up to `last` on a fresh controller.
fn multi(last: Multi) {
    labtest::run(Options::default(), move |cx| async move {
        harness::multi(&Tester::new(&cx, NSERVERS), last).await
    });
}

#[test]
fn basic_leave_join() {
    basic(Basic::LeaveJoin);
}

#[test]
fn basic_historical_queries() {
    basic(Basic::HistoricalQueries);
}

#[test]
fn basic_move() {
    basic(Basic::Move);
}

#[test]
fn basic_concurrent_leave_join() {
    basic(Basic::ConcurrentLeaveJoin);
}

#[test]
fn basic_minimal_transfer() {
    basic(Basic::MinimalTransfer);
}

#[test]
fn basic_minimal_transfer_after_leave() {
    basic(Basic::MinimalTransferAfterLeave);
}

#[test]
fn minimal_again() {
    labtest::run(Options::default(), |cx| async move {
        harness::minimal_again(&Tester::new(&cx, NSERVERS)).await
    });
}

#[test]
fn multi_leave_join() {
    multi(Multi::LeaveJoin);
}

#[test]
fn multi_concurrent_leave_join() {
    multi(Multi::ConcurrentLeaveJoin);
}

#[test]
fn multi_minimal_transfer() {
    multi(Multi::MinimalTransfer);
}

#[test]
fn multi_minimal_transfer_after_leave() {
    multi(Multi::MinimalTransferAfterLeave);
}

#[test]
fn multi_agree_config() {
    multi(Multi::AgreeConfig);
}

#[test]
fn minimal_every_change() {
    labtest::run(Options::default(), |cx| async move {
        harness::minimal_every_change(&Tester::new(&cx, NSERVERS)).await
    });
}
