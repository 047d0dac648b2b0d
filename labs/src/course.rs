//! The course file (`labs/course.toml`): which labs are graded, their parts and points, the
//! seeds, the edition, the limits of a test process, and which files a student hands in.
//!
//! Read with serde and checked as a whole before anything runs: an unknown key, a lab the kit
//! does not have, an edition it does not know, zero seeds or a limit of zero is an error
//! naming the file and the key. (That every part of a graded lab has points is checked once
//! the suites' tests are listed: see `grade`.)

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The course file in the repository, relative to the workspace's root.
pub const DEFAULT_COURSE_FILE: &str = "labs/course.toml";

/// How a flaky test (passed on some seeds, failed on others) is credited.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlakyCredit {
    /// No points unless every seed passed.
    None,
    /// Points in proportion to the seeds that passed.
    Proportional,
}

/// Limits of one test process.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Real time after which the process is killed (a hang).
    pub time_secs: u64,
    /// Address space the process may use, in MiB.
    pub memory_mib: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            time_secs: 300,
            memory_mib: 4096,
        }
    }
}

/// One lab of the course file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CourseLab {
    /// The lab's package (`raft`).
    pub name: String,
    /// Points per part (`"3A" = 25`).
    pub points: BTreeMap<String, f64>,
    /// What a student hands in: glob patterns from the repository's root (default: the
    /// lab's files with solution regions, outside `tests/`).
    #[serde(default)]
    pub student_files: Option<Vec<String>>,
    /// Time limit of this lab's test processes, if not the course's.
    #[serde(default)]
    pub time_secs: Option<u64>,
}

/// The course file as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct CourseFile {
    edition: String,
    seeds: u64,
    #[serde(default = "one")]
    first_seed: u64,
    #[serde(default = "no_credit")]
    flaky_credit: FlakyCredit,
    #[serde(default)]
    limits: Limits,
    #[serde(rename = "lab")]
    labs: Vec<CourseLab>,
}

fn one() -> u64 {
    1
}

fn no_credit() -> FlakyCredit {
    FlakyCredit::None
}

/// A checked course.
#[derive(Clone, Debug, PartialEq)]
pub struct Course {
    /// Where it was read from.
    pub path: PathBuf,
    /// The edition of the labs that come in several.
    pub edition: String,
    /// Seeds per test.
    pub seeds: u64,
    /// The first seed.
    pub first_seed: u64,
    /// How flaky tests are credited.
    pub flaky_credit: FlakyCredit,
    /// Limits of each test process.
    pub limits: Limits,
    /// The graded labs, in the course's order.
    pub labs: Vec<CourseLab>,
}

impl Course {
    /// Reads and checks the course file at `path` against the kit's labs (the lab manifest).
    pub fn load(path: &Path) -> Result<Course, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the course file {}: {e}", path.display()))?;
        Course::parse(&text, path)
    }

    /// Checks the course file's text (named `path` in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Course, String> {
        let manifest = crate::manifest::manifest();
        let known_labs: Vec<&str> = manifest
            .labs
            .iter()
            .filter(|l| l.graded)
            .map(|l| l.name.as_str())
            .collect();
        let at = path.display();
        let file: CourseFile = toml::from_str(text).map_err(|e| format!("{at}: {e}"))?;
        if !crate::manifest::EDITIONS.contains(&file.edition.as_str()) {
            return Err(format!(
                "{at}: edition = {:?}: the editions are {}",
                file.edition,
                crate::manifest::EDITIONS.join(", ")
            ));
        }
        if file.seeds == 0 {
            return Err(format!("{at}: seeds = 0: a test needs at least one seed"));
        }
        if file.first_seed.checked_add(file.seeds - 1).is_none() {
            return Err(format!(
                "{at}: first_seed + seeds runs past the largest seed"
            ));
        }
        if file.limits.time_secs == 0 || file.limits.memory_mib == 0 {
            return Err(format!(
                "{at}: [limits] time_secs and memory_mib must be at least 1"
            ));
        }
        if file.labs.is_empty() {
            return Err(format!("{at}: no [[lab]]: the course grades nothing"));
        }
        let mut seen = Vec::new();
        for lab in &file.labs {
            let Some(kit_lab) = manifest.lab(&lab.name).filter(|l| l.graded) else {
                return Err(format!(
                    "{at}: [[lab]] name = {:?}: the kit's labs are {}",
                    lab.name,
                    known_labs.join(", ")
                ));
            };
            if !kit_lab.comes_in(&file.edition) {
                return Err(format!(
                    "{at}: lab {:?} does not come in edition {} (its editions: {})",
                    lab.name,
                    file.edition,
                    kit_lab.editions.join(", ")
                ));
            }
            if seen.contains(&lab.name) {
                return Err(format!("{at}: lab {:?} is listed twice", lab.name));
            }
            let kit_parts = kit_lab.parts_of(Some(&file.edition));
            seen.push(lab.name.clone());
            if lab.points.is_empty() {
                return Err(format!("{at}: lab {:?} has no parts in points", lab.name));
            }
            for (part, points) in &lab.points {
                if part.is_empty() || part != &part.to_uppercase() {
                    return Err(format!(
                        "{at}: lab {:?}: part {part:?}: write parts as the tests' suffixes, in \
                         capitals (\"3A\", \"2\")",
                        lab.name
                    ));
                }
                if !kit_parts.contains(part) {
                    return Err(format!(
                        "{at}: lab {:?}: part {part:?}: the lab's parts in edition {} are {}",
                        lab.name,
                        file.edition,
                        kit_parts.join(", ")
                    ));
                }
                if !points.is_finite() || *points < 0.0 {
                    return Err(format!(
                        "{at}: lab {:?}: part {part}: points must be a number >= 0",
                        lab.name
                    ));
                }
            }
            let without: Vec<&String> = kit_parts
                .iter()
                .filter(|p| !lab.points.contains_key(*p))
                .collect();
            if !without.is_empty() {
                return Err(format!(
                    "{at}: lab {:?}: parts {without:?} have no points (give them 0 to run them \
                     unscored)",
                    lab.name
                ));
            }
            if lab.time_secs == Some(0) {
                return Err(format!("{at}: lab {:?}: time_secs = 0", lab.name));
            }
            for pattern in lab.student_files.iter().flatten() {
                glob::Pattern::new(pattern).map_err(|e| {
                    format!("{at}: lab {:?}: student_files {pattern:?}: {e}", lab.name)
                })?;
                if !pattern.starts_with(&format!("{}/", lab.name)) {
                    return Err(format!(
                        "{at}: lab {:?}: student_files {pattern:?} must lie in the lab's \
                         folder ({}/...)",
                        lab.name, lab.name
                    ));
                }
            }
        }
        Ok(Course {
            path: path.to_path_buf(),
            edition: file.edition,
            seeds: file.seeds,
            first_seed: file.first_seed,
            flaky_credit: file.flaky_credit,
            limits: file.limits,
            labs: file.labs,
        })
    }

    /// The course's entry for lab `name`.
    pub fn lab(&self, name: &str) -> Option<&CourseLab> {
        self.labs.iter().find(|l| l.name == name)
    }

    /// The time limit of one test process of lab `name`.
    pub fn time_limit(&self, name: &str) -> Duration {
        Duration::from_secs(
            self.lab(name)
                .and_then(|l| l.time_secs)
                .unwrap_or(self.limits.time_secs),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Course, String> {
        Course::parse(text, Path::new("course.toml"))
    }

    #[test]
    fn the_committed_course_file_is_valid() {
        let path = crate::workspace_root().join(DEFAULT_COURSE_FILE);
        let course = Course::load(&path).unwrap();
        assert_eq!(course.edition, "2024");
        assert!(course.seeds >= 1);
        let raft = course.lab("raft").unwrap();
        assert!(raft.points.contains_key("3A"));
    }

    #[test]
    fn bad_course_files_are_errors_that_name_the_key() {
        let lab = "[[lab]]\nname = \"raft\"\npoints = { \"3A\" = 10, \"3B\" = 10, \"3C\" = 10, \
                   \"3D\" = 10, \"3X\" = 0, \"3S\" = 0 }\n";
        let base = format!("edition = \"2024\"\nseeds = 3\n{lab}");
        let course = parse(&base).unwrap();
        assert_eq!(course.first_seed, 1);
        assert_eq!(course.limits, Limits::default());
        assert_eq!(course.flaky_credit, FlakyCredit::None);
        let error = |text: &str| parse(text).unwrap_err();
        assert!(error(&base.replace("seeds = 3", "seeds = 0")).contains("seeds = 0"));
        assert!(error(&base.replace("2024", "2023")).contains("edition = \"2023\""));
        assert!(error(&base.replace("\"raft\"", "\"rafty\"")).contains("\"rafty\""));
        assert!(error(&base.replace("\"3A\"", "\"3a\"")).contains("in capitals"));
        assert!(error(&base.replace("\"3A\" = 10", "\"3A\" = -1")).contains("points must be"));
        assert!(
            error(&base.replace("\"3X\"", "\"3Y\""))
                .contains("the lab's parts in edition 2024 are")
        );
        assert!(error(&base.replace(", \"3X\" = 0", "")).contains("have no points"));
        assert!(error(&format!("{base}colour = 1\n")).contains("colour"));
        assert!(error(&format!("seedz = 2\n{base}")).contains("seedz"));
        assert!(error("edition = \"2024\"\nseeds = 1\nlab = []\n").contains("no [[lab]]"));
        assert!(error(&format!("{base}{lab}")).contains("listed twice"));
        let outside = base.replace("points", "student_files = [\"tests/*.rs\"]\npoints");
        assert!(error(&outside).contains("must lie in the lab's folder"));
        let limits = format!("{base}[limits]\ntime_secs = 0\nmemory_mib = 1\n");
        assert!(error(&limits).contains("at least 1"));
        let flaky = base.replace("seeds = 3", "seeds = 3\nflaky_credit = \"some\"");
        assert!(error(&flaky).contains("some"));
    }
}
