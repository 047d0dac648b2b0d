//! Tests of the tester itself: a broken Raft, or a broken apply stream, must make the graded
//! tests fail, quickly and with a message that says what went wrong. (Not graded; these
//! check the harness in `harness/mod.rs` against deliberately injected faults, so they need
//! the kit's own Raft: the student skeleton keeps this file empty.)

// BEGIN SOLUTION
mod harness;

use harness::{Config, Fault};
use labtest::{Failed, Options, TestCx};
use std::future::Future;
use std::time::Duration;

/// Runs `body` on seed 1 and returns its failure; panics if it passed, or if the failure took
/// long (in virtual time) to show, or does not print its replay command.
fn must_fail<F, Fut>(body: F) -> Failed
where
    F: Fn(TestCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let failed = labtest::must_fail(body);
    eprintln!("caught after {:?} of virtual time", failed.virtual_time);
    // The slowest check that can catch these bugs is one()'s 10 s of retries.
    assert!(
        failed.virtual_time <= Duration::from_secs(12),
        "the failure took {:?} of virtual time to show",
        failed.virtual_time
    );
    // (A release build's command also says `--release`.)
    failed.assert_mentions(&[
        "LAB_SEED=1 LAB_SEEDS=1 cargo test -p raft",
        "--test tester -- --exact",
    ]);
    failed
}

/// The virtual time, in seconds, at which a run failed.
fn virtual_time(failed: &Failed) -> f64 {
    let marker = "at virtual time ";
    let start = failed
        .message
        .find(marker)
        .expect("the failure names its time")
        + marker.len();
    let rest = &failed.message[start..];
    rest[..rest.find('s').expect("seconds")]
        .parse()
        .expect("a number")
}

/// The body of basic_agree_3b on a cluster with `faults`.
async fn basic_agree(cx: TestCx, snapshot: bool, faults: Vec<Fault>) {
    let cfg = Config::with_faults(&cx, 3, false, snapshot, &faults);
    for index in 1..=3u64 {
        let xindex = cfg.one(index as i64 * 100, 3, false).await;
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
    }
    cfg.end();
}

/// Five agreements that need only two of the three servers (so that a server that skipped
/// an index is still running when it applies the next one).
async fn agree_on_two(cx: TestCx, snapshot: bool, faults: Vec<Fault>) {
    let cfg = Config::with_faults(&cx, 3, false, snapshot, &faults);
    for index in 1..=5 {
        cfg.one(index * 100, 2, true).await;
    }
    cfg.one(600, 3, true).await;
    cfg.end();
}

#[test]
fn a_raft_that_never_votes_elects_no_leader() {
    let failed = must_fail(|cx| async move {
        let cfg = Config::with_faults(&cx, 3, false, false, &[Fault::DenyVotes]);
        cfg.check_one_leader().await;
    });
    failed.assert_mentions(&["expected one leader, got none"]);
    // check_one_leader gives up after ten tries of about half a second each.
    let at = virtual_time(&failed);
    assert!((4.5..6.0).contains(&at), "failed at {at} s of virtual time");
}

#[test]
fn a_raft_whose_appends_fail_commits_nothing() {
    let failed = must_fail(|cx| basic_agree(cx, false, vec![Fault::RejectAppends]));
    failed.assert_mentions(&[
        "one(100) failed to reach agreement",
        "at index 1",
        "3 expected",
    ]);
}

#[test]
fn different_commands_at_one_index_are_a_commit_mismatch() {
    let fault = Fault::CorruptApply {
        server: 1,
        index: 2,
    };
    let failed = must_fail(move |cx| basic_agree(cx, false, vec![fault]));
    failed.assert_mentions(&["commit index=2 server=", "201", "200", "!="]);
}

#[test]
fn a_gap_in_the_applied_indices_is_an_apply_out_of_order() {
    let fault = Fault::SkipApply {
        server: 2,
        index: 2,
    };
    let failed = must_fail(move |cx| agree_on_two(cx, false, vec![fault]));
    failed.assert_mentions(&["server 2 apply out of order 3", "never index 2"]);
}

#[test]
fn the_snapshot_applier_checks_the_order_too() {
    let fault = Fault::SkipApply {
        server: 0,
        index: 1,
    };
    let failed = must_fail(move |cx| agree_on_two(cx, true, vec![fault]));
    failed.assert_mentions(&["server 0 apply out of order, expected index 1, got 2"]);
}

#[test]
fn a_correct_raft_passes_and_reports_its_work() {
    let passed = labtest::try_run(&Options::default(), 7, |cx| basic_agree(cx, true, vec![]))
        .unwrap_or_else(|failed| panic!("{}", failed.message));
    assert_eq!((passed.peers, passed.ops), (3, 3));
    let summary = passed.summary();
    assert!(summary.contains("seed=7"), "{summary}");
}

#[test]
fn a_run_replays_exactly_from_its_seed() {
    // Unreliable network, crashes and snapshots: the traces of two runs must be identical.
    let result = labtest::try_check_determinism(&Options::default(), 3, |cx| async move {
        let cfg = Config::new(&cx, 3, true, true);
        for i in 0..25 {
            cfg.one(i, 2, true).await;
            if i % 8 == 3 {
                let victim = (cfg.check_one_leader().await + 1) % 3;
                cfg.crash1(victim);
                cfg.one(1000 + i, 2, true).await;
                cfg.start1(victim);
                cfg.connect(victim);
            }
        }
        cfg.one(99, 3, true).await;
        cfg.end();
    });
    if let Err(failed) = result {
        panic!("{}", failed.message);
    }
}

#[test]
fn a_raft_whose_start_refuses_fails_saying_so_not_that_the_term_changed() {
    // While start() still returns None, concurrent_starts_3b and count_3b used to say only
    // "term changed too often", although the term never changed. (Five tries, three seconds
    // apart, as the original: slower to show than must_fail's bound.)
    let failures = [
        labtest::must_fail(|cx| harness::concurrent_starts(cx, &[Fault::RefuseStarts])),
        labtest::must_fail(|cx| harness::count(cx, &[Fault::RefuseStarts])),
    ];
    for failed in failures {
        failed.assert_mentions(&[
            "no leader accepted a command",
            "refused start() (it returned None)",
            "try 5:",
        ]);
        assert!(
            !failed.message.contains("term changed"),
            "{}",
            failed.message
        );
    }
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The suite's busiest test (crashes, restarts, partitions, clients): every part of the
    // cluster must be freed when a run ends, or a many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=3, |cx| harness::churn(cx, false));
}
// END SOLUTION
