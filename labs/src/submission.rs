//! Submissions: finding them, taking only what a student may change, and building each in a
//! target directory of its own from a warm cache.
//!
//! - A submission is a directory with a `Cargo.toml` (a student's repository); a directory
//!   without one whose subdirectories are submissions is a directory of many.
//! - Only the student files of the graded labs are taken from it (see
//!   [`crate::course::CourseLab::student_files`]); every other file, the tests, the harness and
//!   the checker included, comes from the course's checkout. A student file missing from the
//!   submission is replaced by the skeleton's version (the reference with its solutions
//!   removed), never by the reference.
//! - Builds run in one scratch workspace (`target/grade-course/workspace`), a copy of the
//!   course's tracked files, one submission at a time: its student files are written in, the
//!   build runs, and the course's versions are put back with their original times. The course
//!   is built there once, into `target/grade-course/warm`; each submission's target directory
//!   starts as a copy of that warm one, so that only the crates whose files differ rebuild
//!   (the dependencies, the kit's crates and the unchanged labs come from the cache). After
//!   its build, a submission's target directory keeps only its executables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A submission to grade.
#[derive(Clone, Debug)]
pub struct Submission {
    /// Its name in reports (the directory's name).
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
}

/// The submissions named by `--submission` arguments, sorted by name; an error for a path
/// that is neither a submission nor a directory of them, or for two with one name.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Submission>, String> {
    let mut found = Vec::new();
    for path in paths {
        let dir = path
            .canonicalize()
            .map_err(|e| format!("--submission {}: {e}", path.display()))?;
        if !dir.is_dir() {
            return Err(format!(
                "--submission {}: not a directory (a submission is a student's repository, \
                 with its Cargo.toml)",
                path.display()
            ));
        }
        if dir.join("Cargo.toml").is_file() {
            found.push(submission_at(&dir)?);
            continue;
        }
        let mut inner: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("--submission {}: {e}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !is_hidden(p))
            .collect();
        inner.sort();
        let many: Vec<&PathBuf> = inner
            .iter()
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        if many.is_empty() {
            return Err(format!(
                "--submission {}: not a submission (no Cargo.toml) nor a directory of \
                 submissions (no subdirectory has one)",
                path.display()
            ));
        }
        for dir in many {
            found.push(submission_at(dir)?);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in found.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(format!(
                "two submissions are named {:?} ({} and {}): rename one",
                pair[0].name,
                pair[0].dir.display(),
                pair[1].dir.display()
            ));
        }
    }
    Ok(found)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn submission_at(dir: &Path) -> Result<Submission, String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: the directory's name is not UTF-8", dir.display()))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.+@".contains(c))
    {
        return Err(format!(
            "{}: a submission's directory name may hold letters, digits and -_.+@ only",
            dir.display()
        ));
    }
    Ok(Submission {
        name: name.to_string(),
        dir: dir.to_path_buf(),
    })
}

/// The files a student hands in for `lab`, relative to the repository's root: those the
/// course file declares (glob patterns, matched against `candidates`), or else the lab's files
/// with solution regions outside `tests/` of the course's `edition`.
pub fn student_files(
    root: &Path,
    tracked: &[String],
    lab: &str,
    patterns: Option<&[String]>,
    candidates: &[String],
    edition: &str,
) -> Result<Vec<String>, String> {
    let in_lab = |name: &&String| name.starts_with(&format!("{lab}/"));
    let right_edition =
        |name: &&String| crate::manifest::edition_of(name).is_none_or(|e| e == edition);
    let mut files: Vec<String> = match patterns {
        Some(patterns) => {
            let patterns: Vec<glob::Pattern> = patterns
                .iter()
                .map(|p| glob::Pattern::new(p).map_err(|e| format!("{p}: {e}")))
                .collect::<Result<_, _>>()?;
            tracked
                .iter()
                .chain(candidates)
                .filter(in_lab)
                .filter(right_edition)
                .filter(|name| patterns.iter().any(|p| p.matches(name)))
                .cloned()
                .collect()
        }
        None => tracked
            .iter()
            .filter(in_lab)
            .filter(right_edition)
            .filter(|name| name.ends_with(".rs") && !name.split('/').any(|c| c == "tests"))
            .filter(|name| {
                std::fs::read_to_string(root.join(name))
                    .is_ok_and(|text| text.lines().any(|l| l.trim() == "// BEGIN SOLUTION"))
            })
            .cloned()
            .collect(),
    };
    files.sort();
    files.dedup();
    Ok(files)
}

/// Every file of `dir`, relative to it (not following links; skipping `target/` and hidden
/// directories), for matching student-file patterns.
pub fn files_of(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = relative.join(name);
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if kind.is_file()
                && let Some(text) = path.to_str()
            {
                out.push(text.to_string());
            }
        }
    }
    out.sort();
    out
}

/// The names of the harness's private channels: a student file that names one is taken for
/// an attempt to write the grader's results and the submission is failed.
pub const HARNESS_CHANNELS: &[&str] = &[
    labtest::record::RESULT_FILE_VAR,
    labtest::record::TRACE_FILE_VAR,
];

/// What one submission provides for the build: per student file, its text (or the skeleton's
/// for a missing one), and notes for the report.
#[derive(Debug, Default)]
pub struct Handin {
    /// Student file → its contents.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Student files missing from the submission (the skeleton's version is used).
    pub missing: Vec<String>,
    /// Why the submission cannot be graded at all, if it cannot.
    pub refused: Option<String>,
}

/// Reads a submission's student files; `course_root` gives the skeleton's version of missing
/// ones.
pub fn read_handin(
    submission: &Submission,
    course_root: &Path,
    student_files: &[String],
    edition: &str,
) -> Handin {
    let mut handin = Handin::default();
    for name in student_files {
        let path = submission.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                if let Some(channel) = HARNESS_CHANNELS.iter().find(|c| text.contains(*c)) {
                    handin.refused = Some(format!(
                        "{name} names {channel}, the harness's private result channel: a \
                         submission may not write the grader's results"
                    ));
                }
                handin.files.insert(name.clone(), bytes);
            }
            Err(_) => {
                let reference = std::fs::read_to_string(course_root.join(name)).unwrap_or_default();
                let skeleton = crate::skeleton::strip(&reference, edition).unwrap_or_default();
                handin.missing.push(name.clone());
                handin.files.insert(name.clone(), skeleton.into_bytes());
            }
        }
    }
    handin
}

/// The scratch workspace and the warm target directory of the course.
pub struct BuildArea {
    /// The course's checkout.
    pub course_root: PathBuf,
    /// The scratch copy of the course's tracked files, where every build runs.
    pub workspace: PathBuf,
    /// The course's own build, copied into each submission's target directory.
    pub warm: PathBuf,
    /// Where submissions' target directories go.
    pub submissions: PathBuf,
    /// Original modification times of the workspace's files, to put back.
    mtimes: BTreeMap<String, SystemTime>,
}

impl BuildArea {
    /// Lays out (or refreshes) the scratch workspace from the course's tracked files. A file
    /// whose contents and time already match is left alone, so the warm build stays valid.
    pub fn prepare(course_root: &Path, tracked: &[String]) -> Result<BuildArea, String> {
        let base = course_root.join("target").join("grade-course");
        let workspace = base.join("workspace");
        let mut mtimes = BTreeMap::new();
        for name in tracked {
            let from = course_root.join(name);
            let Ok(meta) = std::fs::symlink_metadata(&from) else {
                continue; // deleted but not yet committed
            };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().map_err(|e| format!("{name}: {e}"))?;
            let to = workspace.join(name);
            let same = std::fs::metadata(&to)
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| t == mtime)
                && std::fs::read(&to).ok() == std::fs::read(&from).ok();
            if !same {
                copy_with_time(&from, &to, mtime)?;
            }
            mtimes.insert(name.clone(), mtime);
        }
        Ok(BuildArea {
            course_root: course_root.to_path_buf(),
            workspace,
            warm: base.join("warm"),
            submissions: base.join("submissions"),
            mtimes,
        })
    }

    /// Writes a submission's files into the workspace (fresh times, so cargo rebuilds their
    /// crates), runs `build`, and puts the course's versions back with their times.
    pub fn with_handin<T>(&self, handin: &Handin, build: impl FnOnce() -> T) -> Result<T, String> {
        for (name, bytes) in &handin.files {
            let to = self.workspace.join(name);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&to, bytes).map_err(|e| format!("{}: {e}", to.display()))?;
        }
        let result = build();
        for name in handin.files.keys() {
            let to = self.workspace.join(name);
            match self.mtimes.get(name) {
                Some(&mtime) => copy_with_time(&self.course_root.join(name), &to, mtime)?,
                None => {
                    let _ = std::fs::remove_file(&to); // a file the course does not have
                }
            }
        }
        Ok(result)
    }

    /// The target directory of submission `name`, started as a copy of the warm one; returns
    /// the time the copy took.
    pub fn fresh_target(&self, name: &str) -> Result<(PathBuf, Duration), String> {
        let dir = self.submissions.join(name).join("target");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.parent().unwrap_or(&dir))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let started = Instant::now();
        if self.warm.exists() {
            let status = Command::new("cp")
                .args(["-a", "--reflink=auto"])
                .arg(&self.warm)
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run cp: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "copying the warm build {} to {} failed ({status})",
                    self.warm.display(),
                    dir.display()
                ));
            }
        }
        Ok((dir, started.elapsed()))
    }
}

fn copy_with_time(from: &Path, to: &Path, mtime: SystemTime) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to).map_err(|e| format!("{}: {e}", from.display()))?;
    let file = std::fs::File::options()
        .write(true)
        .open(to)
        .map_err(|e| format!("{}: {e}", to.display()))?;
    file.set_modified(mtime)
        .map_err(|e| format!("{}: {e}", to.display()))
}

/// Removes everything but executables from a built target directory (the rlibs, metadata
/// and build scripts' outputs are only needed to build): `keep` are the executables to keep.
pub fn prune_target(target: &Path, keep: &[PathBuf]) -> u64 {
    let mut freed = 0;
    let profile = target.join("release");
    for sub in [".fingerprint", "build", "incremental"] {
        freed += dir_size(&profile.join(sub));
        let _ = std::fs::remove_dir_all(profile.join(sub));
    }
    if let Ok(entries) = std::fs::read_dir(profile.join("deps")) {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if !keep.contains(&path) {
                freed += entry.metadata().map_or(0, |m| m.len());
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    freed
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("labs-sub-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn submissions_are_repositories_or_directories_of_them() {
        let dir = scratch("discover");
        for name in ["bob", "alice"] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("Cargo.toml"), "").unwrap();
        }
        std::fs::create_dir_all(dir.join("notes")).unwrap();
        let found = discover(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob"]);
        let one = discover(&[dir.join("bob")]).unwrap();
        assert_eq!(one[0].name, "bob");
        let error = discover(&[dir.join("notes")]).unwrap_err();
        assert!(error.contains("not a submission"), "{error}");
        let error = discover(&[dir.join("nowhere")]).unwrap_err();
        assert!(error.contains("nowhere"), "{error}");
        let error = discover(&[dir.join("bob"), dir.join("bob")]).unwrap_err();
        assert!(
            error.contains("two submissions are named \"bob\""),
            "{error}"
        );
        let file = dir.join("bob").join("Cargo.toml");
        assert!(discover(&[file]).unwrap_err().contains("not a directory"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn default_student_files_are_the_labs_files_with_solutions() {
        let root = crate::workspace_root();
        let tracked = crate::tracked_files(&root).unwrap();
        let raft = student_files(&root, &tracked, "raft", None, &[], "2024").unwrap();
        assert!(raft.contains(&"raft/src/state.rs".to_string()), "{raft:?}");
        assert!(raft.iter().all(|f| !f.contains("/tests/")), "{raft:?}");
        let kvsrv = student_files(&root, &tracked, "kvsrv", None, &[], "2024").unwrap();
        assert!(kvsrv.iter().all(|f| !f.contains("2025")), "{kvsrv:?}");
        assert!(kvsrv.contains(&"kvsrv/src/v2024/server.rs".to_string()));
        let patterns = ["raft/src/*.rs".to_string()];
        let extra = [
            "raft/src/election.rs".to_string(),
            "raft/tests/x.rs".to_string(),
        ];
        let globbed =
            student_files(&root, &tracked, "raft", Some(&patterns), &extra, "2024").unwrap();
        assert!(globbed.contains(&"raft/src/election.rs".to_string()));
        assert!(globbed.contains(&"raft/src/lib.rs".to_string()));
        assert!(!globbed.iter().any(|f| f.contains("tests")));
    }

    #[test]
    fn a_missing_student_file_is_the_skeletons_and_a_channel_is_refused() {
        let root = crate::workspace_root();
        let dir = scratch("handin");
        std::fs::create_dir_all(dir.join("raft/src")).unwrap();
        std::fs::write(dir.join("raft/src/lib.rs"), "// mine\n").unwrap();
        let submission = Submission {
            name: "s".into(),
            dir: dir.clone(),
        };
        let files = [
            "raft/src/lib.rs".to_string(),
            "raft/src/state.rs".to_string(),
        ];
        let handin = read_handin(&submission, &root, &files, "2024");
        assert_eq!(handin.files["raft/src/lib.rs"], b"// mine\n");
        assert_eq!(handin.missing, ["raft/src/state.rs"]);
        let skeleton = String::from_utf8(handin.files["raft/src/state.rs"].clone()).unwrap();
        assert!(!skeleton.contains("BEGIN SOLUTION"));
        assert!(handin.refused.is_none());
        std::fs::write(
            dir.join("raft/src/lib.rs"),
            "fn f() { std::env::var(\"LABTEST_RESULT_FILE\"); }\n",
        )
        .unwrap();
        let handin = read_handin(&submission, &root, &files, "2024");
        assert!(handin.refused.unwrap().contains("LABTEST_RESULT_FILE"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
