//! What applications and workers may do besides computing: the environment.
//!
//! The same worker and applications run in two worlds. In the simulation, time is virtual,
//! files live in an in-memory store shared by the simulated machines, and a crash stops a
//! simulated node. As real processes, time is the real clock, files are real files in the
//! working directory, and a crash exits the process. Code that goes through [`Env`] and
//! [`WorkerEnv`] works in both, unchanged.

use labrpc::{Rpc, RpcError};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future that need not be `Send` (everything here runs on one thread).
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What an application (and a worker) may use: identity, time, randomness, files, crashing.
///
/// File names are plain names in one flat directory (the working directory of a real job).
pub trait Env {
    /// This worker's id, unique among the workers of a job (a real worker's process id).
    fn worker_id(&self) -> u64;

    /// Waits for `duration` (virtual time in the simulation).
    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'_, ()>;

    /// The current time as a duration since some fixed origin (for timestamps only).
    fn timestamp(&self) -> Duration;

    /// A random number in `0..n` (seeded by the simulation in simulated runs).
    fn random_below(&self, n: u64) -> u64;

    /// Crashes this worker at once: the process exits, or the simulated node crashes. The
    /// returned future never completes.
    fn crash(&self) -> LocalBoxFuture<'_, ()>;

    /// True if the worker with this id is still running (it has neither exited nor crashed).
    fn is_alive(&self, worker: u64) -> bool;

    /// Reads a whole file.
    fn read_file(&self, name: &str) -> io::Result<Vec<u8>>;

    /// Creates or truncates a file and writes `data` to it. Not atomic: a crash in the middle
    /// may leave part of the data (in the simulation, writes are instantaneous, but a reader
    /// can still see a file before its writer is done with the whole task).
    fn write_file(&self, name: &str, data: &[u8]) -> io::Result<()>;

    /// Renames `from` to `to` atomically, replacing `to` if it exists: readers see the old
    /// file or the new one, never a mix.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;

    /// Removes a file.
    fn remove_file(&self, name: &str) -> io::Result<()>;

    /// The names of every file, sorted.
    fn list_files(&self) -> io::Result<Vec<String>>;
}

/// A worker's environment: an [`Env`] that can also call the coordinator.
pub trait WorkerEnv: Env {
    /// Calls method `R` of the coordinator. [`RpcError::NoReply`] means the coordinator could
    /// not be reached or did not answer (it may have exited).
    fn call<R: Rpc>(&self, args: &R::Args) -> impl Future<Output = Result<R::Reply, RpcError>>;
}
