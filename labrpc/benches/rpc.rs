//! Simulated RPC throughput. Run with `cargo bench -p labrpc --bench rpc`.
//!
//! - echo, sequential: one client, reliable network, `u64 -> u64` echo service.
//! - echo, 100 clients: the same load from 100 concurrent callers.
//! - timers: 100,000 sequential virtual sleeps.
//! - labrpc TestBenchmark: the original's benchmark, 100,000 sequential `Handler2` calls
//!   (`int -> "handler2-N"`); the Go original reports about 22 µs per RPC (2016 laptop).

use labrpc::sim::{self, Node, Sim};
use labrpc::{Network, Server, Service};
use std::time::{Duration, Instant};

labrpc::service! {
    service Bench {
        /// Returns its argument.
        rpc Echo(u64) -> u64;
        /// The original benchmark's handler.
        rpc Handler2(i64) -> String;
    }
}

fn network(clients: usize) -> Vec<labrpc::ClientEnd> {
    let net = Network::new();
    let mut server = Server::new(Node::new("server"));
    server.add_service(
        Service::new()
            .handle(Echo, |x: u64| async move { x })
            .handle(Handler2, |x: i64| async move { format!("handler2-{x}") }),
    );
    net.add_server("server", server);
    (0..clients)
        .map(|i| {
            let end = net.make_end(i);
            net.connect(i, "server");
            net.enable(i, true);
            end
        })
        .collect()
}

fn measure(name: &str, calls: u64, body: impl FnOnce() -> u64 + Send + 'static) {
    let started = Instant::now();
    let done = body();
    let wall = started.elapsed();
    assert_eq!(done, calls, "{name}: not every call succeeded");
    println!(
        "{name:<34} {calls:>9} ops {:>8.3} s {:>11.0} ops/s {:>7.3} µs/op",
        wall.as_secs_f64(),
        calls as f64 / wall.as_secs_f64(),
        wall.as_secs_f64() * 1e6 / calls as f64
    );
}

fn sim() -> Sim {
    Sim::new(1).watchdog(Duration::from_secs(600))
}

fn main() {
    const N: u64 = 1_000_000;
    measure("echo, sequential, reliable", N, || {
        sim()
            .run(|| async {
                let end = network(1).pop().unwrap();
                let mut ok = 0;
                for i in 0..N {
                    ok += u64::from(end.call::<Echo>(&i).await == Ok(i));
                }
                ok
            })
            .unwrap()
            .value
    });
    measure("echo, 100 clients, reliable", N, || {
        sim()
            .run(|| async {
                let tasks: Vec<_> = network(100)
                    .into_iter()
                    .map(|end| {
                        sim::spawn(async move {
                            let mut ok = 0;
                            for i in 0..N / 100 {
                                ok += u64::from(end.call::<Echo>(&i).await == Ok(i));
                            }
                            ok
                        })
                    })
                    .collect();
                let mut ok = 0;
                for task in tasks {
                    ok += task.await.unwrap();
                }
                ok
            })
            .unwrap()
            .value
    });
    measure("timers: sequential sleeps", 100_000, || {
        sim()
            .run(|| async {
                for i in 0..100_000u64 {
                    sim::sleep(Duration::from_micros(1 + i % 1000)).await;
                }
                100_000
            })
            .unwrap()
            .value
    });
    measure("labrpc TestBenchmark (Handler2)", 100_000, || {
        sim()
            .run(|| async {
                let end = network(1).pop().unwrap();
                let mut ok = 0;
                for i in 0..100_000i64 {
                    let reply = end.call::<Handler2>(&i).await.unwrap();
                    ok += u64::from(reply == format!("handler2-{i}"));
                }
                ok
            })
            .unwrap()
            .value
    });
}
