//! `labs mutants`: how strong is a graded suite? Each patch in `mutants/<lab>/` plants one
//! classic student bug in the reference solution. For each, in a scratch copy of this
//! checkout, the patch is applied, the lab's suite runs on seeds 1..=N (release), and a table
//! says which tests caught the bug, the first seed that did, and the message a student would
//! read. A bug no test catches is a hole in the suite.
//!
//! Each mutant names the protocol rule it breaks (`Rule:` in its header; the rules are in
//! `mutants/rules.toml`), and the table is grouped by rule. Patches in `mutants/<lab>/legal/`
//! are the opposite: legal variants of the reference that a check must not fail (a check that
//! fails a correct implementation is a bug of the suite), so their suites must pass.
//!
//! The scratch copy lives in `target/mutants/` and builds in the checkout's target folder,
//! reusing the dependencies built there. Cargo names a workspace crate's build by its path
//! relative to the workspace, so the scratch's `raft` and the checkout's would be one build
//! (the checkout could pick up a mutant, a mutant could pass for built): the scratch's own
//! crates get a profile setting of their own (one more codegen unit), which gives them builds
//! of their own, while the dependencies keep theirs. Exit status: 0 if every mutant was
//! caught and every legal variant passed, 1 if not, 2 for bad input or a suite that fails
//! without any mutant.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Options of `labs mutants`.
#[derive(clap::Args)]
pub struct Args {
    /// Only these labs (each has a folder `mutants/<lab>/`); default: all of them.
    #[arg(long = "lab", value_name = "LAB")]
    labs: Vec<String>,
    /// Seeds per test: each suite runs with seeds 1..=N (default: the lab's `mutant_seeds`
    /// in labs/manifest.toml, else 20).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: Option<u64>,
    /// Only the mutants whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Also write the table, as Markdown, to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

/// A lab's suites, from the manifest (`None` for a lab the kit does not have).
fn suites(lab: &str) -> Option<&'static [crate::manifest::Target]> {
    crate::grade::lab_named(lab).map(|l| l.targets.as_slice())
}

/// Seeds per test for a lab's mutants: `--seeds`, else the manifest's `mutant_seeds`, else 20.
fn seeds_for(lab: &str, asked: Option<u64>) -> u64 {
    asked
        .or_else(|| crate::grade::lab_named(lab).and_then(|l| l.mutant_seeds))
        .unwrap_or(20)
}

/// What one suite run said.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// The tests that failed, in the order they were reported.
    failed_tests: Vec<String>,
    /// The lowest seed that failed, if the messages say.
    first_seed: Option<u64>,
    /// The first line of the first failure's message.
    message: Option<String>,
    /// The build failed (the patch does not compile).
    build_failed: bool,
    /// The suites ran on seeds 1..=this.
    seeds: u64,
}

impl Outcome {
    fn caught(&self) -> bool {
        !self.failed_tests.is_empty() || self.build_failed
    }
}

/// Reads libtest's output: failed tests, the seeds their messages name, the first message.
fn parse(output: &str) -> Outcome {
    let mut outcome = Outcome::default();
    for line in output.lines() {
        if let Some(test) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            outcome.failed_tests.push(test.to_string());
        }
        let mut seeds = Vec::new();
        if let Some(rest) = line.split_once("FAILED with seed ").map(|(_, r)| r) {
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next();
            seeds.extend(digits.and_then(|d| d.parse::<u64>().ok()));
            if outcome.message.is_none() {
                let text = rest.split_once(": ").map_or(rest, |(_, m)| m);
                outcome.message = Some(shorten(text, 160));
            }
        }
        if let Some((_, list)) = line.split_once(" seeds failed: ") {
            seeds.extend(
                list.split_whitespace()
                    .filter_map(|s| s.parse::<u64>().ok()),
            );
        }
        if let Some(&seed) = seeds.iter().min() {
            outcome.first_seed = Some(outcome.first_seed.map_or(seed, |s| s.min(seed)));
        }
    }
    outcome
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A mutant: its lab, name, what bug it plants, the rule it breaks, its patch file, and the
/// edition of the files it changes (their suites are the ones that run; `None`: every suite
/// of the lab). A legal variant breaks no rule: its suites must pass.
struct Mutant {
    lab: String,
    name: String,
    description: String,
    rule: Option<String>,
    legal: bool,
    patch: PathBuf,
    edition: Option<&'static str>,
}

impl Mutant {
    /// Whether the run went as it must: a mutant caught, a legal variant passing.
    fn as_expected(&self, outcome: &Outcome) -> bool {
        outcome.caught() != self.legal
    }
}

/// A rule of a lab's protocol (`mutants/rules.toml`): the mutants that break it are the
/// evidence that the suite checks it, or, if no run can observe it, the argument why.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    /// Short name, `<lab>.<what>`, as mutants name it in their `Rule:` line.
    id: String,
    /// The rule, in the words of its source.
    text: String,
    /// Where it is stated (a figure or section of the paper, the lab's handout).
    source: String,
    /// Why no run can tell an implementation that breaks it from one that keeps it.
    unobservable: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rules {
    rule: Vec<Rule>,
}

/// The rules of `mutants/rules.toml`; every id unique.
fn read_rules(root: &Path) -> Result<Vec<Rule>, String> {
    let path = root.join("mutants").join("rules.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rules: Rules = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seen = std::collections::BTreeSet::new();
    for rule in &rules.rule {
        if !seen.insert(rule.id.as_str()) {
            return Err(format!("{}: rule {} twice", path.display(), rule.id));
        }
    }
    Ok(rules.rule)
}

/// Reads a patch's header: `Mutant <lab>/<name>: <bug>` (or `Legal ...`), then optionally
/// `Rule: <id>`. Returns the description and rule; the header must name the file it is in.
fn read_header(
    text: &str,
    lab: &str,
    name: &str,
    legal: bool,
) -> Result<(String, Option<String>), String> {
    let kind = if legal { "Legal" } else { "Mutant" };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let description = first
        .strip_prefix(&format!("{kind} {lab}/{name}: "))
        .ok_or_else(|| {
            format!("its first line must be \"{kind} {lab}/{name}: <what it plants>\"")
        })?;
    let rule = lines
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Rule: "))
        .map(|r| r.trim().to_string());
    Ok((description.to_string(), rule))
}

/// The edition of every file `patch` changes, if they are all of one.
fn patch_edition(patch: &str) -> Option<&'static str> {
    let mut editions = patch
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(crate::manifest::edition_of);
    let first = editions.next()??;
    editions.all(|e| e == Some(first)).then_some(first)
}

/// The mutants of `labs` (all labs if empty), sorted by lab and name.
fn find_mutants(root: &Path, labs: &[String], only: Option<&str>) -> Result<Vec<Mutant>, String> {
    let dir = root.join("mutants");
    let mut available: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    available.sort();
    for lab in labs {
        if !available.contains(lab) {
            return Err(format!(
                "no mutants for lab {lab:?} (there are: {})",
                available.join(", ")
            ));
        }
    }
    let mut mutants = Vec::new();
    for lab in available
        .iter()
        .filter(|l| labs.is_empty() || labs.contains(l))
    {
        if suites(lab).is_none() {
            return Err(format!("mutants/{lab}: no lab {lab} in labs/manifest.toml"));
        }
        for legal in [false, true] {
            let folder = if legal {
                dir.join(lab).join("legal")
            } else {
                dir.join(lab)
            };
            if legal && !folder.is_dir() {
                continue;
            }
            let mut patches: Vec<PathBuf> = std::fs::read_dir(&folder)
                .map_err(|e| format!("{}: {e}", folder.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "patch"))
                .collect();
            patches.sort();
            for patch in patches {
                let stem = patch
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                let name = if legal { format!("legal/{stem}") } else { stem };
                if only.is_some_and(|o| !name.contains(o)) {
                    continue;
                }
                let text = std::fs::read_to_string(&patch)
                    .map_err(|e| format!("{}: {e}", patch.display()))?;
                let (description, rule) = read_header(&text, lab, &name, legal)
                    .map_err(|e| format!("{}: {e}", patch.display()))?;
                mutants.push(Mutant {
                    lab: lab.clone(),
                    name,
                    description,
                    rule,
                    legal,
                    edition: patch_edition(&text),
                    patch,
                });
            }
        }
    }
    if mutants.is_empty() {
        return Err("no mutant matches: nothing to run".into());
    }
    Ok(mutants)
}

/// Copies the workspace's tracked files into `scratch`, rewriting only files that differ (so
/// that cargo's incremental builds survive between runs).
fn refresh_scratch(root: &Path, scratch: &Path) -> Result<(), String> {
    for name in crate::tracked_files(root)? {
        let (from, to) = (root.join(&name), scratch.join(&name));
        let data = std::fs::read(&from).map_err(|e| format!("{name}: {e}"))?;
        if std::fs::read(&to).ok().as_deref() == Some(&data[..]) {
            continue;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&to, data).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(())
}

/// Applies `patch` in `dir` (or with `reverse`, takes it out), and checks that it took effect.
fn apply(dir: &Path, patch: &Path, reverse: bool) -> Result<(), String> {
    git_apply(dir, patch, reverse, false)?;
    // Applied, the patch must now take out cleanly (and taken out, go in again).
    git_apply(dir, patch, !reverse, true)
        .map_err(|e| format!("{} had no effect ({e})", patch.display()))
}

/// `git apply [-R] [--check] patch` in `dir`.
fn git_apply(dir: &Path, patch: &Path, reverse: bool, check: bool) -> Result<(), String> {
    let mut command = Command::new("git");
    // The scratch copy lives inside this repository's target/: without a ceiling, git would
    // find the repository above it and silently skip every path outside the scratch folder.
    let ceiling = dir.parent().unwrap_or(dir);
    command
        .current_dir(dir)
        .env("GIT_CEILING_DIRECTORIES", ceiling)
        .arg("apply");
    if reverse {
        command.arg("-R");
    }
    if check {
        command.arg("--check");
    }
    let output = command
        .arg(patch)
        .output()
        .map_err(|e| format!("cannot run git apply: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} does not apply: {}",
            patch.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs one lab's suites of `edition` (all when `None`) in `scratch`; returns what they said,
/// merged.
fn run_suites(
    scratch: &Path,
    target: &Path,
    lab: &str,
    edition: Option<&str>,
    seeds: u64,
) -> Outcome {
    let mut merged = Outcome::default();
    let of_edition = |suite: &&crate::manifest::Target| {
        edition.is_none_or(|e| crate::manifest::edition_of(&suite.name).is_none_or(|s| s == e))
    };
    for suite in suites(lab).unwrap_or(&[]).iter().filter(of_edition) {
        let seeded = !suite.runs_once();
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(scratch)
            .env("CARGO_TARGET_DIR", target)
            .env(
                "LAB_SEEDS",
                if seeded {
                    seeds.to_string()
                } else {
                    "1".into()
                },
            )
            .env_remove("LAB_SEED")
            .env_remove("LAB_CHECK_DETERMINISM")
            .env_remove("RUST_LOG")
            .args([
                "test",
                "--release",
                "--no-fail-fast",
                "-p",
                lab,
                "--test",
                &suite.name,
            ])
            .args(own_builds(scratch))
            .output();
        let Ok(output) = output else {
            merged.build_failed = true;
            continue;
        };
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let outcome = parse(&text);
        if !output.status.success() && outcome.failed_tests.is_empty() {
            merged.build_failed = true;
            merged.message.get_or_insert_with(|| {
                let error = text.lines().find(|l| l.starts_with("error")).unwrap_or("");
                format!("does not build: {}", shorten(error, 140))
            });
        }
        merged.failed_tests.extend(outcome.failed_tests);
        merged.first_seed = match (merged.first_seed, outcome.first_seed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if merged.message.is_none() {
            merged.message = outcome.message;
        }
    }
    merged
}

/// The folders of the kit's own crates, which no patch may change: their builds are shared
/// between the scratch copy and the checkout (their sources are the same).
const KIT_FOLDERS: &[&str] = &["labrpc", "tests", "lincheck", "realproc", "labs"];

/// An error if `patch` changes a file of the kit's own crates ([`KIT_FOLDERS`]).
fn check_patch_folders(patch: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(patch).map_err(|e| format!("{}: {e}", patch.display()))?;
    for line in text.lines() {
        let Some(path) = line.strip_prefix("+++ b/").or(line.strip_prefix("--- a/")) else {
            continue;
        };
        let folder = path.split('/').next().unwrap_or_default();
        if KIT_FOLDERS.contains(&folder) {
            return Err(format!(
                "{}: changes {path}, a file of the kit's own crates; a mutant plants its bug in \
                 a lab's code",
                patch.display()
            ));
        }
    }
    Ok(())
}

/// Cargo arguments that give every lab crate of the workspace at `root` a build of its own:
/// one more codegen unit than release's 16 (no change to what the code does), so that their
/// builds never share a name with the checkout's in the same target folder, while the
/// dependencies and the kit's crates, whose profile is unchanged, are reused.
fn own_builds(root: &Path) -> Vec<String> {
    let packages = std::fs::read_to_string(root.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| {
            let members = manifest
                .get("workspace")?
                .get("members")?
                .as_array()?
                .clone();
            Some(
                members
                    .iter()
                    .filter_map(|member| {
                        let folder = member.as_str()?;
                        if KIT_FOLDERS.contains(&folder) {
                            return None;
                        }
                        let text =
                            std::fs::read_to_string(root.join(folder).join("Cargo.toml")).ok()?;
                        let manifest = text.parse::<toml::Table>().ok()?;
                        Some(manifest.get("package")?.get("name")?.as_str()?.to_string())
                    })
                    .collect::<Vec<String>>(),
            )
        })
        .unwrap_or_default();
    packages
        .iter()
        .flat_map(|name| {
            [
                "--config".to_string(),
                format!("profile.release.package.{name}.codegen-units=17"),
            ]
        })
        .collect()
}

/// The results as Markdown: the mutants grouped by the rule they break (in the order of
/// `rules`; rules no run can observe with their argument), then the legal variants.
fn table(results: &[(Mutant, Outcome)], rules: &[Rule]) -> String {
    let mut text = String::from(
        "| rule | mutant | bug | caught by | first seed (of those run) | message |\n\
         |---|---|---|---|---|---|\n",
    );
    let cell = |s: &str| s.replace('|', "\\|");
    let rule_of = |m: &Mutant| rules.iter().position(|r| Some(&r.id) == m.rule.as_ref());
    let mut ordered: Vec<&(Mutant, Outcome)> = results.iter().filter(|(m, _)| !m.legal).collect();
    ordered.sort_by_key(|(m, _)| {
        (
            rule_of(m).unwrap_or(usize::MAX),
            m.lab.clone(),
            m.name.clone(),
        )
    });
    let mut last_rule = None;
    for (mutant, outcome) in ordered {
        let rule = match rule_of(mutant) {
            Some(i) if last_rule == Some(i) => String::new(),
            Some(i) => format!(
                "**{}**: {} ({})",
                rules[i].id, rules[i].text, rules[i].source
            ),
            None => "(none named)".into(),
        };
        last_rule = rule_of(mutant);
        let by = if outcome.build_failed && outcome.failed_tests.is_empty() {
            "does not build".to_string()
        } else if outcome.failed_tests.is_empty() {
            "**survived**".to_string()
        } else {
            let mut tests = outcome.failed_tests.clone();
            tests.sort();
            let shown: Vec<&str> = tests.iter().take(3).map(String::as_str).collect();
            let more = tests.len().saturating_sub(3);
            let mut by = format!("{} tests: {}", tests.len(), shown.join(", "));
            if more > 0 {
                let _ = write!(by, ", +{more}");
            }
            by
        };
        let _ = writeln!(
            text,
            "| {} | {}/{} | {} | {by} | {} | {} |",
            cell(&rule),
            mutant.lab,
            mutant.name,
            cell(&mutant.description),
            match outcome.first_seed {
                Some(seed) => format!("{seed} (of 1-{})", outcome.seeds),
                None => format!("- (of 1-{})", outcome.seeds),
            },
            cell(outcome.message.as_deref().unwrap_or(""))
        );
    }
    let labs: Vec<&str> = results.iter().map(|(m, _)| m.lab.as_str()).collect();
    for rule in rules {
        if let Some(argument) = &rule.unobservable
            && labs
                .iter()
                .any(|lab| rule.id.split('.').next() == Some(*lab))
        {
            let _ = writeln!(
                text,
                "| **{}**: {} ({}) | no mutant | no run can observe it: {} | - | - | |",
                rule.id,
                cell(&rule.text),
                cell(&rule.source),
                cell(argument)
            );
        }
    }
    let legal: Vec<&(Mutant, Outcome)> = results.iter().filter(|(m, _)| m.legal).collect();
    if !legal.is_empty() {
        text.push_str("\n| legal variant | what it does | result |\n|---|---|---|\n");
        for (mutant, outcome) in legal {
            let result = if outcome.caught() {
                format!(
                    "**failed** {}: {}",
                    outcome.failed_tests.join(", "),
                    outcome.message.as_deref().unwrap_or("")
                )
            } else {
                format!("passes every test on seeds 1-{}", outcome.seeds)
            };
            let _ = writeln!(
                text,
                "| {}/{} | {} | {} |",
                mutant.lab,
                mutant.name,
                cell(&mutant.description),
                cell(&result)
            );
        }
    }
    text
}

/// `labs mutants`.
pub fn run(args: &Args) -> ExitCode {
    match mutate(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("labs mutants: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs every selected mutant; true if all were caught.
fn mutate(args: &Args) -> Result<bool, String> {
    let root = crate::workspace_root();
    let rules = read_rules(&root)?;
    let mutants = find_mutants(&root, &args.labs, args.only.as_deref())?;
    let scratch = root.join("target").join("mutants").join("workspace");
    // The checkout's target folder, its dependencies reused; the scratch's own crates are
    // built apart (see the module's notes and `own_builds`).
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    refresh_scratch(&root, &scratch)?;
    for mutant in &mutants {
        check_patch_folders(&mutant.patch)?;
    }
    if own_builds(&scratch).is_empty() {
        return Err(format!(
            "cannot read the workspace's crates from {}/Cargo.toml",
            scratch.display()
        ));
    }
    // A lab's suites must pass without mutants for a caught mutant to mean anything; legal
    // variants alone need no such run (their suites must pass anyway).
    let mut labs: Vec<&str> = mutants
        .iter()
        .filter(|m| !m.legal)
        .map(|m| m.lab.as_str())
        .collect();
    labs.dedup();
    for lab in labs {
        eprintln!("labs mutants: the {lab} suite without mutants (it must pass)...");
        let baseline = run_suites(&scratch, &target, lab, None, 1);
        if baseline.caught() {
            return Err(format!(
                "the {lab} suite fails without any mutant ({}): fix that first",
                baseline.message.unwrap_or_default()
            ));
        }
    }
    let mut results = Vec::new();
    for mutant in mutants {
        eprintln!("labs mutants: {}/{}...", mutant.lab, mutant.name);
        apply(&scratch, &mutant.patch, false)?;
        let seeds = seeds_for(&mutant.lab, args.seeds);
        let mut outcome = run_suites(&scratch, &target, &mutant.lab, mutant.edition, seeds);
        outcome.seeds = seeds;
        apply(&scratch, &mutant.patch, true)?;
        eprintln!(
            "  {}",
            match (mutant.legal, outcome.caught()) {
                (false, true) => "caught",
                (false, false) => "SURVIVED",
                (true, false) => "passed (a legal variant)",
                (true, true) => "FAILED, but it is a legal variant: a check is wrong",
            }
        );
        results.push((mutant, outcome));
    }
    let text = table(&results, &rules);
    println!("{text}");
    let (legal, planted): (Vec<_>, Vec<_>) = results.iter().partition(|(m, _)| m.legal);
    let caught = planted.iter().filter(|(_, o)| o.caught()).count();
    println!("{caught} of {} mutants caught", planted.len());
    if !legal.is_empty() {
        let passed = legal.iter().filter(|(_, o)| !o.caught()).count();
        println!("{passed} of {} legal variants passed", legal.len());
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(results.iter().all(|(m, o)| m.as_expected(o)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_lab_crate_gets_a_build_of_its_own_and_no_patch_changes_the_kit() {
        let root = crate::workspace_root();
        let args = own_builds(&root);
        let setting = |name: &str| format!("profile.release.package.{name}.codegen-units=17");
        for lab in [
            "mapreduce",
            "kvsrv",
            "raft",
            "kvraft",
            "kvnet",
            "shardctrler",
            "shardkv",
        ] {
            assert!(args.contains(&setting(lab)), "{lab} missing from {args:?}");
        }
        for kit in ["labrpc", "labtest", "lincheck", "realproc", "labs"] {
            assert!(!args.contains(&setting(kit)), "{kit} in {args:?}");
        }
        assert_eq!(args.len(), 2 * 7, "{args:?}");
        for mutant in find_mutants(&root, &[], None).expect("the mutants") {
            check_patch_folders(&mutant.patch).expect("a lab's code");
        }
    }

    use super::*;

    #[test]
    fn a_patch_of_one_editions_files_runs_that_editions_suites() {
        let one = "+++ b/kvraft/src/v2025/rsm.rs\n+++ b/kvraft/src/v2025/server.rs\n";
        assert_eq!(patch_edition(one), Some("2025"));
        let both = "+++ b/kvraft/src/v2025/rsm.rs\n+++ b/kvraft/src/v2024/rsm.rs\n";
        assert_eq!(patch_edition(both), None);
        assert_eq!(patch_edition("+++ b/raft/src/lib.rs\n"), None);
    }

    #[test]
    fn parses_failures_seeds_and_the_first_message() {
        let output = "\
test a_3a ... ok
test b_3b ... FAILED
test c_3c ... FAILED

---- b_3b stdout ----
thread 'b_3b' panicked at raft/tests/raft.rs:25:5:
FAILED with seed 7 at virtual time 1.5s: term 3 has 2 (>1) leaders: servers [0, 1]
3 of 20 seeds failed: 7 9 12
---- c_3c stdout ----
FAILED with seed 4 at virtual time 2.0s: one(5) failed to reach agreement
";
        let outcome = parse(output);
        assert_eq!(outcome.failed_tests, ["b_3b", "c_3c"]);
        assert_eq!(outcome.first_seed, Some(4));
        assert_eq!(
            outcome.message.as_deref(),
            Some("term 3 has 2 (>1) leaders: servers [0, 1]")
        );
        assert!(outcome.caught());
        assert!(!parse("test a_3a ... ok\n").caught());
    }

    /// Every patch must still apply to this checkout (CI runs `git apply --check` too).
    #[test]
    fn every_mutant_is_known_and_applies() {
        let root = crate::workspace_root();
        let mutants = find_mutants(&root, &[], None).unwrap();
        assert!(mutants.len() >= 20, "{} mutants", mutants.len());
        for mutant in &mutants {
            assert!(
                !mutant.description.is_empty(),
                "{} has no description",
                mutant.name
            );
            let status = Command::new("git")
                .current_dir(&root)
                .args(["apply", "--check"])
                .arg(&mutant.patch)
                .status()
                .unwrap();
            assert!(
                status.success(),
                "{} does not apply",
                mutant.patch.display()
            );
        }
        assert!(find_mutants(&root, &["nonsense".into()], None).is_err());
        assert!(find_mutants(&root, &[], Some("no such mutant")).is_err());
    }

    /// The rules, the patches and the table in docs/suite-strength.md say the same: every
    /// mutant breaks a known rule, every rule has a mutant or says why no run can observe it,
    /// and the document names every mutant, legal variant and rule.
    #[test]
    fn rules_patches_and_the_table_are_in_step() {
        let root = crate::workspace_root();
        let rules = read_rules(&root).unwrap();
        let mutants = find_mutants(&root, &[], None).unwrap();
        let doc = std::fs::read_to_string(root.join("docs/suite-strength.md")).unwrap();
        for mutant in &mutants {
            let name = format!("{}/{}", mutant.lab, mutant.name);
            match (&mutant.rule, mutant.legal) {
                (None, false) => panic!("{name} names no rule (add `Rule: <id>` to its header)"),
                (Some(rule), _) => assert!(
                    rules.iter().any(|r| &r.id == rule),
                    "{name} names the rule {rule}, which mutants/rules.toml does not have"
                ),
                (None, true) => {}
            }
            assert!(
                doc.contains(&name),
                "docs/suite-strength.md does not list {name}"
            );
        }
        for rule in &rules {
            let broken = mutants.iter().any(|m| m.rule.as_ref() == Some(&rule.id));
            assert!(
                broken || rule.unobservable.is_some(),
                "rule {} has no mutant and no argument why no run can observe it",
                rule.id
            );
            assert!(
                doc.contains(&format!("**{}**", rule.id)),
                "docs/suite-strength.md does not list the rule {}",
                rule.id
            );
        }
    }

    #[test]
    fn a_header_names_its_file_and_rule() {
        let text = "Mutant raft/18-x: A bug.\nRule: raft.higher-term\n\ndiff --git a/x b/x\n";
        assert_eq!(
            read_header(text, "raft", "18-x", false).unwrap(),
            ("A bug.".to_string(), Some("raft.higher-term".to_string()))
        );
        assert!(
            read_header(text, "raft", "19-y", false).is_err(),
            "another file's header"
        );
        assert!(
            read_header(text, "raft", "18-x", true).is_err(),
            "a mutant is not legal"
        );
        let legal = "Legal raft/legal/01-z: Fine.\n\ndiff\n";
        assert_eq!(
            read_header(legal, "raft", "legal/01-z", true).unwrap(),
            ("Fine.".to_string(), None)
        );
    }
}
