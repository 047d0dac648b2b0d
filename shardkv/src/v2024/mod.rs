//! Edition 2024: shard groups on Lab 4's replicated state machine, configured by the shard
//! controller of Lab 5A (the `shardctrler` crate).
//!
//! The keys are split into [`NSHARDS`] shards ([`key2shard`]); each shard is served by one
//! *replica group*, a set of [`ShardKv`] servers that replicate their shards with Raft, through
//! Lab 4's replicated state machine ([`kvraft::Rsm`]). Which group serves which shard is the
//! shard controller's decision: its configurations change as groups join and leave, and the
//! groups hand shards to each other as they do.
//!
//! A group
//! - asks the controller for the next configuration about every 100 ms, and takes
//!   configurations one at a time, in order, through its own log (so that all its replicas
//!   switch at the same point of the sequence of operations);
//! - serves a key only while it owns the key's shard in its current configuration, and
//!   answers [`ShardKvError::WrongGroup`] otherwise;
//! - sends the shards it no longer owns to their new groups, with the duplicate-detection
//!   state that goes with them (a clerk's retried request must not be applied twice, even by
//!   another group), through the receiver's log;
//! - (challenge 1) deletes the shards it handed over;
//! - (challenge 2) keeps serving the shards a configuration change does not touch while the
//!   others move, and serves a shard it receives as soon as it arrives.
//!
//! The [`Clerk`] is given: it finds the key's group in its cached configuration, tries that
//! group's servers, and asks the controller again on `WrongGroup`.
//!
//! Part 5A: static shards and rejection; part 5B: shard movement; then the two challenges.
//! Run them with `make shardkv-5a`, `make shardkv-5b` and `make shardkv-challenge`; see
//! `docs/shardkv.md` for the handout.

pub mod client;
pub mod rpc;
pub mod server;

pub use client::{Clerk, MakeEnd, key2shard};
pub use rpc::{RequestId, ShardKvError};
pub use server::{ShardCommand, ShardKv, ShardStore};
pub use shardctrler::{Config, Gid, NSHARDS};
