//! The event trace: what happened, when and where, folded into one 64-bit hash.
//!
//! Two runs with the same seed must produce the same trace; the hash makes that cheap to
//! compare, and the events themselves say where two runs parted.

use super::{Instant, Node};
use crate::collections::StableHasher;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::hash::Hasher;

/// Why the network did not deliver a request or a reply. (Its serde names are the words of
/// the course tool's trace file, `labtest::record`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DropReason {
    /// The unreliable network lost the request.
    #[serde(rename = "request lost")]
    RequestLost,
    /// The unreliable network lost the reply.
    #[serde(rename = "reply lost")]
    ReplyLost,
    /// The end was disabled or not connected when the call was made.
    #[serde(rename = "end disabled")]
    EndDisabled,
    /// The end's server does not exist (deleted, or never added).
    #[serde(rename = "no server")]
    NoServer,
    /// The server was deleted or replaced, or the end disabled, while the handler ran; or the
    /// server's node crashed. Its reply is never delivered.
    #[serde(rename = "server gone")]
    ServerGone,
    /// The network was shut down.
    #[serde(rename = "network shut down")]
    Shutdown,
}

/// Where a call was headed when it entered the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The node of the server the caller's end is connected to: the request is on its way.
    Server(Node),
    /// That server's node, but the unreliable network lost the request on its way.
    Lost(Node),
    /// Nowhere: the caller's end is disabled or not connected ([`DropReason::EndDisabled`]),
    /// or its server does not exist ([`DropReason::NoServer`]).
    Unreachable(DropReason),
}

/// What happened in one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A call entered the network.
    RpcSend {
        /// The call's id, unique within a simulation.
        rpc: u64,
        /// `Service.Method`.
        service: &'static str,
        /// The method name.
        method: &'static str,
        /// Where it was headed.
        to: Destination,
        /// Encoded size of the arguments.
        bytes: u32,
    },
    /// A request was handed to its handler (the event's node is the server's).
    RpcDeliver {
        /// The call's id.
        rpc: u64,
    },
    /// A reply reached the caller.
    RpcReply {
        /// The call's id.
        rpc: u64,
        /// Encoded size of the reply.
        bytes: u32,
    },
    /// The network dropped a request or a reply.
    RpcDrop {
        /// The call's id.
        rpc: u64,
        /// Why.
        why: DropReason,
    },
    /// A timer of this node fired.
    Timer,
    /// The node crashed: its tasks were stopped.
    Crash,
    /// The node restarted.
    Restart,
    /// State was saved to a persister (raft state and snapshot sizes).
    Persist {
        /// Size of the raft state.
        state: u32,
        /// Size of the snapshot.
        snapshot: u32,
    },
    /// A note from a test harness ("partition [0 1] [2 3 4]").
    Note(Box<str>),
    /// A lab's annotation of a node's state ("term 3 leader"), kept only in a full trace for
    /// pictures of the run (see [`crate::sim::annotate`]). Never part of the hash.
    Annotation {
        /// What kind of state (`"raft"`, `"apply"`, `"log"`).
        kind: &'static str,
        /// The state, as the lab words it.
        text: Box<str>,
    },
}

/// One entry of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Virtual time of the event.
    pub at: Instant,
    /// The node the event happened on.
    pub node: Node,
    /// What happened.
    pub what: What,
}

impl Event {
    /// Folds the event into the trace's hash. The fold is pinned ([`StableHasher`]): a
    /// student and a TA compare their traces by hash.
    fn fold_into(&self, h: &mut StableHasher) {
        h.add(self.at.as_nanos());
        h.add(u64::from(self.node.0));
        match &self.what {
            What::RpcSend {
                rpc,
                service,
                method,
                to,
                bytes,
            } => {
                h.add(1);
                h.add(*rpc);
                h.write(service.as_bytes());
                h.write(method.as_bytes());
                // (Only a delivered request's server is hashed, as when this was an Option.)
                h.add(match to {
                    Destination::Server(n) => u64::from(n.0),
                    Destination::Lost(_) | Destination::Unreachable(_) => u64::MAX,
                });
                h.add(u64::from(*bytes));
            }
            What::RpcDeliver { rpc } => {
                h.add(2);
                h.add(*rpc);
            }
            What::RpcReply { rpc, bytes } => {
                h.add(3);
                h.add(*rpc);
                h.add(u64::from(*bytes));
            }
            What::RpcDrop { rpc, why } => {
                h.add(4);
                h.add(*rpc);
                h.add(*why as u64);
            }
            What::Timer => h.add(5),
            What::Crash => h.add(6),
            What::Restart => h.add(7),
            What::Persist { state, snapshot } => {
                h.add(8);
                h.add(u64::from(*state));
                h.add(u64::from(*snapshot));
            }
            What::Note(text) => {
                h.add(9);
                h.write(text.as_bytes());
            }
            What::Annotation { kind, text } => {
                h.add(10);
                h.write(kind.as_bytes());
                h.write(text.as_bytes());
            }
        }
    }

    /// The event as one line, with node names resolved.
    pub fn display<'a>(&'a self, names: &'a [String]) -> impl fmt::Display + 'a {
        EventLine { event: self, names }
    }
}

struct EventLine<'a> {
    event: &'a Event,
    names: &'a [String],
}

impl fmt::Display for EventLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |n: Node| {
            self.names
                .get(n.0 as usize)
                .map_or("?", String::as_str)
                .to_string()
        };
        write!(f, "{:>12} {:<8} ", self.event.at, name(self.event.node))?;
        match &self.event.what {
            What::RpcSend {
                rpc,
                service,
                method,
                to,
                bytes,
            } => {
                let to = match to {
                    Destination::Server(n) => format!("-> {}", name(*n)),
                    Destination::Lost(n) => format!("-> {} (lost by the network)", name(*n)),
                    Destination::Unreachable(DropReason::NoServer) => {
                        "-> a server that does not exist".to_string()
                    }
                    Destination::Unreachable(_) => {
                        "from a disconnected end (it goes nowhere)".to_string()
                    }
                };
                write!(f, "rpc#{rpc} send {service}.{method} {to} ({bytes} bytes)")
            }
            What::RpcDeliver { rpc } => write!(f, "rpc#{rpc} delivered to handler"),
            What::RpcReply { rpc, bytes } => write!(f, "rpc#{rpc} reply delivered ({bytes} bytes)"),
            What::RpcDrop { rpc, why } => write!(f, "rpc#{rpc} dropped: {why:?}"),
            What::Timer => write!(f, "timer fired"),
            What::Crash => write!(f, "node crashed"),
            What::Restart => write!(f, "node restarted"),
            What::Persist { state, snapshot } => {
                write!(
                    f,
                    "persisted state {state} bytes, snapshot {snapshot} bytes"
                )
            }
            What::Note(text) => write!(f, "note: {text}"),
            What::Annotation { kind, text } => write!(f, "{kind}: {text}"),
        }
    }
}

/// How much of the trace to keep besides its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// Only the most recent events (for failure reports).
    Recent,
    /// Every event (for finding where two runs diverge).
    Full,
}

/// Number of recent events kept for failure reports (a run of identical events counts once).
pub const RECENT_EVENTS: usize = 40;

/// One of the trace's most recent events, with the identical events (same node, same
/// happening) that came right after it folded in: a failure report shows "timer fired (489
/// times)" once, and the last distinct events before it, rather than a screen of repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentEvent {
    /// The first of the run of identical events.
    pub event: Event,
    /// How many identical events followed it.
    pub repeats: u64,
    /// Virtual time of the last of them.
    pub last_at: Instant,
}

impl RecentEvent {
    /// The event as one line, with node names resolved and the repeats counted.
    pub fn display<'a>(&'a self, names: &'a [String]) -> impl fmt::Display + 'a {
        RecentLine {
            recent: self,
            names,
        }
    }
}

struct RecentLine<'a> {
    recent: &'a RecentEvent,
    names: &'a [String],
}

impl fmt::Display for RecentLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.recent.event.display(self.names))?;
        match self.recent.repeats {
            0 => Ok(()),
            n => write!(f, " ({} times, the last at {})", n + 1, self.recent.last_at),
        }
    }
}

/// The trace of one simulation.
#[derive(Debug)]
pub struct Trace {
    hash: StableHasher,
    len: u64,
    recent: VecDeque<RecentEvent>,
    full: Option<Vec<Event>>,
}

impl Trace {
    pub(crate) fn new(mode: TraceMode) -> Trace {
        Trace {
            hash: StableHasher::default(),
            len: 0,
            recent: VecDeque::with_capacity(RECENT_EVENTS),
            full: (mode == TraceMode::Full).then(Vec::new),
        }
    }

    pub(crate) fn record(&mut self, event: Event) {
        event.fold_into(&mut self.hash);
        self.len += 1;
        if let Some(full) = &mut self.full {
            full.push(event.clone());
        }
        if let Some(last) = self.recent.back_mut()
            && last.event.node == event.node
            && last.event.what == event.what
        {
            last.repeats += 1;
            last.last_at = event.at;
            return;
        }
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentEvent {
            last_at: event.at,
            event,
            repeats: 0,
        });
    }

    /// Keeps an annotation ([`What::Annotation`]) in a full trace, in order with the events;
    /// it is not hashed or counted, and a recent-events trace drops it: annotating cannot
    /// change a run's identity.
    pub(crate) fn annotate(&mut self, event: Event) {
        if let Some(full) = &mut self.full {
            full.push(event);
        }
    }

    /// True if every event is kept ([`TraceMode::Full`]), so that annotations are too.
    pub fn is_full(&self) -> bool {
        self.full.is_some()
    }

    /// The hash of every event so far.
    pub fn hash(&self) -> u64 {
        self.hash.state()
    }

    /// How many events were recorded.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most recent events, oldest first, runs of identical events folded into one.
    pub fn recent(&self) -> impl Iterator<Item = &RecentEvent> {
        self.recent.iter()
    }

    /// Every event, if the trace was recorded in [`TraceMode::Full`].
    pub fn events(&self) -> Option<&[Event]> {
        self.full.as_deref()
    }
}

/// Where two full traces part: the index of the first differing event and the two events
/// (`None` where one trace ended first). `None` if the traces are equal.
pub fn first_divergence<'a>(
    a: &'a [Event],
    b: &'a [Event],
) -> Option<(usize, Option<&'a Event>, Option<&'a Event>)> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    match common {
        Some(i) => Some((i, Some(&a[i]), Some(&b[i]))),
        None if a.len() == b.len() => None,
        None => {
            let i = a.len().min(b.len());
            Some((i, a.get(i), b.get(i)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ms: u64, node: u32, what: What) -> Event {
        Event {
            at: Instant::from_nanos(ms * 1_000_000),
            node: Node(node),
            what,
        }
    }

    #[test]
    fn runs_of_identical_events_fold_into_one_recent_line() {
        let mut trace = Trace::new(TraceMode::Recent);
        for ms in 0..300 {
            trace.record(event(ms * 10, 0, What::Timer));
        }
        trace.record(event(3000, 1, What::Crash));
        for ms in 0..RECENT_EVENTS as u64 {
            // Alternating nodes: nothing to fold.
            trace.record(event(4000 + ms, (ms % 2) as u32, What::Timer));
        }
        assert_eq!(trace.len(), 300 + 1 + RECENT_EVENTS as u64);
        let names = ["test".to_string(), "s0".to_string()];
        let lines: Vec<String> = trace
            .recent()
            .map(|r| r.display(&names).to_string())
            .collect();
        assert_eq!(lines.len(), RECENT_EVENTS);
        assert_eq!(lines[0], "   4.000000s test     timer fired", "{lines:?}");
        let mut folded = Trace::new(TraceMode::Recent);
        for ms in 0..300 {
            folded.record(event(ms * 10, 0, What::Timer));
        }
        folded.record(event(3000, 1, What::Crash));
        let lines: Vec<String> = folded
            .recent()
            .map(|r| r.display(&names).to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "   0.000000s test     timer fired (300 times, the last at 2.990000s)",
                "   3.000000s s0       node crashed",
            ]
        );
    }
}
