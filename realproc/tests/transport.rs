//! The transport between executors of real processes ([`realproc::remote`],
//! [`realproc::serve_on_node`]) and a persister's files, in one process.
//!
//! Real time is involved, so every wait here is a generous deadline against hangs, never a
//! measure of speed: a loaded machine only makes these tests slower.

use labrpc::sim::{self, Node, RealClock};
use labrpc::{ClientEnd, Persister, RpcError, Service};
use realproc::{Address, Files, Gate, Remote};
use std::io::{Read, Write};
use std::time::Duration;

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
fn remote_calls_round_trip_concurrently() {
    RealClock::new(5)
        .run(|| async {
            let node = Node::new("server");
            let server = node
                .enter(|| {
                    realproc::serve_on_node(
                        &loopback(),
                        [test_service(Persister::new())],
                        Gate::none(),
                    )
                })
                .unwrap();
            let end = realproc::remote(server.address().clone(), Gate::none());
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
            let server = realproc::serve_on_node(
                &loopback(),
                [test_service(Persister::new())],
                Gate::none(),
            )
            .unwrap();
            let end = ClientEnd::from_line(Remote::new(
                server.address().clone(),
                Gate::none(),
                Duration::from_millis(300),
            ));
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
            let line = Remote::new(address, Gate::none(), Duration::from_secs(3));
            let gone = ClientEnd::from_line(line.clone());
            assert_eq!(gone.call::<Echo>(&1).await, Err(RpcError::NoReply));
            let why = line.last_error().expect("the reason it cannot connect");
            assert!(why.starts_with("connecting to tcp:127.0.0.1:"), "{why}");
        })
        .unwrap();
}

#[test]
fn malformed_input_closes_only_that_connection() {
    RealClock::new(7)
        .run(|| async {
            let server = realproc::serve_on_node(
                &loopback(),
                [test_service(Persister::new())],
                Gate::none(),
            )
            .unwrap();
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
            let end = realproc::remote(server.address().clone(), Gate::none());
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
    let dir = std::env::temp_dir().join(format!("realproc-gate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let for_run = dir.clone();
    RealClock::new(8)
        .run(move || async move {
            let files = Files::open(&for_run).unwrap();
            let persister = files.persister();
            let server = realproc::serve_on_node(
                &loopback(),
                [test_service(persister.clone())],
                files.gate(),
            )
            .unwrap();
            let end = realproc::remote(server.address().clone(), Gate::none());
            for i in 0..20u8 {
                let state = vec![i; 100 + usize::from(i)];
                end.call::<Save>(&state).await.unwrap();
                // The reply came, so the save is on disk: another process would read it now.
                let on_disk = Files::open(&for_run).unwrap().persister().read_raft_state();
                assert_eq!(on_disk, state, "save {i}");
            }
            assert_eq!(persister.failure(), None);
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serving_needs_the_real_clock() {
    let error = realproc::serve_on_node(&loopback(), [Service::new()], Gate::none()).unwrap_err();
    assert!(error.to_string().contains("RealClock"), "{error}");
}
