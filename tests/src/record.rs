//! What the harness tells the course tool, past the test's standard output.
//!
//! - **Results.** With `LABTEST_RESULT_FILE=PATH` (set by the course's grader for each test process
//!   it starts), every run of a graded test appends one JSON line to `PATH`: the test, the
//!   seed, the verdict, virtual and real time, and the reason of a failure. The grader counts
//!   only these lines: a test that prints `test x ... ok` or makes its process exit with
//!   status 0 without the harness having recorded a passed run has not passed.
//! - **Traces.** With `LABTEST_TRACE_FILE=PATH` (set by the course's trace tool; one seed only), the run
//!   keeps its full trace, with the labs' annotations ([`labrpc::sim::annotate`]), and writes
//!   it to `PATH` as JSON, passed or failed, for the HTML timeline.

use labrpc::sim::Report;
use labrpc::sim::trace::{Destination, DropReason, Event, What};
use serde::Serialize;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

/// The variable naming the result file.
pub const RESULT_FILE_VAR: &str = "LABTEST_RESULT_FILE";

/// The variable naming the trace file.
pub const TRACE_FILE_VAR: &str = "LABTEST_TRACE_FILE";

/// The format named in every trace file.
pub const TRACE_FORMAT: &str = "labs-trace/1";

/// Longest failure message kept in a result line (the rest is cut, with a note).
const MAX_DETAILS: usize = 16 * 1024;

/// One run of one test, as a line of the result file.
#[derive(Debug, Serialize)]
pub struct RunRecord<'a> {
    /// The test's name.
    pub test: &'a str,
    /// The seed (none for a test of real processes, which takes no seed).
    pub seed: Option<u64>,
    /// `"passed"` or `"failed"`.
    pub verdict: &'static str,
    /// Virtual time of the run (none for real processes).
    pub virtual_secs: Option<f64>,
    /// Real time of the run.
    pub wall_secs: f64,
    /// One line: why the run failed.
    pub reason: Option<String>,
    /// The whole failure report (last events, replay command), cut at 16 KiB.
    pub details: Option<String>,
}

impl RunRecord<'_> {
    /// A passed run.
    pub fn passed(
        test: &str,
        seed: Option<u64>,
        virtual_time: Option<Duration>,
        wall: Duration,
    ) -> RunRecord<'_> {
        RunRecord {
            test,
            seed,
            verdict: "passed",
            virtual_secs: virtual_time.map(|t| t.as_secs_f64()),
            wall_secs: wall.as_secs_f64(),
            reason: None,
            details: None,
        }
    }

    /// A failed run, with its report (whose first line is the reason).
    pub fn failed<'a>(
        test: &'a str,
        seed: Option<u64>,
        virtual_time: Option<Duration>,
        wall: Duration,
        message: &str,
    ) -> RunRecord<'a> {
        let reason = message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .to_string();
        let mut details = message.to_string();
        if details.len() > MAX_DETAILS {
            let mut end = MAX_DETAILS;
            while !details.is_char_boundary(end) {
                end -= 1;
            }
            details.truncate(end);
            details.push_str("\n... (cut)");
        }
        RunRecord {
            test,
            seed,
            verdict: "failed",
            virtual_secs: virtual_time.map(|t| t.as_secs_f64()),
            wall_secs: wall.as_secs_f64(),
            reason: Some(reason),
            details: Some(details),
        }
    }
}

/// Appends `record` as one line to the result file at `path` (one `write` per line, so the
/// lines of parallel writers never interleave). A file that cannot be written stops the
/// process: a grader that asked for results must not get none silently.
pub fn append_result(path: &Path, record: &RunRecord<'_>) {
    let mut line = serde_json::to_string(record).expect("a result record encodes");
    line.push('\n');
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        let _ = writeln!(
            std::io::stderr().lock(),
            "\nerror: {RESULT_FILE_VAR}={}: cannot write the test's result: {e}",
            path.display()
        );
        std::process::exit(2);
    }
}

/// A run's full trace, as the trace file holds it.
#[derive(Debug, Serialize)]
struct TraceFile<'a> {
    format: &'static str,
    test: &'a str,
    seed: u64,
    /// Node names by index (0 is the test's own node).
    nodes: &'a [String],
    /// Virtual time at the end of the run.
    virtual_secs: f64,
    /// Events recorded (annotations not counted).
    events_total: u64,
    /// Where and why the run failed.
    failure: Option<FailurePoint<'a>>,
    /// Why there are no events, if there are none.
    missing: Option<&'static str>,
    events: Vec<TraceEvent<'a>>,
}

#[derive(Debug, Serialize)]
struct FailurePoint<'a> {
    /// Virtual time of the failure, in nanoseconds.
    at_ns: u64,
    message: &'a str,
}

/// One event: `t` virtual nanoseconds, `n` node index, `k` kind, and the kind's fields.
#[derive(Debug, Serialize)]
struct TraceEvent<'a> {
    t: u64,
    n: u32,
    k: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc: Option<u64>,
    /// `Service.Method` of a send.
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<String>,
    /// The server's node of a send.
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<u32>,
    /// Bytes of a send or reply; the state's bytes of a persist.
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<u32>,
    /// The snapshot's bytes of a persist.
    #[serde(skip_serializing_if = "Option::is_none")]
    snap: Option<u32>,
    /// Why a message was dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'static str>,
    /// An annotation's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<&'static str>,
    /// A note's or annotation's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

fn drop_reason(why: DropReason) -> &'static str {
    match why {
        DropReason::RequestLost => "request lost",
        DropReason::ReplyLost => "reply lost",
        DropReason::EndDisabled => "end disabled",
        DropReason::NoServer => "no server",
        DropReason::ServerGone => "server gone",
        DropReason::Shutdown => "network shut down",
    }
}

fn trace_event(event: &Event) -> TraceEvent<'_> {
    let mut e = TraceEvent {
        t: event.at.as_nanos(),
        n: event.node.index(),
        k: "",
        rpc: None,
        m: None,
        to: None,
        b: None,
        snap: None,
        why: None,
        a: None,
        text: None,
    };
    match &event.what {
        What::RpcSend {
            rpc,
            service,
            method,
            to,
            bytes,
        } => {
            e.k = "send";
            e.rpc = Some(*rpc);
            e.m = Some(if method.contains('.') {
                (*method).to_string()
            } else {
                format!("{service}.{method}")
            });
            e.to = match to {
                Destination::Server(n) => Some(n.index()),
                Destination::Lost(_) | Destination::Unreachable(_) => None,
            };
            e.b = Some(*bytes);
        }
        What::RpcDeliver { rpc } => {
            e.k = "deliver";
            e.rpc = Some(*rpc);
        }
        What::RpcReply { rpc, bytes } => {
            e.k = "reply";
            e.rpc = Some(*rpc);
            e.b = Some(*bytes);
        }
        What::RpcDrop { rpc, why } => {
            e.k = "drop";
            e.rpc = Some(*rpc);
            e.why = Some(drop_reason(*why));
        }
        What::Timer => e.k = "timer",
        What::Crash => e.k = "crash",
        What::Restart => e.k = "restart",
        What::Persist { state, snapshot } => {
            e.k = "persist";
            e.b = Some(*state);
            e.snap = Some(*snapshot);
        }
        What::Note(text) => {
            e.k = "note";
            e.text = Some(text);
        }
        What::Annotation { kind, text } => {
            e.k = "annotation";
            e.a = Some(kind);
            e.text = Some(text);
        }
    }
    e
}

/// Writes the full trace of one run to `path`; `failure` is the failure's virtual time and
/// report, if the run failed. Errors stop the process, like [`append_result`].
pub fn write_trace(path: &Path, test: &str, report: &Report, failure: Option<(Duration, &str)>) {
    let events = report.trace.as_ref().and_then(|t| t.events());
    let file = TraceFile {
        format: TRACE_FORMAT,
        test,
        seed: report.seed,
        nodes: &report.nodes,
        virtual_secs: report.virtual_time.as_secs_f64(),
        events_total: report.events,
        failure: failure.map(|(at, message)| FailurePoint {
            at_ns: u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
            message,
        }),
        missing: match (&report.trace, events) {
            (None, _) => Some("the watchdog abandoned the simulation thread: no trace"),
            (Some(_), None) => Some("the run did not keep its full trace"),
            _ => None,
        },
        events: events.unwrap_or_default().iter().map(trace_event).collect(),
    };
    let written = serde_json::to_vec(&file)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(path, bytes));
    if let Err(e) = written {
        let _ = writeln!(
            std::io::stderr().lock(),
            "\nerror: {TRACE_FILE_VAR}={}: cannot write the trace: {e}",
            path.display()
        );
        std::process::exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_its_first_line_as_reason_and_cuts_long_reports() {
        let long = format!("FAILED with seed 3: boom\n{}", "x".repeat(40_000));
        let record = RunRecord::failed("t", Some(3), None, Duration::from_millis(5), &long);
        assert_eq!(record.reason.as_deref(), Some("FAILED with seed 3: boom"));
        let details = record.details.unwrap();
        assert!(details.len() < MAX_DETAILS + 20);
        assert!(details.ends_with("(cut)"));
    }

    #[test]
    fn result_lines_append() {
        let path = std::env::temp_dir().join(format!("labtest-results-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        append_result(
            &path,
            &RunRecord::passed("a", Some(1), Some(Duration::from_secs(2)), Duration::ZERO),
        );
        append_result(
            &path,
            &RunRecord::failed("a", Some(2), None, Duration::ZERO, "why\nmore"),
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains(r#""verdict":"passed""#), "{}", lines[0]);
        assert!(lines[1].contains(r#""reason":"why""#), "{}", lines[1]);
    }
}
