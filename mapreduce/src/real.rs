//! Running a job as real processes: the environment of `mrworker` and `mrsequential`, the
//! settings every binary reads, and the three programs' main functions.
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
use crate::protocol::{N_REDUCE, coordinator_service};
use crate::sequential::sequential;
use crate::worker::{WorkerError, worker};
use labrpc::sim::DetRng;
use labrpc::transport::{self, Address, Client};
use labrpc::{Rpc, RpcError};
use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// The coordinator's clock: time since it started, sped up by `speedup`.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
    speedup: f64,
}

impl Clock {
    /// A clock starting now.
    pub fn new(speedup: f64) -> Clock {
        Clock {
            start: Instant::now(),
            speedup,
        }
    }

    /// Scaled time since the start.
    pub fn now(&self) -> Duration {
        self.start.elapsed().mul_f64(self.speedup)
    }
}

/// A real worker's environment: files in a directory, the real clock (sped up by
/// [`Settings::speedup`]), the process id as worker id, crash = exit the process.
#[derive(Debug)]
pub struct RealEnv {
    dir: PathBuf,
    client: Option<Client>,
    speedup: f64,
    worker_id: u64,
    rng: RefCell<DetRng>,
}

impl RealEnv {
    /// An environment whose files are in `dir` and whose coordinator is `client` (none for
    /// `mrsequential`).
    pub fn new(dir: PathBuf, client: Option<Client>, speedup: f64) -> RealEnv {
        let worker_id = u64::from(std::process::id());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        RealEnv {
            dir,
            client,
            speedup,
            worker_id,
            rng: RefCell::new(DetRng::new(nanos ^ worker_id.rotate_left(32))),
        }
    }

    /// The coordinator's client, if any.
    pub fn client(&self) -> Option<&Client> {
        self.client.as_ref()
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
        // The worker runs alone on its thread (under `block_on`): blocking is waiting.
        let real = duration.div_f64(self.speedup);
        Box::pin(async move { std::thread::sleep(real) })
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
        match &self.client {
            Some(client) => client.call::<R>(args),
            None => Err(RpcError::NoReply),
        }
    }
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
    transport::check_address(&settings.address)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.address))?;
    let coordinator = Arc::new(Mutex::new(Coordinator::new(inputs.to_vec(), N_REDUCE)));
    let clock = Clock::new(settings.speedup);
    let for_service = coordinator.clone();
    let server = transport::serve(&settings.address, move || {
        [coordinator_service(for_service, move || clock.now())]
    })
    .map_err(|e| format!("cannot listen on {}: {e}", settings.address))?;
    let second = Duration::from_secs(1).div_f64(settings.speedup);
    while !coordinator
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .done()
    {
        std::thread::sleep(second);
    }
    std::thread::sleep(second);
    drop(server);
    Ok(())
}

/// `mrworker APP`: runs one worker in the working directory until the job is done.
pub fn worker_main(app: &str, settings: &Settings) -> Result<(), String> {
    let app: Box<dyn App> = Registry::builtin()
        .get(app_name(app))
        .map_err(|e| e.to_string())?;
    let client = Client::new(settings.address.clone());
    let env = RealEnv::new(current_dir()?, Some(client), settings.speedup);
    transport::block_on(worker(&env, &*app)).map_err(|error| {
        let detail = match (&error, env.client().and_then(Client::last_error)) {
            (WorkerError::Unreachable(_), Some(why)) => format!(" ({why})"),
            _ => String::new(),
        };
        format!("{error}{detail}")
    })
}

/// `mrsequential APP INPUTS...`: the sequential reference, writing `mr-out-0`.
pub fn sequential_main(app: &str, inputs: &[String], settings: &Settings) -> Result<(), String> {
    let app: Box<dyn App> = Registry::builtin()
        .get(app_name(app))
        .map_err(|e| e.to_string())?;
    let env = RealEnv::new(current_dir()?, None, settings.speedup);
    transport::block_on(sequential(&env, &*app, inputs, "mr-out-0")).map_err(|e| e.to_string())
}
