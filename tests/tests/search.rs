//! Tests of the search (`labtest::search`) on a toy protocol: two clients increment a counter
//! on a server, either atomically (correct) or by reading then writing it (a lost update in
//! some orders of the messages).

use labrpc::sim::Node;
use labrpc::{Network, Server, Service};
use labtest::search::{self, Bounds, Search, Strategy};
use std::cell::Cell;
use std::rc::Rc;

labrpc::service! {
    service Counter {
        /// Reads the counter.
        rpc Get(()) -> u64;
        /// Sets it.
        rpc Put(u64) -> ();
        /// Adds to it.
        rpc Add(u64) -> ();
    }
}

const BOUNDS: Bounds = Bounds {
    depth: 8,
    drops: 1,
    holds: 1,
    actions: 0,
    deviations: u32::MAX,
};

/// Two clients each add one to the counter, retrying a call that got no reply; the counter
/// must end at 2 (a retried `Add` whose first reply was lost counts twice: the search finds
/// that too, so the correct protocol's search has no drops).
async fn two_increments(atomic: bool) {
    let net = Network::new();
    let value = Rc::new(Cell::new(0u64));
    let mut server = Server::new(Node::new("server"));
    let (read, write, add) = (value.clone(), value.clone(), value.clone());
    server.add_service(
        Service::new()
            .handle(Get, move |()| {
                let v = read.get();
                async move { v }
            })
            .handle(Put, move |v| {
                write.set(v);
                async {}
            })
            .handle(Add, move |v| {
                add.set(add.get() + v);
                async {}
            }),
    );
    net.add_server("server", server);
    let mut clients = Vec::new();
    for c in 0..2 {
        let end = net.make_end(format!("end{c}"));
        net.connect(format!("end{c}"), "server");
        net.enable(format!("end{c}"), true);
        clients.push(Node::new(format!("client{c}")).spawn(async move {
            // The second client starts later: only a message held past its start (or a
            // dropped one) loses an update.
            labrpc::sim::sleep(std::time::Duration::from_millis(10 * c)).await;
            if atomic {
                while end.call::<Add>(&1).await.is_err() {}
            } else {
                let v = loop {
                    if let Ok(v) = end.call::<Get>(&()).await {
                        break v;
                    }
                };
                while end.call::<Put>(&(v + 1)).await.is_err() {}
            }
        }));
    }
    for client in clients {
        client.await.expect("clients finish");
    }
    assert_eq!(value.get(), 2, "an increment was lost");
}

#[test]
fn depth_first_search_exhausts_a_correct_protocol() {
    let bounds = Bounds { drops: 0, ..BOUNDS };
    let found = search::search(&Search::new(bounds, 10_000), 1, |_| two_increments(true));
    assert!(found.failure.is_none(), "{:?}", found.failure);
    assert!(found.coverage.exhausted, "{:?}", found.coverage);
    // The same space, searched again: the same schedules.
    let again = search::search(&Search::new(bounds, 10_000), 1, |_| two_increments(true));
    assert_eq!(found.coverage.schedules, again.coverage.schedules);
    assert_eq!(found.coverage.last_round, again.coverage.last_round);
}

#[test]
fn depth_first_search_finds_the_lost_update_and_its_story_replays() {
    let found = search::search(&Search::new(BOUNDS, 10_000), 1, |_| two_increments(false));
    let (minimal, original) = found.failure.expect("the lost update is found");
    assert!(
        minimal.message.contains("an increment was lost"),
        "{}",
        minimal.message
    );
    assert!(minimal.deviations() >= 1, "the default order is correct");
    assert!(
        (minimal.deviations(), minimal.len()) <= (original.deviations(), original.len()),
        "minimising never makes it longer"
    );
    // The saved choice file replays the same failure.
    let file = minimal.choice_file("lost_update", 1);
    let (failure, story) =
        search::replay_text(&Search::new(BOUNDS, 1), &file, "lost_update", |_| {
            two_increments(false)
        })
        .expect("the file matches the run");
    let (check, message) = failure.expect("the replay fails too");
    assert_eq!(check, minimal.check);
    assert!(message.contains("an increment was lost"));
    assert!(story.contains("deliver client"), "{story}");
    assert!(story.contains("<- chosen"), "{story}");
    // A choice the run never offers is reported, not ignored.
    let wrong = file.replace("deliver client", "deliver nobody");
    let error = search::replay_text(&Search::new(BOUNDS, 1), &wrong, "lost_update", |_| {
        two_increments(false)
    })
    .unwrap_err();
    assert!(error.contains("was not offered"), "{error}");
}

#[test]
fn random_walks_and_pct_find_it_too_and_depend_on_the_seed() {
    for strategy in [Strategy::Random, Strategy::Pct(2)] {
        let search = Search {
            strategy,
            ..Search::new(BOUNDS, 500)
        };
        let found = search::search(&search, 1, |_| two_increments(false));
        assert!(found.failure.is_some(), "{strategy} finds the lost update");
        let schedules = |seed| {
            search::search(&search, seed, |_| two_increments(false))
                .coverage
                .schedules
        };
        // Which walk finds it depends on the seed (and is the same for the same seed).
        assert_eq!(schedules(1), schedules(1));
        assert!(
            (1..=5)
                .map(schedules)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1
        );
    }
}

#[test]
#[ignore = "run by a_failing_search_prints_a_command_that_replays_its_story"]
fn lost_update_child() {
    search::run(Search::new(BOUNDS, 10_000), |_| two_increments(false));
}

/// The search's failure report, as a student meets it: its replay command, run in a shell,
/// replays the saved story and fails the same way.
#[test]
fn a_failing_search_prints_a_command_that_replays_its_story() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let clean = |command: &mut std::process::Command| {
        for var in [
            "LAB_SEED",
            "LAB_SEARCH",
            "LAB_SEARCH_BUDGET",
            "LAB_CHOICES",
            "RUST_LOG",
        ] {
            command.env_remove(var);
        }
        command.current_dir(&workspace).env("CARGO", &cargo);
    };
    let text = |output: std::process::Output| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    };
    let mut first = std::process::Command::new(&cargo);
    first.args([
        "test",
        "-q",
        "-p",
        "labtest",
        "--test",
        "search",
        "--",
        "--ignored",
        "--exact",
        "lost_update_child",
    ]);
    clean(&mut first);
    let (passed, report) = text(first.output().expect("run cargo"));
    assert!(!passed, "the lost update was not found:\n{report}");
    assert!(report.contains("an increment was lost"), "{report}");
    assert!(report.contains("<- chosen"), "no story:\n{report}");
    let command = report
        .lines()
        .skip_while(|l| !l.starts_with("Replay exactly this run"))
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("no replay command in the report:\n{report}"))
        .to_string();
    assert!(command.starts_with("LAB_CHOICES="), "{command}");
    // The child test is ignored by default: the printed command plus `--ignored`.
    let mut replay = std::process::Command::new("sh");
    replay.args(["-c", &format!("{command} --ignored")]);
    clean(&mut replay);
    let (passed, replayed) = text(replay.output().expect("run the replay command"));
    assert!(!passed, "the replay passed:\n{replayed}");
    assert!(replayed.contains("running 1 test\n"), "{replayed}");
    assert!(
        replayed.contains("replayed ") && replayed.contains("an increment was lost"),
        "{replayed}"
    );
    assert!(replayed.contains("<- chosen"), "no story:\n{replayed}");
}

#[test]
fn partial_order_reduction_runs_fewer_schedules_and_misses_nothing() {
    let bounds = Bounds { drops: 0, ..BOUNDS };
    let with = search::search(&Search::new(bounds, 10_000), 1, |_| two_increments(true));
    let without = Search {
        por: false,
        ..Search::new(bounds, 10_000)
    };
    let without = search::search(&without, 1, |_| two_increments(true));
    assert!(with.coverage.exhausted && without.coverage.exhausted);
    assert!(
        with.coverage.last_round < without.coverage.last_round,
        "{} schedules with partial-order reduction, {} without",
        with.coverage.last_round,
        without.coverage.last_round
    );
    let found = search::search(&Search::new(BOUNDS, 10_000), 1, |_| two_increments(false));
    assert!(found.failure.is_some());
}

#[test]
fn a_prune_cuts_every_branch_where_it_holds() {
    let found = search::search(&Search::new(BOUNDS, 10_000), 1, |_| async {
        labrpc::sim::search::prune("nothing to see", || true);
        two_increments(false).await;
    });
    // Pruned at the first choice point: one schedule, the default one, which is correct.
    assert!(found.failure.is_none());
    assert!(found.coverage.exhausted);
    assert_eq!((found.coverage.schedules, found.coverage.pruned), (1, 1));
}
