//! Lab 5, 2025 edition: shard groups that a short-lived controller moves shards between, the
//! controller keeping its configurations in Lab 2's key/value server.
//!
//! - [`shardcfg`] (given): the shards, the configurations and how they are rebalanced.
//! - `rpc.rs` (given): the shard groups' messages and errors.
//! - [`shardgrp`]: a shard group's server ([`ShardGroup`], on your 2025 `rsm`) and clerk
//!   ([`GroupClerk`]).
//! - [`shardctrler`]: the controller ([`ShardCtrler`]), which stores configurations in your
//!   2025 `kvsrv` and moves shards between groups.
//! - `client.rs`: the service's [`Clerk`].
//!
//! Run them with `make shardkv-5a` (and `-5b`, `-5c`); see `docs/shardkv.md` for the handout.

mod client;
mod rpc;
pub mod shardcfg;
pub mod shardctrler;
pub mod shardgrp;

pub use client::Clerk;
pub use rpc::{DeleteShard, FreezeShard, Get, InstallShard, Put};
pub use rpc::{DeleteShardArgs, FreezeShardArgs, GetArgs, InstallShardArgs, PutArgs};
pub use rpc::{DeleteShardReply, FreezeShardReply, GetReply, InstallShardReply, PutReply};
pub use rpc::{Error, Version};
pub use shardctrler::ShardCtrler;
pub use shardgrp::{GroupClerk, ShardGroup};

/// Makes an end to a server from its name on the network (the original's `clnt.MakeEnd`).
pub type MakeEnd = std::rc::Rc<dyn Fn(&str) -> labrpc::ClientEnd>;
