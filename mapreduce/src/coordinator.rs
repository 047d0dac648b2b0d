//! The coordinator: hands out map tasks, then reduce tasks, re-issues tasks whose worker
//! went quiet, and knows when the job is done.
//!
//! It is a plain state machine: the RPC glue ([`coordinator_service`]) locks it, passes the
//! current time, and calls [`Coordinator::request_task`] or [`Coordinator::report_task`].
//! No I/O and no clock of its own, so the same code runs in the simulation and for real.
//!
//! [`coordinator_service`]: crate::protocol::coordinator_service

use crate::protocol::{Task, TaskDone, TaskRequest};
// BEGIN SOLUTION
use crate::protocol::{TASK_TIMEOUT, TaskKind};
// END SOLUTION
use std::time::Duration;

/// The coordinator's state.
#[derive(Debug)]
pub struct Coordinator {
    // BEGIN SOLUTION
    files: Vec<String>,
    n_reduce: usize,
    maps: Vec<Slot>,
    reduces: Vec<Slot>,
    // END SOLUTION
}

// BEGIN SOLUTION
/// Where one task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Not handed out yet (or its worker timed out).
    Idle,
    /// Handed out; handed out again if not finished by `deadline`.
    Running { worker: u64, deadline: Duration },
    /// Finished: its output files are in place.
    Done,
}

/// Picks a task to hand out: an idle one, or one whose worker missed its deadline.
fn assign(slots: &mut [Slot], now: Duration, worker: u64) -> Option<usize> {
    let free = slots.iter().position(|slot| match *slot {
        Slot::Idle => true,
        Slot::Running { deadline, .. } => deadline <= now,
        Slot::Done => false,
    })?;
    slots[free] = Slot::Running {
        worker,
        deadline: now + TASK_TIMEOUT,
    };
    Some(free)
}

fn all_done(slots: &[Slot]) -> bool {
    slots.iter().all(|slot| *slot == Slot::Done)
}
// END SOLUTION

impl Coordinator {
    /// A coordinator for one job: one map task per input file, `n_reduce` reduce tasks.
    pub fn new(files: Vec<String>, n_reduce: usize) -> Coordinator {
        // BEGIN SOLUTION
        Coordinator {
            maps: vec![Slot::Idle; files.len()],
            reduces: vec![Slot::Idle; n_reduce],
            files,
            n_reduce,
        }
        // END SOLUTION
        // BEGIN SKELETON
        // todo!(
        //     "Lab 1: the coordinator for {} files and {n_reduce} reduce tasks",
        //     files.len()
        // )
        // END SKELETON
    }

    /// A worker asks for work at time `now`.
    pub fn request_task(&mut self, now: Duration, args: TaskRequest) -> Task {
        // BEGIN SOLUTION
        if !all_done(&self.maps) {
            return match assign(&mut self.maps, now, args.worker) {
                Some(task) => Task::Map {
                    task,
                    file: self.files[task].clone(),
                    n_reduce: self.n_reduce,
                },
                // Reduces need every map's output: wait for the maps in progress.
                None => Task::Wait,
            };
        }
        if !all_done(&self.reduces) {
            return match assign(&mut self.reduces, now, args.worker) {
                Some(task) => Task::Reduce {
                    task,
                    n_map: self.files.len(),
                },
                None => Task::Wait,
            };
        }
        Task::Exit
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (now, args);
        // todo!("Lab 1: hand out a task, or tell the worker to wait or exit")
        // END SKELETON
    }

    /// A worker reports at time `now` that it finished a task.
    pub fn report_task(&mut self, now: Duration, args: TaskDone) {
        // BEGIN SOLUTION
        let _ = now;
        let slots = match args.kind {
            TaskKind::Map => &mut self.maps,
            TaskKind::Reduce => &mut self.reduces,
        };
        // Output files are renamed into place atomically and every execution of a task
        // writes the same output, so a late report from a worker that timed out is as good
        // as any: the task is done.
        if let Some(slot) = slots.get_mut(args.task) {
            *slot = Slot::Done;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (now, args);
        // END SKELETON
    }

    /// True once every output file is final: the job is done.
    pub fn done(&self) -> bool {
        // BEGIN SOLUTION
        all_done(&self.maps) && all_done(&self.reduces)
        // END SOLUTION
        // BEGIN SKELETON
        // todo!("Lab 1: is the job done?")
        // END SKELETON
    }
}

// BEGIN SOLUTION
#[cfg(test)]
mod tests {
    use super::*;

    fn ask(c: &mut Coordinator, secs: u64, worker: u64) -> Task {
        c.request_task(Duration::from_secs(secs), TaskRequest { worker })
    }

    fn report(c: &mut Coordinator, kind: TaskKind, task: usize) {
        c.report_task(
            Duration::ZERO,
            TaskDone {
                worker: 0,
                kind,
                task,
            },
        );
    }

    #[test]
    fn maps_then_reduces_then_exit_with_reassignment_after_timeout() {
        let mut c = Coordinator::new(vec!["a".into(), "b".into()], 1);
        assert!(matches!(ask(&mut c, 0, 1), Task::Map { task: 0, .. }));
        assert!(matches!(ask(&mut c, 0, 2), Task::Map { task: 1, .. }));
        assert_eq!(ask(&mut c, 9, 3), Task::Wait);
        report(&mut c, TaskKind::Map, 1);
        // Worker 1 went quiet: its map goes to someone else after 10 s, not before.
        assert!(matches!(ask(&mut c, 10, 3), Task::Map { task: 0, .. }));
        assert_eq!(ask(&mut c, 11, 4), Task::Wait);
        report(&mut c, TaskKind::Map, 0);
        assert!(matches!(
            ask(&mut c, 12, 4),
            Task::Reduce { task: 0, n_map: 2 }
        ));
        assert!(!c.done());
        report(&mut c, TaskKind::Reduce, 0);
        assert!(c.done());
        assert_eq!(ask(&mut c, 13, 4), Task::Exit);
    }
}
// END SOLUTION
