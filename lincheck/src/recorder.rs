//! Recording a history from concurrent clients.

use std::sync::Arc;

use parking_lot::Mutex;

use super::history::{History, HistoryError, Operation};

/// A pending operation handed out by [`Recorder::call`]; give it back to
/// [`Recorder::ret`] or [`Recorder::unknown`].
#[derive(Debug)]
#[must_use = "finish the operation with Recorder::ret or Recorder::unknown"]
pub struct Ticket(usize);

struct Slot<I, O> {
    op: Operation<I, O>,
    finished: bool,
}

/// Collects the operations of concurrent clients into a [`History`]. Thread-safe; clones are
/// cheap and share the same log. Times are passed in (e.g. the simulation's virtual
/// nanoseconds), so the recorder does not depend on any runtime.
///
/// ```
/// use lincheck::Recorder;
/// let rec: Recorder<&str, u32> = Recorder::new();
/// let t = rec.call(1, "get", 100);
/// rec.ret(t, 7, 150);
/// let u = rec.call(2, "put", 120);
/// rec.unknown(u); // the client gave up: the outcome is unknown
/// assert_eq!(rec.history().unwrap().len(), 2);
/// ```
pub struct Recorder<I, O> {
    log: Arc<Mutex<Vec<Slot<I, O>>>>,
}

impl<I, O> Clone for Recorder<I, O> {
    fn clone(&self) -> Self {
        Recorder {
            log: self.log.clone(),
        }
    }
}

impl<I, O> Default for Recorder<I, O> {
    fn default() -> Self {
        Recorder {
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<I, O> Recorder<I, O> {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `client` called an operation with `input` at time `now`.
    pub fn call(&self, client: u64, input: I, now: u64) -> Ticket {
        let mut log = self.log.lock();
        log.push(Slot {
            op: Operation {
                client,
                call: now,
                ret: None,
                input,
                output: None,
            },
            finished: false,
        });
        Ticket(log.len() - 1)
    }

    /// Records that the operation returned `output` at time `now`.
    pub fn ret(&self, ticket: Ticket, output: O, now: u64) {
        let mut log = self.log.lock();
        let slot = &mut log[ticket.0];
        slot.op.ret = Some(now);
        slot.op.output = Some(output);
        slot.finished = true;
    }

    /// Records that the operation's outcome is unknown (the client gave up or crashed): it
    /// may take effect at any time after its call, or never.
    pub fn unknown(&self, ticket: Ticket) {
        self.log.lock()[ticket.0].finished = true;
    }

    /// Number of operations recorded so far.
    pub fn len(&self) -> usize {
        self.log.lock().len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.log.lock().is_empty()
    }
}

impl<I: Clone, O: Clone> Recorder<I, O> {
    /// The history so far. Fails with [`HistoryError::MissingReturn`] (event = operation
    /// number) for an operation neither returned nor marked unknown.
    pub fn history(&self) -> Result<History<I, O>, HistoryError> {
        let log = self.log.lock();
        if let Some(i) = log.iter().position(|s| !s.finished) {
            return Err(HistoryError::MissingReturn {
                event: i,
                id: i as u64,
            });
        }
        History::from_operations(log.iter().map(|s| s.op.clone()).collect())
    }
}
