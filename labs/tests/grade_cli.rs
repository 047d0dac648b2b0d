//! `labs grade` refuses what it cannot grade: a clear message and a non-zero exit, before
//! building anything.

use std::process::Command;

fn grade(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_labs"))
        .arg("grade")
        .args(args)
        .output()
        .expect("run labs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn an_unknown_lab_is_an_error() {
    let (code, text) = grade(&["--lab", "nonsense"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("unknown lab \"nonsense\""), "{text}");
    assert!(
        text.contains("labrpc, mapreduce, kvsrv, raft, kvraft, shardctrler, shardkv"),
        "{text}"
    );
    assert!(!text.contains("score"), "no table for an empty run: {text}");
}

#[test]
fn zero_seeds_is_an_error() {
    let (code, text) = grade(&["--seeds", "0"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--seeds"), "{text}");
}
