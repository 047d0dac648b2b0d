//! The original labrpc tests (`src/labrpc/test_test.go`), on the simulated runtime.
//!
//! Every test runs through the lab harness, so each prints its summary line with seed and
//! trace hash, and `LAB_SEED` / `LAB_SEEDS` / `LAB_CHECK_DETERMINISM` apply.

use labrpc::sim::{self, Node};
use labrpc::{ClientEnd, Network, RpcError, Server, Service};
use labtest::Options;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// A struct argument, for the `types` test.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JunkArgs {
    /// A number.
    pub x: i64,
}

/// A struct reply, for the `types` test.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JunkReply {
    /// A text.
    pub x: String,
}

labrpc::service! {
    service JunkServer {
        /// Parses a number (and logs the argument).
        rpc Handler1(String) -> i64;
        /// Formats "handler2-N" (and logs the argument).
        rpc Handler2(i64) -> String;
        /// Sleeps 20 seconds, then negates.
        rpc Handler3(i64) -> i64;
        /// Takes a struct.
        rpc Handler4(JunkArgs) -> JunkReply;
        /// Takes an optional list.
        rpc Handler5(Option<Vec<u32>>) -> (bool, usize);
        /// Length of a string.
        rpc Handler6(String) -> usize;
        /// A string of n 'y's.
        rpc Handler7(usize) -> String;
    }
}

#[derive(Default)]
struct JunkLog {
    log1: Vec<String>,
    log2: Vec<i64>,
}

fn junk_server(node: Node, log: Arc<Mutex<JunkLog>>) -> Server {
    let log1 = log.clone();
    let log2 = log;
    let service = Service::new()
        .handle(Handler1, move |arg: String| {
            log1.lock().log1.push(arg.clone());
            async move { arg.parse().unwrap_or(-1) }
        })
        .handle(Handler2, move |arg: i64| {
            log2.lock().log2.push(arg);
            async move { format!("handler2-{arg}") }
        })
        .handle(Handler3, |arg: i64| async move {
            sim::sleep(Duration::from_secs(20)).await;
            -arg
        })
        .handle(Handler4, |_: JunkArgs| async {
            JunkReply {
                x: "pointer".into(),
            }
        })
        .handle(Handler5, |arg: Option<Vec<u32>>| async move {
            (arg.is_some(), arg.map_or(0, |v| v.len()))
        })
        .handle(Handler6, |arg: String| async move { arg.len() })
        .handle(Handler7, |n: usize| async move { "y".repeat(n) });
    let mut server = Server::new(node);
    server.add_service(service);
    server
}

/// A network with a JunkServer named `server_name`, and an enabled end to it.
fn setup(
    server_name: impl Into<labrpc::Name> + Clone,
) -> (Network, ClientEnd, Arc<Mutex<JunkLog>>) {
    let net = Network::new();
    let log = Arc::new(Mutex::new(JunkLog::default()));
    net.add_server(
        server_name.clone(),
        junk_server(Node::new("server"), log.clone()),
    );
    let end = net.make_end("end1-99");
    net.connect("end1-99", server_name);
    net.enable("end1-99", true);
    (net, end, log)
}

fn options() -> Options {
    Options::default()
}

#[test]
fn basic() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (_net, end, _log) = setup("server99");
        assert_eq!(end.call::<Handler2>(&111).await.unwrap(), "handler2-111");
        assert_eq!(
            end.call::<Handler1>(&"9099".to_string()).await.unwrap(),
            9099
        );
        cx.add_ops(2);
    });
}

#[test]
fn types() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (_net, end, _log) = setup("server99");
        let reply = end.call::<Handler4>(&JunkArgs { x: 1 }).await.unwrap();
        assert_eq!(reply.x, "pointer");
        assert_eq!(
            end.call::<Handler5>(&Some(vec![1, 2, 3])).await.unwrap(),
            (true, 3)
        );
        assert_eq!(end.call::<Handler5>(&None).await.unwrap(), (false, 0));
        cx.add_ops(3);
    });
}

/// An end that is connected but not enabled gets no reply; once enabled it works.
#[test]
fn disconnect() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (net, end, log) = setup("server99");
        net.enable("end1-99", false);
        assert_eq!(
            end.call::<Handler2>(&111).await,
            Err(RpcError::NoReply),
            "a disabled end must get no reply"
        );
        assert!(
            log.lock().log2.is_empty(),
            "a disabled end must not reach the server"
        );
        net.enable("end1-99", true);
        assert_eq!(
            end.call::<Handler1>(&"9099".to_string()).await.unwrap(),
            9099
        );
        cx.add_ops(2);
    });
}

/// Per-server RPC counts, with a server named by a number.
#[test]
fn counts() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (net, end, _log) = setup(99);
        for i in 0..17 {
            assert_eq!(
                end.call::<Handler2>(&i).await.unwrap(),
                format!("handler2-{i}")
            );
        }
        assert_eq!(net.count(99), 17, "wrong count() from the server");
        cx.add_ops(17);
    });
}

/// Byte counts are real encoded sizes: about 5000 for 17 requests of 284 bytes, about 2000
/// for 17 replies of 107 bytes.
#[test]
fn bytes() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (net, end, _log) = setup(99);
        let arg = "x".repeat(284);
        for _ in 0..17 {
            assert_eq!(end.call::<Handler6>(&arg).await.unwrap(), 284);
        }
        let n = net.total_bytes();
        assert!(
            (4828..=6000).contains(&n),
            "wrong total_bytes() {n}, expected about 5000"
        );
        for _ in 0..17 {
            assert_eq!(end.call::<Handler7>(&107).await.unwrap().len(), 107);
        }
        let delta = net.total_bytes() - n;
        assert!(
            (1800..=2500).contains(&delta),
            "wrong total_bytes() delta {delta}, expected about 2000"
        );
        cx.add_ops(34);
    });
}

/// 20 clients, each with its own end, 10 RPCs each, all at once.
#[test]
fn concurrent_many() {
    labtest::run(options(), |cx| async move {
        let net = Network::new();
        let log = Arc::new(Mutex::new(JunkLog::default()));
        net.add_server(1000, junk_server(Node::new("server"), log));
        let clients: Vec<_> = (0..20)
            .map(|i| {
                let end = net.make_end(i);
                net.connect(i, 1000);
                net.enable(i, true);
                sim::spawn(async move {
                    let mut ok = 0;
                    for j in 0..10 {
                        let arg = i * 100 + j;
                        if end.call::<Handler2>(&arg).await.unwrap() == format!("handler2-{arg}") {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut total = 0;
        for client in clients {
            total += client.await.unwrap();
        }
        assert_eq!(total, 200, "wrong number of RPCs completed");
        assert_eq!(net.count(1000), 200, "wrong count() from the server");
        cx.set_peers(21);
        cx.add_ops(200);
    });
}

/// An unreliable network delivers some RPCs but not all, and never a wrong reply.
#[test]
fn unreliable() {
    labtest::run(options(), |cx| async move {
        let net = Network::new();
        net.set_reliable(false);
        let log = Arc::new(Mutex::new(JunkLog::default()));
        net.add_server(1000, junk_server(Node::new("server"), log));
        let clients: Vec<_> = (0..300)
            .map(|i| {
                let end = net.make_end(i);
                net.connect(i, 1000);
                net.enable(i, true);
                sim::spawn(async move {
                    let arg = i * 100;
                    match end.call::<Handler2>(&arg).await {
                        Ok(reply) => {
                            assert_eq!(reply, format!("handler2-{arg}"), "wrong reply");
                            1
                        }
                        Err(RpcError::NoReply) => 0,
                        Err(e) => panic!("unexpected error {e}"),
                    }
                })
            })
            .collect();
        let mut ok = 0;
        for client in clients {
            ok += client.await.unwrap();
        }
        assert!(
            ok != 0 && ok != 300,
            "{ok} of 300 RPCs succeeded: the network is not unreliable"
        );
        cx.set_peers(301);
        cx.add_ops(ok);
    });
}

/// 20 concurrent calls on one end.
#[test]
fn concurrent_one() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (net, end, log) = setup(1000);
        let calls: Vec<_> = (0..20)
            .map(|i| {
                let end = end.clone();
                sim::spawn(async move {
                    let arg = 100 + i;
                    end.call::<Handler2>(&arg).await.unwrap() == format!("handler2-{arg}")
                })
            })
            .collect();
        let mut ok = 0;
        for call in calls {
            ok += u32::from(call.await.unwrap());
        }
        assert_eq!(ok, 20, "wrong number of RPCs completed");
        assert_eq!(log.lock().log2.len(), 20, "wrong number of RPCs delivered");
        assert_eq!(net.count(1000), 20, "wrong count() from the server");
        cx.add_ops(20);
    });
}

/// Calls on a disabled end wait a while before failing; they must not hold up a later call
/// once the end is enabled, and must never reach the server.
#[test]
fn regression1() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (net, end, log) = setup(1000);
        net.enable("end1-99", false);
        let delayed: Vec<_> = (0..20)
            .map(|i| {
                let end = end.clone();
                sim::spawn(async move {
                    let arg = 100 + i;
                    if let Ok(reply) = end.call::<Handler2>(&arg).await {
                        assert_eq!(reply, format!("handler2-{arg}"));
                    }
                })
            })
            .collect();
        sim::sleep(Duration::from_millis(100)).await;
        net.enable("end1-99", true);
        let started = sim::now();
        assert_eq!(end.call::<Handler2>(&99).await.unwrap(), "handler2-99");
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(30),
            "RPC took too long ({took:?}) after enable"
        );
        for call in delayed {
            call.await.unwrap();
        }
        assert_eq!(log.lock().log2.len(), 1, "wrong number of RPCs delivered");
        assert_eq!(net.count(1000), 1, "wrong count() from the server");
        cx.add_ops(21);
    });
}

/// A call whose server is deleted while the handler runs returns at once, with no reply.
#[test]
fn killed() {
    labtest::run(options(), |cx| async move {
        cx.set_peers(1);
        let (net, end, _log) = setup("server99");
        let done = Rc::new(Cell::new(false));
        let finished = done.clone();
        let call = sim::spawn(async move {
            let reply = end.call::<Handler3>(&99).await;
            finished.set(true);
            reply
        });
        sim::sleep(Duration::from_millis(1100)).await;
        assert!(!done.get(), "Handler3 returned prematurely");
        net.delete_server("server99");
        let started = sim::now();
        let reply = call.await.unwrap();
        assert_eq!(
            reply,
            Err(RpcError::NoReply),
            "a deleted server's reply was delivered"
        );
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "call did not return promptly"
        );
        cx.add_ops(1);
    });
}
