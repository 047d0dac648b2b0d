//! Search tests (part 3S): every schedule of small Raft scenarios, within bounds.
//!
//! Where a run test tries one schedule per seed, a search test tries every order of message
//! deliveries, drops and timer firings its bounds allow (see `labtest::search`), checking
//! Raft's safety rules at every step. A failure prints the shortest story found and a command
//! that replays it exactly. `LAB_SEARCH=random` or `LAB_SEARCH=pct` samples the same space
//! instead; `LAB_SEARCH_BUDGET=n` changes how many schedules a test may run.

mod harness;

use harness::{Config, SNAPSHOT_INTERVAL};
use labrpc::sim::{self, search};
use labtest::search::{Bounds, Search};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The bounds of a window with one fault (a cut, or a crash and restart) at any point: ten
/// decisions, with at most three choices off the default order, one of them a lost message,
/// one a timer fired while messages wait.
const FAULT_AT_ANY_POINT: Bounds = Bounds {
    depth: 10,
    drops: 1,
    holds: 1,
    actions: 1,
    deviations: 3,
};

/// 3A: a three-peer election, with every order of the votes, up to one lost message and two
/// timers fired while messages wait, until every server knows the leader. Whatever happens,
/// once the network delivers everything a single leader must be in charge.
#[test]
fn election_3s() {
    let bounds = Bounds {
        depth: 8,
        drops: 1,
        holds: 2,
        actions: 0,
        deviations: u32::MAX,
    };
    labtest::search::run(Search::new(bounds, 20_000), |cx| async move {
        let cfg = Config::for_search(&cx, 3, false);
        let settled = cfg.clone();
        search::prune("every server knows the leader", move || {
            settled.leader_known_to_all()
        });
        cfg.settles_on_a_leader(ms(5_000)).await;
        cfg.end();
    });
}

/// 3A: a leader cut off while the others elect a new one comes back. Every order of its
/// heartbeats, their replies and the new leader's calls, with up to one lost message and one
/// timer fired while messages wait: whichever news of the new term reaches it first (a reply
/// or a request), it must step down at once.
#[test]
fn deposed_leader_3s() {
    let bounds = Bounds {
        depth: 12,
        drops: 1,
        holds: 1,
        actions: 0,
        deviations: u32::MAX,
    };
    labtest::search::run(Search::new(bounds, 10_000), |cx| async move {
        let cfg = Config::for_search(&cx, 3, false);
        // Set-up, not searched: elect a leader, cut it off, elect another.
        search::pause();
        let old = cfg.settles_on_a_leader(ms(5_000)).await;
        let term = cfg.check_terms();
        cfg.disconnect(old);
        let others: Vec<usize> = (0..3).filter(|&i| i != old).collect();
        cfg.wait_for_leader_among(&others, term).await;
        cfg.connect(old);
        search::resume();
        cfg.settles_on_a_leader(ms(5_000)).await;
        cfg.end();
    });
}

/// 3C: a crash and restart at every point of an election that follows a leader's. The
/// leader's heartbeats to A are late, so A runs for a new term, while A and C cannot reach
/// each other; every order of what follows, with one server crashed and restarted at any
/// point: a server that voted in a term it already knew, then restarted, must still remember
/// its vote, or C wins the same term as A.
#[test]
fn restart_voter_3s() {
    let bounds = Bounds {
        depth: 16,
        drops: 0,
        holds: 1,
        actions: 1,
        deviations: 3,
    };
    labtest::search::run(Search::new(bounds, 3_000), |cx| async move {
        let cfg = Config::for_search(&cx, 3, false);
        search::pause();
        let v = cfg.settles_on_a_leader(ms(5_000)).await;
        cfg.one(101, 3, true).await;
        let term = cfg.check_terms();
        let (a, c) = ((v + 1) % 3, (v + 2) % 3);
        // The leader's heartbeats to A wait until A runs for election; A and C cannot reach
        // each other.
        let node = |i| cfg.node(i);
        search::hold_link(node(v), node(a));
        search::hold_link(node(a), node(v));
        search::hold_link(node(a), node(c));
        search::hold_link(node(c), node(a));
        while cfg.raft(a).is_some_and(|rf| rf.get_state().0 == term) {
            sim::sleep(ms(5)).await;
        }
        search::release_link(node(v), node(a));
        search::release_link(node(a), node(v));
        for i in 0..3 {
            cfg.search_restart(i);
        }
        search::resume();
        sim::sleep(ms(2_000)).await;
        search::release_link(node(a), node(c));
        search::release_link(node(c), node(a));
        cfg.settles_on_a_leader(ms(5_000)).await;
        cfg.end();
    });
}

/// 3B: acknowledgements that arrive a term late. An old leader's follower A acknowledges its
/// entries, and the network keeps those acknowledgements; the old leader's entries are then
/// replaced by a new leader's, it wins a later term with two of the others and sends a new
/// entry `x` to one of them. Every order of the late acknowledgements and the calls that
/// follow: `x` is on two servers of five, so no server may apply it.
#[test]
fn late_acknowledgement_3s() {
    let bounds = Bounds {
        depth: 12,
        drops: 0,
        holds: 1,
        actions: 0,
        deviations: 2,
    };
    labtest::search::run(Search::new(bounds, 5_000), |cx| async move {
        let servers = 5;
        let cfg = Config::for_search(&cx, servers, false);
        search::pause();
        cfg.one(101, servers, true).await;
        let old = cfg.settles_on_a_leader(ms(5_000)).await;
        let term = cfg.check_terms();
        let a = (old + 1) % servers;
        let rest: Vec<usize> = (0..servers).filter(|&i| i != old && i != a).collect();
        // The old leader and A are cut off; the other three elect a new leader.
        cfg.partition(&[&[old, a], &rest]);
        let (new, _) = cfg.wait_for_leader_among(&rest, term).await;
        let (r, b) = (
            rest[usize::from(rest[0] == new)],
            rest[2 - usize::from(rest[2] == new)],
        );
        // The old leader replicates entries to A; the network keeps A's answers.
        search::hold_link(cfg.node(a), cfg.node(old));
        for k in 0..3 {
            cfg.start_on(old, 200 + k);
        }
        sim::sleep(ms(300)).await;
        // The new leader replaces the old leader's entries.
        cfg.partition(&[&[old, new], &[r, b], &[a]]);
        cfg.cut_calls(&[old], &[new]);
        cfg.start_on(new, 300);
        sim::sleep(ms(500)).await;
        // With R and B, only the old leader can win.
        cfg.partition(&[&[old, r, b], &[new], &[a]]);
        while !cfg
            .raft(old)
            .is_some_and(|rf| matches!(rf.get_state(), (now, true) if now > term))
        {
            sim::sleep(ms(1)).await;
        }
        cfg.partition(&[&[old, r], &[new, b, a]]);
        let x = 400;
        cfg.forbid_apply(
            x,
            format!(
                "only servers {old} and {r} can store it, so it is on no majority; did leader \
                 {old} count server {a} as storing it after a reply to an AppendEntries of an \
                 earlier term (a leader uses only replies to requests of its current term)?"
            ),
        );
        search::resume();
        cfg.start_on(old, x);
        sim::sleep(ms(1_000)).await;
        search::pause();
        cfg.allow_all_applies();
        search::release_link(cfg.node(a), cfg.node(old));
        cfg.connect_all();
        cfg.one(500, servers, true).await;
        cfg.end();
    });
}

/// 3B: agreement on two commands across one leader change. The leader is given a command,
/// then any server may be cut off at any point (the leader, to force a change); every order
/// of the calls, with up to one lost message and one timer fired while messages wait. Once
/// the network heals, a second command must be committed everywhere, after the first if the
/// first was committed.
#[test]
fn agreement_3s() {
    labtest::search::run(Search::new(FAULT_AT_ANY_POINT, 3_000), |cx| async move {
        let servers = 3;
        let cfg = Config::for_search(&cx, servers, false);
        search::pause();
        let leader = cfg.settles_on_a_leader(ms(5_000)).await;
        for i in 0..servers {
            cfg.search_cut_off(i);
        }
        search::resume();
        cfg.start_on(leader, 101);
        sim::sleep(ms(1_500)).await;
        search::pause();
        cfg.connect_all();
        cfg.one(102, servers, true).await;
        cfg.end();
    });
}

/// 3D: a snapshot installed at every point. A follower cut off while the others commit
/// enough commands for a snapshot comes back; every order of the leader's InstallSnapshot and
/// AppendEntries calls and their replies, with up to one lost message, one timer fired while
/// messages wait, and one server crashed and restarted at any point. Every server must end
/// with every command, in order.
#[test]
fn snapshot_3s() {
    labtest::search::run(Search::new(FAULT_AT_ANY_POINT, 3_000), |cx| async move {
        let servers = 3;
        let cfg = Config::for_search(&cx, servers, true);
        search::pause();
        let leader = cfg.settles_on_a_leader(ms(5_000)).await;
        let behind = (leader + 1) % servers;
        cfg.disconnect(behind);
        for k in 0..SNAPSHOT_INTERVAL + 2 {
            cfg.one(100 + k as i64, servers - 1, true).await;
        }
        for i in 0..servers {
            cfg.search_restart(i);
        }
        cfg.connect(behind);
        search::resume();
        sim::sleep(ms(1_500)).await;
        search::pause();
        cfg.one(200, servers, true).await;
        cfg.end();
    });
}
