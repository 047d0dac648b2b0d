//! `labs`: the teacher's tools.
//!
//! - `labs grade` runs every graded suite that exists (against the code in this checkout: the
//!   reference solutions, or a student's work) and prints a per-lab table.
//! - `labs skeleton --out DIR [--edition 2024|2025]` writes the student's starting point: the
//!   workspace with the solution regions removed, and of the labs that come in several
//!   editions, only the chosen one.

mod grade;
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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Grade(args) => grade::run(&args),
        Command::Skeleton(args) => skeleton::run(&args),
    }
}

/// The workspace this tool was built in.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
