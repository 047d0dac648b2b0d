//! The key/value labs' shared checks: the append checks name what is wrong, and the operation
//! log judges histories, writing the checker's report when one is not linearizable.

use labrpc::sim::{self, Sim};
use labtest::TestCx;
use labtest::kv::{OpLog, append_value, check_client_appends, check_concurrent_appends};
use labtest::linearizability::models::{KvInput, KvModel, KvOutput};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn panic_text(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).unwrap_err();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn append_checks_name_the_broken_append() {
    let good = format!(
        "{}{}{}",
        append_value(0, 0),
        append_value(1, 0),
        append_value(0, 1)
    );
    check_client_appends(0, &good, 2);
    check_concurrent_appends(&good, &[2, 1]);
    let missing = panic_text(|| check_client_appends(1, &good, 2));
    assert!(
        missing.contains("append 1") && missing.contains("missing"),
        "{missing}"
    );
    let twice = format!("{good}{}", append_value(1, 0));
    let duplicate = panic_text(|| check_client_appends(1, &twice, 1));
    assert!(duplicate.contains("more than once"), "{duplicate}");
    let swapped = format!("{}{}", append_value(0, 1), append_value(0, 0));
    let order = panic_text(|| check_client_appends(0, &swapped, 2));
    assert!(order.contains("wrong order"), "{order}");
}

/// Three clients appending to one key and reading it back, on a store that takes 1 ms per
/// operation; `stale` makes reads return the value before the first append.
async fn run_store(cx: TestCx, stale: bool) -> OpLog<KvInput, KvOutput> {
    let log = OpLog::new(&cx);
    let value = Rc::new(RefCell::new(String::new()));
    let clients: Vec<_> = (0..3)
        .map(|client| {
            let (log, value) = (log.clone(), value.clone());
            sim::spawn(async move {
                for n in 0..5 {
                    let key = "k".to_string();
                    let suffix = append_value(client, n);
                    let input = KvInput::Append {
                        key: key.clone(),
                        value: suffix.clone(),
                    };
                    let store = value.clone();
                    log.record(client as u64, input, async move {
                        sim::sleep(Duration::from_millis(1)).await;
                        store.borrow_mut().push_str(&suffix);
                        KvOutput::default()
                    })
                    .await;
                    let store = value.clone();
                    log.record(client as u64, KvInput::Get { key }, async move {
                        sim::sleep(Duration::from_millis(1)).await;
                        let value = if stale {
                            String::new()
                        } else {
                            store.borrow().clone()
                        };
                        KvOutput { value }
                    })
                    .await;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    log
}

#[test]
fn a_linearizable_history_passes_and_counts_ops() {
    let passed = labtest::try_run(&labtest::Options::default(), 1, |cx| async move {
        let log = run_store(cx, false).await;
        assert_eq!(log.len(), 30);
        log.check_linearizable(&KvModel);
    })
    .unwrap();
    assert_eq!(passed.ops, 30);
}

#[test]
fn a_stale_read_fails_with_the_report() {
    let failed = labtest::try_run(&labtest::Options::default(), 1, |cx| async move {
        run_store(cx, true).await.check_linearizable(&KvModel);
    })
    .unwrap_err();
    assert!(
        failed.message.contains("history is not linearizable"),
        "{}",
        failed.message
    );
    let path = failed
        .message
        .lines()
        .find_map(|l| l.split_once("report (open it in a browser): "))
        .map(|(_, p)| p.trim().to_string())
        .unwrap_or_else(|| panic!("no report path in: {}", failed.message));
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(
        page.contains("<html") && page.contains("not linearizable"),
        "{path}"
    );
    assert!(
        failed.message.contains("LAB_SEED=1 ") && failed.message.contains("cargo test"),
        "{}",
        failed.message
    );
}

#[test]
fn a_dropped_operation_is_recorded_as_unknown() {
    Sim::new(2)
        .run(|| async {
            let log = OpLog::<KvInput, KvOutput>::new(&TestCx::default());
            let put = KvInput::Put {
                key: "k".into(),
                value: "v".into(),
            };
            let gave_up = sim::timeout(
                Duration::from_millis(1),
                log.record(0, put, std::future::pending()),
            )
            .await;
            assert!(gave_up.is_err());
            // An unknown put may or may not have happened: either read is fine.
            for seen in ["v", ""] {
                log.record(1, KvInput::Get { key: "k".into() }, async {
                    KvOutput { value: seen.into() }
                })
                .await;
            }
            log.check_linearizable(&KvModel);
        })
        .unwrap();
}

#[test]
fn an_append_must_return_exactly_the_value_before_it() {
    use labtest::linearizability::{Operation, Options, Verdict, check};
    let append = |value: &str| KvInput::AppendReturningOld {
        key: "k".into(),
        value: value.into(),
    };
    let old = |value: &str| KvOutput {
        value: value.into(),
    };
    let verdict = |ops| {
        let history = labtest::linearizability::History::from_operations(ops).unwrap();
        check(&KvModel, &history, &Options::default()).verdict
    };
    // Two overlapping appends: either order, as long as the old values agree with it.
    let ok = vec![
        Operation::completed(0, 0, 10, append("a"), old("b")),
        Operation::completed(1, 1, 11, append("b"), old("")),
        Operation::completed(2, 20, 30, KvInput::Get { key: "k".into() }, old("ba")),
    ];
    assert_eq!(verdict(ok), Verdict::Linearizable);
    // The second append claims it saw nothing, after the first one returned.
    let stale = vec![
        Operation::completed(0, 0, 10, append("a"), old("")),
        Operation::completed(1, 20, 30, append("b"), old("")),
    ];
    assert_eq!(verdict(stale), Verdict::NotLinearizable);
    // An append whose outcome is unknown may or may not have happened.
    let unknown = vec![
        Operation::unknown(0, 0, append("a")),
        Operation::completed(1, 20, 30, append("b"), old("a")),
        Operation::completed(2, 40, 50, append("c"), old("ab")),
    ];
    assert_eq!(verdict(unknown), Verdict::Linearizable);
}
