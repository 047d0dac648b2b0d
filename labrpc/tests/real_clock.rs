//! The executor on the wall clock (`sim::RealClock`), and the transport between executors of
//! real processes (`ClientEnd::remote`, `transport::serve_on_node`), in one process.
//!
//! Real time is involved, so every wait here is a generous deadline against hangs, never a
//! measure of speed: a loaded machine only makes these tests slower.

use labrpc::sim::{self, Node, RealClock, SimError};
use labrpc::sync::oneshot;
use labrpc::transport::{self, Address};
use labrpc::{ClientEnd, Persister, RpcError, Service};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

labrpc::service! {
    service Test {
        /// Returns its argument.
        rpc Echo(u64) -> u64;
        /// Waits that many milliseconds of the executor's time, then answers.
        rpc Nap(u64) -> u64;
        /// Never answers.
        rpc Hang(()) -> ();
        /// Saves its argument in the server's persister, then answers.
        rpc Save(Vec<u8>) -> ();
    }
}

labrpc::service! {
    service Missing {
        /// Not served.
        rpc Nothing(()) -> ();
    }
}

fn test_service(persister: Persister) -> Service {
    Service::new()
        .handle(Echo, |x| async move { x })
        .handle(Nap, |ms| async move {
            sim::sleep(Duration::from_millis(ms)).await;
            ms
        })
        .handle(Hang, |()| std::future::pending::<()>())
        .handle(Save, move |bytes: Vec<u8>| {
            persister.save_raft_state(bytes);
            async {}
        })
}

fn loopback() -> Address {
    Address::Tcp("127.0.0.1:0".into())
}

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

#[test]
fn remote_calls_round_trip_concurrently() {
    RealClock::new(5)
        .run(|| async {
            let node = Node::new("server");
            let server = node
                .enter(|| transport::serve_on_node(&loopback(), [test_service(Persister::new())]))
                .unwrap();
            let end = ClientEnd::remote(server.address().clone());
            assert!(end.name().to_string().starts_with("tcp:127.0.0.1:"));
            assert_eq!(end.call::<Echo>(&7).await, Ok(7));
            // Many calls at once, each napping: they overlap on the server, so together they
            // take about one nap (the deadline only guards against a hang).
            let calls: Vec<_> = (0..50u64)
                .map(|i| {
                    let end = end.clone();
                    sim::spawn(async move { end.call::<Nap>(&(i % 5 * 10)).await })
                })
                .collect();
            for (i, call) in calls.into_iter().enumerate() {
                assert_eq!(call.await.unwrap(), Ok(i as u64 % 5 * 10));
            }
            assert_eq!(server.count(), 51);
        })
        .unwrap();
}

#[test]
fn remote_errors_match_the_simulated_network() {
    RealClock::new(6)
        .run(|| async {
            let server =
                transport::serve_on_node(&loopback(), [test_service(Persister::new())]).unwrap();
            let end = ClientEnd::remote_with_timeout(
                server.address().clone(),
                Duration::from_millis(300),
            );
            match end.call::<Nothing>(&()).await {
                Err(RpcError::UnknownService { service, known, .. }) => {
                    assert_eq!(service, "Missing");
                    assert_eq!(known, ["Test"]);
                }
                other => panic!("expected UnknownService, got {other:?}"),
            }
            // A server that never answers: no reply, once the end's timeout has passed.
            assert_eq!(end.call::<Hang>(&()).await, Err(RpcError::NoReply));
            assert_eq!(end.call::<Echo>(&1).await, Ok(1));
            // A server that is gone: no reply.
            let address = server.address().clone();
            drop(server);
            let gone = ClientEnd::remote(address);
            assert_eq!(gone.call::<Echo>(&1).await, Err(RpcError::NoReply));
        })
        .unwrap();
}

#[test]
fn malformed_input_closes_only_that_connection() {
    RealClock::new(7)
        .run(|| async {
            let server =
                transport::serve_on_node(&loopback(), [test_service(Persister::new())]).unwrap();
            let Address::Tcp(host) = server.address().clone() else {
                unreachable!("served on TCP")
            };
            let garbage = std::thread::spawn(move || {
                let mut closed = 0;
                for bytes in [
                    &[0xff, 0xff, 0xff, 0x7f][..],
                    &[3, 0, 0, 0, 0xde, 0xad, 0xbe],
                ] {
                    let mut stream = std::net::TcpStream::connect(&host).unwrap();
                    stream.write_all(bytes).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    let mut rest = Vec::new();
                    if stream.read_to_end(&mut rest).is_ok() && rest.is_empty() {
                        closed += 1;
                    }
                }
                closed
            });
            let end = ClientEnd::remote(server.address().clone());
            while !garbage.is_finished() {
                sim::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(garbage.join().unwrap(), 2, "each bad connection is closed");
            assert_eq!(end.call::<Echo>(&9).await, Ok(9));
        })
        .unwrap();
}

#[test]
fn a_reply_leaves_only_once_the_save_before_it_is_on_disk() {
    let dir = std::env::temp_dir().join(format!("labrpc-real-clock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let for_run = dir.clone();
    RealClock::new(8)
        .run(move || async move {
            let persister = Persister::open(&for_run).unwrap();
            let server =
                transport::serve_on_node(&loopback(), [test_service(persister.clone())]).unwrap();
            let end = ClientEnd::remote(server.address().clone());
            for i in 0..20u8 {
                let state = vec![i; 100 + usize::from(i)];
                end.call::<Save>(&state).await.unwrap();
                // The reply came, so the save is on disk: another process would read it now.
                let on_disk = Persister::open(&for_run).unwrap().read_raft_state();
                assert_eq!(on_disk, state, "save {i}");
            }
            assert_eq!(persister.failure(), None);
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serving_needs_the_real_clock() {
    let error = transport::serve_on_node(&loopback(), [Service::new()]).unwrap_err();
    assert!(error.to_string().contains("RealClock"), "{error}");
}
