//! Tests of the shared cluster harness: connectivity, partitions, shutdown and restart with
//! the persister, named groups side by side.

use labrpc::RpcError;
use labrpc::sim::{Node, Sim};
use labrpc::{Network, Service};
use labtest::cluster::{EndMaker, Group, GroupSpec, Started};
use std::cell::Cell;
use std::rc::Rc;

labrpc::service! {
    service Probe {
        /// Answers with the server's index and generation.
        rpc Who(()) -> (usize, u64);
    }
}

/// A group whose servers answer `Who`, and count how often they were killed.
fn probe_group(net: &Network, spec: GroupSpec, kills: Rc<Cell<u32>>) -> Group<usize> {
    Group::new(net, spec, move |start| {
        let (index, generation) = (start.index, start.generation);
        let kills = kills.clone();
        Started::new(index)
            .service(Service::new().handle(Who, move |()| async move { (index, generation) }))
            .on_kill(move || kills.set(kills.get() + 1))
    })
}

/// Which servers `from` reaches, in index order.
async fn reachable(group: &Group<usize>, from: usize) -> Vec<usize> {
    let mut reached = Vec::new();
    for (to, end) in group.ends(from).iter().enumerate() {
        if end.call::<Who>(&()).await.is_ok() {
            reached.push(to);
        }
    }
    reached
}

#[test]
fn connect_disconnect_and_partition() {
    Sim::new(1)
        .run(|| async {
            let net = Network::new();
            let group = probe_group(&net, GroupSpec::new(5), Rc::default());
            assert_eq!(
                reachable(&group, 0).await,
                Vec::<usize>::new(),
                "starts disconnected"
            );
            group.connect_all();
            assert_eq!(reachable(&group, 0).await, vec![0, 1, 2, 3, 4]);
            group.disconnect(3);
            assert_eq!(reachable(&group, 0).await, vec![0, 1, 2, 4]);
            assert_eq!(reachable(&group, 3).await, Vec::<usize>::new());
            group.partition(&[&[0, 1], &[2, 3, 4]]);
            assert_eq!(reachable(&group, 1).await, vec![0, 1]);
            assert_eq!(reachable(&group, 3).await, vec![2, 3, 4]);
            // Reconnecting a server respects the partition.
            group.disconnect(2);
            group.connect(2);
            assert_eq!(reachable(&group, 2).await, vec![2, 3, 4]);
            group.connect_all();
            assert_eq!(reachable(&group, 4).await, vec![0, 1, 2, 3, 4]);
        })
        .unwrap();
}

#[test]
fn calls_cut_one_way() {
    Sim::new(1)
        .run(|| async {
            let net = Network::new();
            let group = probe_group(&net, GroupSpec::new(3), Rc::default());
            group.connect_all();
            group.cut_calls(&[1, 2], &[0]);
            // Server 0 still calls the others and hears their replies; they cannot call it.
            assert_eq!(reachable(&group, 0).await, vec![0, 1, 2]);
            assert_eq!(reachable(&group, 1).await, vec![1, 2]);
            assert_eq!(reachable(&group, 2).await, vec![1, 2]);
            // Reconnecting a server keeps the cut, in its direction only.
            group.disconnect(0);
            assert_eq!(reachable(&group, 0).await, Vec::<usize>::new());
            group.connect(0);
            assert_eq!(reachable(&group, 0).await, vec![0, 1, 2]);
            assert_eq!(reachable(&group, 1).await, vec![1, 2]);
            group.connect_all();
            assert_eq!(reachable(&group, 1).await, vec![0, 1, 2]);
            group.cut_calls(&[0], &[2]);
            group.partition(&[&[0, 1, 2]]);
            assert_eq!(
                reachable(&group, 0).await,
                vec![0, 1, 2],
                "a partition replaces the cut"
            );
        })
        .unwrap();
}

#[test]
fn shutdown_and_restart() {
    Sim::new(2)
        .run(|| async {
            let net = Network::new();
            let kills = Rc::new(Cell::new(0));
            let group = probe_group(&net, GroupSpec::new(3), kills.clone());
            group.connect_all();
            group.persister(1).save(b"state".to_vec(), b"snap".to_vec());
            let before = group.generation(1);

            group.shutdown(1);
            assert_eq!(kills.get(), 1, "the kill hook runs once");
            assert!(group.server(1).is_none());
            assert!(!group.node(1).is_up());
            assert!(group.ends(0)[1].call::<Who>(&()).await.is_err());
            group.shutdown(1);
            assert_eq!(kills.get(), 1, "a stopped server is not killed again");

            group.start(1);
            group.connect(1);
            let (index, generation) = group.ends(0)[1].call::<Who>(&()).await.unwrap();
            assert_eq!(index, 1);
            assert!(
                generation > before,
                "a new incarnation has a newer generation"
            );
            assert_eq!(group.persister(1).read_raft_state(), b"state");
            assert_eq!(group.log_size(), 5);
            assert_eq!(group.snapshot_size(), 4);
        })
        .unwrap();
}

#[test]
fn named_groups_share_a_network() {
    Sim::new(3)
        .run(|| async {
            let net = Network::new();
            let a = probe_group(&net, GroupSpec::new(2).named("100"), Rc::default());
            let b = probe_group(&net, GroupSpec::new(2).named("101"), Rc::default());
            a.connect_all();
            b.connect_all();
            assert_eq!(a.server_name(1).to_string(), "server-100-1");
            assert_eq!(b.node(0).name(), "101-0");
            assert_eq!(reachable(&a, 0).await, vec![0, 1]);
            assert_eq!(reachable(&b, 1).await, vec![0, 1]);
            a.shutdown(0);
            assert_eq!(
                reachable(&b, 0).await,
                vec![0, 1],
                "other groups are unaffected"
            );
        })
        .unwrap();
}

/// This binary has no counting allocator: asking to count must fail loudly, never report 0.
#[test]
fn counting_without_the_allocator_is_an_error() {
    let failure = Sim::new(4)
        .run(|| async { labtest::alloc::start_counting() })
        .unwrap_err();
    assert!(
        failure.error.to_string().contains("#[global_allocator]"),
        "{}",
        failure.error
    );
}

#[test]
fn clients_have_their_own_ends() {
    Sim::new(5)
        .run(|| async {
            let net = Network::new();
            let group = probe_group(&net, GroupSpec::new(3), Rc::default());
            group.connect_all();
            let reaches = |client: &labtest::cluster::Client| {
                let ends = client.ends().to_vec();
                async move {
                    let mut reached = Vec::new();
                    for (j, end) in ends.iter().enumerate() {
                        if end.call::<Who>(&()).await.is_ok() {
                            reached.push(j);
                        }
                    }
                    reached
                }
            };
            let a = group.make_client(&[0, 1, 2]);
            let b = group.make_client(&[2]);
            assert_eq!(reaches(&a).await, vec![0, 1, 2]);
            assert_eq!(reaches(&b).await, vec![2]);
            group.disconnect_client(&a, &[0]);
            group.connect_client(&b, &[0]);
            assert_eq!(reaches(&a).await, vec![1, 2]);
            assert_eq!(reaches(&b).await, vec![0, 2]);
            let ends = a.ends().to_vec();
            group.delete_client(a);
            assert!(ends[1].call::<Who>(&()).await.is_err(), "a deleted client");
            // Partitions are between servers: clients keep their links.
            group.partition(&[&[0], &[1, 2]]);
            assert_eq!(reaches(&b).await, vec![0, 2]);
        })
        .unwrap();
}

#[test]
fn end_makers_reach_servers_by_name_at_run_time() {
    Sim::new(6)
        .run(|| async {
            let net = Network::new();
            let a = probe_group(&net, GroupSpec::new(2).named("100"), Rc::default());
            let b = probe_group(&net, GroupSpec::new(3).named("101"), Rc::default());
            a.connect_all();
            b.connect_all();
            let maker = EndMaker::new(&net, "100-0.1");
            let end = maker.make_end("server-101-2");
            assert_eq!(end.call::<Who>(&()).await.unwrap().0, 2);
            assert_eq!(end.name().to_string(), "100-0.1#1->server-101-2");
            // A name nobody serves (yet): the call fails, nothing panics.
            let nobody = maker.make_end("server-102-0");
            assert_eq!(nobody.call::<Who>(&()).await, Err(RpcError::NoReply));
            // Ends made by name follow the server through restarts.
            b.start(2);
            b.connect(2);
            assert_eq!(end.call::<Who>(&()).await.unwrap().0, 2);
            // Disconnecting cuts only this maker's ends, those made later included, until it
            // is connected again.
            let other = EndMaker::new(&net, "client-1");
            let other_end = other.make_end("server-101-0");
            maker.disconnect_all();
            assert!(end.call::<Who>(&()).await.is_err());
            assert!(other_end.call::<Who>(&()).await.is_ok());
            let fresh = maker.make_end("server-101-1");
            assert!(
                fresh.call::<Who>(&()).await.is_err(),
                "made while disconnected"
            );
            maker.connect_all();
            assert!(end.call::<Who>(&()).await.is_ok());
            assert!(fresh.call::<Who>(&()).await.is_ok());
            maker.delete_all();
            assert!(fresh.call::<Who>(&()).await.is_err());
            // Names keep counting after a delete: no name is reused.
            assert_eq!(
                maker.make_end("server-101-1").name().to_string(),
                "100-0.1#4->server-101-1"
            );
            assert_eq!(maker.made(), 4);
        })
        .unwrap();
}

/// A test that passes with a warning shows it (the tester's "term changed even though there
/// were no failures", say); warnings of the servers' own code are theirs to show.
#[test]
fn an_exited_group_leaves_its_name_to_a_fresh_one() {
    Sim::new(1)
        .run(|| async {
            let net = Network::new();
            let kills = Rc::new(Cell::new(0));
            let old = probe_group(&net, GroupSpec::new(2).named("7"), kills.clone());
            old.connect_all();
            old.start(1); // a second incarnation: its first ends must go too
            old.connect_all();
            old.exit();
            assert_eq!(kills.get(), 3, "every incarnation was killed");
            // Same server and end names: no name is taken.
            let fresh = probe_group(&net, GroupSpec::new(2).named("7"), Rc::default());
            fresh.connect_all();
            let (who, generation) = fresh.ends(0)[1].call::<Who>(&()).await.unwrap();
            assert_eq!(
                (who, generation),
                (1, 1),
                "the fresh group's own server answers"
            );
        })
        .unwrap();
}

#[test]
fn a_passing_test_keeps_the_tests_own_warnings() {
    let passed = labtest::try_run(&labtest::Options::default(), 1, |_cx| async {
        log::warn!("term changed even though there were no failures");
        Node::new("server")
            .spawn(async { log::warn!("a server's own warning") })
            .await
            .unwrap();
    })
    .unwrap();
    assert_eq!(
        passed.warnings,
        ["term changed even though there were no failures"]
    );
}

/// The leak check needs the counting allocator; without it, it says so rather than passing.
/// (This binary does not install it.)
#[test]
fn the_leak_check_refuses_a_binary_that_does_not_count() {
    let caught = std::panic::catch_unwind(|| {
        labtest::assert_seeds_leave_nothing(&labtest::Options::default(), 1..=2, |_| async {})
    })
    .expect_err("nothing is counted here");
    let message = caught
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| caught.downcast_ref::<String>().map(String::as_str))
        .expect("a message");
    assert!(message.contains("not being counted"), "{message}");
}
