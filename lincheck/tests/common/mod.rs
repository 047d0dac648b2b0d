//! Shared helpers of the linearizability integration tests.
#![allow(dead_code)]

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
