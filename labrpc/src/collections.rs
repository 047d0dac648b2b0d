//! Hash maps whose iteration order is the same in every run.
//!
//! `std::collections::HashMap` seeds its hasher randomly per process, so iterating one visits
//! keys in a different order each run: a simulation that iterates one is not a function of its
//! seed. These aliases use a fixed hasher instead.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher};

/// A `HashMap` with a fixed hasher: same insertions, same iteration order, every run.
///
/// ```
/// use labrpc::collections::DetHashMap;
/// let mut votes: DetHashMap<u64, bool> = DetHashMap::default();
/// votes.insert(3, true);
/// ```
pub type DetHashMap<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// A `HashSet` with a fixed hasher.
pub type DetHashSet<T> = HashSet<T, BuildHasherDefault<DefaultHasher>>;
