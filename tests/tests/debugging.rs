//! The debugging loop, end to end, as a student meets it through cargo.
//!
//! - For every graded suite, make one test fail, take the replay command its report prints,
//!   run that command as a student would, and check that it reruns the same test with the same
//!   seed (and only that test).
//! - A bad switch stops a suite with one message, not one failure per test.
//! - `LAB_CHECK_DETERMINISM=1` says that it ran; with `LAB_SEEDS`, a failing seed's log lines
//!   carry the seed.
//!
//! The failure is induced with `LABTEST_INDUCE_FAILURE=1`, which the harness honours only for
//! this purpose (the grader removes it from the environment of the suites it runs). The
//! replayed command runs without it, and with `LAB_SEEDS=50` in its environment: the printed
//! command must pin the seed count itself.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (this package lives in `tests/`).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A cargo command with none of the harness's switches set, whatever the caller's
/// environment says.
fn clean(mut command: Command) -> Command {
    for var in [
        "LAB_SEED",
        "LAB_SEEDS",
        "LAB_CHECK_DETERMINISM",
        "LAB_WATCHDOG_SECS",
        "LABTEST_INDUCE_FAILURE",
        "LAB_VERBOSE",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command.current_dir(workspace());
    command
}

fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Fails `test` of `package`'s target `target` with seed 5, then runs the printed replay
/// command and checks what it ran.
fn replay_reruns(package: &str, target: &str, test: &str) {
    let seed = 5;
    let mut first = clean(Command::new(cargo()));
    first
        .args([
            "test", "-q", "-p", package, "--test", target, "--", "--exact", test,
        ])
        .env("LABTEST_INDUCE_FAILURE", "1")
        .env("LAB_SEED", seed.to_string());
    let output = first.output().expect("run cargo");
    let text = output_text(&output);
    assert!(
        !output.status.success(),
        "the induced failure did not fail:\n{text}"
    );
    let command = text
        .lines()
        .skip_while(|l| !l.starts_with("Replay exactly this run"))
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("no replay command in the report:\n{text}"))
        .to_string();
    assert!(
        command.contains(&format!("--test {target} ")),
        "the replay command does not select the test target {target}: {command}"
    );

    let mut replay = clean(Command::new("sh"));
    replay
        .args(["-c", &command])
        .env("LAB_SEEDS", "50")
        .env("CARGO", cargo());
    let output = replay.output().expect("run the replay command");
    let text = output_text(&output);
    // Exactly one test ran: this one, with this seed (whether it passes or, in a student's
    // unfinished skeleton, fails).
    assert!(
        text.contains("running 1 test\n"),
        "`{command}` did not run exactly one test:\n{text}"
    );
    let summaries: Vec<&str> = text.lines().filter(|l| l.contains("Passed --")).collect();
    let failed_with = format!("FAILED with seed {seed} ");
    let passed = summaries.len() == 1
        && summaries[0].contains(&format!(" seed={seed} "))
        && summaries[0].trim_end().ends_with(&format!(" {test}"));
    let failed = summaries.is_empty() && text.contains(&failed_with);
    assert!(
        passed || failed,
        "`{command}` did not rerun {test} with seed {seed} alone:\n{text}"
    );
    assert!(
        !text.contains("induced failure"),
        "the replay inherited the induced failure:\n{text}"
    );
}

#[test]
fn replay_command_reruns_the_same_test_and_seed_in_every_suite() {
    // The graded suites, whose test file is named like its package, or not.
    replay_reruns("labrpc", "labrpc", "basic");
    replay_reruns("mapreduce", "mr_sim", "wc_sim");
    replay_reruns("raft", "raft", "initial_election_3a");
    replay_reruns("kvsrv", "kvsrv_2024", "basic_2");
    replay_reruns("kvraft", "kvraft_2024", "basic_4a");
    replay_reruns("kvraft", "rsm_2025", "leader_partition_4a");
    replay_reruns("kvraft", "kvraft_2025", "one_partition_4b");
    replay_reruns("shardctrler", "shardctrler", "basic_leave_join");
    replay_reruns("shardkv", "shardkv_2024", "static_shards_5a");
    replay_reruns("shardkv", "shardkv_2025", "join_basic_5a");
}

/// Runs the labrpc suite (small and quick) with these switches; returns success and output.
fn labrpc_suite(vars: &[(&str, &str)], filter: &[&str]) -> (bool, String) {
    suite("labrpc", vars, filter)
}

/// Runs the suite `package` (its test target of the same name) with these switches.
fn suite(package: &str, vars: &[(&str, &str)], filter: &[&str]) -> (bool, String) {
    let mut command = clean(Command::new(cargo()));
    command.args(["test", "-q", "-p", package, "--test", package, "--"]);
    command.args(filter);
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("run cargo");
    (output.status.success(), output_text(&output))
}

#[test]
fn a_bad_switch_stops_the_suite_with_one_message() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("LAB_SEEDS", "0")], "LAB_SEEDS=0"),
        (
            &[("LAB_SEED", "18446744073709551615"), ("LAB_SEEDS", "2")],
            "past the largest seed",
        ),
        (
            &[("LAB_CHECK_DETERMINISM", "no")],
            "LAB_CHECK_DETERMINISM=\"no\"",
        ),
        (&[("LAB_WATCHDOG_SECS", "abc")], "LAB_WATCHDOG_SECS=\"abc\""),
        (&[("LAB_SEED", "-1")], "LAB_SEED=\"-1\""),
    ];
    for (vars, needle) in cases {
        let (ok, text) = labrpc_suite(vars, &[]);
        assert!(!ok, "{vars:?} was accepted:\n{text}");
        assert_eq!(
            text.matches(needle).count(),
            1,
            "{vars:?}: the message must appear exactly once:\n{text}"
        );
        assert!(
            !text.contains("panicked"),
            "{vars:?}: a bad switch must not fail test by test:\n{text}"
        );
    }
    // The largest seed on its own is a seed like any other.
    let (ok, text) = labrpc_suite(
        &[("LAB_SEED", "18446744073709551615")],
        &["--exact", "basic"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("seed=18446744073709551615"), "{text}");
}

#[test]
fn the_determinism_check_says_that_it_ran() {
    let (ok, text) = labrpc_suite(
        &[("LAB_CHECK_DETERMINISM", "1"), ("LAB_SEEDS", "3")],
        &["--exact", "basic"],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("Determinism checked: 3 seeds of basic ran twice each with identical traces"),
        "{text}"
    );
    let (ok, text) = labrpc_suite(&[("LAB_CHECK_DETERMINISM", "0")], &["--exact", "basic"]);
    assert!(ok && !text.contains("Determinism checked"), "{text}");
}

#[test]
fn log_lines_of_failing_seeds_carry_their_seed() {
    // Raft logs its elections at debug level.
    let (ok, text) = suite(
        "raft",
        &[
            ("LAB_SEEDS", "3"),
            ("LAB_SEED", "40"),
            ("RUST_LOG", "raft=debug"),
            ("LABTEST_INDUCE_FAILURE", "1"),
        ],
        &["--exact", "initial_election_3a"],
    );
    assert!(!ok, "{text}");
    for seed in 40..43 {
        assert!(
            text.contains(&format!("---- log of seed {seed} ----")),
            "{text}"
        );
    }
    let log_lines: Vec<&str> = text.lines().filter(|l| l.contains(" DEBUG raft")).collect();
    assert!(!log_lines.is_empty(), "no log lines:\n{text}");
    for line in log_lines {
        assert!(
            line.starts_with("[seed=4"),
            "a log line without its seed: {line}"
        );
    }
}

/// The child of [`warnings_are_counted_per_test_and_listed_at_the_end`]: passes on every
/// seed, with the Raft tester's warning on odd seeds. (Ignored: run alone it only warns.)
#[test]
#[ignore = "run by warnings_are_counted_per_test_and_listed_at_the_end"]
fn warning_child_warns_on_odd_seeds() {
    labtest::run(labtest::Options::default(), |cx| async move {
        if cx.seed() % 2 == 1 {
            log::warn!("term changed even though there were no failures");
        }
    });
}

/// Runs the child above with these switches.
fn warning_child(vars: &[(&str, &str)]) -> String {
    let mut command = clean(Command::new(cargo()));
    command.args([
        "test",
        "-q",
        "-p",
        "labtest",
        "--test",
        "debugging",
        "--",
        "--ignored",
        "--exact",
        "warning_child_warns_on_odd_seeds",
    ]);
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("run cargo");
    let text = output_text(&output);
    assert!(output.status.success(), "{text}");
    text
}

#[test]
fn warnings_are_counted_per_test_and_listed_at_the_end() {
    // Many seeds: one line for the test, its warning counted across the seeds; the end of
    // the run lists the test with a command that replays the first seed that warned.
    let text = warning_child(&[("LAB_SEEDS", "50"), ("LAB_SEED", "10")]);
    assert_eq!(text.matches("Passed --").count(), 1, "{text}");
    assert!(
        text.contains("Passed -- 50/50 seeds"),
        "one line for the test: {text}"
    );
    let warning = "term changed even though there were no failures";
    assert!(
        text.contains(&format!(
            "warning on 25 of 50 seeds (first: seed 11): {warning}"
        )),
        "{text}"
    );
    let end = text
        .find("Passed with warnings")
        .unwrap_or_else(|| panic!("no end-of-run list: {text}"));
    assert!(
        end > text.find("test result:").expect("libtest's closing line"),
        "the list comes after the last test: {text}"
    );
    let list = &text[end..];
    assert!(
        list.contains(&format!(
            "warning_child_warns_on_odd_seeds: on 25 of 50 seeds: {warning}"
        )),
        "{list}"
    );
    assert!(
        list.contains(
            "LAB_SEED=11 LAB_SEEDS=1 cargo test -p labtest --test debugging -- --exact \
             warning_child_warns_on_odd_seeds"
        ),
        "{list}"
    );
    // Asked for, every seed's own line, each warning with its seed.
    let text = warning_child(&[("LAB_SEEDS", "4"), ("LAB_VERBOSE", "1")]);
    assert_eq!(text.matches("Passed --").count(), 5, "{text}");
    assert!(
        text.contains(&format!("warning (seed 3): {warning}")),
        "{text}"
    );
    // One seed: its line, the warning with its seed, and the list at the end.
    let text = warning_child(&[("LAB_SEED", "7")]);
    assert!(
        text.contains(&format!("warning (seed 7): {warning}")),
        "{text}"
    );
    assert!(text.contains("on 1 of 1 seed: "), "{text}");
    // No warning, no list.
    let text = warning_child(&[("LAB_SEED", "8")]);
    assert!(!text.contains("Passed with warnings"), "{text}");
}
