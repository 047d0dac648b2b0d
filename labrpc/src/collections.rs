//! Hash maps whose iteration order is the same in every run, and the hash behind them.
//!
//! `std::collections::HashMap` seeds its hasher randomly per process, so iterating one visits
//! keys in a different order each run: a simulation that iterates one is not a function of its
//! seed. These aliases use [`StableHasher`] instead, whose constants are fixed here (std's
//! `DefaultHasher` makes no promise across Rust releases). The iteration order then depends only
//! on the insertions and std's table layout, which is the same on one machine but may differ
//! between processor architectures: where an order must be the same everywhere (a replica's
//! decision, say), iterate a `BTreeMap`.
//!
//! [`StableHasher`] is the workspace's one pinned hasher. A table that is only looked up, never
//! iterated (the executor's call sites, the real transport's pending calls, lincheck's search),
//! uses `rustc-hash`'s instead: faster, and its values may change with its version.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with a fixed hasher: same insertions, same iteration order, every run.
///
/// ```
/// use labrpc::collections::DetHashMap;
/// let mut votes: DetHashMap<u64, bool> = DetHashMap::default();
/// votes.insert(3, true);
/// ```
pub type DetHashMap<K, V> = HashMap<K, V, BuildHasherDefault<StableHasher>>;

/// A `HashSet` with a fixed hasher.
pub type DetHashSet<T> = HashSet<T, BuildHasherDefault<StableHasher>>;

/// A 64-bit hash with constants fixed in this file: the same input hashes the same on every
/// build, platform and Rust release. Also folds the simulation's trace into its hash.
#[derive(Clone, Copy, Debug)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHasher {
    /// Folds one word in.
    pub fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// The state so far, without the final mixing of [`Hasher::finish`] (the trace's hash).
    pub fn state(&self) -> u64 {
        self.0
    }
}

impl Hasher for StableHasher {
    /// Bytes in little-endian words of 8, then the length.
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        self.add(bytes.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    /// As a `u64`, so that 32- and 64-bit platforms agree.
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// Mixes the state so that every bit of it reaches the bits a hash table looks at.
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash>(value: &T) -> u64 {
        BuildHasherDefault::<StableHasher>::default().hash_one(value)
    }

    /// Pinned values: if one of these changes, every seed of every course replays differently.
    #[test]
    fn hashes_are_pinned() {
        let values = [hash_of(&42u64), hash_of(&"raft"), hash_of(&(7usize, -1i32))];
        assert_eq!(
            values,
            [
                0x84ff_eb30_c526_1a1b,
                0xe3d3_9b02_1d12_09a1,
                0x784d_5cd7_41be_87a2
            ]
        );
    }
}
