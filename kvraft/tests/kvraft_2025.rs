//! The graded kvraft suite, edition 2025 (the original's `kvraft1/kvraft_test.go`): the
//! versioned key/value service on the student's rsm, without snapshots (part 4B, 13 tests) and
//! with them (part 4C, 9 tests; the rsm's own snapshot test is in `rsm_2025.rs`). Same
//! scenarios, server and client counts, network settings and limits as the original, in
//! virtual time. Every history of client operations is checked for linearizability, and an
//! undecided check fails (the original passes it).
//!
//! `make kvraft-2025-4b` runs part 4B (`cargo test -p kvraft --test kvraft_2025 -- 4b`);
//! replay a failure with the command it prints. `LAB_SEEDS=n` runs n seeds,
//! `RUST_LOG=kvraft=debug` shows your log lines.

mod harness_2025;

use harness_2025::{Generic, KvSpec, KvTester, MAX_RAFT_STATE, generic_test, generic_test_speed};
use labtest::Options;

/// Runs `GenericTest` with `spec`.
fn generic(spec: Generic) {
    labtest::run(Options::default(), move |cx| async move {
        generic_test(&cx, spec).await
    });
}

/// Five clients on five servers, with the faults given.
const fn many_clients(reliable: bool, crash: bool, partitions: bool) -> Generic {
    Generic {
        clients: 5,
        spec: KvSpec {
            reliable,
            ..KvSpec::new(5)
        },
        crash,
        partitions,
        random_keys: false,
    }
}

/// The linearizability tests: fifteen clients on seven servers, unreliable, restarts,
/// partitions, a hundred random keys.
const fn linearizable(max_raft_state: Option<usize>) -> Generic {
    Generic {
        clients: 15,
        spec: KvSpec {
            reliable: false,
            max_raft_state,
            ..KvSpec::new(7)
        },
        crash: true,
        partitions: true,
        random_keys: true,
    }
}

/// `spec` with snapshots at the 4C tests' `max_raft_state`.
const fn snapshots(spec: Generic) -> Generic {
    Generic {
        spec: KvSpec {
            max_raft_state: Some(MAX_RAFT_STATE),
            ..spec.spec
        },
        ..spec
    }
}

/// Runs a written-out scenario on `spec`'s cluster.
fn scenario<F, Fut>(spec: KvSpec, body: F)
where
    F: Fn(KvTester) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    labtest::run(Options::default(), move |cx| {
        let body = body.clone();
        async move { body(KvTester::new(&cx, spec)).await }
    });
}

// ---------------------------------------------------------------------------------------
// 4B: the service without snapshots

/// "4B basic": one client, five servers.
#[test]
fn basic_4b() {
    generic(Generic::basic());
}

/// "4B speed": 1000 puts at most 33 ms each on average.
#[test]
fn speed_4b() {
    labtest::run(Options::default(), |cx| async move {
        generic_test_speed(&cx, KvSpec::new(3)).await
    });
}

/// "4B many clients": five clients racing on one key.
#[test]
fn concurrent_4b() {
    generic(many_clients(true, false, false));
}

/// "4B many clients" on an unreliable network.
#[test]
fn unreliable_4b() {
    generic(many_clients(false, false, false));
}

/// "4B progress in majority", "no progress in minority", "completion after heal".
#[test]
fn one_partition_4b() {
    let spec = KvSpec {
        reliable: false,
        ..KvSpec::new(5)
    };
    scenario(
        spec,
        |ts| async move { harness_2025::one_partition(&ts).await },
    );
}

/// "4B partitions, one client".
#[test]
fn many_partitions_one_client_4b() {
    generic(Generic {
        partitions: true,
        ..Generic::basic()
    });
}

/// "4B partitions, many clients".
#[test]
fn many_partitions_many_clients_4b() {
    generic(many_clients(true, false, true));
}

/// "4B restarts, one client".
#[test]
fn persist_one_client_4b() {
    generic(Generic {
        crash: true,
        ..Generic::basic()
    });
}

/// "4B restarts, many clients".
#[test]
fn persist_concurrent_4b() {
    generic(many_clients(true, true, false));
}

/// "4B restarts, many clients" on an unreliable network.
#[test]
fn persist_concurrent_unreliable_4b() {
    generic(many_clients(false, true, false));
}

/// "4B restarts, partitions, many clients".
#[test]
fn persist_partition_4b() {
    generic(many_clients(true, true, true));
}

/// "4B restarts, partitions, many clients" on an unreliable network.
#[test]
fn persist_partition_unreliable_4b() {
    generic(many_clients(false, true, true));
}

/// "4B restarts, partitions, random keys, many clients": fifteen clients, seven servers.
#[test]
fn persist_partition_unreliable_linearizable_4b() {
    generic(linearizable(None));
}

// ---------------------------------------------------------------------------------------
// 4C: snapshots

/// "InstallSnapshot RPC": a lagging server is brought up to date with a snapshot.
#[test]
fn snapshot_rpc_4c() {
    let spec = KvSpec {
        max_raft_state: Some(MAX_RAFT_STATE),
        ..KvSpec::new(3)
    };
    scenario(
        spec,
        |ts| async move { harness_2025::snapshot_rpc(&ts).await },
    );
}

/// "snapshot size is reasonable".
#[test]
fn snapshot_size_4c() {
    let spec = KvSpec {
        max_raft_state: Some(MAX_RAFT_STATE),
        ..KvSpec::new(3)
    };
    scenario(
        spec,
        |ts| async move { harness_2025::snapshot_size(&ts).await },
    );
}

/// "4C speed": as `speed_4b`, with snapshots.
#[test]
fn speed_4c() {
    labtest::run(Options::default(), |cx| async move {
        let spec = KvSpec {
            max_raft_state: Some(MAX_RAFT_STATE),
            ..KvSpec::new(3)
        };
        generic_test_speed(&cx, spec).await
    });
}

/// "4C restarts, snapshots, one client".
#[test]
fn snapshot_recover_4c() {
    generic(snapshots(Generic {
        crash: true,
        ..Generic::basic()
    }));
}

/// "4C restarts, snapshots, many clients": twenty clients.
#[test]
fn snapshot_recover_many_clients_4c() {
    generic(snapshots(Generic {
        clients: 20,
        crash: true,
        ..Generic::basic()
    }));
}

/// "4C unreliable net, snapshots, many clients".
#[test]
fn snapshot_unreliable_4c() {
    generic(snapshots(many_clients(false, false, false)));
}

/// "4C unreliable net, restarts, snapshots, many clients".
#[test]
fn snapshot_unreliable_recover_4c() {
    generic(snapshots(many_clients(false, true, false)));
}

/// "4C unreliable net, restarts, partitions, snapshots, many clients".
#[test]
fn snapshot_unreliable_recover_concurrent_partition_4c() {
    generic(snapshots(many_clients(false, true, true)));
}

/// "4C unreliable net, restarts, partitions, snapshots, random keys, many clients": fifteen
/// clients, seven servers.
#[test]
fn snapshot_unreliable_recover_concurrent_partition_linearizable_4c() {
    generic(linearizable(Some(MAX_RAFT_STATE)));
}
