//! The log analysis: a near-linear decision procedure for partitions of log-like models
//! ([`Model::log_access`]) whose written values are unique.
//!
//! A read returns the whole value: with unique, non-empty values of which none is a prefix of
//! another, that value splits in exactly one way into the put that started it (or none: the
//! initial empty value) and the appends after it, in order. So every read names its *epoch*
//! (the put, or the initial value) and its position in the epoch's append sequence, and the
//! longest read of an epoch orders the epoch's appends. What remains to find is the order of
//! the epochs and where the writes no read sees go; a search on a summary of the state
//! (epoch, position, reads done) finds it, with almost no choices:
//!
//! - inside an epoch, the next step is forced: the reads at the current position, then the
//!   next append;
//! - a write no read sees can only take effect once every read of the current epoch is done
//!   (else that read would see it, or the put would hide the epoch from it), and then it
//!   changes nothing any read can see: it is taken as soon as it may (no alternative to try);
//! - the only real choice is which put, among the concurrent ones, starts the next epoch.
//!
//! Reads that no order can explain (a value that is no sequence of writes, an append seen
//! twice, two reads of one epoch of which neither extends the other, an append seen in two
//! epochs) are marked impossible: the history is then not linearizable, and the search finds
//! where it gets stuck for the report.

// Lookups alone: what is collected from these maps is sorted before use, so their order
// never shows.
use rustc_hash::FxHashMap;

use super::history::Operation;
use super::model::{LogAccess, Model};

/// What the log analysis found in one partition (reported by `lincheck -v`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSummary {
    /// Epochs: the initial (empty) value if a read sees it, and every put whose value a read
    /// returns.
    pub epochs: usize,
    /// Reads whose value fixes the state.
    pub reads: usize,
    /// Appends whose place reads reveal.
    pub ordered_appends: usize,
    /// Writes no read sees: they may take effect wherever no read can see them.
    pub unseen_writes: usize,
    /// Reads whose value no order of the writes explains.
    pub impossible_reads: usize,
    /// Orders the reads fix against real time (each one proves the partition not
    /// linearizable).
    pub order_conflicts: usize,
    /// The proofs found, in words (the first few): why reads are impossible, which orders
    /// contradict real time.
    pub findings: Vec<String>,
}

/// How many impossible reads [`LogSummary::findings`] explains.
const MAX_FINDINGS: usize = 5;

/// An operation as the analysis sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogOp {
    /// A read that sees the epoch's first `len` appends.
    Read { epoch: u32, len: u32 },
    /// A read whose result is unknown: possible anywhere.
    AnyRead,
    /// The `index`-th append (from 1) of the epoch.
    Append { epoch: u32, index: u32 },
    /// The put that starts the epoch.
    Put { epoch: u32 },
    /// A write no read sees.
    Unseen,
    /// A read no order of the writes explains.
    Impossible,
}

/// The state as far as the reads can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LogState {
    /// Inside an epoch that still has reads to come: its first `len` appends are done, and
    /// `reads_done` of its reads.
    Open {
        epoch: u32,
        len: u32,
        reads_done: u32,
    },
    /// Every read of the current epoch is done: what happens until the next put is unseen.
    Closed,
}

/// The model the search runs on after the analysis (see the module documentation).
pub(crate) struct LogModel {
    /// Per epoch: `reads_up_to[epoch][k]` = its reads that see at most `k` appends; the last
    /// element counts them all.
    reads_up_to: Vec<Vec<u32>>,
}

impl LogModel {
    fn total_reads(&self, epoch: u32) -> u32 {
        self.reads_up_to[epoch as usize]
            .last()
            .copied()
            .unwrap_or(0)
    }

    /// The state right after an epoch starts.
    fn start(&self, epoch: u32) -> LogState {
        if self.total_reads(epoch) == 0 {
            LogState::Closed
        } else {
            LogState::Open {
                epoch,
                len: 0,
                reads_done: 0,
            }
        }
    }
}

impl Model for LogModel {
    type State = LogState;
    type Input = LogOp;
    type Output = ();

    fn init(&self) -> LogState {
        self.start(INITIAL_EPOCH)
    }

    fn step(&self, state: &LogState, op: &LogOp, _output: Option<&()>) -> Option<LogState> {
        match (*op, *state) {
            (LogOp::AnyRead, s) => Some(s),
            (LogOp::Unseen, LogState::Closed) => Some(LogState::Closed),
            (LogOp::Put { epoch }, LogState::Closed) => Some(self.start(epoch)),
            (
                LogOp::Read { epoch, len },
                LogState::Open {
                    epoch: current,
                    len: at,
                    reads_done,
                },
            ) if epoch == current && len == at => {
                let reads_done = reads_done + 1;
                Some(if reads_done == self.total_reads(epoch) {
                    LogState::Closed
                } else {
                    LogState::Open {
                        epoch,
                        len,
                        reads_done,
                    }
                })
            }
            (
                LogOp::Append { epoch, index },
                LogState::Open {
                    epoch: current,
                    len,
                    reads_done,
                },
            ) if epoch == current
                && index == len + 1
                && reads_done == self.reads_up_to[epoch as usize][len as usize] =>
            {
                Some(LogState::Open {
                    epoch,
                    len: index,
                    reads_done,
                })
            }
            _ => None,
        }
    }

    fn is_read_only(&self, op: &LogOp, _output: Option<&()>) -> bool {
        matches!(op, LogOp::Read { .. } | LogOp::AnyRead | LogOp::Unseen)
    }
}

/// Whether an operation of the analysed partition may be taken without trying alternatives
/// when it is possible: a read (the other reads of its position can follow it), a read with
/// unknown result, or an unseen write (it changes nothing a read can see).
pub(crate) fn is_forced(op: &LogOp) -> bool {
    matches!(op, LogOp::Read { .. } | LogOp::AnyRead | LogOp::Unseen)
}

/// The epoch of the initial (empty) value.
const INITIAL_EPOCH: u32 = 0;

/// A partition rewritten for the [`LogModel`]: the same operations (same order, times and
/// outcomes) with their [`LogOp`]s.
pub(crate) struct LogPlan {
    pub(crate) ops: Vec<Operation<LogOp, ()>>,
    pub(crate) model: LogModel,
    pub(crate) summary: LogSummary,
    /// Operations (local numbers) that prove the partition not linearizable: impossible reads
    /// and the operations of order conflicts; empty when the analysis found no proof.
    pub(crate) culprits: Vec<usize>,
}

/// The longest read of an epoch: its appends in order, and the byte offsets where each of
/// its prefixes ends (`ends[k]`: after the put and `k` appends).
struct Longest<'v> {
    op: usize,
    value: &'v [u8],
    appends: Vec<usize>,
    ends: Vec<usize>,
}

/// What a read's value says: its epoch (the put, or `None` for the initial value) and how
/// many appends it sees, or why no order of the writes explains it.
type ReadShape = Result<(Option<usize>, u32), String>;

/// A read split into its writes: the appends after its put (or the initial value), and the
/// byte offsets where each prefix ends (`ends[k]`: after the put and `k` appends).
struct Split {
    appends: Vec<usize>,
    ends: Vec<usize>,
}

/// Analyses a partition. `Err` when the analysis does not apply (then the search decides),
/// with the reason, or `None` when the model is no log at all.
pub(crate) fn analyze<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
) -> Result<LogPlan, Option<String>> {
    let describe = |i: usize| model.describe_operation(&ops[i].input, ops[i].output.as_ref());
    let mut accesses: Vec<LogAccess<'_>> = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let Some(access) = model.log_access(&op.input, op.output.as_ref()) else {
            let some_log_operation = ops
                .iter()
                .any(|o| model.log_access(&o.input, o.output.as_ref()).is_some());
            return Err(
                some_log_operation.then(|| format!("{} is not a read, put or append", describe(i)))
            );
        };
        if let Some(first) = accesses.first()
            && first.object() != access.object()
        {
            return Err(Some(format!(
                "{} and {} are about different objects",
                describe(0),
                describe(i)
            )));
        }
        accesses.push(access);
    }
    let (writer_of, lengths) = index_written_values(&accesses, &describe).map_err(Some)?;
    let is_put = |w: usize| matches!(accesses[w], LogAccess::Put { .. });
    let token_at = |value: &[u8], pos: usize| -> Option<usize> {
        lengths.iter().find_map(|&l| {
            value
                .get(pos..pos + l)
                .and_then(|piece| writer_of.get(piece).copied())
        })
    };
    // Seen-marks for duplicate detection, one stamp per split.
    let mut seen_stamp = vec![0u32; ops.len()];
    let mut stamp = 0u32;
    let mut split = |value: &[u8]| -> Result<Split, String> {
        stamp += 1;
        let mut s = Split {
            appends: Vec::new(),
            ends: Vec::new(),
        };
        let mut pos = 0;
        if let Some(w) = token_at(value, 0)
            && is_put(w)
        {
            pos = written_len(&accesses[w]);
        }
        s.ends.push(pos);
        while pos < value.len() {
            let Some(w) = token_at(value, pos) else {
                return Err(if pos == 0 {
                    "no sequence of writes makes its value".to_string()
                } else {
                    format!(
                        "no sequence of writes makes its value (nothing written matches from byte {pos} on)"
                    )
                });
            };
            if is_put(w) {
                return Err(format!(
                    "its value has what {} writes in the middle, but a put replaces the whole value",
                    describe(w)
                ));
            }
            if seen_stamp[w] == stamp {
                return Err(format!("it sees {} twice", describe(w)));
            }
            seen_stamp[w] = stamp;
            s.appends.push(w);
            pos += written_len(&accesses[w]);
            s.ends.push(pos);
        }
        Ok(s)
    };

    // Reads with a known value, longest first: a shorter read of the same epoch is then
    // usually a prefix of one already split, which costs a comparison instead of a split.
    let mut reads: Vec<usize> = (0..ops.len())
        .filter(|&i| matches!(&accesses[i], LogAccess::Read { value: Some(_), .. }))
        .collect();
    let read_value = |i: usize| match &accesses[i] {
        LogAccess::Read { value: Some(v), .. } => &v[..],
        _ => &[][..],
    };
    reads.sort_by_key(|&i| (std::cmp::Reverse(read_value(i).len()), i));
    // Per epoch (its put, or `None` for the initial value): its longest read.
    let mut longest: FxHashMap<Option<usize>, Longest<'_>> = FxHashMap::default();
    // Per read: (epoch put, appends seen), or why it is impossible.
    let mut shape: Vec<Option<ReadShape>> = vec![None; ops.len()];
    for &r in &reads {
        let value = read_value(r);
        if value.is_empty() {
            shape[r] = Some(Ok((None, 0)));
            continue;
        }
        let Some(first) = token_at(value, 0) else {
            shape[r] = Some(Err("no sequence of writes makes its value".into()));
            continue;
        };
        let epoch = is_put(first).then_some(first);
        if let Some(l) = longest.get(&epoch) {
            if l.value.starts_with(value)
                && let Ok(k) = l.ends.binary_search(&value.len())
            {
                shape[r] = Some(Ok((epoch, k as u32)));
                continue;
            }
            let why = match split(value) {
                Err(why) => why,
                Ok(_) => format!(
                    "after the same {}, neither its value nor that of {} extends the other",
                    epoch.map_or("initial value".to_string(), &describe),
                    describe(l.op)
                ),
            };
            shape[r] = Some(Err(why));
            continue;
        }
        match split(value) {
            Err(why) => shape[r] = Some(Err(why)),
            Ok(s) => {
                shape[r] = Some(Ok((epoch, s.appends.len() as u32)));
                longest.insert(
                    epoch,
                    Longest {
                        op: r,
                        value,
                        appends: s.appends,
                        ends: s.ends,
                    },
                );
            }
        }
    }

    // Epochs: the initial value first (always id 0, with or without reads), then the puts
    // some read sees, in operation order.
    let mut epoch_puts: Vec<usize> = longest.keys().flatten().copied().collect();
    epoch_puts.sort_unstable();
    let mut epoch_of_put: FxHashMap<usize, u32> = FxHashMap::default();
    for (k, &p) in epoch_puts.iter().enumerate() {
        epoch_of_put.insert(p, k as u32 + 1);
    }
    let epoch_id = |put: Option<usize>| put.map_or(INITIAL_EPOCH, |p| epoch_of_put[&p]);
    let epoch_count = epoch_puts.len() + 1;
    // Order each epoch's appends by its longest read. An append that an earlier epoch already
    // claims cuts the epoch there: the reads beyond the cut see it in two epochs.
    let mut place: Vec<Option<(u32, u32)>> = vec![None; ops.len()];
    let mut cut: Vec<usize> = vec![0; epoch_count];
    let mut claimed_by: Vec<usize> = vec![usize::MAX; ops.len()];
    let mut conflict: Vec<Option<usize>> = vec![None; epoch_count];
    for put in std::iter::once(None).chain(epoch_puts.iter().map(|&p| Some(p))) {
        let e = epoch_id(put);
        let Some(l) = longest.get(&put) else { continue };
        cut[e as usize] = l.appends.len();
        for (k, &a) in l.appends.iter().enumerate() {
            if place[a].is_some() {
                cut[e as usize] = k;
                conflict[e as usize] = Some(a);
                break;
            }
            place[a] = Some((e, k as u32 + 1));
            claimed_by[a] = l.op;
        }
    }
    let mut summary = LogSummary {
        epochs: 0,
        ..LogSummary::default()
    };
    let mut reads_up_to: Vec<Vec<u32>> = (0..epoch_count).map(|e| vec![0; cut[e] + 1]).collect();
    let mut log_ops: Vec<LogOp> = vec![LogOp::Unseen; ops.len()];
    let impossible = |r: usize, why: String, summary: &mut LogSummary| {
        summary.impossible_reads += 1;
        if summary.findings.len() < MAX_FINDINGS {
            summary.findings.push(format!("{}: {why}", describe(r)));
        }
        LogOp::Impossible
    };
    for i in 0..ops.len() {
        log_ops[i] = match &accesses[i] {
            LogAccess::Read { value: None, .. } => LogOp::AnyRead,
            LogAccess::Read { .. } => match shape[i].take() {
                Some(Ok((put, len))) => {
                    let e = epoch_id(put);
                    if len as usize > cut[e as usize] {
                        let a = conflict[e as usize].expect("a cut epoch has its conflict");
                        let why = format!(
                            "it sees {}, which {} sees after another put",
                            describe(a),
                            describe(claimed_by[a])
                        );
                        impossible(i, why, &mut summary)
                    } else {
                        reads_up_to[e as usize][len as usize] += 1;
                        summary.reads += 1;
                        LogOp::Read { epoch: e, len }
                    }
                }
                Some(Err(why)) => impossible(i, why, &mut summary),
                None => unreachable!("every read with a value has a shape"),
            },
            LogAccess::Append { .. } => match place[i] {
                Some((epoch, index)) => {
                    summary.ordered_appends += 1;
                    LogOp::Append { epoch, index }
                }
                None => LogOp::Unseen,
            },
            LogAccess::Put { .. } => match epoch_of_put.get(&i) {
                Some(&epoch) => LogOp::Put { epoch },
                None => LogOp::Unseen,
            },
        };
        if log_ops[i] == LogOp::Unseen {
            summary.unseen_writes += 1;
        }
    }
    for counts in &mut reads_up_to {
        for k in 1..counts.len() {
            counts[k] += counts[k - 1];
        }
    }
    summary.epochs = reads_up_to
        .iter()
        .filter(|c| c.last().is_some_and(|&n| n > 0))
        .count();
    let live: Vec<bool> = reads_up_to
        .iter()
        .map(|c| c.last().is_some_and(|&n| n > 0))
        .collect();
    let mut culprits: Vec<usize> = (0..ops.len())
        .filter(|&i| log_ops[i] == LogOp::Impossible)
        .collect();
    for conflict in order_conflicts(ops, &log_ops, &live) {
        summary.order_conflicts += 1;
        if summary.findings.len() < MAX_FINDINGS {
            summary.findings.push(conflict.explain(&describe));
        }
        culprits.extend(conflict.culprits());
    }
    culprits.sort_unstable();
    culprits.dedup();
    let plan_ops = ops
        .iter()
        .zip(log_ops)
        .map(|(op, input)| Operation {
            client: op.client,
            call: op.call,
            ret: op.ret,
            input,
            output: op.ret.map(|_| ()),
        })
        .collect();
    Ok(LogPlan {
        ops: plan_ops,
        model: LogModel { reads_up_to },
        summary,
        culprits,
    })
}

/// Two operations whose order the reads fix against real time, or two epochs that would
/// each have to come before the other, or a write no read sees that some epoch surrounds.
/// Each is a proof that the partition is not linearizable (see [`order_conflicts`]).
#[derive(Clone, Copy, Debug)]
enum Conflict {
    /// Inside one epoch, `first` must come before `second` (the reads say so), but `second`
    /// returned before `first` was called.
    Order { first: usize, second: usize },
    /// Two epochs (named by their puts; `None`: the initial value) overlap: `a_end` (called
    /// last in epoch A) was called after `b_start` (returned first in epoch B) returned, and
    /// the other way round (the initial epoch starts before everything).
    Epochs {
        a: Option<usize>,
        b: usize,
        a_start: Option<usize>,
        a_end: usize,
        b_start: usize,
        b_end: usize,
    },
    /// `write`, which no read sees, lies strictly inside an epoch: after `start` returned and
    /// before `end` was called.
    Hidden {
        write: usize,
        start: Option<usize>,
        end: usize,
    },
}

impl Conflict {
    fn culprits(self) -> Vec<usize> {
        match self {
            Conflict::Order { first, second } => vec![first, second],
            Conflict::Epochs {
                a_start,
                a_end,
                b_start,
                b_end,
                ..
            } => a_start.into_iter().chain([a_end, b_start, b_end]).collect(),
            Conflict::Hidden { write, start, end } => {
                start.into_iter().chain([write, end]).collect()
            }
        }
    }

    fn explain(self, describe: &dyn Fn(usize) -> String) -> String {
        let start = |s: Option<usize>| s.map_or("the start".to_string(), describe);
        match self {
            Conflict::Order { first, second } => format!(
                "{} returned before {} was called, yet the reads place it after",
                describe(second),
                describe(first)
            ),
            Conflict::Epochs {
                a,
                b,
                a_start,
                a_end,
                b_start,
                b_end,
            } => {
                let after = match a_start {
                    Some(s) => format!(
                        "{} returned before {} was called",
                        describe(s),
                        describe(b_end)
                    ),
                    None => "the initial value comes first".to_string(),
                };
                format!(
                    "the epochs of {} and {} overlap: {} returned before {} was called, and {after}; yet one epoch must end (with its last read) before the other begins (with its put)",
                    a.map_or("the initial value".to_string(), describe),
                    describe(b),
                    describe(b_start),
                    describe(a_end),
                )
            }
            Conflict::Hidden {
                write,
                start: s,
                end,
            } => format!(
                "no read sees {}, yet it was called after {} returned and returned before {} was called, in one epoch",
                describe(write),
                start(s),
                describe(end)
            ),
        }
    }
}

/// Necessary conditions on the order of an analysed partition, checked in O(n log n) before
/// any search (each failure is a [`Conflict`]):
///
/// - inside an epoch, the reads fix a rank for every operation (put 0, the `i`-th append
///   `2i`, a read of `k` appends `2k + 1`): no operation may return before one of lower rank
///   is called;
/// - an epoch runs as one block from its put to its last read, so it covers at least the time
///   from the first return of its operations to the last call (its *zone*, as Gibbons and
///   Korach call it for registers): of two epochs, one must end before the other starts, so
///   `last call of A <= first return of B` or the other way round (the initial value's epoch
///   comes first, from the very start);
/// - a write no read sees cannot lie strictly inside an epoch's zone.
///
/// `live[e]`: the epoch has reads (the others have no block).
fn order_conflicts(
    ops: &[&Operation<impl Sized, impl Sized>],
    log_ops: &[LogOp],
    live: &[bool],
) -> Vec<Conflict> {
    // Times as i128: the initial epoch starts before every time (-1), unknown returns are
    // after every time.
    let call = |i: usize| i128::from(ops[i].call);
    let ret = |i: usize| ops[i].ret.map_or(i128::MAX, i128::from);
    let mut conflicts = Vec::new();
    // Members of each epoch with their rank.
    let mut members: Vec<Vec<(u64, usize)>> = vec![Vec::new(); live.len()];
    for (i, op) in log_ops.iter().enumerate() {
        let (epoch, rank) = match *op {
            LogOp::Put { epoch } => (epoch, 0),
            LogOp::Append { epoch, index } => (epoch, 2 * u64::from(index)),
            LogOp::Read { epoch, len } => (epoch, 2 * u64::from(len) + 1),
            _ => continue,
        };
        members[epoch as usize].push((rank, i));
    }
    // Ranks against real time, per epoch: sweep the calls in time order, keeping the highest
    // rank among the operations that returned before.
    for list in &members {
        let mut by_call: Vec<(u64, usize)> = list.clone();
        by_call.sort_by_key(|&(_, i)| (call(i), i));
        let mut by_ret: Vec<(u64, usize)> = list.clone();
        by_ret.sort_by_key(|&(_, i)| (ret(i), i));
        let mut next_ret = 0;
        let mut highest: Option<(u64, usize)> = None;
        for &(rank, i) in &by_call {
            while next_ret < by_ret.len() && ret(by_ret[next_ret].1) < call(i) {
                let r = by_ret[next_ret];
                if highest.is_none_or(|h| r.0 > h.0) {
                    highest = Some(r);
                }
                next_ret += 1;
            }
            if let Some((h, first)) = highest
                && h > rank
            {
                conflicts.push(Conflict::Order {
                    first: i,
                    second: first,
                });
                break;
            }
        }
    }
    // Zones: (first return, its operation, last call, its operation) per live epoch.
    struct Zone {
        put: Option<usize>,
        start: i128,
        start_op: Option<usize>,
        end: i128,
        end_op: usize,
    }
    let mut zones: Vec<Zone> = Vec::new();
    for (e, list) in members.iter().enumerate() {
        if !live[e] || list.is_empty() {
            continue;
        }
        let end_op = list
            .iter()
            .map(|&(_, i)| i)
            .max_by_key(|&i| (call(i), i))
            .expect("members");
        let (start, start_op) = if e == INITIAL_EPOCH as usize {
            (-1, None)
        } else {
            let s = list
                .iter()
                .map(|&(_, i)| i)
                .min_by_key(|&i| (ret(i), i))
                .expect("members");
            (ret(s), Some(s))
        };
        let put = list
            .iter()
            .find(|&&(rank, _)| rank == 0)
            .map(|&(_, i)| i)
            .filter(|_| e != INITIAL_EPOCH as usize);
        zones.push(Zone {
            put,
            start,
            start_op,
            end: call(end_op),
            end_op,
        });
    }
    zones.sort_by_key(|z| (z.start, z.end_op));
    // best_end[k]: the zone with the latest end among the first k.
    let mut best_end: Vec<usize> = Vec::with_capacity(zones.len() + 1);
    for (k, z) in zones.iter().enumerate() {
        let best = match best_end.last() {
            Some(&b) if zones[b].end >= z.end => b,
            _ => k,
        };
        best_end.push(best);
    }
    for (j, z) in zones.iter().enumerate() {
        // An earlier zone B (start(B) <= start(A)) overlaps A if A's last call comes after
        // B's first return and B's last call after A's first return (at equal times,
        // operations may go either way).
        let before = zones[..j].partition_point(|b| b.start < z.end);
        if before == 0 {
            continue;
        }
        let b = &zones[best_end[before - 1]];
        if b.end > z.start {
            let (Some(b_start), a_end) = (b.start_op, z.end_op) else {
                // B is the initial epoch: it must come first, so A's first return must come
                // after its last call.
                conflicts.push(Conflict::Epochs {
                    a: None,
                    b: z.put.expect("only the initial epoch has no put"),
                    a_start: None,
                    a_end: b.end_op,
                    b_start: z
                        .start_op
                        .expect("only the initial epoch starts before time"),
                    b_end: z.end_op,
                });
                continue;
            };
            conflicts.push(Conflict::Epochs {
                a: z.put,
                b: b.put.expect("only the initial epoch has no put"),
                a_start: z.start_op,
                a_end,
                b_start,
                b_end: b.end_op,
            });
        }
    }
    // Unseen writes strictly inside a zone.
    for (i, op) in log_ops.iter().enumerate() {
        if *op != LogOp::Unseen || ops[i].ret.is_none() {
            continue;
        }
        let before = zones.partition_point(|z| z.start < call(i));
        if before == 0 {
            continue;
        }
        let z = &zones[best_end[before - 1]];
        if z.end > ret(i) {
            conflicts.push(Conflict::Hidden {
                write: i,
                start: z.start_op,
                end: z.end_op,
            });
        }
    }
    conflicts
}

fn written_len(access: &LogAccess<'_>) -> usize {
    match access {
        LogAccess::Put { value, .. } | LogAccess::Append { value, .. } => value.len(),
        LogAccess::Read { .. } => 0,
    }
}

/// The writer of each written value, and the distinct lengths of the values (shortest
/// first). `Err` when the values do not allow the analysis: one is empty, two are equal, or
/// one is a prefix of another (then a read's value could split in more than one way).
#[allow(clippy::type_complexity)]
fn index_written_values<'v>(
    accesses: &'v [LogAccess<'_>],
    describe: &dyn Fn(usize) -> String,
) -> Result<(FxHashMap<&'v [u8], usize>, Vec<usize>), String> {
    let mut writer_of: FxHashMap<&[u8], usize> = FxHashMap::default();
    for (i, access) in accesses.iter().enumerate() {
        let (LogAccess::Put { value, .. } | LogAccess::Append { value, .. }) = access else {
            continue;
        };
        if value.is_empty() {
            return Err(format!("{} writes the empty value", describe(i)));
        }
        if let Some(j) = writer_of.insert(&value[..], i) {
            return Err(format!(
                "{} and {} write the same value",
                describe(j),
                describe(i)
            ));
        }
    }
    let mut values: Vec<&[u8]> = writer_of.keys().copied().collect();
    values.sort_unstable();
    // In sorted order, a value that is a prefix of others comes right before one of them.
    if let Some(pair) = values.windows(2).find(|w| w[1].starts_with(w[0])) {
        return Err(format!(
            "{} writes a prefix of what {} writes, so a read could split in two ways",
            describe(writer_of[pair[0]]),
            describe(writer_of[pair[1]])
        ));
    }
    let mut lengths: Vec<usize> = values.iter().map(|v| v.len()).collect();
    lengths.sort_unstable();
    lengths.dedup();
    Ok((writer_of, lengths))
}
