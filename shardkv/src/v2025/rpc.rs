//! The messages of a shard group's servers, the RPC methods that carry them, and the errors.
//! Complete as given: the tester calls these RPCs too, so keep their names and types.
//!
//! `Get` and `Put` are Lab 2's versioned operations, answered only for the shards the group
//! serves. `FreezeShard`, `InstallShard` and `DeleteShard` are the controller's, to move a
//! shard from one group to another; each carries the number of the configuration the move
//! belongs to, so that a group can refuse a move of an older configuration than one it has
//! already seen for that shard.

use super::shardcfg::{ConfigNum, ShardId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A key's version: 0 for a key that does not exist, 1 after the `put` that created it, and
/// one more after every successful `put`.
pub type Version = u64;

labrpc::service! {
    /// A shard group server's RPCs (the original's `KVServer.*` of `shardgrp`).
    service KvServer {
        /// Reads a key and its version.
        rpc Get(GetArgs) -> GetReply;
        /// Installs a value if the caller knows the key's current version.
        rpc Put(PutArgs) -> PutReply;
        /// Stops serving a shard and returns its keys (the first step of a move).
        rpc FreezeShard(FreezeShardArgs) -> FreezeShardReply;
        /// Starts serving a shard with the keys given (the second step).
        rpc InstallShard(InstallShardArgs) -> InstallShardReply;
        /// Forgets a frozen shard (the last step).
        rpc DeleteShard(DeleteShardArgs) -> DeleteShardReply;
    }
}

/// Why a request did not do what was asked (the original's `rpc.Err` values; `OK` is
/// `Ok(..)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Error {
    /// `ErrNoKey`: the key does not exist (`get`), or does not exist and the `put` named a
    /// version other than 0.
    NoKey,
    /// `ErrVersion`: the key exists but its version is not the one the `put` named; nothing
    /// changed.
    Version,
    /// `ErrMaybe` (from a clerk only, never a server): a `put` had to be sent again and was
    /// then answered `Version`, so an earlier copy may or may not have been executed.
    Maybe,
    /// `ErrWrongLeader`: this server could not get the request committed; try another. From a
    /// group clerk: no server of the group could (they may all be down).
    WrongLeader,
    /// `ErrWrongGroup`: the group does not serve the key's shard (any more, or yet); nothing
    /// changed. Ask the controller for the current configuration.
    WrongGroup,
    /// A shard move of an older configuration than one the group has already seen for that
    /// shard: its controller was superseded; nothing changed.
    OldConfig,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::NoKey => "ErrNoKey",
            Error::Version => "ErrVersion",
            Error::Maybe => "ErrMaybe",
            Error::WrongLeader => "ErrWrongLeader",
            Error::WrongGroup => "ErrWrongGroup",
            Error::OldConfig => "ErrOldConfig",
        })
    }
}

impl std::error::Error for Error {}

/// Arguments of `Get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key.
    pub key: String,
}

/// Reply of `Get`: the value and its version, or an [`Error`].
pub type GetReply = Result<(String, Version), Error>;

/// Arguments of `Put`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutArgs {
    /// The key.
    pub key: String,
    /// The value to install.
    pub value: String,
    /// The version the caller believes the key has (0: the key must not exist yet).
    pub version: Version,
}

/// Reply of `Put`: `Ok(())` if the value was installed, else an [`Error`].
pub type PutReply = Result<(), Error>;

/// Arguments of `FreezeShard`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeShardArgs {
    /// The shard.
    pub shard: ShardId,
    /// The configuration the move belongs to.
    pub num: ConfigNum,
}

/// Reply of `FreezeShard`: the shard's keys, encoded as the group chooses (the group that
/// installs them decodes them), or an [`Error`].
pub type FreezeShardReply = Result<Vec<u8>, Error>;

/// Arguments of `InstallShard`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallShardArgs {
    /// The shard.
    pub shard: ShardId,
    /// Its keys, as `FreezeShard` returned them.
    pub state: Vec<u8>,
    /// The configuration the move belongs to.
    pub num: ConfigNum,
}

/// Reply of `InstallShard`.
pub type InstallShardReply = Result<(), Error>;

/// Arguments of `DeleteShard`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteShardArgs {
    /// The shard.
    pub shard: ShardId,
    /// The configuration the move belongs to.
    pub num: ConfigNum,
}

/// Reply of `DeleteShard`.
pub type DeleteShardReply = Result<(), Error>;
