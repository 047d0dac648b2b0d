//! Lab 5B: the sharded key/value service. (Filled in by its issue.)
