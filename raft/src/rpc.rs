//! The messages Raft peers send each other (Figure 2 of the extended Raft paper, plus
//! InstallSnapshot from Figure 13), and the RPC methods that carry them.
//!
//! A peer calls another with `peers[j].call::<AppendEntries<C>>(&args).await`. The argument
//! and reply types travel through the simulated network's codec, so they must be
//! `Serialize + Deserialize`, and nothing is shared between peers except what is sent.

use crate::Command;
use serde::{Deserialize, Serialize};

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
    /// The service's snapshot (encoded as one block of bytes, not a sequence of numbers).
    #[serde(with = "serde_bytes")]
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

labrpc::service! {
    /// The RPCs Raft peers send each other. The log entries inside AppendEntries carry the
    /// service's command type `C`, so every method is generic over it.
    service Raft<C: Command> {
        /// `Raft.RequestVote`: a candidate asks a peer for its vote.
        rpc RequestVote(RequestVoteArgs) -> RequestVoteReply;
        /// `Raft.AppendEntries`: the leader replicates entries, or sends a heartbeat.
        rpc AppendEntries(AppendEntriesArgs<C>) -> AppendEntriesReply;
        /// `Raft.InstallSnapshot`: the leader sends its snapshot to a lagging follower.
        rpc InstallSnapshot(InstallSnapshotArgs) -> InstallSnapshotReply;
    }
}
