//! The messages Raft peers send each other (Figure 2 of the extended Raft paper, plus
//! InstallSnapshot from Figure 13), and the RPC methods that carry them.
//!
//! A peer calls another with `peers[j].call::<AppendEntries<C>>(&args).await`. The argument
//! and reply types travel through the simulated network's codec, so they must be
//! `Serialize + Deserialize`, and nothing is shared between peers except what is sent.

use crate::Command;
use labrpc::Rpc;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// One entry of the replicated log: a command and the term in which a leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry<C> {
    /// The term of the leader that appended the entry.
    pub term: u64,
    /// The service's command.
    pub command: C,
}

/// RequestVote arguments: a candidate asks for a vote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    // BEGIN SOLUTION
    /// The candidate's term.
    pub term: u64,
    /// The candidate asking for the vote.
    pub candidate: usize,
    /// Index of the candidate's last log entry (§5.4).
    pub last_log_index: u64,
    /// Term of the candidate's last log entry (§5.4).
    pub last_log_term: u64,
    // END SOLUTION
}

/// RequestVote reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    // BEGIN SOLUTION
    /// The voter's current term, for the candidate to update itself.
    pub term: u64,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
    // END SOLUTION
}

/// AppendEntries arguments: the leader replicates log entries (none for a heartbeat).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesArgs<C> {
    // BEGIN SOLUTION
    /// The leader's term.
    pub term: u64,
    /// The leader, so followers can tell clients where to go.
    pub leader: usize,
    /// Index of the entry just before the new ones.
    pub prev_log_index: u64,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: u64,
    /// The leader's commit index.
    pub leader_commit: u64,
    // END SOLUTION
    /// The entries to store (empty for a heartbeat). Send many at once: efficiency matters.
    pub entries: Vec<LogEntry<C>>,
}

/// AppendEntries reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    // BEGIN SOLUTION
    /// The follower's current term, for the leader to update itself.
    pub term: u64,
    /// True if the follower held an entry matching `prev_log_index` and `prev_log_term`.
    pub success: bool,
    /// On failure, the term of the follower's conflicting entry at `prev_log_index`
    /// (`None` if its log is too short), for fast backtracking.
    pub conflict_term: Option<u64>,
    /// On failure, the first index the follower stores for `conflict_term`, or its log
    /// length + 1 when the log is too short: where the leader may try next.
    pub conflict_index: u64,
    // END SOLUTION
}

/// InstallSnapshot arguments: the leader sends its snapshot to a follower that is too far
/// behind for the entries it still has (Figure 13; the whole snapshot in one RPC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    // BEGIN SOLUTION
    /// The leader's term.
    pub term: u64,
    /// The leader.
    pub leader: usize,
    /// The snapshot replaces all entries up to and including this index.
    pub last_included_index: u64,
    /// The term of the entry at `last_included_index`.
    pub last_included_term: u64,
    /// The service's snapshot.
    pub data: Vec<u8>,
    // END SOLUTION
}

/// InstallSnapshot reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    // BEGIN SOLUTION
    /// The follower's current term, for the leader to update itself.
    pub term: u64,
    // END SOLUTION
}

/// Declares an RPC method of the `Raft` service whose messages depend on the command type.
macro_rules! raft_method {
    ($(#[$meta:meta])* $method:ident, $args:ty, $reply:ty) => {
        $(#[$meta])*
        pub struct $method<C>(PhantomData<fn() -> C>);

        impl<C> $method<C> {
            /// The method, as a value (for `Service::handle`).
            pub fn new() -> Self {
                $method(PhantomData)
            }
        }

        impl<C> Default for $method<C> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<C> Clone for $method<C> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<C> Copy for $method<C> {}

        impl<C> std::fmt::Debug for $method<C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!("Raft.", stringify!($method)))
            }
        }

        impl<C: Command> Rpc for $method<C> {
            const SERVICE: &'static str = "Raft";
            const METHOD: &'static str = stringify!($method);
            type Args = $args;
            type Reply = $reply;
        }
    };
}

raft_method!(
    /// `Raft.RequestVote`: a candidate asks a peer for its vote.
    RequestVote,
    RequestVoteArgs,
    RequestVoteReply
);
raft_method!(
    /// `Raft.AppendEntries`: the leader replicates entries, or sends a heartbeat.
    AppendEntries,
    AppendEntriesArgs<C>,
    AppendEntriesReply
);
raft_method!(
    /// `Raft.InstallSnapshot`: the leader sends its snapshot to a lagging follower.
    InstallSnapshot,
    InstallSnapshotArgs,
    InstallSnapshotReply
);
