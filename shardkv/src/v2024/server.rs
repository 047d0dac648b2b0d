//! The shard server: a group's shards as a [`StateMachine`] ([`ShardStore`]) run by Lab 4's
//! [`Rsm`], the RPC handlers that submit clerks' operations to it, and the tasks that follow
//! the controller's configurations and move shards between groups.

use crate::client::MakeEnd;
use crate::rpc::{Append, Get, GetArgs, Put, PutAppendArgs, ShardKvError};
use kvraft::{Op, Rsm, StateMachine};
use labrpc::{ClientEnd, Persister, Service};
use raft::Raft;
use serde::{Deserialize, Serialize};
use shardctrler::Gid;
// BEGIN SOLUTION
use crate::client::key2shard;
use crate::rpc::{InstallRefused, InstallShards, InstallShardsArgs, RequestId, ShardData};
use labrpc::{RpcError, sim};
use shardctrler::{Config, NSHARDS};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

/// How often a group's leader asks the controller for the next configuration (the handout
/// says about every 100 ms), and sends the shards it owes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
// END SOLUTION

/// An operation as it goes through a group's log: clerks' operations, and whatever the group
/// needs to change configuration and move shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardCommand {
    // BEGIN SOLUTION
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The clerk's request.
        id: RequestId,
    },
    /// Append to a key.
    Append {
        /// The key.
        key: String,
        /// The suffix.
        value: String,
        /// The clerk's request.
        id: RequestId,
    },
    /// Move to the next configuration (taken only if it is the next one and no shard of the
    /// current one is still moving).
    Reconfigure(Config),
    /// Install shards received from their previous group in configuration `config_num`.
    InstallShards {
        /// The configuration in which the shards came to this group.
        config_num: u64,
        /// The shards.
        shards: BTreeMap<usize, ShardData>,
    },
    /// The new group installed these shards of configuration `config_num`: delete them here.
    HandedOff {
        /// The configuration in which the shards left this group.
        config_num: u64,
        /// The shards.
        shards: Vec<usize>,
    },
    /// Nothing: a new leader's first entry. Raft commits the entries of earlier terms only
    /// with one of the leader's own term; without it, a group whose clerks have gone quiet
    /// (waiting for shards that wait on this very group) could leave a committed
    /// configuration change unapplied forever.
    NewTerm,
    // END SOLUTION
    // BEGIN SKELETON
    // /// Replace with your operations.
    // Todo,
    // END SKELETON
}

// BEGIN SOLUTION
/// Where a shard stands in a group's current configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum ShardState {
    /// Not this group's (and no data here).
    #[default]
    Absent,
    /// This group's, with its data: served.
    Serving,
    /// This group's in the current configuration, but its data has not arrived from the
    /// previous owner yet: not served.
    Incoming,
    /// The previous configuration's, handed to group `to` in this one: kept (not served) until
    /// `to` confirms it installed it, then deleted.
    Outgoing {
        /// The shard's new group.
        to: Gid,
    },
}

/// One shard of a group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Shard {
    state: ShardState,
    data: ShardData,
}
// END SOLUTION

/// A group's state: its configuration, and its shards' data with what duplicate detection
/// needs. Applying the same commands from the same state gives the same state on every
/// replica.
#[derive(Debug)]
pub struct ShardStore {
    // BEGIN SOLUTION
    /// This group.
    gid: Gid,
    /// The configuration the group is in.
    config: Config,
    /// Every shard's state and data, by shard number.
    shards: Vec<Shard>,
    // END SOLUTION
}

impl ShardStore {
    /// The empty state of group `gid`, in configuration 0.
    pub fn new(gid: Gid) -> ShardStore {
        // BEGIN SOLUTION
        ShardStore {
            gid,
            config: Config::default(),
            shards: vec![Shard::default(); NSHARDS],
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = gid;
        // ShardStore {}
        // END SKELETON
    }

    /// The number of the configuration this replica has applied (0 before any).
    pub fn config_num(&self) -> u64 {
        // BEGIN SOLUTION
        self.config.num
        // END SOLUTION
        // BEGIN SKELETON
        // 0
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl ShardStore {
    /// Whether the group serves `shard` now.
    fn serves(&self, shard: usize) -> bool {
        self.shards[shard].state == ShardState::Serving
    }

    /// Whether a shard of the current configuration is still on its way in or out.
    fn migrating(&self) -> bool {
        self.shards
            .iter()
            .any(|s| matches!(s.state, ShardState::Incoming | ShardState::Outgoing { .. }))
    }

    /// The shards this group owes other groups, by receiving group.
    fn outgoing(&self) -> BTreeMap<Gid, Vec<usize>> {
        let mut owed: BTreeMap<Gid, Vec<usize>> = BTreeMap::new();
        for (shard, s) in self.shards.iter().enumerate() {
            if let ShardState::Outgoing { to } = s.state {
                owed.entry(to).or_default().push(shard);
            }
        }
        owed
    }

    /// A put or append of the clerk's request `id`, once.
    fn write(
        &mut self,
        key: String,
        value: String,
        id: RequestId,
        append: bool,
    ) -> Result<String, ShardKvError> {
        let shard = key2shard(&key);
        if !self.serves(shard) {
            return Err(ShardKvError::WrongGroup);
        }
        let data = &mut self.shards[shard].data;
        if data
            .last_applied
            .get(&id.client)
            .is_some_and(|&seq| seq >= id.seq)
        {
            return Ok(String::new()); // a retry of a request already applied
        }
        data.last_applied.insert(id.client, id.seq);
        if append {
            data.values.entry(key).or_default().push_str(&value);
        } else {
            data.values.insert(key, value);
        }
        Ok(String::new())
    }

    /// Takes the next configuration: shards that come from no group are served at once (empty),
    /// shards that come from another group wait for their data, shards that go to another
    /// group wait for it to take them, shards that go to no group are dropped.
    fn reconfigure(&mut self, next: Config) {
        if next.num != self.config.num + 1 || self.migrating() {
            return; // a duplicate, or too early: the leader proposes it again
        }
        let me = self.gid;
        for shard in 0..NSHARDS {
            let (was, now) = (self.config.shards[shard], next.shards[shard]);
            let slot = &mut self.shards[shard];
            match (was == me, now == me) {
                (false, true) if was == 0 => slot.state = ShardState::Serving,
                (false, true) => slot.state = ShardState::Incoming,
                (true, false) if now == 0 => *slot = Shard::default(),
                (true, false) => slot.state = ShardState::Outgoing { to: now },
                _ => {}
            }
        }
        log::debug!(
            "group {me}: configuration {} -> {}: shards {:?}",
            self.config.num,
            next.num,
            self.shards.iter().map(|s| s.state).collect::<Vec<_>>()
        );
        self.config = next;
    }
}
// END SOLUTION

impl StateMachine for ShardStore {
    type Command = ShardCommand;
    /// A `Get`'s value (`""` for the other operations), or `WrongGroup` for a key whose shard
    /// the group does not serve.
    type Output = Result<String, ShardKvError>;

    fn apply(&mut self, command: ShardCommand) -> Result<String, ShardKvError> {
        // BEGIN SOLUTION
        match command {
            ShardCommand::Get { key } => {
                let shard = key2shard(&key);
                if !self.serves(shard) {
                    return Err(ShardKvError::WrongGroup);
                }
                let values = &self.shards[shard].data.values;
                Ok(values.get(&key).cloned().unwrap_or_default())
            }
            ShardCommand::Put { key, value, id } => self.write(key, value, id, false),
            ShardCommand::Append { key, value, id } => self.write(key, value, id, true),
            ShardCommand::Reconfigure(next) => {
                self.reconfigure(next);
                Ok(String::new())
            }
            ShardCommand::InstallShards { config_num, shards } => {
                log::debug!(
                    "group {}: install shards {:?} of configuration {config_num} (at {})",
                    self.gid,
                    shards.keys().collect::<Vec<_>>(),
                    self.config.num
                );
                if config_num == self.config.num {
                    for (shard, data) in shards {
                        let slot = &mut self.shards[shard];
                        if slot.state == ShardState::Incoming {
                            *slot = Shard {
                                state: ShardState::Serving,
                                data,
                            };
                        }
                    }
                }
                Ok(String::new())
            }
            ShardCommand::NewTerm => Ok(String::new()),
            ShardCommand::HandedOff { config_num, shards } => {
                log::debug!(
                    "group {}: shards {shards:?} of configuration {config_num} handed off (at {})",
                    self.gid,
                    self.config.num
                );
                if config_num == self.config.num {
                    for shard in shards {
                        if matches!(self.shards[shard].state, ShardState::Outgoing { .. }) {
                            self.shards[shard] = Shard::default();
                        }
                    }
                }
                Ok(String::new())
            }
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = command;
        // unimplemented!(
        //     "shardkv: ShardStore::apply is not written yet (shardkv/src/v2024/server.rs)"
        // )
        // END SKELETON
    }

    fn snapshot(&self) -> Vec<u8> {
        // BEGIN SOLUTION
        labrpc::codec::encode(&(&self.config, &self.shards)).expect("a group's state encodes")
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!(
        //     "shardkv: ShardStore::snapshot is not written yet (shardkv/src/v2024/server.rs)"
        // )
        // END SKELETON
    }

    fn restore(&mut self, snapshot: &[u8]) {
        // BEGIN SOLUTION
        (self.config, self.shards) =
            labrpc::codec::decode(snapshot).expect("a snapshot this store wrote decodes");
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = snapshot;
        // unimplemented!(
        //     "shardkv: ShardStore::restore is not written yet (shardkv/src/v2024/server.rs)"
        // )
        // END SKELETON
    }
}

// BEGIN SOLUTION
/// What a server keeps besides its replicated state.
struct Inner {
    gid: Gid,
    ctrler: shardctrler::Clerk,
    make_end: MakeEnd,
    /// Ends to other groups' servers, by name.
    ends: RefCell<BTreeMap<String, ClientEnd>>,
    /// Groups a transfer is under way to.
    sending_to: RefCell<BTreeSet<Gid>>,
    /// The last term this server, as leader, put a `NewTerm` entry in.
    new_term_entry: Cell<u64>,
    /// For each group, the server that installed shards last (tried first).
    leaders: RefCell<BTreeMap<Gid, usize>>,
}
// END SOLUTION

/// One shard server of a replica group. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ShardKv {
    rsm: Rsm<ShardStore>,
    // BEGIN SOLUTION
    inner: Rc<Inner>,
    // END SOLUTION
}

impl ShardKv {
    /// Starts server `me` of group `gid`, whose servers are `servers` (call it as the server's
    /// node), with its Raft peer, restoring from `persister`; snapshots when Raft's persisted
    /// state reaches `max_raft_state` bytes (`None`: never). It reaches the controller
    /// through `ctrlers` and other groups' servers through ends made by `make_end`. Returns
    /// at once: whatever runs in the background is spawned on the server's node.
    pub fn new(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> ShardKv {
        let rsm = Rsm::new(servers, me, persister, max_raft_state, ShardStore::new(gid));
        // BEGIN SOLUTION
        let server = ShardKv {
            rsm,
            inner: Rc::new(Inner {
                gid,
                ctrler: shardctrler::Clerk::new(ctrlers),
                make_end,
                ends: RefCell::new(BTreeMap::new()),
                sending_to: RefCell::new(BTreeSet::new()),
                new_term_entry: Cell::new(0),
                leaders: RefCell::new(BTreeMap::new()),
            }),
        };
        sim::spawn(server.clone().follow_configurations());
        sim::spawn(server.clone().send_shards());
        server
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (ctrlers, make_end);
        // ShardKv { rsm }
        // END SKELETON
    }

    /// The `ShardKv` RPC service, for the tester to serve.
    pub fn service(&self) -> Service {
        let (get, put, append) = (self.clone(), self.clone(), self.clone());
        let service = Service::new()
            .handle(Get, move |args| {
                let server = get.clone();
                async move { server.get(args).await }
            })
            .handle(Put, move |args| {
                let server = put.clone();
                async move { server.put_append(args, false).await }
            })
            .handle(Append, move |args| {
                let server = append.clone();
                async move { server.put_append(args, true).await }
            });
        // BEGIN SOLUTION
        let install = self.clone();
        let service = service.handle(InstallShards, move |args| {
            let server = install.clone();
            async move { server.install_shards(args).await }
        });
        // END SOLUTION
        service
    }

    /// The server's Raft peer (the tester serves its RPCs too).
    pub fn raft(&self) -> &Raft<Op<ShardCommand>> {
        self.rsm.raft()
    }

    /// The server's replicated state machine.
    pub fn rsm(&self) -> &Rsm<ShardStore> {
        &self.rsm
    }

    /// Stops the server (and its Raft peer).
    pub fn kill(&self) {
        self.rsm.kill();
    }

    /// The `Get` handler.
    async fn get(&self, args: GetArgs) -> Result<String, ShardKvError> {
        // BEGIN SOLUTION
        self.submit(ShardCommand::Get { key: args.key }).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("shardkv: ShardKv::get is not written yet (shardkv/src/v2024/server.rs)")
        // END SKELETON
    }

    /// The `Put` (`append == false`) and `Append` handler.
    async fn put_append(&self, args: PutAppendArgs, append: bool) -> Result<(), ShardKvError> {
        // BEGIN SOLUTION
        let PutAppendArgs { key, value, id } = args;
        let command = if append {
            ShardCommand::Append { key, value, id }
        } else {
            ShardCommand::Put { key, value, id }
        };
        self.submit(command).await.map(|_| ())
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (args, append);
        // unimplemented!(
        //     "shardkv: ShardKv::put_append is not written yet (shardkv/src/v2024/server.rs)"
        // )
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl ShardKv {
    /// Puts `command` through the group's log: its output, or `WrongLeader`.
    async fn submit(&self, command: ShardCommand) -> Result<String, ShardKvError> {
        match self.rsm.submit(command).await {
            Ok(output) => output,
            Err(_) => Err(ShardKvError::WrongLeader),
        }
    }

    /// Whether this server leads its group (and is not killed).
    fn leads(&self) -> bool {
        !self.raft().killed() && self.raft().get_state().1
    }

    /// The `InstallShards` handler: shards handed over by their previous group.
    async fn install_shards(&self, args: InstallShardsArgs) -> Result<(), InstallRefused> {
        if !self.leads() {
            return Err(InstallRefused::WrongLeader);
        }
        // The group takes the shards only in the configuration they were sent for; having
        // reached it, it never goes back below it, so the check holds when the command applies.
        // Past it, the shards were installed before (the group moved on only once they had).
        if self.rsm.with_state(ShardStore::config_num) < args.config_num {
            return Err(InstallRefused::NotYet);
        }
        let InstallShardsArgs { config_num, shards } = args;
        match self
            .rsm
            .submit(ShardCommand::InstallShards { config_num, shards })
            .await
        {
            Ok(_) => Ok(()),
            Err(_) => Err(InstallRefused::WrongLeader),
        }
    }

    /// The end to the server named `name` (made on first use).
    fn end(&self, name: &str) -> ClientEnd {
        let mut ends = self.inner.ends.borrow_mut();
        ends.entry(name.to_string())
            .or_insert_with(|| (self.inner.make_end)(name))
            .clone()
    }

    /// The leader's loop: about every 100 ms, once every shard of the current configuration
    /// has arrived or left, asks the controller for the next configuration and puts it
    /// through the log. In a new term, first puts a `NewTerm` entry through the log.
    async fn follow_configurations(self) {
        while !self.raft().killed() {
            sim::sleep(POLL_INTERVAL).await;
            let (term, leads) = self.raft().get_state();
            if !leads || self.raft().killed() {
                continue;
            }
            if self.inner.new_term_entry.replace(term) != term {
                // In a task of its own: the configuration can go through the log right after.
                let rsm = self.rsm.clone();
                sim::spawn(async move {
                    let _ = rsm.submit(ShardCommand::NewTerm).await;
                });
            }
            let (current, migrating) = self.rsm.with_state(|s| (s.config.num, s.migrating()));
            if migrating {
                continue;
            }
            let next = self.inner.ctrler.query(Some(current + 1)).await;
            if next.num == current + 1 {
                let _ = self.rsm.submit(ShardCommand::Reconfigure(next)).await;
            }
        }
    }

    /// The leader's loop: about every 100 ms, sends the shards the group owes each other
    /// group (one transfer per receiving group at a time, each on its own, so that a group
    /// that is down delays only its own shards).
    async fn send_shards(self) {
        while !self.raft().killed() {
            sim::sleep(POLL_INTERVAL).await;
            if !self.leads() {
                continue;
            }
            let owed = self.rsm.with_state(|s| {
                let num = s.config.num;
                s.outgoing()
                    .into_iter()
                    .map(|(to, shards)| {
                        let servers = s.config.groups.get(&to).cloned().unwrap_or_default();
                        let data: BTreeMap<usize, ShardData> = shards
                            .iter()
                            .map(|&shard| (shard, s.shards[shard].data.clone()))
                            .collect();
                        (
                            to,
                            servers,
                            InstallShardsArgs {
                                config_num: num,
                                shards: data,
                            },
                        )
                    })
                    .collect::<Vec<_>>()
            });
            for (to, servers, args) in owed {
                if self.inner.sending_to.borrow_mut().insert(to) {
                    let server = self.clone();
                    sim::spawn(async move {
                        server.send_to(to, &servers, args).await;
                        server.inner.sending_to.borrow_mut().remove(&to);
                    });
                }
            }
        }
    }

    /// One transfer: offers the shards to each server of group `to` in turn (starting with
    /// the one that took shards last); once one has installed them, deletes them here
    /// (through the log).
    async fn send_to(&self, to: Gid, servers: &[String], args: InstallShardsArgs) {
        let first = self.inner.leaders.borrow().get(&to).copied().unwrap_or(0);
        for attempt in 0..servers.len() {
            let server = (first + attempt) % servers.len();
            let name = &servers[server];
            let reply = self.end(name).call::<InstallShards>(&args).await;
            log::debug!(
                "group {}: shards {:?} of configuration {} to {name}: {reply:?}",
                self.inner.gid,
                args.shards.keys().collect::<Vec<_>>(),
                args.config_num
            );
            match reply {
                Ok(Ok(())) => {
                    self.inner.leaders.borrow_mut().insert(to, server);
                    let shards = args.shards.keys().copied().collect();
                    let config_num = args.config_num;
                    let _ = self
                        .rsm
                        .submit(ShardCommand::HandedOff { config_num, shards })
                        .await;
                    return;
                }
                Ok(Err(_)) | Err(RpcError::NoReply) => {}
                Err(error) => {
                    log::warn!(
                        "group {}: InstallShards to {name} failed: {error}",
                        self.inner.gid
                    );
                }
            }
        }
    }
}
// END SOLUTION
