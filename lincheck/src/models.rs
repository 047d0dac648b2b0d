//! Ready-made models: the 6.824 key/value store, the 6.5840 versioned key/value server, and a
//! register with compare-and-set (the Jepsen etcd histories).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use super::history::Operation;
use super::model::{LogAccess, Model, NondeterministicModel};

/// An immutable map from string keys to values, with a hash kept up to date on every change,
/// so that big states (a whole key/value store) hash in O(1). Cloning is O(1) too.
#[derive(Clone)]
pub struct MapState<V> {
    entries: Arc<[(Arc<str>, V, u64)]>,
    hash: u64,
}

impl<V> Default for MapState<V> {
    fn default() -> Self {
        MapState {
            entries: Arc::from(Vec::new()),
            hash: 0,
        }
    }
}

impl<V: Clone + Hash> MapState<V> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .binary_search_by(|e| (*e.0).cmp(key))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// A copy of this map where `key` maps to `value` (`None`: removed).
    pub fn with(&self, key: &str, value: Option<V>) -> Self {
        let pos = self.entries.binary_search_by(|e| (*e.0).cmp(key));
        let mut hash = self.hash;
        let (before, after, k) = match pos {
            Ok(i) => {
                hash = hash.wrapping_sub(self.entries[i].2);
                (i, i + 1, self.entries[i].0.clone())
            }
            Err(i) => (i, i, Arc::from(key)),
        };
        let new = value.map(|val| {
            let eh = FxBuildHasher.hash_one((&*k, &val));
            hash = hash.wrapping_add(eh);
            (k, val, eh)
        });
        // One allocation: the iterator knows its exact length.
        let entries: Arc<[(Arc<str>, V, u64)]> = self.entries[..before]
            .iter()
            .cloned()
            .chain(new)
            .chain(self.entries[after..].iter().cloned())
            .collect();
        MapState { entries, hash }
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|e| (&*e.0, &e.1))
    }

    /// Number of keys present.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn heap_bytes(&self, value_bytes: impl Fn(&V) -> usize) -> usize {
        self.entries
            .iter()
            .map(|e| std::mem::size_of::<(Arc<str>, V, u64)>() + e.0.len() + value_bytes(&e.1))
            .sum::<usize>()
            + 16
    }
}

impl<V: PartialEq> PartialEq for MapState<V> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.entries, &other.entries)
                || (self.entries.len() == other.entries.len()
                    && self
                        .entries
                        .iter()
                        .zip(other.entries.iter())
                        .all(|(a, b)| a.0 == b.0 && a.1 == b.1)))
    }
}

impl<V: Eq> Eq for MapState<V> {}

impl<V> Hash for MapState<V> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl<V: Debug> Debug for MapState<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|e| (&e.0, &e.1)))
            .finish()
    }
}

fn partition_by_key<'a, I: 'a, O>(
    ops: &'a [Operation<I, O>],
    key: impl Fn(&'a I) -> &'a str,
) -> Vec<Vec<usize>> {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(key(&op.input)).or_default().push(i);
    }
    by_key.into_values().collect()
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

// ---------------------------------------------------------------------------------------------
// 6.824 key/value store

const POLY_BASE: u64 = 0x100_0000_01b3;

fn poly_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(POLY_BASE).wrapping_add(b as u64 + 1)
    })
}

fn poly_pow(mut e: usize) -> u64 {
    let (mut r, mut b) = (1u64, POLY_BASE);
    while e > 0 {
        if e & 1 == 1 {
            r = r.wrapping_mul(b);
        }
        b = b.wrapping_mul(b);
        e >>= 1;
    }
    r
}

/// A string value of [`KvModel`]'s state: shared bytes plus a polynomial hash kept up to date
/// by appends, so that neither appending nor hashing a state rereads the whole value.
#[derive(Clone)]
pub struct KvValue {
    bytes: Arc<[u8]>,
    hash: u64,
}

impl KvValue {
    fn new(s: &str) -> Self {
        KvValue {
            bytes: Arc::from(s.as_bytes()),
            hash: poly_hash(s.as_bytes()),
        }
    }

    fn append(&self, suffix: &str) -> Self {
        let b = suffix.as_bytes();
        KvValue {
            bytes: self.bytes.iter().chain(b.iter()).copied().collect(),
            hash: self
                .hash
                .wrapping_mul(poly_pow(b.len()))
                .wrapping_add(poly_hash(b)),
        }
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        // Built only from `&str` pieces, so always valid UTF-8.
        std::str::from_utf8(&self.bytes).unwrap_or("")
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the value is `""`.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl PartialEq for KvValue {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.bytes == other.bytes
    }
}

impl Eq for KvValue {}

impl Hash for KvValue {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl Debug for KvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Debug::fmt(self.as_str(), f)
    }
}

/// Input of the 6.824 key/value store (kvraft): `Get`, `Put`, `Append`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum KvInput {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Overwrite a key.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to a key's value.
    Append {
        /// The key.
        key: String,
        /// The suffix to append.
        value: String,
    },
    /// Append to a key's value and return the value before the append (the 2024 kvsrv lab's
    /// `Append`): legal only if the output is exactly the value before.
    #[serde(rename = "append_returning_old")]
    AppendReturningOld {
        /// The key.
        key: String,
        /// The suffix to append.
        value: String,
    },
}

impl KvInput {
    /// The key the operation is about.
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::AppendReturningOld { key, .. } => key,
        }
    }
}

/// Output of the 6.824 key/value store: the value read by a `Get`, or the value before an
/// `AppendReturningOld` (ignored for `Put` and `Append`). A missing key reads as `""`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvOutput {
    /// The value a `Get` returned.
    #[serde(default)]
    pub value: String,
}

/// The 6.824 key/value store: every key is a string, initially `""`; `Put` sets it, `Append`
/// appends to it, `Get` must return the current value exactly, `AppendReturningOld` appends
/// and must return the value before. Partitioned by key.
///
/// The state is the whole map, so the model also works unpartitioned (every key in one
/// state); a partition's state holds its one key.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

/// `state` with `suffix` appended to `key`'s value.
fn appended(state: &MapState<KvValue>, key: &str, suffix: &str) -> MapState<KvValue> {
    if suffix.is_empty() {
        return state.clone();
    }
    let v = match state.get(key) {
        Some(cur) => cur.append(suffix),
        None => KvValue::new(suffix),
    };
    state.with(key, Some(v))
}

impl Model for KvModel {
    type State = MapState<KvValue>;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> Self::State {
        MapState::default()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &KvInput,
        output: Option<&KvOutput>,
    ) -> Option<Self::State> {
        match input {
            KvInput::Get { key } => {
                let cur: &[u8] = state.get(key).map_or(&[], |v| &v.bytes);
                match output {
                    Some(o) if o.value.as_bytes() != cur => None,
                    _ => Some(state.clone()),
                }
            }
            KvInput::Put { key, value } => {
                let v = (!value.is_empty()).then(|| KvValue::new(value));
                Some(state.with(key, v))
            }
            KvInput::AppendReturningOld { key, value } => {
                let before: &[u8] = state.get(key).map_or(&[], |v| &v.bytes);
                if output.is_some_and(|o| o.value.as_bytes() != before) {
                    return None;
                }
                Some(appended(state, key, value))
            }
            KvInput::Append { key, value } => Some(appended(state, key, value)),
        }
    }

    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        partition_by_key(ops, KvInput::key)
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        match input {
            KvInput::Get { key } => match output {
                Some(o) => format!("get({}) -> {}", quote(key), quote(&o.value)),
                None => format!("get({}) -> ?", quote(key)),
            },
            KvInput::Put { key, value } => format!("put({}, {})", quote(key), quote(value)),
            KvInput::Append { key, value } => format!("append({}, {})", quote(key), quote(value)),
            KvInput::AppendReturningOld { key, value } => match output {
                Some(o) => format!(
                    "append({}, {}) -> {}",
                    quote(key),
                    quote(value),
                    quote(&o.value)
                ),
                None => format!("append({}, {}) -> ?", quote(key), quote(value)),
            },
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        if state.is_empty() {
            return "(every key \"\")".into();
        }
        if state.len() == 1 {
            let (k, v) = state.iter().next().expect("one entry");
            return format!("{} = {}", quote(k), quote(v.as_str()));
        }
        let parts: Vec<String> = state
            .iter()
            .map(|(k, v)| format!("{}: {}", quote(k), quote(v.as_str())))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    fn state_heap_bytes(&self, state: &Self::State) -> usize {
        state.heap_bytes(|v| v.len() + 16)
    }

    fn log_access<'a>(
        &self,
        input: &'a KvInput,
        output: Option<&'a KvOutput>,
    ) -> Option<LogAccess<'a>> {
        // A put of "" removes the key, which reads as "" again: also a log write, of an empty
        // value (the analysis then leaves the partition to the search).
        let object = Cow::Borrowed(input.key().as_bytes());
        Some(match input {
            // Both a read and a write: not one of the log's operations, so the partition is
            // left to the general search.
            KvInput::AppendReturningOld { .. } => return None,
            KvInput::Get { .. } => LogAccess::Read {
                object,
                value: output.map(|o| Cow::Borrowed(o.value.as_bytes())),
            },
            KvInput::Put { value, .. } => LogAccess::Put {
                object,
                value: Cow::Borrowed(value.as_bytes()),
            },
            KvInput::Append { value, .. } => LogAccess::Append {
                object,
                value: Cow::Borrowed(value.as_bytes()),
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// 6.5840 versioned key/value server

/// Input of the 6.5840 key/value server (kvsrv): `Get` and a conditional `Put`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum VersionedKvInput {
    /// Read a key and its version.
    Get {
        /// The key.
        key: String,
    },
    /// Install `value` if the key's version is `version` (0: the key must not exist).
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
        /// The version the client expects.
        version: u64,
    },
}

impl VersionedKvInput {
    /// The key the operation is about.
    pub fn key(&self) -> &str {
        match self {
            VersionedKvInput::Get { key } | VersionedKvInput::Put { key, .. } => key,
        }
    }
}

/// Output of the 6.5840 key/value server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum VersionedKvOutput {
    /// `Get` found the key.
    Value {
        /// Its value.
        value: String,
        /// Its version.
        version: u64,
    },
    /// `Put` installed its value.
    Ok,
    /// `Get` or `Put`: the key does not exist (for `Put`: and the version was not 0).
    ErrNoKey,
    /// `Put`: the version did not match; nothing changed.
    ErrVersion,
    /// `Put`: a retried request got `ErrVersion`, so the first attempt may or may not have
    /// installed the value.
    ErrMaybe,
}

/// The 6.5840 versioned key/value server: each key holds (value, version); `Put(k, v, ver)`
/// installs v with version ver+1 when the key's version is ver (a missing key has version 0),
/// else fails with `ErrVersion` (key present) or `ErrNoKey` (key missing). `ErrMaybe` is
/// nondeterministic (the put may or may not have happened), hence a
/// [`NondeterministicModel`]: check it as `PowerSet(VersionedKvModel)`. Partitioned by key.
#[derive(Clone, Copy, Debug, Default)]
pub struct VersionedKvModel;

impl NondeterministicModel for VersionedKvModel {
    type State = MapState<(Arc<str>, u64)>;
    type Input = VersionedKvInput;
    type Output = VersionedKvOutput;

    fn init(&self) -> Vec<Self::State> {
        vec![MapState::default()]
    }

    fn step(
        &self,
        state: &Self::State,
        input: &VersionedKvInput,
        output: Option<&VersionedKvOutput>,
        next: &mut Vec<Self::State>,
    ) {
        use VersionedKvOutput as Out;
        match input {
            VersionedKvInput::Get { key } => {
                let cur = state.get(key);
                let ok = match (output, cur) {
                    (None, _) => true,
                    (Some(Out::Value { value, version }), Some((v, ver))) => {
                        **v == **value && ver == version
                    }
                    (Some(Out::ErrNoKey), None) => true,
                    _ => false,
                };
                if ok {
                    next.push(state.clone());
                }
            }
            VersionedKvInput::Put {
                key,
                value,
                version,
            } => {
                let cur = state.get(key);
                let applies = match cur {
                    Some((_, v)) => v == version,
                    None => *version == 0,
                };
                let applied = || state.with(key, Some((Arc::from(value.as_str()), version + 1)));
                match output {
                    None | Some(Out::Ok) if applies => next.push(applied()),
                    None => next.push(state.clone()),
                    Some(Out::ErrVersion) if !applies && cur.is_some() => next.push(state.clone()),
                    Some(Out::ErrNoKey) if !applies && cur.is_none() => next.push(state.clone()),
                    Some(Out::ErrMaybe) => {
                        if applies {
                            next.push(applied());
                        }
                        next.push(state.clone());
                    }
                    _ => {}
                }
            }
        }
    }

    fn partition(&self, ops: &[Operation<VersionedKvInput, VersionedKvOutput>]) -> Vec<Vec<usize>> {
        partition_by_key(ops, VersionedKvInput::key)
    }

    fn is_read_only(&self, input: &VersionedKvInput, output: Option<&VersionedKvOutput>) -> bool {
        matches!(input, VersionedKvInput::Get { .. })
            || matches!(
                output,
                Some(VersionedKvOutput::ErrVersion | VersionedKvOutput::ErrNoKey)
            )
    }

    fn describe_operation(
        &self,
        input: &VersionedKvInput,
        output: Option<&VersionedKvOutput>,
    ) -> String {
        let call = match input {
            VersionedKvInput::Get { key } => format!("get({})", quote(key)),
            VersionedKvInput::Put {
                key,
                value,
                version,
            } => format!("put({}, {}, v{version})", quote(key), quote(value)),
        };
        let res = match output {
            None => "?".to_string(),
            Some(VersionedKvOutput::Value { value, version }) => {
                format!("({}, v{version})", quote(value))
            }
            Some(VersionedKvOutput::Ok) => "Ok".into(),
            Some(VersionedKvOutput::ErrNoKey) => "ErrNoKey".into(),
            Some(VersionedKvOutput::ErrVersion) => "ErrVersion".into(),
            Some(VersionedKvOutput::ErrMaybe) => "ErrMaybe".into(),
        };
        format!("{call} -> {res}")
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let parts: Vec<String> = state
            .iter()
            .map(|(k, (v, ver))| format!("{} = ({}, v{ver})", quote(k), quote(v)))
            .collect();
        if parts.is_empty() {
            "(empty)".into()
        } else {
            parts.join(", ")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Register with compare-and-set

/// Input of a register: read, write, compare-and-set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Overwrite the value.
    Write {
        /// The new value.
        value: i64,
    },
    /// If the value is `from`, set it to `to`.
    Cas {
        /// Expected value.
        from: i64,
        /// New value.
        to: i64,
    },
}

/// Output of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum RegisterOutput {
    /// The value read (`None`: never written).
    Read {
        /// The value.
        value: Option<i64>,
    },
    /// The write completed.
    Write,
    /// Whether the compare-and-set's comparison succeeded. A failed CAS happened: its
    /// comparison failed and the register was left unchanged.
    Cas {
        /// Comparison succeeded.
        ok: bool,
    },
}

/// A single register, initially without value, with read / write / compare-and-set (the
/// Jepsen etcd histories). Not partitioned.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegisterModel;

impl Model for RegisterModel {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    #[inline]
    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, None) => Some(*state),
            (RegisterInput::Read, Some(RegisterOutput::Read { value })) => {
                (value == state).then_some(*state)
            }
            (RegisterInput::Write { value }, None | Some(RegisterOutput::Write)) => {
                Some(Some(*value))
            }
            (RegisterInput::Cas { from, to }, out) => {
                let matches = *state == Some(*from);
                match out {
                    None => Some(if matches { Some(*to) } else { *state }),
                    Some(RegisterOutput::Cas { ok }) if *ok == matches => {
                        Some(if matches { Some(*to) } else { *state })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        match input {
            RegisterInput::Read => true,
            RegisterInput::Write { .. } => false,
            RegisterInput::Cas { from, to } => {
                from == to || matches!(output, Some(RegisterOutput::Cas { ok: false }))
            }
        }
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let v = |x: &Option<i64>| x.map_or("nil".to_string(), |x| x.to_string());
        match (input, output) {
            (RegisterInput::Read, Some(RegisterOutput::Read { value })) => {
                format!("read() -> {}", v(value))
            }
            (RegisterInput::Read, _) => "read() -> ?".into(),
            (RegisterInput::Write { value }, Some(_)) => format!("write({value})"),
            (RegisterInput::Write { value }, None) => format!("write({value}) -> ?"),
            (RegisterInput::Cas { from, to }, Some(RegisterOutput::Cas { ok })) => {
                format!("cas({from}, {to}) -> {}", if *ok { "ok" } else { "fail" })
            }
            (RegisterInput::Cas { from, to }, _) => format!("cas({from}, {to}) -> ?"),
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        state.map_or("nil".to_string(), |x| x.to_string())
    }

    fn log_access<'a>(
        &self,
        input: &'a RegisterInput,
        output: Option<&'a RegisterOutput>,
    ) -> Option<LogAccess<'a>> {
        // A register is a log without appends: a write puts its value (eight bytes, so no
        // value is a prefix of another), a read returns it, and no value at all reads as the
        // empty log. A compare-and-set is not a log operation.
        let object = Cow::Borrowed(&[][..]);
        match (input, output) {
            (RegisterInput::Read, None) => Some(LogAccess::Read {
                object,
                value: None,
            }),
            (RegisterInput::Read, Some(RegisterOutput::Read { value })) => Some(LogAccess::Read {
                object,
                value: Some(Cow::Owned(
                    value.map_or(Vec::new(), |v| v.to_be_bytes().to_vec()),
                )),
            }),
            (RegisterInput::Write { value }, None | Some(RegisterOutput::Write)) => {
                Some(LogAccess::Put {
                    object,
                    value: Cow::Owned(value.to_be_bytes().to_vec()),
                })
            }
            _ => None,
        }
    }
}
