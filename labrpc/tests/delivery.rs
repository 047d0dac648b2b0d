//! The network's delivery semantics: a request is the network's once sent, handlers run on the
//! server's node and nowhere else, the latency knob, the observer, and reports that name the
//! right service.

use labrpc::sim::{self, Node, Sim, SimError};
use labrpc::{ClientEnd, DeliveryKind, Network, RpcError, Server, Service};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

labrpc::service! {
    service Counter {
        /// Adds one to the server's count; returns the new count.
        rpc Bump(()) -> u64;
        /// Answers with the node the handler runs on.
        rpc WhereAmI(()) -> u32;
        /// Never answers.
        rpc Get(()) -> ();
    }
}

mod other {
    labrpc::service! {
        service Directory {
            /// Never answers (same method name as `Counter.Get`).
            rpc Get(()) -> ();
        }
    }
}

/// A network with one server on its own node, whose `Bump` handler counts calls in
/// `handled` (in the handler's synchronous part, before any await), and one enabled end.
fn counter_network(handled: Rc<Cell<u64>>) -> (Network, Node, ClientEnd) {
    let net = Network::new();
    let node = Node::new("server");
    let mut server = Server::new(node);
    server.add_service(
        Service::new()
            .handle(Bump, move |()| {
                handled.set(handled.get() + 1);
                let count = handled.get();
                async move { count }
            })
            .handle(WhereAmI, |()| async { Node::current().index() })
            .handle(Get, |()| std::future::pending()),
    );
    server.add_service(Service::new().handle(other::Get, |()| std::future::pending()));
    net.add_server("server", server);
    let end = net.make_end("client");
    net.connect("client", "server");
    net.enable("client", true);
    (net, node, end)
}

#[test]
fn a_dropped_call_is_still_delivered() {
    let handled = Sim::new(1)
        .run(|| async {
            let handled = Rc::new(Cell::new(0));
            let (net, _, end) = counter_network(handled.clone());
            net.set_reliable(false);
            for _ in 0..1000 {
                // The caller gives up after 1 ms; requests wait up to 27 ms on the way.
                let _ = sim::timeout(Duration::from_millis(1), end.call::<Bump>(&())).await;
            }
            sim::sleep(Duration::from_millis(100)).await;
            handled.get()
        })
        .unwrap()
        .value;
    // 10% of requests are lost; the rest reach the server although nobody waits for them.
    assert!(
        (850..=950).contains(&handled),
        "{handled} of 1000 abandoned calls were delivered, expected about 900"
    );
}

#[test]
fn handlers_run_on_the_server_node() {
    Sim::new(2)
        .run(|| async {
            let (_, node, end) = counter_network(Rc::default());
            let caller = Node::new("caller");
            let ran_on = caller
                .spawn(async move { end.call::<WhereAmI>(&()).await })
                .await
                .unwrap();
            assert_eq!(ran_on, Ok(node.index()));
        })
        .unwrap();
}

#[test]
fn a_crashed_server_runs_no_handler_code() {
    Sim::new(3)
        .run(|| async {
            let handled = Rc::new(Cell::new(0));
            let (net, node, end) = counter_network(handled.clone());
            net.set_reliable(false);
            // Crashed while requests are on their way, and crashed before they are sent.
            let in_flight: Vec<_> = (0..20)
                .map(|_| {
                    let end = end.clone();
                    sim::spawn(async move { end.call::<Bump>(&()).await })
                })
                .collect();
            sim::yield_now().await;
            node.crash();
            for call in in_flight {
                assert_eq!(call.await.unwrap(), Err(RpcError::NoReply));
            }
            assert_eq!(end.call::<Bump>(&()).await, Err(RpcError::NoReply));
            assert_eq!(handled.get(), 0, "a crashed server's handler ran");
            assert_eq!(net.count("server"), 0);
        })
        .unwrap();
}

#[test]
fn latency_delays_requests_and_replies_by_seed() {
    let round_trip = |seed| {
        Sim::new(seed)
            .run(|| async {
                let (net, _, end) = counter_network(Rc::default());
                let t0 = sim::now();
                end.call::<Bump>(&()).await.unwrap();
                let instant = t0.elapsed();
                net.set_latency(Duration::from_millis(10)..Duration::from_millis(20));
                let t1 = sim::now();
                end.call::<Bump>(&()).await.unwrap();
                (instant, t1.elapsed())
            })
            .unwrap()
            .value
    };
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=10 {
        let (instant, delayed) = round_trip(seed);
        assert_eq!(instant, Duration::ZERO, "no latency by default");
        assert!(
            (Duration::from_millis(20)..Duration::from_millis(40)).contains(&delayed),
            "a round trip with 10-20 ms each way took {delayed:?}"
        );
        assert_eq!(round_trip(seed).1, delayed, "same seed, same delays");
        seen.insert(delayed);
    }
    assert!(seen.len() >= 9, "delays should vary by seed: {seen:?}");
}

#[test]
fn the_observer_sees_typed_requests_and_replies() {
    Sim::new(4)
        .run(|| async {
            let (net, node, end) = counter_network(Rc::default());
            let seen = Rc::new(RefCell::new(Vec::new()));
            let log = seen.clone();
            net.observe(move |d| {
                let value = match d.kind {
                    DeliveryKind::Request => d.args::<Bump>().map(|()| 0),
                    DeliveryKind::Reply => d.reply::<Bump>(),
                };
                log.borrow_mut()
                    .push((d.kind, d.from.index(), d.to.index(), value));
            });
            end.call::<Bump>(&()).await.unwrap();
            end.call::<Bump>(&()).await.unwrap();
            let (test, server) = (Node::current().index(), node.index());
            assert_eq!(
                *seen.borrow(),
                vec![
                    (DeliveryKind::Request, test, server, Some(0)),
                    (DeliveryKind::Reply, server, test, Some(1)),
                    (DeliveryKind::Request, test, server, Some(0)),
                    (DeliveryKind::Reply, server, test, Some(2)),
                ]
            );
        })
        .unwrap();
}

#[test]
fn reports_tell_services_with_the_same_method_name_apart() {
    let failure = Sim::new(5)
        .run(|| async {
            let (_, _, end) = counter_network(Rc::default());
            let _ = end.call::<Get>(&()).await;
            let _ = end.call::<other::Get>(&()).await;
        })
        .unwrap_err();
    let SimError::Deadlock { tasks, .. } = &failure.error else {
        panic!("expected a deadlock, got {}", failure.error);
    };
    // The first call's handler hangs: that is the one reported, under its own service.
    assert!(
        tasks.iter().any(|t| t.contains("handler of Counter.Get")),
        "{tasks:?}"
    );
    let failure = Sim::new(5)
        .run(|| async {
            let (_, _, end) = counter_network(Rc::default());
            let _ = end.call::<other::Get>(&()).await;
        })
        .unwrap_err();
    assert!(
        failure
            .error
            .to_string()
            .contains("handler of Directory.Get"),
        "{}",
        failure.error
    );
}
