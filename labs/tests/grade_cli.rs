//! `labs grade`, `labs merge`, `labs replay` and `labs trace` refuse what they cannot do: a
//! clear message and exit status 2, before building anything.

use std::process::Command;

fn labs(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_labs"))
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

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("labs-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_unknown_lab_or_part_is_an_error() {
    for args in [
        &["grade", "nonsense"][..],
        &["grade", "--lab", "nonsense"],
        &["grade", "3z"],
    ] {
        let (code, text) = labs(args);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("unknown lab or part"), "{text}");
        assert!(text.contains("mapreduce, kvsrv, raft"), "{text}");
        assert!(!text.contains("score"), "no table for an empty run: {text}");
    }
}

#[test]
fn zero_seeds_is_an_error() {
    let (code, text) = labs(&["grade", "--seeds", "0"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--seeds"), "{text}");
}

#[test]
fn a_bad_partition_is_an_error() {
    for bad in ["0/2", "3/2", "2", "x/y"] {
        let (code, text) = labs(&["grade", "raft", "--partition", bad]);
        assert_eq!(code, Some(2), "{bad}: {text}");
        assert!(text.contains("K/N"), "{text}");
    }
}

#[test]
fn a_directory_that_is_not_a_submission_is_an_error() {
    let dir = scratch("notes");
    std::fs::write(dir.join("notes.txt"), "no Cargo.toml here").unwrap();
    let (code, text) = labs(&["grade", "raft", "--submission", dir.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not a submission"), "{text}");
    let (code, text) = labs(&["grade", "raft", "--submission", "/no/such/dir"]);
    assert_eq!(code, Some(2), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_course_file_is_an_error_naming_the_key() {
    let dir = scratch("course");
    let course = dir.join("course.toml");
    std::fs::write(
        &course,
        "edition = \"2024\"\nseeds = 2\n[[lab]]\nname = \"raft\"\npoints = { \"3A\" = 10 }\npionts = 3\n",
    )
    .unwrap();
    let (code, text) = labs(&["grade", "--course", course.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("pionts"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_refuses_what_is_not_a_report() {
    let dir = scratch("merge");
    let file = dir.join("part.json");
    std::fs::write(&file, "{\"hello\": 1}").unwrap();
    let (code, text) = labs(&["merge", file.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not a JSON report"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_and_trace_name_a_test_that_exists() {
    let (code, text) = labs(&["replay", "no_such_test_3a", "--seed", "1"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("no graded suite has a test named"), "{text}");
    let (code, text) = labs(&["trace", "wc_real", "--html", "/tmp/x.html"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("real processes"), "{text}");
    let (code, text) = labs(&["replay", "basic_2", "--lab", "rafty"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("unknown lab"), "{text}");
}

#[test]
fn handout_of_an_unknown_lab_is_an_error() {
    let (code, text) = labs(&["handout", "nonsense"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("raft"), "{text}");
}
