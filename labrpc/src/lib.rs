//! labrpc (in progress)
