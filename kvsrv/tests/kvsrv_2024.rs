//! The graded kvsrv suite, edition 2024 (the original's `test_test.go`, without its memory
//! tests, which are in `mem_2024.rs`): clients appending and reading on a reliable and an
//! unreliable network, every history checked by the linearizability checker.
//!
//! `cargo test -p kvsrv --test kvsrv_2024` (or `make kvsrv-2024` for both files); replay a
//! failure with the command it prints; `LAB_SEEDS=n` runs n seeds.

mod common;
mod harness_2024;

use harness_2024::{Tester, generic_test, one_key_appends};
use labtest::Options;

/// "Test: one client": one client appends and reads its key, reliable network.
#[test]
fn basic_2() {
    labtest::run(Options::default(), |cx| async move {
        generic_test(&Tester::new(&cx, true), 1).await
    });
}

/// "Test: many clients": five clients, each on its own key, reliable network.
#[test]
fn concurrent_2() {
    labtest::run(Options::default(), |cx| async move {
        generic_test(&Tester::new(&cx, true), 5).await
    });
}

/// "Test: unreliable net, many clients": five clients; the network loses requests and
/// replies, so clerks resend, and the server must apply each put and append once.
#[test]
fn unreliable_2() {
    labtest::run(Options::default(), |cx| async move {
        generic_test(&Tester::new(&cx, false), 5).await
    });
}

/// "Test: concurrent append to same key, unreliable": five clients append to one key.
#[test]
fn unreliable_one_key_2() {
    labtest::run(Options::default(), |cx| async move {
        one_key_appends(&Tester::new(&cx, false)).await
    });
}
