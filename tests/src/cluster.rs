//! One cluster harness for every lab: a group of servers on the simulated network that
//! crash, restart and get partitioned (the generic half of the original `config.go`).
//!
//! A lab says how to start one server (a *factory*: ends to its peers, its index and its
//! persister in, the server's handle, its RPC services and a kill hook out); the [`Group`]
//! does the rest: a node per server, fresh ends per incarnation, the persister copy on
//! restart, per-pair connectivity and partitions. Several groups can share one network
//! (sharded key/value: a controller group and replica groups side by side), and an
//! [`EndMaker`] makes ends at run time to any server by its network name (the sharded
//! service's `make_end`: a group learns the names of other groups' servers from the
//! controller, long after the harness started it).
//!
//! ```
//! use labrpc::sim::Sim;
//! use labrpc::{Network, Service};
//! use labtest::cluster::{Group, GroupSpec, Started};
//!
//! labrpc::service! { service Echo { rpc Ping(u64) -> u64; } }
//!
//! Sim::new(1).run(|| async {
//!     let net = Network::new();
//!     let group = Group::new(&net, GroupSpec::new(3), |start| {
//!         let index = start.index;
//!         Started::new(index)
//!             .service(Service::new().handle(Ping, move |x| async move { x + index as u64 }))
//!     });
//!     group.connect_all();
//!     // Server 0's end to server 2.
//!     let reply = group.ends(0)[2].call::<Ping>(&40).await;
//!     assert_eq!(reply, Ok(42));
//!     group.disconnect(2);
//!     assert!(group.ends(0)[2].call::<Ping>(&40).await.is_err());
//! })
//! .unwrap();
//! ```

use labrpc::rand::RngExt;
use labrpc::sim::{self, Node};
use labrpc::{ClientEnd, Name, Network, Persister, Server, Service};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// What a factory gets to start one incarnation of a server.
pub struct Incarnation {
    /// Ends from this server to every server of the group, in index order (its own included),
    /// fresh for this incarnation.
    pub ends: Vec<ClientEnd>,
    /// The server's index in its group.
    pub index: usize,
    /// The server's persister: a copy of what the previous incarnation saved.
    pub persister: Persister,
    /// Counts the server's starts and shutdowns: a message tagged with an older generation
    /// comes from a dead incarnation.
    pub generation: u64,
    /// The node the server runs on (the factory already runs as this node).
    pub node: Node,
}

/// What a factory returns: the handle the test keeps, the RPC services to serve, and what to
/// do when the server is shut down.
pub struct Started<S> {
    server: S,
    services: Vec<Service>,
    kill: Option<Box<dyn FnOnce()>>,
}

impl<S> Started<S> {
    /// A server with no services yet.
    pub fn new(server: S) -> Started<S> {
        Started {
            server,
            services: Vec::new(),
            kill: None,
        }
    }

    /// Adds an RPC service to serve on the server's node.
    pub fn service(mut self, service: Service) -> Started<S> {
        self.services.push(service);
        self
    }

    /// What shutting the server down calls first (`Raft::kill`, say), before its node crashes.
    pub fn on_kill(mut self, kill: impl FnOnce() + 'static) -> Started<S> {
        self.kill = Some(Box::new(kill));
        self
    }
}

/// The shape of a group: its size and how its servers are named.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    n: usize,
    name: Option<String>,
}

impl GroupSpec {
    /// `n` servers named `0`, `1`, ... on the network (nodes `s0`, `s1`, ...).
    pub fn new(n: usize) -> GroupSpec {
        GroupSpec { n, name: None }
    }

    /// Names the group: its servers are `server-<name>-<i>` on the network and in reports, so
    /// that several groups can share one network.
    pub fn named(mut self, name: impl Into<String>) -> GroupSpec {
        self.name = Some(name.into());
        self
    }
}

/// A client's ends to every server of a group, in index order: fresh names of its own, so
/// that connecting, partitioning or deleting one client touches no other (the original's
/// `makeClient`). Made by [`Group::make_client`].
#[derive(Clone, Debug)]
pub struct Client {
    names: Vec<Name>,
    ends: Vec<ClientEnd>,
}

impl Client {
    /// The client's ends, to server 0, 1, ... of the group.
    pub fn ends(&self) -> &[ClientEnd] {
        &self.ends
    }

    /// The client's ends in a random order drawn from the running node's seeded generator:
    /// what a tester hands a clerk, so that an end's position says nothing about its server.
    pub fn shuffled_ends(&self) -> Vec<ClientEnd> {
        let mut ends = self.ends.clone();
        let mut rng = sim::rng();
        for i in (1..ends.len()).rev() {
            ends.swap(i, rng.random_range(0..=i));
        }
        ends
    }
}

type Factory<S> = dyn Fn(Incarnation) -> Started<S>;

/// A started server: its handle and its kill hook.
struct Running<S> {
    server: S,
    kill: Option<Box<dyn FnOnce()>>,
}

struct Member<S> {
    node: Node,
    /// The running server, `None` while shut down.
    running: Option<Running<S>>,
    saved: Persister,
    /// Names of the ends from this server to every server, of its current incarnation.
    end_names: Vec<Name>,
    /// Those of its earlier incarnations (deleted when the group exits).
    past_end_names: Vec<Name>,
    ends: Vec<ClientEnd>,
    /// Whether this server's calls to each server may be delivered (its ends to them enabled
    /// while both are connected). Symmetric except after [`Group::cut_calls`].
    reachable: Vec<bool>,
    connected: bool,
    generation: u64,
}

struct Inner<S> {
    spec: GroupSpec,
    net: Network,
    /// `None` once the simulation has ended (see [`Group::new`]).
    factory: RefCell<Option<Rc<Factory<S>>>>,
    members: RefCell<Vec<Member<S>>>,
    ends_made: RefCell<u64>,
    clients_made: RefCell<u64>,
    /// The servers' names on the network, made once (a test may make a hundred thousand
    /// clients, each connecting to every server).
    server_names: Vec<Name>,
}

/// A group of servers. Cloning gives another handle to the same group.
pub struct Group<S>(Rc<Inner<S>>);

impl<S> Clone for Group<S> {
    fn clone(&self) -> Self {
        Group(self.0.clone())
    }
}

impl<S: Clone + 'static> Group<S> {
    /// Creates the group's nodes and starts every server, disconnected (call
    /// [`connect_all`](Group::connect_all) or [`connect`](Group::connect)).
    pub fn new(
        net: &Network,
        spec: GroupSpec,
        factory: impl Fn(Incarnation) -> Started<S> + 'static,
    ) -> Group<S> {
        let n = spec.n;
        let members = (0..n)
            .map(|i| Member {
                node: Node::new(match &spec.name {
                    Some(name) => format!("{name}-{i}"),
                    None => format!("s{i}"),
                }),
                running: None,
                saved: Persister::new(),
                end_names: Vec::new(),
                past_end_names: Vec::new(),
                ends: Vec::new(),
                reachable: vec![true; n],
                connected: false,
                generation: 0,
            })
            .collect();
        let server_names = (0..n)
            .map(|i| match &spec.name {
                Some(name) => format!("server-{name}-{i}").into(),
                None => i.into(),
            })
            .collect();
        let group = Group(Rc::new(Inner {
            server_names,
            spec,
            net: net.clone(),
            factory: RefCell::new(Some(Rc::new(factory))),
            members: RefCell::new(members),
            ends_made: RefCell::new(0),
            clients_made: RefCell::new(0),
        }));
        // A lab's factory usually holds the lab's cluster, which holds this group: break that
        // cycle when the simulation ends, or every run leaks its cluster.
        let weak = Rc::downgrade(&group.0);
        sim::at_end(move || {
            if let Some(inner) = weak.upgrade() {
                let factory = inner.factory.borrow_mut().take();
                let servers: Vec<_> = inner
                    .members
                    .borrow_mut()
                    .iter_mut()
                    .map(|m| m.running.take())
                    .collect();
                drop((factory, servers));
            }
        });
        for i in 0..n {
            group.start(i);
        }
        group
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.0.spec.n
    }

    /// The network the group lives on.
    pub fn net(&self) -> &Network {
        &self.0.net
    }

    /// The network name of server `i` (what ends connect to).
    pub fn server_name(&self, i: usize) -> Name {
        self.0.server_names[i].clone()
    }

    /// How server `i` is called in notes and messages: `3`, or `<group>-3` in a named group.
    fn label(&self, i: usize) -> String {
        match &self.0.spec.name {
            Some(name) => format!("{name}-{i}"),
            None => i.to_string(),
        }
    }

    /// The node of server `i`.
    pub fn node(&self, i: usize) -> Node {
        self.0.members.borrow()[i].node
    }

    /// The handle of server `i`, `None` while it is shut down.
    pub fn server(&self, i: usize) -> Option<S> {
        self.0.members.borrow()[i]
            .running
            .as_ref()
            .map(|r| r.server.clone())
    }

    /// The ends of server `i`'s current incarnation, to every server in index order.
    pub fn ends(&self, i: usize) -> Vec<ClientEnd> {
        self.0.members.borrow()[i].ends.clone()
    }

    /// The generation of server `i` (see [`Incarnation::generation`]).
    pub fn generation(&self, i: usize) -> u64 {
        self.0.members.borrow()[i].generation
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.0.members.borrow()[i].connected
    }

    /// The connected servers, in index order.
    pub fn connected(&self) -> Vec<usize> {
        (0..self.n()).filter(|&i| self.is_connected(i)).collect()
    }

    /// The persister server `i` saves to (its state survives a shutdown).
    pub fn persister(&self, i: usize) -> Persister {
        self.0.members.borrow()[i].saved.clone()
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        let members = self.0.members.borrow();
        let sizes = members.iter().map(|m| m.saved.raft_state_size());
        sizes.max().unwrap_or(0)
    }

    /// The largest snapshot of any server, in bytes.
    pub fn snapshot_size(&self) -> usize {
        let members = self.0.members.borrow();
        let sizes = members.iter().map(|m| m.saved.snapshot_size());
        sizes.max().unwrap_or(0)
    }

    /// RPCs that reached server `i`'s current incarnation.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.0.net.count(self.server_name(i))
    }

    /// Shuts server `i` down, keeping its persisted state: disconnects it, deletes its RPC
    /// server (so replies it still owes are never delivered, and it can never reply for a
    /// superseded persister), gives the persister a fresh copy (so nothing the old instance
    /// writes reaches the next one), calls the kill hook and crashes its node (every task it
    /// had stops).
    pub fn shutdown(&self, i: usize) {
        self.disconnect(i);
        self.0.net.delete_server(self.server_name(i));
        let running = {
            let mut members = self.0.members.borrow_mut();
            let m = &mut members[i];
            m.saved = m.saved.copy();
            m.generation += 1;
            m.running.take()
        };
        if let Some(running) = running {
            sim::note(format!("tester: crash server {}", self.label(i)));
            if let Some(kill) = running.kill {
                kill();
            }
        }
        self.node(i).crash();
    }

    /// Starts or restarts server `i` (shutting it down first) from its persisted state, with
    /// fresh ends so that the old incarnation's ends cannot send. It starts disconnected: call
    /// [`connect`](Group::connect).
    pub fn start(&self, i: usize) {
        let node = self.node(i);
        if self.generation(i) > 0 {
            self.shutdown(i);
            node.restart();
        }
        let (ends, persister, generation) = {
            let mut members = self.0.members.borrow_mut();
            let m = &mut members[i];
            let mut made = self.0.ends_made.borrow_mut();
            let past = std::mem::take(&mut m.end_names);
            m.past_end_names.extend(past);
            m.end_names = (0..self.n())
                .map(|j| {
                    *made += 1;
                    Name::from(format!("{}->{}#{made}", self.label(i), self.label(j)))
                })
                .collect();
            m.ends = (0..self.n())
                .map(|j| {
                    let end = self.0.net.make_end(m.end_names[j].clone());
                    self.0
                        .net
                        .connect(m.end_names[j].clone(), self.server_name(j));
                    end
                })
                .collect();
            m.saved = m.saved.copy();
            m.generation += 1;
            (m.ends.clone(), m.saved.clone(), m.generation)
        };
        sim::note(format!("tester: start server {}", self.label(i)));
        let start = Incarnation {
            ends,
            index: i,
            persister,
            generation,
            node,
        };
        let factory = self.0.factory.borrow().clone();
        let factory = factory.expect("labtest: a server started after the simulation ended");
        let started = node.enter(|| factory(start));
        let mut server = Server::new(node);
        for service in started.services {
            server.add_service(service);
        }
        self.0.net.add_server(self.server_name(i), server);
        self.0.members.borrow_mut()[i].running = Some(Running {
            server: started.server,
            kill: started.kill,
        });
    }

    /// Heals every partition and connects every server.
    pub fn connect_all(&self) {
        for m in self.0.members.borrow_mut().iter_mut() {
            m.reachable.fill(true);
        }
        for i in 0..self.n() {
            self.connect(i);
        }
    }

    /// Attaches server `i`: enables its ends to and from every connected server it may reach
    /// (see [`partition`](Group::partition)).
    pub fn connect(&self, i: usize) {
        sim::note(format!("tester: connect {}", self.label(i)));
        let mut members = self.0.members.borrow_mut();
        members[i].connected = true;
        for j in 0..self.n() {
            if !members[j].connected {
                continue;
            }
            if members[i].reachable[j] {
                self.set_end(&members, i, j, true);
            }
            if members[j].reachable[i] {
                self.set_end(&members, j, i, true);
            }
        }
    }

    /// Detaches server `i`: disables its ends to and from every server. It keeps running.
    pub fn disconnect(&self, i: usize) {
        sim::note(format!("tester: disconnect {}", self.label(i)));
        let mut members = self.0.members.borrow_mut();
        members[i].connected = false;
        for j in 0..self.n() {
            self.set_link(&members, i, j, false);
        }
    }

    /// Splits the group: servers in the same part reach each other, servers in different parts
    /// (or in none) don't. Every server listed is connected.
    pub fn partition(&self, parts: &[&[usize]]) {
        sim::note(format!("tester: partition {parts:?}"));
        let part_of = |i: usize| parts.iter().position(|p| p.contains(&i));
        {
            let mut members = self.0.members.borrow_mut();
            for i in 0..self.n() {
                members[i].connected = part_of(i).is_some();
                for j in 0..self.n() {
                    members[i].reachable[j] = part_of(i).is_some() && part_of(i) == part_of(j);
                }
            }
        }
        let members = self.0.members.borrow();
        for i in 0..self.n() {
            for j in 0..self.n() {
                let on = members[i].connected && members[j].connected && members[i].reachable[j];
                self.set_link(&members, i, j, on);
            }
        }
    }

    /// Cuts the calls one way: calls from the servers in `from` to those in `to` fail, while
    /// calls from `to` to `from` are still delivered, with their replies. A server in `from`
    /// then hears from those in `to` only through the replies to its own calls. Lasts until
    /// [`partition`](Group::partition) or [`connect_all`](Group::connect_all).
    pub fn cut_calls(&self, from: &[usize], to: &[usize]) {
        sim::note(format!("tester: cut calls from {from:?} to {to:?}"));
        let mut members = self.0.members.borrow_mut();
        for &i in from {
            for &j in to {
                members[i].reachable[j] = false;
                self.set_end(&members, i, j, false);
            }
        }
    }

    /// A new client with fresh ends to every server, enabled to the servers in `to` (the
    /// others stay disabled until [`connect_client`](Group::connect_client)).
    pub fn make_client(&self, to: &[usize]) -> Client {
        let id = {
            let mut made = self.0.clients_made.borrow_mut();
            *made += 1;
            *made
        };
        let names: Vec<Name> = (0..self.n())
            .map(|j| match &self.0.spec.name {
                Some(group) => Name::from(format!("client-{group}-{id}->{group}-{j}")),
                None => Name::from(format!("client-{id}->{j}")),
            })
            .collect();
        let ends = (0..self.n())
            .map(|j| {
                let end = self.0.net.make_end(names[j].clone());
                self.0.net.connect(names[j].clone(), self.server_name(j));
                end
            })
            .collect();
        let client = Client { names, ends };
        self.connect_client(&client, to);
        client
    }

    /// Enables the client's ends to the servers in `to`.
    pub fn connect_client(&self, client: &Client, to: &[usize]) {
        for &j in to {
            self.0.net.enable(client.names[j].clone(), true);
        }
    }

    /// Disables the client's ends to the servers in `from`.
    pub fn disconnect_client(&self, client: &Client, from: &[usize]) {
        for &j in from {
            self.0.net.enable(client.names[j].clone(), false);
        }
    }

    /// Deletes the client's ends from the network: its calls fail from now on.
    pub fn delete_client(&self, client: Client) {
        for name in client.names {
            self.0.net.delete_end(name);
        }
    }

    /// Shuts every server down for good and deletes their ends from the network (the
    /// original's `ExitGroup`), so that a fresh group of the same name can be made later.
    pub fn exit(&self) {
        for i in 0..self.n() {
            self.shutdown(i);
            let names = {
                let mut members = self.0.members.borrow_mut();
                let m = &mut members[i];
                let mut names = std::mem::take(&mut m.past_end_names);
                names.append(&mut m.end_names);
                names
            };
            for name in names {
                self.0.net.delete_end(name);
            }
        }
    }

    /// Enables or disables the ends from `i` to `j` and from `j` to `i`.
    /// Enables or disables the ends between `i` and `j`, both ways.
    fn set_link(&self, members: &[Member<S>], i: usize, j: usize, on: bool) {
        self.set_end(members, i, j, on);
        self.set_end(members, j, i, on);
    }

    /// Enables or disables server `from`'s end to server `to` (its calls and their replies).
    fn set_end(&self, members: &[Member<S>], from: usize, to: usize, on: bool) {
        if let Some(name) = members[from].end_names.get(to) {
            self.0.net.enable(name.clone(), on);
        }
    }
}

/// Makes ends at run time to servers named on the network: the original sharded key/value
/// harness's `make_end(servername)`. Each [`make_end`](EndMaker::make_end) makes a fresh end,
/// connected to that server and enabled; the maker remembers the ends it made, so that its
/// owner's ends can be disabled or deleted at once. Cloning gives another handle to the same
/// maker.
///
/// End names are `<owner>#<n>-><server>`: `owner` must be unique on the network among
/// end makers (a server's label and generation, a client's number); making an end whose name
/// is taken panics, naming it.
///
/// ```
/// use labrpc::sim::Sim;
/// use labrpc::{Network, Service};
/// use labtest::cluster::{EndMaker, Group, GroupSpec, Started};
///
/// labrpc::service! { service Echo { rpc Ping(u64) -> u64; } }
///
/// Sim::new(1).run(|| async {
///     let net = Network::new();
///     let group = Group::new(&net, GroupSpec::new(3).named("101"), |start| {
///         let index = start.index as u64;
///         Started::new(()).service(Service::new().handle(Ping, move |x| async move { x + index }))
///     });
///     let maker = EndMaker::new(&net, "client-1");
///     let end = maker.make_end("server-101-2");
///     assert_eq!(end.call::<Ping>(&40).await, Ok(42));
///     maker.disconnect_all();
///     assert!(end.call::<Ping>(&40).await.is_err());
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct EndMaker(Rc<EndMakerInner>);

struct EndMakerInner {
    net: Network,
    owner: String,
    /// The ends made and not deleted.
    made: RefCell<Vec<Name>>,
    /// Ends made in all.
    count: Cell<u64>,
    /// Whether its ends are connected (see [`EndMaker::disconnect_all`]).
    connected: Cell<bool>,
}

impl fmt::Debug for EndMaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndMaker")
            .field("owner", &self.0.owner)
            .field("made", &self.0.count.get())
            .finish()
    }
}

impl EndMaker {
    /// A maker of ends for `owner` (a name unique among end makers on `net`).
    pub fn new(net: &Network, owner: impl Into<String>) -> EndMaker {
        EndMaker(Rc::new(EndMakerInner {
            net: net.clone(),
            owner: owner.into(),
            made: RefCell::new(Vec::new()),
            count: Cell::new(0),
            connected: Cell::new(true),
        }))
    }

    /// A fresh end to the server named `server`, connected, and enabled unless the maker is
    /// disconnected. Calls on it fail with `NoReply` while no server of that name is on the
    /// network.
    pub fn make_end(&self, server: &str) -> ClientEnd {
        self.0.count.set(self.0.count.get() + 1);
        let name = Name::from(format!("{}#{}->{server}", self.0.owner, self.0.count.get()));
        let end = self.0.net.make_end(name.clone());
        self.0
            .net
            .connect(name.clone(), Name::from(server.to_string()));
        self.0.net.enable(name.clone(), self.0.connected.get());
        self.0.made.borrow_mut().push(name);
        end
    }

    /// How many ends this maker made.
    pub fn made(&self) -> u64 {
        self.0.count.get()
    }

    /// Cuts its owner off (the original's `Clnt.DisconnectAll`): every end made so far, and
    /// every end made from now on, fails its calls until [`EndMaker::connect_all`].
    pub fn disconnect_all(&self) {
        self.set_connected(false);
    }

    /// Connects every end it made, and the ends it makes from now on (`Clnt.ConnectAll`).
    pub fn connect_all(&self) {
        self.set_connected(true);
    }

    fn set_connected(&self, connected: bool) {
        self.0.connected.set(connected);
        for name in self.0.made.borrow().iter() {
            self.0.net.enable(name.clone(), connected);
        }
    }

    /// Deletes every end made so far from the network (forgetting them).
    pub fn delete_all(&self) {
        for name in self.0.made.take() {
            self.0.net.delete_end(name);
        }
    }
}
