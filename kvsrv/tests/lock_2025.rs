//! The graded lock tests of kvsrv, edition 2025 (the original's `kvsrv1/lock/lock_test.go`):
//! clients take turns in a critical section guarded by the student's `Lock`, on a reliable and
//! an unreliable network. Two clients in the critical section at once, or a client that never
//! gets out of `acquire`, fail the test.
//!
//! `cargo test -p kvsrv --test lock_2025` (or `make kvsrv-2025` with the other tests).

mod common;
mod harness_2025;

use harness_2025::{Tester, lock_clients};
use kvsrv::v2025::Lock;
use labtest::Options;

/// Clients in the many-clients tests, as in the original.
const CLIENTS: usize = 10;

/// "Test: 1 lock clients", reliable network (the original's `TestOneClientReliable`).
#[test]
fn one_client_reliable_2() {
    labtest::run(Options::default(), |cx| async move {
        lock_clients::<Lock>(&Tester::for_locks(&cx, true), 1).await
    });
}

/// "Test: 10 lock clients", reliable network (`TestManyClientsReliable`).
#[test]
fn many_clients_reliable_2() {
    labtest::run(Options::default(), |cx| async move {
        lock_clients::<Lock>(&Tester::for_locks(&cx, true), CLIENTS).await
    });
}

/// "Test: 1 lock clients", unreliable network (`TestOneClientUnreliable`).
#[test]
fn one_client_unreliable_2() {
    labtest::run(Options::default(), |cx| async move {
        lock_clients::<Lock>(&Tester::for_locks(&cx, false), 1).await
    });
}

/// "Test: 10 lock clients", unreliable network (`TestManyClientsUnreliable`).
#[test]
fn many_clients_unreliable_2() {
    labtest::run(Options::default(), |cx| async move {
        lock_clients::<Lock>(&Tester::for_locks(&cx, false), CLIENTS).await
    });
}
