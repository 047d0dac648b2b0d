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
//!
//! A lab may come in several editions (kvsrv: 2024 and 2025), of which a course ships one
//! (`--edition`, default 2024). A file belongs to an edition when a component of its path is
//! `v<edition>` or ends with `_<edition>` (`kvsrv/src/v2025/lock.rs`,
//! `kvsrv/tests/mem_2024.rs`): the other editions' files are left out. Inside a shared file,
//! the lines between `// BEGIN EDITION 2025` and `// END EDITION 2025` are kept (without the
//! markers) only in the 2025 skeleton; in Markdown files (the handouts) the markers are
//! `<!-- BEGIN EDITION 2025 -->` and `<!-- END EDITION 2025 -->`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use crate::manifest::{EDITIONS, edition_of};

/// Options of `labs skeleton`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory to write the student skeleton to (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
    /// The edition to ship of the labs that come in several (kvsrv): its student files and
    /// suites only.
    #[arg(long, default_value = "2024", value_parser = clap::builder::PossibleValuesParser::new(EDITIONS))]
    edition: String,
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
/// teacher's tools (this program; `labs/skeleton/` provides the student's own files) and their
/// guide (docs/grading.md).
pub const TEACHER_ONLY: &[&str] = &[
    ".ci/",
    "BENCHMARKS.md",
    "docs/grading.md",
    "docs/suite-strength.md",
    "labs/",
    "mutants/",
];

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

/// The student's version of one source file, for the skeleton of `edition`.
pub fn strip(source: &str, edition: &str) -> Result<String, MarkerError> {
    let mut out = String::with_capacity(source.len());
    let mut region = Region::Plain;
    let mut opened = 0;
    // The solution region being removed: its indentation, and whether it held code.
    let mut removed = (String::new(), false);
    // The edition region the line is in, and the line that opened it.
    let mut in_edition: Option<(&str, usize)> = None;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        let number = i + 1;
        let marker = line.trim();
        let error = |message: &str| MarkerError {
            line: number,
            message: message.to_string(),
        };
        if let Some(named) = marker.strip_prefix("// BEGIN EDITION ") {
            if let Some((_, at)) = in_edition {
                return Err(error(&format!(
                    "region opened inside the region of line {at}"
                )));
            }
            if region != Region::Plain {
                return Err(error(&format!(
                    "region opened inside the region of line {opened}"
                )));
            }
            if !EDITIONS.contains(&named) {
                return Err(error(&format!(
                    "unknown edition {named:?} (known: {})",
                    EDITIONS.join(", ")
                )));
            }
            in_edition = Some((named, number));
            continue;
        }
        if let Some(named) = marker.strip_prefix("// END EDITION ") {
            match in_edition {
                Some((open, _)) if open == named && region == Region::Plain => {
                    in_edition = None;
                    continue;
                }
                _ => return Err(error("END without its BEGIN")),
            }
        }
        if in_edition.is_some_and(|(named, _)| named != edition) {
            continue;
        }
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
    if let Some((_, at)) = in_edition {
        return Err(MarkerError {
            line: at,
            message: "region never closed".into(),
        });
    }
    Ok(out)
}

/// A crate's `Cargo.toml` as students get it, for `edition`: the lines between
/// `# BEGIN EDITION 2024` and `# END EDITION 2024` are kept (without the markers) only in that
/// edition's copy (a dependency on a crate that only that edition has).
pub fn strip_cargo_toml(source: &str, edition: &str) -> Result<String, MarkerError> {
    // As `//` comments, the markers are `strip`'s; no other line of a TOML file starts so.
    let marked: String = source
        .split_inclusive('\n')
        .map(|line| match line.trim().strip_prefix("# ") {
            Some(marker)
                if marker.starts_with("BEGIN EDITION ") || marker.starts_with("END EDITION ") =>
            {
                format!("// {marker}\n")
            }
            _ => line.to_string(),
        })
        .collect();
    strip(&marked, edition)
}

/// A Markdown document (a handout) as students get it, for `edition`, or for every edition
/// when `None`: the lines between `<!-- BEGIN EDITION 2025 -->` and `<!-- END EDITION 2025 -->`
/// are kept only for that edition, the lines between `<!-- BEGIN STAFF -->` and
/// `<!-- END STAFF -->` (notes for the course staff) never; the marker lines themselves never
/// are. Regions do not nest.
pub fn student_markdown(markdown: &str, edition: Option<&str>) -> Result<String, MarkerError> {
    /// The kind of region a line is in.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Open<'a> {
        Edition(&'a str),
        Staff,
    }
    let mut out = String::with_capacity(markdown.len());
    // The region the line is in, and the line that opened it.
    let mut open: Option<(Open<'_>, usize)> = None;
    for (i, line) in markdown.split_inclusive('\n').enumerate() {
        let number = i + 1;
        let error = |message: String| MarkerError {
            line: number,
            message,
        };
        let marker = line
            .trim()
            .strip_prefix("<!--")
            .and_then(|m| m.strip_suffix("-->"))
            .map(str::trim);
        let begin = marker.and_then(|m| match m.strip_prefix("BEGIN ") {
            Some("STAFF") => Some(Open::Staff),
            Some(rest) => rest.strip_prefix("EDITION ").map(Open::Edition),
            None => None,
        });
        if let Some(region) = begin {
            if let Some((_, at)) = open {
                return Err(error(format!(
                    "region opened inside the region of line {at}"
                )));
            }
            if let Open::Edition(named) = region
                && !EDITIONS.contains(&named)
            {
                return Err(error(format!(
                    "unknown edition {named:?} (known: {})",
                    EDITIONS.join(", ")
                )));
            }
            open = Some((region, number));
            continue;
        }
        let end = marker.and_then(|m| match m.strip_prefix("END ") {
            Some("STAFF") => Some(Open::Staff),
            Some(rest) => rest.strip_prefix("EDITION ").map(Open::Edition),
            None => None,
        });
        if let Some(region) = end {
            if open.is_none_or(|(opened, _)| opened != region) {
                return Err(error("END without its BEGIN".into()));
            }
            open = None;
            continue;
        }
        let left_out = match open {
            Some((Open::Staff, _)) => true,
            Some((Open::Edition(named), _)) => edition.is_some_and(|e| e != named),
            None => false,
        };
        if !left_out {
            out.push_str(line);
        }
    }
    match open {
        Some((_, at)) => Err(MarkerError {
            line: at,
            message: "region never closed".into(),
        }),
        None => Ok(out),
    }
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
    match generate(&args.out, &args.edition) {
        Ok(files) => {
            println!(
                "wrote the student skeleton (edition {}) to {} ({files} files with solutions \
                 removed)",
                args.edition,
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

/// Copies every tracked file of the workspace into `out`, stripping solution regions and
/// other editions' files and regions, leaving out the teacher's files and putting in the
/// student's own.
fn generate(out: &Path, edition: &str) -> Result<usize, String> {
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
    let left_out = crate::manifest::manifest().left_out(edition);
    let other_edition = |name: &str| {
        edition_of(name).is_some_and(|e| e != edition)
            || left_out
                .iter()
                .any(|dir| name.split('/').next() == Some(*dir) || name == format!("docs/{dir}.md"))
    };
    let mut stripped = 0;
    for name in crate::tracked_files(&root)? {
        if is_teacher_only(&name) || other_edition(&name) {
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
            let student = strip(&source, edition).map_err(|e| format!("{name}:{e}"))?;
            stripped += usize::from(student != source);
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if name.ends_with(".md") {
            let markdown = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student =
                student_markdown(&markdown, Some(edition)).map_err(|e| format!("{name}:{e}"))?;
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if name.ends_with("/Cargo.toml") {
            let manifest = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student =
                strip_cargo_toml(&manifest, edition).map_err(|e| format!("{name}:{e}"))?;
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if name == "Cargo.toml" {
            let manifest = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student = without_members(&manifest, &left_out)?;
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if name == "Makefile" {
            let template = std::fs::read_to_string(&from).map_err(|e| format!("{name}: {e}"))?;
            let student = student_makefile(&template, edition)?;
            std::fs::write(&to, student).map_err(|e| format!("{}: {e}", to.display()))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    commit_initial(out)?;
    Ok(stripped)
}

/// The message of the student copy's first commit.
pub const INITIAL_COMMIT: &str = "The labs as handed out";

/// Makes `out` a git repository with every file in one commit: students hand in through git,
/// and their first diff is then against what they were given. The author is the one git is
/// configured with, or the course's tool if none is.
fn commit_initial(out: &Path) -> Result<(), String> {
    let git = |args: &[&str]| -> Result<String, String> {
        let mut command = std::process::Command::new("git");
        command.args(args).current_dir(out);
        // A copy made on a machine where git knows no one still gets its commit.
        for (var, fallback) in [
            ("GIT_AUTHOR_NAME", "labs skeleton"),
            ("GIT_AUTHOR_EMAIL", "labs-skeleton@localhost"),
            ("GIT_COMMITTER_NAME", "labs skeleton"),
            ("GIT_COMMITTER_EMAIL", "labs-skeleton@localhost"),
        ] {
            if std::env::var_os(var).is_none() && !git_knows(var) {
                command.env(var, fallback);
            }
        }
        let output = command.output().map_err(|e| {
            format!("cannot run git (needed for the student copy's first commit): {e}")
        })?;
        if !output.status.success() {
            return Err(format!(
                "git {} in {}: {}",
                args.join(" "),
                out.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    git(&["init", "--quiet"])?;
    git(&["add", "--all"])?;
    git(&["commit", "--quiet", "--no-verify", "-m", INITIAL_COMMIT])?;
    Ok(())
}

/// True if git's configuration gives the identity `var` stands for (`user.name` for the
/// `*_NAME` variables, `user.email` for the `*_EMAIL` ones).
fn git_knows(var: &str) -> bool {
    let key = if var.ends_with("_NAME") {
        "user.name"
    } else {
        "user.email"
    };
    std::process::Command::new("git")
        .args(["config", "--get", key])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// The student's Makefile: the template (`labs/skeleton/Makefile`) with its lab targets and
/// the suites of `make test` written in from the lab manifest, for `edition`.
fn student_makefile(template: &str, edition: &str) -> Result<String, String> {
    let manifest = crate::manifest::manifest();
    for placeholder in ["@LAB TARGETS@", "@SUITES@"] {
        if !template.contains(placeholder) {
            return Err(format!(
                "labs/skeleton/Makefile: no {placeholder} where the labs' targets go"
            ));
        }
    }
    let template = edition_lines(template, edition, "# ")
        .map_err(|e| format!("labs/skeleton/Makefile:{e}"))?;
    Ok(template
        .replace(
            "@LAB TARGETS@",
            crate::manifest::make_targets(manifest, Some(edition), false).trim_end(),
        )
        .replace(
            "@SUITES@",
            &crate::manifest::graded_packages(manifest, edition),
        ))
}

/// `text` for `edition`: the lines between `<comment>BEGIN EDITION 2024` and `<comment>END
/// EDITION 2024` (each a whole line) kept only for that edition, without the markers.
fn edition_lines(text: &str, edition: &str, comment: &str) -> Result<String, MarkerError> {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(&str, usize)> = None;
    for (number, line) in (1..).zip(text.split_inclusive('\n')) {
        let marker = line.trim().strip_prefix(comment);
        if let Some(named) = marker.and_then(|m| m.strip_prefix("BEGIN EDITION ")) {
            if !EDITIONS.contains(&named) || open.is_some() {
                return Err(MarkerError {
                    line: number,
                    message: format!("BEGIN EDITION {named}: unknown, or inside another"),
                });
            }
            open = Some((named, number));
            continue;
        }
        if let Some(named) = marker.and_then(|m| m.strip_prefix("END EDITION ")) {
            if open.map(|(o, _)| o) != Some(named) {
                return Err(MarkerError {
                    line: number,
                    message: format!("END EDITION {named} closes nothing open"),
                });
            }
            open = None;
            continue;
        }
        if open.is_none_or(|(named, _)| named == edition) {
            out.push_str(line);
        }
    }
    match open {
        Some((named, at)) => Err(MarkerError {
            line: at,
            message: format!("BEGIN EDITION {named} is never closed"),
        }),
        None => Ok(out),
    }
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

/// The workspace manifest without the members that [`TEACHER_ONLY`] leaves out, nor those of
/// other editions (`left_out`).
fn without_members(manifest: &str, left_out: &[&str]) -> Result<String, String> {
    let mut out = String::with_capacity(manifest.len());
    let mut removed = 0;
    for line in manifest.split_inclusive('\n') {
        let member = line.trim().trim_end_matches(',').trim_matches('"');
        if line.trim().starts_with('"') && is_teacher_only(&format!("{member}/")) {
            removed += 1;
            continue;
        }
        if line.trim().starts_with('"') && left_out.contains(&member) {
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
    fn a_crate_manifest_keeps_only_its_editions_dependencies() {
        let manifest = "[dependencies]\nraft = { path = \"../raft\" }\n# BEGIN EDITION 2024\n\
                        shardctrler = { path = \"../shardctrler\" }\n# END EDITION 2024\n";
        let in_2024 = strip_cargo_toml(manifest, "2024").unwrap();
        assert_eq!(
            in_2024,
            "[dependencies]\nraft = { path = \"../raft\" }\nshardctrler = { path = \"../shardctrler\" }\n"
        );
        let in_2025 = strip_cargo_toml(manifest, "2025").unwrap();
        assert_eq!(in_2025, "[dependencies]\nraft = { path = \"../raft\" }\n");
        let unclosed = strip_cargo_toml("# BEGIN EDITION 2024\nx = 1\n", "2025").unwrap_err();
        assert_eq!(unclosed.line, 1);
    }

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
            strip(source, "2024").unwrap(),
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
            strip(source, "2024").unwrap(),
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
            without_members(manifest, &[]).unwrap(),
            "[workspace]\nmembers = [\n    \"labrpc\",\n    \"raft\",\n]\n"
        );
        assert_eq!(
            without_members(manifest, &["raft"]).unwrap(),
            "[workspace]\nmembers = [\n    \"labrpc\",\n]\n"
        );
        assert!(without_members("[workspace]\nmembers = [\"a\"]\n", &[]).is_err());
        let root = crate::workspace_root();
        for (_, template) in STUDENT_FILES {
            assert!(root.join(template).is_file(), "{template} is missing");
        }
        let real = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(!without_members(&real, &[]).unwrap().contains("\"labs\""));
    }

    #[test]
    fn text_without_markers_is_unchanged() {
        let source = "// a comment\nfn f() {}\n// BEGIN SOLUTIONS is not a marker\n";
        assert_eq!(strip(source, "2024").unwrap(), source);
    }

    #[test]
    fn malformed_markers_name_the_line() {
        let open = "a\n// BEGIN SOLUTION\nb\n";
        assert_eq!(
            strip(open, "2024").unwrap_err().to_string(),
            "line 2: region never closed"
        );
        let stray = "a\n// END SKELETON\n";
        assert_eq!(
            strip(stray, "2024").unwrap_err().to_string(),
            "line 2: END without its BEGIN"
        );
        let nested = "// BEGIN SOLUTION\n// BEGIN SKELETON\n";
        assert_eq!(
            strip(nested, "2024").unwrap_err().to_string(),
            "line 2: region opened inside the region of line 1"
        );
        let crossed = "// BEGIN SOLUTION\n// END SKELETON\n";
        assert!(strip(crossed, "2024").is_err());
    }

    #[test]
    fn edition_regions_keep_only_the_chosen_edition() {
        // Markers built at run time, so that generating the skeleton of this file leaves the
        // test's text alone.
        let (begin, end) = ("// BEGIN EDITION", "// END EDITION");
        let (solution, done) = ("// BEGIN SOLUTION", "// END SOLUTION");
        let source = format!(
            "pub mod shared;\n{begin} 2024\npub mod v2024;\n{end} 2024\n{begin} 2025\n\
             pub mod v2025;\n{solution}\nmod answer;\n{done}\n{end} 2025\n"
        );
        assert_eq!(
            strip(&source, "2024").unwrap(),
            "pub mod shared;\npub mod v2024;\n"
        );
        assert_eq!(
            strip(&source, "2025").unwrap(),
            "pub mod shared;\npub mod v2025;\n// Your code here.\n"
        );
        let unknown = "// BEGIN EDITION 2023\n// END EDITION 2023\n";
        assert_eq!(
            strip(unknown, "2024").unwrap_err().to_string(),
            "line 1: unknown edition \"2023\" (known: 2024, 2025)"
        );
        let open = "a\n// BEGIN EDITION 2025\nb\n";
        assert_eq!(
            strip(open, "2024").unwrap_err().to_string(),
            "line 2: region never closed"
        );
        let crossed = "// BEGIN EDITION 2025\n// END EDITION 2024\n";
        assert_eq!(
            strip(crossed, "2025").unwrap_err().to_string(),
            "line 2: END without its BEGIN"
        );
        let inside = "// BEGIN SOLUTION\n// BEGIN EDITION 2025\n";
        assert!(strip(inside, "2025").is_err());
    }

    #[test]
    fn markdown_keeps_the_chosen_editions_sections() {
        let doc = "# Lab\n<!-- BEGIN EDITION 2024 -->\n## Edition 2024\nappend\n\
                   <!-- END EDITION 2024 -->\n<!--BEGIN EDITION 2025-->\n## Edition 2025\n\
                   <!--END EDITION 2025-->\n## Hints\n";
        assert_eq!(
            student_markdown(doc, Some("2024")).unwrap(),
            "# Lab\n## Edition 2024\nappend\n## Hints\n"
        );
        assert_eq!(
            student_markdown(doc, Some("2025")).unwrap(),
            "# Lab\n## Edition 2025\n## Hints\n"
        );
        assert_eq!(
            student_markdown(doc, None).unwrap(),
            "# Lab\n## Edition 2024\nappend\n## Edition 2025\n## Hints\n"
        );
        let errors = [
            (
                "<!-- BEGIN EDITION 2023 -->\n",
                "line 1: unknown edition \"2023\" (known: 2024, 2025)",
            ),
            (
                "a\n<!-- BEGIN EDITION 2025 -->\n",
                "line 2: region never closed",
            ),
            (
                "<!-- BEGIN EDITION 2025 -->\n<!-- END EDITION 2024 -->\n",
                "line 2: END without its BEGIN",
            ),
            (
                "<!-- BEGIN EDITION 2025 -->\n<!-- BEGIN EDITION 2024 -->\n",
                "line 2: region opened inside the region of line 1",
            ),
        ];
        for (doc, error) in errors {
            assert_eq!(student_markdown(doc, None).unwrap_err().to_string(), error);
        }
    }

    #[test]
    fn staff_sections_never_reach_students() {
        let doc = "# Lab\n<!-- BEGIN STAFF -->\n## For the course staff\nlabs grade\n\
                   <!-- END STAFF -->\n## Hints\n";
        for edition in [None, Some("2024"), Some("2025")] {
            assert_eq!(student_markdown(doc, edition).unwrap(), "# Lab\n## Hints\n");
        }
        let nested = "<!-- BEGIN STAFF -->\n<!-- BEGIN EDITION 2025 -->\n";
        assert_eq!(
            student_markdown(nested, None).unwrap_err().to_string(),
            "line 2: region opened inside the region of line 1"
        );
        let crossed = "<!-- BEGIN STAFF -->\n<!-- END EDITION 2025 -->\n";
        assert_eq!(
            student_markdown(crossed, None).unwrap_err().to_string(),
            "line 2: END without its BEGIN"
        );
        let open = "<!-- BEGIN STAFF -->\n";
        assert_eq!(
            student_markdown(open, None).unwrap_err().to_string(),
            "line 1: region never closed"
        );
    }

    #[test]
    fn files_belong_to_an_edition_by_path() {
        assert_eq!(edition_of("kvsrv/src/v2025/lock.rs"), Some("2025"));
        assert_eq!(edition_of("kvsrv/src/v2024/mod.rs"), Some("2024"));
        assert_eq!(edition_of("kvsrv/tests/mem_2024.rs"), Some("2024"));
        assert_eq!(edition_of("kvsrv/tests/harness_2025/mod.rs"), Some("2025"));
        assert_eq!(edition_of("kvsrv/tests/common/mod.rs"), None);
        assert_eq!(edition_of("kvsrv/src/lib.rs"), None);
        assert_eq!(edition_of("docs/kvsrv.md"), None);
        assert_eq!(edition_of("raft/tests/raft.rs"), None);
        assert_eq!(edition_of("notes/x2025.md"), None);
    }
}
