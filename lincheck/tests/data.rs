//! Every history of the Porcupine data set gets its expected verdict.

mod common;

use std::time::Duration;

use common::{manifest, porcupine_data};
use lincheck::formats::{parse_etcd, parse_porcupine_kv};
use lincheck::models::{KvModel, RegisterModel};
use lincheck::{Options, Verdict, check};

fn expected(s: &str) -> Verdict {
    match s {
        "linearizable" => Verdict::Linearizable,
        "not linearizable" => Verdict::NotLinearizable,
        other => panic!("unexpected verdict {other:?} in manifest"),
    }
}

fn run_family(format: &str, no_partition: bool, only: &[&str]) {
    let Some(dir) = porcupine_data() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, fmt, verdict) in manifest(&dir) {
        if fmt != format || (!only.is_empty() && !only.iter().any(|o| file.contains(o))) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&file)).expect("read history");
        let options = Options {
            partition: !no_partition,
            timeout: Some(Duration::from_secs(120)),
            ..Options::default()
        };
        let got = match fmt.as_str() {
            "etcd" => {
                let h = parse_etcd(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
                check(&RegisterModel, &h, &options).verdict
            }
            "porcupine-kv" => {
                let h = parse_porcupine_kv(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
                check(&KvModel, &h, &options).verdict
            }
            other => panic!("unknown format {other}"),
        };
        checked += 1;
        if got != expected(&verdict) {
            failures.push(format!("{file}: expected {verdict}, got {got}"));
        }
    }
    assert!(checked > 0, "no {format} file in the manifest");
    assert!(
        failures.is_empty(),
        "wrong verdicts:\n{}",
        failures.join("\n")
    );
    eprintln!("{checked} {format} histories got their expected verdicts");
}

#[test]
fn etcd_histories_get_expected_verdicts() {
    run_family("etcd", false, &[]);
}

#[test]
fn kv_histories_get_expected_verdicts() {
    run_family("porcupine-kv", false, &[]);
}

#[test]
fn kv_histories_unpartitioned_get_expected_verdicts() {
    // The whole map as one state (c01 and c10; c50 unsplit is far too big for anyone).
    run_family("porcupine-kv", true, &["c01", "c10"]);
}

#[test]
fn empty_etcd_log_is_linearizable() {
    let Some(dir) = porcupine_data() else { return };
    let text = std::fs::read_to_string(dir.join("jepsen/etcd_095.log")).expect("read");
    let h = parse_etcd(&text).expect("parse");
    assert!(h.is_empty());
    assert_eq!(
        check(&RegisterModel, &h, &Options::default()).verdict,
        Verdict::Linearizable
    );
}
