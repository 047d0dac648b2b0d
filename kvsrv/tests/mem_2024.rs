//! The graded memory tests of kvsrv, edition 2024: the server must not keep what it no longer
//! needs. Each test counts the bytes the *server's* code allocated and still holds (its
//! handlers, argument decoding included), with a counting allocator that charges every
//! allocation to the simulated node that made it; the limits are the original's.
//!
//! `cargo test -p kvsrv --test mem_2024` (or `make kvsrv-2024` with the other tests).

mod common;
mod harness_2024;

use harness_2024::{
    Tester, mem_append, mem_get, mem_get_many_clients, mem_many_appends, mem_put,
    mem_put_many_clients,
};
use labtest::Options;
use labtest::alloc::NodeCounting;

#[global_allocator]
static ALLOCATOR: NodeCounting = NodeCounting;

/// Clerks in the many-clients tests, as in the original.
const MANY_CLERKS: usize = 100_000;

/// "Test: memory use get" (unreliable network, as the original).
#[test]
fn mem_get_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_get(&Tester::for_memory(&cx, false)).await
    });
}

/// "Test: memory use put".
#[test]
fn mem_put_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_put(&Tester::for_memory(&cx, true)).await
    });
}

/// "Test: memory use append".
#[test]
fn mem_append_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_append(&Tester::for_memory(&cx, true)).await
    });
}

/// "Test: memory use many put clients" (the original's `TestMemPutManyClients`).
#[test]
fn mem_put_many_clients_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_put_many_clients(&Tester::for_memory(&cx, true), MANY_CLERKS).await
    });
}

/// "Test: memory use many get client" (the original's `TestMemGetManyClients`).
#[test]
fn mem_get_many_clients_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_get_many_clients(&Tester::for_memory(&cx, true), MANY_CLERKS).await
    });
}

/// "Test: memory use many appends" (the original's `TestMemManyAppends`).
#[test]
fn mem_many_appends_2() {
    labtest::run(Options::default(), |cx| async move {
        mem_many_appends(&Tester::for_memory(&cx, true)).await
    });
}
