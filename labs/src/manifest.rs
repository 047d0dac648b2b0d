//! The kit's labs, declared once in `labs/manifest.toml` (see its header for the keys): what a
//! lab is (its crate, suites, parts, editions, the labs it builds on), read by every tool, and
//! what is generated from it: the Makefiles' lab targets and the README's table of labs.
//!
//! `labs manifest --update` rewrites the generated parts of the kit's `Makefile` and
//! `README.md`; a unit test fails while they disagree with the manifest. The student's
//! Makefile gets its lab targets, for its edition, when `labs skeleton` writes it.

use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

/// The editions a lab may come in.
pub const EDITIONS: &[&str] = &["2024", "2025"];

/// The edition a file belongs to, from its path (a component `v2025`, or a name ending in `_2025`:
/// `kvsrv/src/v2025/lock.rs`, `kvsrv/tests/mem_2024.rs`); `None`: every edition.
pub fn edition_of(path: &str) -> Option<&'static str> {
    path.split('/').find_map(|component| {
        let stem = component.split('.').next().unwrap_or(component);
        EDITIONS.iter().copied().find(|edition| {
            stem.strip_prefix('v') == Some(*edition)
                || stem
                    .strip_suffix(edition)
                    .is_some_and(|rest| rest.ends_with('_'))
        })
    })
}

/// The manifest's text, built into the tool.
const MANIFEST: &str = include_str!("../manifest.toml");

/// The manifest: every lab of the kit, in the course's order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    #[serde(rename = "lab")]
    pub(crate) labs: Vec<Lab>,
    /// Crates that are not labs but come in some editions only.
    #[serde(rename = "crate", default)]
    pub(crate) crates: Vec<EditionCrate>,
}

/// A crate that is not a lab and comes in some editions only (it uses one edition's API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditionCrate {
    /// The crate (its directory).
    pub(crate) name: String,
    /// The editions whose copies have it.
    pub(crate) editions: Vec<String>,
}

/// One lab: a crate, its graded suites and how its tests fall into parts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lab {
    /// The crate (its directory), and the lab's name in course files.
    pub(crate) name: String,
    /// How reports and the README name it.
    pub(crate) title: String,
    /// False for the kit's own suite: shown, never scored.
    #[serde(default = "yes")]
    pub(crate) graded: bool,
    /// The labs whose crates it depends on: their student files are part of its hand-in.
    #[serde(default)]
    pub(crate) builds_on: Vec<String>,
    /// The editions it comes in (empty: every edition, in one shape). A course of another
    /// edition does not have it.
    #[serde(default)]
    pub(crate) editions: Vec<String>,
    /// Its parts, in order: every edition's.
    #[serde(default)]
    pub(crate) parts: Vec<String>,
    /// The parts of the editions whose parts are not all of [`parts`](Lab::parts).
    #[serde(default)]
    pub(crate) edition_parts: std::collections::BTreeMap<String, Vec<String>>,
    /// Parts by test-name prefix, tried before the name's suffix.
    #[serde(default)]
    pub(crate) part_rules: Vec<PartRule>,
    /// Its graded test targets.
    #[serde(rename = "suite", default)]
    pub(crate) targets: Vec<Target>,
    /// Seeds per test when `labs mutants` plants its bugs (default 20): fewer for a lab whose
    /// suite is slow, so that a run over every lab fits in an hour on two cores.
    pub(crate) mutant_seeds: Option<u64>,
}

/// Tests whose names start with `prefix` are in `part`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartRule {
    pub(crate) prefix: String,
    pub(crate) part: String,
}

/// One graded test target of a lab (`<lab>/tests/<target>.rs`), graded as one or more rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Target {
    /// The integration-test target.
    #[serde(rename = "target")]
    pub(crate) name: String,
    /// The title of its rows.
    pub(crate) title: String,
    /// A make target of its own (`mr-sim`).
    pub(crate) make: Option<String>,
    /// Its tests run real processes: once each, without seeds.
    #[serde(default)]
    pub(crate) real_processes: bool,
    /// Its tests are search tests (`labtest::search`): each explores many schedules of one
    /// seed, so it runs once; `labs replay --choices` replays one of its stories.
    #[serde(default)]
    pub(crate) search: bool,
    /// Its tests that check the kit, not the student's code: shown apart.
    #[serde(default)]
    pub(crate) kit_tests: Vec<String>,
    /// The title of the row of those tests.
    #[serde(default)]
    pub(crate) kit_title: String,
}

impl Target {
    /// True if its tests run once, not once per seed: real processes, or search tests.
    pub(crate) fn runs_once(&self) -> bool {
        self.real_processes || self.search
    }
}

fn yes() -> bool {
    true
}

/// The kit's manifest, read once.
///
/// # Panics
/// If the built-in manifest does not parse or contradicts itself (a unit test makes sure it
/// does not).
pub(crate) fn manifest() -> &'static Manifest {
    static PARSED: OnceLock<Manifest> = OnceLock::new();
    PARSED.get_or_init(|| {
        Manifest::parse(MANIFEST).unwrap_or_else(|e| panic!("labs/manifest.toml: {e}"))
    })
}

impl Manifest {
    /// Parses and checks a manifest.
    pub(crate) fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut names: Vec<&str> = Vec::new();
        for lab in &manifest.labs {
            if names.contains(&lab.name.as_str()) {
                return Err(format!("lab {} is declared twice", lab.name));
            }
            for base in &lab.builds_on {
                if !names.contains(&base.as_str()) {
                    return Err(format!(
                        "lab {} builds on {base}, which is not declared before it",
                        lab.name
                    ));
                }
            }
            names.push(&lab.name);
            if lab.targets.is_empty() {
                return Err(format!("lab {} has no suite", lab.name));
            }
            for edition in &lab.editions {
                if !EDITIONS.contains(&edition.as_str()) {
                    return Err(format!(
                        "lab {}: edition {edition} is not one the kit knows ({})",
                        lab.name,
                        EDITIONS.join(", ")
                    ));
                }
            }
            for (edition, parts) in &lab.edition_parts {
                if !lab.editions.contains(edition) {
                    return Err(format!(
                        "lab {}: edition_parts names edition {edition}, which the lab does not \
                         list",
                        lab.name
                    ));
                }
                if let Some(part) = parts.iter().find(|p| !lab.parts.contains(p)) {
                    return Err(format!(
                        "lab {}: edition {edition} has part {part}, which is not in its parts",
                        lab.name
                    ));
                }
            }
            for rule in &lab.part_rules {
                if !lab.parts.contains(&rule.part) {
                    return Err(format!(
                        "lab {}: part rule {:?} names part {}, which is not in its parts",
                        lab.name, rule.prefix, rule.part
                    ));
                }
            }
            for target in &lab.targets {
                if let Some(edition) = edition_of(&target.name)
                    && !lab.editions.iter().any(|e| e == edition)
                {
                    return Err(format!(
                        "lab {}: suite {} is of edition {edition}, which the lab does not list",
                        lab.name, target.name
                    ));
                }
                if !target.kit_tests.is_empty() && target.kit_title.is_empty() {
                    return Err(format!(
                        "lab {}: suite {} has kit tests but no kit_title",
                        lab.name, target.name
                    ));
                }
            }
        }
        for extra in &manifest.crates {
            if let Some(edition) = extra
                .editions
                .iter()
                .find(|e| !EDITIONS.contains(&e.as_str()))
            {
                return Err(format!(
                    "crate {}: edition {edition} is not one the kit knows",
                    extra.name
                ));
            }
        }
        Ok(manifest)
    }

    /// The crates (directories) that a copy of `edition` leaves out: the labs and other crates
    /// that do not come in it.
    pub(crate) fn left_out(&self, edition: &str) -> Vec<&str> {
        let labs = self.labs.iter().filter(|l| !l.comes_in(edition));
        let crates = self
            .crates
            .iter()
            .filter(|c| !c.editions.iter().any(|e| e == edition));
        labs.map(|l| l.name.as_str())
            .chain(crates.map(|c| c.name.as_str()))
            .collect()
    }

    /// Every make target of the labs, in the kit and in a copy of each edition (a copy's
    /// `kvraft-4a` is its edition's part 4A).
    pub(crate) fn all_make_targets(&self) -> impl Iterator<Item = MakeTarget<'_>> {
        let editions = std::iter::once(None).chain(EDITIONS.iter().map(|e| Some(*e)));
        editions.flat_map(move |edition| {
            self.labs
                .iter()
                .filter(move |l| edition.is_none_or(|e| l.comes_in(e)))
                .flat_map(move |l| l.make_targets(edition))
        })
    }

    /// The lab named `name`.
    pub(crate) fn lab(&self, name: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.name == name)
    }
}

impl Lab {
    /// Whether a course of `edition` has this lab.
    pub(crate) fn comes_in(&self, edition: &str) -> bool {
        self.editions.is_empty() || self.editions.iter().any(|e| e == edition)
    }

    /// Its parts in `edition` (every part when `None`).
    pub(crate) fn parts_of(&self, edition: Option<&str>) -> &[String] {
        edition
            .and_then(|e| self.edition_parts.get(e))
            .unwrap_or(&self.parts)
    }

    /// The part a test of this lab belongs to: the first part rule whose prefix starts the
    /// name, else the name's suffix if it is one of the lab's parts (`_3a` → `3A`), else the
    /// lab's only part, else `-`.
    pub(crate) fn part_of(&self, test: &str) -> String {
        if let Some(rule) = self.part_rules.iter().find(|r| test.starts_with(&r.prefix)) {
            return rule.part.clone();
        }
        if let Some((_, suffix)) = test.rsplit_once('_') {
            let suffix = suffix.to_uppercase();
            if self.parts.contains(&suffix) {
                return suffix;
            }
        }
        match self.parts.as_slice() {
            [only] => only.clone(),
            _ => "-".to_string(),
        }
    }

    /// Its suites of `edition` (every suite when `None`), in order.
    pub(crate) fn targets_of(&self, edition: Option<&str>) -> Vec<&Target> {
        self.targets
            .iter()
            .filter(|t| edition.is_none_or(|e| edition_of(&t.name).is_none_or(|this| this == e)))
            .collect()
    }

    /// The targets whose test file exists in the checkout at `root` (a student's copy has the
    /// suites of one edition only).
    pub(crate) fn present_targets(&self, root: &Path) -> Vec<&Target> {
        let tests = root.join(&self.name).join("tests");
        self.targets
            .iter()
            .filter(|t| tests.join(format!("{}.rs", t.name)).is_file())
            .collect()
    }

    /// Its make targets (for `edition`, or every edition when `None`), in order: the whole
    /// lab (`raft`), each suite with a name of its own (`mr-sim`), each edition of a lab of
    /// several (`kvsrv-2024`) and each part of such an edition (`kvraft-2025-4a`), and each
    /// part of a lab of several parts where it has one shape (`raft-3a`; in a student's copy,
    /// `kvraft-4a` is its edition's).
    pub(crate) fn make_targets(&self, edition: Option<&str>) -> Vec<MakeTarget<'_>> {
        let all = self.targets_of(edition);
        let mut targets = vec![MakeTarget {
            name: self.name.clone(),
            lab: self,
            suites: all.clone(),
            part: None,
        }];
        for suite in &all {
            if let Some(make) = &suite.make {
                targets.push(MakeTarget {
                    name: make.clone(),
                    lab: self,
                    suites: vec![suite],
                    part: None,
                });
            }
        }
        let several = self.editions.len() > 1;
        if several {
            for year in self
                .editions
                .iter()
                .filter(|y| edition.is_none_or(|e| e == *y))
            {
                let suites = self.targets_of(Some(year));
                targets.push(MakeTarget {
                    name: format!("{}-{year}", self.name),
                    lab: self,
                    suites: suites.clone(),
                    part: None,
                });
                targets.extend(self.part_targets(&format!("{}-{year}", self.name), year, &suites));
            }
        }
        if edition.is_some() || !several {
            targets.extend(self.part_targets(&self.name, edition.unwrap_or_default(), &all));
        }
        targets
    }

    /// `<prefix>-<part>` for each part of `edition` (`""`: the lab's parts), if it has several.
    fn part_targets<'a>(
        &'a self,
        prefix: &str,
        edition: &str,
        suites: &[&'a Target],
    ) -> Vec<MakeTarget<'a>> {
        let parts = self.parts_of(Some(edition).filter(|e| !e.is_empty()));
        if parts.len() < 2 {
            return Vec::new();
        }
        parts
            .iter()
            .map(|part| {
                let filter = self
                    .part_rules
                    .iter()
                    .find(|r| r.part == *part)
                    .map_or_else(|| part.to_lowercase(), |r| r.prefix.clone());
                MakeTarget {
                    name: format!("{prefix}-{}", part.to_lowercase()),
                    lab: self,
                    suites: suites.to_vec(),
                    part: Some(PartFilter {
                        part: part.clone(),
                        filter,
                    }),
                }
            })
            .collect()
    }
}

/// One make target of a lab: the suites it runs, and the part it selects (all when `None`).
#[derive(Debug)]
pub(crate) struct MakeTarget<'a> {
    /// `raft-3a`.
    pub(crate) name: String,
    /// Its lab.
    pub(crate) lab: &'a Lab,
    /// The suites it runs.
    pub(crate) suites: Vec<&'a Target>,
    /// The one part it runs, if any.
    pub(crate) part: Option<PartFilter>,
}

/// A part of a lab, and the test-name filter that selects it (`3a`, `challenge`).
#[derive(Debug)]
pub(crate) struct PartFilter {
    /// The part (`3A`).
    pub(crate) part: String,
    /// What `cargo test` is given to run its tests.
    pub(crate) filter: String,
}

impl MakeTarget<'_> {
    /// The rule: `name:` and its `cargo test` line. Several test binaries run to the end even
    /// when one fails.
    fn rule(&self) -> String {
        let seeds = if self.suites.iter().all(|t| t.runs_once()) {
            ""
        } else {
            "LAB_SEEDS=$(SEEDS) "
        };
        let mut line = format!("{}:\n\t{seeds}$(CARGO) test", self.name);
        if self.suites.len() > 1 {
            line.push_str(" --no-fail-fast");
        }
        let _ = write!(line, " -p {}", self.lab.name);
        for target in &self.suites {
            let _ = write!(line, " --test {}", target.name);
        }
        if let Some(part) = &self.part {
            let _ = write!(line, " -- {}", part.filter);
        }
        line
    }
}

// ---- what is generated ----

/// The make targets of the labs (`edition`: the student copy's; `None`: the kit, every
/// edition), with the line `make help` prints for each lab; `with_kit`: the kit's own suite too.
pub(crate) fn make_targets(manifest: &Manifest, edition: Option<&str>, with_kit: bool) -> String {
    let mut names: Vec<String> = vec!["help-labs".into()];
    let mut help = String::new();
    let mut rules = String::new();
    let labs = manifest.labs.iter().filter(|l| with_kit || l.graded);
    for lab in labs.filter(|l| edition.is_none_or(|e| l.comes_in(e))) {
        let targets = lab.make_targets(edition);
        let _ = write!(rules, "\n# {}\n", lab.title);
        for (i, target) in targets.iter().enumerate() {
            if i > 0 {
                rules.push('\n');
            }
            let _ = writeln!(rules, "{}", target.rule());
        }
        let others: Vec<String> = targets[1..]
            .iter()
            .map(|t| format!("make {}", t.name))
            .collect();
        let also = if others.is_empty() {
            String::new()
        } else {
            format!(" ({})", others.join(", "))
        };
        let _ = writeln!(
            help,
            "\t@echo \"make {:<15}{}{also}; SEEDS=N\"",
            lab.name, lab.title
        );
        names.extend(targets.into_iter().map(|t| t.name));
    }
    format!(
        ".PHONY: {}\n\n# What `make help` says of each lab.\nhelp-labs:\n{help}{rules}",
        names.join(" ")
    )
}

/// The `-p` flags of every graded lab of `edition` (what a student's `make test` runs).
pub(crate) fn graded_packages(manifest: &Manifest, edition: &str) -> String {
    manifest
        .labs
        .iter()
        .filter(|l| l.graded && l.comes_in(edition))
        .map(|l| format!("-p {}", l.name))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The README's table of the labs.
pub(crate) fn readme_table(manifest: &Manifest) -> String {
    let mut table = String::from("| lab | parts | run it | handout |\n|---|---|---|---|\n");
    for lab in manifest.labs.iter().filter(|l| l.graded) {
        let commands: Vec<String> = lab
            .make_targets(None)
            .into_iter()
            .map(|t| format!("`make {}`", t.name))
            .collect();
        let title = match lab.editions.as_slice() {
            [] => lab.title.clone(),
            [only] => format!("{} (edition {only})", lab.title),
            all => format!("{} (editions {})", lab.title, all.join(", ")),
        };
        let parts = if lab.edition_parts.is_empty() {
            lab.parts.join(", ")
        } else {
            let by_edition: Vec<String> = lab
                .editions
                .iter()
                .map(|e| format!("{}: {}", e, lab.parts_of(Some(e)).join(", ")))
                .collect();
            by_edition.join("; ")
        };
        let _ = writeln!(
            table,
            "| {title} | {parts} | {} | [docs/{}.md](docs/{}.md) |",
            commands.join(", "),
            lab.name,
            lab.name
        );
    }
    table
}

/// The lines between `begin` and `end` in `text` (each marker a whole line), replaced by
/// `body`; an error if the markers are missing.
pub(crate) fn replace_between(
    text: &str,
    begin: &str,
    end: &str,
    body: &str,
) -> Result<String, String> {
    let start = text
        .find(&format!("{begin}\n"))
        .ok_or_else(|| format!("no line {begin:?}"))?
        + begin.len()
        + 1;
    let stop = text[start..]
        .find(&format!("{end}\n"))
        .ok_or_else(|| format!("no line {end:?} after {begin:?}"))?
        + start;
    Ok(format!("{}{body}{}", &text[..start], &text[stop..]))
}

/// The markers of the generated part of the kit's Makefile.
pub(crate) const MAKEFILE_MARKERS: (&str, &str) = (
    "# BEGIN LAB TARGETS (generated from labs/manifest.toml: cargo run -p labs -- manifest --update)",
    "# END LAB TARGETS",
);

/// The markers of the generated table in the kit's README.
pub(crate) const README_MARKERS: (&str, &str) = (
    "<!-- BEGIN LABS (generated from labs/manifest.toml: cargo run -p labs -- manifest --update) -->",
    "<!-- END LABS -->",
);

/// What the kit's Makefile and README should be (from their current text).
fn generated(makefile: &str, readme: &str) -> Result<(String, String), String> {
    let manifest = manifest();
    let (begin, end) = MAKEFILE_MARKERS;
    let makefile = replace_between(makefile, begin, end, &make_targets(manifest, None, true))
        .map_err(|e| format!("Makefile: {e}"))?;
    let (begin, end) = README_MARKERS;
    let readme = replace_between(readme, begin, end, &readme_table(manifest))
        .map_err(|e| format!("README.md: {e}"))?;
    Ok((makefile, readme))
}

/// Options of `labs manifest`.
#[derive(clap::Args)]
pub struct Args {
    /// Rewrite the generated parts of the kit's Makefile and README (else: check them).
    #[arg(long)]
    update: bool,
}

/// Runs `labs manifest`: checks (or with `--update`, rewrites) what is generated from the
/// manifest.
pub fn run(args: &Args) -> ExitCode {
    let root = crate::workspace_root();
    let read = |name: &str| std::fs::read_to_string(root.join(name));
    let (Ok(makefile), Ok(readme)) = (read("Makefile"), read("README.md")) else {
        eprintln!("labs manifest: cannot read the kit's Makefile and README.md");
        return ExitCode::from(2);
    };
    let (new_makefile, new_readme) = match generated(&makefile, &readme) {
        Ok(both) => both,
        Err(e) => {
            eprintln!("labs manifest: {e}");
            return ExitCode::from(2);
        }
    };
    let stale: Vec<&str> = [
        ("Makefile", makefile == new_makefile),
        ("README.md", readme == new_readme),
    ]
    .into_iter()
    .filter(|(_, same)| !same)
    .map(|(name, _)| name)
    .collect();
    if stale.is_empty() {
        println!("labs manifest: the Makefile and README.md agree with labs/manifest.toml");
        return ExitCode::SUCCESS;
    }
    if !args.update {
        eprintln!(
            "labs manifest: {} disagree with labs/manifest.toml: run cargo run -p labs -- \
             manifest --update",
            stale.join(" and ")
        );
        return ExitCode::FAILURE;
    }
    for (name, text) in [("Makefile", new_makefile), ("README.md", new_readme)] {
        if let Err(e) = std::fs::write(root.join(name), text) {
            eprintln!("labs manifest: {name}: {e}");
            return ExitCode::from(2);
        }
    }
    println!("labs manifest: rewrote {}", stale.join(" and "));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_parses_and_names_every_lab_crate() {
        let manifest = manifest();
        let root = crate::workspace_root();
        for lab in &manifest.labs {
            assert!(
                root.join(&lab.name).join("Cargo.toml").is_file(),
                "{}",
                lab.name
            );
            for target in &lab.targets {
                let file = root
                    .join(&lab.name)
                    .join("tests")
                    .join(format!("{}.rs", target.name));
                assert!(file.is_file(), "{}", file.display());
            }
        }
    }

    #[test]
    fn the_makefile_and_readme_agree_with_the_manifest() {
        let root = crate::workspace_root();
        let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let (new_makefile, new_readme) = generated(&makefile, &readme).unwrap();
        assert!(
            makefile == new_makefile && readme == new_readme,
            "the Makefile or README.md disagrees with labs/manifest.toml: run cargo run -p \
             labs -- manifest --update"
        );
    }

    #[test]
    fn tests_fall_into_parts() {
        let manifest = manifest();
        let raft = manifest.lab("raft").unwrap();
        assert_eq!(raft.part_of("figure8_unreliable_3c"), "3C");
        assert_eq!(raft.part_of("restart_after_vote_3x"), "3X");
        let shardkv = manifest.lab("shardkv").unwrap();
        assert_eq!(shardkv.part_of("challenge1_delete"), "CHALLENGE");
        assert_eq!(shardkv.part_of("join_leave_5b"), "5B");
        assert_eq!(shardkv.part_of("concurrent_reliable_5c"), "5C");
        let one_part = manifest.lab("shardctrler").unwrap();
        assert_eq!(one_part.part_of("basic_leave_join"), "5A");
        assert_eq!(manifest.lab("mapreduce").unwrap().part_of("wc_sim"), "1");
        assert_eq!(manifest.lab("kvsrv").unwrap().part_of("basic_2"), "2");
        assert_eq!(manifest.lab("labrpc").unwrap().part_of("basic"), "-");
    }

    #[test]
    fn a_student_copy_gets_its_editions_targets_only() {
        let manifest = manifest();
        let targets = make_targets(manifest, Some("2024"), false);
        assert!(targets.contains("\nkvsrv-2024:\n"), "{targets}");
        assert!(!targets.contains("2025"), "{targets}");
        assert!(!targets.contains("labrpc"), "{targets}");
        assert!(
            targets.contains(
                "\nraft-3a:\n\tLAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft \
                 --test search -- 3a\n"
            ),
            "{targets}"
        );
        assert!(
            targets.contains("\nmr-real:\n\t$(CARGO) test -p mapreduce --test mr_real\n"),
            "{targets}"
        );
        assert!(
            targets.contains("\nshardkv-challenge:\n\tLAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2024 -- challenge\n"),
            "{targets}"
        );
    }

    #[test]
    fn an_edition_with_parts_of_its_own_names_them_in_the_kit_and_in_its_copy() {
        let manifest = manifest();
        let kit = make_targets(manifest, None, false);
        assert!(kit.contains("\nkvraft-2025-4c:\n\tLAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvraft --test rsm_2025 --test kvraft_2025 -- 4c\n"), "{kit}");
        assert!(kit.contains("\nkvraft-2024-4a:\n"), "{kit}");
        assert!(!kit.contains("\nkvraft-4a:\n"), "{kit}");
        assert!(!kit.contains("\nkvraft-2024-4c:\n"), "{kit}");
        assert!(kit.contains("\nshardkv-2025-5c:\n"), "{kit}");
        assert!(!kit.contains("\nshardkv-2024-5c:\n"), "{kit}");
        let copy = make_targets(manifest, Some("2025"), false);
        assert!(copy.contains("\nkvraft-4c:\n"), "{copy}");
        assert!(copy.contains("\nkvraft-2025-4a:\n"), "{copy}");
        assert!(copy.contains("\nshardkv-5c:\n"), "{copy}");
        assert!(!copy.contains("2024"), "{copy}");
        assert!(!copy.contains("challenge"), "{copy}");
        assert!(!copy.contains("shardctrler"), "{copy}");
        assert_eq!(manifest.left_out("2025"), ["shardctrler", "kvnet"]);
        assert!(manifest.left_out("2024").is_empty());
        assert!(graded_packages(manifest, "2025").contains("shardkv"));
    }

    #[test]
    fn a_manifest_that_contradicts_itself_is_refused() {
        let cases = [
            ("[[lab]]\nname = \"a\"\ntitle = \"A\"\n", "no suite"),
            (
                "[[lab]]\nname = \"a\"\ntitle = \"A\"\nbuilds_on = [\"b\"]\n[[lab.suite]]\ntarget = \"t\"\ntitle = \"T\"\n",
                "not declared before it",
            ),
            (
                "[[lab]]\nname = \"a\"\ntitle = \"A\"\n[[lab.suite]]\ntarget = \"t_2025\"\ntitle = \"T\"\n",
                "edition 2025",
            ),
            (
                "[[lab]]\nname = \"a\"\ntitle = \"A\"\nparts = [\"1\"]\npart_rules = [{ prefix = \"x\", part = \"2\" }]\n[[lab.suite]]\ntarget = \"t\"\ntitle = \"T\"\n",
                "not in its parts",
            ),
            (
                "[[lab]]\nname = \"a\"\ntitle = \"A\"\ncolour = 1\n",
                "unknown field",
            ),
        ];
        for (text, words) in cases {
            let error = Manifest::parse(text).unwrap_err();
            assert!(error.contains(words), "{words}: {error}");
        }
    }
}
