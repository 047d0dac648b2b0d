//! Edition 2024: `get`, `put`, and an `append` that returns the old value, at most once.
//!
//! - [`Clerk`] (`client.rs`): what the tests call. `get(key)` returns the key's value (`""` if
//!   the key is missing), `put(key, value)` replaces it, `append(key, arg)` appends `arg` and
//!   returns the value *before* the append. Each call keeps retrying until the server replies.
//! - [`KvServer`] (`server.rs`): the server, with one handler per RPC.
//! - `rpc.rs`: the messages. Add the fields your duplicate detection needs.
//!
//! The server must execute each `put` and `append` once, however often the network makes the
//! clerk send it, and answer a duplicate as it answered the original; and it must not grow
//! without bound: once a clerk has moved on to its next request, forget what its previous one
//! returned, and keep nothing for `get`s.

mod client;
mod rpc;
mod server;

pub use client::Clerk;
pub use rpc::{Append, Get, GetArgs, GetReply, Put, PutAppendArgs, PutAppendReply};
pub use server::KvServer;
