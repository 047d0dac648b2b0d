//! What clerks and servers say to each other (the original's `common.go`). The tester calls
//! these RPCs too, so keep their names and types; add what you need elsewhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a server did not carry out an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvError {
    /// This server is not the leader (or stopped being it before the operation committed):
    /// try another.
    WrongLeader,
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::WrongLeader => f.write_str("wrong leader"),
        }
    }
}

impl std::error::Error for KvError {}

/// Identifies one clerk request across its retries: a server that sees the same id twice
/// must not apply the operation twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The clerk (chosen at random when the clerk is made).
    pub client: u64,
    /// The clerk's request number: 1, 2, 3, ... one per operation, the same for every retry.
    pub seq: u64,
}

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

labrpc::service! {
    /// The key/value service of one server.
    service KvServer {
        /// Reads a key: its value, `""` if it has none.
        rpc Get(GetArgs) -> Result<String, KvError>;
        /// Sets a key's value.
        rpc Put(PutAppendArgs) -> Result<(), KvError>;
        /// Appends to a key's value (a missing key counts as `""`).
        rpc Append(PutAppendArgs) -> Result<(), KvError>;
    }
}
