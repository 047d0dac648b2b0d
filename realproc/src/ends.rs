//! The calling side: client ends to servers in other processes ([`Remote`], [`remote`]) and
//! to a node's services in this process ([`local`]).
//!
//! A call puts its request on a queue and waits for the reply on the executor; one thread per
//! end connects (and reconnects) and writes requests, one thread per connection reads replies
//! and wakes the callers. What can happen to a call is what can happen on the simulated
//! network: [`RpcError::NoReply`] if the server cannot be reached, the connection breaks
//! before the reply, the queue to it is full, or no reply comes within the end's timeout. As
//! there, a request once sent belongs to the network: the server may carry it out although
//! its caller gave up.

use crate::gate::Gate;
use crate::socket::{Address, MAX_FRAME, Stream, WRITE_BATCH, WRITE_TIMEOUT, frame_of, read_frame};
use crate::wire::{Methods, Request, Response, WireError};
use crossbeam_channel::{Receiver, Sender};
use labrpc::codec::{self, CodecError};
use labrpc::sim::{self, Node};
use labrpc::{ClientEnd, Line, LineCall, MethodId, Name, RpcError, Service, Side};
use rustc_hash::FxHashMap;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a call on a remote end waits for its reply before it fails with
/// [`RpcError::NoReply`] (a server that is stopped, or cut off, never answers).
pub const REMOTE_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long connecting to a server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// After a failed connection attempt, calls fail at once for this long (a dead server is not
/// dialled once per call).
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Requests queued for one end's writer: a call beyond this fails at once.
const END_QUEUE: usize = 4096;

/// Requests written on one connection and not answered: beyond this the connection is taken
/// for wedged and replaced.
const END_IN_FLIGHT: usize = 4096;

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

/// What an end's threads share with it.
struct EndState {
    /// Callers waiting for replies.
    pending: Pending,
    /// The caller's durability gate (see the crate docs).
    gate: Gate,
    /// Why the last connection attempt or write failed, if it did.
    last_error: parking_lot::Mutex<Option<String>>,
}

/// A line to a server in another process (see [`Remote::new`]): a queue to the thread that
/// writes to it, and the callers waiting for its replies.
pub struct Remote {
    name: Name,
    timeout: Duration,
    next_id: Cell<u64>,
    state: Arc<EndState>,
    queue: Sender<Outgoing>,
}

/// An end to the server at `address` in another process (see [`Remote::new`]), whose calls
/// wait at most [`REMOTE_CALL_TIMEOUT`] for a reply.
pub fn remote(address: Address, gate: Gate) -> ClientEnd {
    ClientEnd::from_line(Remote::new(address, gate, REMOTE_CALL_TIMEOUT))
}

impl Remote {
    /// A line to the server at `address`, for code on the real-clock executor
    /// ([`RealClock`](labrpc::sim::RealClock)), such as the unchanged Raft and key/value
    /// servers run as processes: make a [`ClientEnd`] of it with [`ClientEnd::from_line`]. It
    /// needs no connect or enable; a thread connects on the first call and reconnects after a
    /// failure. Calls return the simulated network's errors: [`RpcError::NoReply`] when the
    /// server cannot be reached, the connection breaks, or no reply comes within `timeout`.
    /// A reply is handed to its caller once the saves the caller made before sending the
    /// request are durable (`gate`: the caller's persister's, or [`Gate::none`]). Its name is
    /// the address.
    ///
    /// A call panics if it is not made on the real-clock executor (in a simulation, use
    /// [`labrpc::Network::make_end`]).
    pub fn new(address: Address, gate: Gate, timeout: Duration) -> Rc<Remote> {
        let (queue, requests) = crossbeam_channel::bounded(END_QUEUE);
        let state = Arc::new(EndState {
            pending: Pending::default(),
            gate,
            last_error: parking_lot::Mutex::new(None),
        });
        let name = Name::from(address.to_string());
        let for_writer = state.clone();
        // If the thread cannot be started, the queue's receiver is gone and every call fails
        // with NoReply, which is what an unreachable server looks like.
        let _ = thread::Builder::new()
            .name(format!("realproc-end {address}"))
            .spawn(move || write_requests(&address, &requests, &for_writer));
        Rc::new(Remote {
            name,
            timeout,
            next_id: Cell::new(1),
            state,
            queue,
        })
    }

    /// Why the last attempt to connect or write failed (`None` once a write succeeds again).
    pub fn last_error(&self) -> Option<String> {
        self.state.last_error.lock().clone()
    }

    /// Sends one call and waits for its reply (see [`Line::call`]).
    async fn send(&self, method: MethodId, payload: Vec<u8>) -> Result<Vec<u8>, RpcError> {
        assert!(
            sim::on_real_clock(),
            "realproc: a remote end needs the real-clock executor (labrpc::sim::RealClock); \
             in a simulation, use Network::make_end"
        );
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let body = codec::encode(&Request::new(id, method, payload))
            .map_err(|e| method.codec_error(Side::Client, e))?;
        if body.len() > MAX_FRAME {
            let error = CodecError {
                type_name: method.args_type,
                decoding: false,
                detail: format!(
                    "the request is {} bytes, over the transport's limit of {MAX_FRAME}",
                    body.len()
                ),
            };
            return Err(method.codec_error(Side::Client, error));
        }
        let (slot, reply) = oneshot::channel();
        self.state.pending.lock().insert(id, slot);
        // Whatever happens next, the caller stops waiting: forget its slot.
        let _forget = Forget {
            pending: &self.state.pending,
            id,
        };
        let request = Outgoing {
            id,
            frame: frame_of(&body),
            ticket: self.state.gate.ticket(),
        };
        if self.queue.try_send(request).is_err() {
            return Err(RpcError::NoReply);
        }
        match sim::timeout(self.timeout, reply).await {
            Ok(Ok(Ok(reply))) => Ok(reply),
            Ok(Ok(Err(error))) => Err(error.into_rpc_error(method)),
            // The connection broke, or the time ran out.
            Ok(Err(_)) | Err(sim::Elapsed) => Err(RpcError::NoReply),
        }
    }
}

impl Line for Remote {
    fn name(&self) -> &Name {
        &self.name
    }

    fn call(&self, method: MethodId, args: Vec<u8>) -> LineCall<'_> {
        Box::pin(self.send(method, args))
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
fn write_requests(address: &Address, requests: &Receiver<Outgoing>, state: &Arc<EndState>) {
    let pending = &state.pending;
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
            match connect(address, state) {
                Ok(connected) => connection = Some(connected),
                Err(error) => {
                    log::debug!("cannot connect to {address}: {error}");
                    *state.last_error.lock() = Some(format!("connecting to {address}: {error}"));
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
                *state.last_error.lock() = Some(format!("writing to {address}: {error}"));
            }
            fail(pending, batch.iter().map(|r| r.id));
            connection = None;
        } else {
            *state.last_error.lock() = None;
        }
        batch.clear();
    }
}

/// Connects to `address` and starts the thread that reads the replies.
fn connect(address: &Address, state: &Arc<EndState>) -> io::Result<Connection> {
    let stream = Stream::connect(address, CONNECT_TIMEOUT)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let reader = stream.try_clone()?;
    let shared = Arc::new(ConnectionState::default());
    let for_reader = shared.clone();
    let state = state.clone();
    thread::Builder::new()
        .name(format!("realproc-end-reader {address}"))
        .spawn(move || read_replies(reader, &for_reader, &state))?;
    Ok(Connection { stream, shared })
}

/// A connection's reader thread: hands each reply to its caller, once the saves the caller
/// made before sending the request are on disk (the durability gate). When the connection
/// breaks (or sends something malformed), fails the calls still waiting on it.
fn read_replies(mut stream: Stream, shared: &ConnectionState, state: &EndState) {
    let pending = &state.pending;
    while let Ok(Some(frame)) = read_frame(&mut stream) {
        let Ok(response) = codec::decode::<Response>(&frame) else {
            break;
        };
        let ticket = shared.in_flight.lock().remove(&response.id);
        state.gate.wait(ticket.unwrap_or(0));
        if let Some(slot) = pending.lock().remove(&response.id) {
            let _ = slot.send(response.result);
        }
    }
    shared.broken.store(true, Ordering::Release);
    stream.shutdown();
    let in_flight = std::mem::take(&mut *shared.in_flight.lock());
    fail(pending, in_flight.into_keys());
}

/// An end to `services` served by `node` in this very process (real-clock mode): a call
/// runs the handler as a task of `node` and hands its reply back, with no socket and no
/// thread in between (a key/value server's own Redis front end reaches it this way). As
/// with [`ReplyDurability::Immediate`](crate::ReplyDurability::Immediate), a reply does not
/// wait for a durability gate: use it only for services whose handlers answer with what is
/// already durable. Its name is `local:NODE`. A call panics if it is not made on the
/// real-clock executor.
pub fn local(node: Node, services: impl IntoIterator<Item = Service>) -> ClientEnd {
    let mut methods = Methods::default();
    for service in services {
        methods.add(service, ());
    }
    ClientEnd::from_line(Rc::new(Local {
        name: Name::from(format!("local:{}", node.name())),
        node,
        methods,
    }))
}

/// Services of a node of this process, called directly (see [`local`]).
struct Local {
    name: Name,
    node: Node,
    methods: Methods<()>,
}

impl Local {
    /// Calls `method`: the handler runs as a task of the node, as a remote call's would.
    async fn send(&self, id: MethodId, payload: Vec<u8>) -> Result<Vec<u8>, RpcError> {
        assert!(
            sim::on_real_clock(),
            "realproc: a local end needs the real-clock executor (labrpc::sim::RealClock)"
        );
        let (method, ()) = self
            .methods
            .lookup(id.service, id.method, id.args_type, id.reply_type)
            .map_err(|error| error.into_rpc_error(id))?;
        let (task, reply) = method.start(payload);
        if !sim::spawn_handler(self.node, id.service, id.method, task) {
            return Err(RpcError::NoReply);
        }
        match reply.await {
            Ok(result) => result,
            // The handler's task was dropped (its node crashed).
            Err(_) => Err(RpcError::NoReply),
        }
    }
}

impl Line for Local {
    fn name(&self) -> &Name {
        &self.name
    }

    fn call(&self, method: MethodId, args: Vec<u8>) -> LineCall<'_> {
        Box::pin(self.send(method, args))
    }
}
