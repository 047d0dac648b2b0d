//! Lab 4: fault-tolerant key/value service on Raft. (Filled in by its issue.)
