//! The transport for code on the real-clock executor ([`RealClock`](crate::sim::RealClock)):
//! a node's services served to other processes, and client ends to theirs.
//!
//! The blocking [`Client`](super::Client) and [`serve`](super::serve) run each handler to
//! completion on a thread of their own, which suits MapReduce's coordinator. Raft and the
//! key/value server need more: their handlers wait on the executor's timers and channels, run
//! concurrently, and call other servers while they do. Here, sockets are read and written by
//! threads, and everything else happens in the executor's tasks:
//!
//! - [`serve_on_node`]: one thread accepts connections; per connection, one thread reads
//!   requests and hands them to a task of the node, which starts each call's handler as a task
//!   of its own (as the simulated network does), and one thread writes the replies, in the order
//!   they are ready.
//! - [`ClientEnd::remote`](crate::ClientEnd::remote): a call puts its request on a queue and
//!   waits for the reply on the executor; one thread per end connects (and reconnects) and
//!   writes requests, one thread per connection reads replies and wakes the callers.
//!
//! Frames are the blocking transport's (the two interoperate). Both directions respect the
//! persister's durability gate (see [`Persister`](crate::Persister)): a reply a server sends
//! leaves once the saves made before it are on disk, and a reply a caller receives is handed
//! to it once the saves the caller made before sending its request are on disk. Requests
//! themselves leave at once, so a leader writes its log to disk while its followers write
//! theirs.
//!
//! What can happen to a call is what can happen on the simulated network: [`RpcError::NoReply`]
//! if the server cannot be reached, the connection breaks before the reply, the queue to it is
//! full, or no reply comes within [`REMOTE_CALL_TIMEOUT`]. As there, a request once sent belongs
//! to the network: the server may carry it out although its caller gave up.

use super::{
    Address, Listener, MAX_FRAME, Request, Response, Stream, WireError, lock, lookup, method_table,
    read_frame, to_wire,
};
use crate::codec::{self, CodecError};
use crate::net::{Name, Server};
use crate::persister::gate;
use crate::rpc::{Method, Rpc, RpcError, Service, Side};
use crate::sim::{self, Node};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How long a call on a remote end waits for its reply before it fails with
/// [`RpcError::NoReply`] (a server that is stopped, or cut off, never answers).
pub const REMOTE_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long connecting to a server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// After a failed connection attempt, calls fail at once for this long (a dead server is not
/// dialled once per call).
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// A write that blocks this long (a stopped peer's buffers are full) breaks the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// Requests queued for one end's writer: a call beyond this fails at once.
const END_QUEUE: usize = 4096;

/// Requests written on one connection and not answered: beyond this the connection is taken
/// for wedged and replaced.
const END_IN_FLIGHT: usize = 4096;

/// Frames written in one system call, at most.
const WRITE_BATCH: usize = 64;

/// Connections a node server keeps open at once; more are closed at once.
const SERVER_CONNECTIONS: usize = 256;

/// Requests of one connection being handled at once; its reader waits beyond this.
const SERVER_IN_FLIGHT: usize = 1024;

/// Requests read and waiting for the node's dispatcher task.
const SERVER_QUEUE: usize = 4096;

// ---- the calling side ----

type ReplySlot = oneshot::Sender<Result<Vec<u8>, WireError>>;

/// Callers waiting for replies, by request id.
type Pending = Arc<parking_lot::Mutex<FxHashMap<u64, ReplySlot>>>;

/// One request for an end's writer thread.
struct Outgoing {
    id: u64,
    frame: Vec<u8>,
    /// The durability gate's ticket when the call was made.
    ticket: u64,
}

/// The remote half of a [`ClientEnd`](crate::ClientEnd): a queue to the thread that writes to
/// one server, and the callers waiting for its replies.
pub(crate) struct RemoteEnd {
    name: Name,
    timeout: Duration,
    next_id: std::cell::Cell<u64>,
    pending: Pending,
    queue: Sender<Outgoing>,
}

impl RemoteEnd {
    /// An end to the server at `address`; a thread connects on the first call.
    pub(crate) fn new(address: Address, timeout: Duration) -> RemoteEnd {
        let (queue, requests) = crossbeam_channel::bounded(END_QUEUE);
        let pending = Pending::default();
        let name = Name::from(address.to_string());
        let for_writer = pending.clone();
        // If the thread cannot be started, the queue's receiver is gone and every call fails
        // with NoReply, which is what an unreachable server looks like.
        let _ = thread::Builder::new()
            .name(format!("labrpc-end {address}"))
            .spawn(move || write_requests(&address, &requests, &for_writer));
        RemoteEnd {
            name,
            timeout,
            next_id: std::cell::Cell::new(1),
            pending,
            queue,
        }
    }

    pub(crate) fn name(&self) -> &Name {
        &self.name
    }

    /// Calls `R` on the server (see [`ClientEnd::call`](crate::ClientEnd::call)).
    pub(crate) async fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        assert!(
            sim::on_real_clock(),
            "labrpc: a remote ClientEnd needs the real-clock executor (labrpc::sim::RealClock); \
             in a simulation, use Network::make_end"
        );
        let payload = codec::encode(args).map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let body = codec::encode(&Request::new::<R>(id, payload))
            .map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        if body.len() > MAX_FRAME {
            let error = CodecError {
                type_name: std::any::type_name::<R::Args>(),
                decoding: false,
                detail: format!(
                    "the request is {} bytes, over the transport's limit of {MAX_FRAME}",
                    body.len()
                ),
            };
            return Err(RpcError::codec::<R>(Side::Client, error));
        }
        let (slot, reply) = oneshot::channel();
        self.pending.lock().insert(id, slot);
        // Whatever happens next, the caller stops waiting: forget its slot.
        let _forget = Forget {
            pending: &self.pending,
            id,
        };
        let request = Outgoing {
            id,
            frame: frame_of(&body),
            ticket: gate::ticket(),
        };
        if self.queue.try_send(request).is_err() {
            return Err(RpcError::NoReply);
        }
        match sim::timeout(self.timeout, reply).await {
            Ok(Ok(Ok(reply))) => {
                codec::decode(&reply).map_err(|e| RpcError::codec::<R>(Side::Client, e))
            }
            Ok(Ok(Err(error))) => Err(error.into_rpc_error::<R>()),
            // The connection broke, or the time ran out.
            Ok(Err(_)) | Err(sim::Elapsed) => Err(RpcError::NoReply),
        }
    }
}

/// Removes a caller's slot when its call ends, however it ends.
struct Forget<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.id);
    }
}

/// A frame: the 4-byte little-endian length, then `body`.
fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(body);
    frame
}

/// One connection of an end: the writing half and what its reader shares.
struct Connection {
    stream: Stream,
    shared: Arc<ConnectionState>,
}

#[derive(Default)]
struct ConnectionState {
    /// Requests written and not answered yet, with their durability tickets.
    in_flight: parking_lot::Mutex<BTreeMap<u64, u64>>,
    broken: AtomicBool,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Ends the reader too, which fails the calls still waiting on this connection.
        self.stream.shutdown();
    }
}

/// Tells the callers of these requests that no reply will come.
fn fail(pending: &Pending, ids: impl IntoIterator<Item = u64>) {
    let mut pending = pending.lock();
    for id in ids {
        pending.remove(&id);
    }
}

/// An end's writer thread: connects when needed and writes the queued requests, in batches.
/// Ends when the end is dropped.
fn write_requests(address: &Address, requests: &Receiver<Outgoing>, pending: &Pending) {
    let mut connection: Option<Connection> = None;
    let mut failed_at: Option<Instant> = None;
    let mut batch = Vec::new();
    let mut bytes = Vec::new();
    while let Ok(first) = requests.recv() {
        batch.push(first);
        while batch.len() < WRITE_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        if connection
            .as_ref()
            .is_some_and(|c| c.shared.broken.load(Ordering::Acquire))
        {
            connection = None;
        }
        if connection.is_none() {
            if failed_at.is_some_and(|at| at.elapsed() < RECONNECT_PAUSE) {
                fail(pending, batch.drain(..).map(|r| r.id));
                continue;
            }
            match connect(address, pending) {
                Ok(connected) => connection = Some(connected),
                Err(error) => {
                    log::debug!("cannot connect to {address}: {error}");
                    failed_at = Some(Instant::now());
                    fail(pending, batch.drain(..).map(|r| r.id));
                    continue;
                }
            }
        }
        let Some(current) = connection.as_mut() else {
            continue;
        };
        let wedged = {
            let mut in_flight = current.shared.in_flight.lock();
            in_flight.extend(batch.iter().map(|r| (r.id, r.ticket)));
            in_flight.len() > END_IN_FLIGHT
        };
        bytes.clear();
        for request in &batch {
            bytes.extend_from_slice(&request.frame);
        }
        let written = current
            .stream
            .write_all(&bytes)
            .and_then(|()| current.stream.flush());
        if wedged || written.is_err() {
            if let Err(error) = written {
                log::debug!("writing to {address}: {error}");
            }
            fail(pending, batch.iter().map(|r| r.id));
            connection = None;
        }
        batch.clear();
    }
}

/// Connects to `address` and starts the thread that reads the replies.
fn connect(address: &Address, pending: &Pending) -> io::Result<Connection> {
    let stream = Stream::connect(address, CONNECT_TIMEOUT)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let reader = stream.try_clone()?;
    let shared = Arc::new(ConnectionState::default());
    let for_reader = shared.clone();
    let pending = pending.clone();
    thread::Builder::new()
        .name(format!("labrpc-end-reader {address}"))
        .spawn(move || read_replies(reader, &for_reader, &pending))?;
    Ok(Connection { stream, shared })
}

/// A connection's reader thread: hands each reply to its caller, once the saves the caller
/// made before sending the request are on disk (the durability gate). When the connection
/// breaks (or sends something malformed), fails the calls still waiting on it.
fn read_replies(mut stream: Stream, shared: &ConnectionState, pending: &Pending) {
    while let Ok(Some(frame)) = read_frame(&mut stream) {
        let Ok(response) = codec::decode::<Response>(&frame) else {
            break;
        };
        let ticket = shared.in_flight.lock().remove(&response.id);
        gate::wait(ticket.unwrap_or(0));
        if let Some(slot) = pending.lock().remove(&response.id) {
            let _ = slot.send(response.result);
        }
    }
    shared.broken.store(true, Ordering::Release);
    stream.shutdown();
    let in_flight = std::mem::take(&mut *shared.in_flight.lock());
    fail(pending, in_flight.into_keys());
}

// ---- in-process ----

/// The in-process half of a [`ClientEnd`](crate::ClientEnd): services of a node of this
/// process, called directly.
pub(crate) struct LocalEnd {
    name: Name,
    server: Server,
}

impl LocalEnd {
    pub(crate) fn new(server: Server) -> LocalEnd {
        let name = Name::from(format!("local:{}", server.node().name()));
        LocalEnd { name, server }
    }

    pub(crate) fn name(&self) -> &Name {
        &self.name
    }

    /// Calls `R`: the handler runs as a task of the server's node, as a remote call's would.
    pub(crate) async fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        assert!(
            sim::on_real_clock(),
            "labrpc: a local ClientEnd needs the real-clock executor (labrpc::sim::RealClock)"
        );
        let payload = codec::encode(args).map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        let method = self.server.lookup::<R>()?;
        let (slot, reply) = oneshot::channel();
        let task = (method.handler)(payload, slot);
        if !sim::spawn_handler(self.server.node(), method.service, method.name, task) {
            return Err(RpcError::NoReply);
        }
        match reply.await {
            Ok(Ok(reply)) => {
                codec::decode(&reply).map_err(|e| RpcError::codec::<R>(Side::Client, e))
            }
            Ok(Err(error)) => Err(error),
            // The handler's task was dropped (its node crashed).
            Err(_) => Err(RpcError::NoReply),
        }
    }
}

// ---- the serving side ----

/// When the replies of a served service may leave the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyDurability {
    /// Once every save made before the reply is on disk: what Raft's replies need (a vote or
    /// an acknowledgement of entries must survive a crash). The default.
    AfterSaves,
    /// At once: for services whose handlers only answer with what a majority already holds
    /// on disk, like the key/value server of a group of two servers or more, which replies
    /// once its operation is committed (such a commit rests only on durable saves: see
    /// [`Persister`](crate::Persister)). Saves the wait for the server's next write, which its
    /// later, unrelated saves started. Not for a group of one: a lone Raft peer commits as it
    /// appends, before its write is done.
    Immediate,
}

/// A reply for a connection's writer thread.
struct Reply {
    id: u64,
    result: Result<Vec<u8>, WireError>,
    /// The durability gate's ticket when the handler finished.
    ticket: u64,
}

/// A request read from a connection, for the node's dispatcher task.
struct Job {
    request: Request,
    replies: Sender<Reply>,
    /// The request's place in its connection's in-flight budget, given back when dropped.
    permit: Permit,
}

/// One place in a connection's budget of requests in flight: the reader puts a token in a
/// bounded channel before it hands a request over (and waits while it is full); dropping the
/// permit takes one out.
struct Permit(Receiver<()>);

impl Drop for Permit {
    fn drop(&mut self) {
        let _ = self.0.try_recv();
    }
}

struct ServerState {
    stopping: AtomicBool,
    count: AtomicU64,
    /// Requests for the dispatcher task; `None` once stopped.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    connections: Mutex<BTreeMap<u64, Stream>>,
    next_connection: AtomicU64,
}

/// Services served to other processes from a node of the real-clock executor (see
/// [`serve_on_node`]). Dropping it stops serving.
pub struct NodeServer {
    state: Arc<ServerState>,
    address: Address,
    accept: Option<thread::JoinHandle<()>>,
}

/// Serves `services` at `address` (their replies [`ReplyDurability::AfterSaves`]), running
/// each call's handler as a task of the current node, as the simulated network does. Call it from code on the real-clock executor
/// ([`RealClock`](crate::sim::RealClock)): the services stay on its thread (they need not be
/// `Send`). For TCP, port 0 picks a free port ([`NodeServer::address`] tells which); a Unix
/// socket path is handled as [`serve`](super::serve) does.
///
/// Replies leave in the order their handlers finish, each once the saves made before it are
/// on disk (the persister's durability gate). Malformed input closes that connection only.
pub fn serve_on_node(
    address: &Address,
    services: impl IntoIterator<Item = Service>,
) -> io::Result<NodeServer> {
    let services = services
        .into_iter()
        .map(|service| (service, ReplyDurability::AfterSaves));
    serve_on_node_with(address, services)
}

/// [`serve_on_node`], saying for each service when its replies may leave.
pub fn serve_on_node_with(
    address: &Address,
    services: impl IntoIterator<Item = (Service, ReplyDurability)>,
) -> io::Result<NodeServer> {
    if !sim::on_real_clock() {
        return Err(io::Error::other(
            "labrpc: serve_on_node needs the real-clock executor (labrpc::sim::RealClock)",
        ));
    }
    let mut immediate = BTreeMap::new();
    let services: Vec<Service> = services
        .into_iter()
        .map(|(service, durability)| {
            for method in &service.methods {
                let key = (method.service.to_string(), method.name.to_string());
                immediate.insert(key, durability == ReplyDurability::Immediate);
            }
            service
        })
        .collect();
    let methods = method_table(services);
    let methods: BTreeMap<(String, String), (Method, bool)> = methods
        .into_iter()
        .map(|(key, method)| {
            let at_once = immediate.get(&key).copied().unwrap_or(false);
            (key, (method, at_once))
        })
        .collect();
    let (listener, address) = Listener::bind(address)?;
    let (jobs, incoming) = mpsc::channel(SERVER_QUEUE);
    let state = Arc::new(ServerState {
        stopping: AtomicBool::new(false),
        count: AtomicU64::new(0),
        jobs: Mutex::new(Some(jobs)),
        connections: Mutex::new(BTreeMap::new()),
        next_connection: AtomicU64::new(0),
    });
    let node = Node::current();
    node.spawn(dispatch_jobs(node, methods, incoming, state.clone()));
    let for_accept = state.clone();
    let accept = thread::Builder::new()
        .name(format!("labrpc-accept {address}"))
        .spawn(move || accept_connections(&for_accept, &listener))?;
    Ok(NodeServer {
        state,
        address,
        accept: Some(accept),
    })
}

/// The node's dispatcher task: starts the handler of each request as a task of the node.
async fn dispatch_jobs(
    node: Node,
    methods: BTreeMap<(String, String), (Method, bool)>,
    mut incoming: mpsc::Receiver<Job>,
    state: Arc<ServerState>,
) {
    let (methods, immediate): (BTreeMap<_, _>, BTreeMap<_, _>) = methods
        .into_iter()
        .map(|(key, (method, at_once))| ((key.clone(), method), (key, at_once)))
        .unzip();
    while let Some(job) = incoming.recv().await {
        let Job {
            request,
            replies,
            permit,
        } = job;
        let id = request.id;
        let method = match lookup(&methods, &request) {
            Ok(method) => method,
            Err(error) => {
                let _ = replies.send(Reply {
                    id,
                    result: Err(error),
                    ticket: gate::ticket(),
                });
                continue;
            }
        };
        state.count.fetch_add(1, Ordering::Relaxed);
        let key = (request.service.clone(), request.method.clone());
        let at_once = immediate.get(&key).copied().unwrap_or(false);
        let (slot, reply) = oneshot::channel();
        let handler = (method.handler)(request.payload, slot);
        let (service, name) = (method.service, method.name);
        let task = Box::pin(async move {
            handler.await;
            // A finished handler has replied; only a labrpc bug would leave the slot empty.
            let result = reply.await.unwrap_or(Err(RpcError::Shutdown));
            let _ = replies.send(Reply {
                id,
                result: to_wire(result),
                ticket: if at_once { 0 } else { gate::ticket() },
            });
            drop(permit);
        });
        // A handler whose node is down never runs: its caller times out, as in a crash.
        sim::spawn_handler(node, service, name, task);
    }
}

/// The accept thread: one reader and one writer thread per connection.
fn accept_connections(state: &Arc<ServerState>, listener: &Listener) {
    loop {
        let stream = listener.accept();
        if state.stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors, say: back off rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let open = lock(&state.connections).len();
        if open >= SERVER_CONNECTIONS {
            log::warn!("refusing a connection: {open} are open already");
            stream.shutdown();
            continue;
        }
        if let Err(error) = start_connection(state, stream) {
            log::warn!("cannot serve a connection: {error}");
        }
    }
}

fn start_connection(state: &Arc<ServerState>, stream: Stream) -> io::Result<()> {
    let id = state.next_connection.fetch_add(1, Ordering::Relaxed);
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let writer = stream.try_clone()?;
    lock(&state.connections).insert(id, stream.try_clone()?);
    let (replies, to_write) = crossbeam_channel::unbounded();
    let (permits, returned) = crossbeam_channel::bounded(SERVER_IN_FLIGHT);
    let for_reader = state.clone();
    let reader = thread::Builder::new()
        .name("labrpc-node-reader".into())
        .spawn(move || {
            read_requests(&for_reader, stream, &replies, &permits, &returned);
            if let Some(stream) = lock(&for_reader.connections).remove(&id) {
                stream.shutdown();
            }
        });
    if let Err(error) = reader {
        if let Some(stream) = lock(&state.connections).remove(&id) {
            stream.shutdown();
        }
        return Err(error);
    }
    thread::Builder::new()
        .name("labrpc-node-writer".into())
        .spawn(move || write_replies(writer, &to_write))?;
    Ok(())
}

/// A connection's reader: hands each request to the dispatcher, at most
/// [`SERVER_IN_FLIGHT`] at a time. Malformed input ends the connection.
fn read_requests(
    state: &ServerState,
    mut stream: Stream,
    replies: &Sender<Reply>,
    permits: &Sender<()>,
    returned: &Receiver<()>,
) {
    while let Ok(Some(frame)) = read_frame(&mut stream) {
        if state.stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(request) = codec::decode::<Request>(&frame) else {
            return;
        };
        // Blocks while the connection has SERVER_IN_FLIGHT requests in the node's hands.
        if permits.send(()).is_err() {
            return;
        }
        let job = Job {
            request,
            replies: replies.clone(),
            permit: Permit(returned.clone()),
        };
        let Some(jobs) = lock(&state.jobs).clone() else {
            return;
        };
        if jobs.blocking_send(job).is_err() {
            return;
        }
    }
}

/// A connection's writer: writes the replies as they come, each once the saves made before it
/// are on disk, several per system call when several are ready.
fn write_replies(mut stream: Stream, to_write: &Receiver<Reply>) {
    let mut bytes = Vec::new();
    while let Ok(first) = to_write.recv() {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match to_write.try_recv() {
                Ok(reply) => batch.push(reply),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        gate::wait(batch.iter().map(|r| r.ticket).max().unwrap_or(0));
        bytes.clear();
        for reply in batch {
            let response = Response {
                id: reply.id,
                result: reply.result,
            };
            match codec::encode(&response) {
                Ok(body) if body.len() <= MAX_FRAME => bytes.extend_from_slice(&frame_of(&body)),
                // A reply over the limit cannot be sent: its caller times out.
                _ => log::warn!("dropping a reply of {} bytes or more", MAX_FRAME),
            }
        }
        if stream
            .write_all(&bytes)
            .and_then(|()| stream.flush())
            .is_err()
        {
            stream.shutdown();
            return;
        }
    }
}

impl NodeServer {
    /// Where the server listens (for TCP with port 0, the port it got).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Number of requests that reached a handler.
    pub fn count(&self) -> u64 {
        self.state.count.load(Ordering::Relaxed)
    }

    /// Stops accepting and closes every connection (calls in progress get no reply).
    /// Idempotent; dropping the server does the same.
    pub fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.state.stopping.store(true, Ordering::Release);
        // Wake the accept thread with a connection of our own.
        let _ = Stream::connect(&self.address, Duration::from_secs(1));
        let _ = accept.join();
        for stream in lock(&self.state.connections).values() {
            stream.shutdown();
        }
        lock(&self.state.jobs).take();
        if let Address::Unix(path) = &self.address {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for NodeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeServer")
            .field("address", &self.address)
            .field("count", &self.count())
            .finish()
    }
}
