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
use std::sync::Arc;

/// Entries after the last snapshot, and the index and term the snapshot ends with.
///
/// The log also keeps its entries in encoded form, so that persisting it after a change
/// neither encodes every entry again nor copies every byte: a long log is persisted after
/// every append, which would make a busy peer's work grow with the square of the log's
/// length. The bytes are kept in shared chunks that the persister keeps too
/// ([`Persister::save_pieces`](labrpc::Persister::save_pieces)).
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
    encoded: Chunks,
    /// `ends[k]`: where entry `k`'s bytes end in `encoded`.
    #[serde(skip)]
    ends: Vec<usize>,
}

/// Bytes that grow at the end, kept as full chunks that are never written again (so that
/// saves can share them) and a tail that is.
#[derive(Clone, Debug, Default)]
struct Chunks {
    full: Vec<Arc<Vec<u8>>>,
    /// The bytes in `full`.
    full_len: usize,
    tail: Vec<u8>,
}

impl Chunks {
    /// A full chunk's size.
    const CHUNK: usize = 4096;

    fn len(&self) -> usize {
        self.full_len + self.tail.len()
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        if self.tail.len() >= Self::CHUNK {
            self.full_len += self.tail.len();
            self.full.push(Arc::new(std::mem::take(&mut self.tail)));
        }
    }

    fn clear(&mut self) {
        *self = Chunks::default();
    }

    /// Keeps the first `len` bytes.
    fn truncate(&mut self, len: usize) {
        if len < self.full_len {
            let mut all = self.to_vec();
            all.truncate(len);
            self.clear();
            self.tail = all;
        } else {
            self.tail.truncate(len - self.full_len);
        }
    }

    /// Drops the first `len` bytes.
    fn drop_front(&mut self, mut len: usize) {
        let mut whole = 0;
        for chunk in &self.full {
            if chunk.len() > len {
                break;
            }
            len -= chunk.len();
            whole += 1;
        }
        for chunk in self.full.drain(..whole) {
            self.full_len -= chunk.len();
        }
        match self.full.first_mut() {
            Some(first) if len > 0 => {
                *first = Arc::new(first[len..].to_vec());
                self.full_len -= len;
            }
            Some(_) => {}
            None => {
                self.tail.drain(..len);
            }
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len());
        for chunk in &self.full {
            bytes.extend_from_slice(chunk);
        }
        bytes.extend_from_slice(&self.tail);
        bytes
    }
}

impl<C: Clone + Serialize> Log<C> {
    /// An empty log.
    pub fn new() -> Log<C> {
        Log {
            start_index: 0,
            start_term: 0,
            entries: Vec::new(),
            encoded: Chunks::default(),
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
        self.encoded.extend(&bytes);
        self.ends.push(self.encoded.len());
    }

    /// Encodes `(term, voted_for, self)` exactly as `codec::encode` would, but from the
    /// encoded copy of the entries: as pieces whose concatenation is the encoding, sharing
    /// the chunks that are full.
    pub fn encode_with(&self, term: u64, voted_for: Option<usize>) -> Vec<Arc<Vec<u8>>> {
        let header = (
            term,
            voted_for,
            self.start_index,
            self.start_term,
            self.entries.len() as u64,
        );
        let header = labrpc::codec::encode(&header).expect("log header encodes");
        let mut pieces = Vec::with_capacity(self.encoded.full.len() + 2);
        pieces.push(Arc::new(header));
        pieces.extend(self.encoded.full.iter().cloned());
        pieces.push(Arc::new(self.encoded.tail.clone()));
        pieces
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
        self.encoded.drop_front(cut);
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

    /// The encoding `encode_with` gives in pieces, in one block.
    fn joined(l: &Log<u64>, term: u64, voted_for: Option<usize>) -> Vec<u8> {
        let pieces = l.encode_with(term, voted_for);
        pieces
            .iter()
            .flat_map(|piece| piece.iter().copied())
            .collect()
    }

    /// Checks that the encoded copy is what encoding the whole log gives.
    fn check(l: &Log<u64>) {
        #[derive(Serialize)]
        struct Plain<'a> {
            term: u64,
            voted_for: Option<usize>,
            log: &'a Log<u64>,
        }
        let plain = Plain {
            term: 9,
            voted_for: Some(2),
            log: l,
        };
        assert_eq!(
            joined(l, 9, Some(2)),
            labrpc::codec::encode(&plain).unwrap()
        );
    }

    #[test]
    fn encoded_copy_matches_a_plain_encoding() {
        let mut l = log(&[1, 1, 2, 3, 3, 3, 4]);
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
        assert_eq!(joined(&decoded, 1, None), joined(&l, 1, None));
        l.reset_to_snapshot(20, 6);
        check(&l);
    }

    #[test]
    fn a_long_log_is_saved_in_shared_chunks() {
        // Commands of 9 bytes each: about 450 entries per chunk.
        let mut l: Log<u64> = Log::new();
        for i in 0..3000u64 {
            l.push(LogEntry {
                term: 1 + i / 1000,
                command: u64::MAX - i,
            });
        }
        let pieces = l.encode_with(9, Some(2));
        assert!(pieces.len() > 5, "{} pieces", pieces.len());
        let again = l.encode_with(9, Some(2));
        assert!(Arc::ptr_eq(&pieces[1], &again[1]), "a full chunk is shared");
        check(&l);
        l.truncate_from(2500); // inside the tail or the last chunks
        check(&l);
        l.truncate_from(700); // inside the first chunks
        check(&l);
        for i in 0..2000u64 {
            l.push(LogEntry {
                term: 5,
                command: i,
            });
        }
        check(&l);
        l.compact_to(100); // inside the first chunk
        check(&l);
        l.compact_to(1500); // across whole chunks
        check(&l);
        l.compact_to(l.last_index()); // everything
        check(&l);
        l.push(LogEntry {
            term: 6,
            command: 1,
        });
        check(&l);
    }
}
// END SOLUTION
