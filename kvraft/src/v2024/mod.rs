//! Edition 2024: `get`, `put` and `append` on a replicated state machine.
//!
//! - [`rsm`]: a replicated state machine. A service implements [`StateMachine`] (apply a
//!   command; snapshot and restore its state); [`Rsm::submit`] puts a command through the log
//!   and returns its output once applied, or [`NotLeader`].
//! - [`KvServer`] (the store as a [`StateMachine`] and the RPC handlers) and [`Clerk`] (the
//!   client side, which finds the leader and retries).
//!
//! Part 4A: the service without snapshots (`max_raft_state` = `None`); part 4B: snapshots
//! (`Some(bytes)`). Run them with `make kvraft-2024-4a` and `make kvraft-2024-4b`; see
//! `docs/kvraft.md` for the handout.

pub mod client;
pub mod rpc;
pub mod rsm;
pub mod server;

pub use client::Clerk;
pub use rpc::{KvError, RequestId};
pub use rsm::{NotLeader, Op, OpId, Rsm, StateMachine};
pub use server::{KvCommand, KvServer, KvStore};
