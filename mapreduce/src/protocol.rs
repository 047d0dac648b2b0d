//! The RPCs between workers and the coordinator, and the file naming conventions.
//!
//! The message types are part of the handout: you may add fields or variants, as long as the
//! worker and the coordinator agree (both modes use these same definitions).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A task not reported finished this long after it was handed out is handed out again.
pub const TASK_TIMEOUT: Duration = Duration::from_secs(10);

/// The number of reduce tasks `mrcoordinator` asks for (the original's `nReduce`).
pub const N_REDUCE: usize = 10;

/// A worker asks for work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRequest {
    /// The worker's id ([`Env::worker_id`](crate::Env::worker_id)).
    pub worker: u64,
}

/// What the coordinator tells a worker to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Map input `file`; write the pairs of partition `r` to `mr-<task>-<r>` for every
    /// `r` in `0..n_reduce`.
    Map {
        /// The map task number.
        task: usize,
        /// The input file.
        file: String,
        /// The number of reduce partitions.
        n_reduce: usize,
    },
    /// Reduce partition `task`: read `mr-<m>-<task>` for every `m` in `0..n_map`, write
    /// `mr-out-<task>`.
    Reduce {
        /// The reduce task number (the partition).
        task: usize,
        /// The number of map tasks.
        n_map: usize,
    },
    /// Nothing to do right now: ask again a little later.
    Wait,
    /// The job is done: exit.
    Exit,
}

/// Map or reduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskKind {
    /// A map task.
    Map,
    /// A reduce task.
    Reduce,
}

/// A worker reports a finished task (its output files are in place).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDone {
    /// The worker's id.
    pub worker: u64,
    /// Map or reduce.
    pub kind: TaskKind,
    /// The task number.
    pub task: usize,
}

labrpc::service! {
    /// The coordinator's RPC service.
    service Coordinator {
        /// A worker asks for a task.
        rpc RequestTask(TaskRequest) -> Task;
        /// A worker reports a finished task.
        rpc ReportTask(TaskDone) -> ();
    }
}

/// The name of the intermediate file of map task `map` for reduce partition `reduce`.
pub fn intermediate_name(map: usize, reduce: usize) -> String {
    format!("mr-{map}-{reduce}")
}

/// The name of the output file of reduce task `reduce`.
pub fn output_name(reduce: usize) -> String {
    format!("mr-out-{reduce}")
}
