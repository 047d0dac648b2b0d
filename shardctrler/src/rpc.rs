//! What clerks and controller servers say to each other (the original's `common.go`). Keep the
//! names and types: the tester calls these RPCs.

use crate::config::{Config, Gid};
pub use kvraft::RequestId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why a controller server did not carry out a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlerError {
    /// This server is not the leader (or stopped being it before the request committed): try
    /// another.
    WrongLeader,
}

impl fmt::Display for CtrlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CtrlerError::WrongLeader => f.write_str("wrong leader"),
        }
    }
}

impl std::error::Error for CtrlerError {}

/// Arguments of `Join`: new groups and their servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinArgs {
    /// Each joining group's servers, by name.
    pub servers: BTreeMap<Gid, Vec<String>>,
    /// Which request this is, for duplicate detection.
    pub id: RequestId,
}

/// Arguments of `Leave`: the groups that leave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveArgs {
    /// The leaving groups.
    pub gids: Vec<Gid>,
    /// Which request this is, for duplicate detection.
    pub id: RequestId,
}

/// Arguments of `Move`: one shard to one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveArgs {
    /// The shard (`0..NSHARDS`).
    pub shard: usize,
    /// The group that gets it.
    pub gid: Gid,
    /// Which request this is, for duplicate detection.
    pub id: RequestId,
}

/// Arguments of `Query`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryArgs {
    /// The configuration's number; `None` (or a number past the latest): the latest.
    pub num: Option<u64>,
}

labrpc::service! {
    /// The shard controller service of one controller server.
    service ShardCtrler {
        /// Adds groups, then rebalances: the next configuration.
        rpc Join(JoinArgs) -> Result<(), CtrlerError>;
        /// Removes groups, then rebalances: the next configuration.
        rpc Leave(LeaveArgs) -> Result<(), CtrlerError>;
        /// Gives one shard to one group: the next configuration.
        rpc Move(MoveArgs) -> Result<(), CtrlerError>;
        /// A configuration, as of the moment the query is applied.
        rpc Query(QueryArgs) -> Result<Config, CtrlerError>;
    }
}
