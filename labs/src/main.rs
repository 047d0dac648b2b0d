//! `labs`: the teacher's tools.
//!
//! - `labs grade` grades this checkout, or students' submissions, with the course's suites
//!   (`labs/course.toml`): every test over N seeds, in limited processes, reported as a table,
//!   JSON, JUnit XML or Gradescope's results.json; `--partition K/N` splits the work across
//!   machines and `labs merge` joins the parts.
//! - `labs replay TEST --seed S` reruns one run with full logs; `labs trace TEST --seed S
//!   --html OUT` draws its timeline as a self-contained HTML page.
//! - `labs handout LAB` renders `docs/<lab>.md` as a self-contained HTML page.
//! - `labs skeleton --out DIR [--edition 2024|2025]` writes the student's starting point: the
//!   workspace with the solution regions removed, and of the labs that come in several
//!   editions, only the chosen one; `labs check-copy DIR` checks that what the copy's
//!   documents say is true (their commands, their quoted output, no staff material).
//! - `labs mutants` measures the suites' strength: it plants each classic bug of `mutants/`
//!   in a scratch copy and reports which tests catch it, on which seed, with what message.

mod copycheck;
mod course;
mod grade;
mod handout;
mod manifest;
mod mutants;
mod report;
mod rerun;
mod sandbox;
mod skeleton;
mod submission;
mod timeline;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The teacher's tools for the distributed-systems labs.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Grade this checkout or students' submissions: every test over N seeds, scored with
    /// the course file.
    Grade(grade::Args),
    /// Join the JSON reports of `labs grade --partition K/N` runs into one report.
    Merge(rerun::MergeArgs),
    /// Rerun one run of one test with full logs.
    Replay(rerun::ReplayArgs),
    /// Draw one run's timeline as a self-contained HTML page.
    Trace(rerun::TraceArgs),
    /// Render a lab's handout (docs/<lab>.md) as a self-contained HTML page.
    Handout(handout::Args),
    /// Draw a trace file (from `labs trace --json`) as its timeline page.
    #[command(hide = true)]
    RenderTrace(rerun::RenderTraceArgs),
    /// Write the student skeleton: this workspace with solution regions removed.
    Skeleton(skeleton::Args),
    /// Check a student copy from `labs skeleton`: every command its documents show runs the
    /// tests it claims, every quoted output is what its command prints, no staff material.
    CheckCopy(copycheck::Args),
    /// Plant each known bug (mutants/<lab>/*.patch) in a scratch copy, run the lab's suite,
    /// and print which tests caught it.
    Mutants(mutants::Args),
    /// Check (or with --update, rewrite) what is generated from labs/manifest.toml: the
    /// Makefile's lab targets and the README's table of labs.
    Manifest(manifest::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Grade(args) => grade::run(&args),
        Command::Merge(args) => rerun::merge(&args),
        Command::Replay(args) => rerun::replay(&args),
        Command::Trace(args) => rerun::trace(&args),
        Command::Handout(args) => handout::run(&args),
        Command::RenderTrace(args) => rerun::render_trace(&args),
        Command::Skeleton(args) => skeleton::run(&args),
        Command::CheckCopy(args) => copycheck::run(&args),
        Command::Mutants(args) => mutants::run(&args),
        Command::Manifest(args) => manifest::run(&args),
    }
}

/// The workspace this tool was built in.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The workspace's tracked files (`git ls-files`), as paths relative to `root`.
fn tracked_files(root: &Path) -> Result<Vec<String>, String> {
    let listed = std::process::Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z"])
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !listed.status.success() {
        return Err("git ls-files failed: is this a git checkout?".into());
    }
    Ok(listed
        .stdout
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect())
}
