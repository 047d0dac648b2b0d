//! Tests of the edition-2024 tester itself: broken servers must fail the graded scenarios,
//! with a message that says what went wrong. (Not graded; the broken servers are built from
//! the kit's own server, so the student skeleton keeps this file empty.)

// BEGIN SOLUTION
mod common;
mod harness_2024;

use harness_2024::{Tester, generic_test, mem_get, mem_many_appends, one_key_appends};
use kvsrv::v2024::{Append, Get, GetArgs, GetReply, KvServer, Put, PutAppendArgs, PutAppendReply};
use labrpc::Service;
use labtest::Options;
use labtest::alloc::NodeCounting;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[global_allocator]
static ALLOCATOR: NodeCounting = NodeCounting;

/// A server without duplicate detection: it applies every copy of a request it receives.
fn forgetful_server() -> Service {
    let data: Rc<RefCell<BTreeMap<String, String>>> = Rc::default();
    let (get, put, append) = (data.clone(), data.clone(), data);
    Service::new()
        .handle(Get, move |args: GetArgs| {
            let value = get.borrow().get(&args.key).cloned().unwrap_or_default();
            async move { GetReply { value } }
        })
        .handle(Put, move |args: PutAppendArgs| {
            put.borrow_mut().insert(args.key, args.value);
            async { PutAppendReply::default() }
        })
        .handle(Append, move |args: PutAppendArgs| {
            let mut data = append.borrow_mut();
            let value = data.entry(args.key).or_default();
            let old = value.clone();
            value.push_str(&args.value);
            async move { PutAppendReply { value: old } }
        })
}

/// The reference server, but every reply of the handlers in `keep` is also stored forever.
fn hoarding_server(keep_gets: bool, keep_appends: bool) -> Service {
    let server = KvServer::new();
    let kept: Rc<RefCell<Vec<String>>> = Rc::default();
    let (get, put, append) = (server.clone(), server.clone(), server);
    let (kept_get, kept_append) = (kept.clone(), kept);
    Service::new()
        .handle(Get, move |args| {
            let reply = get.get(args);
            if keep_gets {
                kept_get.borrow_mut().push(reply.value.clone());
            }
            async { reply }
        })
        .handle(Put, move |args| {
            let reply = put.put(args);
            async { reply }
        })
        .handle(Append, move |args| {
            let reply = append.append(args);
            if keep_appends {
                kept_append.borrow_mut().push(reply.value.clone());
            }
            async { reply }
        })
}

/// The reference server, but each append replies with the old value of the clerk's previous
/// append (a reply cache consulted for new requests too): every value stays right, only the
/// returned old values are stale.
fn stale_append_server() -> Service {
    let server = KvServer::new();
    let previous: Rc<RefCell<BTreeMap<u64, String>>> = Rc::default();
    let (get, put, append) = (server.clone(), server.clone(), server);
    Service::new()
        .handle(Get, move |args| {
            let reply = get.get(args);
            async { reply }
        })
        .handle(Put, move |args| {
            let reply = put.put(args);
            async { reply }
        })
        .handle(Append, move |args: PutAppendArgs| {
            let clerk = args.clerk;
            let reply = append.append(args);
            let stale = previous
                .borrow_mut()
                .insert(clerk, reply.value)
                .unwrap_or_default();
            async { PutAppendReply { value: stale } }
        })
}

#[test]
fn a_server_without_duplicate_detection_fails_unreliable_2() {
    let failed = labtest::must_fail(|cx| async move {
        generic_test(&Tester::with_server(&cx, false, forgetful_server), 5).await
    });
    failed.assert_mentions(&[
        "applied twice",
        "append(",
        "LAB_SEED=1 LAB_SEEDS=1 cargo test",
    ]);
}

#[test]
fn a_server_that_keeps_get_replies_fails_mem_get_2() {
    let failed = labtest::must_fail(|cx| async move {
        mem_get(&Tester::for_memory_with_server(&cx, false, || {
            hoarding_server(true, false)
        }))
        .await
    });
    failed.assert_mentions(&[
        "server using too much memory",
        "MiB",
        "under 10485760 bytes",
    ]);
}

#[test]
fn a_server_that_keeps_every_old_value_fails_mem_many_appends_2() {
    let failed = labtest::must_fail(|cx| async move {
        mem_many_appends(&Tester::for_memory_with_server(&cx, true, || {
            hoarding_server(false, true)
        }))
        .await
    });
    failed.assert_mentions(&["server using too much memory", "under 3000000 bytes"]);
}

#[test]
fn a_history_that_is_not_linearizable_writes_the_report() {
    let failed = labtest::must_fail(|cx| async move {
        one_key_appends(&Tester::with_server(&cx, false, stale_append_server)).await
    });
    failed.assert_mentions(&[
        "history is not linearizable",
        "with seed 1",
        "LAB_SEED=1 LAB_SEEDS=1 cargo test -p kvsrv",
        "--test tester_2024 -- --exact",
    ]);
    let path = failed
        .message
        .lines()
        .find_map(|l| l.split_once("report (open it in a browser): "))
        .map(|(_, path)| path.trim().to_string())
        .unwrap_or_else(|| panic!("no report path in:\n{}", failed.message));
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(page.contains("not linearizable"), "{path}");
}

#[test]
fn the_reference_server_passes_under_the_broken_servers_scenarios() {
    let passed = labtest::try_run(&Options::default(), 1, |cx| async move {
        one_key_appends(&Tester::new(&cx, false)).await
    })
    .unwrap_or_else(|f| panic!("{}", f.message));
    assert!(passed.ops > 50, "{}", passed.summary());
}

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The suite's busiest test, unreliable_2: nothing of a run may outlive it, or a
    // many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=3, |cx| async move {
        generic_test(&Tester::new(&cx, false), 5).await
    });
}
// END SOLUTION
