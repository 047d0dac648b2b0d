//! Lab 3: Raft. (Filled in by the Raft issue.)
