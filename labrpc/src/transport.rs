//! A real transport for the typed services: the same [`Service`] and [`Rpc`] declarations,
//! served to other processes over a Unix-domain socket or loopback TCP.
//!
//! The simulated [`Network`](crate::Network) is for graded tests; this module is for labs that
//! also run as real processes (the MapReduce coordinator and its workers). It uses threads and
//! the real clock, so never use it inside a simulation, and handlers served with it must not
//! use [`sim`](crate::sim) timers.
//!
//! - [`serve`] starts an [`RpcServer`]: one thread accepts connections, one thread per
//!   connection reads requests and writes replies, and one dispatcher thread owns the services
//!   and runs their handlers, one request at a time (so services, like simulated ones, need
//!   not be `Send` or `Sync`).
//! - For code on the real-clock executor ([`RealClock`](crate::sim::RealClock)), whose
//!   handlers wait on timers and call other servers: [`serve_on_node`] runs each call's handler
//!   as a task of a node, and [`ClientEnd::remote`](crate::ClientEnd::remote) is the calling
//!   side; both apply the persister's durability gate (see [`serve_on_node`] and
//!   [`Persister`](crate::Persister)).
//! - [`Client::call`] is a blocking typed call with a timeout, returning the same
//!   [`RpcError`]s as the simulated network: [`RpcError::NoReply`] when the server cannot be
//!   reached, closes the connection or does not answer in time; the other variants when the
//!   server has no such service or method, the two sides disagree on the types, or a value does
//!   not decode.
//!
//! Wire format: every message is one frame, a 4-byte little-endian length followed by that
//! many bytes of [`codec`]-encoded data. A request carries an id, the service and method
//! names, the argument and reply type names the caller uses, and the encoded arguments; the
//! reply carries the id and either the encoded reply or an error. A frame that is too long or
//! does not decode closes the connection; the server itself carries on.
//!
//! ```
//! use labrpc::transport::{self, Address, Client};
//! use labrpc::Service;
//!
//! labrpc::service! {
//!     service Math {
//!         /// Adds two numbers.
//!         rpc Add((u64, u64)) -> u64;
//!     }
//! }
//!
//! let dir = std::env::temp_dir().join(format!("labrpc-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let address = Address::Unix(dir.join("math.sock"));
//! let server = transport::serve(&address, || {
//!     [Service::new().handle(Add, |(a, b)| async move { a + b })]
//! })
//! .unwrap();
//! let client = Client::new(server.address().clone());
//! assert_eq!(client.call::<Add>(&(2, 3)), Ok(5));
//! drop(server);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::codec::{self, CodecError};
use crate::rpc::{Method, Rpc, RpcError, Service, Side};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

mod node;
pub(crate) use node::{LocalEnd, RemoteEnd};
pub use node::{
    NodeServer, REMOTE_CALL_TIMEOUT, ReplyDurability, serve_on_node, serve_on_node_with,
};

/// Frames longer than this are refused (the codec's own decode limit).
pub const MAX_FRAME: usize = 256 << 20;

/// How long [`Client::call`] waits for a reply unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A Unix-domain socket at this path.
    Unix(PathBuf),
    /// A TCP address, `host:port` (port 0 when serving picks a free port).
    Tcp(String),
}

impl Address {
    /// Parses `tcp:HOST:PORT` as TCP and anything else (optionally prefixed `unix:`) as the
    /// path of a Unix-domain socket.
    pub fn parse(text: &str) -> Address {
        if let Some(tcp) = text.strip_prefix("tcp:") {
            Address::Tcp(tcp.to_string())
        } else {
            Address::Unix(PathBuf::from(text.strip_prefix("unix:").unwrap_or(text)))
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// A connected socket of either kind.
pub(crate) enum Stream {
    #[cfg(unix)]
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    pub(crate) fn connect(address: &Address, timeout: Duration) -> io::Result<Stream> {
        match address {
            #[cfg(unix)]
            Address::Unix(path) => UnixStream::connect(path).map(Stream::Unix),
            #[cfg(not(unix))]
            Address::Unix(path) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "unix:{}: Unix-domain sockets need a Unix system",
                    path.display()
                ),
            )),
            Address::Tcp(host) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                for addr in host.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, timeout) {
                        Ok(stream) => {
                            stream.set_nodelay(true)?;
                            return Ok(Stream::Tcp(stream));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.try_clone().map(Stream::Unix),
            Stream::Tcp(s) => s.try_clone().map(Stream::Tcp),
        }
    }

    pub(crate) fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }

    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.set_write_timeout(timeout),
            Stream::Tcp(s) => s.set_write_timeout(timeout),
        }
    }

    pub(crate) fn shutdown(&self) {
        let _ = match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// One call, as sent.
#[derive(Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) service: String,
    pub(crate) method: String,
    pub(crate) args_type: String,
    pub(crate) reply_type: String,
    pub(crate) payload: Vec<u8>,
}

impl Request {
    /// The request of call `id` of method `R` with these encoded arguments.
    pub(crate) fn new<R: Rpc>(id: u64, payload: Vec<u8>) -> Request {
        Request {
            id,
            service: R::SERVICE.to_string(),
            method: R::METHOD.to_string(),
            args_type: std::any::type_name::<R::Args>().to_string(),
            reply_type: std::any::type_name::<R::Reply>().to_string(),
            payload,
        }
    }
}

/// One reply, as sent.
#[derive(Serialize, Deserialize)]
pub(crate) struct Response {
    pub(crate) id: u64,
    pub(crate) result: Result<Vec<u8>, WireError>,
}

/// The server-side errors of [`RpcError`], in a form that crosses the wire.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum WireError {
    UnknownService {
        known: Vec<String>,
    },
    UnknownMethod {
        known: Vec<String>,
    },
    WrongType {
        args: String,
        reply: String,
    },
    Codec {
        type_name: String,
        decoding: bool,
        detail: String,
    },
}

impl WireError {
    pub(crate) fn into_rpc_error<R: Rpc>(self) -> RpcError {
        match self {
            WireError::UnknownService { known } => RpcError::UnknownService {
                service: R::SERVICE,
                method: R::METHOD,
                known,
            },
            WireError::UnknownMethod { known } => RpcError::UnknownMethod {
                service: R::SERVICE,
                method: R::METHOD,
                known,
            },
            WireError::WrongType { args, reply } => RpcError::WrongType {
                service: R::SERVICE,
                method: R::METHOD,
                server: (intern(args), intern(reply)),
                client: (
                    std::any::type_name::<R::Args>(),
                    std::any::type_name::<R::Reply>(),
                ),
            },
            WireError::Codec {
                type_name,
                decoding,
                detail,
            } => RpcError::Codec {
                service: R::SERVICE,
                method: R::METHOD,
                side: Side::Server,
                error: CodecError {
                    type_name: intern(type_name),
                    decoding,
                    detail,
                },
            },
        }
    }
}

/// A `'static` copy of a type name received from a server (each distinct name is leaked once,
/// so the memory is bounded by the number of distinct names).
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = lock(&NAMES);
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write_frame(stream: &mut Stream, body: &[u8]) -> io::Result<()> {
    if body.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes is over the limit", body.len()),
        ));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(body);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream (between frames).
pub(crate) fn read_frame(stream: &mut Stream) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match stream.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit"),
        ));
    }
    // Grown as the bytes arrive: a header alone cannot make the server allocate the frame.
    let mut body = Vec::with_capacity(len.min(64 << 10));
    Read::by_ref(stream)
        .take(len as u64)
        .read_to_end(&mut body)?;
    if body.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(body))
}

/// Runs a future to completion on the current thread, sleeping while it waits.
///
/// For real processes only (a handler's future on a connection thread, a worker's main loop):
/// inside a simulation, await instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unparker(thread::Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        thread::park();
    }
}

pub(crate) enum Listener {
    #[cfg(unix)]
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// One request for the dispatcher thread, and where its outcome goes (`None` when the
/// handler panicked).
type Job = (
    Request,
    crossbeam_channel::Sender<Option<Result<Vec<u8>, WireError>>>,
);

struct Inner {
    /// Requests for the dispatcher; `None` once the server stops.
    jobs: Mutex<Option<crossbeam_channel::Sender<Job>>>,
    stopping: AtomicBool,
    count: AtomicU64,
    connections: Mutex<BTreeMap<u64, Stream>>,
    next_connection: AtomicU64,
}

/// A running server (see [`serve`]). Dropping it stops the server and removes its socket file.
pub struct RpcServer {
    inner: Arc<Inner>,
    address: Address,
    accept: Option<thread::JoinHandle<()>>,
    dispatcher: Option<thread::JoinHandle<()>>,
}

/// Checks that [`serve`] may use `address`: a Unix socket path must be free or hold a socket.
/// Something else at that path (a regular file, a directory, a link) is someone's data, and a
/// typo in a path must not delete it: this fails with [`io::ErrorKind::AlreadyExists`].
/// (A program can call it before starting anything, to fail early.)
pub fn check_address(address: &Address) -> io::Result<()> {
    #[cfg(unix)]
    if let Address::Unix(path) = address
        && let Ok(metadata) = std::fs::symlink_metadata(path)
    {
        use std::os::unix::fs::FileTypeExt as _;
        if !metadata.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket: refusing to replace it (choose another \
                     socket path)",
                    path.display()
                ),
            ));
        }
    }
    let _ = address;
    Ok(())
}

/// Serves the services `make_services` returns at `address` until the returned
/// [`RpcServer`] is dropped or [`shut down`](RpcServer::shutdown). The services are made on the
/// server's dispatcher thread and live there; their handlers run there one request at a time,
/// so a handler that blocks holds up every other call (as in the simulation: don't block).
///
/// For a Unix socket, a stale socket file left by a dead server is removed first; if a live
/// server answers at that path, this fails with [`io::ErrorKind::AddrInUse`]; a path that is
/// not a socket is never removed. For TCP, port 0 picks a free port: [`RpcServer::address`]
/// tells which.
pub fn serve<F, I>(address: &Address, make_services: F) -> io::Result<RpcServer>
where
    F: FnOnce() -> I + Send + 'static,
    I: IntoIterator<Item = Service>,
{
    let (listener, address) = Listener::bind(address)?;
    let (jobs, incoming) = crossbeam_channel::unbounded::<Job>();
    let inner = Arc::new(Inner {
        jobs: Mutex::new(Some(jobs)),
        stopping: AtomicBool::new(false),
        count: AtomicU64::new(0),
        connections: Mutex::new(BTreeMap::new()),
        next_connection: AtomicU64::new(0),
    });
    let dispatcher_inner = inner.clone();
    let dispatcher = thread::Builder::new()
        .name("labrpc-dispatch".into())
        .spawn(move || {
            let methods = method_table(make_services());
            for (request, reply) in incoming {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    dispatch(&dispatcher_inner, &methods, request)
                }));
                let _ = reply.send(outcome.ok());
            }
        })?;
    let accept_inner = inner.clone();
    let accept = thread::Builder::new()
        .name("labrpc-accept".into())
        .spawn(move || accept_loop(&accept_inner, listener))?;
    Ok(RpcServer {
        inner,
        address,
        accept: Some(accept),
        dispatcher: Some(dispatcher),
    })
}

impl Listener {
    /// Binds `address`; returns the listener and the address it really listens on.
    pub(crate) fn bind(address: &Address) -> io::Result<(Listener, Address)> {
        match address {
            #[cfg(unix)]
            Address::Unix(path) => {
                remove_stale_socket(path)?;
                Ok((
                    Listener::Unix(UnixListener::bind(path)?),
                    Address::Unix(path.clone()),
                ))
            }
            #[cfg(not(unix))]
            Address::Unix(path) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "unix:{}: Unix-domain sockets need a Unix system; use tcp:HOST:PORT",
                    path.display()
                ),
            )),
            Address::Tcp(host) => {
                let listener = TcpListener::bind(host.as_str())?;
                let local = listener.local_addr()?;
                Ok((Listener::Tcp(listener), Address::Tcp(local.to_string())))
            }
        }
    }
}

impl Listener {
    /// Waits for the next connection.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        match self {
            #[cfg(unix)]
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
        }
    }
}

/// Removes a socket file left at `path` by a dead server. Refuses if a live server answers
/// there, and never removes anything that is not a socket (see [`check_address`]).
#[cfg(unix)]
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    check_address(&Address::Unix(path.to_path_buf()))?;
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a server is already listening on {}", path.display()),
        ));
    }
    std::fs::remove_file(path)
}

fn accept_loop(inner: &Arc<Inner>, listener: Listener) {
    loop {
        let stream = listener.accept();
        if inner.stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors, say: back off rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let id = inner.next_connection.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            lock(&inner.connections).insert(id, clone);
        }
        let conn_inner = inner.clone();
        let spawned = thread::Builder::new()
            .name("labrpc-conn".into())
            .spawn(move || {
                serve_connection(&conn_inner, stream);
                lock(&conn_inner.connections).remove(&id);
            });
        if spawned.is_err()
            && let Some(stream) = lock(&inner.connections).remove(&id)
        {
            stream.shutdown();
        }
    }
}

/// Answers requests on one connection until it closes or sends something malformed.
fn serve_connection(inner: &Inner, mut stream: Stream) {
    let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
    while let Ok(Some(body)) = read_frame(&mut stream) {
        if inner.stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(request) = codec::decode::<Request>(&body) else {
            return;
        };
        let id = request.id;
        let Some(jobs) = lock(&inner.jobs).clone() else {
            return;
        };
        if jobs.send((request, reply_tx.clone())).is_err() {
            return;
        }
        // A handler that panics gets no reply (its caller sees a dead server).
        let Ok(Some(result)) = reply_rx.recv() else {
            return;
        };
        let Ok(body) = codec::encode(&Response { id, result }) else {
            return;
        };
        if write_frame(&mut stream, &body).is_err() {
            return;
        }
    }
}

fn dispatch(
    inner: &Inner,
    methods: &BTreeMap<(String, String), Method>,
    request: Request,
) -> Result<Vec<u8>, WireError> {
    let method = lookup(methods, &request)?;
    inner.count.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    block_on((method.handler)(request.payload, tx));
    let result = rx.try_recv().unwrap_or(Err(RpcError::Shutdown)); // unreachable: a finished handler task replies
    to_wire(result)
}

/// The method a request names, if the server has it with the caller's types.
pub(crate) fn lookup<'a>(
    methods: &'a BTreeMap<(String, String), Method>,
    request: &Request,
) -> Result<&'a Method, WireError> {
    let key = (request.service.clone(), request.method.clone());
    let Some(method) = methods.get(&key) else {
        let of_service: Vec<String> = methods
            .keys()
            .filter(|(service, _)| *service == key.0)
            .map(|(_, method)| method.clone())
            .collect();
        return Err(if of_service.is_empty() {
            let mut known: Vec<String> = methods.keys().map(|(s, _)| s.clone()).collect();
            known.dedup();
            WireError::UnknownService { known }
        } else {
            WireError::UnknownMethod { known: of_service }
        });
    };
    if (method.args_type, method.reply_type) != (&request.args_type, &request.reply_type) {
        return Err(WireError::WrongType {
            args: method.args_type.to_string(),
            reply: method.reply_type.to_string(),
        });
    }
    Ok(method)
}

/// A handler's outcome as it crosses the wire.
pub(crate) fn to_wire(result: Result<Vec<u8>, RpcError>) -> Result<Vec<u8>, WireError> {
    match result {
        Ok(reply) => Ok(reply),
        Err(RpcError::Codec { error, .. }) => Err(WireError::Codec {
            type_name: error.type_name.to_string(),
            decoding: error.decoding,
            detail: error.detail,
        }),
        // Handlers only fail to codec; anything else would be a labrpc bug.
        Err(other) => Err(WireError::Codec {
            type_name: "?".to_string(),
            decoding: false,
            detail: other.to_string(),
        }),
    }
}

/// The services' methods by (service, method) name.
pub(crate) fn method_table(
    services: impl IntoIterator<Item = Service>,
) -> BTreeMap<(String, String), Method> {
    let mut methods = BTreeMap::new();
    for service in services {
        for method in service.methods {
            methods.insert(
                (method.service.to_string(), method.name.to_string()),
                method,
            );
        }
    }
    methods
}

impl RpcServer {
    /// Where the server listens (for TCP with port 0, the port it got).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Number of requests that reached a handler.
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes every connection, and removes the socket file. Calls in
    /// progress get no reply. Idempotent; dropping the server does the same.
    pub fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.inner.stopping.store(true, Ordering::Release);
        // Wake the accept thread with a connection of our own.
        let _ = Stream::connect(&self.address, Duration::from_secs(1));
        let _ = accept.join();
        for stream in lock(&self.inner.connections).values() {
            stream.shutdown();
        }
        // Closing the job channel ends the dispatcher once the request it runs is answered.
        lock(&self.inner.jobs).take();
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.join();
        }
        if let Address::Unix(path) = &self.address {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for RpcServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcServer")
            .field("address", &self.address)
            .field("count", &self.count())
            .finish()
    }
}

/// The calling side: typed, blocking calls to one server address.
///
/// The client keeps one connection open and reconnects when it breaks, so a server that
/// restarts at the same address is reached again. Calls from several threads are serialised.
pub struct Client {
    address: Address,
    timeout: Duration,
    connection: Mutex<Option<Stream>>,
    next_id: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Client {
    /// A client of the server at `address`; it connects on the first call.
    pub fn new(address: Address) -> Client {
        Client {
            address,
            timeout: DEFAULT_TIMEOUT,
            connection: Mutex::new(None),
            next_id: AtomicU64::new(1),
            last_error: Mutex::new(None),
        }
    }

    /// Sets how long a call waits for its reply (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// The server's address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Why the last failed call got no reply, in the operating system's words
    /// (`"connecting to unix:/tmp/x.sock: No such file or directory"`), if it failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Calls method `R` and waits for the reply, at most the client's timeout.
    ///
    /// [`RpcError::NoReply`] means the server could not be reached, closed the connection
    /// (it crashed, or its handler panicked) or did not answer in time: the handler may or may
    /// not have run. The other errors are the same as on the simulated network.
    pub fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        let payload = codec::encode(args).map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = Request::new::<R>(id, payload);
        let body = codec::encode(&request).map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        let mut connection = lock(&self.connection);
        let result = self.exchange(&mut connection, id, &body);
        let response = match result {
            Ok(response) => {
                *lock(&self.last_error) = None;
                response
            }
            Err(error) => {
                *connection = None;
                *lock(&self.last_error) = Some(error);
                return Err(RpcError::NoReply);
            }
        };
        drop(connection);
        match response.result {
            Ok(reply) => codec::decode(&reply).map_err(|e| RpcError::codec::<R>(Side::Client, e)),
            Err(error) => Err(error.into_rpc_error::<R>()),
        }
    }

    /// Sends one request and reads its reply, (re)connecting if needed.
    fn exchange(
        &self,
        connection: &mut Option<Stream>,
        id: u64,
        body: &[u8],
    ) -> Result<Response, String> {
        let deadline = Instant::now() + self.timeout;
        let stream = match connection {
            Some(stream) => stream,
            None => {
                let stream = Stream::connect(&self.address, self.timeout)
                    .map_err(|e| format!("connecting to {}: {e}", self.address))?;
                connection.insert(stream)
            }
        };
        let io = |e: io::Error| format!("talking to {}: {e}", self.address);
        stream.set_timeouts(Some(self.timeout)).map_err(io)?;
        write_frame(stream, body).map_err(io)?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "{}: no reply within {:?}",
                    self.address, self.timeout
                ));
            }
            stream.set_timeouts(Some(left)).map_err(io)?;
            let frame = read_frame(stream)
                .map_err(io)?
                .ok_or_else(|| format!("{} closed the connection", self.address))?;
            let response: Response = codec::decode(&frame)
                .map_err(|e| format!("{} sent a malformed reply: {e}", self.address))?;
            // A reply to an earlier call that timed out is skipped.
            if response.id == id {
                return Ok(response);
            }
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::service! {
        service Kv {
            /// Echoes a string.
            rpc Echo(String) -> String;
            /// Sleeps that many milliseconds (blocking the connection thread), then answers.
            rpc Slow(u64) -> u64;
            /// Panics.
            rpc Boom(()) -> ();
        }
    }

    crate::service! {
        service Other {
            /// Not served.
            rpc Missing(()) -> ();
        }
    }

    mod wrong {
        crate::service! {
            service Kv {
                /// Same name as `Kv.Echo`, different argument type.
                rpc Echo(u64) -> String;
                /// A method the server lacks.
                rpc Nope(()) -> ();
            }
        }
    }

    fn kv_service() -> Service {
        Service::new()
            .handle(Echo, |s: String| async move { s })
            .handle(Slow, |ms: u64| {
                thread::sleep(Duration::from_millis(ms));
                async move { ms }
            })
            .handle(Boom, |()| -> std::future::Ready<()> {
                panic!("handler panicked on purpose")
            })
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir()
                .join(format!("labrpc-transport-{}-{name}", std::process::id()));
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

    fn raw_connect(address: &Address) -> Stream {
        Stream::connect(address, Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn round_trip_unix_and_tcp() {
        let dir = TempDir::new("round-trip");
        for address in [dir.socket(), Address::Tcp("127.0.0.1:0".into())] {
            let server = serve(&address, || [kv_service()]).unwrap();
            let client = Client::new(server.address().clone());
            for i in 0..20 {
                assert_eq!(
                    client.call::<Echo>(&format!("hi {i}")),
                    Ok(format!("hi {i}"))
                );
            }
            assert_eq!(server.count(), 20);
        }
    }

    #[test]
    fn errors_match_the_simulated_network() {
        let dir = TempDir::new("errors");
        let server = serve(&dir.socket(), || [kv_service()]).unwrap();
        let client = Client::new(server.address().clone());
        match client.call::<Missing>(&()) {
            Err(RpcError::UnknownService { service, known, .. }) => {
                assert_eq!(service, "Other");
                assert_eq!(known, vec!["Kv".to_string()]);
            }
            other => panic!("expected UnknownService, got {other:?}"),
        }
        match client.call::<wrong::Nope>(&()) {
            Err(RpcError::UnknownMethod { method, known, .. }) => {
                assert_eq!(method, "Nope");
                assert_eq!(known, vec!["Boom", "Echo", "Slow"]);
            }
            other => panic!("expected UnknownMethod, got {other:?}"),
        }
        match client.call::<wrong::Echo>(&7) {
            Err(RpcError::WrongType { server, client, .. }) => {
                assert_eq!(server.0, "alloc::string::String");
                assert_eq!(client.0, "u64");
            }
            other => panic!("expected WrongType, got {other:?}"),
        }
        // Still usable after errors.
        assert_eq!(client.call::<Echo>(&"ok".into()), Ok("ok".into()));
        // A panicking handler closes the connection: no reply, and the server survives.
        assert_eq!(client.call::<Boom>(&()), Err(RpcError::NoReply));
        assert_eq!(client.call::<Echo>(&"again".into()), Ok("again".into()));
    }

    #[test]
    fn server_side_decode_error_is_a_codec_error() {
        let dir = TempDir::new("codec");
        let server = serve(&dir.socket(), || [kv_service()]).unwrap();
        let mut stream = raw_connect(server.address());
        let request = Request {
            id: 9,
            service: "Kv".into(),
            method: "Echo".into(),
            args_type: std::any::type_name::<String>().into(),
            reply_type: std::any::type_name::<String>().into(),
            payload: vec![0xff, 0xff, 0xff],
        };
        write_frame(&mut stream, &codec::encode(&request).unwrap()).unwrap();
        let response: Response = codec::decode(&read_frame(&mut stream).unwrap().unwrap()).unwrap();
        assert_eq!(response.id, 9);
        let error = response.result.unwrap_err().into_rpc_error::<Echo>();
        match &error {
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
        assert!(error.to_string().contains("Kv.Echo"), "{error}");
    }

    #[test]
    fn malformed_bytes_close_the_connection_not_the_server() {
        let dir = TempDir::new("malformed");
        let server = serve(&dir.socket(), || [kv_service()]).unwrap();
        let garbage: [&[u8]; 4] = [
            // A length prefix far over the limit.
            &[0xff, 0xff, 0xff, 0x7f, 1, 2, 3],
            // A frame whose body is not a request.
            &[3, 0, 0, 0, 0xde, 0xad, 0xbe],
            // A truncated header, then end of stream.
            &[5, 0],
            // A frame that promises more than it sends.
            &[100, 0, 0, 0, 1, 2, 3],
        ];
        for bytes in garbage {
            let mut stream = raw_connect(server.address());
            stream.write_all(bytes).unwrap();
            stream.set_timeouts(Some(Duration::from_secs(5))).unwrap();
            if bytes.len() < 6 || bytes[0] == 100 {
                // Half-close so the server sees the end of stream mid-frame.
                if let Stream::Unix(s) = &stream {
                    s.shutdown(Shutdown::Write).unwrap();
                }
            }
            let mut rest = Vec::new();
            // The server closes the connection without replying.
            assert_eq!(stream.read_to_end(&mut rest).unwrap_or(0), 0);
        }
        let client = Client::new(server.address().clone());
        assert_eq!(client.call::<Echo>(&"alive".into()), Ok("alive".into()));
    }

    #[test]
    fn unreachable_server_and_timeouts_are_no_reply() {
        let dir = TempDir::new("unreachable");
        let client = Client::new(dir.socket()).with_timeout(Duration::from_millis(300));
        assert_eq!(client.call::<Echo>(&"x".into()), Err(RpcError::NoReply));
        let why = client.last_error().unwrap();
        assert!(why.contains("connecting to unix:"), "{why}");

        let server = serve(&dir.socket(), || [kv_service()]).unwrap();
        assert_eq!(client.call::<Echo>(&"x".into()), Ok("x".into()));
        assert_eq!(client.last_error(), None);
        let started = Instant::now();
        assert_eq!(client.call::<Slow>(&1500), Err(RpcError::NoReply));
        assert!(started.elapsed() < Duration::from_millis(1400));
        // Handlers run one at a time: once the slow one has answered, its late reply waits
        // on the connection, and must not be mistaken for the next call's.
        std::thread::sleep(Duration::from_millis(1500).saturating_sub(started.elapsed()) * 2);
        assert_eq!(client.call::<Slow>(&1), Ok(1));
        drop(server);
        assert_eq!(client.call::<Echo>(&"x".into()), Err(RpcError::NoReply));
    }

    #[test]
    fn stale_socket_is_replaced_but_a_live_one_is_not() {
        let dir = TempDir::new("stale");
        let path = dir.0.join("s.sock");
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let mut server = serve(&dir.socket(), || [kv_service()]).unwrap();
        let second = serve(&dir.socket(), || [kv_service()]);
        assert_eq!(second.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        server.shutdown();
        assert!(!path.exists(), "shutdown removes the socket file");
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_never_removed() {
        let dir = TempDir::new("not-a-socket");
        let path = dir.0.join("s.sock");
        std::fs::write(&path, "precious").unwrap();
        let Err(error) = serve(&dir.socket(), || [kv_service()]) else {
            panic!("a regular file was replaced by a socket");
        };
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert!(error.to_string().contains("is not a socket"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        std::fs::create_dir(dir.0.join("d")).unwrap();
        let Err(error) = serve(&Address::Unix(dir.0.join("d")), || [kv_service()]) else {
            panic!("a directory was replaced by a socket");
        };
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert!(dir.0.join("d").is_dir());
    }

    #[test]
    fn concurrent_clients() {
        let dir = TempDir::new("concurrent");
        let server = serve(&dir.socket(), || [kv_service()]).unwrap();
        let address = server.address().clone();
        thread::scope(|scope| {
            for t in 0..4 {
                let address = address.clone();
                scope.spawn(move || {
                    let client = Client::new(address);
                    for i in 0..50 {
                        let text = format!("{t}-{i}");
                        assert_eq!(client.call::<Echo>(&text), Ok(text.clone()));
                    }
                });
            }
        });
        assert_eq!(server.count(), 200);
    }

    #[test]
    fn address_parsing() {
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
