//! Edition 2025: a replicated state machine (4A), and the versioned key/value service on it
//! without snapshots (4B) and with them (4C).
//!
//! - [`rsm`] (`rsm.rs`, 4A): [`Rsm::new`] makes a server's Raft peer and runs a service's
//!   [`StateMachine`] on it; [`Rsm::submit`] puts a request through the log and returns what
//!   executing it returned, or [`WrongLeader`]. Tested on its own, with a counter service of
//!   the tester's (`tests/rsm_2025.rs`).
//! - [`KvServer`] (`server.rs`, 4B): the store as a [`StateMachine`] with Lab 2's versioned
//!   `get` and `put`, and the RPC handlers; [`Clerk`] (`client.rs`): finds the leader and
//!   retries, returning `ErrMaybe` when a retried `put` may have been executed.
//! - 4C: the same with snapshots (`max_raft_state` = `Some(bytes)`): the `rsm` snapshots and
//!   restores the state machine.
//! - `rpc.rs`: the messages and the [`Error`]s, complete as given.
//!
//! Run them with `make kvraft-2025-4a` (and `-4b`, `-4c`); see `docs/kvraft.md` for the
//! handout.

mod client;
mod rpc;
pub mod rsm;
mod server;

pub use client::Clerk;
pub use rpc::{Error, Get, GetArgs, GetReply, Put, PutArgs, PutReply, Version};
pub use rsm::{Op, Rsm, StateMachine, WrongLeader};
pub use server::{KvReply, KvRequest, KvServer, KvStore};
