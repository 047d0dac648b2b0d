//! The messages between clerks and servers, the RPC methods that carry them, and the errors
//! (Lab 2's 2025 wire types, with `ErrWrongLeader`). Complete as given: the tester calls these
//! RPCs too, so keep their names and types.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A key's version: 0 for a key that does not exist, 1 after the `put` that created it, and
/// one more after every successful `put`.
pub type Version = u64;

labrpc::service! {
    /// The key/value server's RPCs (the original's `KVServer.Get` and `KVServer.Put`).
    service KvServer {
        /// Reads a key and its version.
        rpc Get(GetArgs) -> GetReply;
        /// Installs a value if the caller knows the key's current version.
        rpc Put(PutArgs) -> PutReply;
    }
}

/// Why a `get` or `put` did not do what was asked (the original's `rpc.Err` values; `OK` is
/// `Ok(..)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Error {
    /// `ErrNoKey`: the key does not exist (`get`), or does not exist and the `put` named a
    /// version other than 0.
    NoKey,
    /// `ErrVersion`: the key exists but its version is not the one the `put` named; nothing
    /// changed.
    Version,
    /// `ErrMaybe` (from the clerk only, never a server): a `put` had to be sent again and a
    /// server then answered `Version`, so an earlier copy may or may not have been executed.
    Maybe,
    /// `ErrWrongLeader` (from a server only, never the clerk): this server could not get the
    /// request committed; try another.
    WrongLeader,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::NoKey => "ErrNoKey",
            Error::Version => "ErrVersion",
            Error::Maybe => "ErrMaybe",
            Error::WrongLeader => "ErrWrongLeader",
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
