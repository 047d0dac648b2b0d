//! `labs skeleton`: the student's starting point, generated from the reference solutions.
//!
//! The markers, in any `.rs` file of the workspace:
//!
//! ```text
//! fn get_state(&self) -> (u64, bool) {
//!     // BEGIN SOLUTION
//!     let core = self.core.lock();      <- removed, markers included
//!     (core.term(), core.is_leader())
//!     // END SOLUTION
//!     // BEGIN SKELETON
//!     // (0, false)                     <- kept, uncommented: `(0, false)`
//!     // END SKELETON
//! }
//! ```
//!
//! Everything else is copied byte for byte, so the skeleton and the reference solution cannot
//! drift apart. A region left open, or an END without a BEGIN, is an error naming the file and
//! line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Options of `labs skeleton`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory to write the student skeleton to (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
}

/// A malformed marker.
#[derive(Debug, PartialEq, Eq)]
pub struct MarkerError {
    line: usize,
    message: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    Plain,
    Solution,
    Skeleton,
}

/// The student's version of one source file.
pub fn strip(source: &str) -> Result<String, MarkerError> {
    let mut out = String::with_capacity(source.len());
    let mut region = Region::Plain;
    let mut opened = 0;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        let number = i + 1;
        let marker = line.trim();
        let error = |message: &str| MarkerError {
            line: number,
            message: message.to_string(),
        };
        let next = match (marker, region) {
            ("// BEGIN SOLUTION", Region::Plain) => Some(Region::Solution),
            ("// BEGIN SKELETON", Region::Plain) => Some(Region::Skeleton),
            ("// END SOLUTION", Region::Solution) | ("// END SKELETON", Region::Skeleton) => {
                Some(Region::Plain)
            }
            ("// BEGIN SOLUTION" | "// BEGIN SKELETON", _) => {
                return Err(error(&format!(
                    "region opened inside the region of line {opened}"
                )));
            }
            ("// END SOLUTION" | "// END SKELETON", _) => {
                return Err(error("END without its BEGIN"));
            }
            _ => None,
        };
        if let Some(next) = next {
            region = next;
            opened = number;
            continue;
        }
        match region {
            Region::Plain => out.push_str(line),
            Region::Solution => {}
            Region::Skeleton => out.push_str(&uncomment(line)),
        }
    }
    if region != Region::Plain {
        return Err(MarkerError {
            line: opened,
            message: "region never closed".into(),
        });
    }
    Ok(out)
}

/// `    // code` → `    code` (and a bare `//` → an empty line).
fn uncomment(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let body = rest
        .strip_prefix("// ")
        .or_else(|| rest.strip_prefix("//"))
        .unwrap_or(rest);
    format!("{}{body}", &line[..indent])
}

pub fn run(args: &Args) -> ExitCode {
    match generate(&args.out) {
        Ok(files) => {
            println!(
                "wrote the student skeleton to {} ({files} files with solutions removed)",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("labs skeleton: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Copies every tracked file of the workspace into `out`, stripping solution regions.
fn generate(out: &Path) -> Result<usize, String> {
    let root = crate::workspace_root();
    if out.exists()
        && out
            .read_dir()
            .map_err(|e| format!("{}: {e}", out.display()))?
            .next()
            .is_some()
    {
        return Err(format!("{} exists and is not empty", out.display()));
    }
    let listed = Command::new("git")
        .current_dir(&root)
        .args(["ls-files", "-z"])
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !listed.status.success() {
        return Err("git ls-files failed: is this a git checkout?".into());
    }
    let mut stripped = 0;
    for name in listed.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        let (from, to) = (root.join(&name), out.join(&name));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        if name.ends_with(".rs") {
            let source = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student = strip(&source).map_err(|e| format!("{name}:{e}"))?;
            stripped += usize::from(student != source);
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    Ok(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_solutions_and_uncomments_skeletons() {
        let source = "\
fn state() -> u64 {
    // BEGIN SOLUTION
    let x = 41;
    x + 1
    // END SOLUTION
    // BEGIN SKELETON
    // 0
    //
    // END SKELETON
}
";
        assert_eq!(
            strip(source).unwrap(),
            "fn state() -> u64 {\n    0\n    \n}\n"
        );
    }

    #[test]
    fn text_without_markers_is_unchanged() {
        let source = "// a comment\nfn f() {}\n// BEGIN SOLUTIONS is not a marker\n";
        assert_eq!(strip(source).unwrap(), source);
    }

    #[test]
    fn malformed_markers_name_the_line() {
        let open = "a\n// BEGIN SOLUTION\nb\n";
        assert_eq!(
            strip(open).unwrap_err().to_string(),
            "line 2: region never closed"
        );
        let stray = "a\n// END SKELETON\n";
        assert_eq!(
            strip(stray).unwrap_err().to_string(),
            "line 2: END without its BEGIN"
        );
        let nested = "// BEGIN SOLUTION\n// BEGIN SKELETON\n";
        assert_eq!(
            strip(nested).unwrap_err().to_string(),
            "line 2: region opened inside the region of line 1"
        );
        let crossed = "// BEGIN SOLUTION\n// END SKELETON\n";
        assert!(strip(crossed).is_err());
    }
}
