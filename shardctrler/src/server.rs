//! The controller server: the configurations as a [`StateMachine`] ([`ConfigStore`]) run by
//! Lab 4's [`Rsm`], and the RPC handlers that submit requests to it.

use crate::config::Config;
use crate::rpc::{CtrlerError, Join, JoinArgs, Leave, LeaveArgs, Move, MoveArgs, Query, QueryArgs};
use kvraft::{Op, Rsm, StateMachine};
use labrpc::{ClientEnd, Persister, Service};
use raft::Raft;
use serde::{Deserialize, Serialize};
// BEGIN SOLUTION
use crate::config::{Gid, NSHARDS};
use crate::rpc::RequestId;
use std::collections::BTreeMap;
// END SOLUTION

/// A controller request as it goes through the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlerCommand {
    // BEGIN SOLUTION
    /// Groups join.
    Join {
        /// The new groups' servers.
        servers: BTreeMap<Gid, Vec<String>>,
        /// The clerk's request.
        id: RequestId,
    },
    /// Groups leave.
    Leave {
        /// The leaving groups.
        gids: Vec<Gid>,
        /// The clerk's request.
        id: RequestId,
    },
    /// A shard moves to a group.
    Move {
        /// The shard.
        shard: usize,
        /// Its new group.
        gid: Gid,
        /// The clerk's request.
        id: RequestId,
    },
    /// A configuration is read.
    Query {
        /// Its number (`None`: the latest).
        num: Option<u64>,
    },
    // END SOLUTION
    // BEGIN SKELETON
    // /// Replace with your requests.
    // Todo,
    // END SKELETON
}

/// The controller's state: every configuration so far, and what duplicate detection needs.
#[derive(Debug)]
pub struct ConfigStore {
    // BEGIN SOLUTION
    /// Configuration `i` at index `i`.
    configs: Vec<Config>,
    /// The last request applied for each clerk.
    last_applied: BTreeMap<u64, u64>,
    // END SOLUTION
}

impl Default for ConfigStore {
    /// The store with configuration 0 only.
    fn default() -> ConfigStore {
        ConfigStore {
            // BEGIN SOLUTION
            configs: vec![Config::default()],
            last_applied: BTreeMap::new(),
            // END SOLUTION
        }
    }
}

impl ConfigStore {
    /// The latest configuration this server has applied.
    pub fn latest(&self) -> Config {
        // BEGIN SOLUTION
        self.configs
            .last()
            .expect("configuration 0 is always there")
            .clone()
        // END SOLUTION
        // BEGIN SKELETON
        // Config::default()
        // END SKELETON
    }
}

impl StateMachine for ConfigStore {
    type Command = CtrlerCommand;
    /// For a query, the configuration asked for; for a join, leave or move, the latest
    /// configuration after it.
    type Output = Config;

    fn apply(&mut self, command: CtrlerCommand) -> Config {
        // BEGIN SOLUTION
        let id = match &command {
            CtrlerCommand::Query { num } => {
                let latest = self.configs.len() as u64 - 1;
                let num = num.map_or(latest, |n| n.min(latest));
                return self.configs[num as usize].clone();
            }
            CtrlerCommand::Join { id, .. }
            | CtrlerCommand::Leave { id, .. }
            | CtrlerCommand::Move { id, .. } => *id,
        };
        if self
            .last_applied
            .get(&id.client)
            .is_some_and(|&seq| seq >= id.seq)
        {
            return self.latest(); // a retry of a request already applied
        }
        self.last_applied.insert(id.client, id.seq);
        let mut next = self.latest();
        next.num += 1;
        match command {
            CtrlerCommand::Join { servers, .. } => {
                next.groups.extend(servers);
                rebalance(&mut next);
            }
            CtrlerCommand::Leave { gids, .. } => {
                for gid in gids {
                    next.groups.remove(&gid);
                }
                rebalance(&mut next);
            }
            CtrlerCommand::Move { shard, gid, .. } => {
                // The clerk checks the shard; a server must not crash on a bad one either.
                if shard < NSHARDS {
                    next.shards[shard] = gid;
                }
            }
            CtrlerCommand::Query { .. } => unreachable!("answered above"),
        }
        self.configs.push(next);
        self.latest()
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = command;
        // unimplemented!(
        //     "shardctrler: ConfigStore::apply is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }

    fn snapshot(&self) -> Vec<u8> {
        // BEGIN SOLUTION
        labrpc::codec::encode(&(&self.configs, &self.last_applied)).expect("configurations encode")
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!(
        //     "shardctrler: ConfigStore::snapshot is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }

    fn restore(&mut self, snapshot: &[u8]) {
        // BEGIN SOLUTION
        (self.configs, self.last_applied) =
            labrpc::codec::decode(snapshot).expect("a snapshot this store wrote decodes");
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = snapshot;
        // unimplemented!(
        //     "shardctrler: ConfigStore::restore is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }
}

// BEGIN SOLUTION
/// Divides the shards among `config`'s groups as evenly as possible (the counts differ by at
/// most one), moving as few shards as possible: a group keeps its shards up to its share, and
/// only the surplus and the shards of groups that are gone change hands. Depends only on the
/// configuration (groups in gid order, shards in index order), so every replica computes the
/// same result.
fn rebalance(config: &mut Config) {
    if config.groups.is_empty() {
        config.shards = [0; NSHARDS];
        return;
    }
    let counts = config.shard_counts();
    // The groups that hold the most shards get the larger shares (fewer moves); ties go to
    // the smaller gid.
    let mut by_load: Vec<(Gid, usize)> = counts.into_iter().collect();
    by_load.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (base, extra) = (NSHARDS / config.groups.len(), NSHARDS % config.groups.len());
    let share: BTreeMap<Gid, usize> = by_load
        .iter()
        .enumerate()
        .map(|(rank, &(gid, _))| (gid, base + usize::from(rank < extra)))
        .collect();
    // Free the shards of departed groups (and of gid 0), and each group's surplus: its
    // highest-numbered shards.
    let mut kept: BTreeMap<Gid, usize> = BTreeMap::new();
    let mut free = Vec::new();
    for shard in 0..NSHARDS {
        let gid = config.shards[shard];
        match share.get(&gid) {
            Some(&limit) if kept.get(&gid).copied().unwrap_or(0) < limit => {
                *kept.entry(gid).or_default() += 1;
            }
            _ => free.push(shard),
        }
    }
    // Hand them out, lowest gid first, up to each group's share.
    let mut free = free.into_iter();
    for (&gid, &limit) in &share {
        for _ in kept.get(&gid).copied().unwrap_or(0)..limit {
            let shard = free.next().expect("the shares add up to NSHARDS");
            config.shards[shard] = gid;
        }
    }
}
// END SOLUTION

/// One controller server. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ShardCtrler {
    rsm: Rsm<ConfigStore>,
}

impl ShardCtrler {
    /// Starts controller server `me` of `servers` (call it as the server's node) with its Raft
    /// peer, restoring from `persister`. The controller's state is small: it never snapshots.
    pub fn new(servers: Vec<ClientEnd>, me: usize, persister: Persister) -> ShardCtrler {
        ShardCtrler {
            rsm: Rsm::new(servers, me, persister, None, ConfigStore::default()),
        }
    }

    /// The `ShardCtrler` RPC service, for the tester to serve.
    pub fn service(&self) -> Service {
        let (join, leave, move_, query) = (self.clone(), self.clone(), self.clone(), self.clone());
        Service::new()
            .handle(Join, move |args| {
                let server = join.clone();
                async move { server.join(args).await }
            })
            .handle(Leave, move |args| {
                let server = leave.clone();
                async move { server.leave(args).await }
            })
            .handle(Move, move |args| {
                let server = move_.clone();
                async move { server.move_shard(args).await }
            })
            .handle(Query, move |args| {
                let server = query.clone();
                async move { server.query(args).await }
            })
    }

    /// The server's Raft peer (the tester serves its RPCs too, and asks it who leads).
    pub fn raft(&self) -> &Raft<Op<CtrlerCommand>> {
        self.rsm.raft()
    }

    /// The server's replicated state machine.
    pub fn rsm(&self) -> &Rsm<ConfigStore> {
        &self.rsm
    }

    /// Stops the server (and its Raft peer).
    pub fn kill(&self) {
        self.rsm.kill();
    }

    /// The `Join` handler.
    async fn join(&self, args: JoinArgs) -> Result<(), CtrlerError> {
        // BEGIN SOLUTION
        let JoinArgs { servers, id } = args;
        self.submit(CtrlerCommand::Join { servers, id })
            .await
            .map(|_| ())
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!(
        //     "shardctrler: ShardCtrler::join is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }

    /// The `Leave` handler.
    async fn leave(&self, args: LeaveArgs) -> Result<(), CtrlerError> {
        // BEGIN SOLUTION
        let LeaveArgs { gids, id } = args;
        self.submit(CtrlerCommand::Leave { gids, id })
            .await
            .map(|_| ())
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!(
        //     "shardctrler: ShardCtrler::leave is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }

    /// The `Move` handler.
    async fn move_shard(&self, args: MoveArgs) -> Result<(), CtrlerError> {
        // BEGIN SOLUTION
        let MoveArgs { shard, gid, id } = args;
        self.submit(CtrlerCommand::Move { shard, gid, id })
            .await
            .map(|_| ())
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!(
        //     "shardctrler: ShardCtrler::move_shard is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }

    /// The `Query` handler.
    async fn query(&self, args: QueryArgs) -> Result<Config, CtrlerError> {
        // BEGIN SOLUTION
        self.submit(CtrlerCommand::Query { num: args.num }).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!(
        //     "shardctrler: ShardCtrler::query is not written yet (shardctrler/src/server.rs)"
        // )
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl ShardCtrler {
    /// Puts `command` through the log: its output, or `WrongLeader`.
    async fn submit(&self, command: CtrlerCommand) -> Result<Config, CtrlerError> {
        self.rsm
            .submit(command)
            .await
            .map_err(|_| CtrlerError::WrongLeader)
    }
}
// END SOLUTION
