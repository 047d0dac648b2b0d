//! Histories: operations with call/return times, the event form, and validation.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// One operation of a history: who called what, when, and what came back.
///
/// Time intervals are closed: two operations where one returns at the very instant the
/// other is called are concurrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client that issued the operation (a label; used for display only).
    pub client: u64,
    /// Call time (any monotone clock: virtual nanoseconds, event index, ...).
    pub call: u64,
    /// Return time; `None` when the outcome is unknown (the client timed out or crashed): the
    /// operation may then take effect at any instant after its call, or never.
    pub ret: Option<u64>,
    /// The operation's input (arguments).
    pub input: I,
    /// The operation's output; `None` when the result is unknown (any result is accepted, but
    /// a completed operation with an unknown result still has to take effect in its interval).
    pub output: Option<O>,
}

impl<I, O> Operation<I, O> {
    /// A completed operation with a known result.
    pub fn completed(client: u64, call: u64, ret: u64, input: I, output: O) -> Self {
        Operation {
            client,
            call,
            ret: Some(ret),
            input,
            output: Some(output),
        }
    }

    /// An operation whose outcome is unknown: it may take effect any time after `call`, or never.
    pub fn unknown(client: u64, call: u64, input: I) -> Self {
        Operation {
            client,
            call,
            ret: None,
            input,
            output: None,
        }
    }

    /// Whether the operation completed (has a return time).
    pub fn is_completed(&self) -> bool {
        self.ret.is_some()
    }
}

/// What an [`Event`] says about its operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind<I, O> {
    /// The operation was called by `client` with `input`.
    Call {
        /// The calling client.
        client: u64,
        /// The operation's input.
        input: I,
    },
    /// The operation returned; `None` when it returned but its result is unknown.
    Return {
        /// The operation's output, if known.
        output: Option<O>,
    },
    /// The operation will never return (Jepsen's `:info`): it may take effect after its call,
    /// or never.
    Unknown,
}

/// One event of a history in event form: a call, a return or an unknown outcome, paired by id.
///
/// In event form, time is the position of the event in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<I, O> {
    /// The id that pairs a call with its return (or unknown marker).
    pub id: u64,
    /// What happened.
    pub kind: EventKind<I, O>,
}

impl<I, O> Event<I, O> {
    /// A call event.
    pub fn call(id: u64, client: u64, input: I) -> Self {
        Event {
            id,
            kind: EventKind::Call { client, input },
        }
    }

    /// A return event with a known output.
    pub fn ret(id: u64, output: O) -> Self {
        Event {
            id,
            kind: EventKind::Return {
                output: Some(output),
            },
        }
    }

    /// A return event whose output is unknown.
    pub fn ret_unknown_output(id: u64) -> Self {
        Event {
            id,
            kind: EventKind::Return { output: None },
        }
    }

    /// An "outcome unknown" event: the operation never returns.
    pub fn unknown(id: u64) -> Self {
        Event {
            id,
            kind: EventKind::Unknown,
        }
    }
}

/// Why a history was rejected. Event numbers are 0-based positions in the event list,
/// operation numbers 0-based positions in the operation list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryError {
    /// A return (or unknown marker) whose id was never called.
    ReturnWithoutCall {
        /// Position of the offending event.
        event: usize,
        /// Its id.
        id: u64,
    },
    /// A call whose id was already used.
    DuplicateCall {
        /// Position of the offending event.
        event: usize,
        /// Its id.
        id: u64,
    },
    /// A second return (or unknown marker) for the same id.
    DuplicateReturn {
        /// Position of the offending event.
        event: usize,
        /// Its id.
        id: u64,
    },
    /// A call that never returns and was not marked unknown.
    MissingReturn {
        /// Position of the call event.
        event: usize,
        /// Its id.
        id: u64,
    },
    /// An operation that returns before it is called.
    ReturnBeforeCall {
        /// Position of the operation.
        op: usize,
    },
    /// An operation with an output but no return time.
    OutputWithoutReturn {
        /// Position of the operation.
        op: usize,
    },
    /// The history has more operations than the checker supports (2^31).
    TooLarge,
}

impl HistoryError {
    /// The position of the offending event (event form), if the error is about an event.
    pub fn event(&self) -> Option<usize> {
        match *self {
            HistoryError::ReturnWithoutCall { event, .. }
            | HistoryError::DuplicateCall { event, .. }
            | HistoryError::DuplicateReturn { event, .. }
            | HistoryError::MissingReturn { event, .. } => Some(event),
            _ => None,
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::ReturnWithoutCall { event, id } => {
                write!(f, "event {event} (id {id}): return without a matching call")
            }
            HistoryError::DuplicateCall { event, id } => {
                write!(f, "event {event} (id {id}): duplicate call id")
            }
            HistoryError::DuplicateReturn { event, id } => {
                write!(f, "event {event} (id {id}): operation already returned")
            }
            HistoryError::MissingReturn { event, id } => write!(
                f,
                "event {event} (id {id}): call never returns and is not marked unknown"
            ),
            HistoryError::ReturnBeforeCall { op } => {
                write!(f, "operation {op}: returns before it is called")
            }
            HistoryError::OutputWithoutReturn { op } => write!(
                f,
                "operation {op}: has an output but no return time (mark it unknown or give it a return)"
            ),
            HistoryError::TooLarge => write!(f, "history too large (2^31 operations or more)"),
        }
    }
}

impl std::error::Error for HistoryError {}

/// A validated history: a list of operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History<I, O> {
    ops: Vec<Operation<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History { ops: Vec::new() }
    }
}

impl<I, O> History<I, O> {
    /// Validates a list of operations: every return comes at or after its call, and an
    /// operation without a return has no output.
    pub fn from_operations(ops: Vec<Operation<I, O>>) -> Result<Self, HistoryError> {
        if ops.len() >= (1 << 31) {
            return Err(HistoryError::TooLarge);
        }
        for (i, op) in ops.iter().enumerate() {
            match op.ret {
                Some(r) if r < op.call => return Err(HistoryError::ReturnBeforeCall { op: i }),
                None if op.output.is_some() => {
                    return Err(HistoryError::OutputWithoutReturn { op: i });
                }
                _ => {}
            }
        }
        Ok(History { ops })
    }

    /// Builds a history from events in time order (an event's time is its position),
    /// pairing calls with returns by id. Operations come out in call order.
    pub fn from_events(events: Vec<Event<I, O>>) -> Result<Self, HistoryError> {
        struct Pending<I> {
            event: usize,
            client: u64,
            input: I,
        }
        // id -> index into `slots` while the operation is open.
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut used: HashSet<u64> = HashSet::new();
        let mut slots: Vec<Option<Pending<I>>> = Vec::new();
        let mut ops: Vec<Option<Operation<I, O>>> = Vec::new();
        for (pos, ev) in events.into_iter().enumerate() {
            let time = pos as u64;
            match ev.kind {
                EventKind::Call { client, input } => {
                    if !used.insert(ev.id) {
                        return Err(HistoryError::DuplicateCall {
                            event: pos,
                            id: ev.id,
                        });
                    }
                    open.insert(ev.id, slots.len());
                    slots.push(Some(Pending {
                        event: pos,
                        client,
                        input,
                    }));
                    ops.push(None);
                }
                EventKind::Return { .. } | EventKind::Unknown => {
                    let Some(slot) = open.remove(&ev.id) else {
                        return Err(if used.contains(&ev.id) {
                            HistoryError::DuplicateReturn {
                                event: pos,
                                id: ev.id,
                            }
                        } else {
                            HistoryError::ReturnWithoutCall {
                                event: pos,
                                id: ev.id,
                            }
                        });
                    };
                    let p = slots[slot].take().expect("open slot is filled");
                    let call = p.event as u64;
                    ops[slot] = Some(match ev.kind {
                        EventKind::Return { output } => Operation {
                            client: p.client,
                            call,
                            ret: Some(time),
                            input: p.input,
                            output,
                        },
                        _ => Operation::unknown(p.client, call, p.input),
                    });
                }
            }
        }
        if let Some(p) = slots.iter().flatten().min_by_key(|p| p.event) {
            let id = open
                .iter()
                .find(|&(_, &s)| slots[s].as_ref().is_some_and(|q| q.event == p.event))
                .map(|(&id, _)| id)
                .unwrap_or_default();
            return Err(HistoryError::MissingReturn { event: p.event, id });
        }
        Self::from_operations(ops.into_iter().map(|o| o.expect("closed")).collect())
    }

    /// The operations.
    pub fn operations(&self) -> &[Operation<I, O>] {
        &self.ops
    }

    /// Consumes the history, giving back its operations.
    pub fn into_operations(self) -> Vec<Operation<I, O>> {
        self.ops
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the history has no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
