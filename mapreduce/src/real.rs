//! Running a job as real processes: the environment of `mrworker` and `mrsequential`, the
//! settings every binary reads, and the three programs' main functions. Each program runs on
//! labrpc's real-clock executor ([`RealClock`]), the coordinator serving its RPCs with
//! [`realproc::serve_on_node`] and the workers calling it through a [`realproc::Remote`] end:
//! the same stack as Lab 4's real servers.
//!
//! Settings come from the environment:
//! - `MR_SOCKET`: where the coordinator listens, a Unix-socket path or `tcp:HOST:PORT`
//!   (default `/var/tmp/5840-mr-<uid>`, like the original).
//! - `MR_SPEEDUP`: a factor (default 1) by which every program's clock runs faster than real
//!   time: sleeps are that many times shorter and the coordinator's 10-second task timeout
//!   passes that much sooner. The relations between the durations (a crash-app sleep versus
//!   the timeout, say) stay the original's; the graded real-process tests use it to finish
//!   in seconds.

// Real processes run on the real clock: the determinism lints are for simulated code.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::apps::{App, Registry};
use crate::coordinator::Coordinator;
use crate::env::{Env, LocalBoxFuture, WorkerEnv};
use crate::handlers::coordinator_service;
use crate::protocol::N_REDUCE;
use crate::sequential::sequential;
use crate::worker::{WorkerError, worker};
use labrpc::sim::{self, DetRng, RealClock};
use labrpc::{ClientEnd, Rpc, RpcError};
use realproc::{Address, Gate, REMOTE_CALL_TIMEOUT, Remote};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the binaries read from the environment (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The coordinator's address (`MR_SOCKET`).
    pub address: Address,
    /// How much faster than real time the programs' clocks run (`MR_SPEEDUP`).
    pub speedup: f64,
}

impl Settings {
    /// Reads `MR_SOCKET` and `MR_SPEEDUP`.
    pub fn from_env() -> Result<Settings, String> {
        let address = match std::env::var("MR_SOCKET") {
            Ok(text) if !text.is_empty() => Address::parse(&text),
            _ => Address::Unix(default_socket()),
        };
        let speedup = match std::env::var("MR_SPEEDUP") {
            Ok(text) if !text.is_empty() => match text.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => x,
                _ => return Err(format!("MR_SPEEDUP={text:?} is not a positive number")),
            },
            _ => 1.0,
        };
        Ok(Settings { address, speedup })
    }
}

/// The original's socket name, `/var/tmp/5840-mr-<uid>`.
pub fn default_socket() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid().to_string())
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "user".into());
    PathBuf::from(format!("/var/tmp/5840-mr-{uid}"))
}

/// A real worker's environment: files in a directory, the real clock (sped up by
/// [`Settings::speedup`]), the process id as worker id, crash = exit the process.
pub struct RealEnv {
    dir: PathBuf,
    coordinator: Option<Coordinated>,
    speedup: f64,
    worker_id: u64,
    rng: RefCell<DetRng>,
}

/// A worker's end to the coordinator, and its line (which tells why it cannot connect).
struct Coordinated {
    end: ClientEnd,
    line: Rc<Remote>,
}

impl RealEnv {
    /// An environment whose files are in `dir` and whose coordinator listens at `coordinator`
    /// (none for `mrsequential`).
    pub fn new(dir: PathBuf, coordinator: Option<&Address>, speedup: f64) -> RealEnv {
        let worker_id = u64::from(std::process::id());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let coordinator = coordinator.map(|address| {
            let line = Remote::new(address.clone(), Gate::none(), REMOTE_CALL_TIMEOUT);
            Coordinated {
                end: ClientEnd::from_line(line.clone()),
                line,
            }
        });
        RealEnv {
            dir,
            coordinator,
            speedup,
            worker_id,
            rng: RefCell::new(DetRng::new(nanos ^ worker_id.rotate_left(32))),
        }
    }

    /// Why the coordinator could not be reached, if it could not.
    pub fn unreachable_because(&self) -> Option<String> {
        self.coordinator.as_ref()?.line.last_error()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// True if process `pid` exists (on Linux, from `/proc`; elsewhere with `kill -0`).
fn process_alive(pid: u64) -> bool {
    if Path::new("/proc/self").exists() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

impl Env for RealEnv {
    fn worker_id(&self) -> u64 {
        self.worker_id
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'_, ()> {
        Box::pin(sim::sleep(duration.div_f64(self.speedup)))
    }

    fn timestamp(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn random_below(&self, n: u64) -> u64 {
        self.rng.borrow_mut().below(n)
    }

    fn crash(&self) -> LocalBoxFuture<'_, ()> {
        Box::pin(async { std::process::exit(1) })
    }

    fn is_alive(&self, worker: u64) -> bool {
        worker == self.worker_id || process_alive(worker)
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(name))
    }

    fn write_file(&self, name: &str, data: &[u8]) -> io::Result<()> {
        std::fs::write(self.path(name), data)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(self.path(from), self.path(to))
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        std::fs::remove_file(self.path(name))
    }

    fn list_files(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

impl WorkerEnv for RealEnv {
    async fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        match &self.coordinator {
            Some(coordinator) => coordinator.end.call::<R>(args).await,
            None => Err(RpcError::NoReply),
        }
    }
}

/// Runs `main` on the real-clock executor (seeded by the time and the process id: a real run
/// does not replay anyway).
fn on_real_clock<F, Fut>(main: F) -> Result<Fut::Output, String>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future + 'static,
{
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    RealClock::new(nanos ^ u64::from(std::process::id()))
        .run(main)
        .map_err(|e| e.to_string())
}

/// The application name in a command-line argument: `wc`, or the original's plugin spelling
/// `../mrapps/wc.so`.
pub fn app_name(arg: &str) -> &str {
    let base = arg.rsplit('/').next().unwrap_or(arg);
    base.strip_suffix(".so").unwrap_or(base)
}

fn current_dir() -> Result<PathBuf, String> {
    std::env::current_dir().map_err(|e| format!("cannot find the working directory: {e}"))
}

/// `mrcoordinator`: checks the inputs, serves the coordinator at the configured address,
/// returns once the job is done (plus a second, so that workers learn it).
pub fn coordinator_main(inputs: &[String], settings: &Settings) -> Result<(), String> {
    for file in inputs {
        let readable = std::fs::File::open(file).and_then(|f| f.metadata());
        match readable {
            Ok(metadata) if metadata.is_file() => {}
            Ok(_) => return Err(format!("input {file} is not a regular file")),
            Err(e) => return Err(format!("cannot read input file {file}: {e}")),
        }
    }
    // Before anything else: the socket path must be free or a stale socket.
    realproc::check_address(&settings.address)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.address))?;
    let inputs = inputs.to_vec();
    let settings = settings.clone();
    on_real_clock(move || async move {
        let coordinator = Arc::new(Mutex::new(Coordinator::new(inputs, N_REDUCE)));
        let speedup = settings.speedup;
        let clock = move || sim::now().since_start().mul_f64(speedup);
        let service = coordinator_service(coordinator.clone(), clock);
        let server = realproc::serve_on_node(&settings.address, [service], Gate::none())
            .map_err(|e| format!("cannot listen on {}: {e}", settings.address))?;
        let second = Duration::from_secs(1).div_f64(speedup);
        let done = || {
            coordinator
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .done()
        };
        while !done() {
            sim::sleep(second).await;
        }
        sim::sleep(second).await;
        drop(server);
        Ok(())
    })?
}

/// `mrworker APP`: runs one worker in the working directory until the job is done.
pub fn worker_main(app: &str, settings: &Settings) -> Result<(), String> {
    let app: Box<dyn App> = Registry::builtin()
        .get(app_name(app))
        .map_err(|e| e.to_string())?;
    let dir = current_dir()?;
    let settings = settings.clone();
    on_real_clock(move || async move {
        let env = RealEnv::new(dir, Some(&settings.address), settings.speedup);
        worker(&env, &*app).await.map_err(|error| {
            let detail = match (&error, env.unreachable_because()) {
                (WorkerError::Unreachable(_), Some(why)) => format!(" ({why})"),
                _ => String::new(),
            };
            format!("{error}{detail}")
        })
    })?
}

/// `mrsequential APP INPUTS...`: the sequential reference, writing `mr-out-0`.
pub fn sequential_main(app: &str, inputs: &[String], settings: &Settings) -> Result<(), String> {
    let app: Box<dyn App> = Registry::builtin()
        .get(app_name(app))
        .map_err(|e| e.to_string())?;
    let dir = current_dir()?;
    let inputs = inputs.to_vec();
    let speedup = settings.speedup;
    on_real_clock(move || async move {
        let env = RealEnv::new(dir, None, speedup);
        sequential(&env, &*app, &inputs, "mr-out-0")
            .await
            .map_err(|e| e.to_string())
    })?
}
