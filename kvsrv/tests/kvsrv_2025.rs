//! The graded kvsrv suite, edition 2025 (the original's `kvsrv1/kvsrv_test.go`, without its
//! memory test, which is in `mem_2025.rs`): versioned puts on a reliable and an unreliable
//! network, every history checked by the linearizability checker.
//!
//! `cargo test -p kvsrv --test kvsrv_2025` (or `make kvsrv-2025` with the memory and lock
//! tests); replay a failure with the command it prints; `LAB_SEEDS=n` runs n seeds.

mod common;
mod harness_2025;

use harness_2025::{Tester, put_concurrent, reliable_put, unreliable_net};
use labtest::Options;

/// "One client and reliable Put" (the original's `TestReliablePut`).
#[test]
fn reliable_put_2() {
    labtest::run(Options::default(), |cx| async move {
        reliable_put(&Tester::new(&cx, true)).await
    });
}

/// "Test: many clients racing to put values to the same key" (`TestPutConcurrentReliable`).
#[test]
fn put_concurrent_reliable_2() {
    labtest::run(Options::default(), |cx| async move {
        put_concurrent(&Tester::new(&cx, true)).await
    });
}

/// "One client" on an unreliable network (`TestUnreliableNet`): retried puts and `ErrMaybe`.
#[test]
fn unreliable_net_2() {
    labtest::run(Options::default(), |cx| async move {
        unreliable_net(&Tester::new(&cx, false)).await
    });
}
