//! `labs`: the teacher's tools.
//!
//! - `labs grade` runs every graded suite that exists (against the code in this checkout: the
//!   reference solutions, or a student's work) and prints a per-lab table.
//! - `labs skeleton --out DIR [--edition 2024|2025]` writes the student's starting point: the
//!   workspace with the solution regions removed, and of the labs that come in several
//!   editions, only the chosen one.
//! - `labs mutants` measures the suites' strength: it plants each classic bug of `mutants/`
//!   in a scratch copy and reports which tests catch it, on which seed, with what message.

mod grade;
mod mutants;
mod skeleton;

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
    /// Run the graded suites and print a per-lab table of results.
    Grade(grade::Args),
    /// Write the student skeleton: this workspace with solution regions removed.
    Skeleton(skeleton::Args),
    /// Plant each known bug (mutants/<lab>/*.patch) in a scratch copy, run the lab's suite,
    /// and print which tests caught it.
    Mutants(mutants::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Grade(args) => grade::run(&args),
        Command::Skeleton(args) => skeleton::run(&args),
        Command::Mutants(args) => mutants::run(&args),
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
