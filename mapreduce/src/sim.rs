//! Running a job in the simulation: a simulated file store, the simulated worker
//! environment, and [`SimJob`], which starts a coordinator and workers on simulated nodes.
//!
//! Everything here must run inside a [`labrpc::sim`] simulation (a graded test's body).

use crate::apps::Registry;
use crate::coordinator::Coordinator;
use crate::env::{Env, LocalBoxFuture, WorkerEnv};
use crate::handlers::coordinator_service;
use crate::sequential::{sequential, sorted_output_lines};
use crate::worker::{WorkerError, worker};
use labrpc::rand::RngExt;
use labrpc::sim::{self, JoinHandle, Node};
use labrpc::sync::mpsc;
use labrpc::{ClientEnd, Network, Rpc, RpcError, Server, Service};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The name of the coordinator's server on the simulated network.
pub const COORDINATOR: &str = "coordinator";

/// A flat, in-memory file store shared by the nodes of a simulation. Rename is atomic; a
/// write is instantaneous unless the store tears writes (see [`SimFiles::tear_writes`]).
/// Cloning gives another handle to the same store.
#[derive(Clone, Debug, Default)]
pub struct SimFiles {
    files: Rc<RefCell<BTreeMap<String, Rc<[u8]>>>>,
    /// Per mille of writes to output files (`mr-out-` in the name) torn by a crash.
    tear_per_mille: Rc<Cell<u64>>,
    /// Every content each output file has had, in order, when recorded.
    versions: Rc<RefCell<Option<Vec<FileVersion>>>>,
}

/// A file's name and one content it had.
pub type FileVersion = (String, Rc<[u8]>);

fn not_found(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{name}: no such file in the simulated file store"),
    )
}

impl SimFiles {
    /// An empty store.
    pub fn new() -> SimFiles {
        SimFiles::default()
    }

    /// Creates or replaces a file.
    pub fn write(&self, name: &str, data: &[u8]) {
        let data: Rc<[u8]> = data.into();
        self.record(name, &data);
        self.files.borrow_mut().insert(name.to_string(), data);
    }

    /// Makes `per_mille` of the writes to output files (names with `mr-out-` in them,
    /// temporary ones included) crash their worker halfway: a prefix of the data is written,
    /// the worker's node crashes, and the write fails. A worker that writes its output in place
    /// then leaves a partial `mr-out-*` file for a while; one that writes a temporary file
    /// and renames it never does.
    pub fn tear_writes(&self, per_mille: u64) {
        self.tear_per_mille.set(per_mille);
    }

    /// Starts recording every content each final output file (`mr-out-*`) takes, by write or
    /// rename (see [`SimFiles::output_versions`]).
    pub fn record_output_versions(&self) {
        self.versions.replace(Some(Vec::new()));
    }

    /// Every (name, content) an `mr-out-*` file has had since recording started, in order.
    pub fn output_versions(&self) -> Vec<FileVersion> {
        self.versions.borrow().clone().unwrap_or_default()
    }

    fn record(&self, name: &str, data: &Rc<[u8]>) {
        if name.starts_with("mr-out-")
            && let Some(versions) = self.versions.borrow_mut().as_mut()
        {
            versions.push((name.to_string(), data.clone()));
        }
    }

    /// A file's contents.
    pub fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.files
            .borrow()
            .get(name)
            .map(|data| data.to_vec())
            .ok_or_else(|| not_found(name))
    }

    /// Renames a file atomically, replacing any file called `to`.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut files = self.files.borrow_mut();
        let data = files.remove(from).ok_or_else(|| not_found(from))?;
        self.record(to, &data);
        files.insert(to.to_string(), data);
        Ok(())
    }

    /// Removes a file.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        self.files
            .borrow_mut()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found(name))
    }

    /// Every file name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.files.borrow().keys().cloned().collect()
    }
}

/// The ids of the workers that are running (neither exited nor crashed).
type Alive = Rc<RefCell<BTreeSet<u64>>>;

/// Removes a worker from the running set when its task ends or its node crashes.
struct AliveGuard {
    alive: Alive,
    id: u64,
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.alive.borrow_mut().remove(&self.id);
    }
}

/// A worker's environment in the simulation: virtual time, the node's seeded random
/// numbers, the shared [`SimFiles`], a client end to the coordinator, and crash = node crash.
#[derive(Clone, Debug)]
pub struct SimEnv {
    files: SimFiles,
    worker_id: u64,
    end: Option<ClientEnd>,
    alive: Alive,
    supervisor: Node,
}

impl SimEnv {
    /// An environment with no coordinator (calls fail with [`RpcError::NoReply`]), for the
    /// sequential reference or an application's own tests. Crashing it panics.
    pub fn standalone(files: SimFiles, worker_id: u64) -> SimEnv {
        SimEnv {
            files,
            worker_id,
            end: None,
            alive: Rc::new(RefCell::new(BTreeSet::from([worker_id]))),
            supervisor: Node::current(),
        }
    }
}

impl Env for SimEnv {
    fn worker_id(&self) -> u64 {
        self.worker_id
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'_, ()> {
        Box::pin(sim::sleep(duration))
    }

    fn timestamp(&self) -> Duration {
        sim::now().since_start()
    }

    fn random_below(&self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            sim::rng().random_range(0..n)
        }
    }

    fn crash(&self) -> LocalBoxFuture<'_, ()> {
        self.crash_soon();
        Box::pin(std::future::pending())
    }

    fn is_alive(&self, worker: u64) -> bool {
        self.alive.borrow().contains(&worker)
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        self.files.read(name)
    }

    fn write_file(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let tear = self.files.tear_per_mille.get();
        if tear > 0 && name.contains("mr-out-") && self.random_below(1000) < tear {
            let prefix = self.random_below(data.len() as u64) as usize;
            self.files.write(name, &data[..prefix]);
            self.crash_soon();
            return Err(io::Error::other(format!(
                "the worker crashed while writing {name} ({prefix} of {} bytes written)",
                data.len()
            )));
        }
        self.files.write(name, data);
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.files.rename(from, to)
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.files.remove(name)
    }

    fn list_files(&self) -> io::Result<Vec<String>> {
        Ok(self.files.names())
    }
}

impl SimEnv {
    /// Crashes this worker's node. A task cannot drop itself mid-poll: the supervisor crashes
    /// the node a moment later.
    fn crash_soon(&self) {
        let node = Node::current();
        self.supervisor.spawn(async move { node.crash() });
    }
}

impl WorkerEnv for SimEnv {
    async fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        match &self.end {
            Some(end) => end.call::<R>(args).await,
            None => Err(RpcError::NoReply),
        }
    }
}

/// A process of a simulated job that ended (crashed workers never report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The coordinator saw the job done and left.
    Coordinator,
    /// A worker returned.
    Worker {
        /// Its id.
        id: u64,
        /// Its result (the error's text).
        result: Result<(), String>,
    },
}

struct JobInner {
    net: Network,
    files: SimFiles,
    alive: Alive,
    supervisor: Node,
    registry: Registry,
    next_worker: Cell<u64>,
    coordinator_exited: Cell<bool>,
    exits_tx: mpsc::UnboundedSender<Exit>,
    exits_rx: labrpc::sync::Mutex<mpsc::UnboundedReceiver<Exit>>,
}

/// One MapReduce job in the simulation: a coordinator node serving on a simulated network,
/// the input files in a [`SimFiles`] store, and workers started on nodes of their own.
///
/// Like `mrcoordinator`, the coordinator checks [`Coordinator::done`] once a second, then
/// lingers one second (so that workers learn the job is done) and leaves the network.
/// Cloning gives another handle to the same job.
#[derive(Clone)]
pub struct SimJob {
    inner: Rc<JobInner>,
}

impl SimJob {
    /// Starts the coordinator for `inputs` (file name, contents) with `n_reduce` reduce tasks.
    pub fn start<'a>(
        inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
        n_reduce: usize,
    ) -> SimJob {
        SimJob::start_with(inputs, |names| {
            let coordinator = Arc::new(Mutex::new(Coordinator::new(names, n_reduce)));
            let service = coordinator_service(coordinator.clone(), || sim::now().since_start());
            let done = move || coordinator.lock().unwrap_or_else(|e| e.into_inner()).done();
            (service, Box::new(done) as Box<dyn Fn() -> bool>)
        })
    }

    /// Starts a job whose coordinator is what `coordinator` makes from the input file names:
    /// its RPC service and its `done` check (for the suite's own tests of a broken
    /// coordinator).
    ///
    /// Messages take 0.1–1 ms each way (drawn from the seed, like everything else), as on a
    /// machine's loopback: each seed interleaves the workers' calls differently.
    pub fn start_with<'a>(
        inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
        coordinator: impl FnOnce(Vec<String>) -> (Service, Box<dyn Fn() -> bool>),
    ) -> SimJob {
        let files = SimFiles::new();
        let mut names = Vec::new();
        for (name, contents) in inputs {
            files.write(name, contents.as_bytes());
            names.push(name.to_string());
        }
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let net = Network::new();
        net.set_latency(Duration::from_micros(100)..Duration::from_millis(1));
        let job = SimJob {
            inner: Rc::new(JobInner {
                net,
                files,
                alive: Rc::default(),
                supervisor: Node::current(),
                registry: Registry::builtin(),
                next_worker: Cell::new(1),
                coordinator_exited: Cell::new(false),
                exits_tx,
                exits_rx: labrpc::sync::Mutex::new(exits_rx),
            }),
        };
        let node = Node::new(COORDINATOR);
        let (service, done) = node.enter(|| coordinator(names));
        let mut server = Server::new(node);
        server.add_service(service);
        job.inner.net.add_server(COORDINATOR, server);
        let this = job.clone();
        node.spawn(async move {
            while !done() {
                sim::sleep(Duration::from_secs(1)).await;
            }
            sim::sleep(Duration::from_secs(1)).await;
            sim::note("coordinator: job done, exiting");
            this.inner.net.delete_server(COORDINATOR);
            this.inner.coordinator_exited.set(true);
            let _ = this.inner.exits_tx.send(Exit::Coordinator);
        });
        job
    }

    /// Starts a worker running application `app` on a new node.
    ///
    /// # Panics
    /// If there is no such application.
    pub fn spawn_worker(&self, app: &str) -> (Node, JoinHandle<Result<(), WorkerError>>) {
        let node = Node::new(format!("worker-{}", self.inner.next_worker.get()));
        let handle = self.run_worker(node, app);
        (node, handle)
    }

    /// Starts a worker running `app` on `node`, restarting the node first if it crashed. The
    /// handle reports `Err(Cancelled)` if the worker crashes.
    ///
    /// # Panics
    /// If there is no such application.
    pub fn run_worker(&self, node: Node, app: &str) -> JoinHandle<Result<(), WorkerError>> {
        let inner = &self.inner;
        let app = inner.registry.get(app).unwrap_or_else(|e| panic!("{e}"));
        if !node.is_up() {
            node.restart();
        }
        let id = inner.next_worker.get();
        inner.next_worker.set(id + 1);
        let end_name = format!("worker-{id}");
        let end = inner.net.make_end(end_name.as_str());
        inner.net.connect(end_name.as_str(), COORDINATOR);
        inner.net.enable(end_name.as_str(), true);
        inner.alive.borrow_mut().insert(id);
        let env = SimEnv {
            files: inner.files.clone(),
            worker_id: id,
            end: Some(end),
            alive: inner.alive.clone(),
            supervisor: inner.supervisor,
        };
        let guard = AliveGuard {
            alive: inner.alive.clone(),
            id,
        };
        let exits = inner.exits_tx.clone();
        node.spawn(async move {
            let result = worker(&env, &*app).await;
            drop(guard);
            let summary = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
            let _ = exits.send(Exit::Worker {
                id,
                result: summary,
            });
            result
        })
    }

    /// Waits for the next coordinator or worker exit (crashes are not reported).
    pub async fn next_exit(&self) -> Exit {
        let mut exits = self.inner.exits_rx.lock().await;
        exits
            .recv()
            .await
            .expect("the job holds a sender, so the channel stays open")
    }

    /// True once the coordinator has left.
    pub fn coordinator_exited(&self) -> bool {
        self.inner.coordinator_exited.get()
    }

    /// Waits until the coordinator has left.
    pub async fn wait_for_coordinator(&self) {
        while !self.coordinator_exited() {
            sim::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The job's file store.
    pub fn files(&self) -> &SimFiles {
        &self.inner.files
    }

    /// The simulated network (for its counters).
    pub fn network(&self) -> &Network {
        &self.inner.net
    }

    /// The sorted, non-empty lines of every `mr-out*` file, right now.
    pub fn output_lines(&self) -> Vec<String> {
        let env = SimEnv::standalone(self.inner.files.clone(), 0);
        sorted_output_lines(&env).expect("the simulated store does not fail")
    }
}

/// The sequential reference's sorted output lines for `app` over `inputs`, computed in a
/// store of its own (virtual time passes if the application sleeps).
///
/// # Panics
/// If there is no such application.
pub async fn expected_output<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
    app: &str,
) -> Vec<String> {
    let app = Registry::builtin()
        .get(app)
        .unwrap_or_else(|e| panic!("{e}"));
    let files = SimFiles::new();
    let mut names = Vec::new();
    for (name, contents) in inputs {
        files.write(name, contents.as_bytes());
        names.push(name.to_string());
    }
    let env = SimEnv::standalone(files, 0);
    sequential(&env, &*app, &names, "mr-out-0")
        .await
        .unwrap_or_else(|e| panic!("sequential reference failed: {e}"));
    sorted_output_lines(&env).expect("the simulated store does not fail")
}
