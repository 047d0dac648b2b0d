//! `labs`: the teacher's tools.
//!
//! `labs grade` runs every graded suite that exists (against the code in this checkout: the
//! reference solutions, or a student's work) and prints a per-lab table.

mod grade;

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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Grade(args) => grade::run(&args),
    }
}
