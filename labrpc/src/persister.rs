//! The persister: a server's stable storage, as the harness models it.
//!
//! Raft saves its persistent state (and the service's snapshot) here and reads it back after
//! a restart. The harness gives a restarted server a *copy* of its predecessor's persister, so
//! anything the crashed instance might still write cannot reach its successor.

use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Clone, Default)]
struct Saved {
    raft_state: Arc<[u8]>,
    snapshot: Arc<[u8]>,
}

/// Raft state and snapshot, saved and read together. Cloning gives another handle to the same
/// storage; [`Persister::copy`] gives an independent one.
#[derive(Clone, Default)]
pub struct Persister {
    saved: Arc<Mutex<Saved>>,
}

impl Persister {
    /// Empty storage.
    pub fn new() -> Persister {
        Persister::default()
    }

    /// Independent storage holding the same bytes (for a restarted server).
    pub fn copy(&self) -> Persister {
        Persister {
            saved: Arc::new(Mutex::new(self.saved.lock().clone())),
        }
    }

    /// Saves raft state and snapshot together, atomically: a crash never leaves one without
    /// the other.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        let mut saved = self.saved.lock();
        saved.raft_state = raft_state.into();
        saved.snapshot = snapshot.into();
        record(&saved);
    }

    /// Saves raft state, keeping the current snapshot.
    pub fn save_raft_state(&self, raft_state: Vec<u8>) {
        let mut saved = self.saved.lock();
        saved.raft_state = raft_state.into();
        record(&saved);
    }

    /// The last saved raft state (empty if none).
    pub fn read_raft_state(&self) -> Vec<u8> {
        self.saved.lock().raft_state.to_vec()
    }

    /// The last saved snapshot (empty if none).
    pub fn read_snapshot(&self) -> Vec<u8> {
        self.saved.lock().snapshot.to_vec()
    }

    /// Size in bytes of the saved raft state.
    pub fn raft_state_size(&self) -> usize {
        self.saved.lock().raft_state.len()
    }

    /// Size in bytes of the saved snapshot.
    pub fn snapshot_size(&self) -> usize {
        self.saved.lock().snapshot.len()
    }
}

impl std::fmt::Debug for Persister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let saved = self.saved.lock();
        write!(
            f,
            "Persister {{ raft_state: {} bytes, snapshot: {} bytes }}",
            saved.raft_state.len(),
            saved.snapshot.len()
        )
    }
}

/// Notes the save in the trace, when running in a simulation.
fn record(saved: &Saved) {
    crate::sim::record_if_running(crate::sim::trace::What::Persist {
        state: saved.raft_state.len() as u32,
        snapshot: saved.snapshot.len() as u32,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
