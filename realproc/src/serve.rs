//! The serving side: a node's services served to other processes ([`serve_on_node`]).
//!
//! One thread accepts connections; per connection, one thread reads requests and hands them to
//! a task of the node, which starts each call's handler as a task of its own (as the simulated
//! network does), and one thread writes the replies, in the order they are ready.

use crate::gate::Gate;
use crate::socket::{
    Address, Listener, MAX_FRAME, Stream, WRITE_BATCH, WRITE_TIMEOUT, frame_of, read_frame,
};
use crate::wire::{Methods, Request, Response, WireError, to_wire};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use labrpc::codec;
use labrpc::sim::{self, Node};
use labrpc::{RpcError, Service};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;
use tokio::sync::mpsc;

/// Connections a node server keeps open at once; more are closed at once.
const SERVER_CONNECTIONS: usize = 256;

/// Requests of one connection being handled at once; its reader waits beyond this.
const SERVER_IN_FLIGHT: usize = 1024;

/// Requests read and waiting for the node's dispatcher task.
const SERVER_QUEUE: usize = 4096;

/// When the replies of a served service may leave the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyDurability {
    /// Once every save made before the reply is on disk: what Raft's replies need (a vote or
    /// an acknowledgement of entries must survive a crash). The default.
    AfterSaves,
    /// At once: for services whose handlers only answer with what a majority already holds
    /// on disk, like the key/value server of a group of two servers or more, which replies
    /// once its operation is committed (such a commit rests only on durable saves: see the
    /// crate docs). Saves the wait for the server's next write, which its
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
    /// The durability gate the replies wait for.
    gate: Gate,
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
/// each call's handler as a task of the current node, as the simulated network does. Call it
/// from code on the real-clock executor ([`RealClock`](labrpc::sim::RealClock)): the services
/// stay on its thread (they need not be `Send`). For TCP, port 0 picks a free port
/// ([`NodeServer::address`] tells which). For a Unix socket, a stale socket file left by a
/// dead server is removed first; if a live server answers at that path, this fails with
/// [`io::ErrorKind::AddrInUse`]; a path that is not a socket is never removed
/// ([`io::ErrorKind::AlreadyExists`]).
///
/// Replies leave in the order their handlers finish, each once the saves made before it are
/// durable (`gate`: the node's persister's files, or [`Gate::none`]). Malformed input closes
/// that connection only.
pub fn serve_on_node(
    address: &Address,
    services: impl IntoIterator<Item = Service>,
    gate: Gate,
) -> io::Result<NodeServer> {
    let services = services
        .into_iter()
        .map(|service| (service, ReplyDurability::AfterSaves));
    serve_on_node_with(address, services, gate)
}

/// [`serve_on_node`], saying for each service when its replies may leave.
pub fn serve_on_node_with(
    address: &Address,
    services: impl IntoIterator<Item = (Service, ReplyDurability)>,
    gate: Gate,
) -> io::Result<NodeServer> {
    if !sim::on_real_clock() {
        return Err(io::Error::other(
            "realproc: serve_on_node needs the real-clock executor (labrpc::sim::RealClock)",
        ));
    }
    let mut methods = Methods::default();
    for (service, durability) in services {
        methods.add(service, durability == ReplyDurability::Immediate);
    }
    let (listener, address) = Listener::bind(address)?;
    let (jobs, incoming) = mpsc::channel(SERVER_QUEUE);
    let state = Arc::new(ServerState {
        stopping: AtomicBool::new(false),
        count: AtomicU64::new(0),
        jobs: Mutex::new(Some(jobs)),
        connections: Mutex::new(BTreeMap::new()),
        next_connection: AtomicU64::new(0),
        gate,
    });
    let node = Node::current();
    node.spawn(dispatch_jobs(node, methods, incoming, state.clone()));
    let for_accept = state.clone();
    let accept = thread::Builder::new()
        .name(format!("realproc-accept {address}"))
        .spawn(move || accept_connections(&for_accept, &listener))?;
    Ok(NodeServer {
        state,
        address,
        accept: Some(accept),
    })
}

/// The node's dispatcher task: starts the handler of each request as a task of the node.
/// (Each method is kept with whether its replies leave at once.)
async fn dispatch_jobs(
    node: Node,
    methods: Methods<bool>,
    mut incoming: mpsc::Receiver<Job>,
    state: Arc<ServerState>,
) {
    while let Some(job) = incoming.recv().await {
        let Job {
            request,
            replies,
            permit,
        } = job;
        let id = request.id;
        let (method, at_once) = match methods.lookup(
            &request.service,
            &request.method,
            &request.args_type,
            &request.reply_type,
        ) {
            Ok(found) => found,
            Err(error) => {
                let _ = replies.send(Reply {
                    id,
                    result: Err(error),
                    ticket: state.gate.ticket(),
                });
                continue;
            }
        };
        state.count.fetch_add(1, Ordering::Relaxed);
        let at_once = *at_once;
        let (handler, reply) = method.start(request.payload);
        let method = method.id();
        let gate = state.gate.clone();
        let task = Box::pin(async move {
            handler.await;
            // A finished handler has replied; only a labrpc bug would leave the slot empty.
            let result = reply.await.unwrap_or(Err(RpcError::Shutdown));
            let _ = replies.send(Reply {
                id,
                result: to_wire(result),
                ticket: if at_once { 0 } else { gate.ticket() },
            });
            drop(permit);
        });
        // A handler whose node is down never runs: its caller times out, as in a crash.
        sim::spawn_handler(node, method.service, method.method, task);
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
        .name("realproc-node-reader".into())
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
    let gate = state.gate.clone();
    thread::Builder::new()
        .name("realproc-node-writer".into())
        .spawn(move || write_replies(writer, &to_write, &gate))?;
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
fn write_replies(mut stream: Stream, to_write: &Receiver<Reply>, gate: &Gate) {
    let mut bytes = Vec::new();
    while let Ok(first) = to_write.recv() {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match to_write.try_recv() {
                Ok(reply) => batch.push(reply),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        gate.wait(batch.iter().map(|r| r.ticket).max().unwrap_or(0));
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

/// Locks a mutex, whatever a panicking holder left (the state stays consistent: each holder
/// makes one change).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::write_frame;
    use labrpc::sim::RealClock;
    use labrpc::{ClientEnd, MethodId, Side};
    use std::io::Read;
    use std::net::Shutdown;
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;

    labrpc::service! {
        service Kv {
            /// Echoes a string.
            rpc Echo(String) -> String;
        }
    }

    fn kv_service() -> Service {
        Service::new().handle(Echo, |s: String| async move { s })
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("realproc-serve-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
        fn socket(&self) -> Address {
            Address::Unix(self.0.join("s.sock"))
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `body` on the real-clock executor.
    fn on_real_clock<F, Fut>(body: F) -> Fut::Output
    where
        F: FnOnce() -> Fut + 'static,
        Fut: std::future::Future + 'static,
    {
        RealClock::new(1).run(body).unwrap()
    }

    #[test]
    fn round_trip_over_unix_and_tcp() {
        let dir = TempDir::new("round-trip");
        for address in [dir.socket(), Address::Tcp("127.0.0.1:0".into())] {
            let count = on_real_clock(move || async move {
                let server = serve_on_node(&address, [kv_service()], Gate::none()).unwrap();
                let end = crate::remote(server.address().clone(), Gate::none());
                for i in 0..20 {
                    let text = format!("hi {i}");
                    assert_eq!(end.call::<Echo>(&text).await, Ok(text));
                }
                server.count()
            });
            assert_eq!(count, 20);
        }
    }

    #[test]
    fn a_stale_socket_is_replaced_a_live_one_and_other_files_never() {
        let dir = TempDir::new("stale");
        let path = dir.0.join("s.sock");
        drop(UnixListener::bind(&path).unwrap());
        let socket = dir.socket();
        let for_run = socket.clone();
        on_real_clock(move || async move {
            let mut server = serve_on_node(&for_run, [kv_service()], Gate::none()).unwrap();
            let second = serve_on_node(&for_run, [kv_service()], Gate::none());
            assert_eq!(second.unwrap_err().kind(), io::ErrorKind::AddrInUse);
            server.shutdown();
        });
        assert!(!path.exists(), "shutdown removes the socket file");
        std::fs::write(&path, "precious").unwrap();
        std::fs::create_dir(dir.0.join("d")).unwrap();
        let directory = Address::Unix(dir.0.join("d"));
        on_real_clock(move || async move {
            for address in [socket, directory] {
                let Err(error) = serve_on_node(&address, [kv_service()], Gate::none()) else {
                    panic!("{address} was replaced by a socket");
                };
                assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
                assert!(error.to_string().contains("is not a socket"), "{error}");
            }
        });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        assert!(dir.0.join("d").is_dir());
    }

    #[test]
    fn a_server_side_decode_error_is_a_codec_error_and_garbage_closes_only_its_connection() {
        let dir = TempDir::new("codec");
        let address = dir.socket();
        on_real_clock(move || async move {
            let server = serve_on_node(&address, [kv_service()], Gate::none()).unwrap();
            let address = server.address().clone();
            let raw = std::thread::spawn(move || {
                let mut stream = Stream::connect(&address, Duration::from_secs(5)).unwrap();
                let id = MethodId::of::<Echo>();
                let request = Request::new(9, id, vec![0xff, 0xff, 0xff]);
                write_frame(&mut stream, &codec::encode(&request).unwrap()).unwrap();
                let response: Response =
                    codec::decode(&read_frame(&mut stream).unwrap().unwrap()).unwrap();
                assert_eq!(response.id, 9);
                let error = response.result.unwrap_err().into_rpc_error(id);
                let garbage: [&[u8]; 4] = [
                    &[0xff, 0xff, 0xff, 0x7f, 1, 2, 3],
                    &[3, 0, 0, 0, 0xde, 0xad, 0xbe],
                    &[5, 0],
                    &[100, 0, 0, 0, 1, 2, 3],
                ];
                for bytes in garbage {
                    let mut stream = Stream::connect(&address, Duration::from_secs(5)).unwrap();
                    stream.write_all(bytes).unwrap();
                    stream.set_timeouts(Some(Duration::from_secs(5))).unwrap();
                    if let Stream::Unix(s) = &stream {
                        // The end of stream, mid-frame for the short ones.
                        s.shutdown(Shutdown::Write).unwrap();
                    }
                    let mut rest = Vec::new();
                    assert_eq!(stream.read_to_end(&mut rest).unwrap_or(0), 0);
                }
                error
            });
            while !raw.is_finished() {
                sim::sleep(Duration::from_millis(5)).await;
            }
            match raw.join().unwrap() {
                RpcError::Codec {
                    side: Side::Server,
                    error,
                    ..
                } => {
                    assert!(error.decoding);
                    assert_eq!(error.type_name, "alloc::string::String");
                }
                other => panic!("expected a server codec error, got {other:?}"),
            }
            let end: ClientEnd = crate::remote(server.address().clone(), Gate::none());
            assert_eq!(end.call::<Echo>(&"alive".into()).await, Ok("alive".into()));
        });
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(
            Address::parse("tcp:127.0.0.1:80"),
            Address::Tcp("127.0.0.1:80".into())
        );
        assert_eq!(
            Address::parse("unix:/tmp/x"),
            Address::Unix("/tmp/x".into())
        );
        assert_eq!(Address::parse("/tmp/y"), Address::Unix("/tmp/y".into()));
        assert_eq!(Address::parse("/tmp/y").to_string(), "unix:/tmp/y");
    }
}
