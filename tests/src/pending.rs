//! What was pending when a test ran out of time: a time-limit failure ("the test ran past its
//! limit of 120s of virtual time") says which tasks waited, not what the service was waiting
//! for. A lab's tester registers reporters here ([`on_time_limit`]: which clerks waited on
//! which operation, which groups were in which configuration waiting for which shards); when
//! a run reaches its time limit or deadlocks, the harness calls them, as the simulation shuts
//! down, and adds what they say to the failure's message.
//!
//! A line that starts with [`HINT`] says which rule the wait points at: the first one heads
//! the failure's message.
//!
//! A reporter only reads state (no RPC, no spawn, no sleep, nothing that goes into the trace):
//! registering one changes no trace hash. The reporters of a run are dropped with the test's
//! body, whether it finished or not.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

type Reporter = Box<dyn Fn() -> String>;

/// A reporter's line that starts with this names the rule the wait points at: the first such
/// line of a run that reached its time limit becomes the head of its failure message.
pub const HINT: &str = "Hint: ";

thread_local! {
    static REPORTERS: RefCell<Vec<Reporter>> = const { RefCell::new(Vec::new()) };
}

/// Registers `report`, called if this run reaches its time limit (or deadlocks) to say what
/// was pending; an empty string says nothing. Call it from the test's body (the simulation's
/// thread).
pub fn on_time_limit(report: impl Fn() -> String + 'static) {
    REPORTERS.with(|r| r.borrow_mut().push(Box::new(report)));
}

/// What the registered reporters say now, one section each (empty if they say nothing).
pub fn report() -> String {
    let reporters = REPORTERS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    let mut text = String::new();
    for reporter in &reporters {
        let said = std::panic::catch_unwind(std::panic::AssertUnwindSafe(reporter));
        if let Ok(said) = said
            && !said.trim().is_empty()
        {
            text.push_str(said.trim_end());
            text.push('\n');
        }
    }
    REPORTERS.with(|r| {
        let mut kept = r.borrow_mut();
        let added = std::mem::take(&mut *kept);
        *kept = reporters;
        kept.extend(added);
    });
    text
}

/// Drops every reporter of this thread.
pub(crate) fn clear() {
    let reporters = REPORTERS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    drop(reporters);
}

/// A run's test body, watched: dropped before it finished (the simulation shuts down at its
/// time limit, or on a deadlock), it first asks the reporters what was pending, while the
/// body's state is still there, and leaves it in its slot; either way it drops them.
pub(crate) struct Watched<F> {
    body: Pin<Box<F>>,
    slot: Arc<Mutex<Option<String>>>,
    finished: bool,
}

impl<F: Future> Watched<F> {
    /// Watches `body`, leaving its report in `slot`.
    pub(crate) fn new(body: F, slot: Arc<Mutex<Option<String>>>) -> Watched<F> {
        Watched {
            body: Box::pin(body),
            slot,
            finished: false,
        }
    }
}

impl<F: Future> Future for Watched<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.body.as_mut().poll(cx);
        if poll.is_ready() {
            self.finished = true;
            clear();
        }
        poll
    }
}

impl<F> Drop for Watched<F> {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            let text = report();
            if !text.is_empty()
                && let Ok(mut slot) = self.slot.lock()
            {
                *slot = Some(text);
            }
        }
        clear();
    }
}
