//! A persister's files: a [`labrpc::Persister`] whose saves also go to files in a directory,
//! and the durability gate of those files.
//!
//! [`Files::open`] backs the persister's API with files in a directory. Raft's code does not
//! change: `save` still returns at once, and one `fsync` covers every save made while the
//! previous one was written (group commit across clients, inside the persister). What keeps a
//! crash from undoing anything another server or a client has relied on is the files'
//! durability [`Gate`], which the transport applies to the process's messages (see the crate
//! docs). A nuance of its rules: a lone Raft peer commits as soon as it appends, with no
//! message at all, so what its service answers must wait for the disk, which the gate does when
//! the service's replies are served the default way
//! ([`ReplyDurability::AfterSaves`](crate::ReplyDurability::AfterSaves)).
//!
//! # Files
//! - `raft-state`: the Raft state, and which snapshot goes with it (its number, length and
//!   checksum);
//! - `snapshot-N`: the service's snapshot number N.
//!
//! Each file is a 20-byte header (8 bytes of magic naming its kind, the body's length as a
//! little-endian `u64`, the body's CRC-32 as a little-endian `u32`) and the body. Two threads
//! write them, as a pipeline: the first writes the latest state to a temporary file of its
//! own (`raft-state.tmp.N`) and `fsync`s it; the second renames it over `raft-state` and
//! `fsync`s the directory, then opens the gate for the saves it covers. So while one batch is
//! being renamed the next is being written, renames stay in order, and a batch superseded
//! while it waited is never renamed. A new snapshot is made durable the same way (temporary
//! file, `fsync`, rename, directory `fsync`) before any state that names it, and the one it
//! replaced removed once no state can name it again, so the pair on disk is always one that
//! was saved together. At open, a file that is shorter or longer than its header says, has another kind's magic, or fails its checksum,
//! and a snapshot that is missing or not the one the state names, is an error naming the file:
//! a server must refuse to start rather than silently lose acknowledged writes.

use crate::gate::Gate;
use labrpc::{Persister, Store};
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

/// A persister's files in one directory, open: hand [`Files::persister`] to the server (Raft
/// saves through it, unchanged) and [`Files::gate`] to the transport that serves it.
#[derive(Clone)]
pub struct Files {
    persister: Persister,
    gate: Gate,
    dir: PathBuf,
}

impl Files {
    /// Opens (or creates) the files in `dir`: reads what the last process saved there,
    /// checking every file's length and checksum. A save returns at once; two threads write
    /// the files (see the module's docs for the format and the durability gate). Use it only
    /// outside simulations.
    ///
    /// Fails with [`PersistError::Corrupt`] naming the file if a file is truncated, corrupt or
    /// missing, and with [`PersistError::Io`] if the directory cannot be read or created.
    pub fn open(dir: impl AsRef<Path>) -> Result<Files, PersistError> {
        let dir = dir.as_ref();
        let gate = Gate::new();
        let (store, saved) = FileStore::open(dir, gate.clone())?;
        let persister = Persister::with_store(saved.raft_state, saved.snapshot, Arc::new(store));
        Ok(Files {
            persister,
            gate,
            dir: dir.to_path_buf(),
        })
    }

    /// The persister: saves go to memory for its reads, and to the files.
    pub fn persister(&self) -> Persister {
        self.persister.clone()
    }

    /// The durability gate of these files, for [`serve_on_node`](crate::serve_on_node) and
    /// [`remote`](crate::remote).
    pub fn gate(&self) -> Gate {
        self.gate.clone()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Files({})", self.dir.display())
    }
}

/// What the files held when they were opened.
struct Saved {
    raft_state: Vec<u8>,
    snapshot: Vec<u8>,
}

/// Why [`Files::open`] failed.
#[derive(Debug)]
pub enum PersistError {
    /// A file or the directory could not be read or created.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// A file is truncated, corrupt, of the wrong kind, or missing although the state names it.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl PersistError {
    /// The file or directory the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PersistError::Io { path, .. } | PersistError::Corrupt { path, .. } => path,
        }
    }
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            PersistError::Corrupt { path, problem } => write!(
                f,
                "{}: {problem}: refusing to start on it, since acknowledged writes may be lost \
                 (restore the file, or remove the directory to start this server empty)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for PersistError {}

// ---- files ----

const STATE_FILE: &str = "raft-state";
const SNAPSHOT_PREFIX: &str = "snapshot-";
/// Temporary files: `raft-state.tmp.N` (one per batch being written), `snapshot-N.tmp`.
const TMP_MARK: &str = ".tmp";
const STATE_MAGIC: [u8; 8] = *b"labrpcS1";
const SNAPSHOT_MAGIC: [u8; 8] = *b"labrpcP1";
const HEADER_LEN: usize = 20;
/// Snapshot number, length and checksum, before the raft state in `raft-state`'s body.
const SNAPSHOT_REF_LEN: usize = 20;

/// CRC-32 (IEEE 802.3, reflected, as zlib and `cksum -o3` compute it), eight bytes at a time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Crc32(u32);

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
const CRC_TABLES: [[u32; 256]; 8] = {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        tables[0][i] = c;
        i += 1;
    }
    let mut t = 1;
    while t < 8 {
        let mut i = 0;
        while i < 256 {
            let previous = tables[t - 1][i];
            tables[t][i] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
            i += 1;
        }
        t += 1;
    }
    tables
};

impl Crc32 {
    pub(crate) fn new() -> Crc32 {
        Crc32(!0)
    }

    pub(crate) fn update(mut self, bytes: &[u8]) -> Crc32 {
        let t = &CRC_TABLES;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let low = self.0 ^ u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            self.0 = t[7][(low & 0xff) as usize]
                ^ t[6][((low >> 8) & 0xff) as usize]
                ^ t[5][((low >> 16) & 0xff) as usize]
                ^ t[4][(low >> 24) as usize]
                ^ t[3][chunk[4] as usize]
                ^ t[2][chunk[5] as usize]
                ^ t[1][chunk[6] as usize]
                ^ t[0][chunk[7] as usize];
        }
        for &b in chunks.remainder() {
            self.0 = t[0][((self.0 ^ u32::from(b)) & 0xff) as usize] ^ (self.0 >> 8);
        }
        self
    }

    pub(crate) fn value(self) -> u32 {
        !self.0
    }
}

/// The CRC-32 of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    Crc32::new().update(bytes).value()
}

/// The snapshot a state goes with: its number (0: none), length and checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SnapshotRef {
    number: u64,
    len: u64,
    crc: u32,
}

impl SnapshotRef {
    const NONE: SnapshotRef = SnapshotRef {
        number: 0,
        len: 0,
        crc: 0,
    };

    fn to_bytes(self) -> [u8; SNAPSHOT_REF_LEN] {
        let mut bytes = [0u8; SNAPSHOT_REF_LEN];
        bytes[0..8].copy_from_slice(&self.number.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.len.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.crc.to_le_bytes());
        bytes
    }
}

fn snapshot_name(number: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{number}")
}

/// The header of a file of the given kind whose body is `parts`, one after the other.
fn header(magic: [u8; 8], parts: &[&[u8]]) -> [u8; HEADER_LEN] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let crc = parts
        .iter()
        .fold(Crc32::new(), |crc, part| crc.update(part))
        .value();
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&magic);
    header[8..16].copy_from_slice(&(len as u64).to_le_bytes());
    header[16..20].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Header and body of a file of the given kind, in one buffer (for tests).
#[cfg(test)]
fn encode_file(magic: [u8; 8], parts: &[&[u8]]) -> Vec<u8> {
    let mut file = header(magic, parts).to_vec();
    for part in parts {
        file.extend_from_slice(part);
    }
    file
}

/// The body of a file of the given kind, checked against its header.
fn decode_file(path: &Path, magic: [u8; 8], bytes: &[u8]) -> Result<Vec<u8>, PersistError> {
    let corrupt = |problem: String| PersistError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if bytes[..8] != magic {
        let kind = if bytes[..8] == STATE_MAGIC || bytes[..8] == SNAPSHOT_MAGIC {
            "a persister file of another kind"
        } else {
            "not a persister file"
        };
        return Err(corrupt(format!("{kind} (its first 8 bytes are wrong)")));
    }
    let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        let what = if (body.len() as u64) < len {
            "truncated"
        } else {
            "too long"
        };
        return Err(corrupt(format!(
            "{what}: its header says {len} bytes of data, the file holds {}",
            body.len()
        )));
    }
    let actual = crc32(body);
    if actual != crc {
        return Err(corrupt(format!(
            "corrupt: checksum {actual:08x} of its data does not match {crc:08x} in its header"
        )));
    }
    Ok(body.to_vec())
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PersistError + '_ {
    move |error| PersistError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes a file of the given kind at `path` (created or truncated) and `fsync`s it.
fn write_synced(path: &Path, magic: [u8; 8], parts: &[&[u8]]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(&header(magic, parts))?;
    for part in parts {
        file.write_all(part)?;
    }
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // Directories can be opened and synced on Unix; elsewhere the rename is what we have.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}

/// What the writer threads have to do, and how far they are.
#[derive(Default)]
struct Work {
    /// The latest raft state not yet handed to a writer.
    state: Option<Arc<Vec<u8>>>,
    /// A snapshot saved since then, to write before the state.
    snapshot: Option<Arc<Vec<u8>>>,
    /// The gate numbers of the saves that `state` covers.
    numbers: Vec<u64>,
    /// Batches taken by the first stage and not yet on disk.
    in_progress: usize,
    closing: bool,
    failure: Option<String>,
}

struct Shared {
    dir: PathBuf,
    /// Opened for the saves each batch covers, once it is on disk.
    gate: Gate,
    work: Mutex<Work>,
    /// Signalled when there is work (or the store closes, or fails).
    wake: Condvar,
    /// Signalled when a batch is on disk (or the store fails).
    written: Condvar,
}

impl Shared {
    /// Records that the files cannot be written: nothing more is, and the gate stays closed
    /// for what is pending.
    fn fail(&self, error: &io::Error) {
        let failure = format!(
            "cannot write the persister's files in {}: {error}",
            self.dir.display()
        );
        log::error!("{failure}");
        self.work.lock().failure.get_or_insert(failure);
        self.wake.notify_all();
        self.written.notify_all();
    }
}

/// The files of [`Files::open`] and the two threads that write them: the persister's
/// [`Store`].
struct FileStore {
    shared: Arc<Shared>,
    writers: Vec<std::thread::JoinHandle<()>>,
}

/// A batch the first stage wrote and `fsync`ed, for the second to rename into place.
struct Prepared {
    /// Its temporary file.
    tmp: PathBuf,
    /// The snapshot its state names.
    reference: SnapshotRef,
    /// The gate numbers of the saves it covers.
    numbers: Vec<u64>,
}

impl FileStore {
    fn open(dir: &Path, gate: Gate) -> Result<(FileStore, Saved), PersistError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let state_path = dir.join(STATE_FILE);
        let (raft_state, snapshot, current) = match std::fs::read(&state_path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                (Vec::new(), Vec::new(), SnapshotRef::NONE)
            }
            Err(error) => return Err(io_error(&state_path)(error)),
            Ok(bytes) => {
                let body = decode_file(&state_path, STATE_MAGIC, &bytes)?;
                if body.len() < SNAPSHOT_REF_LEN {
                    return Err(PersistError::Corrupt {
                        path: state_path,
                        problem: format!(
                            "corrupt: {} bytes of data, shorter than the {SNAPSHOT_REF_LEN}-byte \
                             snapshot reference",
                            body.len()
                        ),
                    });
                }
                let current = SnapshotRef {
                    number: u64::from_le_bytes(body[0..8].try_into().expect("8 bytes")),
                    len: u64::from_le_bytes(body[8..16].try_into().expect("8 bytes")),
                    crc: u32::from_le_bytes(body[16..20].try_into().expect("4 bytes")),
                };
                let snapshot = read_snapshot(dir, current)?;
                (body[SNAPSHOT_REF_LEN..].to_vec(), snapshot, current)
            }
        };
        remove_leftovers(dir, current.number)?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            gate,
            work: Mutex::new(Work::default()),
            wake: Condvar::new(),
            written: Condvar::new(),
        });
        // At most one batch waits between the stages: the first stage then waits, and saves
        // pile up into its next batch.
        let (prepared, to_commit) = mpsc::sync_channel(1);
        let (for_first, for_second) = (shared.clone(), shared.clone());
        let first = std::thread::Builder::new()
            .name("persister".into())
            .spawn(move || write_stage(&for_first, current, &prepared))
            .map_err(io_error(dir))?;
        let second = std::thread::Builder::new()
            .name("persister-commit".into())
            .spawn(move || commit_stage(&for_second, current, &to_commit))
            .map_err(io_error(dir))?;
        let saved = Saved {
            raft_state,
            snapshot,
        };
        Ok((
            FileStore {
                shared,
                writers: vec![first, second],
            },
            saved,
        ))
    }

    /// Hands a save to the writer threads (`snapshot`: a new snapshot goes with it).
    fn enqueue(&self, state: Arc<Vec<u8>>, snapshot: Option<Arc<Vec<u8>>>) {
        let mut work = self.shared.work.lock();
        if work.failure.is_some() {
            return; // nothing more is written; the gate stays closed for what is pending
        }
        work.numbers.push(self.shared.gate.register());
        work.state = Some(state);
        if snapshot.is_some() {
            work.snapshot = snapshot;
        }
        drop(work);
        self.shared.wake.notify_all();
    }
}

impl Store for FileStore {
    fn save(&self, raft_state: Arc<Vec<u8>>, snapshot: Option<Arc<Vec<u8>>>) {
        self.enqueue(raft_state, snapshot);
    }

    /// Why the files could not be written, if a write failed (a full disk, say). From then on
    /// nothing more is written and the durability gate stays closed, so the process goes
    /// silent rather than acknowledge what it cannot keep.
    fn failure(&self) -> Option<String> {
        self.shared.work.lock().failure.clone()
    }

    fn flush(&self) -> Result<(), String> {
        let mut work = self.shared.work.lock();
        loop {
            if let Some(failure) = &work.failure {
                return Err(failure.clone());
            }
            if work.state.is_none() && work.in_progress == 0 {
                return Ok(());
            }
            self.shared.written.wait(&mut work);
        }
    }

    fn describe(&self) -> String {
        format!("files in {}", self.shared.dir.display())
    }
}

impl Drop for FileStore {
    /// Writes what is pending, then stops the writer threads.
    fn drop(&mut self) {
        self.shared.work.lock().closing = true;
        self.shared.wake.notify_all();
        for writer in self.writers.drain(..) {
            let _ = writer.join();
        }
    }
}

/// The snapshot `current` names, checked (empty for none).
fn read_snapshot(dir: &Path, current: SnapshotRef) -> Result<Vec<u8>, PersistError> {
    if current.number == 0 {
        return Ok(Vec::new());
    }
    let path = dir.join(snapshot_name(current.number));
    let bytes = match std::fs::read(&path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(PersistError::Corrupt {
                path,
                problem: format!("missing, though {STATE_FILE} names it"),
            });
        }
        other => other.map_err(io_error(&path))?,
    };
    let snapshot = decode_file(&path, SNAPSHOT_MAGIC, &bytes)?;
    if snapshot.len() as u64 != current.len || crc32(&snapshot) != current.crc {
        return Err(PersistError::Corrupt {
            path,
            problem: format!(
                "not the snapshot {STATE_FILE} names ({} bytes with checksum {:08x}, expected \
                 {} bytes with checksum {:08x})",
                snapshot.len(),
                crc32(&snapshot),
                current.len,
                current.crc
            ),
        });
    }
    Ok(snapshot)
}

/// Removes temporary files and snapshots other than `keep` (left by a crash mid-save).
fn remove_leftovers(dir: &Path, keep: u64) -> Result<(), PersistError> {
    let entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale_snapshot = name
            .strip_prefix(SNAPSHOT_PREFIX)
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n != keep);
        let temporary = (name.starts_with(STATE_FILE) || name.starts_with(SNAPSHOT_PREFIX))
            && name.contains(TMP_MARK);
        if stale_snapshot || temporary {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

/// The first stage: whenever there is a state to write, writes the new snapshot if any
/// (temporary file, `fsync`, rename, directory `fsync`: it is durable before any state names
/// it), then the state, naming the current snapshot, to a temporary file of its own, `fsync`s
/// it, and hands it to the second stage. Covers every save made since its last batch.
fn write_stage(shared: &Shared, durable: SnapshotRef, to_commit: &mpsc::SyncSender<Prepared>) {
    let dir = &shared.dir;
    let mut reference = durable;
    let mut batch = 0u64;
    loop {
        let mut work = shared.work.lock();
        while work.state.is_none() && !work.closing && work.failure.is_none() {
            shared.wake.wait(&mut work);
        }
        if work.failure.is_some() {
            return;
        }
        let Some(state) = work.state.take() else {
            return; // closing, nothing left: dropping the sender ends the second stage
        };
        let snapshot = work.snapshot.take();
        let numbers = std::mem::take(&mut work.numbers);
        work.in_progress += 1;
        drop(work);
        batch += 1;
        let tmp = dir.join(format!("{STATE_FILE}{TMP_MARK}.{batch}"));
        let written = (|| -> io::Result<()> {
            if let Some(snapshot) = snapshot {
                let next = SnapshotRef {
                    number: reference.number + 1,
                    len: snapshot.len() as u64,
                    crc: crc32(&snapshot),
                };
                let name = snapshot_name(next.number);
                let snapshot_tmp = dir.join(format!("{name}{TMP_MARK}"));
                write_synced(&snapshot_tmp, SNAPSHOT_MAGIC, &[&snapshot])?;
                std::fs::rename(&snapshot_tmp, dir.join(name))?;
                sync_dir(dir)?;
                reference = next;
            }
            write_synced(&tmp, STATE_MAGIC, &[&reference.to_bytes(), &state])
        })();
        if let Err(error) = written {
            shared.fail(&error);
            return;
        }
        let prepared = Prepared {
            tmp,
            reference,
            numbers,
        };
        if to_commit.send(prepared).is_err() {
            return; // the second stage failed
        }
    }
}

/// The second stage: renames the latest written state into place and `fsync`s the directory,
/// then opens the gate for every save it covers and removes the snapshots no state will name
/// again. A batch superseded while it waited is never renamed.
fn commit_stage(shared: &Shared, mut durable: SnapshotRef, prepared: &mpsc::Receiver<Prepared>) {
    let dir = &shared.dir;
    while let Ok(first) = prepared.recv() {
        let mut batches = vec![first];
        while let Ok(more) = prepared.try_recv() {
            batches.push(more);
        }
        let last = batches.pop().expect("one batch at least");
        for superseded in &batches {
            let _ = std::fs::remove_file(&superseded.tmp);
        }
        let committed =
            std::fs::rename(&last.tmp, dir.join(STATE_FILE)).and_then(|()| sync_dir(dir));
        if let Err(error) = committed {
            shared.fail(&error);
            return;
        }
        let numbers: Vec<u64> = batches
            .iter()
            .chain(std::iter::once(&last))
            .flat_map(|b| b.numbers.iter().copied())
            .collect();
        shared.gate.written(&numbers);
        for old in durable.number.max(1)..last.reference.number {
            // Only a leftover if this fails: the next open removes it.
            let _ = std::fs::remove_file(dir.join(snapshot_name(old)));
        }
        durable = last.reference;
        shared.work.lock().in_progress -= batches.len() + 1;
        shared.written.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        let fox = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(crc32(fox), 0x414F_A339);
        // Eight bytes at a time and one at a time agree, whatever the length and split.
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let bytewise = |data: &[u8]| {
            !data.iter().fold(!0u32, |c, &b| {
                CRC_TABLES[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
            })
        };
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 999, 1000] {
            assert_eq!(
                crc32(&bytes[..len]),
                bytewise(&bytes[..len]),
                "length {len}"
            );
            let split = len / 3;
            let parts = Crc32::new()
                .update(&bytes[..split])
                .update(&bytes[split..len]);
            assert_eq!(
                parts.value(),
                bytewise(&bytes[..len]),
                "split {split} of {len}"
            );
        }
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("realproc-files-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The persister of the files in `dir`.
    fn open(dir: &Path) -> Persister {
        Files::open(dir).unwrap().persister()
    }

    #[test]
    fn files_survive_a_reopen() {
        let dir = TempDir::new("reopen");
        let p = open(&dir.0);
        assert_eq!((p.read_raft_state(), p.read_snapshot()), (vec![], vec![]));
        p.save_raft_state(vec![1]);
        p.save(vec![2, 2], b"snap one".to_vec());
        p.save_raft_state(vec![3, 3, 3]);
        p.flush().unwrap();
        assert!(format!("{p:?}").contains("files in"), "{p:?}");
        drop(p);
        let p = open(&dir.0);
        assert_eq!(p.read_raft_state(), vec![3, 3, 3]);
        assert_eq!(p.read_snapshot(), b"snap one");
        p.save(vec![4], b"snap two".to_vec());
        p.flush().unwrap();
        drop(p);
        // The old snapshot is gone; the state names the new one.
        assert_eq!(files(&dir.0), ["raft-state", "snapshot-2"]);
        let p = open(&dir.0);
        assert_eq!(
            (p.read_raft_state(), p.read_snapshot()),
            (vec![4], b"snap two".to_vec())
        );
        assert_eq!(p.failure(), None);
    }

    #[test]
    fn dropping_writes_what_is_pending() {
        let dir = TempDir::new("drop");
        let p = open(&dir.0);
        for i in 0..100u8 {
            p.save_raft_state(vec![i; 1000]);
        }
        drop(p);
        assert_eq!(open(&dir.0).read_raft_state(), vec![99; 1000]);
    }

    #[test]
    fn the_gate_opens_once_saves_are_written() {
        let dir = TempDir::new("gate");
        let files = Files::open(&dir.0).unwrap();
        let (p, gate) = (files.persister(), files.gate());
        p.save_raft_state(vec![7; 10]);
        let ticket = gate.ticket();
        assert!(ticket > 0);
        gate.wait(ticket);
        // Once the gate opened for the save, it is on disk.
        let bytes = std::fs::read(dir.0.join(STATE_FILE)).unwrap();
        let body = decode_file(&dir.0, STATE_MAGIC, &bytes).unwrap();
        assert_eq!(&body[SNAPSHOT_REF_LEN..], &[7; 10]);
        gate.wait(0);
        // Another directory's gate is its own: nothing of this one is pending there.
        let other = TempDir::new("gate-other");
        assert_eq!(Files::open(&other.0).unwrap().gate().ticket(), 0);
    }

    /// Saves a state and a snapshot, then lets `damage` change the files; returns what opening
    /// says.
    fn open_after(name: &str, damage: impl FnOnce(&Path)) -> PersistError {
        let dir = TempDir::new(name);
        let p = open(&dir.0);
        p.save(b"the raft state".to_vec(), b"the snapshot".to_vec());
        drop(p);
        damage(&dir.0);
        match Files::open(&dir.0) {
            Ok(_) => panic!("{name}: the damaged files were accepted"),
            Err(error) => error,
        }
    }

    fn expect(error: &PersistError, file: &str, words: &str) {
        let text = error.to_string();
        assert!(error.path().ends_with(file), "{text}");
        assert!(text.contains(words), "expected {words:?} in: {text}");
        assert!(text.contains("refusing to start"), "{text}");
    }

    #[test]
    fn truncated_and_corrupt_files_are_refused_by_name() {
        let truncate = |file: &'static str, keep: usize| {
            move |dir: &Path| {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, &bytes[..keep.min(bytes.len())]).unwrap();
            }
        };
        let flip = |file: &'static str, at: usize| {
            move |dir: &Path| {
                let path = dir.join(file);
                let mut bytes = std::fs::read(&path).unwrap();
                let at = at.min(bytes.len() - 1);
                bytes[at] ^= 0x40;
                std::fs::write(&path, bytes).unwrap();
            }
        };
        let e = open_after("torn-state", truncate(STATE_FILE, 30));
        expect(&e, STATE_FILE, "truncated: its header says");
        let e = open_after("short-state", truncate(STATE_FILE, 5));
        expect(&e, STATE_FILE, "shorter than the 20-byte header");
        let e = open_after("flipped-state", flip(STATE_FILE, 40));
        expect(&e, STATE_FILE, "checksum");
        let e = open_after("bad-magic", flip(STATE_FILE, 0));
        expect(&e, STATE_FILE, "not a persister file");
        let e = open_after("torn-snapshot", truncate("snapshot-1", 25));
        expect(&e, "snapshot-1", "truncated");
        let e = open_after("flipped-snapshot", flip("snapshot-1", 22));
        expect(&e, "snapshot-1", "checksum");
        let e = open_after("missing-snapshot", |dir| {
            std::fs::remove_file(dir.join("snapshot-1")).unwrap()
        });
        expect(&e, "snapshot-1", "missing");
        let e = open_after("other-snapshot", |dir| {
            let other = encode_file(SNAPSHOT_MAGIC, &[b"another snapshot"]);
            std::fs::write(dir.join("snapshot-1"), other).unwrap();
        });
        expect(&e, "snapshot-1", "not the snapshot raft-state names");
        let e = open_after("appended", |dir| {
            let path = dir.join(STATE_FILE);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend_from_slice(b"junk");
            std::fs::write(&path, bytes).unwrap();
        });
        expect(&e, STATE_FILE, "too long");
    }

    #[test]
    fn leftovers_of_a_crash_mid_save_are_removed() {
        let dir = TempDir::new("leftovers");
        let p = open(&dir.0);
        p.save(vec![1], vec![2]);
        drop(p);
        // A crash after writing a new snapshot but before the state naming it.
        std::fs::write(dir.0.join("snapshot-2"), b"half-saved").unwrap();
        std::fs::write(dir.0.join("raft-state.tmp"), b"torn").unwrap();
        std::fs::write(dir.0.join("notes.txt"), b"not ours").unwrap();
        let p = open(&dir.0);
        assert_eq!((p.read_raft_state(), p.read_snapshot()), (vec![1], vec![2]));
        assert_eq!(files(&dir.0), ["notes.txt", "raft-state", "snapshot-1"]);
    }

    #[test]
    fn an_unusable_directory_is_an_io_error() {
        let dir = TempDir::new("not-a-dir");
        std::fs::write(&dir.0, b"a file").unwrap();
        let error = Files::open(&dir.0).unwrap_err();
        assert!(matches!(error, PersistError::Io { .. }), "{error}");
        let _ = std::fs::remove_file(&dir.0);
    }
}
