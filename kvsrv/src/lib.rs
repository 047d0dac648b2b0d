//! Lab 2: a key/value server.
//!
//! One server holds a map from string keys to string values; clerks (clients) reach it over
//! an unreliable simulated network, where a request or its reply can be lost. A clerk keeps
//! retrying until it gets a reply, so the server may see the same request several times, and
//! must still apply each operation at most once. The server keeps no copy of its data on disk
//! and there is only one of it: later labs replicate it with Raft.
//!
//! The lab comes in two editions, and a course picks one (see `docs/kvsrv.md`):
//!
// BEGIN EDITION 2024
//! - **2024** (module `v2024`): `get`, `put` and `append`, where `append` returns the value
//!   before the append. The server detects duplicate requests, and must forget what it no
//!   longer needs (the memory tests measure the bytes it keeps). Tests: `cargo test -p kvsrv
//!   --test kvsrv_2024 --test mem_2024`, or `make kvsrv-2024`.
// END EDITION 2024
// BEGIN EDITION 2025
//! - **2025** (module `v2025`): every key has a version; `put` installs a value only if the
//!   caller names the key's current version, so no duplicate table is needed, but a clerk
//!   that retried a `put` cannot always tell whether it happened (`Error::Maybe`). On top of
//!   the clerk, a lock. Tests: `cargo test -p kvsrv --test kvsrv_2025 --test mem_2025
//!   --test lock_2025`, or `make kvsrv-2025`.
// END EDITION 2025
//!
//! Everything runs in the simulation of `labrpc::sim`: use its clock, timers and random
//! numbers, never the real ones, so that a failing run replays exactly from its seed. The
//! `log` crate's lines (`RUST_LOG=kvsrv=debug`) carry virtual time and node.

// BEGIN EDITION 2024
pub mod v2024;
// END EDITION 2024
// BEGIN EDITION 2025
pub mod v2025;
// END EDITION 2025
