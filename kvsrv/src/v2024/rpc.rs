//! The messages between clerks and the server, and the RPC methods that carry them.
//!
//! A clerk calls the server with `server.call::<Append>(&args).await`. The messages go
//! through the simulated network's codec, so nothing is shared but what is sent. Add fields
//! as you need them (everything here must stay `Serialize + Deserialize`).

use serde::{Deserialize, Serialize};

labrpc::service! {
    /// The key/value server's RPCs.
    service KvServer {
        /// Reads a key.
        rpc Get(GetArgs) -> GetReply;
        /// Replaces a key's value.
        rpc Put(PutAppendArgs) -> PutAppendReply;
        /// Appends to a key's value and returns the value before.
        rpc Append(PutAppendArgs) -> PutAppendReply;
    }
}

/// Arguments of `Put` and `Append`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutAppendArgs {
    /// The key.
    pub key: String,
    /// The new value (`Put`) or the suffix to append (`Append`).
    pub value: String,
    // BEGIN SOLUTION
    /// The clerk that sends the request (a random number each clerk draws once).
    pub clerk: u64,
    /// The clerk's request number, 1, 2, 3, ...: a retry carries the number of the request
    /// it repeats, and a clerk sends request `n + 1` only after request `n` got its reply.
    pub request: u64,
    // END SOLUTION
}

/// Reply of `Put` and `Append`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutAppendReply {
    /// `Append`: the value before the append (`""` if the key was missing). `Put`: unused.
    pub value: String,
}

/// Arguments of `Get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key.
    pub key: String,
}

/// Reply of `Get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetReply {
    /// The key's value, `""` if it is missing.
    pub value: String,
}
