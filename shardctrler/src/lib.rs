//! Lab 5A: the shard controller. (Filled in by its issue.)
