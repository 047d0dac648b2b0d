//! The graded memory test of kvsrv, edition 2025 (`TestMemPutManyClientsReliable`): a
//! versioned server needs nothing per clerk. The test counts the bytes the *server's* code
//! allocated and still holds, with a counting allocator that charges every allocation to the
//! simulated node that made it; the limit is the original's.
//!
//! `cargo test -p kvsrv --test mem_2025` (or `make kvsrv-2025` with the other tests).

mod common;
mod harness_2025;

use harness_2025::{Tester, mem_put_many_clients};
use labtest::Options;
use labtest::alloc::NodeCounting;

#[global_allocator]
static ALLOCATOR: NodeCounting = NodeCounting;

/// Clerks in the test, as in the original.
const MANY_CLERKS: usize = 100_000;

/// "Test: memory use many put clients" (the original's `TestMemPutManyClientsReliable`).
#[test]
fn mem_put_many_clients_reliable_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_put_many_clients(&Tester::for_memory(&cx, true), MANY_CLERKS).await
    });
}
