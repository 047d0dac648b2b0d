//! Differential test: the checker agrees with a brute-force search on small random histories
//! (linearizable or not), with unknown outcomes and unknown results, for several models.

mod common;

use common::brute_force;
use lincheck::models::{
    KvInput, KvModel, KvOutput, RegisterInput, RegisterModel, RegisterOutput, VersionedKvInput,
    VersionedKvModel, VersionedKvOutput,
};
use lincheck::{History, Model, Operation, Options, PowerSet, Verdict, check};
use proptest::prelude::*;

fn agree<M: Model>(model: &M, ops: Vec<Operation<M::Input, M::Output>>) -> Result<(), TestCaseError>
where
    M::Input: Clone,
    M::Output: Clone,
{
    let expected = brute_force(model, &ops);
    let h = History::from_operations(ops).unwrap();
    for partition in [true, false] {
        for threads in [1, 2] {
            let opts = Options {
                partition,
                threads,
                ..Options::default()
            };
            let got = check(model, &h, &opts).verdict;
            let want = if expected {
                Verdict::Linearizable
            } else {
                Verdict::NotLinearizable
            };
            prop_assert_eq!(
                got,
                want,
                "partition {} threads {}: {:?}",
                partition,
                threads,
                h
            );
        }
    }
    Ok(())
}

/// Random intervals: (call, duration or None for unknown outcome, hide the output).
fn timing() -> impl Strategy<Value = (u64, Option<u64>, bool)> {
    (
        0u64..12,
        proptest::option::weighted(0.85, 0u64..6),
        proptest::bool::weighted(0.1),
    )
}

/// Client `c`'s operation with random `timing()`: its output is known only if it returned and
/// is not hidden.
fn operation<I, O>(
    c: usize,
    (call, dur, hide): (u64, Option<u64>, bool),
    input: I,
    output: O,
) -> Operation<I, O> {
    Operation {
        client: c as u64,
        call,
        ret: dur.map(|d| call + d),
        input,
        output: (dur.is_some() && !hide).then_some(output),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn register_agrees_with_brute_force(
        raw in proptest::collection::vec((timing(), 0u8..3, 0i64..3, 0i64..3, proptest::option::of(0i64..3), any::<bool>()), 0..8)
    ) {
        let ops = raw.into_iter().enumerate().map(|(c, ((call, dur, hide), kind, a, b, read, ok))| {
            let (input, output) = match kind {
                0 => (RegisterInput::Read, RegisterOutput::Read { value: read }),
                1 => (RegisterInput::Write { value: a }, RegisterOutput::Write),
                _ => (RegisterInput::Cas { from: a, to: b }, RegisterOutput::Cas { ok }),
            };
            operation(c, (call, dur, hide), input, output)
        }).collect();
        agree(&RegisterModel, ops)?;
    }

    #[test]
    fn kv_agrees_with_brute_force(
        raw in proptest::collection::vec((timing(), 0u8..3, 0u8..2, "[ab]{0,2}", "[ab]{0,3}"), 0..7)
    ) {
        let ops = raw.into_iter().enumerate().map(|(c, ((call, dur, hide), kind, key, v, read))| {
            let key = key.to_string();
            let input = match kind {
                0 => KvInput::Get { key },
                1 => KvInput::Put { key, value: v },
                _ => KvInput::Append { key, value: v },
            };
            operation(c, (call, dur, hide), input, KvOutput { value: read })
        }).collect();
        agree(&KvModel, ops)?;
    }

    #[test]
    fn versioned_kv_agrees_with_brute_force(
        raw in proptest::collection::vec((timing(), any::<bool>(), 0u8..2, 0u64..3, 0u8..6, "[ab]"), 0..7)
    ) {
        let ops = raw.into_iter().enumerate().map(|(c, ((call, dur, hide), is_get, key, version, res, v))| {
            let key = key.to_string();
            let input = if is_get {
                VersionedKvInput::Get { key }
            } else {
                VersionedKvInput::Put { key, value: v.clone(), version }
            };
            let output = match res {
                0 => VersionedKvOutput::Value { value: v, version },
                1 => VersionedKvOutput::Ok,
                2 => VersionedKvOutput::ErrNoKey,
                3 => VersionedKvOutput::ErrVersion,
                _ => VersionedKvOutput::ErrMaybe,
            };
            operation(c, (call, dur, hide), input, output)
        }).collect();
        agree(&PowerSet(VersionedKvModel), ops)?;
    }
}
