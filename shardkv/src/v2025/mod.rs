//! Lab 5, 2025 edition: shard groups that a short-lived controller moves shards between, the
//! controller keeping its configurations in Lab 2's key/value server. Work in progress
//! (issue 23): so far the shard configurations, which the tester and the controller share.

pub mod shardcfg;
