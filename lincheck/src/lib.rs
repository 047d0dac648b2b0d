//! Linearizability checker: the judge of the key/value labs.
//!
//! A history of client operations (each with a call time, a return time, an input and an
//! output) is linearizable for a sequential specification (a [`Model`]) when every operation
//! can be given an instant inside its interval at which it takes effect, such that the
//! operations applied one at a time in that order produce exactly the outputs observed.
//!
//! - [`History`] holds validated operations ([`Operation`]) or builds them from call/return
//!   [`Event`]s; operations whose outcome is unknown (`ret: None`) may take effect at any
//!   instant after their call, or never.
//! - [`Recorder`] collects a history from concurrent test clients.
//! - [`check`] runs the search (Wing & Gong with Lowe's just-in-time linearization and a cache
//!   of (linearized set, state) pairs), partitions checked in parallel, with a timeout, a
//!   memory budget (on by default) and a deterministic step budget ([`Options`]), and reports
//!   per partition a linearization or the longest linearizable prefix, and what decided it
//!   ([`CheckResult`]).
//! - Partitions of log-like models ([`Model::log_access`]: the key/value store per key, a
//!   register) whose written values are unique go through the log analysis first: reads name
//!   the writes before them, order checks refute most broken histories at once, and a search
//!   on a summary of the state decides the rest in near-linear time ([`Method`]).
//! - [`models`] has the 6.824 key/value store, the 6.5840 versioned key/value server and a
//!   compare-and-set register; [`NondeterministicModel`] + [`PowerSet`] for models where one
//!   operation may lead to several states.
//! - [`formats`] reads Porcupine's key/value files, Jepsen etcd logs and our `jsonl` format;
//!   [`html`] renders a self-contained report of a check.
//!
//! ```
//! use lincheck::{check, History, Operation, Options, Verdict};
//! use lincheck::models::{KvInput, KvModel, KvOutput};
//!
//! let put = KvInput::Put { key: "k".into(), value: "a".into() };
//! let get = KvInput::Get { key: "k".into() };
//! let history = History::from_operations(vec![
//!     Operation::completed(0, 0, 10, put, KvOutput::default()),
//!     Operation::completed(1, 5, 20, get, KvOutput { value: "a".into() }),
//! ])
//! .unwrap();
//! assert_eq!(check(&KvModel, &history, &Options::default()).verdict, Verdict::Linearizable);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checker;
pub mod formats;
pub mod generate;
mod history;
pub mod html;
mod log_analysis;
mod model;
pub mod models;
mod recorder;

pub use checker::{
    CheckResult, DEFAULT_STEP_BUDGET, GRADED_MEMORY_BUDGET, Method, Options, PartitionOutcome,
    PartitionResult, UnknownReason, Verdict, check, default_memory_budget,
};
pub use history::{Event, EventKind, History, HistoryError, Operation};
pub use log_analysis::LogSummary;
pub use model::{LogAccess, Model, NondeterministicModel, PowerSet, StateSet};
pub use recorder::{Recorder, Ticket};
