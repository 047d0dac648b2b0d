//! The report formats, on a real report (`fixtures/report-3-submissions.json`: `labs grade
//! raft --seeds 2` over the three smoke-test submissions of `labs/scripts/make-submissions`):
//! Gradescope's results.json validates against the schema kept in `labs/schemas/`, JUnit XML
//! parses and counts what the report holds, and `labs merge` of the report alone gives it
//! back.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-3-submissions.json")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labs-formats-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `labs merge FIXTURE --format FORMAT --out OUT`; its exit code (1: some runs failed).
fn merge_to(format: &str, out: &Path) -> Option<i32> {
    let output = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args([
            "merge",
            fixture().to_str().unwrap(),
            "--format",
            format,
            "--out",
        ])
        .arg(out)
        .output()
        .expect("run labs merge");
    assert!(
        output.status.code() == Some(0) || output.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.status.code()
}

fn report() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap()
}

#[test]
fn gradescope_results_validate_against_the_schema() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/gradescope-results.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    // The schema is not vacuous: it refuses what Gradescope would.
    for bad in [
        serde_json::json!({"tests": [{"name": "x", "status": "passed"}]}),
        serde_json::json!({"score": 1, "tests": [{"score": 1, "status": "ok"}]}),
        serde_json::json!({"score": 1, "visibility": "sometimes"}),
        serde_json::json!({"score": "ten"}),
        serde_json::json!({"score": 1, "colour": "blue"}),
    ] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
    let dir = scratch("gradescope");
    merge_to("gradescope", &dir);
    let report = report();
    let names: Vec<&str> = report["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3);
    for name in names {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let results: serde_json::Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&results)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let tests = results["tests"].as_array().unwrap();
        assert!(!tests.is_empty());
        let total: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
        assert!(
            (total - results["score"].as_f64().unwrap()).abs() < 0.1,
            "{name}"
        );
        if name.starts_with("bug-") {
            let failed = tests.iter().find(|t| t["status"] == "failed").unwrap();
            let output = failed["output"].as_str().unwrap();
            assert!(output.contains("cargo test -p raft"), "{output}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn junit_parses_and_counts_every_run() {
    let dir = scratch("junit");
    let path = dir.join("grades.xml");
    assert_eq!(merge_to("junit", &path), Some(1), "the bugs fail");
    let xml = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let report = report();
    let records = report["records"].as_array().unwrap();
    let failed = records.iter().filter(|r| r["verdict"] == "failed").count();
    assert_eq!(
        root.attribute("tests"),
        Some(records.len().to_string().as_str())
    );
    assert_eq!(
        root.attribute("failures"),
        Some(failed.to_string().as_str())
    );
    let mut cases = 0;
    let mut failures = 0;
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        for attribute in ["name", "tests", "failures", "errors", "time"] {
            assert!(
                suite.attribute(attribute).is_some(),
                "testsuite {attribute}"
            );
        }
        let in_suite: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(
            suite.attribute("tests"),
            Some(in_suite.len().to_string().as_str())
        );
        for case in in_suite {
            cases += 1;
            for attribute in ["classname", "name", "time"] {
                assert!(case.attribute(attribute).is_some(), "testcase {attribute}");
            }
            if let Some(failure) = case.children().find(|n| n.has_tag_name("failure")) {
                failures += 1;
                assert!(failure.attribute("message").is_some());
                assert!(failure.text().unwrap_or("").contains("replay: "));
            }
        }
    }
    assert_eq!((cases, failures), (records.len(), failed));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merging_one_whole_report_gives_it_back() {
    let dir = scratch("json");
    let path = dir.join("again.json");
    merge_to("json", &path);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(again, report());
    let _ = std::fs::remove_dir_all(&dir);
}
