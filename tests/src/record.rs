//! What the harness tells the course tool, past the test's standard output, and the types
//! both sides read it with: the harness writes these files, the course tool (`labs`) reads them
//! back into the same types.
//!
//! - **Results.** With `LABTEST_RESULT_FILE=PATH` (set by the course's grader for each test process
//!   it starts), every run of a graded test appends one JSON line to `PATH` ([`RunRecord`],
//!   tagged [`RESULT_FORMAT`]): the test, the seed, the verdict, virtual and real time, and the
//!   reason of a failure. The grader counts only these lines: a test that prints `test x ... ok`
//!   or makes its process exit with status 0 without the harness having recorded a passed run
//!   has not passed.
//! - **Traces.** With `LABTEST_TRACE_FILE=PATH` (set by the course's trace tool; one seed only), the run
//!   keeps its full trace, with the labs' annotations ([`labrpc::sim::annotate`]), and writes
//!   it to `PATH` as JSON ([`TraceFile`], tagged [`TRACE_FORMAT`]), passed or failed, for the
//!   HTML timeline.
//!
//! A reader checks the tag first ([`read_results`], [`TraceFile::from_json`]): a file of
//! another format is an error that says so, never a misread.

use labrpc::sim::Report;
use labrpc::sim::trace::{Destination, Event, What};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

pub use labrpc::sim::trace::DropReason;

/// The variable naming the result file.
pub const RESULT_FILE_VAR: &str = "LABTEST_RESULT_FILE";

/// The variable naming the trace file.
pub const TRACE_FILE_VAR: &str = "LABTEST_TRACE_FILE";

/// The format named in every result line.
pub const RESULT_FORMAT: &str = "labtest-result/1";

/// The format named in every trace file.
pub const TRACE_FORMAT: &str = "labs-trace/1";

/// Longest failure message kept in a result line (the rest is cut, with a note).
const MAX_DETAILS: usize = 16 * 1024;

/// A run's verdict.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The run passed.
    Passed,
    /// The run failed (for the grader: anything but a passed run recorded by the harness).
    Failed,
}

/// One run of one test, as a line of the result file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// [`RESULT_FORMAT`].
    pub format: String,
    /// The test's name.
    pub test: String,
    /// The seed (none for a test of real processes, which takes no seed).
    pub seed: Option<u64>,
    /// Passed or failed.
    pub verdict: Verdict,
    /// Virtual time of the run (none for real processes).
    pub virtual_secs: Option<f64>,
    /// Real time of the run.
    pub wall_secs: f64,
    /// One line: why the run failed.
    pub reason: Option<String>,
    /// The whole failure report (last events, replay command), cut at 16 KiB.
    pub details: Option<String>,
}

impl RunRecord {
    /// A passed run.
    pub fn passed(
        test: &str,
        seed: Option<u64>,
        virtual_time: Option<Duration>,
        wall: Duration,
    ) -> RunRecord {
        RunRecord {
            format: RESULT_FORMAT.to_string(),
            test: test.to_string(),
            seed,
            verdict: Verdict::Passed,
            virtual_secs: virtual_time.map(|t| t.as_secs_f64()),
            wall_secs: wall.as_secs_f64(),
            reason: None,
            details: None,
        }
    }

    /// A failed run, with its report (whose first line is the reason).
    pub fn failed(
        test: &str,
        seed: Option<u64>,
        virtual_time: Option<Duration>,
        wall: Duration,
        message: &str,
    ) -> RunRecord {
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
            verdict: Verdict::Failed,
            reason: Some(reason),
            details: Some(details),
            ..RunRecord::passed(test, seed, virtual_time, wall)
        }
    }
}

/// Appends `record` as one line to the result file at `path` (one `write` per line, so the
/// lines of parallel writers never interleave). A file that cannot be written stops the
/// process: a grader that asked for results must not get none silently.
pub fn append_result(path: &Path, record: &RunRecord) {
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

/// The records of a result file, one per line (blank lines aside). A line that is not a
/// result line of [`RESULT_FORMAT`] (not JSON, no tag, another format, a field missing) makes
/// the whole file an error naming that line: a file the reader cannot fully read is not
/// trusted for any verdict.
pub fn read_results(text: &str) -> Result<Vec<RunRecord>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            read_tagged(line, RESULT_FORMAT).map_err(|e| format!("line {}: {e}", index + 1))
        })
        .collect()
}

/// Reads `json` as a `T` after checking its `format` tag is `format`.
fn read_tagged<T: DeserializeOwned>(json: &str, format: &str) -> Result<T, String> {
    #[derive(Deserialize)]
    struct Tag {
        format: Option<serde_json::Value>,
    }
    // (A derived struct also reads from a JSON array: make sure of the object first.)
    if !json.trim_start().starts_with('{') {
        return Err("not a JSON object".into());
    }
    let tag: Tag = serde_json::from_str(json).map_err(|e| format!("not a JSON object ({e})"))?;
    match tag.format {
        Some(found) if found == format => {
            serde_json::from_str(json).map_err(|e| format!("not a {format} document: {e}"))
        }
        Some(found) => Err(format!(
            "the format is {found}, expected \"{format}\" (written by another version?)"
        )),
        None => Err(format!("no format tag (expected \"{format}\")")),
    }
}

/// A run's full trace, as the trace file holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TraceFile {
    /// [`TRACE_FORMAT`].
    pub format: String,
    /// The test's name.
    pub test: String,
    /// The seed.
    pub seed: u64,
    /// Node names by index (0 is the test's own node).
    pub nodes: Vec<String>,
    /// Virtual time at the end of the run.
    pub virtual_secs: f64,
    /// Events recorded (annotations not counted).
    pub events_total: u64,
    /// Where and why the run failed.
    pub failure: Option<FailurePoint>,
    /// Why there are no events, if there are none.
    pub missing: Option<String>,
    /// The events and annotations, in order.
    pub events: Vec<TraceEvent>,
}

impl TraceFile {
    /// Reads a trace file, checking its format first.
    pub fn from_json(json: &str) -> Result<TraceFile, String> {
        read_tagged(json, TRACE_FORMAT).map_err(|e| format!("the trace: {e}"))
    }
}

/// Where a run failed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FailurePoint {
    /// Virtual time of the failure, in nanoseconds.
    pub at_ns: u64,
    /// The failure's report.
    pub message: String,
}

/// One event of a trace file. Its keys are short (`t`, `n`, `k`, ...): a trace has tens of
/// thousands of them, and the timeline page's script reads them by these names.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TraceEvent {
    /// Virtual time, in nanoseconds.
    #[serde(rename = "t")]
    pub at_ns: u64,
    /// The node's index in [`TraceFile::nodes`].
    #[serde(rename = "n")]
    pub node: u32,
    /// What happened (its kind is the key `k`).
    #[serde(flatten)]
    pub what: TraceWhat,
}

/// What happened in a [`TraceEvent`]: [`labrpc::sim::trace::What`] as the file holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum TraceWhat {
    /// A call entered the network.
    Send {
        /// The call's id.
        rpc: u64,
        /// `Service.Method`.
        #[serde(rename = "m")]
        method: String,
        /// The server's node, if the request is on its way to one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<u32>,
        /// Encoded size of the arguments.
        #[serde(rename = "b")]
        bytes: u32,
    },
    /// A request was handed to its handler (on the server's node).
    Deliver {
        /// The call's id.
        rpc: u64,
    },
    /// A reply reached the caller.
    Reply {
        /// The call's id.
        rpc: u64,
        /// Encoded size of the reply.
        #[serde(rename = "b")]
        bytes: u32,
    },
    /// The network dropped a request or a reply.
    Drop {
        /// The call's id.
        rpc: u64,
        /// Why.
        why: DropReason,
    },
    /// A timer of the node fired.
    Timer,
    /// The node crashed.
    Crash,
    /// The node restarted.
    Restart,
    /// State was saved to a persister.
    Persist {
        /// Size of the raft state.
        #[serde(rename = "b")]
        state_bytes: u32,
        /// Size of the snapshot.
        #[serde(rename = "snap")]
        snapshot_bytes: u32,
    },
    /// A note from the test harness.
    Note {
        /// The note.
        text: String,
    },
    /// A lab's annotation of the node's state ([`labrpc::sim::annotate`]).
    Annotation {
        /// Its kind (`raft`, `apply`, `log`).
        #[serde(rename = "a")]
        kind: String,
        /// The state, as the lab words it.
        text: String,
    },
}

impl From<&Event> for TraceEvent {
    fn from(event: &Event) -> TraceEvent {
        let what = match &event.what {
            What::RpcSend {
                rpc,
                service,
                method,
                to,
                bytes,
            } => TraceWhat::Send {
                rpc: *rpc,
                method: if method.contains('.') {
                    (*method).to_string()
                } else {
                    format!("{service}.{method}")
                },
                to: match to {
                    Destination::Server(n) => Some(n.index()),
                    Destination::Lost(_) | Destination::Unreachable(_) => None,
                },
                bytes: *bytes,
            },
            What::RpcDeliver { rpc } => TraceWhat::Deliver { rpc: *rpc },
            What::RpcReply { rpc, bytes } => TraceWhat::Reply {
                rpc: *rpc,
                bytes: *bytes,
            },
            What::RpcDrop { rpc, why } => TraceWhat::Drop {
                rpc: *rpc,
                why: *why,
            },
            What::Timer => TraceWhat::Timer,
            What::Crash => TraceWhat::Crash,
            What::Restart => TraceWhat::Restart,
            What::Persist { state, snapshot } => TraceWhat::Persist {
                state_bytes: *state,
                snapshot_bytes: *snapshot,
            },
            What::Note(text) => TraceWhat::Note {
                text: text.to_string(),
            },
            What::Annotation { kind, text } => TraceWhat::Annotation {
                kind: (*kind).to_string(),
                text: text.to_string(),
            },
        };
        TraceEvent {
            at_ns: event.at.as_nanos(),
            node: event.node.index(),
            what,
        }
    }
}

/// Writes the full trace of one run to `path`; `failure` is the failure's virtual time and
/// report, if the run failed. Errors stop the process, like [`append_result`].
pub fn write_trace(path: &Path, test: &str, report: &Report, failure: Option<(Duration, &str)>) {
    let events = report.trace.as_ref().and_then(|t| t.events());
    let file = TraceFile {
        format: TRACE_FORMAT.to_string(),
        test: test.to_string(),
        seed: report.seed,
        nodes: report.nodes.clone(),
        virtual_secs: report.virtual_time.as_secs_f64(),
        events_total: report.events,
        failure: failure.map(|(at, message)| FailurePoint {
            at_ns: u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
            message: message.to_string(),
        }),
        missing: match (&report.trace, events) {
            (None, _) => Some("the watchdog abandoned the simulation thread: no trace"),
            (Some(_), None) => Some("the run did not keep its full trace"),
            _ => None,
        }
        .map(str::to_string),
        events: events
            .unwrap_or_default()
            .iter()
            .map(TraceEvent::from)
            .collect(),
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
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.starts_with(r#"{"format":"labtest-result/1","#),
            "{text}"
        );
        let records = read_results(&text).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].verdict, Verdict::Passed);
        assert_eq!(records[0].virtual_secs, Some(2.0));
        assert_eq!(records[1].verdict, Verdict::Failed);
        assert_eq!(records[1].reason.as_deref(), Some("why"));
    }

    #[test]
    fn a_result_line_of_another_format_is_an_error_that_says_so() {
        let good =
            serde_json::to_string(&RunRecord::passed("a", None, None, Duration::ZERO)).unwrap();
        let untagged = good.replace(r#""format":"labtest-result/1","#, "");
        let other = good.replace("labtest-result/1", "labtest-result/2");
        let broken = &good[..good.len() / 2];
        for (text, expected) in [
            (format!("{good}\n{untagged}\n"), "line 2: no format tag"),
            (
                format!("{other}\n"),
                "line 1: the format is \"labtest-result/2\"",
            ),
            (format!("{good}\n\n{broken}\n"), "line 3: not a JSON object"),
            ("[1]\n".to_string(), "line 1: not a JSON object"),
            (
                good.replace(r#""verdict":"passed""#, r#""verdict":"maybe""#),
                "line 1: not a labtest-result/1 document: unknown variant `maybe`",
            ),
        ] {
            let error = read_results(&text).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
        assert_eq!(read_results("\n").unwrap(), []);
    }

    /// The trace file's shape, which the timeline page's script reads.
    #[test]
    fn trace_events_keep_their_shape() {
        let events = [
            (
                TraceWhat::Send {
                    rpc: 7,
                    method: "Raft.RequestVote".into(),
                    to: Some(2),
                    bytes: 4,
                },
                r#"{"t":5,"n":1,"k":"send","rpc":7,"m":"Raft.RequestVote","to":2,"b":4}"#,
            ),
            (
                TraceWhat::Drop {
                    rpc: 7,
                    why: DropReason::ReplyLost,
                },
                r#"{"t":5,"n":1,"k":"drop","rpc":7,"why":"reply lost"}"#,
            ),
            (
                TraceWhat::Persist {
                    state_bytes: 6,
                    snapshot_bytes: 0,
                },
                r#"{"t":5,"n":1,"k":"persist","b":6,"snap":0}"#,
            ),
            (
                TraceWhat::Annotation {
                    kind: "raft".into(),
                    text: "term 3 leader".into(),
                },
                r#"{"t":5,"n":1,"k":"annotation","a":"raft","text":"term 3 leader"}"#,
            ),
            (TraceWhat::Timer, r#"{"t":5,"n":1,"k":"timer"}"#),
        ];
        for (what, json) in events {
            let event = TraceEvent {
                at_ns: 5,
                node: 1,
                what,
            };
            assert_eq!(serde_json::to_string(&event).unwrap(), json);
            assert_eq!(serde_json::from_str::<TraceEvent>(json).unwrap(), event);
        }
        let unsent = r#"{"t":5,"n":1,"k":"send","rpc":7,"m":"Raft.RequestVote","b":4}"#;
        let event: TraceEvent = serde_json::from_str(unsent).unwrap();
        assert!(matches!(event.what, TraceWhat::Send { to: None, .. }));
        assert_eq!(serde_json::to_string(&event).unwrap(), unsent);
        let error = TraceFile::from_json(r#"{"format":"labs-trace/0"}"#).unwrap_err();
        assert!(error.contains("expected \"labs-trace/1\""), "{error}");
    }
}
