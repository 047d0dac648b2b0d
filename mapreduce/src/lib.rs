//! Lab 1: MapReduce.
//!
//! A coordinator hands out map tasks (one per input file) and then reduce tasks (`n_reduce`
//! partitions of the keys, by [`ihash`]); workers run an application's map and reduce
//! functions and write intermediate files `mr-X-Y` and outputs `mr-out-Y`, atomically. A task
//! not finished within 10 seconds is handed to another worker.
//!
//! The same coordinator and worker run two ways:
//! - in the simulation ([`sim`]): coordinator and workers are nodes of a deterministic,
//!   virtual-time simulation talking over labrpc's simulated network, files live in a
//!   simulated store, and a crash is a node crash. The graded `*_sim` tests run this way.
//! - as real processes ([`real`], binaries `mrcoordinator`, `mrworker`, `mrsequential`):
//!   labrpc's executor on the real clock, the `realproc` transport over a Unix socket, real
//!   files, real process exits.
//!
//! They differ only in the environment ([`Env`], [`WorkerEnv`]) the worker gets, and in the
//! clock the coordinator is told.
//!
//! What you write: the [`Coordinator`] (its state, [`Coordinator::request_task`],
//! [`Coordinator::report_task`], [`Coordinator::done`]) and the [`worker()`] loop. See
//! `docs/mapreduce.md`.

pub mod apps;
pub mod coordinator;
pub mod env;
pub mod handlers;
pub mod inputs;
pub mod protocol;
pub mod real;
pub mod sequential;
pub mod sim;
pub mod worker;

pub use apps::{App, BUILTIN_APPS, KeyValue, Registry, UnknownApp, ihash};
pub use coordinator::Coordinator;
pub use env::{Env, LocalBoxFuture, WorkerEnv};
pub use handlers::coordinator_service;
pub use protocol::{N_REDUCE, TASK_TIMEOUT, Task};
pub use sequential::{output_difference, sequential, sorted_output_lines};
pub use worker::{WorkerError, worker};
