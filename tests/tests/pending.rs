//! What was pending: a run that reaches its time limit reports what its tester registered,
//! the first hint at the head of the message; a run that finishes reports nothing.

use labrpc::sim;
use labtest::TestCx;
use labtest::kv::OpLog;
use labtest::linearizability::models::{KvInput, KvOutput};
use std::future::pending;
use std::time::Duration;

#[test]
fn a_run_out_of_time_says_what_was_pending_hint_first() {
    let failed = labtest::must_fail(|cx: TestCx| async move {
        let log: OpLog<KvInput, KvOutput> = OpLog::new(&cx);
        let reporter = log.clone();
        labtest::pending::on_time_limit(move || reporter.waiting_report());
        labtest::pending::on_time_limit(|| {
            format!(
                "Servers: 0 down\n{}a clerk must try the others",
                labtest::pending::HINT
            )
        });
        // Time goes on (a deadlock would be reported as such).
        sim::spawn(async {
            loop {
                sim::sleep(Duration::from_secs(1)).await;
            }
        });
        sim::sleep(Duration::from_secs(3)).await;
        log.get(Some(0), "k", pending()).await;
    });
    failed.assert_mentions(&[
        "virtual time 120.000000s: a clerk must try the others (the test ran past its limit of \
         120s of virtual time)",
        "What was pending:\nClerk operations waiting:\n  get(\"k\") since 3.000000s",
        "Servers: 0 down",
    ]);
}

#[test]
fn a_run_without_a_hint_keeps_the_simulations_words_first() {
    let failed = labtest::must_fail(|_cx: TestCx| async move {
        labtest::pending::on_time_limit(|| "Servers: 0 down".to_string());
        pending::<()>().await;
    });
    assert!(
        failed.message.contains("deadlock") || failed.message.contains("ran past its limit"),
        "{}",
        failed.message
    );
    failed.assert_mentions(&["What was pending:\nServers: 0 down"]);
}

#[test]
fn a_failed_check_reports_nothing_pending() {
    let failed = labtest::must_fail(|_cx: TestCx| async move {
        labtest::pending::on_time_limit(|| "Servers: 0 down".to_string());
        panic!("a check failed");
    });
    assert!(
        !failed.message.contains("What was pending"),
        "{}",
        failed.message
    );
}
