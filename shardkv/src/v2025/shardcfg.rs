//! Shard configurations (given: keep this file as it is).
//!
//! The keys are split into [`NSHARDS`] shards by [`key2shard`]. A [`ShardConfig`] says which
//! group serves each shard and which servers each group has; configurations are numbered,
//! and the controller moves from one to the next. [`ShardConfig::join_balance`] and
//! [`ShardConfig::leave_balance`] compute the next configuration when groups join or leave,
//! deterministically, so that the tester can compute the same ones:
//!
//! ```
//! use shardkv::v2025::shardcfg::{ShardConfig, NSHARDS};
//! use std::collections::BTreeMap;
//!
//! let mut config = ShardConfig::new();
//! config.join_balance(BTreeMap::from([(1, vec!["a".to_string()])]));
//! assert_eq!(config.shards, [1; NSHARDS]);
//! config.join_balance(BTreeMap::from([(2, vec!["b".to_string()])]));
//! assert_eq!(config.shards, [2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
//! assert_eq!(config.num, 2);
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A shard: `0..NSHARDS`.
pub type ShardId = usize;

/// A configuration's number: the first real one is [`NUM_FIRST`], the empty one 0.
pub type ConfigNum = u64;

/// A group's id: 1, 2, ...; 0 stands for no group.
pub type Gid = u64;

/// How many shards the keys are split into.
pub const NSHARDS: usize = 12;

/// The number of the first configuration that has groups.
pub const NUM_FIRST: ConfigNum = 1;

/// The first group's id.
pub const GID1: Gid = 1;

/// The shard of `key`: its 32-bit FNV-1a hash, modulo [`NSHARDS`].
pub fn key2shard(key: &str) -> ShardId {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let hash = key.bytes().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(PRIME)
    });
    hash as usize % NSHARDS
}

/// Which group serves each shard, and the servers of each group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardConfig {
    /// The configuration's number.
    pub num: ConfigNum,
    /// `shards[s]`: the group that serves shard `s` (0: none).
    pub shards: [Gid; NSHARDS],
    /// Each group's servers, by name.
    pub groups: BTreeMap<Gid, Vec<String>>,
}

impl ShardConfig {
    /// The empty configuration: number 0, no group, no shard served.
    pub fn new() -> ShardConfig {
        ShardConfig::default()
    }

    /// The configuration as a string (JSON), to store it in the key/value server.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a configuration always encodes")
    }

    /// A configuration from [`ShardConfig::to_json`]'s string.
    pub fn from_json(text: &str) -> Result<ShardConfig, String> {
        serde_json::from_str(text).map_err(|e| format!("not a shard configuration ({e}): {text:?}"))
    }

    /// Adds the groups in `joining`. Returns false (and adds none after it) if a group is
    /// already there; the number goes up by one otherwise. The shards do not move: see
    /// [`ShardConfig::join_balance`].
    ///
    /// # Panics
    /// If a server is given to two groups, or `joining` is empty: the caller's bugs.
    pub fn join(&mut self, joining: BTreeMap<Gid, Vec<String>>) -> bool {
        assert!(!joining.is_empty(), "join but no group joins");
        for (gid, servers) in joining {
            if self.groups.contains_key(&gid) {
                log::info!("re-join of group {gid}");
                return false;
            }
            for (other, others) in &self.groups {
                if let Some(server) = servers.iter().find(|s| others.contains(s)) {
                    panic!("join of group {gid} puts server {server} in groups {other} and {gid}");
                }
            }
            self.groups.insert(gid, servers);
        }
        self.num += 1;
        true
    }

    /// Removes the groups in `leaving`. Returns false (and removes none after it) if a group
    /// is not there; the number goes up by one otherwise. Their shards stay assigned to them:
    /// see [`ShardConfig::leave_balance`].
    ///
    /// # Panics
    /// If `leaving` is empty: the caller's bug.
    pub fn leave(&mut self, leaving: &[Gid]) -> bool {
        assert!(!leaving.is_empty(), "leave but no group leaves");
        for gid in leaving {
            if self.groups.remove(gid).is_none() {
                log::info!("leave of group {gid}, which is not in the configuration");
                return false;
            }
        }
        self.num += 1;
        true
    }

    /// [`ShardConfig::join`], then [`ShardConfig::rebalance`].
    pub fn join_balance(&mut self, joining: BTreeMap<Gid, Vec<String>>) -> bool {
        let joined = self.join(joining);
        if joined {
            self.rebalance();
        }
        joined
    }

    /// [`ShardConfig::leave`], then [`ShardConfig::rebalance`].
    pub fn leave_balance(&mut self, leaving: &[Gid]) -> bool {
        let left = self.leave(leaving);
        if left {
            self.rebalance();
        }
        left
    }

    /// Spreads the shards over the groups, moving as few as it can, deterministically: the
    /// shards of groups that are gone go, in shard order, each to the group with the fewest;
    /// then, while the group with the most has at least two more than the group with the
    /// fewest, its lowest shard moves to that group. (Ties go to the lowest group id.)
    pub fn rebalance(&mut self) {
        if self.groups.is_empty() {
            self.shards = [0; NSHARDS];
            return;
        }
        for shard in 0..NSHARDS {
            if !self.groups.contains_key(&self.shards[shard]) {
                self.shards[shard] = self.least_loaded();
            }
        }
        loop {
            let (most, least) = (self.most_loaded(), self.least_loaded());
            if self.load(most) < self.load(least) + 2 {
                return;
            }
            let lowest = self.shards.iter().position(|&gid| gid == most);
            self.shards[lowest.expect("the most loaded group has a shard")] = least;
        }
    }

    /// How many shards `gid` serves.
    fn load(&self, gid: Gid) -> usize {
        self.shards.iter().filter(|&&g| g == gid).count()
    }

    /// The group with the fewest shards (the lowest id among equals).
    fn least_loaded(&self) -> Gid {
        let mut groups = self.groups.keys().map(|&gid| (self.load(gid), gid));
        let first = groups.next().expect("a group");
        groups
            .fold(first, |best, g| if g.0 < best.0 { g } else { best })
            .1
    }

    /// The group with the most shards (the lowest id among equals).
    fn most_loaded(&self) -> Gid {
        let mut groups = self.groups.keys().map(|&gid| (self.load(gid), gid));
        let first = groups.next().expect("a group");
        groups
            .fold(first, |best, g| if g.0 > best.0 { g } else { best })
            .1
    }

    /// The group that serves `shard` and its servers, if it is a group of this configuration.
    pub fn gid_servers(&self, shard: ShardId) -> Option<(Gid, &[String])> {
        let gid = self.shards[shard];
        self.groups
            .get(&gid)
            .map(|servers| (gid, servers.as_slice()))
    }

    /// Whether `gid` serves a shard (the tester's notion of a member).
    pub fn is_member(&self, gid: Gid) -> bool {
        self.shards.contains(&gid)
    }

    /// Checks that the groups are exactly `gids`, that every shard has one of them, and that
    /// no group serves two more shards than another.
    pub fn check(&self, gids: &[Gid]) -> Result<(), String> {
        if self.groups.len() != gids.len() {
            return Err(format!(
                "wanted {} groups, got {}: {self}",
                gids.len(),
                self.groups.len()
            ));
        }
        if let Some(gid) = gids.iter().find(|gid| !self.groups.contains_key(gid)) {
            return Err(format!("missing group {gid}: {self}"));
        }
        if self.groups.is_empty() {
            return Ok(());
        }
        for (shard, gid) in self.shards.iter().enumerate() {
            if !self.groups.contains_key(gid) {
                return Err(format!("shard {shard} -> invalid group {gid}: {self}"));
            }
        }
        let loads = self.groups.keys().map(|&gid| self.load(gid));
        let (min, max) = (loads.clone().min(), loads.max());
        if let (Some(min), Some(max)) = (min, max)
            && max > min + 1
        {
            return Err(format!("max {max} too much larger than min {min}: {self}"));
        }
        Ok(())
    }
}

impl fmt::Display for ShardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "configuration {}: shards {:?}, groups",
            self.num, self.shards
        )?;
        for (gid, servers) in &self.groups {
            write!(f, " {gid}={servers:?}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// `TestBasic` of the original's shardcfg.
    #[test]
    fn join_and_leave_balance() {
        let mut config = ShardConfig::new();
        config.check(&[]).unwrap();
        assert!(config.join_balance(BTreeMap::from([(1, servers(&["x", "y", "z"]))])));
        config.check(&[1]).unwrap();
        assert!(config.join_balance(BTreeMap::from([(2, servers(&["a", "b", "c"]))])));
        config.check(&[1, 2]).unwrap();
        assert_eq!(config.groups[&1], servers(&["x", "y", "z"]));
        assert_eq!(config.groups[&2], servers(&["a", "b", "c"]));
        assert!(config.leave_balance(&[1]));
        config.check(&[2]).unwrap();
        assert!(config.leave_balance(&[2]));
        config.check(&[]).unwrap();
        assert_eq!((config.num, config.shards), (4, [0; NSHARDS]));
    }

    #[test]
    fn rebalancing_moves_the_lowest_shards_to_the_lowest_groups() {
        let mut config = ShardConfig::new();
        config.join_balance(BTreeMap::from([(1, servers(&["a"]))]));
        config.join_balance(BTreeMap::from([(2, servers(&["b"])), (3, servers(&["c"]))]));
        // 1 gives its lowest shard to the least loaded, 2 before 3 when they tie.
        assert_eq!(config.shards, [2, 3, 2, 3, 2, 3, 2, 3, 1, 1, 1, 1]);
        config.join_balance(BTreeMap::from([(4, servers(&["d"]))]));
        assert_eq!(config.shards, [4, 4, 2, 3, 2, 3, 2, 3, 4, 1, 1, 1]);
        config.check(&[1, 2, 3, 4]).unwrap();
        // 2's shards go in shard order, each to the least loaded (the lowest id on ties).
        config.leave_balance(&[2]);
        assert_eq!(config.shards, [4, 4, 1, 3, 3, 3, 4, 3, 4, 1, 1, 1]);
        config.check(&[1, 3, 4]).unwrap();
    }

    #[test]
    fn rejoin_and_unknown_leave_change_nothing_after_them() {
        let mut config = ShardConfig::new();
        config.join_balance(BTreeMap::from([(1, servers(&["a"]))]));
        let before = config.clone();
        assert!(!config.join(BTreeMap::from([(1, servers(&["z"]))])));
        assert!(!config.leave(&[7]));
        assert_eq!(config, before);
    }

    #[test]
    #[should_panic(expected = "puts server b in groups 1 and 2")]
    fn a_server_in_two_groups_is_a_bug() {
        let mut config = ShardConfig::new();
        config.join(BTreeMap::from([(1, servers(&["a", "b"]))]));
        config.join(BTreeMap::from([(2, servers(&["b"]))]));
    }

    #[test]
    fn check_names_what_is_wrong() {
        let mut config = ShardConfig::new();
        config.join_balance(BTreeMap::from([(1, servers(&["a"])), (2, servers(&["b"]))]));
        assert!(
            config
                .check(&[1])
                .unwrap_err()
                .starts_with("wanted 1 groups, got 2")
        );
        assert!(
            config
                .check(&[1, 3])
                .unwrap_err()
                .starts_with("missing group 3")
        );
        config.shards[0] = 2;
        assert!(
            config
                .check(&[1, 2])
                .unwrap_err()
                .starts_with("max 7 too much larger than min 5")
        );
        config.shards[0] = 9;
        assert!(
            config
                .check(&[1, 2])
                .unwrap_err()
                .starts_with("shard 0 -> invalid group 9")
        );
    }

    #[test]
    fn keys_map_to_shards_by_fnv1a() {
        // FNV-1a (32 bits) of "", "a" and "foobar": 0x811c9dc5, 0xe40c292c, 0xbf9cf968.
        assert_eq!(key2shard(""), 0x811c_9dc5 % NSHARDS);
        assert_eq!(key2shard("a"), 0xe40c_292c % NSHARDS);
        assert_eq!(key2shard("foobar"), 0xbf9c_f968 % NSHARDS);
        let shards: std::collections::BTreeSet<_> =
            (0..60).map(|i| key2shard(&format!("k{i}"))).collect();
        assert_eq!(shards.len(), NSHARDS, "the tests' keys reach every shard");
    }

    #[test]
    fn configurations_round_trip_as_json() {
        let mut config = ShardConfig::new();
        config.join_balance(BTreeMap::from([(1, servers(&["a"])), (2, servers(&["b"]))]));
        assert_eq!(
            ShardConfig::from_json(&config.to_json()),
            Ok(config.clone())
        );
        let error = ShardConfig::from_json("{").unwrap_err();
        assert!(error.starts_with("not a shard configuration"), "{error}");
        assert_eq!(config.gid_servers(0), Some((1, &servers(&["a"])[..])));
        assert!(config.is_member(1) && !config.is_member(3));
    }
}
