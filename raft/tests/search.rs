//! Search tests (part 3S): every schedule of small Raft scenarios, within bounds.
//!
//! Where a run test tries one schedule per seed, a search test tries every order of message
//! deliveries, drops and timer firings its bounds allow (see `labtest::search`), checking
//! Raft's safety rules at every step. A failure prints the shortest story found and a command
//! that replays it exactly. `LAB_SEARCH=random` or `LAB_SEARCH=pct` samples the same space
//! instead; `LAB_SEARCH_BUDGET=n` changes how many schedules a test may run.

mod harness;

use harness::Config;
use labtest::search::{Bounds, Search};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// 3A: a three-peer election, with every order of the votes, up to one lost message and two
/// timers fired while messages wait. Whatever happens in the first decisions, once the
/// network delivers everything a single leader must be in charge.
#[test]
fn election_3s() {
    let bounds = Bounds {
        depth: 10,
        drops: 1,
        holds: 2,
        actions: 0,
    };
    labtest::search::run(Search::new(bounds, 20_000), |cx| async move {
        let cfg = Config::for_search(&cx, 3, false);
        cfg.settles_on_a_leader(ms(5_000)).await;
        cfg.end();
    });
}
