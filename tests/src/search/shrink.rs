//! Minimising a failing schedule: delta debugging over the choices it made off the default.
//!
//! A candidate keeps some of those choices, each at its choice point (by number), and takes
//! the default everywhere else; a choice whose label is not offered at its point any more
//! (an earlier change moved things) is left out. A candidate that fails the same check
//! replaces the current best if it is smaller: fewer choices off the default, then fewer
//! steps. The empty candidate (every step the default) is tried first.

use super::driver::{Driver, Mode, Taken};
use super::{Counterexample, Scenario, Search, run_once};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Most candidate runs one minimisation may take.
const MAX_RUNS: usize = 2_000;

/// The choices of a run that were not its defaults, by choice point.
fn deviations(taken: &[Taken]) -> Vec<(usize, String)> {
    taken
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.default)
        .map(|(i, t)| (i, t.label.clone()))
        .collect()
}

pub(super) fn minimise<Fut>(
    search: &Search,
    seed: u64,
    scenario: &Arc<Scenario<Fut>>,
    found: &Counterexample,
) -> Counterexample
where
    Fut: Future<Output = ()> + 'static,
{
    let size = |c: &Counterexample| (c.deviations(), c.len());
    let mut best = found.clone();
    let runs = std::cell::Cell::new(0);
    // Runs a candidate; true (and the best replaced) if it fails the same way and is smaller.
    let try_candidate = |best: &mut Counterexample, keep: &[(usize, String)]| {
        runs.set(runs.get() + 1);
        let mode = Mode::Deviations {
            at: keep.iter().cloned().collect::<BTreeMap<_, _>>(),
        };
        let result = run_once(
            search,
            seed,
            scenario,
            Driver::new(search.bounds, mode, false),
        );
        match result.failure {
            Some((check, message)) if check == found.check => {
                let candidate = Counterexample {
                    check,
                    message,
                    taken: result.driver.taken,
                };
                let smaller = size(&candidate) < size(best);
                if smaller {
                    *best = candidate;
                }
                smaller
            }
            _ => false,
        }
    };
    if !try_candidate(&mut best, &[]) {
        let mut chunks = 2;
        loop {
            let current = deviations(&best.taken);
            if current.is_empty() || runs.get() >= MAX_RUNS {
                break;
            }
            let chunks_now = chunks.min(current.len());
            let chunk = current.len().div_ceil(chunks_now);
            let mut improved = false;
            for start in (0..current.len()).step_by(chunk) {
                if runs.get() >= MAX_RUNS {
                    break;
                }
                // Without one chunk of the choices.
                let keep: Vec<(usize, String)> = current[..start]
                    .iter()
                    .chain(&current[(start + chunk).min(current.len())..])
                    .cloned()
                    .collect();
                if try_candidate(&mut best, &keep) {
                    improved = true;
                    break;
                }
            }
            if improved {
                chunks = (chunks - 1).max(2);
            } else if chunks_now >= current.len() {
                break;
            } else {
                chunks = (chunks * 2).min(current.len());
            }
        }
    }
    // The story needs each node's state: replay the minimal list once more, recording them.
    let labels = best.taken.iter().map(|t| t.label.clone()).collect();
    let told = super::replay(search, seed, scenario, labels);
    if let Some((check, message)) = told.failure
        && check == best.check
    {
        best.message = message;
        best.taken = told.driver.taken;
    }
    best
}
