//! labtest: the shared harness of every lab's graded suite.
//!
//! A graded test is an ordinary `#[test]` whose body runs inside a simulation:
//!
//! ```no_run
//! #[test]
//! fn initial_election_3a() {
//!     labtest::run(labtest::Options::default(), |cx| async move {
//!         cx.set_peers(3);
//!         // build the cluster, drive faults, check
//!     });
//! }
//! ```
//!
//! [`run`] picks seeds from the environment (`LAB_SEED`, `LAB_SEEDS`), prints a summary line
//! per passed run, and on failure panics with the seed, the error, the last events of the
//! trace and the one command that replays the run. `LAB_CHECK_DETERMINISM=1` runs every seed
//! twice and names the first event where the runs differ. [`logger`] prefixes every log line
//! with virtual time and node. [`run_real`] records a test of real processes. What the
//! course tool reads (results, traces) goes through files it names ([`record`]).

pub mod alloc;
pub mod cluster;
pub mod kv;
/// The linearizability checker (the `lincheck` crate), re-exported so that a graded suite
/// needs `labtest` alone to record and check a history.
pub use lincheck as linearizability;
pub mod logger;
pub mod pending;
pub mod record;
mod runner;
pub mod search;
mod summary;
pub mod versioned;

pub use runner::{
    DEFAULT_SEED, Failed, Options, Passed, TestCx, assert_caught, assert_seeds_leave_nothing,
    first_failure, must_fail, run, run_real, try_check_determinism, try_run,
};
