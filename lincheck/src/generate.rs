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

/// An anomaly injected into a generated key/value test history ([`kv_test_history`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// None: the history is linearizable.
    None,
    /// A get returns, at the end of its value, the value of an append that is called only
    /// after the get returned (a read from the future).
    Phantom,
    /// An append returns but never takes effect, and a later get (with no put in between)
    /// misses it.
    Lost,
    /// An append takes effect twice, and a later get sees its value twice.
    Duplicated,
}

impl Anomaly {
    /// Every kind, `None` first.
    pub const ALL: [Anomaly; 4] = [
        Anomaly::None,
        Anomaly::Phantom,
        Anomaly::Lost,
        Anomaly::Duplicated,
    ];

    /// A short name for tables: `ok`, `phantom`, `lost`, `duplicated`.
    pub fn name(self) -> &'static str {
        match self {
            Anomaly::None => "ok",
            Anomaly::Phantom => "phantom",
            Anomaly::Lost => "lost",
            Anomaly::Duplicated => "duplicated",
        }
    }
}

/// Shape of a history like the key/value labs' tests produce ([`kv_test_history`]).
#[derive(Clone, Debug)]
pub struct KvTestSpec {
    /// Random seed.
    pub seed: u64,
    /// Concurrent clients (each has one operation in flight at a time).
    pub clients: u64,
    /// Number of keys.
    pub keys: u64,
    /// Number of operations.
    pub ops: usize,
    /// Chance, in thousandths, that a client crashes during an operation: the operation never
    /// returns (its outcome is unknown; it takes effect or not, half the time each) and the
    /// client comes back under a new id.
    pub crash_per_mille: u64,
    /// The anomaly to inject (at most one).
    pub anomaly: Anomaly,
}

/// A generated history and what a correct checker must answer.
#[derive(Clone, Debug)]
pub struct GeneratedHistory {
    /// The operations, in call order.
    pub operations: Vec<Operation<KvInput, KvOutput>>,
    /// `true` when the history is linearizable (no anomaly was injected).
    pub linearizable: bool,
    /// What was injected, and into which operations (indices into `operations`).
    pub note: String,
}

/// Time of one operation in [`kv_test_history`] (microseconds).
#[derive(Clone, Copy, Debug)]
struct Timing {
    /// When the service applied it (`None`: never).
    effect: Option<u64>,
    /// `None`: the client crashed and never saw the reply.
    ret: Option<u64>,
}

/// A history shaped like the key/value labs' tests (`GenericTest` with random keys): each
/// client loops over append (50 %), put (5 %) and get (45 %) on a random key, with values
/// `x CLIENT N y` unique to each write. A replicated service applies requests in the order
/// they reach the leader, in batches at commit instants (every 1-3 ms, with leader changes
/// that stall commits for 50-500 ms); requests and replies take 0.1-1 ms on the network, 10 %
/// of them up to 20 ms. Crashed clients leave operations without a return.
///
/// With an [`Anomaly`], the service misbehaves exactly once so that the history is provably
/// not linearizable (see each variant); `None` is returned when the random execution offers
/// no place for it (try another seed).
pub fn kv_test_history(spec: &KvTestSpec) -> Option<GeneratedHistory> {
    let mut rng = SplitMix(spec.seed ^ 0x6b76_7465_7374);
    let clients = spec.clients.max(1);
    let keys = spec.keys.max(1);
    let net = |rng: &mut SplitMix| {
        if rng.below(10) == 0 {
            100 + rng.below(20_000)
        } else {
            100 + rng.below(900)
        }
    };
    // Commit instants: the service applies everything that arrived before each one.
    let mut commits: Vec<u64> = Vec::new();
    let commit_after = |commits: &mut Vec<u64>, rng: &mut SplitMix, t: u64| -> u64 {
        while commits.last().is_none_or(|&c| c < t) {
            let last = commits.last().copied().unwrap_or(0);
            let gap = if rng.below(400) == 0 {
                50_000 + rng.below(450_000)
            } else {
                1_000 + rng.below(2_000)
            };
            commits.push(last + gap);
        }
        commits[commits.partition_point(|&c| c < t)]
    };
    // Per client slot: the time it is free again, its current id, its write counter.
    let mut free_at = vec![0u64; clients as usize];
    let mut ids: Vec<u64> = (0..clients).collect();
    let mut next_id = clients;
    let mut counters = vec![0u64; clients as usize];
    let mut ops: Vec<Operation<KvInput, KvOutput>> = Vec::with_capacity(spec.ops);
    let mut times: Vec<Timing> = Vec::with_capacity(spec.ops);
    // (arrival, op) so that equal commit instants apply in arrival order.
    let mut arrival: Vec<u64> = Vec::with_capacity(spec.ops);
    for _ in 0..spec.ops {
        // The client that is free first goes next, so that calls come in time order.
        let slot = (0..clients as usize)
            .min_by_key(|&c| (free_at[c], c))
            .expect("at least one client");
        let call = free_at[slot] + rng.below(200);
        let arrives = call + net(&mut rng);
        let applied = commit_after(&mut commits, &mut rng, arrives);
        let crashed = rng.below(1000) < spec.crash_per_mille;
        let key = rng.below(keys).to_string();
        let id = ids[slot];
        let roll = rng.below(1000);
        let input = if !(500..950).contains(&roll) {
            let value = format!("x {id} {} y", counters[slot]);
            counters[slot] += 1;
            if roll < 500 {
                KvInput::Append { key, value }
            } else {
                KvInput::Put { key, value }
            }
        } else {
            KvInput::Get { key }
        };
        let timing = if crashed {
            let effect = (rng.below(2) == 0).then_some(applied);
            // The client restarts under a new id after a while.
            free_at[slot] = applied + 1_000 + rng.below(50_000);
            ids[slot] = next_id;
            next_id += 1;
            counters[slot] = 0;
            Timing { effect, ret: None }
        } else {
            let ret = applied + net(&mut rng);
            free_at[slot] = ret + 1;
            Timing {
                effect: Some(applied),
                ret: Some(ret),
            }
        };
        ops.push(Operation {
            client: id,
            call,
            ret: timing.ret,
            input,
            output: None,
        });
        times.push(timing);
        arrival.push(arrives);
    }
    let injected = inject(spec.anomaly, &ops, &times, &mut rng)?;
    // Apply in effect order and fill in the outputs.
    let mut order: Vec<usize> = (0..ops.len())
        .filter(|&i| times[i].effect.is_some())
        .collect();
    order.sort_by_key(|&i| (times[i].effect, arrival[i], i));
    let mut state: HashMap<String, String> = HashMap::new();
    for (k, &i) in order.iter().enumerate() {
        let op = &mut ops[i];
        match &op.input {
            KvInput::Get { key } => {
                if op.ret.is_some() {
                    let mut value = state.get(key).cloned().unwrap_or_default();
                    if let Injected::Phantom { get, append } = injected
                        && get == i
                    {
                        value.push_str(write_value(&ops[append].input));
                    }
                    ops[i].output = Some(KvOutput { value });
                }
            }
            KvInput::Put { key, value } => {
                state.insert(key.clone(), value.clone());
                op.output = op.ret.map(|_| KvOutput::default());
            }
            KvInput::Append { key, value } => {
                op.output = op.ret.map(|_| KvOutput::default());
                let lost = matches!(injected, Injected::Lost { append, .. } if append == i);
                if !lost {
                    state.entry(key.clone()).or_default().push_str(value);
                }
            }
            KvInput::AppendReturningOld { .. } => {
                unreachable!("kv_test_history generates get, put and append only")
            }
        }
        // The duplicated append takes effect a second time right before the get.
        if let Injected::Duplicated { append, get } = injected
            && order.get(k + 1) == Some(&get)
        {
            let KvInput::Append { key, value } = &ops[append].input else {
                unreachable!("inject picks an append")
            };
            let (key, value) = (key.clone(), value.clone());
            state.entry(key).or_default().push_str(&value);
        }
    }
    let note = match injected {
        Injected::Nothing => "no anomaly".to_string(),
        Injected::Phantom { get, append } => {
            format!("phantom: get {get} returns the value of append {append}, called after it")
        }
        Injected::Lost { append, get } => {
            format!("lost: append {append} never takes effect; get {get} misses it")
        }
        Injected::Duplicated { append, get } => {
            format!("duplicated: append {append} takes effect twice; get {get} sees both")
        }
    };
    Some(GeneratedHistory {
        operations: ops,
        linearizable: injected == Injected::Nothing,
        note,
    })
}

/// Where [`kv_test_history`] injects its anomaly (operation indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Injected {
    Nothing,
    Phantom { get: usize, append: usize },
    Lost { append: usize, get: usize },
    Duplicated { append: usize, get: usize },
}

fn write_value(input: &KvInput) -> &str {
    match input {
        KvInput::Put { value, .. }
        | KvInput::Append { value, .. }
        | KvInput::AppendReturningOld { value, .. } => value,
        KvInput::Get { .. } => "",
    }
}

/// Picks the operations of the anomaly so that no linearization can exist:
/// - phantom: the get returns before the append is called, so it must precede it, yet shows
///   its (unique) value;
/// - lost / duplicated: the append returns before the get is called, and every put of the key
///   lies entirely before the append's call or after the get's return, so no put can come
///   between them: the get must show the append's value exactly once, and it does not.
fn inject(
    anomaly: Anomaly,
    ops: &[Operation<KvInput, KvOutput>],
    times: &[Timing],
    rng: &mut SplitMix,
) -> Option<Injected> {
    let completed_get =
        |i: usize| matches!(ops[i].input, KvInput::Get { .. }) && ops[i].ret.is_some();
    let append = |i: usize| matches!(ops[i].input, KvInput::Append { .. });
    // Start the search at a random operation in the middle half, so that seeds differ.
    let n = ops.len();
    if n < 4 {
        return (anomaly == Anomaly::None).then_some(Injected::Nothing);
    }
    let start = n / 4 + rng.below((n / 2) as u64) as usize;
    let candidates = (start..n).chain(0..start);
    match anomaly {
        Anomaly::None => Some(Injected::Nothing),
        Anomaly::Phantom => candidates.filter(|&g| completed_get(g)).find_map(|g| {
            let ret = ops[g].ret?;
            (g + 1..n)
                .find(|&a| {
                    append(a) && ops[a].input.key() == ops[g].input.key() && ops[a].call > ret
                })
                .map(|a| Injected::Phantom { get: g, append: a })
        }),
        Anomaly::Lost | Anomaly::Duplicated => {
            candidates.filter(|&a| append(a)).find_map(|a| {
                let a_ret = ops[a].ret?;
                times[a].effect?;
                let key = ops[a].input.key();
                let g = (a + 1..n).find(|&g| {
                    completed_get(g) && ops[g].input.key() == key && ops[g].call > a_ret
                })?;
                let g_ret = ops[g].ret?;
                // The get must also be applied after the append (it is: it arrives later).
                let put_between = ops.iter().any(|p| {
                    matches!(p.input, KvInput::Put { .. })
                        && p.input.key() == key
                        && p.call <= g_ret
                        && p.ret.is_none_or(|r| r >= ops[a].call)
                });
                (!put_between).then_some(if anomaly == Anomaly::Lost {
                    Injected::Lost { append: a, get: g }
                } else {
                    Injected::Duplicated { append: a, get: g }
                })
            })
        }
    }
}
