//! The simulated network: client ends, servers, and the faults between them.
//!
//! The model is the original labrpc's. Each [`ClientEnd`] is one caller's line to one server;
//! a test partitions the network by disabling ends. In unreliable mode requests wait 0–26 ms
//! and requests and replies are each lost with probability 1/10. With long reordering, 2/3 of
//! replies arrive 200–2200 ms late (skewed short). A call on a disabled end fails after up to
//! 100 ms, or up to 7 s with long delays. A reply from a server that was deleted or replaced,
//! whose node crashed, or whose end was disabled while the handler ran, is never delivered.

use crate::Rpc;
use crate::codec;
use crate::rpc::{Method, RpcError, Service, Side};
use crate::sim::trace::{DropReason, What};
use crate::sim::{self, DetRng, Node};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    methods: BTreeMap<(&'static str, &'static str), Method>,
    count: AtomicU64,
}

impl Server {
    /// A server whose handlers run as tasks of `node`.
    pub fn new(node: Node) -> Server {
        Server {
            node,
            methods: BTreeMap::new(),
            count: AtomicU64::new(0),
        }
    }

    /// Adds a service's handlers. A later handler for the same method replaces an earlier one.
    pub fn add_service(&mut self, service: Service) {
        for method in service.methods {
            self.methods.insert((method.service, method.name), method);
        }
    }

    /// The node the handlers run on.
    pub fn node(&self) -> Node {
        self.node
    }

    fn lookup<R: Rpc>(&self) -> Result<&Method, RpcError> {
        if let Some(method) = self.methods.get(&(R::SERVICE, R::METHOD)) {
            let client = (
                std::any::type_name::<R::Args>(),
                std::any::type_name::<R::Reply>(),
            );
            let server = (method.args_type, method.reply_type);
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

struct EndState {
    enabled: bool,
    deleted: bool,
    server: Option<Name>,
}

struct State {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    shut_down: bool,
    ends: Vec<EndState>,
    end_ids: BTreeMap<Name, usize>,
    servers: BTreeMap<Name, Arc<Server>>,
    total_rpcs: u64,
    total_bytes: u64,
    rng: DetRng,
}

impl State {
    /// How long a call to an unreachable server takes to fail.
    fn failure_delay(&mut self) -> Duration {
        let limit = if self.long_delays { 7000 } else { 100 };
        millis_below(&mut self.rng, limit)
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when an end is disabled or a server deleted or replaced, so that calls
    /// waiting on a handler notice at once that its reply can no longer arrive.
    changed: Notify,
    /// Counts those changes: a call whose plan saw the current epoch needs no closer look.
    epoch: AtomicU64,
}

impl Shared {
    fn signal_change(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
    }
}

/// The simulated network (`MakeNetwork` of the original). Cloning gives another handle to
/// the same network.
#[derive(Clone)]
pub struct Network {
    shared: Arc<Shared>,
}

/// One caller's line to one server: create with [`Network::make_end`], then
/// [`connect`](Network::connect) and [`enable`](Network::enable) it.
#[derive(Clone)]
pub struct ClientEnd {
    shared: Arc<Shared>,
    id: usize,
    name: Name,
}

/// What the network decided for one call when it was made.
struct Plan {
    rpc: u64,
    epoch: u64,
    server: Option<Arc<Server>>,
    server_name: Option<Name>,
    reliable: bool,
    long_reordering: bool,
    /// When the call has no server to go to: how long it takes to fail, and why.
    failure: (Duration, DropReason),
}

impl Network {
    /// A reliable network with no ends and no servers.
    ///
    /// # Panics
    /// Outside a simulation.
    pub fn new() -> Network {
        let rng = sim::derived_rng(sim::next_id());
        let network = Network {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    reliable: true,
                    long_delays: false,
                    long_reordering: false,
                    shut_down: false,
                    ends: Vec::new(),
                    end_ids: BTreeMap::new(),
                    servers: BTreeMap::new(),
                    total_rpcs: 0,
                    total_bytes: 0,
                    rng,
                }),
                changed: Notify::new(),
                epoch: AtomicU64::new(0),
            }),
        };
        // Servers hold handlers that hold ends into this network: break that cycle when the
        // simulation ends, or every run leaks its cluster (see sim::teardown).
        let shared = Arc::downgrade(&network.shared);
        sim::at_end(move || {
            if let Some(shared) = shared.upgrade() {
                let servers = std::mem::take(&mut shared.state.lock().servers);
                drop(servers);
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
        let mut state = self.shared.state.lock();
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
            shared: self.shared.clone(),
            id,
            name,
        }
    }

    /// Removes an end: calls on it fail from now on.
    pub fn delete_end(&self, name: impl Into<Name>) {
        let name = name.into();
        let mut state = self.shared.state.lock();
        if let Some(id) = state.end_ids.remove(&name) {
            state.ends[id].deleted = true;
            state.ends[id].enabled = false;
        }
        drop(state);
        self.shared.signal_change();
    }

    fn with_end(&self, name: Name, f: impl FnOnce(&mut EndState)) {
        let mut state = self.shared.state.lock();
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
            .lock()
            .servers
            .insert(name.into(), Arc::new(server));
        if replaced.is_some() {
            self.shared.signal_change();
        }
    }

    /// Removes the server of that name: its pending replies are never delivered.
    pub fn delete_server(&self, name: impl Into<Name>) {
        let removed = self.shared.state.lock().servers.remove(&name.into());
        if removed.is_some() {
            self.shared.signal_change();
        }
    }

    /// Reliable (the default) or unreliable: short random delays, 10% of requests and 10% of
    /// replies lost.
    pub fn set_reliable(&self, reliable: bool) {
        self.shared.state.lock().reliable = reliable;
    }

    /// Calls on disabled ends fail after up to 7 s instead of up to 100 ms.
    pub fn set_long_delays(&self, long_delays: bool) {
        self.shared.state.lock().long_delays = long_delays;
    }

    /// Delays 2/3 of replies by 200–2200 ms, so replies overtake each other.
    pub fn set_long_reordering(&self, long_reordering: bool) {
        self.shared.state.lock().long_reordering = long_reordering;
    }

    /// Number of requests that reached a handler of the server of that name (0 if none).
    pub fn count(&self, server: impl Into<Name>) -> u64 {
        let state = self.shared.state.lock();
        state
            .servers
            .get(&server.into())
            .map_or(0, |s| s.count.load(Ordering::Relaxed))
    }

    /// Number of calls handed to the network, delivered or not.
    pub fn total_count(&self) -> u64 {
        self.shared.state.lock().total_rpcs
    }

    /// Encoded bytes of every request handed to the network plus every reply delivered.
    pub fn total_bytes(&self) -> u64 {
        self.shared.state.lock().total_bytes
    }

    /// Shuts the network down: later calls fail with [`RpcError::Shutdown`].
    pub fn shutdown(&self) {
        self.shared.state.lock().shut_down = true;
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
        let state = self.shared.state.lock();
        f.debug_struct("Network")
            .field("reliable", &state.reliable)
            .field("long_delays", &state.long_delays)
            .field("long_reordering", &state.long_reordering)
            .field("ends", &state.ends.len())
            .field("servers", &state.servers.keys().collect::<Vec<_>>())
            .finish()
    }
}

const MS: u64 = 1_000_000;

fn millis_below(rng: &mut DetRng, limit: u64) -> Duration {
    Duration::from_nanos(rng.below(limit) * MS)
}

impl ClientEnd {
    /// The end's name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Calls method `R` on the server this end is connected to.
    ///
    /// Returns the handler's reply, or [`RpcError::NoReply`] if the network lost the request
    /// or the reply or the server is unreachable (the original's `false`); the other errors
    /// say the call was malformed (unknown method, mismatched types, a value that does not
    /// encode).
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
        let payload = codec::encode(args).map_err(|e| RpcError::codec::<R>(Side::Client, e))?;
        let plan = self.plan(payload.len())?;
        let caller = sim::Node::current();
        sim::record(
            caller,
            What::RpcSend {
                rpc: plan.rpc,
                service: R::SERVICE,
                method: R::METHOD,
                to: plan.server.as_ref().map(|s| s.node),
                bytes: payload.len() as u32,
            },
        );
        let lost = |why| {
            sim::record(caller, What::RpcDrop { rpc: plan.rpc, why });
            Err(RpcError::NoReply)
        };

        let Some(server) = plan.server.clone() else {
            let (delay, why) = plan.failure;
            sim::sleep(delay).await;
            return lost(why);
        };
        if !plan.reliable {
            let (delay, request_lost) = {
                let mut state = self.shared.state.lock();
                let delay = millis_below(&mut state.rng, 27);
                (delay, state.rng.below(1000) < 100)
            };
            sim::sleep(delay).await;
            if request_lost {
                return lost(DropReason::RequestLost);
            }
        }

        let method = server.lookup::<R>()?;
        server.count.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let rpc = plan.rpc;
        let task = (method.handler)(payload, tx);
        if !sim::spawn_handler(server.node, R::SERVICE, R::METHOD, task) {
            // The server's node is down but still registered: fail like an absent server,
            // after a delay, so that callers retrying in a loop do not spin in zero time.
            let delay = self.failure_delay();
            sim::sleep(delay).await;
            return lost(DropReason::ServerGone);
        }
        sim::record(server.node, What::RpcDeliver { rpc });
        let Some(reply) = self.wait_for_reply(rx, &plan, &server).await else {
            return lost(DropReason::ServerGone);
        };
        if self.is_dead(&plan, &server) {
            return lost(DropReason::ServerGone);
        }
        let reply = reply?;
        if !plan.reliable && self.shared.state.lock().rng.below(1000) < 100 {
            return lost(DropReason::ReplyLost);
        }
        if plan.long_reordering {
            let delay = {
                let mut state = self.shared.state.lock();
                (state.rng.below(900) < 600).then(|| {
                    let spread = state.rng.below(2000) + 1;
                    Duration::from_nanos((200 + state.rng.below(spread)) * MS)
                })
            };
            if let Some(delay) = delay {
                sim::sleep(delay).await;
            }
        }
        self.shared.state.lock().total_bytes += reply.len() as u64;
        sim::count(0, reply.len() as u64);
        sim::record(
            caller,
            What::RpcReply {
                rpc,
                bytes: reply.len() as u32,
            },
        );
        codec::decode(&reply).map_err(|e| RpcError::codec::<R>(Side::Client, e))
    }

    fn failure_delay(&self) -> Duration {
        self.shared.state.lock().failure_delay()
    }

    /// Counts the call and decides its fate from the network's state at this moment.
    fn plan(&self, bytes: usize) -> Result<Plan, RpcError> {
        let mut state = self.shared.state.lock();
        if state.shut_down {
            return Err(RpcError::Shutdown);
        }
        state.total_rpcs += 1;
        state.total_bytes += bytes as u64;
        sim::count(1, bytes as u64);
        let end = &state.ends[self.id];
        let server_name = end.server.clone().filter(|_| !end.deleted);
        let server = server_name
            .as_ref()
            .filter(|_| end.enabled)
            .and_then(|name| state.servers.get(name).cloned());
        let why = if !end.enabled || end.deleted {
            DropReason::EndDisabled
        } else {
            DropReason::NoServer
        };
        let delay = if server.is_some() {
            Duration::ZERO
        } else {
            state.failure_delay()
        };
        Ok(Plan {
            rpc: sim::next_id(),
            epoch: self.shared.epoch.load(Ordering::Acquire),
            server,
            server_name,
            reliable: state.reliable,
            long_reordering: state.long_reordering,
            failure: (delay, why),
        })
    }

    /// True if a reply from `server` can no longer be delivered on this end.
    fn is_dead(&self, plan: &Plan, server: &Arc<Server>) -> bool {
        if self.shared.epoch.load(Ordering::Acquire) == plan.epoch {
            return false;
        }
        let state = self.shared.state.lock();
        let end = &state.ends[self.id];
        let current = plan
            .server_name
            .as_ref()
            .and_then(|name| state.servers.get(name));
        state.shut_down
            || !end.enabled
            || end.deleted
            || !current.is_some_and(|s| Arc::ptr_eq(s, server))
    }

    /// The handler's result, or `None` once it can no longer be delivered.
    async fn wait_for_reply(
        &self,
        rx: oneshot::Receiver<Result<Vec<u8>, RpcError>>,
        plan: &Plan,
        server: &Arc<Server>,
    ) -> Option<Result<Vec<u8>, RpcError>> {
        let mut rx = pin!(rx);
        loop {
            let mut changed = pin!(self.shared.changed.notified());
            changed.as_mut().enable();
            if self.is_dead(plan, server) {
                return None;
            }
            let outcome = poll_fn(|cx| {
                if let Poll::Ready(reply) = rx.as_mut().poll(cx) {
                    // An error means the handler's task was dropped: its node crashed.
                    return Poll::Ready(Some(reply.ok()));
                }
                changed.as_mut().poll(cx).map(|()| None)
            })
            .await;
            if let Some(reply) = outcome {
                return reply;
            }
        }
    }
}

impl fmt::Debug for ClientEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientEnd({})", self.name)
    }
}
