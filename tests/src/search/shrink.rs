//! Minimising a failing schedule: delta debugging over its choice list.
//!
//! A candidate is a sublist of the choices, replayed leniently (a label is taken as soon as it
//! is offered, one whose message is already gone is skipped, the default fills the gaps). A
//! candidate that fails the same check replaces the current list by what its run actually
//! took, if that is smaller: fewer choices other than the default, then fewer choices.

use super::driver::{Driver, Mode};
use super::{Counterexample, Scenario, Search, run_once};
use std::future::Future;
use std::sync::Arc;

/// Most candidate runs one minimisation may take.
const MAX_RUNS: usize = 4_000;

pub(super) fn minimise<Fut>(
    search: &Search,
    seed: u64,
    scenario: &Arc<Scenario<Fut>>,
    found: &Counterexample,
) -> Counterexample
where
    Fut: Future<Output = ()> + 'static,
{
    let mut best = found.clone();
    let mut runs = 0;
    let size = |c: &Counterexample| (c.deviations(), c.len());
    // The list under test: the best run's labels.
    let mut chunks = 2;
    loop {
        let labels: Vec<String> = best.taken.iter().map(|t| t.label.clone()).collect();
        if labels.len() < 2 || runs >= MAX_RUNS {
            break;
        }
        let chunks_now = chunks.min(labels.len());
        let chunk = labels.len().div_ceil(chunks_now);
        let mut improved = false;
        for start in (0..labels.len()).step_by(chunk) {
            if runs >= MAX_RUNS {
                break;
            }
            // The complement of one chunk.
            let candidate: Vec<String> = labels[..start]
                .iter()
                .chain(labels[(start + chunk).min(labels.len())..].iter())
                .cloned()
                .collect();
            runs += 1;
            let mode = Mode::Script {
                labels: candidate.into(),
                strict: false,
            };
            let result = run_once(
                search,
                seed,
                scenario,
                Driver::new(search.bounds, mode, false),
            );
            if let Some((check, message)) = result.failure
                && check == found.check
            {
                let candidate = Counterexample {
                    check,
                    message,
                    taken: result.driver.taken,
                };
                if size(&candidate) < size(&best) {
                    best = candidate;
                    improved = true;
                    break;
                }
            }
        }
        if improved {
            chunks = (chunks - 1).max(2);
        } else if chunks_now >= labels.len() {
            break;
        } else {
            chunks = (chunks * 2).min(labels.len());
        }
    }
    // The story needs each node's state: replay the minimal list strictly once more.
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
