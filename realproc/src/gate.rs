//! The durability gate of one file-backed persister: which of its saves are not on disk yet.
//!
//! Every save gets a number; a message produced after save `n` leaves (or is handed to its
//! caller) once no save numbered `n` or less is pending. The transport applies it (see the
//! crate docs): a server's replies wait for the saves made before them, a caller's replies for
//! the saves it made before sending its request.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The durability gate of one persister's files ([`Gate::none`] for a process with none:
/// nothing to wait for). Cloning gives another handle to the same gate.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    state: Option<Arc<GateState>>,
}

#[derive(Debug, Default)]
struct GateState {
    pending: Mutex<Pending>,
    written: Condvar,
}

#[derive(Debug, Default)]
struct Pending {
    /// The number of the latest save (0: none yet).
    last: u64,
    /// Saves not yet on disk.
    numbers: BTreeSet<u64>,
}

impl Gate {
    /// No gate: messages never wait (a process that persists nothing).
    pub fn none() -> Gate {
        Gate::default()
    }

    /// A gate with no save yet (for a new file store).
    pub(crate) fn new() -> Gate {
        Gate {
            state: Some(Arc::default()),
        }
    }

    fn pending(state: &GateState) -> MutexGuard<'_, Pending> {
        state.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers a new save, pending until [`Gate::written`].
    pub(crate) fn register(&self) -> u64 {
        let Some(state) = &self.state else {
            return 0;
        };
        let mut pending = Gate::pending(state);
        pending.last += 1;
        let number = pending.last;
        pending.numbers.insert(number);
        number
    }

    /// These saves are on disk.
    pub(crate) fn written(&self, numbers: &[u64]) {
        let Some(state) = &self.state else {
            return;
        };
        let mut pending = Gate::pending(state);
        for number in numbers {
            pending.numbers.remove(number);
        }
        drop(pending);
        state.written.notify_all();
    }

    /// What a message produced now must wait for: the latest save so far (0: nothing).
    pub(crate) fn ticket(&self) -> u64 {
        self.state
            .as_ref()
            .map_or(0, |state| Gate::pending(state).last)
    }

    /// Blocks until no save numbered `ticket` or less is pending (at once for ticket 0).
    pub(crate) fn wait(&self, ticket: u64) {
        let Some(state) = &self.state else {
            return;
        };
        if ticket == 0 {
            return;
        }
        let mut pending = Gate::pending(state);
        while pending.numbers.first().is_some_and(|&n| n <= ticket) {
            pending = state
                .written
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
