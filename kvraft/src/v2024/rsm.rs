//! A replicated state machine on Raft: the layer between a service (the key/value store here,
//! the shard controller and the shard groups in Lab 5) and its Raft peer.
//!
//! A service describes itself as a [`StateMachine`]: how to apply one command, and how to
//! snapshot and restore its whole state. [`Rsm::submit`] puts a command through Raft's log and
//! returns the state machine's output for it once the command has been applied, or
//! [`NotLeader`] if this server cannot get it committed (it is not the leader, or lost
//! leadership before the command committed). Every server applies every committed command,
//! in log order, whether or not it submitted it; with a size limit, the layer snapshots the
//! state machine when Raft's persisted state grows near it, and restores it on restart.
//!
//! ```no_run
//! use kvraft::rsm::{NotLeader, Rsm, StateMachine};
//! # use labrpc::{ClientEnd, Persister};
//!
//! /// A counter that every server agrees on.
//! #[derive(Default)]
//! struct Counter(u64);
//!
//! impl StateMachine for Counter {
//!     type Command = u64; // add this much
//!     type Output = u64; // the total after it
//!     fn apply(&mut self, add: u64) -> u64 {
//!         self.0 += add;
//!         self.0
//!     }
//!     fn snapshot(&self) -> Vec<u8> {
//!         self.0.to_le_bytes().to_vec()
//!     }
//!     fn restore(&mut self, snapshot: &[u8]) {
//!         self.0 = u64::from_le_bytes(snapshot.try_into().unwrap());
//!     }
//! }
//!
//! # async fn example(servers: Vec<ClientEnd>, me: usize, persister: Persister) {
//! let rsm = Rsm::new(servers, me, persister, Some(1000), Counter::default());
//! match rsm.submit(2).await {
//!     Ok(total) => println!("committed; the counter is now {total}"),
//!     Err(NotLeader) => println!("ask another server"),
//! }
//! # }
//! ```

use labrpc::{ClientEnd, Persister};
use raft::{Command, Raft};
use serde::{Deserialize, Serialize};
use std::fmt;
// BEGIN SOLUTION
use labrpc::rand::RngExt;
use labrpc::sim;
use labrpc::sync::{mpsc, oneshot};
use raft::{ApplyMsg, Start};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
// END SOLUTION

/// A service run by an [`Rsm`]: a deterministic state machine. Every server applies the same
/// commands in the same order, so every server's state goes through the same states.
pub trait StateMachine: 'static {
    /// What goes through the log.
    type Command: Command;
    /// What applying a command returns to the server that submitted it.
    type Output: 'static;

    /// Applies one committed command. Must depend only on the state and the command (no
    /// clock, no randomness, no iteration over a `std::collections::HashMap`).
    fn apply(&mut self, command: Self::Command) -> Self::Output;

    /// The whole state, as bytes (including anything needed to apply later commands the same
    /// way, such as a duplicate-detection table).
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with one [`snapshot`](StateMachine::snapshot) returned.
    fn restore(&mut self, snapshot: &[u8]);
}

/// Identifies one submission: the server, its incarnation (drawn at random when it starts,
/// so that a restarted server never reuses an old id) and a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpId {
    /// The submitting server's index.
    pub server: usize,
    /// The submitting server's incarnation.
    pub incarnation: u64,
    /// Its submissions, counted.
    pub seq: u64,
}

/// A command as it goes through the log, tagged with who submitted it: when an entry is
/// applied at the index a submission waits on, the tag tells whether it is that submission's
/// command or another leader's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Op<C> {
    /// Who submitted it.
    pub id: OpId,
    /// The service's command.
    pub command: C,
}

/// [`Rsm::submit`] could not get the command committed through this server: it is not the
/// leader, or it lost leadership (or stayed cut off too long) before the command was applied.
/// The command may or may not be applied later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader;

impl fmt::Display for NotLeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not the leader")
    }
}

impl std::error::Error for NotLeader {}

// BEGIN SOLUTION
/// How often a waiting submission checks that this server is still the leader of the term
/// it submitted in.
const LEADERSHIP_CHECK: Duration = Duration::from_millis(20);

/// How long a submission waits at most: a leader cut off from the majority keeps believing it
/// leads, so without a limit its clients would wait for as long as the partition lasts.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(1);

/// A submission waiting for its index to be applied.
struct Waiter<O> {
    id: OpId,
    reply: oneshot::Sender<O>,
}

struct Inner<S: StateMachine> {
    raft: Raft<Op<S::Command>>,
    me: usize,
    incarnation: u64,
    next_seq: Cell<u64>,
    state: RefCell<S>,
    /// Submissions waiting, by log index.
    waiters: RefCell<BTreeMap<u64, Waiter<S::Output>>>,
    persister: Persister,
    max_raft_state: Option<usize>,
}
// END SOLUTION

/// The replicated state machine of one server. Cloning gives another handle to it.
pub struct Rsm<S: StateMachine> {
    // BEGIN SOLUTION
    inner: Rc<Inner<S>>,
    // END SOLUTION
    // BEGIN SKELETON
    // raft: Raft<Op<S::Command>>,
    // state_machine: std::rc::Rc<std::cell::RefCell<S>>,
    // END SKELETON
}

impl<S: StateMachine> Clone for Rsm<S> {
    fn clone(&self) -> Self {
        Rsm {
            // BEGIN SOLUTION
            inner: self.inner.clone(),
            // END SOLUTION
            // BEGIN SKELETON
            // raft: self.raft.clone(),
            // state_machine: self.state_machine.clone(),
            // END SKELETON
        }
    }
}

impl<S: StateMachine> Rsm<S> {
    /// Starts server `me` of `servers` (call it as the server's node): makes its Raft peer,
    /// restores `state_machine` from the persister's snapshot if there is one, and starts
    /// applying committed commands. With `max_raft_state` = `Some(bytes)`, snapshots whenever
    /// Raft's persisted state reaches that size; with `None`, never.
    pub fn new(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
        state_machine: S,
    ) -> Rsm<S> {
        // BEGIN SOLUTION
        let mut state_machine = state_machine;
        let snapshot = persister.read_snapshot();
        if !snapshot.is_empty() {
            state_machine.restore(&snapshot);
        }
        let (apply_tx, apply_rx) = mpsc::unbounded_channel();
        let raft = Raft::new(servers, me, persister.clone(), apply_tx);
        let rsm = Rsm {
            inner: Rc::new(Inner {
                raft,
                me,
                incarnation: sim::rng().random(),
                next_seq: Cell::new(0),
                state: RefCell::new(state_machine),
                waiters: RefCell::new(BTreeMap::new()),
                persister,
                max_raft_state,
            }),
        };
        sim::spawn(rsm.clone().apply_committed(apply_rx));
        rsm
        // END SOLUTION
        // BEGIN SKELETON
        // let (apply_tx, _apply_rx) = labrpc::sync::mpsc::unbounded_channel();
        // let _ = max_raft_state;
        // Rsm {
        //     raft: Raft::new(servers, me, persister, apply_tx),
        //     state_machine: std::rc::Rc::new(std::cell::RefCell::new(state_machine)),
        // }
        // END SKELETON
    }

    /// Puts `command` through the log and returns what applying it returned, or
    /// [`NotLeader`] if this server could not get it committed.
    pub async fn submit(&self, command: S::Command) -> Result<S::Output, NotLeader> {
        // BEGIN SOLUTION
        let inner = &self.inner;
        let seq = inner.next_seq.get();
        inner.next_seq.set(seq + 1);
        let id = OpId {
            server: inner.me,
            incarnation: inner.incarnation,
            seq,
        };
        let Some(Start { index, term }) = inner.raft.start(Op { id, command }) else {
            return Err(NotLeader);
        };
        let (reply, mut output) = oneshot::channel();
        // A waiter already at this index belongs to an entry another leader overwrote: dropping
        // it tells its submission.
        inner
            .waiters
            .borrow_mut()
            .insert(index, Waiter { id, reply });
        let deadline = sim::now() + SUBMIT_TIMEOUT;
        while sim::now() < deadline {
            match sim::timeout(LEADERSHIP_CHECK, &mut output).await {
                Ok(Ok(output)) => return Ok(output),
                // Another command was applied at our index, or a snapshot covered it.
                Ok(Err(_)) => return Err(NotLeader),
                Err(sim::Elapsed) if inner.raft.get_state() != (term, true) => break,
                Err(sim::Elapsed) => {}
            }
        }
        let mut waiters = inner.waiters.borrow_mut();
        if waiters.get(&index).is_some_and(|w| w.id == id) {
            waiters.remove(&index);
        }
        Err(NotLeader)
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = command;
        // unimplemented!("Rsm::submit is not written yet (kvraft/src/v2024/rsm.rs)")
        // END SKELETON
    }

    /// The server's Raft peer (the tester serves its RPCs, and asks it who leads).
    pub fn raft(&self) -> &Raft<Op<S::Command>> {
        // BEGIN SOLUTION
        &self.inner.raft
        // END SOLUTION
        // BEGIN SKELETON
        // &self.raft
        // END SKELETON
    }

    /// Runs `f` on the state machine's current state (what this server has applied so far).
    pub fn with_state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        // BEGIN SOLUTION
        f(&self.inner.state.borrow())
        // END SOLUTION
        // BEGIN SKELETON
        // f(&self.state_machine.borrow())
        // END SKELETON
    }

    /// Stops the server's Raft peer.
    pub fn kill(&self) {
        self.raft().kill();
    }
}

// BEGIN SOLUTION
impl<S: StateMachine> Rsm<S> {
    /// The applier: feeds every committed command to the state machine, in order, answers the
    /// submission waiting on its index, and snapshots when Raft's state grows too large.
    async fn apply_committed(
        self,
        mut committed: mpsc::UnboundedReceiver<ApplyMsg<Op<S::Command>>>,
    ) {
        let inner = &self.inner;
        let mut last_applied = 0;
        while let Some(message) = committed.recv().await {
            match message {
                ApplyMsg::Command { index, command } => {
                    if index <= last_applied {
                        continue;
                    }
                    last_applied = index;
                    let output = inner.state.borrow_mut().apply(command.command);
                    let waiter = inner.waiters.borrow_mut().remove(&index);
                    if let Some(waiter) = waiter
                        && waiter.id == command.id
                    {
                        let _ = waiter.reply.send(output);
                    }
                    if let Some(limit) = inner.max_raft_state
                        && inner.persister.raft_state_size() >= limit
                    {
                        let snapshot = inner.state.borrow().snapshot();
                        inner.raft.snapshot(index, snapshot);
                    }
                }
                ApplyMsg::Snapshot { index, data, .. } => {
                    if index <= last_applied {
                        continue;
                    }
                    last_applied = index;
                    inner.state.borrow_mut().restore(&data);
                    // The snapshot covers these indexes: whatever was applied there, it is not
                    // known to be the waiting submission's command.
                    inner.waiters.borrow_mut().retain(|&i, _| i > index);
                }
            }
        }
    }
}
// END SOLUTION
