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
//! Where a solution region held code, the student finds a `// Your code here.` line (a region
//! of comments only, such as a module's documentation, leaves no marker). Everything else is
//! copied byte for byte, so the skeleton and the reference solution cannot drift apart. A
//! region left open, or an END without a BEGIN, is an error naming the file and line.
//!
//! The skeleton is the student's repository, not the teacher's: the teacher's tools and notes
//! ([`TEACHER_ONLY`]) stay out, and its `README.md` and `Makefile` are the student's
//! ([`labs/skeleton/`](STUDENT_FILES)), not the teacher's.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

/// What a student finds where a solution region held code.
pub const MARKER: &str = "// Your code here.";

/// Paths of the teacher's repository that the skeleton leaves out: CI, benchmarks, the
/// teacher's tools (this program; `labs/skeleton/` provides the student's own files).
pub const TEACHER_ONLY: &[&str] = &[".ci/", "BENCHMARKS.md", "labs/", "mutants/"];

/// The student's own versions of files (skeleton path, template path in this repository).
pub const STUDENT_FILES: &[(&str, &str)] = &[
    ("README.md", "labs/skeleton/README.md"),
    ("Makefile", "labs/skeleton/Makefile"),
];

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
    // The solution region being removed: its indentation, and whether it held code.
    let mut removed = (String::new(), false);
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
            if next == Region::Solution {
                let indent = &line[..line.len() - line.trim_start().len()];
                removed = (indent.to_string(), false);
            }
            if region == Region::Solution && removed.1 {
                out.push_str(&format!("{}{MARKER}\n", removed.0));
            }
            region = next;
            opened = number;
            continue;
        }
        match region {
            Region::Plain => out.push_str(line),
            Region::Solution => {
                let code = line.trim();
                removed.1 |= !code.is_empty() && !code.starts_with("//");
            }
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

/// Copies every tracked file of the workspace into `out`, stripping solution regions,
/// leaving out the teacher's files and putting in the student's own.
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
    let mut stripped = 0;
    for name in crate::tracked_files(&root)? {
        if is_teacher_only(&name) {
            continue;
        }
        let template = STUDENT_FILES
            .iter()
            .find(|(path, _)| *path == name)
            .map(|(_, template)| *template);
        let from = root.join(template.unwrap_or(&name));
        let to = out.join(&name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        if name.ends_with(".rs") {
            let source = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student = strip(&source).map_err(|e| format!("{name}:{e}"))?;
            stripped += usize::from(student != source);
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if name == "Cargo.toml" {
            let manifest = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student = without_teacher_members(&manifest)?;
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    Ok(stripped)
}

/// True for files of [`TEACHER_ONLY`] paths.
fn is_teacher_only(name: &str) -> bool {
    TEACHER_ONLY
        .iter()
        .any(|path| match path.strip_suffix('/') {
            Some(dir) => name.starts_with(path) || name == dir,
            None => name == *path,
        })
}

/// The workspace manifest without the members that [`TEACHER_ONLY`] leaves out.
fn without_teacher_members(manifest: &str) -> Result<String, String> {
    let mut out = String::with_capacity(manifest.len());
    let mut removed = 0;
    for line in manifest.split_inclusive('\n') {
        let member = line.trim().trim_end_matches(',').trim_matches('"');
        if line.trim().starts_with('"') && is_teacher_only(&format!("{member}/")) {
            removed += 1;
            continue;
        }
        out.push_str(line);
    }
    if removed == 0 {
        return Err(
            "Cargo.toml: the teacher's members (labs) were not found in the \
                    workspace's members list, one per line"
                .into(),
        );
    }
    Ok(out)
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
            "fn state() -> u64 {\n    // Your code here.\n    0\n    \n}\n"
        );
    }

    #[test]
    fn a_region_of_comments_only_leaves_no_marker() {
        let source = "\
// BEGIN SOLUTION
//! The teacher's module documentation.
//!
// END SOLUTION
// BEGIN SKELETON
// //! The student's.
// END SKELETON
// BEGIN SOLUTION
use std::fmt;

struct Hidden;
// END SOLUTION
";
        assert_eq!(
            strip(source).unwrap(),
            "//! The student's.\n// Your code here.\n"
        );
    }

    #[test]
    fn teacher_files_stay_out_and_members_follow() {
        assert!(is_teacher_only(".ci/run"));
        assert!(is_teacher_only("labs/src/main.rs"));
        assert!(is_teacher_only("BENCHMARKS.md"));
        assert!(!is_teacher_only("labrpc/src/lib.rs"));
        assert!(!is_teacher_only("labs.md"));
        let manifest =
            "[workspace]\nmembers = [\n    \"labrpc\",\n    \"labs\",\n    \"raft\",\n]\n";
        assert_eq!(
            without_teacher_members(manifest).unwrap(),
            "[workspace]\nmembers = [\n    \"labrpc\",\n    \"raft\",\n]\n"
        );
        assert!(without_teacher_members("[workspace]\nmembers = [\"a\"]\n").is_err());
        let root = crate::workspace_root();
        for (_, template) in STUDENT_FILES {
            assert!(root.join(template).is_file(), "{template} is missing");
        }
        let real = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(!without_teacher_members(&real).unwrap().contains("\"labs\""));
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
