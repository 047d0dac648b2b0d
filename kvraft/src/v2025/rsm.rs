//! Part 4A: a replicated state machine on Raft, the layer between a service (the key/value
//! server of 4B, the shard groups of Lab 5) and its Raft peer.
//!
//! A service describes itself as a [`StateMachine`]: how to execute one request, and how to
//! snapshot and restore its whole state. [`Rsm::submit`] puts a request through Raft's log
//! and returns what the state machine's [`do_op`](StateMachine::do_op) returned for it, on
//! this server, once the request has been committed and executed; or [`WrongLeader`] if this
//! server cannot get it committed: it is not the leader, or it lost leadership before the
//! request committed (a new term, or another request at the index `start` returned). Every
//! server executes every committed request, in log order, exactly once, whether or not it
//! submitted it.
//!
//! Part 4C: with a size limit, the layer snapshots the state machine when Raft's persisted
//! state nears it, and restores it from the snapshot when the server restarts and when Raft
//! hands it a leader's snapshot.
//!
//! ```no_run
//! use kvraft::v2025::rsm::{Rsm, StateMachine, WrongLeader};
//! # use labrpc::{ClientEnd, Persister};
//!
//! /// A counter that every server agrees on.
//! #[derive(Default)]
//! struct Counter(u64);
//!
//! impl StateMachine for Counter {
//!     type Request = u64; // add this much
//!     type Reply = u64; // the total after it
//!     fn do_op(&mut self, add: u64) -> u64 {
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
//!     Err(WrongLeader) => println!("ask another server"),
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

/// A service run by an [`Rsm`]: a deterministic state machine. Every server executes the same
/// requests in the same order, so every server's state goes through the same states.
pub trait StateMachine: 'static {
    /// What goes through the log (the original's `req any`).
    type Request: Command;
    /// What executing a request returns to the server that submitted it.
    type Reply: 'static;

    /// Executes one committed request. Must depend only on the state and the request (no
    /// clock, no randomness, no iteration over a `std::collections::HashMap`).
    fn do_op(&mut self, request: Self::Request) -> Self::Reply;

    /// The whole state, as bytes.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with one [`snapshot`](StateMachine::snapshot) returned.
    fn restore(&mut self, snapshot: &[u8]);
}

/// A request as it goes through the log: the service's request, and whatever the layer needs
/// to recognise it when it comes out (add your fields).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Op<R> {
    // BEGIN SOLUTION
    /// Who submitted it.
    pub id: OpId,
    // END SOLUTION
    /// The service's request.
    pub request: R,
}

// BEGIN SOLUTION
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
// END SOLUTION

/// [`Rsm::submit`] could not get the request committed through this server (the original's
/// `ErrWrongLeader`): it is not the leader, it lost leadership before the request committed,
/// or it shut down. The request may or may not be executed later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongLeader;

impl fmt::Display for WrongLeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrWrongLeader")
    }
}

impl std::error::Error for WrongLeader {}

// BEGIN SOLUTION
/// How often a waiting submission checks that this server still leads in the term it
/// submitted in. There is no other limit: a leader cut off from the majority waits until it
/// learns of a newer term (the tests check that its submissions stay blocked).
const LEADERSHIP_CHECK: Duration = Duration::from_millis(20);

/// A submission waiting for its index to be executed.
struct Waiter<R> {
    id: OpId,
    reply: oneshot::Sender<R>,
}

/// The submissions waiting, by log index. Dropping it (when the applier stops, or its server
/// crashes) tells every waiting submission that this server will not answer.
type Waiters<R> = Rc<RefCell<Option<BTreeMap<u64, Waiter<R>>>>>;

struct Inner<S: StateMachine> {
    raft: Raft<Op<S::Request>>,
    me: usize,
    incarnation: u64,
    next_seq: Cell<u64>,
    /// `None` once the applier stopped.
    waiters: Waiters<S::Reply>,
}

/// Closes the waiters when the applier stops: its loop ends (Raft closed the channel) or its
/// task is dropped (the server's node crashed).
struct CloseOnDrop<R>(Waiters<R>);

impl<R> Drop for CloseOnDrop<R> {
    fn drop(&mut self) {
        self.0.borrow_mut().take();
    }
}
// END SOLUTION

/// The replicated state machine of one server. Cloning gives another handle to it.
pub struct Rsm<S: StateMachine> {
    // BEGIN SOLUTION
    inner: Rc<Inner<S>>,
    // END SOLUTION
    // BEGIN SKELETON
    // raft: Raft<Op<S::Request>>,
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
    /// Starts server `me` of `servers` (the original's `MakeRSM`; call it as the server's
    /// node): makes its Raft peer, restores `state_machine` from the persister's snapshot if
    /// there is one, and starts executing committed requests; returns at once. With
    /// `max_raft_state` = `Some(bytes)`, snapshots whenever Raft's persisted state reaches that
    /// size; with `None`, never.
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
        let waiters: Waiters<S::Reply> = Rc::new(RefCell::new(Some(BTreeMap::new())));
        let applier = Applier {
            state_machine,
            raft: raft.clone(),
            waiters: CloseOnDrop(waiters.clone()),
            persister,
            max_raft_state,
        };
        sim::spawn(applier.run(apply_rx));
        Rsm {
            inner: Rc::new(Inner {
                raft,
                me,
                incarnation: sim::rng().random(),
                next_seq: Cell::new(0),
                waiters,
            }),
        }
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

    /// Puts `request` through the log and returns what executing it returned on this server
    /// (the original's `Submit`), or [`WrongLeader`] if this server could not get it committed.
    pub async fn submit(&self, request: S::Request) -> Result<S::Reply, WrongLeader> {
        // BEGIN SOLUTION
        let inner = &self.inner;
        let seq = inner.next_seq.get();
        inner.next_seq.set(seq + 1);
        let id = OpId {
            server: inner.me,
            incarnation: inner.incarnation,
            seq,
        };
        let (reply, mut output) = oneshot::channel();
        let (index, term) = {
            let mut waiters = inner.waiters.borrow_mut();
            let Some(waiters) = waiters.as_mut() else {
                return Err(WrongLeader);
            };
            let Some(Start { index, term }) = inner.raft.start(Op { id, request }) else {
                return Err(WrongLeader);
            };
            // A waiter already at this index belongs to an entry another leader overwrote:
            // dropping it tells its submission.
            waiters.insert(index, Waiter { id, reply });
            (index, term)
        };
        self.wait(index, term, id, &mut output).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = request;
        // unimplemented!("Rsm::submit is not written yet (kvraft/src/v2025/rsm.rs)")
        // END SKELETON
    }

    /// The server's Raft peer (the tester serves its RPCs, and asks it who leads).
    pub fn raft(&self) -> &Raft<Op<S::Request>> {
        // BEGIN SOLUTION
        &self.inner.raft
        // END SOLUTION
        // BEGIN SKELETON
        // &self.raft
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl<S: StateMachine> Rsm<S> {
    /// Waits for the request `id`, started at `index` in `term`, to be executed, as long as
    /// this server leads in `term`.
    async fn wait(
        &self,
        index: u64,
        term: u64,
        id: OpId,
        output: &mut oneshot::Receiver<S::Reply>,
    ) -> Result<S::Reply, WrongLeader> {
        loop {
            match sim::timeout(LEADERSHIP_CHECK, &mut *output).await {
                Ok(Ok(reply)) => return Ok(reply),
                // Another request was executed at our index, a snapshot covered it, or the
                // applier stopped.
                Ok(Err(_)) => return Err(WrongLeader),
                Err(sim::Elapsed) if self.inner.raft.get_state() != (term, true) => break,
                Err(sim::Elapsed) => {}
            }
        }
        if let Some(waiters) = self.inner.waiters.borrow_mut().as_mut()
            && waiters.get(&index).is_some_and(|w| w.id == id)
        {
            waiters.remove(&index);
        }
        Err(WrongLeader)
    }
}

/// The applier's state: the state machine is its alone.
struct Applier<S: StateMachine> {
    state_machine: S,
    raft: Raft<Op<S::Request>>,
    waiters: CloseOnDrop<S::Reply>,
    persister: Persister,
    max_raft_state: Option<usize>,
}

impl<S: StateMachine> Applier<S> {
    /// Feeds every committed request to the state machine, in order, answers the submission
    /// waiting on its index, and snapshots when Raft's state grows too large.
    async fn run(mut self, mut committed: mpsc::UnboundedReceiver<ApplyMsg<Op<S::Request>>>) {
        let mut last_applied = 0;
        while let Some(message) = committed.recv().await {
            match message {
                ApplyMsg::Command { index, command } => {
                    if index <= last_applied {
                        continue;
                    }
                    last_applied = index;
                    let reply = self.state_machine.do_op(command.request);
                    let waiter = self
                        .waiters
                        .0
                        .borrow_mut()
                        .as_mut()
                        .and_then(|w| w.remove(&index));
                    if let Some(waiter) = waiter
                        && waiter.id == command.id
                    {
                        let _ = waiter.reply.send(reply);
                    }
                    if let Some(limit) = self.max_raft_state
                        && self.persister.raft_state_size() >= limit
                    {
                        self.raft.snapshot(index, self.state_machine.snapshot());
                    }
                }
                ApplyMsg::Snapshot { index, data, .. } => {
                    if index <= last_applied {
                        continue;
                    }
                    last_applied = index;
                    self.state_machine.restore(&data);
                    // The snapshot covers these indexes: whatever was executed there, it is
                    // not known to be the waiting submission's request.
                    if let Some(waiters) = self.waiters.0.borrow_mut().as_mut() {
                        waiters.retain(|&i, _| i > index);
                    }
                }
            }
        }
    }
}
// END SOLUTION
