//! A shard group: a set of servers replicating, with Raft, the shards the controller gave the
//! group ([`ShardGroup`], `server.rs`), and the clerk that talks to one group ([`GroupClerk`],
//! `client.rs`).

mod client;
mod server;

pub use client::GroupClerk;
// BEGIN SOLUTION
pub(crate) use client::GroupClerks;
// END SOLUTION
pub use server::{ShardGroup, ShardReply, ShardRequest, ShardStore};
