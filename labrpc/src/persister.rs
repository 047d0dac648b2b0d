//! The persister: a server's stable storage.
//!
//! Raft saves its persistent state (and the service's snapshot) here and reads it back after
//! a restart. In a simulation it is memory that the harness treats as stable: a restarted
//! server gets a *copy* of its predecessor's persister, so anything the crashed instance might
//! still write cannot reach its successor.
//!
//! In a real process, the same persister also hands every save to a [`Store`] that writes it
//! somewhere lasting (the `realproc` crate's files, with group commit and a durability gate):
//! Raft's code does not change.

use parking_lot::Mutex;
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Default)]
struct Saved {
    raft_state: Pieces,
    snapshot: Arc<Vec<u8>>,
}

/// Raft state kept as pieces whose concatenation is the state (usually one piece).
#[derive(Clone, Default)]
struct Pieces {
    pieces: Vec<Arc<Vec<u8>>>,
    len: usize,
}

impl Pieces {
    fn new(pieces: Vec<Arc<Vec<u8>>>) -> Pieces {
        let len = pieces.iter().map(|p| p.len()).sum();
        Pieces { pieces, len }
    }

    /// The state in one block: the piece itself if there is one, else a concatenation.
    fn joined(&self) -> Arc<Vec<u8>> {
        match self.pieces.as_slice() {
            [one] => one.clone(),
            _ => Arc::new(self.concat()),
        }
    }

    fn concat(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len);
        for piece in &self.pieces {
            bytes.extend_from_slice(piece);
        }
        bytes
    }
}

/// Where a persister's saves also go, in a real process (files: the `realproc` crate). The
/// persister keeps the bytes in memory for its reads and hands each save to the store, in
/// order; the store decides when it is durable.
pub trait Store: Send + Sync {
    /// Takes one save: the raft state, and the snapshot if this save has one. Returns at once.
    fn save(&self, raft_state: Arc<Vec<u8>>, snapshot: Option<Arc<Vec<u8>>>);

    /// Why the store cannot keep saves any more, if it cannot (a full disk, say).
    fn failure(&self) -> Option<String>;

    /// Waits until every save so far is durable, or fails with the reason it cannot be.
    fn flush(&self) -> Result<(), String>;

    /// Where the store keeps its saves, for messages (`"files in /var/lib/kv/0"`).
    fn describe(&self) -> String;
}

/// Raft state and snapshot, saved and read together. Cloning gives another handle to the same
/// storage; [`Persister::copy`] gives an independent one.
#[derive(Clone, Default)]
pub struct Persister {
    saved: Arc<Mutex<Saved>>,
    /// Where saves also go, in a real process.
    store: Option<Arc<dyn Store>>,
}

impl Persister {
    /// Empty storage (in memory: for simulations).
    pub fn new() -> Persister {
        Persister::default()
    }

    /// Storage that starts with `raft_state` and `snapshot` (what `store` holds) and hands
    /// every later save to `store` as well (see [`Store`]).
    pub fn with_store(raft_state: Vec<u8>, snapshot: Vec<u8>, store: Arc<dyn Store>) -> Persister {
        Persister {
            saved: Arc::new(Mutex::new(Saved {
                raft_state: Pieces::new(vec![Arc::new(raft_state)]),
                snapshot: Arc::new(snapshot),
            })),
            store: Some(store),
        }
    }

    /// Independent storage holding the same bytes (for a restarted server), in memory.
    pub fn copy(&self) -> Persister {
        Persister {
            saved: Arc::new(Mutex::new(self.saved.lock().clone())),
            store: None,
        }
    }

    /// Saves raft state and snapshot together, atomically: a crash never leaves one without
    /// the other.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        // Moved in, not copied: a Raft state without snapshots grows with every entry.
        self.save_pieces(vec![Arc::new(raft_state)], Some(snapshot));
    }

    /// Saves raft state, keeping the current snapshot.
    pub fn save_raft_state(&self, raft_state: Vec<u8>) {
        self.save_pieces(vec![Arc::new(raft_state)], None);
    }

    /// Saves raft state given as pieces (the state is their concatenation) and, if
    /// `snapshot` is `Some`, a new snapshot with it, atomically. The pieces stay shared with
    /// the caller: a long log that only grows at its end, kept in chunks, can be saved
    /// without copying the chunks that did not change.
    pub fn save_pieces(&self, raft_state: Vec<Arc<Vec<u8>>>, snapshot: Option<Vec<u8>>) {
        let mut saved = self.saved.lock();
        saved.raft_state = Pieces::new(raft_state);
        let new_snapshot = snapshot.is_some();
        if let Some(snapshot) = snapshot {
            saved.snapshot = Arc::new(snapshot);
        }
        record(&saved);
        if let Some(store) = &self.store {
            let snapshot = new_snapshot.then(|| saved.snapshot.clone());
            store.save(saved.raft_state.joined(), snapshot);
        }
    }

    /// The last saved raft state (empty if none).
    pub fn read_raft_state(&self) -> Vec<u8> {
        self.saved.lock().raft_state.concat()
    }

    /// The last saved snapshot (empty if none).
    pub fn read_snapshot(&self) -> Vec<u8> {
        self.saved.lock().snapshot.to_vec()
    }

    /// Size in bytes of the saved raft state.
    pub fn raft_state_size(&self) -> usize {
        self.saved.lock().raft_state.len
    }

    /// Size in bytes of the saved snapshot.
    pub fn snapshot_size(&self) -> usize {
        self.saved.lock().snapshot.len()
    }

    /// Why the store cannot keep saves any more, if it cannot (see [`Store::failure`]). A
    /// server should report it and exit. Always `None` in memory.
    pub fn failure(&self) -> Option<String> {
        self.store.as_ref()?.failure()
    }

    /// Waits until everything saved so far is durable (at once in memory), or fails with the
    /// reason it cannot be.
    pub fn flush(&self) -> Result<(), String> {
        match &self.store {
            Some(store) => store.flush(),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Persister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let saved = self.saved.lock();
        write!(
            f,
            "Persister {{ raft_state: {} bytes, snapshot: {} bytes",
            saved.raft_state.len,
            saved.snapshot.len()
        )?;
        if let Some(store) = &self.store {
            write!(f, ", {}", store.describe())?;
        }
        f.write_str(" }")
    }
}

/// Notes the save in the trace, when running in a simulation.
fn record(saved: &Saved) {
    crate::sim::record_if_running(crate::sim::trace::What::Persist {
        state: saved.raft_state.len as u32,
        snapshot: saved.snapshot.len() as u32,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_saved_as_their_concatenation() {
        let p = Persister::new();
        p.save(vec![1], vec![9, 9]);
        let shared = Arc::new(vec![2, 3]);
        p.save_pieces(vec![Arc::new(vec![1]), shared.clone()], None);
        assert_eq!(p.read_raft_state(), vec![1, 2, 3]);
        assert_eq!((p.raft_state_size(), p.read_snapshot()), (3, vec![9, 9]));
        p.save_pieces(vec![shared, Arc::new(vec![])], Some(vec![7]));
        assert_eq!(
            (p.read_raft_state(), p.read_snapshot()),
            (vec![2, 3], vec![7])
        );
    }

    #[test]
    fn copies_are_independent() {
        let p = Persister::new();
        p.save(vec![1, 2, 3], vec![9]);
        let q = p.copy();
        p.save_raft_state(vec![4]);
        assert_eq!(q.read_raft_state(), vec![1, 2, 3]);
        assert_eq!(p.read_raft_state(), vec![4]);
        assert_eq!(p.read_snapshot(), vec![9]);
        assert_eq!((p.raft_state_size(), p.snapshot_size()), (1, 1));
        let shared = p.clone();
        shared.save(vec![], vec![]);
        assert_eq!(p.snapshot_size(), 0);
    }

    /// One save as a store got it: the raft state, and the snapshot if it came with one.
    type Got = (Vec<u8>, Option<Vec<u8>>);

    /// A store that remembers what it was given.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Got>>);

    impl Store for Recorder {
        fn save(&self, raft_state: Arc<Vec<u8>>, snapshot: Option<Arc<Vec<u8>>>) {
            self.0
                .lock()
                .push((raft_state.to_vec(), snapshot.map(|s| s.to_vec())));
        }
        fn failure(&self) -> Option<String> {
            None
        }
        fn flush(&self) -> Result<(), String> {
            Ok(())
        }
        fn describe(&self) -> String {
            "a recorder".into()
        }
    }

    #[test]
    fn a_store_gets_every_save_in_order_and_copies_stay_in_memory() {
        let store = Arc::new(Recorder::default());
        let p = Persister::with_store(vec![7], vec![8], store.clone());
        assert_eq!((p.read_raft_state(), p.read_snapshot()), (vec![7], vec![8]));
        p.save_raft_state(vec![1]);
        p.save(vec![2], vec![3]);
        p.copy().save_raft_state(vec![4]);
        assert_eq!(*store.0.lock(), [(vec![1], None), (vec![2], Some(vec![3]))]);
        assert_eq!(p.flush(), Ok(()));
        assert!(format!("{p:?}").contains("a recorder"));
    }
}
