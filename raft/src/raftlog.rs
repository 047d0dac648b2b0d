// BEGIN SOLUTION
//! The log, with the prefix a snapshot replaced.
//!
//! Log indices start at 1. After a snapshot through index `s`, the log keeps only entries
//! `s+1..`; index `s` itself is remembered by its term alone, so that the consistency check
//! of AppendEntries still works for the entry just before the first one kept.
// END SOLUTION
// BEGIN SKELETON
// //! A home for your log, if you want one (`lib.rs` declares this module; delete it if you
// //! keep the log elsewhere).
// //!
// //! Log indices start at 1. In part 3D the service snapshots a prefix of the log and you
// //! drop those entries; index arithmetic (the entry at index `i` is no longer at position
// //! `i - 1`) is then easier to get right in one small type than all over the code. Keep the
// //! index and term of the last entry the snapshot replaced: the consistency check of the
// //! next AppendEntries needs them.
// END SKELETON

// BEGIN SOLUTION
use crate::rpc::LogEntry;
use serde::{Deserialize, Serialize};

/// Entries after the last snapshot, and the index and term the snapshot ends with.
///
/// The log also keeps its entries in encoded form, so that persisting it after a change
/// copies bytes instead of encoding every entry again (a long log is persisted after every
/// append, which would make a busy peer's work grow with the square of the log's length).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Log<C> {
    /// Index of the last entry the snapshot covers (0: no snapshot).
    start_index: u64,
    /// Term of that entry (0: no snapshot).
    start_term: u64,
    /// `entries[k]` has index `start_index + 1 + k`.
    entries: Vec<LogEntry<C>>,
    /// The entries, encoded one after the other (as a `Vec` of them encodes, minus its
    /// length prefix).
    #[serde(skip)]
    encoded: Vec<u8>,
    /// `ends[k]`: where entry `k`'s bytes end in `encoded`.
    #[serde(skip)]
    ends: Vec<usize>,
}

impl<C: Clone + Serialize> Log<C> {
    /// An empty log.
    pub fn new() -> Log<C> {
        Log {
            start_index: 0,
            start_term: 0,
            entries: Vec::new(),
            encoded: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Fills the encoded copy (after the log was decoded).
    pub fn rebuild_encoded(&mut self) {
        self.encoded.clear();
        self.ends.clear();
        for k in 0..self.entries.len() {
            self.encode_entry(k);
        }
    }

    fn encode_entry(&mut self, k: usize) {
        let bytes = labrpc::codec::encode(&self.entries[k]).expect("log entries encode");
        self.encoded.extend_from_slice(&bytes);
        self.ends.push(self.encoded.len());
    }

    /// Encodes `(term, voted_for, self)` exactly as `codec::encode` would, but from the
    /// encoded copy of the entries.
    pub fn encode_with(&self, term: u64, voted_for: Option<usize>) -> Vec<u8> {
        let header = (
            term,
            voted_for,
            self.start_index,
            self.start_term,
            self.entries.len() as u64,
        );
        let header = labrpc::codec::encode(&header).expect("log header encodes");
        let mut bytes = Vec::with_capacity(header.len() + self.encoded.len());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&self.encoded);
        bytes
    }

    /// The last index the snapshot covers (0 if none).
    pub fn start_index(&self) -> u64 {
        self.start_index
    }

    /// The term of the entry at [`Log::start_index`].
    pub fn start_term(&self) -> u64 {
        self.start_term
    }

    /// Index of the last entry (the snapshot's if the log is empty).
    pub fn last_index(&self) -> u64 {
        self.start_index + self.entries.len() as u64
    }

    /// Term of the last entry.
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.start_term, |e| e.term)
    }

    /// Term of the entry at `index`, if the log still knows it.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.start_index {
            Some(self.start_term)
        } else if index < self.start_index || index > self.last_index() {
            None
        } else {
            Some(self.entries[self.offset(index)].term)
        }
    }

    fn offset(&self, index: u64) -> usize {
        (index - self.start_index - 1) as usize
    }

    /// The entry at `index`.
    ///
    /// # Panics
    /// If the entry is in the snapshot or past the end.
    pub fn entry(&self, index: u64) -> &LogEntry<C> {
        assert!(
            index > self.start_index && index <= self.last_index(),
            "log entry {index} is outside {}..={}",
            self.start_index + 1,
            self.last_index()
        );
        &self.entries[self.offset(index)]
    }

    /// Copies of the entries from `index` on, at most `max` of them.
    pub fn entries_from(&self, index: u64, max: usize) -> Vec<LogEntry<C>> {
        let from = self
            .offset(index.max(self.start_index + 1))
            .min(self.entries.len());
        let to = from.saturating_add(max).min(self.entries.len());
        self.entries[from..to].to_vec()
    }

    /// Appends an entry; returns its index.
    pub fn push(&mut self, entry: LogEntry<C>) -> u64 {
        self.entries.push(entry);
        self.encode_entry(self.entries.len() - 1);
        self.last_index()
    }

    /// Removes the entries from `index` on.
    pub fn truncate_from(&mut self, index: u64) {
        if index > self.start_index {
            let keep = self.offset(index).min(self.entries.len());
            self.entries.truncate(keep);
            self.ends.truncate(keep);
            self.encoded
                .truncate(self.ends.last().copied().unwrap_or(0));
        }
    }

    /// The first index holding an entry of the same term as `index` (stopping at the
    /// snapshot's end).
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let term = self.term_at(index);
        let mut first = index;
        while first > self.start_index + 1 && self.term_at(first - 1) == term {
            first -= 1;
        }
        first
    }

    /// The last index holding an entry of `term`, if any.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        (self.start_index + 1..=self.last_index())
            .rev()
            .find(|&i| self.term_at(i) == Some(term))
    }

    /// Drops the entries through `index`, which a snapshot now covers.
    pub fn compact_to(&mut self, index: u64) {
        if index <= self.start_index {
            return;
        }
        let term = self
            .term_at(index)
            .expect("compacting past the end of the log");
        let drop = self.offset(index) + 1;
        self.entries.drain(..drop);
        let cut = self.ends[drop - 1];
        self.encoded.drain(..cut);
        self.ends.drain(..drop);
        for end in &mut self.ends {
            *end -= cut;
        }
        self.start_index = index;
        self.start_term = term;
    }

    /// Makes the log start after a snapshot ending at (`index`, `term`): keeps the entries
    /// after it if the log holds that very entry, else discards everything.
    pub fn reset_to_snapshot(&mut self, index: u64, term: u64) {
        if self.term_at(index) == Some(term) && index <= self.last_index() {
            self.compact_to(index);
        } else {
            self.entries.clear();
            self.encoded.clear();
            self.ends.clear();
            self.start_index = index;
            self.start_term = term;
        }
    }
}

impl<C: Clone + Serialize> Default for Log<C> {
    fn default() -> Self {
        Log::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(terms: &[u64]) -> Log<u64> {
        let mut log = Log::new();
        for (i, &term) in terms.iter().enumerate() {
            log.push(LogEntry {
                term,
                command: i as u64 + 1,
            });
        }
        log
    }

    #[test]
    fn indices_survive_compaction() {
        let mut l = log(&[1, 1, 2, 3, 3]);
        assert_eq!((l.last_index(), l.last_term()), (5, 3));
        assert_eq!(l.first_index_of_term_at(5), 4);
        assert_eq!(l.last_index_of_term(1), Some(2));
        l.compact_to(3);
        assert_eq!((l.start_index(), l.start_term()), (3, 2));
        assert_eq!(l.term_at(3), Some(2));
        assert_eq!(l.term_at(2), None);
        assert_eq!(l.entry(4).command, 4);
        assert_eq!(l.entries_from(1, 10).len(), 2);
        assert_eq!(l.entries_from(4, 1).len(), 1);
        assert_eq!(l.first_index_of_term_at(5), 4);
        l.truncate_from(5);
        assert_eq!(l.last_index(), 4);
        l.reset_to_snapshot(4, 3);
        assert_eq!((l.last_index(), l.start_index()), (4, 4));
        l.reset_to_snapshot(9, 7);
        assert_eq!((l.last_index(), l.last_term()), (9, 7));
    }

    #[test]
    fn encoded_copy_matches_a_plain_encoding() {
        #[derive(Serialize)]
        struct Plain<'a> {
            term: u64,
            voted_for: Option<usize>,
            log: &'a Log<u64>,
        }
        let mut l = log(&[1, 1, 2, 3, 3, 3, 4]);
        let check = |l: &Log<u64>| {
            let plain = Plain {
                term: 9,
                voted_for: Some(2),
                log: l,
            };
            assert_eq!(
                l.encode_with(9, Some(2)),
                labrpc::codec::encode(&plain).unwrap()
            );
        };
        check(&l);
        l.truncate_from(6);
        check(&l);
        l.compact_to(2);
        check(&l);
        l.push(LogEntry {
            term: 5,
            command: 300,
        });
        check(&l);
        let mut decoded: Log<u64> =
            labrpc::codec::decode(&labrpc::codec::encode(&l).unwrap()).unwrap();
        decoded.rebuild_encoded();
        assert_eq!(decoded.encode_with(1, None), l.encode_with(1, None));
        l.reset_to_snapshot(20, 6);
        check(&l);
    }
}
// END SOLUTION
