//! What the 2025 editions' key/value suites share (the original's `kvtest1`): a versioned
//! clerk's operations recorded for the linearizability checker, and the building blocks of the
//! scenarios (`OnePut`, `PutAtLeastOnce`, `CheckGet`, the put count check), written once for
//! every lab whose clerk has Lab 2's versioned `get` and `put`.
//!
//! A suite adapts its lab's clerk to [`KvClerk`] (mapping the lab's own error type to
//! [`KvErr`]), and holds it as a [`TestClerk`], whose operations go through the test's log
//! ([`OpLog::versioned_get`], [`OpLog::versioned_put`]).

use crate::kv::OpLog;
use crate::linearizability::models::{VersionedKvInput, VersionedKvOutput};
use labrpc::rand::RngExt;
use labrpc::sim;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A key's version (0: the key does not exist).
pub type Version = u64;

/// How a clerk's versioned `get` or `put` failed, whatever the lab calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvErr {
    /// `ErrNoKey`.
    NoKey,
    /// `ErrVersion`.
    Version,
    /// `ErrMaybe`.
    Maybe,
}

impl fmt::Display for KvErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KvErr::NoKey => "ErrNoKey",
            KvErr::Version => "ErrVersion",
            KvErr::Maybe => "ErrMaybe",
        })
    }
}

/// What a `get` returns: the value and its version.
pub type GetResult = Result<(String, Version), KvErr>;

/// A clerk with versioned `get` and `put`, as the shared scenarios call it (recorded or not,
/// as its suite decides).
pub trait VersionedKv {
    /// The clerk's `get(key)`.
    fn get(&self, key: &str) -> impl Future<Output = GetResult>;
    /// The clerk's `put(key, value, version)`.
    fn put(
        &self,
        key: &str,
        value: &str,
        version: Version,
    ) -> impl Future<Output = Result<(), KvErr>>;
}

/// A future held without knowing its type.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A lab's clerk as the tester holds it: the student's, or one of the tester's planted ones.
pub trait KvClerk {
    /// The clerk's `get(key)`.
    fn get(&self, key: &str) -> BoxFuture<GetResult>;
    /// The clerk's `put(key, value, version)`.
    fn put(&self, key: &str, value: &str, version: Version) -> BoxFuture<Result<(), KvErr>>;
}

/// A clerk made by a tester: the clerk, its ends to the servers (whatever the lab's harness
/// keeps of them), and how its operations are recorded.
pub struct TestClerk<Ends> {
    /// The clerk.
    pub clerk: Box<dyn KvClerk>,
    /// Its ends, for the harness to connect, cut or delete.
    pub ends: Ends,
    /// The client id its operations are recorded as, if they are.
    pub record: Option<u64>,
    /// The test's log.
    pub log: VersionedLog,
}

impl<Ends> VersionedKv for TestClerk<Ends> {
    async fn get(&self, key: &str) -> GetResult {
        self.log
            .versioned_get(self.record, key, self.clerk.get(key))
            .await
    }

    async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvErr> {
        let op = self.clerk.put(key, value, version);
        self.log
            .versioned_put(self.record, key, value, version, op)
            .await
    }
}

/// The record of a versioned key/value test.
pub type VersionedLog = OpLog<VersionedKvInput, VersionedKvOutput>;

impl VersionedLog {
    /// Runs `op`, a clerk's `get(key)`: recorded for the checker as client `record`'s if given,
    /// counted as an operation either way. A get can only fail with `ErrNoKey`: anything else
    /// fails the test.
    pub async fn versioned_get(
        &self,
        record: Option<u64>,
        key: &str,
        op: impl Future<Output = GetResult>,
    ) -> GetResult {
        let _waiting = self.waiting(format!("get({key:?})"));
        let op = async {
            match op.await {
                Ok((value, version)) => VersionedKvOutput::Value { value, version },
                Err(KvErr::NoKey) => VersionedKvOutput::ErrNoKey,
                Err(e) => panic!("get({key:?}) returned {e}: a get can only fail with ErrNoKey"),
            }
        };
        let output = match record {
            Some(client) => {
                let input = VersionedKvInput::Get { key: key.into() };
                self.record(client, input, op).await
            }
            None => self.count(op).await,
        };
        match output {
            VersionedKvOutput::Value { value, version } => Ok((value, version)),
            _ => Err(KvErr::NoKey),
        }
    }

    /// Runs `op`, a clerk's `put(key, value, version)`: recorded as client `record`'s if
    /// given, counted as an operation either way.
    pub async fn versioned_put(
        &self,
        record: Option<u64>,
        key: &str,
        value: &str,
        version: Version,
        op: impl Future<Output = Result<(), KvErr>>,
    ) -> Result<(), KvErr> {
        let _waiting = self.waiting(format!("put({key:?}, version {version})"));
        let op = async {
            match op.await {
                Ok(()) => VersionedKvOutput::Ok,
                Err(KvErr::NoKey) => VersionedKvOutput::ErrNoKey,
                Err(KvErr::Version) => VersionedKvOutput::ErrVersion,
                Err(KvErr::Maybe) => VersionedKvOutput::ErrMaybe,
            }
        };
        let output = match record {
            Some(client) => {
                let input = VersionedKvInput::Put {
                    key: key.into(),
                    value: value.into(),
                    version,
                };
                self.record(client, input, op).await
            }
            None => self.count(op).await,
        };
        match output {
            VersionedKvOutput::Ok => Ok(()),
            VersionedKvOutput::ErrNoKey => Err(KvErr::NoKey),
            VersionedKvOutput::ErrVersion => Err(KvErr::Version),
            _ => Err(KvErr::Maybe),
        }
    }
}

/// The value client `client` puts when it believes the key has version `version` (the
/// original's JSON `EntryV`).
pub fn entry(client: usize, version: Version) -> String {
    format!("client {client} version {version}")
}

/// What clients' puts returned: how many said `Ok` and how many `ErrMaybe` (the original's
/// `ClntRes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PutCounts {
    /// Puts that returned `Ok`.
    pub ok: u64,
    /// Puts that returned `ErrMaybe`.
    pub maybe: u64,
}

impl PutCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: PutCounts) {
        self.ok += other.ok;
        self.maybe += other.maybe;
    }
}

/// Puts until one put returns `Ok` or `ErrMaybe`, reading the key after each try (the
/// original's `OnePut`). Returns the version last read and whether the put returned `Ok`.
pub async fn one_put(
    kv: &impl VersionedKv,
    client: usize,
    key: &str,
    mut version: Version,
) -> (Version, bool) {
    loop {
        let put = kv.put(key, &entry(client, version), version).await;
        if put == Err(KvErr::NoKey) {
            panic!(
                "client {client}: put({key:?}, v{version}) returned ErrNoKey, but the key exists \
                 or the version is 0"
            );
        }
        let (value, now) = match kv.get(key).await {
            Ok(found) => found,
            Err(e) => panic!("client {client}: get({key:?}) after a put returned {e}"),
        };
        // Its put made version + 1: the key holds its value until another put succeeds. (The
        // original checks only that the writer or the version matches.)
        if put.is_ok() && now == version + 1 && value != entry(client, version) {
            panic!(
                "client {client}: after its put of {:?} at version {version} returned Ok, \
                 get({key:?}) returned version {now} but the value {value:?}",
                entry(client, version)
            );
        }
        version = now;
        match put {
            Ok(()) => return (version, true),
            Err(KvErr::Maybe) => return (version, false),
            Err(_) => {}
        }
    }
}

/// One client's puts until `done` (the original's `OneClientPut`): [`one_put`] after
/// [`one_put`] to `keys[0]`, or with `random_keys` to a key drawn from `keys` each time, each
/// at the version this client last read of it. Returns what its puts returned.
pub async fn one_client_put(
    kv: &impl VersionedKv,
    client: usize,
    keys: &[String],
    random_keys: bool,
    done: &Cell<bool>,
) -> PutCounts {
    let mut versions: BTreeMap<&str, Version> = BTreeMap::new();
    let mut counts = PutCounts::default();
    while !done.get() {
        let key = if random_keys {
            &keys[sim::rng().random_range(0..keys.len())]
        } else {
            &keys[0]
        };
        let version = versions.entry(key).or_default();
        let (now, ok) = one_put(kv, client, key, *version).await;
        *version = now;
        if ok {
            counts.ok += 1;
        } else {
            counts.maybe += 1;
        }
    }
    counts
}

/// The check of the original's `CheckPutConcurrent`: `key`'s version after clients' puts
/// counted in `total`. On a reliable network without faults every put that returned `Ok` took
/// effect once and no other did; otherwise at most the puts that returned `Ok` or `ErrMaybe`
/// did.
pub fn check_put_count(key: &str, version: Version, total: PutCounts, reliable: bool) {
    if reliable {
        assert!(
            version == total.ok,
            "wrong number of puts: {key:?} has version {version} but {} puts returned Ok (and {} \
             ErrMaybe, which on a reliable network without faults must not happen to a put that \
             took effect)",
            total.ok,
            total.maybe
        );
    } else {
        assert!(
            version <= total.ok + total.maybe,
            "wrong number of puts: {key:?} has version {version} but only {} puts returned Ok and \
             {} ErrMaybe",
            total.ok,
            total.maybe
        );
    }
}

/// Puts `value` at `version`, and at the next version after each `ErrVersion` or `ErrMaybe`,
/// until a put returns `Ok` (the original's `PutAtLeastOnce`, which assumes no one else writes
/// the key). Returns the key's version after it.
pub async fn put_at_least_once(
    kv: &impl VersionedKv,
    key: &str,
    value: &str,
    mut version: Version,
) -> Version {
    loop {
        match kv.put(key, value, version).await {
            Ok(()) => return version + 1,
            Err(KvErr::Maybe | KvErr::Version) => version += 1,
            Err(KvErr::NoKey) => panic!(
                "put({key:?}, {value:?}, v{version}) returned ErrNoKey, but the key exists or the \
                 version is 0"
            ),
        }
    }
}

/// Checks that `key` reads `value` at `version` (the original's `CheckGet`).
pub async fn check_get(kv: &impl VersionedKv, key: &str, value: &str, version: Version) {
    let got = kv.get(key).await;
    assert!(
        got == Ok((value.to_string(), version)),
        "get({key:?}) returned {got:?}; expected Ok(({value:?}, {version}))"
    );
}
