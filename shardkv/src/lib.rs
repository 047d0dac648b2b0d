//! Lab 5: the sharded key/value service.
//!
//! The keys are split into shards, each served by one *replica group*: a set of servers that
//! replicate their shards with Raft, through Lab 4's replicated state machine. Which group
//! serves which shard is a configuration's decision; configurations change as groups join and
//! leave, and the groups hand shards to each other as they do, while clients keep reading and
//! writing. It comes in two editions, and a course picks one (see `docs/shardkv.md`):
//!
// BEGIN EDITION 2024
//! - **2024** (module `v2024`, re-exported at the crate's root): groups that ask the shard
//!   controller of Lab 5A (the `shardctrler` crate) for configurations and move the shards
//!   themselves. Part 5A: static shards and rejection; 5B: shard movement; and the two
//!   challenges (deleting the shards handed over; serving the shards a change does not touch,
//!   and those that arrive, during the change). Tests: `cargo test -p shardkv --test
//!   shardkv_2024`, or `make shardkv-2024` (one part: `make shardkv-2024-5a`).
// END EDITION 2024
// BEGIN EDITION 2025
//! - **2025** (module `v2025`): shard groups on Lab 4's 2025 rsm, and a short-lived controller
//!   that keeps its configurations in Lab 2's server and moves every shard itself. Part 5A:
//!   moving shards; 5B: a new controller finishes a failed one's change; 5C: controllers at
//!   once. Tests: `cargo test -p shardkv --test shardkv_2025`, or `make shardkv-2025` (one
//!   part: `make shardkv-2025-5a`).
// END EDITION 2025

// BEGIN EDITION 2024
pub mod v2024;

pub use v2024::{Clerk, MakeEnd, key2shard};
pub use v2024::{Config, Gid, NSHARDS};
pub use v2024::{RequestId, ShardKvError};
pub use v2024::{ShardCommand, ShardKv, ShardStore};
pub use v2024::{client, rpc, server};
// END EDITION 2024
// BEGIN EDITION 2025
pub mod v2025;
// END EDITION 2025
