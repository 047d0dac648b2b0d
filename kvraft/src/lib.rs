//! Lab 4: a fault-tolerant key/value service on Raft.
//!
//! A set of key/value servers replicates the store with Raft (your Lab 3 code, through the
//! `raft` crate), so the service keeps working while a minority of servers is down or cut off;
//! clients use a clerk, which finds the leader and retries, and every history of client
//! operations is linearizable: each operation seems to take effect at one instant between its
//! call and its return.
//!
//! The lab builds in two layers: a replicated state machine (`rsm`), which puts a service's
//! commands through Raft's log and applies them on every server, and the key/value service on
//! it. It comes in two editions, and a course picks one (see `docs/kvraft.md`):
//!
// BEGIN EDITION 2024
//! - **2024** (module `v2024`, re-exported at the crate's root, where Lab 5 uses it): `get`,
//!   `put` and `append`, with a duplicate table. Part 4A: the service without snapshots; 4B:
//!   with them. Tests: `cargo test -p kvraft --test kvraft_2024`, or `make kvraft-2024` (one
//!   part: `make kvraft-2024-4a`).
// END EDITION 2024
// BEGIN EDITION 2025
//! - **2025** (module `v2025`): part 4A is the replicated state machine alone, tested with a
//!   counter service of the tester's; 4B the versioned key/value service of Lab 2's 2025
//!   edition on it (no duplicate table: versions make retries safe); 4C snapshots. Tests:
//!   `cargo test -p kvraft --test rsm_2025 --test kvraft_2025`, or `make kvraft-2025` (one
//!   part: `make kvraft-2025-4a`).
// END EDITION 2025
//!
//! Everything runs in the simulation of `labrpc::sim`: use its clock, timers and random
//! numbers, never the real ones, so that a failing run replays exactly from its seed. The
//! `log` crate's lines (`RUST_LOG=kvraft=debug`) carry virtual time and node.

// BEGIN EDITION 2024
pub mod v2024;

pub use v2024::{Clerk, KvCommand, KvError, KvServer, KvStore, NotLeader, Op, OpId, RequestId};
pub use v2024::{Rsm, StateMachine, client, rpc, rsm, server};
// END EDITION 2024
// BEGIN EDITION 2025
pub mod v2025;
// END EDITION 2025
