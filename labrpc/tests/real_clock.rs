//! The executor on the wall clock (`sim::RealClock`). (The transport between executors of real
//! processes is the `realproc` crate's, and tested there.)
//!
//! Real time is involved, so every wait here is a generous deadline against hangs, never a
//! measure of speed: a loaded machine only makes these tests slower.

use labrpc::sim::{self, Node, RealClock, SimError};
use labrpc::sync::oneshot;
use std::time::{Duration, Instant};

#[test]
fn timers_wait_real_time_in_order() {
    let started = Instant::now();
    let order = RealClock::new(1)
        .run(|| async {
            let (tx, mut rx) = labrpc::sync::mpsc::unbounded_channel();
            for ms in [30u64, 10, 20] {
                let tx = tx.clone();
                sim::spawn(async move {
                    sim::sleep(Duration::from_millis(ms)).await;
                    let _ = tx.send((ms, sim::now()));
                });
            }
            drop(tx);
            let mut order = Vec::new();
            while let Some((ms, at)) = rx.recv().await {
                assert!(
                    at.since_start() >= Duration::from_millis(ms),
                    "{ms} ms at {at}"
                );
                order.push(ms);
            }
            order
        })
        .unwrap();
    assert_eq!(order, [10, 20, 30]);
    assert!(started.elapsed() >= Duration::from_millis(30));
}

#[test]
fn another_thread_wakes_a_waiting_task() {
    let value = RealClock::new(2)
        .run(|| async {
            let (tx, rx) = oneshot::channel();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                let _ = tx.send(42);
            });
            // No timer is pending: only the other thread's wake can end this wait.
            rx.await.unwrap()
        })
        .unwrap();
    assert_eq!(value, 42);
}

#[test]
fn a_timeout_fires_while_nothing_else_happens() {
    let result = RealClock::new(3)
        .run(|| async {
            sim::timeout(Duration::from_millis(20), std::future::pending::<()>()).await
        })
        .unwrap();
    assert_eq!(result, Err(sim::Elapsed));
}

#[test]
fn a_panicking_task_is_reported() {
    let error = RealClock::new(4)
        .run(|| async {
            Node::new("server")
                .spawn(async { panic!("on purpose") })
                .await
                .ok();
            sim::sleep(Duration::from_secs(60)).await;
        })
        .unwrap_err();
    match &error {
        SimError::Panic { node, message, .. } => {
            assert_eq!(node, "server");
            assert_eq!(message, "on purpose");
        }
        other => panic!("expected a panic report, got {other}"),
    }
    let report = error.to_string();
    assert!(
        report.contains("(time ") && !report.contains("virtual"),
        "a real process's report speaks of time, not virtual time: {report}"
    );
    assert!(!sim::on_real_clock(), "outside the executor again");
}
