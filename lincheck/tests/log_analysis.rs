//! The log analysis against its oracles: on random small histories with unique written values
//! (some linearizable, some with reads corrupted in every way a broken server could), it must
//! agree with the general search and, on the smallest, with a brute-force search.

mod common;

use common::brute_force;
use lincheck::generate::{Anomaly, KvTestSpec, kv_test_history};
use lincheck::models::{KvInput, KvModel, KvOutput, RegisterInput, RegisterModel, RegisterOutput};
use lincheck::{History, Method, Model, Operation, Options, PartitionOutcome, Verdict, check};
use proptest::prelude::*;

/// Steps the general search may take on one partition: random 40-operation histories with a
/// corrupted read can make it exponential; such cases are skipped.
const ORACLE_STEPS: u64 = 2_000_000;

/// Checks with the log analysis and with the general search only; both must agree (and with
/// the brute force when given). Every partition must have gone through the analysis, and a
/// linearization it reports must be one. The analysis gets the same step budget as the
/// search: running out of it would be a finding of its own.
fn agree<M: Model>(
    model: &M,
    ops: Vec<Operation<M::Input, M::Output>>,
    brute: bool,
) -> Result<(), TestCaseError>
where
    M::Input: Clone,
    M::Output: Clone,
{
    let expected = brute.then(|| brute_force(model, &ops));
    let h = History::from_operations(ops).unwrap();
    let plain = check(
        model,
        &h,
        &Options {
            log_analysis: false,
            max_steps: Some(ORACLE_STEPS),
            ..Options::default()
        },
    );
    prop_assume!(
        plain.verdict != Verdict::Unknown,
        "the general search gave up"
    );
    for threads in [1, 2] {
        let analysed = check(
            model,
            &h,
            &Options {
                threads,
                max_steps: Some(ORACLE_STEPS),
                ..Options::default()
            },
        );
        prop_assert_eq!(analysed.verdict, plain.verdict, "{:?}", h);
        if let Some(expected) = expected {
            let want = if expected {
                Verdict::Linearizable
            } else {
                Verdict::NotLinearizable
            };
            prop_assert_eq!(analysed.verdict, want, "{:?}", h);
        }
        for p in &analysed.partitions {
            prop_assert!(
                matches!(p.method, Method::LogAnalysis(_)),
                "not analysed: {:?}",
                p.method
            );
            if let PartitionOutcome::Linearizable { order } = &p.outcome {
                let mut state = model.init();
                for &i in order {
                    let op = &h.operations()[i];
                    state = model
                        .step(&state, &op.input, op.output.as_ref())
                        .expect("the reported order replays");
                }
            }
        }
    }
    Ok(())
}

/// One operation of a random execution: (call, duration or `None` if the client crashed,
/// where in its interval it takes effect in percent, whether a crashed one takes effect, key,
/// kind, hide the output, corruption, a random pick for the corruption).
type Raw = (u64, Option<u64>, u64, bool, u8, u8, bool, u8, u16);

fn raw_operation() -> impl Strategy<Value = Raw> {
    (
        0u64..20,
        proptest::option::weighted(0.9, 0u64..8),
        0u64..=100,
        any::<bool>(),
        0u8..2,
        0u8..10,
        proptest::bool::weighted(0.05),
        0u8..30,
        any::<u16>(),
    )
}

/// A key/value execution: values `<i>` (unique, and none a prefix of another), applied in the
/// order they take effect; then some gets are corrupted (a value from the future, one dropped,
/// two swapped, one twice, a put in the middle, garbage, the empty value).
fn kv_execution(raw: Vec<Raw>) -> Vec<Operation<KvInput, KvOutput>> {
    let n = raw.len();
    let mut ops: Vec<Operation<KvInput, KvOutput>> = Vec::with_capacity(n);
    let mut effects: Vec<(u64, usize)> = Vec::new();
    for (i, &(call, dur, at, crashed_effect, key, kind, ..)) in raw.iter().enumerate() {
        let key = key.to_string();
        let value = format!("<{i}>");
        let input = match kind {
            0 => KvInput::Put { key, value },
            1..=5 => KvInput::Append { key, value },
            _ => KvInput::Get { key },
        };
        let effect = match dur {
            Some(d) => Some(call * 100 + at * d),
            None => crashed_effect.then_some(call * 100 + at * 8),
        };
        if let Some(t) = effect {
            effects.push((t, i));
        }
        ops.push(Operation {
            client: i as u64,
            call: call * 100,
            ret: dur.map(|d| (call + d) * 100),
            input,
            output: None,
        });
    }
    effects.sort_unstable();
    // Per key: the put that started the current value (if any) and the appends since.
    let mut state: std::collections::HashMap<String, (Option<String>, Vec<String>)> =
        Default::default();
    let tokens: Vec<String> = (0..n).map(|i| format!("<{i}>")).collect();
    for &(_, i) in &effects {
        let (.., hide, corruption, pick) = raw[i];
        let input = ops[i].input.clone();
        let entry = state.entry(input.key().to_string()).or_default();
        match input {
            KvInput::Put { value, .. } => *entry = (Some(value), Vec::new()),
            KvInput::Append { value, .. } => entry.1.push(value),
            KvInput::AppendReturningOld { .. } => unreachable!("only gets, puts and appends"),
            KvInput::Get { .. } => {
                if ops[i].ret.is_none() || hide {
                    continue;
                }
                let (mut put, mut appends) = entry.clone();
                let pick = pick as usize;
                match corruption {
                    0 => appends.push(tokens[pick % n].clone()),
                    1 => {
                        appends.pop();
                    }
                    2 if appends.len() >= 2 => {
                        let k = pick % (appends.len() - 1);
                        appends.swap(k, k + 1);
                    }
                    3 if !appends.is_empty() => {
                        let again = appends[pick % appends.len()].clone();
                        appends.push(again);
                    }
                    4 => appends.insert(0, tokens[pick % n].clone()),
                    5 => put = Some(tokens[pick % n].clone()),
                    6 => appends.push("zz".into()),
                    7 => (put, appends) = (None, Vec::new()),
                    _ => {}
                }
                let value = put.into_iter().chain(appends).collect::<String>();
                ops[i].output = Some(KvOutput { value });
            }
        }
    }
    for op in &mut ops {
        if op.ret.is_some() && op.output.is_none() && !matches!(op.input, KvInput::Get { .. }) {
            op.output = Some(KvOutput::default());
        }
    }
    ops
}

/// A register execution with unique written values (reads and writes only), some reads
/// corrupted to another written value or to no value.
fn register_execution(raw: Vec<Raw>) -> Vec<Operation<RegisterInput, RegisterOutput>> {
    let mut ops = Vec::new();
    let mut effects = Vec::new();
    for (i, &(call, dur, at, crashed_effect, _, kind, ..)) in raw.iter().enumerate() {
        let input = if kind < 5 {
            RegisterInput::Write { value: i as i64 }
        } else {
            RegisterInput::Read
        };
        let effect = match dur {
            Some(d) => Some(call * 100 + at * d),
            None => crashed_effect.then_some(call * 100 + at * 8),
        };
        if let Some(t) = effect {
            effects.push((t, i));
        }
        ops.push(Operation {
            client: i as u64,
            call: call * 100,
            ret: dur.map(|d| (call + d) * 100),
            input,
            output: None,
        });
    }
    effects.sort_unstable();
    let mut value = None;
    let n = raw.len();
    for &(_, i) in &effects {
        let (.., hide, corruption, pick) = raw[i];
        match ops[i].input {
            RegisterInput::Write { value: v } => value = Some(v),
            RegisterInput::Read if ops[i].ret.is_some() && !hide => {
                let read = match corruption {
                    0 => Some((pick as usize % n) as i64),
                    1 => None,
                    _ => value,
                };
                ops[i].output = Some(RegisterOutput::Read { value: read });
            }
            _ => {}
        }
    }
    for op in &mut ops {
        if op.ret.is_some() && op.output.is_none() && op.input != RegisterInput::Read {
            op.output = Some(RegisterOutput::Write);
        }
    }
    ops
}

/// The histories of the checker's targets (`BENCHMARKS.md`): each decided correctly, by the
/// log analysis, with and without an anomaly.
#[test]
fn generated_kv_test_histories_are_decided() {
    for (clients, keys, ops, crash_per_mille, seeds) in
        [(20, 2, 4000, 0, 3), (15, 15, 50_000, 10, 1)]
    {
        for anomaly in Anomaly::ALL {
            for seed in 1..=seeds {
                let generated = kv_test_history(&KvTestSpec {
                    seed,
                    clients,
                    keys,
                    ops,
                    crash_per_mille,
                    anomaly,
                })
                .expect("room for the anomaly");
                let h = History::from_operations(generated.operations).unwrap();
                let r = check(&KvModel, &h, &Options::default());
                let want = if generated.linearizable {
                    Verdict::Linearizable
                } else {
                    Verdict::NotLinearizable
                };
                assert_eq!(
                    r.verdict,
                    want,
                    "{} seed {seed}: {}",
                    anomaly.name(),
                    generated.note
                );
                assert!(
                    r.partitions
                        .iter()
                        .all(|p| matches!(p.method, Method::LogAnalysis(_))),
                    "{} seed {seed}",
                    anomaly.name()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn kv_log_analysis_agrees_with_brute_force(raw in proptest::collection::vec(raw_operation(), 0..8)) {
        agree(&KvModel, kv_execution(raw), true)?;
    }

    #[test]
    fn kv_log_analysis_agrees_with_the_search(raw in proptest::collection::vec(raw_operation(), 0..40)) {
        agree(&KvModel, kv_execution(raw), false)?;
    }

    #[test]
    fn register_log_analysis_agrees_with_brute_force(raw in proptest::collection::vec(raw_operation(), 0..8)) {
        agree(&RegisterModel, register_execution(raw), true)?;
    }

    #[test]
    fn register_log_analysis_agrees_with_the_search(raw in proptest::collection::vec(raw_operation(), 0..40)) {
        agree(&RegisterModel, register_execution(raw), false)?;
    }
}
