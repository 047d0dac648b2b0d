//! Edition 2025: a versioned key/value server, and a lock built on it.
//!
//! - [`Clerk`] (`client.rs`): `get(key)` returns the key's value and version, `put(key, value,
//!   version)` installs the value only if `version` is the key's current version (0 creates
//!   a missing key). Each call keeps retrying until the server replies.
//! - [`KvServer`] (`server.rs`): the server. A successful `put` increments the key's version.
//! - [`Lock`] (`lock.rs`): a lock that any number of clerks can share, written with the
//!   clerk's `get` and `put` only.
//! - `rpc.rs`: the messages and the [`Error`]s, complete as given.
//!
//! The versions make duplicate detection unnecessary: a retried `put` whose first copy was
//! executed fails the version check. But then the clerk cannot tell "my first copy did it"
//! from "someone else got there first", and says so with [`Error::Maybe`].

mod client;
mod lock;
mod rpc;
mod server;

pub use client::Clerk;
pub use lock::Lock;
pub use rpc::{Error, Get, GetArgs, GetReply, Put, PutArgs, PutReply, Version};
pub use server::KvServer;
