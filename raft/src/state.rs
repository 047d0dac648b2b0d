// BEGIN SOLUTION
//! The Raft state machine: Figure 2 of the extended Raft paper, without any I/O.
//!
//! [`RaftCore`] holds a peer's state and reacts to events: a clock tick, an incoming RPC (it
//! returns the reply), the reply to an RPC it sent, a command from the service, a snapshot
//! from the service. It never sends, sleeps, persists or applies anything itself: it queues
//! what should happen in a [`Ready`], which the driver in `lib.rs` takes after every event
//! and carries out (persist first, then apply, then send). Time is a parameter (`now`), and
//! randomness comes from a generator seeded at creation, so the logic can be unit-tested
//! without a network or a simulation.
// END SOLUTION
// BEGIN SKELETON
// //! A home for your Raft's state, if you want one (`lib.rs` declares this module; delete it
// //! if you keep everything in `lib.rs`).
// //!
// //! Figure 2 of the extended Raft paper lists what each peer keeps: persistent state
// //! (current term, vote, log) and volatile state (commit index, last applied; on a leader,
// //! next and match index per peer). One design that works well keeps all of it here, in a
// //! plain struct with methods for each event (a timeout, an RPC, an RPC's reply, a command
// //! from the service), with the current time passed in as a parameter and no I/O: the
// //! methods say what to send, persist and apply, and the async code in `lib.rs` does it.
// //! Such a struct can be unit-tested without a network.
// END SKELETON

// BEGIN SOLUTION
use crate::raftlog::Log;
use crate::rpc::*;
use crate::{ApplyMsg, Start};
use labrpc::sim::{DetRng, Instant};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// A leader sends heartbeats this often when idle (the lab allows at most ten per second).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
/// Election timeouts are drawn uniformly from this range, in milliseconds. Larger than the
/// paper's 150-300 ms because heartbeats are slower, small enough to elect within 5 s.
pub const ELECTION_TIMEOUT_MS: std::ops::Range<u64> = 300..600;
/// At most this many entries go into one AppendEntries (more follow as replies arrive).
pub const MAX_ENTRIES_PER_MESSAGE: usize = 256;
/// A leader sends entries again to a follower that has not answered for this long (one that
/// answers gets them again at once).
pub const RESEND_TIMEOUT: Duration = Duration::from_millis(1000);

/// What a peer currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader, votes, times out into a candidate.
    Follower,
    /// Asks for votes.
    Candidate,
    /// Replicates its log.
    Leader,
}

/// An RPC the driver should send.
#[derive(Clone, Debug)]
pub enum Message<C> {
    /// Ask for a vote.
    RequestVote(RequestVoteArgs),
    /// Replicate entries (or heartbeat).
    AppendEntries(AppendEntriesArgs<C>),
    /// Send the snapshot.
    InstallSnapshot(InstallSnapshotArgs),
}

/// What the driver must do after an event, in this order.
#[derive(Debug)]
pub struct Ready<C> {
    /// The persistent state (term, vote, log) changed: save it before anything else.
    pub persist: bool,
    /// The snapshot changed too: save both together.
    pub snapshot_changed: bool,
    /// Messages for the service, in order.
    pub applies: Vec<ApplyMsg<C>>,
    /// RPCs to send: (peer, message).
    pub messages: Vec<(usize, Message<C>)>,
}

impl<C> Default for Ready<C> {
    fn default() -> Self {
        Ready {
            persist: false,
            snapshot_changed: false,
            applies: Vec::new(),
            messages: Vec::new(),
        }
    }
}

/// The persistent state, as saved (Figure 2: currentTerm, votedFor, log[]; plus where the
/// snapshot ends).
#[derive(Deserialize)]
struct Persistent<C> {
    term: u64,
    voted_for: Option<usize>,
    log: Log<C>,
}

/// One Raft peer's state and rules.
#[derive(Debug)]
pub struct RaftCore<C> {
    me: usize,
    peers: usize,

    // Persistent state on all servers.
    term: u64,
    voted_for: Option<usize>,
    log: Log<C>,
    snapshot: Vec<u8>,

    // Volatile state on all servers.
    role: Role,
    commit_index: u64,
    last_applied: u64,

    // Volatile state on leaders (reinitialised after election).
    next_index: Vec<u64>,
    match_index: Vec<u64>,

    // Volatile state on candidates.
    votes: Vec<bool>,

    /// Leaders: when the AppendEntries carrying entries (or the InstallSnapshot) that each
    /// peer has not answered yet was sent. While one is in flight, the peer gets heartbeats
    /// only (and the entries again after [`RESEND_TIMEOUT`]), so that a slow or unreachable
    /// follower is not sent the same entries for every new command.
    in_flight: Vec<Option<Instant>>,
    /// Leaders: new entries or a new commit index should go out now.
    replicate: bool,

    // Timers.
    election_deadline: Instant,
    last_heartbeat: Instant,
    rng: DetRng,

    ready: Ready<C>,
}

impl<C: Clone + std::fmt::Debug + Serialize + serde::de::DeserializeOwned> RaftCore<C> {
    /// A fresh peer `me` of `peers`, whose election timer starts at `now`.
    pub fn new(me: usize, peers: usize, seed: u64, now: Instant) -> RaftCore<C> {
        let mut core = RaftCore {
            me,
            peers,
            term: 0,
            voted_for: None,
            log: Log::new(),
            snapshot: Vec::new(),
            role: Role::Follower,
            commit_index: 0,
            last_applied: 0,
            next_index: vec![1; peers],
            match_index: vec![0; peers],
            votes: vec![false; peers],
            election_deadline: now,
            in_flight: vec![None; peers],
            replicate: false,
            last_heartbeat: now,
            rng: DetRng::new(seed),
            ready: Ready::default(),
        };
        core.reset_election_timer(now);
        core
    }

    /// A peer that restarts from what its predecessor persisted (`state` empty: from
    /// scratch). The service has already applied the snapshot, so applying resumes after it.
    ///
    /// # Panics
    /// If `state` is not what [`RaftCore::encode_state`] produced.
    pub fn restore(
        me: usize,
        peers: usize,
        seed: u64,
        now: Instant,
        state: &[u8],
        snapshot: Vec<u8>,
    ) -> RaftCore<C> {
        let mut core = RaftCore::new(me, peers, seed, now);
        if !state.is_empty() {
            let saved: Persistent<C> = labrpc::codec::decode(state)
                .unwrap_or_else(|e| panic!("peer {me}: cannot read persisted state: {e}"));
            core.term = saved.term;
            core.voted_for = saved.voted_for;
            core.log = saved.log;
            core.log.rebuild_encoded();
            core.snapshot = snapshot;
            core.commit_index = core.log.start_index();
            core.last_applied = core.log.start_index();
        }
        core
    }

    /// The persistent state, encoded for the persister: pieces whose concatenation is the
    /// encoding (see [`labrpc::Persister::save_pieces`]).
    pub fn encode_state(&self) -> Vec<Arc<Vec<u8>>> {
        // The same bytes as `codec::encode(&Persistent { term, voted_for, log })`, faster.
        self.log.encode_with(self.term, self.voted_for)
    }

    /// The service's latest snapshot (empty if none).
    pub fn snapshot_data(&self) -> &[u8] {
        &self.snapshot
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// True if this peer believes it is the leader.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    /// The log.
    pub fn log(&self) -> &Log<C> {
        &self.log
    }

    /// When [`RaftCore::tick`] next has something to do.
    pub fn deadline(&self) -> Instant {
        match self.role {
            Role::Leader if self.replicate => self.last_heartbeat,
            Role::Leader => self.last_heartbeat + HEARTBEAT_INTERVAL,
            _ => self.election_deadline,
        }
    }

    /// Takes what the driver must do now.
    pub fn take_ready(&mut self) -> Ready<C> {
        std::mem::take(&mut self.ready)
    }

    fn persist(&mut self) {
        self.ready.persist = true;
    }

    fn send(&mut self, peer: usize, message: Message<C>) {
        self.ready.messages.push((peer, message));
    }

    fn others(&self) -> impl Iterator<Item = usize> + use<C> {
        let me = self.me;
        (0..self.peers).filter(move |&p| p != me)
    }

    fn reset_election_timer(&mut self, now: Instant) {
        let ms = ELECTION_TIMEOUT_MS.start
            + self
                .rng
                .below(ELECTION_TIMEOUT_MS.end - ELECTION_TIMEOUT_MS.start);
        self.election_deadline = now + Duration::from_millis(ms);
    }

    /// Rules for all servers: a higher term makes any peer a follower in that term.
    fn observe_term(&mut self, term: u64, now: Instant) {
        if term > self.term {
            log::debug!("term {} -> {term}: follower", self.term);
            self.term = term;
            self.voted_for = None;
            self.persist();
            if self.role == Role::Leader {
                // A leader's election timer was not running.
                self.reset_election_timer(now);
            }
            self.role = Role::Follower;
        }
    }

    /// Time passes: followers and candidates may start an election, leaders send heartbeats.
    pub fn tick(&mut self, now: Instant) {
        match self.role {
            Role::Leader if now >= self.last_heartbeat + HEARTBEAT_INTERVAL => {
                self.broadcast_append(true, now);
                self.last_heartbeat = now;
            }
            Role::Leader if self.replicate => self.broadcast_append(false, now),
            Role::Follower | Role::Candidate if now >= self.election_deadline => {
                self.start_election(now)
            }
            _ => {}
        }
    }

    fn start_election(&mut self, now: Instant) {
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.me);
        self.votes = vec![false; self.peers];
        self.votes[self.me] = true;
        self.persist();
        self.reset_election_timer(now);
        log::debug!("term {}: election timeout, candidate", self.term);
        if self.peers == 1 {
            self.become_leader(now);
            return;
        }
        let args = RequestVoteArgs {
            term: self.term,
            candidate: self.me,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.others() {
            self.send(peer, Message::RequestVote(args.clone()));
        }
    }

    fn become_leader(&mut self, now: Instant) {
        log::debug!(
            "term {}: leader, log {}..={}",
            self.term,
            self.log.start_index() + 1,
            self.log.last_index()
        );
        self.role = Role::Leader;
        self.next_index = vec![self.log.last_index() + 1; self.peers];
        self.match_index = vec![0; self.peers];
        self.match_index[self.me] = self.log.last_index();
        self.in_flight = vec![None; self.peers];
        self.broadcast_append(true, now);
        self.last_heartbeat = now;
    }

    /// RequestVote RPC handler.
    pub fn handle_request_vote(&mut self, args: RequestVoteArgs, now: Instant) -> RequestVoteReply {
        self.observe_term(args.term, now);
        // §5.4.1: the candidate's log must be at least as up-to-date as ours.
        let up_to_date = (args.last_log_term, args.last_log_index)
            >= (self.log.last_term(), self.log.last_index());
        let vote_granted = args.term == self.term
            && self.voted_for.is_none_or(|v| v == args.candidate)
            && up_to_date;
        if vote_granted {
            if self.voted_for.is_none() {
                self.voted_for = Some(args.candidate);
                self.persist();
            }
            self.reset_election_timer(now);
        }
        RequestVoteReply {
            term: self.term,
            vote_granted,
        }
    }

    /// The reply to a RequestVote this peer sent to `peer`.
    pub fn handle_vote_reply(
        &mut self,
        peer: usize,
        args: &RequestVoteArgs,
        reply: RequestVoteReply,
        now: Instant,
    ) {
        self.observe_term(reply.term, now);
        if self.role != Role::Candidate || args.term != self.term || !reply.vote_granted {
            return;
        }
        self.votes[peer] = true;
        if self.votes.iter().filter(|&&v| v).count() * 2 > self.peers {
            self.become_leader(now);
        }
    }

    /// The service asks to replicate `command`: the index and term it will have if it is ever
    /// committed, or `None` if this peer is not the leader.
    pub fn start(&mut self, command: C) -> Option<Start> {
        if self.role != Role::Leader {
            return None;
        }
        let index = self.log.push(LogEntry {
            term: self.term,
            command,
        });
        self.match_index[self.me] = index;
        self.persist();
        if self.peers == 1 {
            self.advance_commit();
        }
        // Replicate soon, batching the commands started at this same moment.
        self.replicate = true;
        Some(Start {
            index,
            term: self.term,
        })
    }

    /// Sends every follower what it lacks (`heartbeat`: also an empty AppendEntries to
    /// followers that have entries in flight).
    fn broadcast_append(&mut self, heartbeat: bool, now: Instant) {
        self.replicate = false;
        for peer in self.others() {
            self.send_append(peer, heartbeat, now);
        }
    }

    /// Sends `peer` what it lacks from `next_index` on: entries, or the snapshot if the log
    /// no longer holds them. If entries to it are still in flight, sends only a heartbeat
    /// (if `heartbeat`), or nothing.
    fn send_append(&mut self, peer: usize, heartbeat: bool, now: Instant) {
        let next = self.next_index[peer];
        let waiting = self.in_flight[peer].is_some_and(|sent| now < sent + RESEND_TIMEOUT);
        if waiting && !heartbeat {
            return;
        }
        let heartbeat_only = waiting;
        if !heartbeat_only {
            self.in_flight[peer] = (next <= self.log.last_index()).then_some(now);
        }
        if next <= self.log.start_index() && !heartbeat_only {
            let args = InstallSnapshotArgs {
                term: self.term,
                leader: self.me,
                last_included_index: self.log.start_index(),
                last_included_term: self.log.start_term(),
                data: self.snapshot.clone(),
            };
            self.send(peer, Message::InstallSnapshot(args));
            return;
        }
        // A heartbeat while a snapshot is in flight starts at the snapshot: the follower may
        // refuse it, but it hears from its leader and does not start an election.
        let prev_log_index = (next - 1).max(self.log.start_index());
        let entries = if heartbeat_only {
            Vec::new()
        } else {
            self.log.entries_from(next, MAX_ENTRIES_PER_MESSAGE)
        };
        let args = AppendEntriesArgs {
            term: self.term,
            leader: self.me,
            prev_log_index,
            prev_log_term: self.log.term_at(prev_log_index).expect("prev entry exists"),
            leader_commit: self.commit_index,
            entries,
        };
        self.send(peer, Message::AppendEntries(args));
    }

    /// AppendEntries RPC handler.
    pub fn handle_append_entries(
        &mut self,
        args: AppendEntriesArgs<C>,
        now: Instant,
    ) -> AppendEntriesReply {
        let mut reply = AppendEntriesReply {
            term: self.term,
            success: false,
            conflict_term: None,
            conflict_index: 0,
        };
        if args.term < self.term {
            return reply;
        }
        self.observe_term(args.term, now);
        self.role = Role::Follower;
        self.reset_election_timer(now);
        reply.term = self.term;

        // Consistency check, with what the follower can offer the leader to skip ahead.
        let prev = args.prev_log_index;
        if prev > self.log.last_index() {
            reply.conflict_index = self.log.last_index() + 1;
            return reply;
        }
        if prev >= self.log.start_index() {
            let term = self.log.term_at(prev).expect("prev is in the log");
            if term != args.prev_log_term {
                reply.conflict_term = Some(term);
                reply.conflict_index = self.log.first_index_of_term_at(prev);
                return reply;
            }
        }
        // Entries up to the snapshot's end are committed, so they match the leader's.
        let last_new = prev + args.entries.len() as u64;
        for (index, entry) in (prev + 1..).zip(args.entries) {
            if index <= self.log.start_index() {
                continue;
            }
            match self.log.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    // A conflict: delete it and all that follow (never committed entries).
                    assert!(
                        index > self.commit_index,
                        "peer {}: leader overwrites committed entry {index}",
                        self.me
                    );
                    self.log.truncate_from(index);
                    self.log.push(entry);
                }
                None => {
                    self.log.push(entry);
                }
            }
            self.persist();
        }
        if args.leader_commit > self.commit_index {
            let commit = args.leader_commit.min(last_new);
            if commit > self.commit_index {
                self.commit_index = commit;
                self.apply();
            }
        }
        reply.success = true;
        reply
    }

    /// The reply to an AppendEntries this peer sent to `peer`.
    pub fn handle_append_reply(
        &mut self,
        peer: usize,
        args: &AppendEntriesArgs<C>,
        reply: AppendEntriesReply,
        now: Instant,
    ) {
        self.observe_term(reply.term, now);
        if self.role != Role::Leader || args.term != self.term {
            return;
        }
        // A snapshot in flight is the snapshot reply's to clear (or the resend timeout's): a
        // heartbeat's reply says nothing about it.
        if self.next_index[peer] > self.log.start_index() {
            self.in_flight[peer] = None;
        }
        if reply.success {
            let matched = args.prev_log_index + args.entries.len() as u64;
            if matched > self.match_index[peer] {
                self.match_index[peer] = matched;
                self.advance_commit();
            }
            self.next_index[peer] = self.next_index[peer].max(matched + 1);
            if self.next_index[peer] <= self.log.last_index() {
                // More to send: it did not fit, or came since.
                self.send_append(peer, false, now);
            }
            return;
        }
        if reply.term > args.term {
            return;
        }
        // Fast backtracking: skip the follower's whole conflicting term at once.
        let next = match reply.conflict_term {
            Some(term) => match self.log.last_index_of_term(term) {
                Some(index) => index + 1,
                None => reply.conflict_index,
            },
            None => reply.conflict_index,
        };
        let next = next
            .max(self.match_index[peer] + 1)
            .min(self.log.last_index() + 1);
        if next < self.next_index[peer] {
            // Progress: try the earlier index at once (else wait for the next heartbeat).
            self.next_index[peer] = next;
            self.send_append(peer, false, now);
        }
    }

    /// Commits the highest index a majority stores, if it is from the current term (§5.4.2:
    /// older entries are committed only indirectly, never by counting replicas).
    fn advance_commit(&mut self) {
        let mut matched = self.match_index.clone();
        matched[self.me] = self.log.last_index();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let majority = matched[self.peers / 2];
        if majority > self.commit_index && self.log.term_at(majority) == Some(self.term) {
            self.commit_index = majority;
            // Followers learn the new commit index from the next AppendEntries.
            self.apply();
        }
    }

    /// Hands the newly committed commands to the service, in order.
    fn apply(&mut self) {
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let index = self.last_applied;
            let command = self.log.entry(index).command.clone();
            self.ready
                .applies
                .push(ApplyMsg::Command { index, command });
        }
    }

    /// The service has a snapshot of everything through `index`: drop those entries.
    pub fn snapshot(&mut self, index: u64, data: Vec<u8>) {
        if index <= self.log.start_index() || index > self.last_applied {
            return;
        }
        log::debug!("snapshot through {index}");
        self.log.compact_to(index);
        self.snapshot = data;
        self.persist();
        self.ready.snapshot_changed = true;
    }

    /// InstallSnapshot RPC handler.
    pub fn handle_install_snapshot(
        &mut self,
        args: InstallSnapshotArgs,
        now: Instant,
    ) -> InstallSnapshotReply {
        if args.term < self.term {
            return InstallSnapshotReply { term: self.term };
        }
        self.observe_term(args.term, now);
        self.role = Role::Follower;
        self.reset_election_timer(now);
        let (index, term) = (args.last_included_index, args.last_included_term);
        if index > self.commit_index {
            log::debug!("installing snapshot through {index} (term {term})");
            self.log.reset_to_snapshot(index, term);
            self.snapshot = args.data;
            self.persist();
            self.ready.snapshot_changed = true;
            self.commit_index = index;
            self.last_applied = index;
            self.ready.applies.push(ApplyMsg::Snapshot {
                term,
                index,
                data: self.snapshot.clone(),
            });
        }
        InstallSnapshotReply { term: self.term }
    }

    /// The reply to an InstallSnapshot this peer sent to `peer`.
    pub fn handle_snapshot_reply(
        &mut self,
        peer: usize,
        args: &InstallSnapshotArgs,
        reply: InstallSnapshotReply,
        now: Instant,
    ) {
        self.observe_term(reply.term, now);
        if self.role != Role::Leader || args.term != self.term {
            return;
        }
        self.in_flight[peer] = None;
        let index = args.last_included_index;
        self.match_index[peer] = self.match_index[peer].max(index);
        self.next_index[peer] = self.next_index[peer].max(index + 1);
        if self.next_index[peer] <= self.log.last_index() {
            self.send_append(peer, false, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::ZERO;

    fn at(ms: u64) -> Instant {
        T0 + Duration::from_millis(ms)
    }

    fn votes_asked(ready: &Ready<u64>) -> Vec<usize> {
        ready
            .messages
            .iter()
            .filter(|(_, m)| matches!(m, Message::RequestVote(_)))
            .map(|(p, _)| *p)
            .collect()
    }

    /// Peer 0 of 3, elected leader in term 1.
    fn leader() -> RaftCore<u64> {
        let mut core = RaftCore::new(0, 3, 7, T0);
        core.tick(at(1000));
        let ready = core.take_ready();
        let Message::RequestVote(args) = ready.messages[0].1.clone() else {
            panic!("expected a vote request")
        };
        let granted = RequestVoteReply {
            term: 1,
            vote_granted: true,
        };
        core.handle_vote_reply(1, &args, granted, at(1001));
        assert!(core.is_leader());
        core.take_ready();
        core
    }

    #[test]
    fn election_timeout_starts_an_election() {
        let mut core: RaftCore<u64> = RaftCore::new(0, 3, 7, T0);
        core.tick(at(299));
        assert_eq!(core.role(), Role::Follower);
        core.tick(at(600));
        assert_eq!((core.role(), core.term()), (Role::Candidate, 1));
        let ready = core.take_ready();
        assert!(ready.persist);
        assert_eq!(votes_asked(&ready), vec![1, 2]);
    }

    #[test]
    fn votes_once_per_term_and_only_for_up_to_date_logs() {
        let mut core: RaftCore<u64> = RaftCore::new(1, 3, 7, T0);
        let ask = |candidate, last_log_term| RequestVoteArgs {
            term: 2,
            candidate,
            last_log_index: 0,
            last_log_term,
        };
        assert!(core.handle_request_vote(ask(0, 0), at(1)).vote_granted);
        assert!(!core.handle_request_vote(ask(2, 0), at(2)).vote_granted);
        assert!(core.handle_request_vote(ask(0, 0), at(3)).vote_granted);
        let mut other: RaftCore<u64> = leader();
        other.start(5);
        let stale = RequestVoteArgs {
            term: 9,
            candidate: 2,
            last_log_index: 0,
            last_log_term: 0,
        };
        assert!(!other.handle_request_vote(stale, at(2001)).vote_granted);
        assert_eq!((other.term(), other.role()), (9, Role::Follower));
    }

    #[test]
    fn leader_commits_on_majority_and_follower_backs_up_fast() {
        let mut core = leader();
        for c in 1..=3 {
            core.start(c);
        }
        core.tick(at(1100));
        let ready = core.take_ready();
        let (peer, Message::AppendEntries(args)) = ready.messages[0].clone() else {
            panic!("expected AppendEntries")
        };
        assert_eq!(args.entries.len(), 3);
        // A follower whose log holds three entries of an old term.
        let mut follower: RaftCore<u64> = RaftCore::new(peer, 3, 9, T0);
        for c in 0..3 {
            follower.log.push(LogEntry {
                term: 0,
                command: 100 + c,
            });
        }
        let reply = follower.handle_append_entries(args.clone(), at(1101));
        assert!(reply.success);
        assert_eq!(follower.log().last_term(), 1);
        core.handle_append_reply(peer, &args, reply, at(1102));
        assert_eq!(core.commit_index(), 3);
        let applied = core.take_ready().applies;
        assert_eq!(applied.len(), 3);
        // A heartbeat that assumes too long a log is refused with a hint.
        let mut args2 = args.clone();
        args2.prev_log_index = 10;
        args2.entries.clear();
        let refused = follower.handle_append_entries(args2, at(1103));
        assert_eq!((refused.success, refused.conflict_index), (false, 4));
    }
}
// END SOLUTION
