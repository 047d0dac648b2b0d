//! Work to do when a simulation ends, on its own thread.
//!
//! A simulation's structures often point at each other: a network holds its servers, a
//! server's handlers hold the peer that serves them, and the peer holds client ends into the
//! network. Such a cycle of reference counts is never freed by itself, so every run would
//! leak its whole cluster, and a thousand-seed run would grow by megabytes per seed. Owners
//! of such structures register here how to break the cycle; [`run_all`] does it after the
//! simulation's tasks have been dropped.

use std::cell::RefCell;

thread_local! {
    static AT_END: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` when the simulation running on this thread ends (after its tasks are dropped).
pub(crate) fn at_end(f: impl FnOnce() + 'static) {
    AT_END.with(|hooks| hooks.borrow_mut().push(Box::new(f)));
}

/// Runs and forgets every registered hook, in registration order (hooks may register more).
pub(crate) fn run_all() {
    loop {
        let hooks = AT_END.with(|hooks| std::mem::take(&mut *hooks.borrow_mut()));
        if hooks.is_empty() {
            return;
        }
        for hook in hooks {
            hook();
        }
    }
}
