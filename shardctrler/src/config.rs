//! Configurations: which replica group serves which shard.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The number of shards the keys are split into.
pub const NSHARDS: usize = 10;

/// A replica group's id. Ids are positive: gid 0 means "no group", the owner of every shard
/// while no group has joined.
pub type Gid = u32;

/// One configuration: a number, the owner of each shard, and the servers of each group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The configuration's number: 0 for the first, one more for each join, leave or move.
    pub num: u64,
    /// The group serving each shard (0: none).
    pub shards: [Gid; NSHARDS],
    /// The servers of each group, by name on the network, in the order they joined with.
    pub groups: BTreeMap<Gid, Vec<String>>,
}

impl Default for Config {
    /// Configuration 0: no groups, every shard on gid 0.
    fn default() -> Config {
        Config {
            num: 0,
            shards: [0; NSHARDS],
            groups: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The shards group `gid` serves, in increasing order.
    pub fn shards_of(&self, gid: Gid) -> Vec<usize> {
        (0..NSHARDS).filter(|&s| self.shards[s] == gid).collect()
    }

    /// How many shards each group of the configuration serves (0 for a group with none), by
    /// gid.
    pub fn shard_counts(&self) -> BTreeMap<Gid, usize> {
        let mut counts: BTreeMap<Gid, usize> = self.groups.keys().map(|&g| (g, 0)).collect();
        for gid in self.shards {
            if let Some(count) = counts.get_mut(&gid) {
                *count += 1;
            }
        }
        counts
    }
}
