//! Shared helpers of the linearizability integration tests.
#![allow(dead_code)]

use lincheck::{Model, Operation};
use std::path::PathBuf;

/// The Porcupine data folder: `$PORCUPINE_DATA`, else `../shared/data/porcupine/` beside the
/// workspace. `None` (after saying so on stderr) when it is absent.
pub fn porcupine_data() -> Option<PathBuf> {
    let dir = match std::env::var_os("PORCUPINE_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/porcupine"),
    };
    if dir.join("manifest.tsv").is_file() {
        Some(dir)
    } else {
        // Past the test harness's output capture, so that the skip is seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "NOTE: Porcupine test data missing at {} (set PORCUPINE_DATA); this test was SKIPPED: it checks nothing and passes",
            dir.display()
        );
        None
    }
}

/// The manifest rows: (relative file, format, expected verdict text).
pub fn manifest(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("read manifest.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "manifest line {l:?}");
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// Is there an order of the operations that respects real time (closed intervals), where every
/// completed operation appears and each unknown-outcome one appears at most once?
pub fn brute_force<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        done: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        if ops
            .iter()
            .zip(done.iter())
            .all(|(o, &d)| d || o.ret.is_none())
        {
            return true;
        }
        for i in 0..ops.len() {
            if done[i] {
                continue;
            }
            // Every operation that returned before this one was called must be done already.
            let blocked = ops
                .iter()
                .enumerate()
                .any(|(j, o)| !done[j] && j != i && o.ret.is_some_and(|r| r < ops[i].call));
            if blocked {
                continue;
            }
            if let Some(next) = model.step(state, &ops[i].input, ops[i].output.as_ref()) {
                done[i] = true;
                let ok = go(model, ops, done, &next);
                done[i] = false;
                if ok {
                    return true;
                }
            }
        }
        false
    }
    let mut done = vec![false; ops.len()];
    go(model, ops, &mut done, &model.init())
}
