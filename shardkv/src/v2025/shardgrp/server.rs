//! A shard group's server: the keys of the shards the group serves, as a state machine on
//! Lab 4's replicated state machine (your 2025 `rsm`), so that every server of the group
//! executes the same requests in the same order.
//!
//! Besides `Get` and `Put`, the state machine executes the three steps of a shard move, which
//! the controller sends (each through the log, like a `Put`):
//! - `FreezeShard(s, num)`: stop serving shard `s` (its `Get`s and `Put`s now fail with
//!   `ErrWrongGroup`) and return its keys;
//! - `InstallShard(s, keys, num)`: serve shard `s` with those keys;
//! - `DeleteShard(s, num)`: forget the frozen shard `s`.
//!
//! The group remembers, for each shard, the largest configuration number any of them carried,
//! and refuses one with a smaller number (`ErrOldConfig`): it comes from a controller that was
//! superseded. The same step with the same number again (a recovering controller redoing a
//! move) must do no harm. The first group, [`GID1`](crate::v2025::shardcfg::GID1), serves
//! every shard from the start; every other group starts with none.

use crate::v2025::rpc::{DeleteShard, FreezeShard, Get, InstallShard, Put};
use crate::v2025::rpc::{DeleteShardArgs, DeleteShardReply, FreezeShardArgs, FreezeShardReply};
use crate::v2025::rpc::{Error, PutArgs, PutReply};
use crate::v2025::rpc::{GetArgs, GetReply, InstallShardArgs, InstallShardReply};
use crate::v2025::shardcfg::Gid;
use kvraft::v2025::rsm::{Op, Rsm, StateMachine};
use labrpc::{ClientEnd, Persister, Service};
use raft::Raft;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
// BEGIN SOLUTION
use crate::v2025::rpc::Version;
use crate::v2025::shardcfg::{ConfigNum, GID1, NSHARDS, key2shard};
use std::collections::BTreeMap;
// END SOLUTION

/// A request as it goes through the group's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardRequest {
    /// A clerk's `Get`.
    Get(GetArgs),
    /// A clerk's `Put`.
    Put(PutArgs),
    /// The controller's `FreezeShard`.
    Freeze(FreezeShardArgs),
    /// The controller's `InstallShard`.
    Install(InstallShardArgs),
    /// The controller's `DeleteShard`.
    Delete(DeleteShardArgs),
}

/// What executing a [`ShardRequest`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardReply {
    /// A `Get`'s reply.
    Get(GetReply),
    /// A `Put`'s reply.
    Put(PutReply),
    /// A `FreezeShard`'s reply.
    Freeze(FreezeShardReply),
    /// An `InstallShard`'s reply.
    Install(InstallShardReply),
    /// A `DeleteShard`'s reply.
    Delete(DeleteShardReply),
}

// BEGIN SOLUTION
/// Where a shard stands in this group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Holding {
    /// The group serves it.
    Serving,
    /// The group keeps its keys for a move under way, but serves it no more.
    Frozen,
    /// The group has no keys of it.
    Absent,
}

/// One shard in this group.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Shard {
    holding: Holding,
    /// The largest configuration number a move of this shard carried here.
    num: ConfigNum,
    /// Its keys' values and versions.
    keys: BTreeMap<String, (String, Version)>,
}
// END SOLUTION

/// The group's state: the shards it holds and their keys.
#[derive(Debug)]
pub struct ShardStore {
    // BEGIN SOLUTION
    shards: Vec<Shard>,
    // END SOLUTION
}

impl ShardStore {
    /// The state of group `gid` when it is first created (before anything is executed).
    pub fn new(gid: Gid) -> ShardStore {
        // BEGIN SOLUTION
        let holding = if gid == GID1 {
            Holding::Serving
        } else {
            Holding::Absent
        };
        let shard = Shard {
            holding,
            num: 0,
            keys: BTreeMap::new(),
        };
        ShardStore {
            shards: vec![shard; NSHARDS],
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = gid;
        // ShardStore {}
        // END SKELETON
    }
}

impl StateMachine for ShardStore {
    type Request = ShardRequest;
    type Reply = ShardReply;

    fn do_op(&mut self, request: ShardRequest) -> ShardReply {
        // BEGIN SOLUTION
        match request {
            ShardRequest::Get(args) => ShardReply::Get(self.get(args)),
            ShardRequest::Put(args) => ShardReply::Put(self.put(args)),
            ShardRequest::Freeze(args) => ShardReply::Freeze(self.freeze(args)),
            ShardRequest::Install(args) => ShardReply::Install(self.install(args)),
            ShardRequest::Delete(args) => ShardReply::Delete(self.delete(args)),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = request;
        // unimplemented!(
        //     "ShardStore::do_op is not written yet (shardkv/src/v2025/shardgrp/server.rs)"
        // )
        // END SKELETON
    }

    fn snapshot(&self) -> Vec<u8> {
        // BEGIN SOLUTION
        labrpc::codec::encode(&self.shards).expect("a shard store encodes")
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!(
        //     "ShardStore::snapshot is not written yet (shardkv/src/v2025/shardgrp/server.rs)"
        // )
        // END SKELETON
    }

    fn restore(&mut self, snapshot: &[u8]) {
        // BEGIN SOLUTION
        self.shards = labrpc::codec::decode(snapshot).expect("a snapshot this store wrote decodes");
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = snapshot;
        // unimplemented!(
        //     "ShardStore::restore is not written yet (shardkv/src/v2025/shardgrp/server.rs)"
        // )
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl ShardStore {
    /// The keys of `key`'s shard, if the group serves it.
    fn serving(&mut self, key: &str) -> Result<&mut BTreeMap<String, (String, Version)>, Error> {
        let shard = &mut self.shards[key2shard(key)];
        match shard.holding {
            Holding::Serving => Ok(&mut shard.keys),
            Holding::Frozen | Holding::Absent => Err(Error::WrongGroup),
        }
    }

    fn get(&mut self, GetArgs { key }: GetArgs) -> GetReply {
        self.serving(&key)?.get(&key).cloned().ok_or(Error::NoKey)
    }

    fn put(&mut self, args: PutArgs) -> PutReply {
        let keys = self.serving(&args.key)?;
        match keys.get_mut(&args.key) {
            Some(entry) if entry.1 == args.version => {
                *entry = (args.value, args.version + 1);
                Ok(())
            }
            Some(_) => Err(Error::Version),
            None if args.version == 0 => {
                keys.insert(args.key, (args.value, 1));
                Ok(())
            }
            None => Err(Error::NoKey),
        }
    }

    /// Takes `num` for the shard if no newer configuration moved it here.
    fn advance(&mut self, shard: usize, num: ConfigNum) -> Result<&mut Shard, Error> {
        let shard = self.shards.get_mut(shard).ok_or(Error::WrongGroup)?;
        if num < shard.num {
            return Err(Error::OldConfig);
        }
        shard.num = num;
        Ok(shard)
    }

    fn freeze(&mut self, FreezeShardArgs { shard, num }: FreezeShardArgs) -> FreezeShardReply {
        let shard = self.advance(shard, num)?;
        if shard.holding == Holding::Serving {
            shard.holding = Holding::Frozen;
        }
        // An absent shard was deleted after its move (redone by a recovering controller):
        // its keys are at the new group, which ignores an install of this number again.
        Ok(labrpc::codec::encode(&shard.keys).expect("keys encode"))
    }

    fn install(&mut self, args: InstallShardArgs) -> InstallShardReply {
        let shard = self.shards.get_mut(args.shard).ok_or(Error::WrongGroup)?;
        // Installed already (the same move again), or moved on since.
        if args.num <= shard.num {
            return Ok(());
        }
        shard.keys = labrpc::codec::decode(&args.state).map_err(|_| Error::WrongGroup)?;
        shard.holding = Holding::Serving;
        shard.num = args.num;
        Ok(())
    }

    fn delete(&mut self, DeleteShardArgs { shard, num }: DeleteShardArgs) -> DeleteShardReply {
        let shard = self.advance(shard, num)?;
        if shard.holding == Holding::Frozen {
            shard.holding = Holding::Absent;
            shard.keys = BTreeMap::new();
        }
        Ok(())
    }
}
// END SOLUTION

/// One server of a shard group. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ShardGroup {
    rsm: Rsm<ShardStore>,
}

impl ShardGroup {
    /// Starts server `me` of group `gid`, whose servers are `servers` (the original's
    /// `StartServerShardGrp`; call it as the server's node), restoring from `persister`.
    /// `max_raft_state`: snapshot when Raft's persisted state reaches this many bytes; `None`:
    /// never.
    pub fn new(
        servers: Vec<ClientEnd>,
        gid: Gid,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
    ) -> ShardGroup {
        ShardGroup {
            rsm: Rsm::new(servers, me, persister, max_raft_state, ShardStore::new(gid)),
        }
    }

    /// The server's RPC service, for the tester to serve.
    pub fn service(&self) -> Service {
        Service::new()
            .handle(
                Get,
                self.handler(ShardRequest::Get, |r| match r {
                    ShardReply::Get(r) => Some(r),
                    _ => None,
                }),
            )
            .handle(
                Put,
                self.handler(ShardRequest::Put, |r| match r {
                    ShardReply::Put(r) => Some(r),
                    _ => None,
                }),
            )
            .handle(
                FreezeShard,
                self.handler(ShardRequest::Freeze, |r| match r {
                    ShardReply::Freeze(r) => Some(r),
                    _ => None,
                }),
            )
            .handle(
                InstallShard,
                self.handler(ShardRequest::Install, |r| match r {
                    ShardReply::Install(r) => Some(r),
                    _ => None,
                }),
            )
            .handle(
                DeleteShard,
                self.handler(ShardRequest::Delete, |r| match r {
                    ShardReply::Delete(r) => Some(r),
                    _ => None,
                }),
            )
    }

    /// The handler of one RPC: its arguments made a [`ShardRequest`] by `request`, submitted,
    /// and what executing it returned taken apart by `reply`.
    fn handler<A: 'static, T: 'static>(
        &self,
        request: fn(A) -> ShardRequest,
        reply: fn(ShardReply) -> Option<Result<T, Error>>,
    ) -> impl Fn(A) -> Pin<Box<dyn Future<Output = Result<T, Error>>>> + 'static {
        let server = self.clone();
        move |args| {
            let server = server.clone();
            Box::pin(async move {
                let executed = server.submit(request(args)).await?;
                reply(executed).expect("a request executes as its own kind")
            })
        }
    }

    /// The server's Raft peer (the tester serves its RPCs, asks it who leads, and kills it
    /// when it shuts the server down).
    pub fn raft(&self) -> &Raft<Op<ShardRequest>> {
        self.rsm.raft()
    }

    /// Puts `request` through the group's log and returns what executing it returned, or
    /// [`Error::WrongLeader`].
    async fn submit(&self, request: ShardRequest) -> Result<ShardReply, Error> {
        // BEGIN SOLUTION
        self.rsm
            .submit(request)
            .await
            .map_err(|_| Error::WrongLeader)
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.rsm, request);
        // unimplemented!(
        //     "ShardGroup::submit is not written yet (shardkv/src/v2025/shardgrp/server.rs)"
        // )
        // END SKELETON
    }
}
