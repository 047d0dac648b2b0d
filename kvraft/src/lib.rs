//! Lab 4: a fault-tolerant key/value service on Raft.
//!
//! Clients use a [`Clerk`] to `get`, `put` and `append` keys; a set of [`KvServer`]s
//! replicates the store with Raft (your Lab 3 code, through the `raft` crate), so the service
//! keeps working while a minority of servers is down or cut off, and every history of client
//! operations is linearizable: each operation seems to take effect at one instant between its
//! call and its return.
//!
//! The lab builds in two layers, which Lab 5 reuses:
//! - [`rsm`]: a replicated state machine. A service implements [`StateMachine`] (apply a
//!   command; snapshot and restore its state); [`Rsm::submit`] puts a command through the log
//!   and returns its output once applied, or [`NotLeader`].
//! - [`KvServer`] (the store as a [`StateMachine`] and the RPC handlers) and [`Clerk`] (the
//!   client side, which finds the leader and retries).
//!
//! Part 4A: the service without snapshots (`max_raft_state` = `None`); part 4B: snapshots
//! (`Some(bytes)`). Run them with `cargo test -p kvraft 4a` or `make kvraft-4a`; see
//! `docs/kvraft.md` for the handout.

pub mod client;
pub mod rpc;
pub mod rsm;
pub mod server;

pub use client::Clerk;
pub use rpc::{KvError, RequestId};
pub use rsm::{NotLeader, Op, OpId, Rsm, StateMachine};
pub use server::{KvCommand, KvServer, KvStore};
