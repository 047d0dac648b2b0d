//! Lab 3: Raft.
//!
//! A Raft peer replicates a log of commands among a fixed set of peers. The service on top
//! (the tester here, a key/value server in the next lab) creates one [`Raft`] per server,
//! hands it commands with [`Raft::start`], and receives every committed command, in log
//! order, as an [`ApplyMsg`] on the channel it passed to [`Raft::new`].
//!
//! The lab comes in four parts, each with its tests (`cargo test -p raft 3a`, or
//! `make raft-3a`):
//! - **3A** leader election: [`Raft::get_state`], RequestVote, heartbeats.
//! - **3B** log replication: [`Raft::start`], AppendEntries, commitment, applying.
//! - **3C** persistence: save term, vote and log in the [`Persister`], read them back in
//!   [`Raft::new`]; fast log backtracking.
//! - **3D** log compaction: [`Raft::snapshot`], InstallSnapshot.
//!
//! Peers talk only through the simulated network ([`ClientEnd::call`]); all time is
//! virtual (`labrpc::sim::sleep`, `labrpc::sim::now`) and all randomness comes from
//! `labrpc::sim::rng()`, so a failing run replays exactly from its seed. Use the `log`
//! crate for debug output: `RUST_LOG=raft=debug` shows it, prefixed with virtual time and
//! node. See `docs/raft.md` for the handout.

pub mod raftlog;
pub mod rpc;
pub mod state;

use labrpc::sync::mpsc::UnboundedSender;
use labrpc::{ClientEnd, Persister, Service};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use rpc::{
    AppendEntries, AppendEntriesArgs, AppendEntriesReply, InstallSnapshot, InstallSnapshotArgs,
    InstallSnapshotReply, LogEntry, RequestVote, RequestVoteArgs, RequestVoteReply,
};

// BEGIN SOLUTION
use crate::state::{Message, RaftCore};
use labrpc::rand::RngExt;
use labrpc::sim::{self, Node};
use labrpc::sync::Notify;
use parking_lot::Mutex;
// END SOLUTION

/// What a command must be to go through Raft: cloneable, printable, and encodable (it is
/// sent to peers and persisted). Implemented for every such type: integers and strings in
/// the tests, the key/value operation type in the next lab.
pub trait Command: Clone + Debug + Serialize + DeserializeOwned + Send + 'static {}

impl<T: Clone + Debug + Serialize + DeserializeOwned + Send + 'static> Command for T {}

/// What Raft hands the service, in order, on the apply channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyMsg<C> {
    /// A newly committed command. Each index comes once per peer instance, in increasing
    /// order with no gaps, starting right after the last snapshot.
    Command {
        /// Its log index (the first command has index 1).
        index: u64,
        /// The command, as given to [`Raft::start`].
        command: C,
    },
    /// A snapshot from the leader that replaces the service's state (3D): everything up to
    /// and including `index`. Commands after `index` follow.
    Snapshot {
        /// The term of the entry at `index`.
        term: u64,
        /// The last index the snapshot covers.
        index: u64,
        /// The service's snapshot bytes.
        data: Vec<u8>,
    },
}

/// Where [`Raft::start`] put a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    /// The index the command will have if it is ever committed.
    pub index: u64,
    /// The leader's current term.
    pub term: u64,
}

/// One Raft peer. Cloning gives another handle to the same peer.
pub struct Raft<C: Command> {
    inner: Arc<Inner<C>>,
}

impl<C: Command> Clone for Raft<C> {
    fn clone(&self) -> Self {
        Raft {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Command> Debug for Raft<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raft(peer {})", self.inner.me)
    }
}

/// The peer's state, shared by its handle, its RPC handlers and its background tasks.
// BEGIN SKELETON
// #[allow(dead_code)] // Remove once your code uses every field.
// END SKELETON
struct Inner<C: Command> {
    /// One end per peer, the same order on every peer; `peers[me]` is this peer.
    peers: Vec<ClientEnd>,
    /// Where to save persistent state (and the service's snapshot).
    persister: Persister,
    /// This peer's index in `peers`.
    me: usize,
    /// Where committed commands go.
    apply_tx: UnboundedSender<ApplyMsg<C>>,
    /// Set by [`Raft::kill`].
    dead: AtomicBool,
    // BEGIN SOLUTION
    /// The node this peer runs on: its tasks are spawned there, and stop if it crashes.
    node: Node,
    /// The Raft state machine.
    core: Mutex<RaftCore<C>>,
    /// Wakes the timer task when its deadline moved earlier.
    wake: Notify,
    // END SOLUTION
}

impl<C: Command> Raft<C> {
    /// Creates peer `me` of `peers` (call it as that peer's node, in `node.enter`): restores
    /// the state `persister` holds (the service has already read the snapshot), starts the
    /// background tasks, and returns at once. Committed commands will be sent on `apply_tx`.
    pub fn new(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_tx: UnboundedSender<ApplyMsg<C>>,
    ) -> Raft<C> {
        // BEGIN SOLUTION
        let core = RaftCore::restore(
            me,
            peers.len(),
            sim::rng().random(),
            sim::now(),
            &persister.read_raft_state(),
            persister.read_snapshot(),
        );
        // END SOLUTION
        let inner = Arc::new(Inner {
            peers,
            persister,
            me,
            apply_tx,
            dead: AtomicBool::new(false),
            // BEGIN SOLUTION
            node: Node::current(),
            core: Mutex::new(core),
            wake: Notify::new(),
            // END SOLUTION
        });
        // BEGIN SOLUTION
        inner.node.spawn(inner.clone().run_timers());
        // END SOLUTION
        Raft { inner }
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn get_state(&self) -> (u64, bool) {
        // BEGIN SOLUTION
        let core = self.inner.core.lock();
        (core.term(), core.is_leader())
        // END SOLUTION
        // BEGIN SKELETON
        // (0, false)
        // END SKELETON
    }

    /// Asks the peer to append `command` to the replicated log. Returns at once: `None` if
    /// this peer is not the leader, else the index the command will have if it is ever
    /// committed, and the current term. There is no guarantee it will be committed.
    pub fn start(&self, command: C) -> Option<Start> {
        // BEGIN SOLUTION
        if self.inner.dead.load(Ordering::Relaxed) {
            return None;
        }
        self.inner.with_core(|core| core.start(command))
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = command;
        // None
        // END SKELETON
    }

    /// The service has saved a snapshot of its state through log index `index`
    /// (inclusive): Raft may discard the log up to there, and must persist `snapshot`
    /// together with its own state.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        // BEGIN SOLUTION
        self.inner.with_core(|core| core.snapshot(index, snapshot));
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (index, snapshot);
        // END SKELETON
    }

    /// Stops the peer: its background tasks end, and it sends and applies nothing more. The
    /// tester calls it when it crashes a server.
    pub fn kill(&self) {
        self.inner.dead.store(true, Ordering::Relaxed);
        // BEGIN SOLUTION
        self.inner.wake.notify_one();
        // END SOLUTION
    }

    /// True once [`Raft::kill`] was called.
    pub fn killed(&self) -> bool {
        self.inner.dead.load(Ordering::Relaxed)
    }

    /// The `Raft` RPC service of this peer, for the tester to register with its server.
    pub fn service(&self) -> Service {
        let (a, b, c) = (self.clone(), self.clone(), self.clone());
        Service::new()
            .handle(RequestVote::<C>::new(), move |args| {
                let rf = a.clone();
                async move { rf.request_vote(args) }
            })
            .handle(AppendEntries::<C>::new(), move |args| {
                let rf = b.clone();
                async move { rf.append_entries(args) }
            })
            .handle(InstallSnapshot::<C>::new(), move |args| {
                let rf = c.clone();
                async move { rf.install_snapshot(args) }
            })
    }

    /// The RequestVote RPC handler.
    fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        // BEGIN SOLUTION
        self.inner
            .with_core(|core| core.handle_request_vote(args, sim::now()))
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // RequestVoteReply::default()
        // END SKELETON
    }

    /// The AppendEntries RPC handler.
    fn append_entries(&self, args: AppendEntriesArgs<C>) -> AppendEntriesReply {
        // BEGIN SOLUTION
        self.inner
            .with_core(|core| core.handle_append_entries(args, sim::now()))
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // AppendEntriesReply::default()
        // END SKELETON
    }

    /// The InstallSnapshot RPC handler.
    fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        // BEGIN SOLUTION
        self.inner
            .with_core(|core| core.handle_install_snapshot(args, sim::now()))
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // InstallSnapshotReply::default()
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl<C: Command> Inner<C> {
    /// Runs `f` on the state machine, then carries out what it asked for: persist, apply,
    /// send; and wakes the timer task if its deadline moved earlier.
    fn with_core<R>(self: &Arc<Self>, f: impl FnOnce(&mut RaftCore<C>) -> R) -> R {
        let mut core = self.core.lock();
        let before = core.deadline();
        let result = f(&mut core);
        let ready = core.take_ready();
        if ready.persist {
            let snapshot = ready
                .snapshot_changed
                .then(|| core.snapshot_data().to_vec());
            self.persister.save_pieces(core.encode_state(), snapshot);
        }
        let alive = !self.dead.load(Ordering::Relaxed);
        if alive {
            // The channel is unbounded, so sending under the lock cannot block.
            for msg in ready.applies {
                let _ = self.apply_tx.send(msg);
            }
            for (peer, message) in ready.messages {
                self.send(peer, message);
            }
        }
        let earlier = core.deadline() < before;
        drop(core);
        if earlier {
            self.wake.notify_one();
        }
        result
    }

    /// Sends one RPC from a task of its own (never wait for a reply in line: a lost
    /// request can take seconds to fail) and feeds the reply back to the state machine.
    fn send(self: &Arc<Self>, peer: usize, message: Message<C>) {
        let this = self.clone();
        self.node.spawn(async move {
            let end = &this.peers[peer];
            match message {
                Message::RequestVote(args) => {
                    if let Ok(reply) = end.call::<RequestVote<C>>(&args).await {
                        this.with_core(|core| {
                            core.handle_vote_reply(peer, &args, reply, sim::now())
                        });
                    }
                }
                Message::AppendEntries(args) => {
                    if let Ok(reply) = end.call::<AppendEntries<C>>(&args).await {
                        this.with_core(|core| {
                            core.handle_append_reply(peer, &args, reply, sim::now())
                        });
                    }
                }
                Message::InstallSnapshot(args) => {
                    if let Ok(reply) = end.call::<InstallSnapshot<C>>(&args).await {
                        this.with_core(|core| {
                            core.handle_snapshot_reply(peer, &args, reply, sim::now())
                        });
                    }
                }
            }
        });
    }

    /// The timer task: sleeps until the state machine's next deadline (or until woken
    /// because it moved earlier), then ticks it. No fixed-rate ticker: an idle peer costs
    /// one wake-up per heartbeat or election timeout.
    async fn run_timers(self: Arc<Self>) {
        while !self.dead.load(Ordering::Relaxed) {
            let deadline = self.core.lock().deadline();
            let now = sim::now();
            if deadline > now {
                let _ = sim::timeout(deadline - now, self.wake.notified()).await;
            }
            if self.dead.load(Ordering::Relaxed) {
                break;
            }
            self.with_core(|core| core.tick(sim::now()));
        }
    }
}
// END SOLUTION
