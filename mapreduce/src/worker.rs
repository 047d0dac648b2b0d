//! The worker: asks the coordinator for tasks, runs the application's map and reduce
//! functions, and writes intermediate and output files atomically.

use crate::apps::App;
use crate::env::WorkerEnv;
use labrpc::RpcError;
use std::fmt;
use std::io;
// BEGIN SOLUTION
use crate::apps::{KeyValue, ihash};
use crate::protocol::{
    ReportTask, RequestTask, Task, TaskDone, TaskKind, TaskRequest, intermediate_name, output_name,
};
use std::time::Duration;
// END SOLUTION

/// Why a worker stopped before the job was done.
#[derive(Debug)]
pub enum WorkerError {
    /// The coordinator could not be reached at all.
    Unreachable(RpcError),
    /// A call to the coordinator failed for another reason than an unreachable coordinator
    /// (mismatched protocol types, say).
    Rpc(RpcError),
    /// An input file could not be read.
    Input {
        /// The file.
        file: String,
        /// Why.
        error: io::Error,
    },
    /// Another file operation failed.
    Io {
        /// What the worker was doing.
        what: String,
        /// Why it failed.
        error: io::Error,
    },
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::Unreachable(error) => {
                write!(f, "cannot reach the coordinator: {error}")
            }
            WorkerError::Rpc(error) => write!(f, "call to the coordinator failed: {error}"),
            WorkerError::Input { file, error } => {
                write!(f, "cannot read input file {file}: {error}")
            }
            WorkerError::Io { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for WorkerError {}

/// Runs one worker until the job is done.
///
/// Returns `Ok(())` when the coordinator says the job is done, or when the coordinator
/// disappears after having been reached at least once (it exits once the job is done). An
/// error means the worker could not do its part: the coordinator was never reachable, or a
/// file could not be read or written.
pub async fn worker<E: WorkerEnv>(env: &E, app: &dyn App) -> Result<(), WorkerError> {
    // BEGIN SOLUTION
    let mut reached = false;
    let mut failures = 0;
    loop {
        let request = TaskRequest {
            worker: env.worker_id(),
        };
        let task = match env.call::<RequestTask>(&request).await {
            Ok(task) => {
                reached = true;
                failures = 0;
                task
            }
            // The coordinator is gone: it exits only when the job is done.
            Err(RpcError::NoReply | RpcError::Shutdown) if reached => return Ok(()),
            Err(error @ (RpcError::NoReply | RpcError::Shutdown)) => {
                // It may still be starting: try for a second before giving up.
                failures += 1;
                if failures >= CONNECT_ATTEMPTS {
                    return Err(WorkerError::Unreachable(error));
                }
                env.sleep(RETRY_PAUSE).await;
                continue;
            }
            Err(error) => return Err(WorkerError::Rpc(error)),
        };
        let done = match task {
            Task::Map {
                task,
                file,
                n_reduce,
            } => {
                run_map(env, app, task, &file, n_reduce).await?;
                TaskDone {
                    worker: env.worker_id(),
                    kind: TaskKind::Map,
                    task,
                }
            }
            Task::Reduce { task, n_map } => {
                run_reduce(env, app, task, n_map).await?;
                TaskDone {
                    worker: env.worker_id(),
                    kind: TaskKind::Reduce,
                    task,
                }
            }
            Task::Wait => {
                env.sleep(WAIT_PAUSE).await;
                continue;
            }
            Task::Exit => return Ok(()),
        };
        match env.call::<ReportTask>(&done).await {
            Ok(()) => {}
            // Lost report: the task times out and is redone, or the job is over.
            Err(RpcError::NoReply | RpcError::Shutdown) => {}
            Err(error) => return Err(WorkerError::Rpc(error)),
        }
    }
    // END SOLUTION
    // BEGIN SKELETON
    // let _ = (env, app);
    // todo!("Lab 1: ask the coordinator for tasks and do them until the job is done")
    // END SKELETON
}

// BEGIN SOLUTION
/// How many times a worker tries to reach a coordinator it has never reached.
const CONNECT_ATTEMPTS: u32 = 10;
/// Pause between those attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Pause before asking again after a [`Task::Wait`].
const WAIT_PAUSE: Duration = Duration::from_millis(100);

/// Writes `data` to `name` so that readers never see a partial file: write a temporary file
/// (whose name does not start with `mr-`), then rename it into place.
fn write_atomically(env: &impl WorkerEnv, name: &str, data: &[u8]) -> Result<(), WorkerError> {
    let temp = format!("tmp-{}-{name}", env.worker_id());
    env.write_file(&temp, data)
        .map_err(|error| WorkerError::Io {
            what: format!("cannot write {temp}"),
            error,
        })?;
    env.rename(&temp, name).map_err(|error| WorkerError::Io {
        what: format!("cannot rename {temp} to {name}"),
        error,
    })
}

async fn run_map(
    env: &impl WorkerEnv,
    app: &dyn App,
    task: usize,
    file: &str,
    n_reduce: usize,
) -> Result<(), WorkerError> {
    let bytes = env.read_file(file).map_err(|error| WorkerError::Input {
        file: file.to_string(),
        error,
    })?;
    let contents = String::from_utf8_lossy(&bytes);
    let pairs = app.map(env, file, &contents).await;
    let mut partitions: Vec<Vec<KeyValue>> = vec![Vec::new(); n_reduce];
    for pair in pairs {
        let r = ihash(&pair.key) as usize % n_reduce;
        partitions[r].push(pair);
    }
    for (r, partition) in partitions.iter().enumerate() {
        let data = labrpc::codec::encode(partition).map_err(|error| WorkerError::Io {
            what: "cannot encode intermediate pairs".into(),
            error: io::Error::other(error),
        })?;
        write_atomically(env, &intermediate_name(task, r), &data)?;
    }
    Ok(())
}

async fn run_reduce(
    env: &impl WorkerEnv,
    app: &dyn App,
    task: usize,
    n_map: usize,
) -> Result<(), WorkerError> {
    let mut pairs: Vec<KeyValue> = Vec::new();
    for m in 0..n_map {
        let name = intermediate_name(m, task);
        let bytes = env.read_file(&name).map_err(|error| WorkerError::Io {
            what: format!("cannot read intermediate file {name}"),
            error,
        })?;
        let partition: Vec<KeyValue> =
            labrpc::codec::decode(&bytes).map_err(|error| WorkerError::Io {
                what: format!("corrupt intermediate file {name}"),
                error: io::Error::other(error),
            })?;
        pairs.extend(partition);
    }
    let output = crate::apps::reduce_sorted(env, app, pairs).await;
    write_atomically(env, &output_name(task), output.as_bytes())
}
// END SOLUTION
