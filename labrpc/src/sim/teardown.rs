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

/// Runs `f` when the simulation running on this thread ends, after its tasks are dropped:
/// the place to break a reference cycle between structures that outlive their tasks (a test
/// cluster that holds its servers, whose factory holds the cluster). Hooks run in the order
/// they were registered, and may register more.
///
/// ```
/// use labrpc::sim::{self, Sim};
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// /// A structure that holds itself, as a cluster holds its servers' factory, which holds it.
/// struct Cluster {
///     me: RefCell<Option<Rc<Cluster>>>,
///     freed: Arc<AtomicBool>,
/// }
/// impl Drop for Cluster {
///     fn drop(&mut self) {
///         self.freed.store(true, Ordering::SeqCst);
///     }
/// }
///
/// let freed = Arc::new(AtomicBool::new(false));
/// let flag = freed.clone();
/// Sim::new(1)
///     .run(move || async move {
///         let cluster = Rc::new(Cluster { me: RefCell::new(None), freed: flag });
///         *cluster.me.borrow_mut() = Some(cluster.clone()); // a cycle: never freed by itself
///         let weak = Rc::downgrade(&cluster);
///         sim::at_end(move || {
///             if let Some(cluster) = weak.upgrade() {
///                 cluster.me.borrow_mut().take(); // the cycle is broken
///             }
///         });
///     })
///     .unwrap();
/// assert!(freed.load(Ordering::SeqCst));
/// ```
pub fn at_end(f: impl FnOnce() + 'static) {
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
