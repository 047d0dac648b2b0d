//! Random histories of linearizable executions, for tests and benchmarks.

use std::collections::HashMap;

use super::history::Operation;
use super::models::{KvInput, KvOutput, VersionedKvInput, VersionedKvOutput};

/// A small deterministic random generator (splitmix64).
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Shape of a generated key/value history.
#[derive(Clone, Debug)]
pub struct KvHistorySpec {
    /// Random seed.
    pub seed: u64,
    /// Number of clients (each has one operation in flight at a time).
    pub clients: u64,
    /// Number of operations.
    pub ops: usize,
    /// Number of distinct keys.
    pub keys: u64,
    /// Maximum latency of an operation, in time units; 0 makes the history sequential.
    pub max_latency: u64,
}

/// The history of a linearizable execution of the 6.824 key/value store: each operation
/// takes effect shortly after its call (0 to 3 time units, as a request reaching a server)
/// and returns up to `max_latency` later; outputs come from applying the operations in the
/// order they took effect. 10% puts, 50% appends (`"x CLIENT SEQ y"`, as the kvraft tests
/// write), 40% gets.
pub fn kv_history(spec: &KvHistorySpec) -> Vec<Operation<KvInput, KvOutput>> {
    let mut rng = SplitMix(spec.seed);
    let clients = spec.clients.max(1);
    let keys = spec.keys.max(1);
    let mut free_at = vec![0u64; clients as usize];
    let mut ops: Vec<(u64, Operation<KvInput, KvOutput>)> = Vec::with_capacity(spec.ops);
    for i in 0..spec.ops {
        let c = rng.below(clients);
        // Like a replicated server: the request reaches the server after a short delay
        // (0..=3) and takes effect there, in arrival order; the reply comes back after a
        // longer, random delay (commit, apply, network).
        let (call, point, ret) = if spec.max_latency == 0 {
            let t = i as u64 * 10;
            (t, t + 2, t + 5)
        } else {
            let call = free_at[c as usize] + rng.below(3);
            let point = call + rng.below(4);
            (call, point, point + 1 + rng.below(spec.max_latency))
        };
        free_at[c as usize] = ret + 1;
        // Times are scaled by 4 so that the instant of effect can be strictly inside.
        let point = point * 4 + 1 + rng.below(2);
        let key = rng.below(keys).to_string();
        let input = match rng.below(10) {
            0 => KvInput::Put {
                key,
                value: format!("p {c} {i}"),
            },
            1..=5 => KvInput::Append {
                key,
                value: format!("x {c} {i} y"),
            },
            _ => KvInput::Get { key },
        };
        ops.push((
            point,
            Operation::completed(c, call * 4, ret * 4 + 3, input, KvOutput::default()),
        ));
    }
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| (ops[i].0, i));
    let mut state: HashMap<String, String> = HashMap::new();
    for i in order {
        let o = &mut ops[i].1;
        match &o.input {
            KvInput::Get { key } => {
                o.output = Some(KvOutput {
                    value: state.get(key).cloned().unwrap_or_default(),
                })
            }
            KvInput::Put { key, value } => {
                state.insert(key.clone(), value.clone());
            }
            KvInput::Append { key, value } => state.entry(key.clone()).or_default().push_str(value),
            KvInput::AppendReturningOld { key, value } => {
                let current = state.entry(key.clone()).or_default();
                o.output = Some(KvOutput {
                    value: current.clone(),
                });
                current.push_str(value);
            }
        }
    }
    ops.into_iter().map(|(_, o)| o).collect()
}

/// The history of a linearizable execution of the 6.5840 versioned key/value server, shaped
/// like its tests: every client repeatedly reads a random key and then tries to put a new
/// value with the version it read. Timing as in [`kv_history`]. About 5% of the puts that
/// returned `Ok` or `ErrVersion` report `ErrMaybe` instead (a retried request).
pub fn versioned_kv_history(
    spec: &KvHistorySpec,
) -> Vec<Operation<VersionedKvInput, VersionedKvOutput>> {
    let mut rng = SplitMix(spec.seed);
    let clients = spec.clients.max(1);
    let keys = spec.keys.max(1);
    let mut free_at = vec![0u64; clients as usize];
    // What each client read last: (key, version) for its next put.
    let mut next_put: Vec<Option<(String, u64)>> = vec![None; clients as usize];
    let mut ops: Vec<(u64, Operation<VersionedKvInput, VersionedKvOutput>)> =
        Vec::with_capacity(spec.ops);
    for i in 0..spec.ops {
        let c = rng.below(clients) as usize;
        let (call, point, ret) = if spec.max_latency == 0 {
            let t = i as u64 * 10;
            (t, t + 2, t + 5)
        } else {
            let call = free_at[c] + rng.below(3);
            let point = call + rng.below(4);
            (call, point, point + 1 + rng.below(spec.max_latency))
        };
        free_at[c] = ret + 1;
        let point = point * 4 + 1 + rng.below(2);
        let input = match next_put[c].take() {
            Some((key, version)) => VersionedKvInput::Put {
                key,
                value: format!("v {c} {i}"),
                version,
            },
            None => VersionedKvInput::Get {
                key: rng.below(keys).to_string(),
            },
        };
        ops.push((
            point,
            Operation::completed(
                c as u64,
                call * 4,
                ret * 4 + 3,
                input,
                VersionedKvOutput::Ok,
            ),
        ));
        // The client's next operation: a put after a get.
        if let VersionedKvInput::Get { key } = &ops[i].1.input {
            next_put[c] = Some((key.clone(), 0));
        }
    }
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| (ops[i].0, i));
    // Versions read by gets feed the following put of the same client: fill them in effect
    // order (a client's put always takes effect after its get).
    let mut state: HashMap<String, (String, u64)> = HashMap::new();
    let mut read_version: HashMap<u64, u64> = HashMap::new();
    for i in order {
        let maybe = rng.below(20) == 0;
        let o = &mut ops[i].1;
        let out = match &mut o.input {
            VersionedKvInput::Get { key } => match state.get(key.as_str()) {
                Some((v, ver)) => {
                    read_version.insert(o.client, *ver);
                    VersionedKvOutput::Value {
                        value: v.clone(),
                        version: *ver,
                    }
                }
                None => {
                    read_version.insert(o.client, 0);
                    VersionedKvOutput::ErrNoKey
                }
            },
            VersionedKvInput::Put {
                key,
                value,
                version,
            } => {
                *version = read_version.get(&o.client).copied().unwrap_or(0);
                let out = match state.get(key.as_str()) {
                    Some((_, cur)) if cur == version => {
                        state.insert(key.clone(), (value.clone(), *version + 1));
                        VersionedKvOutput::Ok
                    }
                    Some(_) => VersionedKvOutput::ErrVersion,
                    None if *version == 0 => {
                        state.insert(key.clone(), (value.clone(), 1));
                        VersionedKvOutput::Ok
                    }
                    None => VersionedKvOutput::ErrNoKey,
                };
                if maybe && out != VersionedKvOutput::ErrNoKey {
                    VersionedKvOutput::ErrMaybe
                } else {
                    out
                }
            }
        };
        o.output = Some(out);
    }
    ops.into_iter().map(|(_, o)| o).collect()
}
