//! A shard group's clerk: the controller's and the shardkv clerk's way to talk to one group.
//! Like Lab 4's clerk it looks for the group's leader, but it gives up after asking every
//! server once in vain, returning [`Error::WrongLeader`]: the group may be down, or may no
//! longer be the one to ask, which only its caller can find out.

use crate::v2025::rpc::{Error, Version};
use crate::v2025::shardcfg::{ConfigNum, ShardId};
use labrpc::ClientEnd;
// BEGIN SOLUTION
use crate::v2025::MakeEnd;
use crate::v2025::rpc::{DeleteShard, DeleteShardArgs, FreezeShard, FreezeShardArgs};
use crate::v2025::rpc::{Get, GetArgs, InstallShard, InstallShardArgs, Put, PutArgs};
use crate::v2025::shardcfg::Gid;
use labrpc::Rpc;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
// END SOLUTION

/// A client of one shard group.
pub struct GroupClerk {
    servers: Vec<ClientEnd>,
    // BEGIN SOLUTION
    /// Where to try first: the server that answered last.
    leader: Cell<usize>,
    // END SOLUTION
}

impl GroupClerk {
    /// A clerk of the group whose servers `servers` reach, in the group's order.
    pub fn new(servers: Vec<ClientEnd>) -> GroupClerk {
        GroupClerk {
            servers,
            // BEGIN SOLUTION
            leader: Cell::new(0),
            // END SOLUTION
        }
    }

    /// The value and version of `key`; [`Error::NoKey`] if it does not exist;
    /// [`Error::WrongGroup`] if the group does not serve its shard; [`Error::WrongLeader`] if
    /// no server of the group answered.
    pub async fn get(&self, key: &str) -> Result<(String, Version), Error> {
        // BEGIN SOLUTION
        let args = GetArgs {
            key: key.to_string(),
        };
        self.call::<Get, _>(&args).await.reply
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.servers, key);
        // unimplemented!("GroupClerk::get is not written yet (shardkv/src/v2025/shardgrp/client.rs)")
        // END SKELETON
    }

    /// Installs `value` as `key`'s value if `version` is its current version (as Lab 4's
    /// clerk), answering [`Error::Maybe`] for a version mismatch after a server that may have
    /// executed an earlier copy; [`Error::WrongGroup`] if the group does not serve the key's
    /// shard; [`Error::WrongLeader`] if no server answered (a copy may have been executed).
    pub async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), Error> {
        // BEGIN SOLUTION
        let args = PutArgs {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        let call = self.call::<Put, _>(&args).await;
        match call.reply {
            Err(Error::Version) if call.maybe_executed => Err(Error::Maybe),
            reply => reply,
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (key, value, version);
        // unimplemented!("GroupClerk::put is not written yet (shardkv/src/v2025/shardgrp/client.rs)")
        // END SKELETON
    }

    /// Freezes `shard` for configuration `num` and returns its keys.
    pub async fn freeze_shard(&self, shard: ShardId, num: ConfigNum) -> Result<Vec<u8>, Error> {
        // BEGIN SOLUTION
        self.call::<FreezeShard, _>(&FreezeShardArgs { shard, num })
            .await
            .reply
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (shard, num);
        // unimplemented!(
        //     "GroupClerk::freeze_shard is not written yet (shardkv/src/v2025/shardgrp/client.rs)"
        // )
        // END SKELETON
    }

    /// Installs `state` (from [`GroupClerk::freeze_shard`]) as `shard`'s keys for
    /// configuration `num`.
    pub async fn install_shard(
        &self,
        shard: ShardId,
        state: Vec<u8>,
        num: ConfigNum,
    ) -> Result<(), Error> {
        // BEGIN SOLUTION
        let args = InstallShardArgs { shard, state, num };
        self.call::<InstallShard, _>(&args).await.reply
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (shard, state, num);
        // unimplemented!(
        //     "GroupClerk::install_shard is not written yet (shardkv/src/v2025/shardgrp/client.rs)"
        // )
        // END SKELETON
    }

    /// Deletes the frozen `shard` for configuration `num`.
    pub async fn delete_shard(&self, shard: ShardId, num: ConfigNum) -> Result<(), Error> {
        // BEGIN SOLUTION
        self.call::<DeleteShard, _>(&DeleteShardArgs { shard, num })
            .await
            .reply
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (shard, num);
        // unimplemented!(
        //     "GroupClerk::delete_shard is not written yet (shardkv/src/v2025/shardgrp/client.rs)"
        // )
        // END SKELETON
    }
}

// BEGIN SOLUTION
/// What asking the group's servers once each gave.
struct Called<T> {
    /// The first answer from a server that could execute the request, or `WrongLeader`.
    reply: Result<T, Error>,
    /// Whether a server that did not answer, or answered `WrongLeader`, was asked first (it
    /// may still execute its copy).
    maybe_executed: bool,
}

impl GroupClerk {
    /// Asks each server once, the last one that answered first, until one answers as leader.
    async fn call<R, T>(&self, args: &R::Args) -> Called<T>
    where
        R: Rpc<Reply = Result<T, Error>>,
    {
        let mut maybe_executed = false;
        for attempt in 0..self.servers.len() {
            let server = (self.leader.get() + attempt) % self.servers.len();
            match self.servers[server].call::<R>(args).await {
                Ok(Err(Error::WrongLeader)) | Err(_) => maybe_executed = true,
                Ok(reply) => {
                    self.leader.set(server);
                    return Called {
                        reply,
                        maybe_executed,
                    };
                }
            }
        }
        Called {
            reply: Err(Error::WrongLeader),
            maybe_executed,
        }
    }
}
// END SOLUTION

// BEGIN SOLUTION
/// The clerks of the groups a controller or clerk has talked to, each with the servers it
/// was made for (a group's servers could change between configurations).
#[derive(Default)]
pub(crate) struct GroupClerks(RefCell<BTreeMap<Gid, MadeFor>>);

/// A group's clerk and the servers it was made for.
struct MadeFor {
    servers: Vec<String>,
    clerk: Rc<GroupClerk>,
}

impl GroupClerks {
    /// A clerk of group `gid`, whose servers are `servers`.
    pub(crate) fn get(&self, gid: Gid, servers: &[String], make_end: &MakeEnd) -> Rc<GroupClerk> {
        let mut groups = self.0.borrow_mut();
        match groups.get(&gid) {
            Some(made) if made.servers == servers => made.clerk.clone(),
            _ => {
                let ends = servers.iter().map(|name| make_end(name)).collect();
                let clerk = Rc::new(GroupClerk::new(ends));
                let servers = servers.to_vec();
                groups.insert(
                    gid,
                    MadeFor {
                        servers,
                        clerk: clerk.clone(),
                    },
                );
                clerk
            }
        }
    }
}
// END SOLUTION
