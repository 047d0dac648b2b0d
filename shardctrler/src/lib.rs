//! Lab 5A: the shard controller.
//!
//! A sharded key/value service splits its keys into [`NSHARDS`] shards and gives each shard to
//! one *replica group* (a set of servers running Raft among themselves, named by a [`Gid`]).
//! The shard controller decides which group serves which shard: it keeps a numbered sequence
//! of [`Config`]urations, and an administrator changes it with
//!
//! - [`Clerk::join`]: new groups join; shards are redistributed so that every group has about
//!   the same number, moving as few as possible;
//! - [`Clerk::leave`]: groups leave; their shards go to the others, as evenly, as few moves;
//! - [`Clerk::move_shard`]: one shard goes to one group (a hand-made exception, undone by the
//!   next rebalancing);
//! - [`Clerk::query`]: a configuration by number, or the latest.
//!
//! Every join, leave or move makes the next configuration. The controller itself is
//! replicated with Raft, through the replicated state machine of Lab 4 ([`kvraft::Rsm`]): you
//! write the state machine ([`ConfigStore`], in `server.rs`); the clerk is given. Replicas must
//! compute *exactly* the same configurations, so the rebalancing must not depend on anything
//! but the commands (never a hash map's iteration order). See `docs/shardctrler.md`.

pub mod client;
pub mod config;
pub mod rpc;
pub mod server;

pub use client::Clerk;
pub use config::{Config, Gid, NSHARDS};
pub use rpc::CtrlerError;
pub use server::{ConfigStore, CtrlerCommand, ShardCtrler};
