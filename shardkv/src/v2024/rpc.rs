//! What clerks and shard servers say to each other (the original's `common.go`), and what
//! groups say to each other when shards move. Keep the names and types of the clerk's RPCs:
//! the tester calls them. The RPCs between groups are yours to design.

pub use kvraft::RequestId;
use serde::{Deserialize, Serialize};
use std::fmt;
// BEGIN SOLUTION
use std::collections::BTreeMap;
// END SOLUTION

/// Why a shard server did not carry out an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardKvError {
    /// This server is not its group's leader (or stopped being it before the operation
    /// committed): try another server of the group.
    WrongLeader,
    /// The group does not serve the key's shard (now): ask the controller for the latest
    /// configuration.
    WrongGroup,
}

impl fmt::Display for ShardKvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardKvError::WrongLeader => f.write_str("wrong leader"),
            ShardKvError::WrongGroup => f.write_str("wrong group"),
        }
    }
}

impl std::error::Error for ShardKvError {}

/// Arguments of `Get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key to read.
    pub key: String,
}

/// Arguments of `Put` and `Append`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutAppendArgs {
    /// The key to write.
    pub key: String,
    /// The new value (`Put`) or the suffix (`Append`).
    pub value: String,
    /// Which request this is, for duplicate detection.
    pub id: RequestId,
}

// BEGIN SOLUTION
/// One shard as it moves between groups: its keys' values, and the duplicate-detection state
/// of the requests applied to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    /// The shard's keys and values.
    pub values: BTreeMap<String, String>,
    /// The last request applied to this shard, for each clerk.
    pub last_applied: BTreeMap<u64, u64>,
}

/// Arguments of `InstallShards`: shards that the sending group gives up in configuration
/// `config_num` and the receiving group gains in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallShardsArgs {
    /// The configuration in which the shards changed hands.
    pub config_num: u64,
    /// The shards, by number.
    pub shards: BTreeMap<usize, ShardData>,
}

/// Why a group did not install shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstallRefused {
    /// This server is not the group's leader.
    WrongLeader,
    /// The group has not reached the configuration yet: send again later.
    NotYet,
}
// END SOLUTION

labrpc::service! {
    /// The sharded key/value service of one shard server.
    service ShardKv {
        /// Reads a key: its value, `""` if it has none.
        rpc Get(GetArgs) -> Result<String, ShardKvError>;
        /// Sets a key's value.
        rpc Put(PutAppendArgs) -> Result<(), ShardKvError>;
        /// Appends to a key's value (a missing key counts as `""`).
        rpc Append(PutAppendArgs) -> Result<(), ShardKvError>;
        // BEGIN SOLUTION
        /// Installs shards another group hands over (through the receiver's log); `Ok` once
        /// they are installed, now or in an earlier call.
        rpc InstallShards(InstallShardsArgs) -> Result<(), InstallRefused>;
        // END SOLUTION
    }
}
