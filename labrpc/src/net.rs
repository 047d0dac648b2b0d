//! The simulated network: client ends, servers, and the faults between them.
//!
//! The model is the original labrpc's. Each [`ClientEnd`] is one caller's line to one server;
//! a test partitions the network by disabling ends. In unreliable mode requests wait 0–27 ms
//! and requests and replies are each lost with probability 1/10. With long reordering, 2/3 of
//! replies arrive 200–2200 ms late (skewed short). A call on a disabled end fails after up to
//! 100 ms, or up to 7 s with long delays. A reply from a server that was deleted or replaced,
//! whose node crashed, or whose end was disabled while the handler ran, is never delivered.
//! [`Network::set_latency`] adds a delay to every request and reply (none by default).
//! Delays are drawn in nanoseconds, so that events of different calls rarely coincide.
//!
//! A request, once sent, belongs to the network: it is delivered (or lost) whatever its caller
//! does next. A caller that stops waiting (a timeout, a crashed client) discards only the
//! reply, and the server may execute a request whose caller has long given up.

use crate::Rpc;
use crate::codec;
use crate::collections::DetHashMap;
use crate::rpc::{Method, MethodId, RpcError, Service, Side};
use crate::sim::search::Fate;
use crate::sim::trace::{Destination, DropReason, What};
use crate::sim::{self, DetRng, Instant, Node};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::ops::Range;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// The name of an end or a server: a string, or a number (`99` and `"99"` are the same name).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(s.into())
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(s.into())
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name(s.as_str().into())
    }
}

macro_rules! name_from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Name {
            fn from(n: $t) -> Name {
                Name(n.to_string().into())
            }
        }
    )*};
}
name_from_integer!(i32, i64, u32, u64, usize);

/// A set of RPC services reachable under one name, running on one node.
pub struct Server {
    node: Node,
    methods: BTreeMap<(&'static str, &'static str), Rc<Method>>,
    count: Cell<u64>,
}

impl Server {
    /// A server whose handlers run as tasks of `node`.
    pub fn new(node: Node) -> Server {
        Server {
            node,
            methods: BTreeMap::new(),
            count: Cell::new(0),
        }
    }

    /// Adds a service's handlers. A later handler for the same method replaces an earlier one.
    pub fn add_service(&mut self, service: Service) {
        for method in service.methods {
            self.methods
                .insert((method.id.service, method.id.method), Rc::new(method));
        }
    }

    /// The node the handlers run on.
    pub fn node(&self) -> Node {
        self.node
    }

    pub(crate) fn lookup<R: Rpc>(&self) -> Result<&Rc<Method>, RpcError> {
        if let Some(method) = self.methods.get(&(R::SERVICE, R::METHOD)) {
            let client = (
                std::any::type_name::<R::Args>(),
                std::any::type_name::<R::Reply>(),
            );
            let server = (method.id.args_type, method.id.reply_type);
            return if client == server {
                Ok(method)
            } else {
                Err(RpcError::WrongType {
                    service: R::SERVICE,
                    method: R::METHOD,
                    server,
                    client,
                })
            };
        }
        let methods: Vec<String> = self
            .methods
            .keys()
            .filter(|(service, _)| *service == R::SERVICE)
            .map(|(_, method)| method.to_string())
            .collect();
        if methods.is_empty() {
            let mut known: Vec<String> = self.methods.keys().map(|(s, _)| s.to_string()).collect();
            known.dedup();
            Err(RpcError::UnknownService {
                service: R::SERVICE,
                method: R::METHOD,
                known,
            })
        } else {
            Err(RpcError::UnknownMethod {
                service: R::SERVICE,
                method: R::METHOD,
                known: methods,
            })
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("node", &self.node)
            .field("methods", &self.methods.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A message the network handed over: a request to its handler, or a reply to its caller.
/// See [`Network::observe`].
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    /// Request or reply.
    pub kind: DeliveryKind,
    /// The call's id (as in the trace).
    pub rpc: u64,
    /// Virtual time of the hand-over.
    pub at: Instant,
    /// The sender's node (the caller's for a request, the server's for a reply).
    pub from: Node,
    /// The receiver's node.
    pub to: Node,
    /// The service of the call (`"Raft"`).
    pub service: &'static str,
    /// The method of the call (`"AppendEntries"`).
    pub method: &'static str,
    /// The encoded request arguments or reply.
    pub bytes: &'a [u8],
}

/// Which half of a call a [`Delivery`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    /// The arguments, handed to the handler.
    Request,
    /// The reply, handed to the caller.
    Reply,
}

impl Delivery<'_> {
    /// True if this is a message of method `R`.
    pub fn is<R: Rpc>(&self) -> bool {
        self.service == R::SERVICE && self.method == R::METHOD
    }

    /// The arguments, if this is a request of method `R`.
    pub fn args<R: Rpc>(&self) -> Option<R::Args> {
        (self.kind == DeliveryKind::Request && self.is::<R>())
            .then(|| codec::decode(self.bytes).ok())
            .flatten()
    }

    /// The reply, if this is a reply of method `R`.
    pub fn reply<R: Rpc>(&self) -> Option<R::Reply> {
        (self.kind == DeliveryKind::Reply && self.is::<R>())
            .then(|| codec::decode(self.bytes).ok())
            .flatten()
    }
}

type Observer = Rc<dyn Fn(&Delivery<'_>)>;

struct EndState {
    enabled: bool,
    deleted: bool,
    server: Option<Name>,
}

struct State {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    /// Every request and reply waits a delay drawn from this range, in nanoseconds.
    latency: Range<u64>,
    shut_down: bool,
    ends: Vec<EndState>,
    /// Looked up by name, never iterated: a hash map, so that a test with a hundred thousand
    /// clients' ends stays cheap.
    end_ids: DetHashMap<Name, usize>,
    servers: BTreeMap<Name, Rc<Server>>,
    total_rpcs: u64,
    total_bytes: u64,
    rng: DetRng,
}

const MS: u64 = 1_000_000;

impl State {
    /// A delay in `0..limit_ms` milliseconds, drawn in nanoseconds.
    fn below_ms(&mut self, limit_ms: u64) -> u64 {
        self.rng.below(limit_ms * MS)
    }

    /// How long a call to an unreachable server takes to fail.
    fn failure_delay(&mut self) -> Duration {
        let limit = if self.long_delays { 7000 } else { 100 };
        Duration::from_nanos(self.below_ms(limit))
    }

    /// The configured latency of one message.
    fn latency(&mut self) -> u64 {
        let Range { start, end } = self.latency;
        start + self.rng.below(end.saturating_sub(start))
    }
}

struct Shared {
    state: RefCell<State>,
    /// Signalled when an end is disabled or a server deleted or replaced, so that calls
    /// waiting on a handler notice at once that its reply can no longer arrive.
    changed: Notify,
    /// Counts those changes: a call whose plan saw the current epoch needs no closer look.
    epoch: Cell<u64>,
    observers: RefCell<Vec<Observer>>,
    /// Observers of requests as they leave their caller (see [`Network::observe_sends`]).
    send_observers: RefCell<Vec<Observer>>,
}

impl Shared {
    fn signal_change(&self) {
        self.epoch.set(self.epoch.get() + 1);
        self.changed.notify_waiters();
    }

    fn observe(&self, delivery: &Delivery<'_>) {
        let observers = self.observers.borrow().clone();
        for observer in observers {
            observer(delivery);
        }
    }

    fn has_observers(&self) -> bool {
        !self.observers.borrow().is_empty()
    }
}

/// The simulated network (`MakeNetwork` of the original). Cloning gives another handle to
/// the same network.
#[derive(Clone)]
pub struct Network {
    shared: Rc<Shared>,
}

/// One caller's line to one server: create with [`Network::make_end`], then
/// [`connect`](Network::connect) and [`enable`](Network::enable) it. Outside a simulation, an
/// end can carry calls over a [`Line`] of another kind (the `realproc` crate's sockets to other
/// processes), with the same typed calls and errors.
#[derive(Clone)]
pub struct ClientEnd {
    line: EndLine,
}

/// What is behind a [`ClientEnd`].
#[derive(Clone)]
enum EndLine {
    /// An end of the simulated network.
    Simulated(SimEnd),
    /// Another way to reach a server (real processes).
    Other(Rc<dyn Line>),
}

/// A way to reach a server other than the simulated network: a socket to another process, or
/// a node's services in this process (the `realproc` crate has both). A [`ClientEnd`] made
/// with [`ClientEnd::from_line`] encodes each call's arguments, hands them to the line with
/// the method's [`MethodId`], and decodes the reply it returns.
pub trait Line {
    /// The end's name (an address, say).
    fn name(&self) -> &Name;

    /// Carries one call: the method and its encoded arguments; returns the encoded reply, or
    /// the error, in the simulated network's terms ([`RpcError::NoReply`] when the server
    /// cannot be reached or does not answer).
    fn call(&self, method: MethodId, args: Vec<u8>) -> LineCall<'_>;
}

/// What [`Line::call`] returns: the encoded reply, or the error, when it comes.
pub type LineCall<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, RpcError>> + 'a>>;

/// An end of the simulated network.
#[derive(Clone)]
struct SimEnd {
    shared: Rc<Shared>,
    id: usize,
    name: Name,
}

/// What the network decided for one call when it was made.
struct Plan {
    rpc: u64,
    epoch: u64,
    route: Route,
    reliable: bool,
    long_reordering: bool,
    /// In search mode: no delays or losses are drawn, the chooser decides.
    search: bool,
}

/// Where a request goes.
enum Route {
    /// Nowhere: the call fails after `delay`.
    Unreachable { delay: Duration, why: DropReason },
    /// The network loses it (on its way to `node`) after `delay`.
    Lost { delay: Duration, node: Node },
    /// To `server` (reached as `name`), after `delay`.
    Deliver {
        server: Rc<Server>,
        name: Name,
        delay: Duration,
    },
}

impl Network {
    /// A reliable network with no ends and no servers.
    ///
    /// # Panics
    /// Outside a simulation.
    pub fn new() -> Network {
        let rng = sim::derived_rng(sim::next_id());
        let network = Network {
            shared: Rc::new(Shared {
                state: RefCell::new(State {
                    reliable: true,
                    long_delays: false,
                    long_reordering: false,
                    latency: 0..0,
                    shut_down: false,
                    ends: Vec::new(),
                    end_ids: DetHashMap::default(),
                    servers: BTreeMap::new(),
                    total_rpcs: 0,
                    total_bytes: 0,
                    rng,
                }),
                changed: Notify::new(),
                epoch: Cell::new(0),
                observers: RefCell::new(Vec::new()),
                send_observers: RefCell::new(Vec::new()),
            }),
        };
        // Servers hold handlers that hold ends into this network: break that cycle when the
        // simulation ends, or every run leaks its cluster (see sim::teardown).
        let shared = Rc::downgrade(&network.shared);
        sim::at_end(move || {
            if let Some(shared) = shared.upgrade() {
                let servers = std::mem::take(&mut shared.state.borrow_mut().servers);
                let observers = std::mem::take(&mut *shared.observers.borrow_mut());
                drop((servers, observers));
            }
        });
        network
    }

    /// Creates an end, disabled and unconnected.
    ///
    /// # Panics
    /// If an end with this name exists.
    pub fn make_end(&self, name: impl Into<Name>) -> ClientEnd {
        let name = name.into();
        let mut state = self.shared.state.borrow_mut();
        assert!(
            !state.end_ids.contains_key(&name),
            "labrpc: an end named {name} already exists"
        );
        let id = state.ends.len();
        state.ends.push(EndState {
            enabled: false,
            deleted: false,
            server: None,
        });
        state.end_ids.insert(name.clone(), id);
        ClientEnd {
            line: EndLine::Simulated(SimEnd {
                shared: self.shared.clone(),
                id,
                name,
            }),
        }
    }

    /// Removes an end: calls on it fail from now on.
    pub fn delete_end(&self, name: impl Into<Name>) {
        let name = name.into();
        {
            let mut state = self.shared.state.borrow_mut();
            if let Some(id) = state.end_ids.remove(&name) {
                state.ends[id].deleted = true;
                state.ends[id].enabled = false;
            }
        }
        self.shared.signal_change();
    }

    fn with_end(&self, name: Name, f: impl FnOnce(&mut EndState)) {
        let mut state = self.shared.state.borrow_mut();
        let id = *state
            .end_ids
            .get(&name)
            .unwrap_or_else(|| panic!("labrpc: no end named {name}"));
        f(&mut state.ends[id]);
    }

    /// Points an end at a server name (the server need not exist yet).
    ///
    /// # Panics
    /// If there is no such end.
    pub fn connect(&self, end: impl Into<Name>, server: impl Into<Name>) {
        let server = server.into();
        self.with_end(end.into(), |e| e.server = Some(server));
    }

    /// Enables or disables an end. Disabling one fails the calls waiting on it.
    ///
    /// # Panics
    /// If there is no such end.
    pub fn enable(&self, end: impl Into<Name>, enabled: bool) {
        self.with_end(end.into(), |e| e.enabled = enabled);
        if !enabled {
            self.shared.signal_change();
        }
    }

    /// Adds a server under `name`, replacing any server of that name.
    pub fn add_server(&self, name: impl Into<Name>, server: Server) {
        let replaced = self
            .shared
            .state
            .borrow_mut()
            .servers
            .insert(name.into(), Rc::new(server));
        if replaced.is_some() {
            self.shared.signal_change();
        }
    }

    /// Removes the server of that name: its pending replies are never delivered.
    pub fn delete_server(&self, name: impl Into<Name>) {
        let removed = self.shared.state.borrow_mut().servers.remove(&name.into());
        if removed.is_some() {
            self.shared.signal_change();
        }
    }

    /// Reliable (the default) or unreliable: short random delays, 10% of requests and 10% of
    /// replies lost.
    pub fn set_reliable(&self, reliable: bool) {
        self.shared.state.borrow_mut().reliable = reliable;
    }

    /// Calls on disabled ends fail after up to 7 s instead of up to 100 ms.
    pub fn set_long_delays(&self, long_delays: bool) {
        self.shared.state.borrow_mut().long_delays = long_delays;
    }

    /// Delays 2/3 of replies by 200–2200 ms, so replies overtake each other.
    pub fn set_long_reordering(&self, long_reordering: bool) {
        self.shared.state.borrow_mut().long_reordering = long_reordering;
    }

    /// Delays every request and every reply by a time drawn uniformly from `latency` with the
    /// network's seeded generator (on top of the unreliable network's delays). The default,
    /// `0..0`, delivers at once. A nonzero latency makes a round trip cost virtual time, so a
    /// client looping "for one second" does a bounded number of calls, and different seeds
    /// interleave the calls differently.
    ///
    /// # Panics
    /// If the range is reversed.
    pub fn set_latency(&self, latency: Range<Duration>) {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let range = nanos(latency.start)..nanos(latency.end);
        assert!(
            range.start <= range.end,
            "labrpc: set_latency needs min <= max, got {latency:?}"
        );
        self.shared.state.borrow_mut().latency = range;
    }

    /// Calls `observer` with every request handed to a handler and every reply handed to its
    /// caller (for invariant checks and pictures of a run). Observers run inside the
    /// simulation, in the order of the deliveries; they see messages, not a lab.
    ///
    /// ```
    /// # labrpc::service! { service Math { rpc Double(u64) -> u64; } }
    /// use labrpc::{sim::{Node, Sim}, Network, Server, Service};
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let seen = Sim::new(1).run(|| async {
    ///     let net = Network::new();
    ///     let seen = Rc::new(RefCell::new(Vec::new()));
    ///     let log = seen.clone();
    ///     net.observe(move |d| {
    ///         log.borrow_mut().extend(d.args::<Double>());
    ///         log.borrow_mut().extend(d.reply::<Double>());
    ///     });
    ///     let mut server = Server::new(Node::new("server"));
    ///     server.add_service(Service::new().handle(Double, |x| async move { 2 * x }));
    ///     net.add_server("server", server);
    ///     let end = net.make_end("client");
    ///     net.connect("client", "server");
    ///     net.enable("client", true);
    ///     end.call::<Double>(&21).await.unwrap();
    ///     seen.take()
    /// });
    /// assert_eq!(seen.unwrap().value, vec![21, 42]);
    /// ```
    pub fn observe(&self, observer: impl Fn(&Delivery<'_>) + 'static) {
        self.shared.observers.borrow_mut().push(Rc::new(observer));
    }

    /// Calls `observer` with every request as it leaves its caller (a [`Delivery`] of kind
    /// [`DeliveryKind::Request`] whose `at` is the send time), before the network decides its
    /// fate. A tester learns there what state the caller was in when it sent the request. Like
    /// [`Network::observe`], it must only read.
    pub fn observe_sends(&self, observer: impl Fn(&Delivery<'_>) + 'static) {
        self.shared
            .send_observers
            .borrow_mut()
            .push(Rc::new(observer));
    }

    /// Number of requests that reached a handler of the server of that name (0 if none).
    pub fn count(&self, server: impl Into<Name>) -> u64 {
        let state = self.shared.state.borrow();
        state
            .servers
            .get(&server.into())
            .map_or(0, |s| s.count.get())
    }

    /// Number of calls handed to the network, delivered or not.
    pub fn total_count(&self) -> u64 {
        self.shared.state.borrow().total_rpcs
    }

    /// Encoded bytes of every request handed to the network plus every reply delivered.
    pub fn total_bytes(&self) -> u64 {
        self.shared.state.borrow().total_bytes
    }

    /// Shuts the network down: later calls fail with [`RpcError::Shutdown`].
    pub fn shutdown(&self) {
        self.shared.state.borrow_mut().shut_down = true;
        self.shared.signal_change();
    }
}

impl Default for Network {
    fn default() -> Self {
        Network::new()
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.borrow();
        f.debug_struct("Network")
            .field("reliable", &state.reliable)
            .field("long_delays", &state.long_delays)
            .field("long_reordering", &state.long_reordering)
            .field("latency", &state.latency)
            .field("ends", &state.ends.len())
            .field("servers", &state.servers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A request on its way to a handler: the network's, not the caller's.
struct Request {
    shared: Rc<Shared>,
    server: Rc<Server>,
    method: Rc<Method>,
    payload: Vec<u8>,
    rpc: u64,
    from: Node,
    reply: oneshot::Sender<Result<Vec<u8>, RpcError>>,
}

impl Request {
    /// Hands the request to a new handler task on the server's node, unless the node is down
    /// (then the reply sender is dropped: the caller sees a crashed server).
    fn deliver(self) {
        let Request {
            shared,
            server,
            method,
            payload,
            rpc,
            from,
            reply,
        } = self;
        if !server.node.is_up() {
            return;
        }
        if shared.has_observers() {
            shared.observe(&Delivery {
                kind: DeliveryKind::Request,
                rpc,
                at: sim::now(),
                from,
                to: server.node,
                service: method.id.service,
                method: method.id.method,
                bytes: &payload,
            });
        }
        let task = (method.handler)(payload, reply);
        if sim::spawn_handler(server.node, method.id.service, method.id.method, task) {
            server.count.set(server.count.get() + 1);
            sim::record(server.node, What::RpcDeliver { rpc });
        }
    }
}

/// How waiting for a handler's reply ended.
enum Waited {
    /// The handler's encoded reply (or a server-side codec error).
    Reply(Result<Vec<u8>, RpcError>),
    /// The reply can no longer be delivered: the end was disabled, the server deleted or
    /// replaced, or the network shut down.
    Dead,
    /// The handler never answered: its node was down or crashed.
    Crashed,
}

impl ClientEnd {
    /// An end whose calls go over `line` (outside a simulation: see [`Line`]).
    pub fn from_line(line: Rc<dyn Line>) -> ClientEnd {
        ClientEnd {
            line: EndLine::Other(line),
        }
    }

    /// The end's name.
    pub fn name(&self) -> &Name {
        match &self.line {
            EndLine::Simulated(end) => &end.name,
            EndLine::Other(line) => line.name(),
        }
    }

    /// Calls method `R` on the server this end is connected to.
    ///
    /// Returns the handler's reply, or [`RpcError::NoReply`] if the network lost the request
    /// or the reply or the server is unreachable (the original's `false`); the other errors
    /// say the call was malformed (unknown method, mismatched types, a value that does not
    /// encode).
    ///
    /// The request is sent when the call is first polled. From then on it is the network's:
    /// dropping the call (a timeout, say) discards the reply, not the request.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # labrpc::service! { service Echo { rpc Shout(String) -> String; } }
    /// use labrpc::{sim::{Node, Sim}, Network, Server, Service};
    ///
    /// let reply = Sim::new(1).run(|| async {
    ///     let net = Network::new();
    ///     let mut server = Server::new(Node::new("server"));
    ///     server.add_service(Service::new().handle(Shout, |s: String| async move { s.to_uppercase() }));
    ///     net.add_server("server", server);
    ///     let end = net.make_end("client");
    ///     net.connect("client", "server");
    ///     net.enable("client", true);
    ///     end.call::<Shout>(&"hi".to_string()).await
    /// });
    /// assert_eq!(reply.unwrap().value.unwrap(), "HI");
    /// ```
    pub async fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        match &self.line {
            EndLine::Simulated(end) => end.call::<R>(args).await,
            // Boxed, so that the simulated call's future stays as small as it was.
            EndLine::Other(line) => Box::pin(call_over::<R>(&**line, args)).await,
        }
    }
}

/// [`ClientEnd::call`] over a [`Line`].
async fn call_over<R: Rpc>(line: &dyn Line, args: &R::Args) -> Result<R::Reply, RpcError> {
    let method = MethodId::of::<R>();
    let payload = codec::encode(args).map_err(|e| method.codec_error(Side::Client, e))?;
    let reply = line.call(method, payload).await?;
    codec::decode(&reply).map_err(|e| method.codec_error(Side::Client, e))
}

impl SimEnd {
    /// [`ClientEnd::call`] on the simulated network.
    async fn call<R: Rpc>(&self, args: &R::Args) -> Result<R::Reply, RpcError> {
        let payload = codec::encode(args).map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        let caller = Node::current();
        let plan = self.plan::<R>(caller, payload.len())?;
        let lost = |why| {
            sim::record(caller, What::RpcDrop { rpc: plan.rpc, why });
            Err(RpcError::NoReply)
        };
        let to = match &plan.route {
            Route::Deliver { server, .. } => Some(server.node),
            Route::Lost { node, .. } => Some(*node),
            Route::Unreachable { .. } => None,
        };
        if let Some(to) = to
            && !self.shared.send_observers.borrow().is_empty()
        {
            let observers = self.shared.send_observers.borrow().clone();
            let sent = Delivery {
                kind: DeliveryKind::Request,
                rpc: plan.rpc,
                at: sim::now(),
                from: caller,
                to,
                service: R::SERVICE,
                method: R::METHOD,
                bytes: &payload,
            };
            for observer in observers {
                observer(&sent);
            }
        }
        let (server, server_name, delay) = match &plan.route {
            Route::Unreachable { delay, why } => {
                sim::sleep(*delay).await;
                return lost(*why);
            }
            Route::Lost { delay, .. } => {
                sim::sleep(*delay).await;
                return lost(DropReason::RequestLost);
            }
            Route::Deliver {
                server,
                name,
                delay,
            } => (server.clone(), name, *delay),
        };

        let (tx, rx) = oneshot::channel();
        let request = Request {
            shared: self.shared.clone(),
            server: server.clone(),
            method: server.lookup::<R>()?.clone(),
            payload,
            rpc: plan.rpc,
            from: caller,
            reply: tx,
        };
        if plan.search {
            // The chooser decides when the request arrives, or that it is lost.
            let held = sim::search::hold(caller, server.node, false, R::SERVICE, R::METHOD);
            sim::spawn_network(
                R::SERVICE,
                R::METHOD,
                Box::pin(async move {
                    match held.await {
                        Fate::Deliver => request.deliver(),
                        Fate::Drop => {
                            sim::record(
                                request.from,
                                What::RpcDrop {
                                    rpc: request.rpc,
                                    why: DropReason::RequestLost,
                                },
                            );
                            let _ = request.reply.send(Err(RpcError::NoReply));
                        }
                    }
                }),
            );
        } else if delay.is_zero() {
            request.deliver();
        } else {
            sim::spawn_network(
                R::SERVICE,
                R::METHOD,
                Box::pin(async move {
                    sim::sleep(delay).await;
                    request.deliver();
                }),
            );
        }

        let reply = match self.wait_for_reply(rx, &plan, &server, server_name).await {
            Waited::Reply(reply) => reply?,
            Waited::Dead => return lost(DropReason::ServerGone),
            Waited::Crashed => {
                // Fail like an absent server, after a delay, so that callers retrying in a
                // loop do not spin in zero time.
                let delay = self.shared.state.borrow_mut().failure_delay();
                sim::sleep(delay).await;
                return lost(DropReason::ServerGone);
            }
        };
        let (reply_lost, delay) = if plan.search {
            let held = sim::search::hold(server.node, caller, true, R::SERVICE, R::METHOD);
            (held.await == Fate::Drop, Duration::ZERO)
        } else {
            let mut state = self.shared.state.borrow_mut();
            let reply_lost = !plan.reliable && state.rng.below(1000) < 100;
            let mut delay = state.latency();
            if !reply_lost && plan.long_reordering && state.rng.below(900) < 600 {
                let spread = state.below_ms(2000) + 1;
                delay += 200 * MS + state.rng.below(spread);
            }
            (reply_lost, Duration::from_nanos(delay))
        };
        if reply_lost {
            return lost(DropReason::ReplyLost);
        }
        if !delay.is_zero() {
            sim::sleep(delay).await;
        }
        self.shared.state.borrow_mut().total_bytes += reply.len() as u64;
        sim::count(0, reply.len() as u64);
        sim::record(
            caller,
            What::RpcReply {
                rpc: plan.rpc,
                bytes: reply.len() as u32,
            },
        );
        if self.shared.has_observers() {
            self.shared.observe(&Delivery {
                kind: DeliveryKind::Reply,
                rpc: plan.rpc,
                at: sim::now(),
                from: server.node,
                to: caller,
                service: R::SERVICE,
                method: R::METHOD,
                bytes: &reply,
            });
        }
        codec::decode(&reply).map_err(|e| RpcError::codec::<R>(Side::Client, e))
    }

    /// Counts the call, decides its fate from the network's state at this moment, and
    /// records it in the trace.
    fn plan<R: Rpc>(&self, caller: Node, bytes: usize) -> Result<Plan, RpcError> {
        let mut state = self.shared.state.borrow_mut();
        if state.shut_down {
            return Err(RpcError::Shutdown);
        }
        state.total_rpcs += 1;
        state.total_bytes += bytes as u64;
        sim::count(1, bytes as u64);
        let search = sim::search::active();
        let end = &state.ends[self.id];
        let name = end.server.clone().filter(|_| end.enabled && !end.deleted);
        let server = name
            .as_ref()
            .and_then(|name| state.servers.get(name).cloned());
        let route = match (server, name) {
            (Some(server), Some(name)) if search => Route::Deliver {
                server,
                name,
                delay: Duration::ZERO,
            },
            (Some(server), Some(name)) => {
                let mut delay = state.latency();
                let mut lost = false;
                if !state.reliable {
                    delay += state.below_ms(27);
                    lost = state.rng.below(1000) < 100;
                }
                let delay = Duration::from_nanos(delay);
                if lost {
                    Route::Lost {
                        delay,
                        node: server.node,
                    }
                } else {
                    Route::Deliver {
                        server,
                        name,
                        delay,
                    }
                }
            }
            _ => {
                let why = if !end.enabled || end.deleted {
                    DropReason::EndDisabled
                } else {
                    DropReason::NoServer
                };
                Route::Unreachable {
                    delay: state.failure_delay(),
                    why,
                }
            }
        };
        let plan = Plan {
            rpc: sim::next_id(),
            epoch: self.shared.epoch.get(),
            reliable: state.reliable,
            long_reordering: state.long_reordering,
            search,
            route,
        };
        let to = match &plan.route {
            Route::Deliver { server, .. } => Destination::Server(server.node),
            Route::Lost { node, .. } => Destination::Lost(*node),
            Route::Unreachable { why, .. } => Destination::Unreachable(*why),
        };
        sim::record(
            caller,
            What::RpcSend {
                rpc: plan.rpc,
                service: R::SERVICE,
                method: R::METHOD,
                to,
                bytes: bytes as u32,
            },
        );
        Ok(plan)
    }

    /// True if a reply from `server` (reached as `name`) can no longer be delivered on this
    /// end.
    fn is_dead(&self, plan: &Plan, server: &Rc<Server>, name: &Name) -> bool {
        if self.shared.epoch.get() == plan.epoch {
            return false;
        }
        let state = self.shared.state.borrow();
        let end = &state.ends[self.id];
        state.shut_down
            || !end.enabled
            || end.deleted
            || !state
                .servers
                .get(name)
                .is_some_and(|s| Rc::ptr_eq(s, server))
    }

    /// Waits for the handler's result, or until it can no longer be delivered.
    async fn wait_for_reply(
        &self,
        rx: oneshot::Receiver<Result<Vec<u8>, RpcError>>,
        plan: &Plan,
        server: &Rc<Server>,
        name: &Name,
    ) -> Waited {
        let mut rx = pin!(rx);
        loop {
            let mut changed = pin!(self.shared.changed.notified());
            changed.as_mut().enable();
            if self.is_dead(plan, server, name) {
                return Waited::Dead;
            }
            let outcome = poll_fn(|cx| {
                if let Poll::Ready(reply) = rx.as_mut().poll(cx) {
                    // An error means the handler's task was dropped: its node crashed.
                    return Poll::Ready(Some(reply.map_or(Waited::Crashed, Waited::Reply)));
                }
                changed.as_mut().poll(cx).map(|()| None)
            })
            .await;
            if let Some(outcome) = outcome {
                if self.is_dead(plan, server, name) {
                    return Waited::Dead;
                }
                return outcome;
            }
        }
    }
}

impl fmt::Debug for ClientEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientEnd({})", self.name())
    }
}
