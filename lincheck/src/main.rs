//! `lincheck`: checks a history file for linearizability.
//!
//! The last line of standard output is exactly `linearizable`, `not linearizable` or
//! `unknown`, and the exit code 0, 1 or 2 respectively; 3 for unreadable or malformed input
//! (with a message `FILE:LINE: what is wrong` on standard error) or bad usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use lincheck::formats::{self, Format};
use lincheck::models::{KvModel, RegisterModel, VersionedKvModel};
use lincheck::{
    CheckResult, History, Method, Model, Options, PartitionOutcome, PowerSet, Verdict, check, html,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Seconds a check may take when `--timeout` is not given.
const DEFAULT_TIMEOUT_SECS: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelArg {
    /// 6.824 key/value store (get/put/append), split by key.
    Kv,
    /// A register with read/write/compare-and-set (Jepsen etcd).
    Register,
    /// 6.5840 versioned key/value server (get, put with version), split by key.
    VersionedKv,
}

impl ModelArg {
    /// The model's name on the command line.
    fn name(self) -> &'static str {
        match self {
            ModelArg::Kv => "kv",
            ModelArg::Register => "register",
            ModelArg::VersionedKv => "versioned-kv",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// Porcupine's key/value files.
    PorcupineKv,
    /// Jepsen etcd logs.
    Etcd,
    /// One JSON object per line (see docs/linearizability.md).
    Jsonl,
}

/// Checks a history for linearizability.
#[derive(Parser, Debug)]
#[command(name = "lincheck", version)]
struct Cli {
    /// The history file.
    file: PathBuf,
    /// The model (default: from the format, or the jsonl header, else kv).
    #[arg(long, value_enum)]
    model: Option<ModelArg>,
    /// The file format (default: detected from the content).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Give up with `unknown` after this many seconds (more than 0).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = positive_seconds, allow_negative_numbers = true)]
    timeout: f64,
    /// Write an HTML report here.
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
    /// Check the history as one piece instead of splitting it by key.
    #[arg(long)]
    no_partition: bool,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Give up with `unknown` before the search caches exceed this many MiB (default: a
    /// quarter of the machine's memory, at most 1024).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    memory_budget: Option<u64>,
    /// Give up on a partition with `unknown` after this many model steps in it (the
    /// deterministic budget of graded tests).
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u64).range(1..))]
    max_steps: Option<u64>,
    /// Always use the general search, never the log analysis (for comparisons).
    #[arg(long)]
    no_log_analysis: bool,
    /// Keep checking the other partitions after one fails (complete report; may be slow).
    #[arg(long)]
    all_partitions: bool,
    /// Print statistics of every partition.
    #[arg(short, long)]
    verbose: bool,
}

/// Parses `--timeout`: a number of seconds, more than zero (zero would answer by timing luck).
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(secs),
        Ok(_) => Err("the timeout must be a number of seconds more than 0".into()),
        Err(_) => Err(format!("{text:?} is not a number of seconds")),
    }
}

/// Prints a line on standard output, ignoring a closed pipe.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            return ExitCode::from(if usage_error { 3 } else { 0 });
        }
    };
    match run(&cli) {
        Ok(v) => {
            say!("{v}");
            ExitCode::from(match v {
                Verdict::Linearizable => 0,
                Verdict::NotLinearizable => 1,
                Verdict::Unknown => 2,
            })
        }
        Err(msg) => {
            eprintln!("lincheck: {msg}");
            ExitCode::from(3)
        }
    }
}

fn run(cli: &Cli) -> Result<Verdict, String> {
    let name = cli.file.display().to_string();
    let bytes = std::fs::read(&cli.file).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        format!("{name}:{line}: not valid UTF-8")
    })?;
    let format = match cli.format {
        Some(FormatArg::PorcupineKv) => Format::PorcupineKv,
        Some(FormatArg::Etcd) => Format::Etcd,
        Some(FormatArg::Jsonl) => Format::Jsonl,
        None => Format::detect(&text).unwrap_or(Format::Jsonl),
    };
    let model = match cli.model {
        Some(m) => m,
        None => match format {
            Format::PorcupineKv => ModelArg::Kv,
            Format::Etcd => ModelArg::Register,
            Format::Jsonl => match formats::jsonl_model(&text).as_deref() {
                None | Some("kv") => ModelArg::Kv,
                Some("register") => ModelArg::Register,
                Some("versioned-kv") => ModelArg::VersionedKv,
                Some(other) => {
                    return Err(format!(
                        "{name}:1: unknown model {other:?} in the header (expected kv, register or versioned-kv)"
                    ));
                }
            },
        },
    };
    let defaults = Options::default();
    let options = Options {
        timeout: Some(Duration::from_secs_f64(cli.timeout.min(1e9))),
        memory_budget: match cli.memory_budget {
            Some(mib) => Some(usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)),
            None => defaults.memory_budget,
        },
        max_steps: cli.max_steps,
        threads: cli.threads,
        partition: !cli.no_partition,
        stop_on_failure: !cli.all_partitions,
        log_analysis: !cli.no_log_analysis,
    };
    let mismatch = || {
        let fits = match format {
            Format::PorcupineKv => "kv",
            Format::Etcd => "register",
            Format::Jsonl => "kv, register or versioned-kv",
        };
        format!(
            "{name}: the {format} format cannot be checked with the {} model (it takes {fits})",
            model.name()
        )
    };
    let perr = |e: formats::ParseError| {
        if e.line > 0 {
            format!("{name}:{}: {}", e.line, e.message)
        } else {
            format!("{name}: {}", e.message)
        }
    };
    match (model, format) {
        (ModelArg::Kv, Format::PorcupineKv) => {
            let h = formats::parse_porcupine_kv(&text).map_err(perr)?;
            finish(cli, &KvModel, &h, &options)
        }
        (ModelArg::Register, Format::Etcd) => {
            let h = formats::parse_etcd(&text).map_err(perr)?;
            finish(cli, &RegisterModel, &h, &options)
        }
        (ModelArg::Kv, Format::Jsonl) => jsonl(cli, &KvModel, &text, &options, perr),
        (ModelArg::Register, Format::Jsonl) => jsonl(cli, &RegisterModel, &text, &options, perr),
        (ModelArg::VersionedKv, Format::Jsonl) => {
            jsonl(cli, &PowerSet(VersionedKvModel), &text, &options, perr)
        }
        _ => Err(mismatch()),
    }
}

fn jsonl<M: Model>(
    cli: &Cli,
    model: &M,
    text: &str,
    options: &Options,
    perr: impl Fn(formats::ParseError) -> String,
) -> Result<Verdict, String>
where
    M::Input: DeserializeOwned + Serialize,
    M::Output: DeserializeOwned + Serialize,
{
    let h = formats::parse_jsonl::<M::Input, M::Output>(text).map_err(perr)?;
    finish(cli, model, &h, options)
}

fn finish<M: Model>(
    cli: &Cli,
    model: &M,
    history: &History<M::Input, M::Output>,
    options: &Options,
) -> Result<Verdict, String> {
    if history.is_empty() {
        return Err(format!(
            "{}: no operations: an empty history proves nothing",
            cli.file.display()
        ));
    }
    let result = check(model, history, options);
    summarize(model, history, &result, cli.verbose);
    if let Some(path) = &cli.html {
        let title = format!("lincheck: {}", cli.file.display());
        let page = html::render(model, history, &result, &title);
        std::fs::write(path, page).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        say!("report written to {}", path.display());
    }
    Ok(result.verdict)
}

fn summarize<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    verbose: bool,
) {
    say!(
        "{} operations, {} partition(s), {} model steps, {} cache entries, {:.3} ms",
        history.len(),
        result.partitions.len(),
        result.steps(),
        result
            .partitions
            .iter()
            .map(|p| p.cache_entries)
            .sum::<usize>(),
        result.elapsed.as_secs_f64() * 1e3
    );
    let by_log = result
        .partitions
        .iter()
        .filter(|p| matches!(p.method, Method::LogAnalysis(_)))
        .count();
    if verbose {
        say!(
            "decided by: log analysis {by_log} partition(s), general search {}",
            result.partitions.len() - by_log
        );
    }
    for (i, p) in result.partitions.iter().enumerate() {
        if verbose {
            let first = &history.operations()[p.ops[0]];
            say!(
                "partition {i}: {} operations (first: {}), {}, {} model steps, {} cache entries, ~{:.1} MB, {:.3} ms",
                p.ops.len(),
                model.describe_operation(&first.input, first.output.as_ref()),
                p.verdict(),
                p.steps,
                p.cache_entries,
                p.cache_bytes as f64 / 1e6,
                p.elapsed.as_secs_f64() * 1e3
            );
            match &p.method {
                Method::LogAnalysis(s) => {
                    say!(
                        "  decided by the log analysis: {} epoch(s), {} reads fix the state, {} appends ordered by them, {} unseen writes, {} impossible reads",
                        s.epochs,
                        s.reads,
                        s.ordered_appends,
                        s.unseen_writes,
                        s.impossible_reads
                    );
                    for finding in &s.findings {
                        say!("  proof: {finding}");
                    }
                }
                Method::Search {
                    log_analysis_skipped: Some(why),
                } => say!("  decided by the general search; no log analysis: {why}"),
                Method::Search { .. } => say!("  decided by the general search"),
            }
        }
        match &p.outcome {
            PartitionOutcome::Linearizable { .. } => {}
            PartitionOutcome::NotLinearizable {
                longest_prefix,
                stuck,
            } => say!(
                "partition {i} ({} operations): not linearizable; longest linearizable prefix: {} operations; could not come next: operations {:?}",
                p.ops.len(),
                longest_prefix.len(),
                stuck
            ),
            PartitionOutcome::Unknown {
                reason,
                longest_prefix,
            } => say!(
                "partition {i} ({} operations): gave up ({reason}) after a prefix of {} operations",
                p.ops.len(),
                longest_prefix.len()
            ),
        }
    }
}
