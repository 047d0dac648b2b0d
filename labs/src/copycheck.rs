//! `labs check-copy DIR`: a generated student copy does what its documents say.
//!
//! - **Commands.** Every command the copy's README and handouts show (`make raft-3a`,
//!   `LAB_SEEDS=200 make raft-3c`, `cargo test -p raft --test raft -- --exact rejoin_3b`) is run
//!   for real in the copy, with its seed count rewritten to 2, and the harness's result file
//!   must show that it ran exactly the tests it claims, two seeds each (a test of real
//!   processes once). A skeleton's tests fail, but a failing run still records its runs. What a
//!   command claims comes from its words, not from what it runs: `make raft-3a` claims part 3A
//!   of the Raft suite, `cargo test ... -- --exact NAME` the test NAME.
//! - **Quoted output.** A block of output that a handout quotes after a
//!   `<!-- output of: COMMAND -->` line must be what COMMAND prints: its lines in order, each
//!   right after the one before, where a `...` line stands for any number of lines.
//! - **Staff material.** No file of the copy may mention the staff's tools or notes.
//!
//! `.ci/skeleton-check` runs it on the copies of both editions.

use crate::grade::{self, Target};
use crate::sandbox::{self, Job};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Options of `labs check-copy`.
#[derive(clap::Args)]
pub struct Args {
    /// The student copy (from `labs skeleton`), already built or not.
    dir: PathBuf,
}

/// The seed count every command is run with.
const SEEDS: u64 = 2;

/// How long one command may run (a cold build included).
const COMMAND_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Words that only the staff's material has: a copy that contains one leaks it.
const STAFF_WORDS: &[&str] = &[
    "For the course staff",
    "BEGIN STAFF",
    "END STAFF",
    "labs grade",
    "labs trace",
    "labs replay",
    "labs merge",
    "labs handout",
    "labs skeleton",
    "labs mutants",
    "make mutants",
    "make grade",
    "mutants/",
    "reference solution",
];

/// Make targets that run no test (checked elsewhere, or not at all).
const NOT_TEST_TARGETS: &[&str] = &["help", "lint", "fmt", "handin"];

/// Runs `labs check-copy`.
pub fn run(args: &Args) -> ExitCode {
    match check(&args.dir) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("labs check-copy: {}", problems.join("\n\n"));
            ExitCode::FAILURE
        }
    }
}

/// Checks the copy at `dir`; returns a summary, or every problem found.
fn check(dir: &Path) -> Result<String, Vec<String>> {
    let documents = documents(dir).map_err(|e| vec![e])?;
    if documents.is_empty() {
        return Err(vec![format!(
            "{}: no README.md or docs/*.md: is this a student copy?",
            dir.display()
        )]);
    }
    let mut problems = staff_words(dir).map_err(|e| vec![e])?;
    problems.extend(first_commit(dir).err());
    let scratch = dir.join("target").join("check-copy");
    let mut lists = TestLists::default();
    let mut commands: Vec<(String, String)> = Vec::new();
    let mut blocks: Vec<(String, OutputBlock)> = Vec::new();
    for (name, markdown) in &documents {
        for command in commands_in(markdown) {
            if !commands.iter().any(|(_, c)| *c == command) {
                commands.push((name.clone(), command));
            }
        }
        blocks.extend(
            output_blocks(markdown)
                .map_err(|e| vec![format!("{name}: {e}")])?
                .into_iter()
                .map(|b| (name.clone(), b)),
        );
    }
    let mut ran = 0;
    for (index, (document, command)) in commands.iter().enumerate() {
        let Some(shell) = parse(command) else {
            continue;
        };
        let claim = match claim_of(&shell) {
            Ok(Some(claim)) => claim,
            Ok(None) => continue,
            Err(e) => {
                problems.push(format!("{document}: `{command}`: {e}"));
                continue;
            }
        };
        let expected = match expected_runs(dir, &claim, shell.first_seed(), &mut lists) {
            Ok(expected) => expected,
            Err(e) => {
                problems.push(format!("{document}: `{command}`: {e}"));
                continue;
            }
        };
        ran += 1;
        let rewritten = with_seeds(&shell, SEEDS);
        eprintln!("check-copy: {rewritten}");
        let job_dir = scratch.join(format!("command-{index}"));
        let finished = run_shell(dir, &rewritten, &job_dir).map_err(|e| vec![e])?;
        let records = match &finished.records {
            Ok(records) => records,
            Err(e) => {
                problems.push(format!(
                    "{document}: `{command}` (run as `{rewritten}`): {e}"
                ));
                continue;
            }
        };
        let got: Vec<(String, Option<u64>)> =
            records.iter().map(|r| (r.test.clone(), r.seed)).collect();
        if let Err(e) = compare(&expected, &got) {
            problems.push(format!(
                "{document}: `{command}` (run as `{rewritten}`) did not run what it claims: \
                 {e}\nits output ended with:\n{}",
                last_lines(&finished.output, 15)
            ));
        }
    }
    for (index, (document, block)) in blocks.iter().enumerate() {
        let job_dir = scratch.join(format!("output-{index}"));
        let finished = run_shell(dir, &block.command, &job_dir).map_err(|e| vec![e])?;
        let output = std::fs::read_to_string(job_dir.join("output")).unwrap_or_default();
        if let Err(e) = block.matches(&output) {
            problems.push(format!(
                "{document}: the output quoted after line {} is not what `{}` prints: {e}\n\
                 it printed (last lines):\n{}",
                block.line,
                block.command,
                last_lines(&finished.output, 40)
            ));
        }
    }
    if ran == 0 {
        problems.push("no command to run was found in the copy's documents".into());
    }
    if problems.is_empty() {
        Ok(format!(
            "check-copy: {}: {ran} documented commands ran what they claim ({SEEDS} seeds each), \
             {} quoted outputs are what their commands print, no staff material, one commit",
            dir.display(),
            blocks.len()
        ))
    } else {
        Err(problems)
    }
}

/// The copy's README and handouts (`docs/*.md`), by name.
fn documents(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut paths = vec![dir.join("README.md")];
    if let Ok(entries) = std::fs::read_dir(dir.join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        docs.sort();
        paths.extend(docs);
    }
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let name = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
            Ok((name, text))
        })
        .collect()
}

/// Every staff word left in the copy's files, one problem per file and word.
fn staff_words(dir: &Path) -> Result<Vec<String>, String> {
    let listed = std::process::Command::new("git")
        .current_dir(dir)
        .args(["ls-files", "-z"])
        .output()
        .map_err(|e| format!("cannot run git ls-files in {}: {e}", dir.display()))?;
    if !listed.status.success() {
        return Err(format!(
            "{}: not a git repository (a student copy is one, with its first commit)",
            dir.display()
        ));
    }
    let mut problems = Vec::new();
    for name in listed.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        let Ok(text) = std::fs::read_to_string(dir.join(&*name)) else {
            continue; // not text
        };
        for word in STAFF_WORDS {
            if let Some(line) = text
                .lines()
                .position(|l| l.to_lowercase().contains(&word.to_lowercase()))
            {
                problems.push(format!(
                    "{name}:{}: staff material in the student copy (\"{word}\")",
                    line + 1
                ));
            }
        }
    }
    Ok(problems)
}

/// Checks that the copy is a git repository whose only commit is the labs as handed out:
/// students hand in through git, and their first diff is against what they were given.
fn first_commit(dir: &Path) -> Result<(), String> {
    let output = std::process::Command::new("git")
        .current_dir(dir)
        .args(["log", "--format=%s"])
        .output()
        .map_err(|e| format!("cannot run git log in {}: {e}", dir.display()))?;
    let log = String::from_utf8_lossy(&output.stdout);
    let subjects: Vec<&str> = log.lines().collect();
    if !output.status.success() || subjects != [crate::skeleton::INITIAL_COMMIT] {
        return Err(format!(
            "{}: the copy's history should be one commit, {:?}; it is {subjects:?}",
            dir.display(),
            crate::skeleton::INITIAL_COMMIT
        ));
    }
    Ok(())
}

/// The code of a Markdown document: each line of its code blocks (fenced, or indented after a
/// blank line), and each inline code span (which may run over a line break).
fn code_snippets(markdown: &str) -> Vec<String> {
    let mut snippets = Vec::new();
    let mut fenced = false;
    let mut paragraph = String::new();
    let mut previous_blank_or_code = true;
    let flush = |paragraph: &mut String, snippets: &mut Vec<String>| {
        let mut rest = paragraph.as_str();
        while let Some(start) = rest.find('`') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('`') else { break };
            snippets.push(after[..end].trim().to_string());
            rest = &after[end + 1..];
        }
        paragraph.clear();
    };
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            flush(&mut paragraph, &mut snippets);
            fenced = !fenced;
            previous_blank_or_code = true;
            continue;
        }
        if fenced {
            snippets.push(line.trim().to_string());
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut snippets);
            previous_blank_or_code = true;
            continue;
        }
        if line.starts_with("    ") && previous_blank_or_code {
            snippets.push(line.trim().to_string());
            continue;
        }
        previous_blank_or_code = false;
        paragraph.push(' ');
        paragraph.push_str(line.trim());
    }
    flush(&mut paragraph, &mut snippets);
    snippets
}

/// The commands a document shows: snippets that run `make` or `cargo test`, without a
/// trailing `# comment` or a `$ ` prompt.
fn commands_in(markdown: &str) -> Vec<String> {
    code_snippets(markdown)
        .into_iter()
        .filter_map(|snippet| {
            let snippet = snippet.strip_prefix("$ ").unwrap_or(&snippet);
            let command = match snippet.find(" #") {
                Some(at) => &snippet[..at],
                None => snippet,
            };
            let command = command.trim();
            parse(command).map(|_| command.to_string())
        })
        .collect()
}

/// A command line: its environment assignments and its words.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shell {
    env: Vec<(String, String)>,
    words: Vec<String>,
}

/// True for `NAME=value` with a shell variable's name.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some((name, value))
}

/// `command` as a test command (`make ...` or `cargo test ...`, after assignments), or `None`
/// if it is not one (or has a placeholder or shell syntax in it).
fn parse(command: &str) -> Option<Shell> {
    if command.contains(['<', '>', '|', ';', '&', '*']) || command.contains("...") {
        return None;
    }
    let mut env = Vec::new();
    let mut words = command.split_whitespace().peekable();
    while let Some((name, value)) = words.peek().and_then(|w| assignment(w)) {
        env.push((name.to_string(), value.to_string()));
        words.next();
    }
    let words: Vec<String> = words.map(str::to_string).collect();
    let is_test = match words.first().map(String::as_str) {
        Some("make") => true,
        Some("cargo") => words.get(1).is_some_and(|w| w == "test"),
        _ => false,
    };
    is_test.then_some(Shell { env, words })
}

impl Shell {
    /// The first seed the command runs (`LAB_SEED`, or the harness's default).
    fn first_seed(&self) -> u64 {
        self.env
            .iter()
            .find(|(name, _)| name == "LAB_SEED")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(DEFAULT_SEED)
    }
}

/// The harness's seed when `LAB_SEED` is not set (`labtest::DEFAULT_SEED`).
const DEFAULT_SEED: u64 = 1;

/// The command with its seed count set to `seeds`: `LAB_SEEDS=N` and `SEEDS=N` rewritten, or
/// `LAB_SEEDS` added.
fn with_seeds(shell: &Shell, seeds: u64) -> String {
    let mut rewritten = false;
    let mut env: Vec<String> = Vec::new();
    for (name, value) in &shell.env {
        if name == "LAB_SEEDS" {
            rewritten = true;
            env.push(format!("{name}={seeds}"));
        } else {
            env.push(format!("{name}={value}"));
        }
    }
    let words: Vec<String> = shell
        .words
        .iter()
        .map(|w| match assignment(w) {
            Some(("SEEDS" | "LAB_SEEDS", _)) => {
                rewritten = true;
                format!("{}={seeds}", w.split_once('=').map_or("", |(n, _)| n))
            }
            _ => w.clone(),
        })
        .collect();
    if !rewritten {
        env.insert(0, format!("LAB_SEEDS={seeds}"));
    }
    env.into_iter().chain(words).collect::<Vec<_>>().join(" ")
}

/// Which tests of a target a command selects.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Select {
    /// Every test.
    All,
    /// The tests of one part (`3A`, `CHALLENGE`).
    Part(String),
    /// One test, by its full name.
    Named(String),
}

/// What a command claims to run.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Claim {
    /// Every lab's suites (`make test`): at least their tests, and whatever else it runs with
    /// the right seed count.
    Everything,
    /// These tests of these (package, target) pairs; a target of `None` is each graded target
    /// of the package present in the copy, a target ending in `_YYYY` is an edition's.
    Tests(Vec<(String, Option<String>, Select)>),
}

/// What a filter word names: a part (`3a`, `5b`, `2`, `challenge`), or a test.
fn select_of(filter: &str) -> Select {
    let bytes = filter.as_bytes();
    let part_like = matches!(bytes, [d] | [d, _] if d.is_ascii_digit())
        && filter.chars().skip(1).all(|c| c.is_ascii_alphabetic());
    if part_like || filter == "challenge" {
        Select::Part(filter.to_uppercase())
    } else {
        Select::Named(filter.to_string())
    }
}

/// What `shell` claims to run, `None` for a command that runs no test.
fn claim_of(shell: &Shell) -> Result<Option<Claim>, String> {
    match shell.words[0].as_str() {
        "make" => {
            let targets: Vec<&str> = shell.words[1..]
                .iter()
                .filter(|w| assignment(w).is_none() && !w.starts_with('-'))
                .map(String::as_str)
                .collect();
            if targets.is_empty() || targets.iter().all(|t| NOT_TEST_TARGETS.contains(t)) {
                return Ok(None);
            }
            let mut claimed = Vec::new();
            for target in targets {
                match make_claim(target)? {
                    Claim::Everything => return Ok(Some(Claim::Everything)),
                    Claim::Tests(tests) => claimed.extend(tests),
                }
            }
            Ok(Some(Claim::Tests(claimed)))
        }
        _ => cargo_claim(&shell.words[2..]).map(Some),
    }
}

/// Make targets of the kit that are not a lab's (the lab manifest has those): the package and
/// test target of real processes they run, once each.
const OTHER_MAKE_TARGETS: &[(&str, &str, &str)] = &[("kvraft-real", "kvnet", "real")];

/// What `make TARGET` claims: a lab's make target claims what the lab manifest says it runs
/// (the whole lab, a suite, an edition, a part).
fn make_claim(target: &str) -> Result<Claim, String> {
    if target == "test" {
        return Ok(Claim::Everything);
    }
    if let Some((_, package, suite)) = OTHER_MAKE_TARGETS.iter().find(|(t, _, _)| *t == target) {
        return Ok(Claim::Tests(vec![(
            package.to_string(),
            Some(suite.to_string()),
            Select::All,
        )]));
    }
    let manifest = crate::manifest::manifest();
    let found = manifest
        .all_make_targets()
        .filter(|t| t.lab.graded)
        .find(|t| t.name == target)
        .ok_or_else(|| format!("make {target}: no such target of a lab in this kit"))?;
    let lab = found.lab.name.clone();
    Ok(Claim::Tests(match (&found.part, found.name == lab) {
        // The whole lab: its suites present in the copy (its edition's).
        (None, true) => vec![(lab, None, Select::All)],
        (None, false) => found
            .suites
            .iter()
            .map(|t| (lab.clone(), Some(t.name.clone()), Select::All))
            .collect(),
        (Some(part), _) => vec![(lab, None, Select::Part(part.part.clone()))],
    }))
}

/// What `cargo test ARGS` claims.
fn cargo_claim(args: &[String]) -> Result<Claim, String> {
    let mut packages = Vec::new();
    let mut targets = Vec::new();
    let mut filters = Vec::new();
    let mut exact = false;
    let mut after_dashes = false;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--" => after_dashes = true,
            "-p" | "--package" if !after_dashes => {
                packages.push(words.next().ok_or("-p without a package")?.clone());
            }
            "--test" if !after_dashes => {
                targets.push(words.next().ok_or("--test without a target")?.clone());
            }
            "--exact" if after_dashes => exact = true,
            w if w.starts_with('-') => {}
            w => filters.push(w.to_string()),
        }
    }
    let [package] = packages.as_slice() else {
        return Err("a documented cargo test command names one package (-p)".into());
    };
    let select = match filters.as_slice() {
        [] => Select::All,
        [name] if exact => Select::Named(name.clone()),
        [filter] => select_of(filter),
        _ => return Err("more than one test filter".into()),
    };
    if targets.is_empty() {
        return Ok(Claim::Tests(vec![(package.clone(), None, select)]));
    }
    Ok(Claim::Tests(
        targets
            .into_iter()
            .map(|t| (package.clone(), Some(t), select.clone()))
            .collect(),
    ))
}

/// The tests of each (package, target), listed once.
#[derive(Default)]
struct TestLists(BTreeMap<(String, String), Vec<String>>);

impl TestLists {
    /// The tests of `package`'s test target `target` in the copy at `dir` (libtest's list).
    fn get(&mut self, dir: &Path, package: &str, target: &str) -> Result<&[String], String> {
        let key = (package.to_string(), target.to_string());
        if !self.0.contains_key(&key) {
            let output = std::process::Command::new("cargo")
                .current_dir(dir)
                .args(["test", "-q", "-p", package, "--test", target, "--"])
                .args(["--list", "--format", "terse"])
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "cannot list the tests of {package}'s target {target}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            let tests = String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|l| l.strip_suffix(": test"))
                .map(str::to_string)
                .collect();
            self.0.insert(key.clone(), tests);
        }
        Ok(&self.0[&key])
    }
}

/// The graded targets of `package` in the copy at `dir`.
fn graded_targets(dir: &Path, package: &str) -> Vec<&'static Target> {
    grade::target_names(package)
        .into_iter()
        .flat_map(|name| grade::targets_named(package, name))
        .filter(|t| {
            dir.join(package)
                .join("tests")
                .join(format!("{}.rs", t.name))
                .is_file()
        })
        .collect()
}

/// The runs a claim expects: test → seeds (each of `SEEDS` seeds from `first`, or one run
/// without a seed for a test of real processes). For [`Claim::Everything`], the graded suites'.
fn expected_runs(
    dir: &Path,
    claim: &Claim,
    first: u64,
    lists: &mut TestLists,
) -> Result<Expected, String> {
    let (claimed, at_least) = match claim {
        Claim::Everything => (
            grade::student_labs()
                .into_iter()
                .map(|lab| (lab.to_string(), None, Select::All))
                .collect(),
            true,
        ),
        Claim::Tests(claimed) => (claimed.clone(), false),
    };
    let mut runs = BTreeMap::new();
    for (package, target, select) in &claimed {
        // Each target by name, with its grading rules if it is graded.
        let targets: Vec<(&str, Option<&'static Target>)> = match target {
            None => graded_targets(dir, package)
                .into_iter()
                .map(|t| (t.name.as_str(), Some(t)))
                .collect(),
            Some(name) => {
                let file = dir.join(package).join("tests").join(format!("{name}.rs"));
                if !file.is_file() {
                    return Err(format!("{package} has no test target {name}"));
                }
                vec![(
                    name.as_str(),
                    grade::targets_named(package, name).into_iter().next(),
                )]
            }
        };
        let mut selected = 0;
        for (name, graded) in targets {
            let real = OTHER_MAKE_TARGETS
                .iter()
                .any(|(_, p, t)| p == package && *t == name);
            let seeds: Vec<Option<u64>> = if real || grade::runs_once(name) {
                vec![None]
            } else {
                (first..first + SEEDS).map(Some).collect()
            };
            for test in lists.get(dir, package, name)? {
                let chosen = match (select, graded) {
                    (Select::All, _) => true,
                    (Select::Part(part), Some(_)) => {
                        grade::lab_named(package).is_some_and(|lab| lab.part_of(test) == *part)
                    }
                    (Select::Part(part), None) => {
                        return Err(format!("{package}'s {name} has no parts (asked: {part})"));
                    }
                    (Select::Named(wanted), _) => test == wanted,
                };
                if chosen {
                    selected += 1;
                    runs.insert(test.clone(), seeds.clone());
                }
            }
        }
        if selected == 0 && !at_least {
            return Err(format!(
                "it claims {select:?} of {package}{}, which has no such test",
                target
                    .as_ref()
                    .map(|t| format!("'s target {t}"))
                    .unwrap_or_default()
            ));
        }
    }
    Ok(Expected {
        runs,
        at_least,
        first,
    })
}

/// The runs a command must record.
#[derive(Debug)]
struct Expected {
    /// Test → its seeds (`None`: one run without a seed).
    runs: BTreeMap<String, Vec<Option<u64>>>,
    /// True if other tests may run too (with the right seed count).
    at_least: bool,
    first: u64,
}

/// Compares the recorded runs with the expected ones; an error names what is missing, extra
/// or run the wrong number of times.
fn compare(expected: &Expected, got: &[(String, Option<u64>)]) -> Result<(), String> {
    let mut recorded: BTreeMap<&str, Vec<Option<u64>>> = BTreeMap::new();
    for (test, seed) in got {
        recorded.entry(test).or_default().push(*seed);
    }
    let mut problems = Vec::new();
    for (test, seeds) in &expected.runs {
        match recorded.get(test.as_str()) {
            None => problems.push(format!("{test} did not run")),
            Some(ran) => {
                let ran: BTreeSet<_> = ran.iter().collect();
                let want: BTreeSet<_> = seeds.iter().collect();
                if ran != want {
                    problems.push(format!("{test} ran with seeds {ran:?}, not {want:?}"));
                }
            }
        }
    }
    let seeded: BTreeSet<Option<u64>> =
        (expected.first..expected.first + SEEDS).map(Some).collect();
    for (test, seeds) in &recorded {
        if expected.runs.contains_key(*test) {
            continue;
        }
        if !expected.at_least {
            problems.push(format!("{test} ran, but the command does not claim it"));
            continue;
        }
        let ran: BTreeSet<Option<u64>> = seeds.iter().copied().collect();
        if ran != seeded && ran != BTreeSet::from([None]) {
            problems.push(format!("{test} ran with seeds {ran:?}"));
        }
    }
    if got.len()
        != recorded
            .values()
            .map(|s| s.iter().collect::<BTreeSet<_>>().len())
            .sum::<usize>()
    {
        problems.push("a seed of a test ran twice".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.truncate(12);
        Err(problems.join("; "))
    }
}

/// Runs `command` through the shell in the copy, with none of the caller's harness switches
/// and a result file of its own.
fn run_shell(dir: &Path, command: &str, scratch: &Path) -> Result<sandbox::Finished, String> {
    let _ = std::fs::remove_dir_all(scratch);
    let job = Job {
        exe: Path::new("/bin/sh"),
        args: vec!["-c".into(), command.into()],
        env: Vec::new(),
        cwd: dir,
        time_limit: COMMAND_LIMIT,
        // Builds run under it: rustc's address space is large.
        memory_mib: 64 * 1024,
        scratch,
    };
    sandbox::run(&job)
}

/// The last `n` lines of `text`.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A block of output a handout quotes, and the command that prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OutputBlock {
    command: String,
    /// The quoted lines (`...` stands for any lines).
    lines: Vec<String>,
    /// The line of the document where the block starts.
    line: usize,
}

/// The marker before a quoted block of output.
const OUTPUT_MARKER: &str = "<!-- output of:";

/// The output blocks of a document: a `<!-- output of: COMMAND -->` line, then (after blank
/// lines) a fenced block.
fn output_blocks(markdown: &str) -> Result<Vec<OutputBlock>, String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(command) = lines[i]
            .trim()
            .strip_prefix(OUTPUT_MARKER)
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            i += 1;
            continue;
        };
        let marker_line = i + 1;
        i += 1;
        while i < lines.len() && lines[i].trim().is_empty() {
            i += 1;
        }
        if !lines
            .get(i)
            .is_some_and(|l| l.trim_start().starts_with("```"))
        {
            return Err(format!(
                "line {marker_line}: an output marker must be followed by a fenced block"
            ));
        }
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .ok_or(format!("line {marker_line}: the quoted block never ends"))?;
        blocks.push(OutputBlock {
            command: command.trim().to_string(),
            lines: lines[start..end].iter().map(|l| l.to_string()).collect(),
            line: start,
        });
        i = end + 1;
    }
    Ok(blocks)
}

impl OutputBlock {
    /// Whether `output` holds the block: its lines in order, each right after the one before
    /// unless a `...` line is between them (trailing spaces ignored).
    fn matches(&self, output: &str) -> Result<(), String> {
        let printed: Vec<&str> = output.lines().map(str::trim_end).collect();
        let mut at = 0; // the next printed line to look at
        let mut anywhere = true; // whether the next quoted line may come after a gap
        let mut first = true;
        for quoted in &self.lines {
            let quoted = quoted.trim_end();
            if quoted.trim() == "..." {
                anywhere = true;
                continue;
            }
            let found = if anywhere {
                (at..printed.len()).find(|&j| printed[j] == quoted)
            } else {
                (printed.get(at) == Some(&quoted)).then_some(at)
            };
            match found {
                Some(j) => at = j + 1,
                None if first => return Err(format!("it never prints {quoted:?}")),
                None => {
                    return Err(format!(
                        "{quoted:?} does not follow where the quote says (printed there: {:?})",
                        printed.get(at).unwrap_or(&"(the end)")
                    ));
                }
            }
            anywhere = false;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(command: &str) -> Shell {
        parse(command).unwrap_or_else(|| panic!("{command} is a test command"))
    }

    #[test]
    fn commands_come_from_code_blocks_and_spans() {
        let doc = "\
Run it:

    make raft-3a                 # part 3A
    cargo test -p raft --test raft -- --exact rejoin_3b

Many seeds: `LAB_SEEDS=200 make
raft-3c` (or `make raft SEEDS=20`); `cargo doc -p labrpc --open`; `make handin`.

```text
$ make kvsrv-2024
RUST_LOG=raft=debug LAB_SEED=11 LAB_SEEDS=1 cargo test -p raft --test raft -- --exact x_3b
cargo test -p raft <test>
```
";
        assert_eq!(
            commands_in(doc),
            [
                "make raft-3a",
                "cargo test -p raft --test raft -- --exact rejoin_3b",
                "LAB_SEEDS=200 make raft-3c",
                "make raft SEEDS=20",
                "make handin",
                "make kvsrv-2024",
                "RUST_LOG=raft=debug LAB_SEED=11 LAB_SEEDS=1 cargo test -p raft --test raft -- \
                 --exact x_3b",
            ]
        );
    }

    #[test]
    fn the_seed_count_is_rewritten_or_added() {
        assert_eq!(
            with_seeds(&shell("LAB_SEEDS=200 make raft-3c"), 2),
            "LAB_SEEDS=2 make raft-3c"
        );
        assert_eq!(
            with_seeds(&shell("make raft SEEDS=200"), 2),
            "make raft SEEDS=2"
        );
        assert_eq!(
            with_seeds(&shell("LAB_SEED=17 cargo test -p raft"), 2),
            "LAB_SEEDS=2 LAB_SEED=17 cargo test -p raft"
        );
        assert_eq!(shell("LAB_SEED=17 cargo test -p raft").first_seed(), 17);
        assert_eq!(shell("make raft").first_seed(), 1);
    }

    #[test]
    fn a_command_claims_what_its_words_say() {
        let claim = |c: &str| claim_of(&shell(c)).unwrap();
        let tests = |v: &[(&str, Option<&str>, Select)]| {
            Some(Claim::Tests(
                v.iter()
                    .map(|(p, t, s)| (p.to_string(), t.map(str::to_string), s.clone()))
                    .collect(),
            ))
        };
        assert_eq!(
            claim("make raft-3a"),
            tests(&[("raft", None, Select::Part("3A".into()))])
        );
        assert_eq!(claim("make raft"), tests(&[("raft", None, Select::All)]));
        assert_eq!(claim("make test"), Some(Claim::Everything));
        assert_eq!(claim("make handin"), None);
        assert_eq!(
            claim("make shardkv-challenge"),
            tests(&[("shardkv", None, Select::Part("CHALLENGE".into()))])
        );
        assert_eq!(
            claim("make kvsrv-2025"),
            tests(&[
                ("kvsrv", Some("kvsrv_2025"), Select::All),
                ("kvsrv", Some("mem_2025"), Select::All),
                ("kvsrv", Some("lock_2025"), Select::All),
            ])
        );
        assert_eq!(
            claim("cargo test -p raft --test raft -- --exact rejoin_3b"),
            tests(&[("raft", Some("raft"), Select::Named("rejoin_3b".into()))])
        );
        assert_eq!(
            claim("cargo test -p raft 3a"),
            tests(&[("raft", None, Select::Part("3A".into()))])
        );
        assert_eq!(
            claim("cargo test -p kvsrv --test kvsrv_2024 -- basic_2"),
            tests(&[("kvsrv", Some("kvsrv_2024"), Select::Named("basic_2".into()))])
        );
        assert!(claim_of(&shell("make nolab-3a")).is_err());
    }

    #[test]
    fn runs_must_be_exactly_the_claimed_ones() {
        let expected = Expected {
            runs: BTreeMap::from([
                ("a_3a".to_string(), vec![Some(1), Some(2)]),
                ("b_real".to_string(), vec![None]),
            ]),
            at_least: false,
            first: 1,
        };
        let run = |v: &[(&str, Option<u64>)]| -> Vec<(String, Option<u64>)> {
            v.iter().map(|(t, s)| (t.to_string(), *s)).collect()
        };
        assert!(
            compare(
                &expected,
                &run(&[("a_3a", Some(1)), ("a_3a", Some(2)), ("b_real", None)])
            )
            .is_ok()
        );
        let one_seed = compare(&expected, &run(&[("a_3a", Some(1)), ("b_real", None)]));
        assert!(one_seed.unwrap_err().contains("a_3a ran with seeds"));
        let extra = compare(
            &expected,
            &run(&[
                ("a_3a", Some(1)),
                ("a_3a", Some(2)),
                ("b_real", None),
                ("c", Some(1)),
            ]),
        );
        assert!(
            extra
                .unwrap_err()
                .contains("c ran, but the command does not claim it")
        );
        let missing = compare(&expected, &run(&[("a_3a", Some(1)), ("a_3a", Some(2))]));
        assert!(missing.unwrap_err().contains("b_real did not run"));
    }

    #[test]
    fn quoted_output_must_be_printed_in_order() {
        let doc = "Before\n\n<!-- output of: make raft-3a -->\n```text\nFAILED with seed 1\n  \
                   detail\n...\nReplay:\n  cmd\n```\n";
        let blocks = output_blocks(doc).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].command, "make raft-3a");
        let block = &blocks[0];
        let printed = "noise\nFAILED with seed 1\n  detail\nx\ny\nReplay:\n  cmd\n";
        assert!(block.matches(printed).is_ok());
        let gap = "FAILED with seed 1\nnoise\n  detail\nReplay:\n  cmd\n";
        assert!(block.matches(gap).unwrap_err().contains("does not follow"));
        assert!(block.matches("other").unwrap_err().contains("never prints"));
        assert!(output_blocks("<!-- output of: x -->\ntext\n").is_err());
    }
}
