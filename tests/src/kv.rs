//! What every key/value lab's suite shares: the network's cost model, the record of every
//! clerk operation for the linearizability checker, the append checks of the original
//! `GenericTest`, and the judgement of a history (with the checker's HTML report on failure).

use crate::TestCx;
use crate::linearizability::models::{KvInput, KvOutput};
use crate::linearizability::{CheckResult, History, Model, Options, PartitionOutcome};
use crate::linearizability::{DEFAULT_STEP_BUDGET, Recorder, Verdict};
use crate::linearizability::{Ticket, check, html};
use labrpc::rand::Rng;
use labrpc::sim;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// How long each message takes on a key/value lab's network (drawn per message from the
/// seed; see `labrpc::Network::set_latency`). A round trip then costs a few milliseconds of
/// virtual time, so a client looping "for one second" does a few hundred operations, the
/// order of the Go originals (§7 of the checklist), and a leader that waits for the next
/// heartbeat to replicate is measurably slow.
pub const LATENCY: Range<Duration> = Duration::from_millis(1)..Duration::from_millis(5);

/// `n` random letters from the test's seeded generator (the original's `randValue`).
pub fn random_value(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    sim::rng().fill_bytes(&mut bytes);
    for b in &mut bytes {
        *b = b'a' + *b % 26;
    }
    String::from_utf8(bytes).expect("letters are UTF-8")
}

/// The value client `client` appends in its `n`th operation (`"x 3 17 y"`): unique, so the
/// final value shows which appends took effect, how often and in what order.
pub fn append_value(client: usize, n: usize) -> String {
    format!("x {client} {n} y")
}

/// Checks that `value` holds client `client`'s appends `0..count`, each exactly once and in
/// order (the original's `checkClntAppends`); panics naming the first that is not.
pub fn check_client_appends(client: usize, value: &str, count: usize) {
    let mut last = None;
    for n in 0..count {
        let wanted = append_value(client, n);
        let Some(at) = value.find(&wanted) else {
            panic!(
                "client {client}'s append {n} ({wanted:?}) is missing from the value ({} bytes: \
                 {})",
                value.len(),
                shorten(value)
            );
        };
        if value[at + wanted.len()..].contains(&wanted) {
            panic!("client {client}'s append {n} ({wanted:?}) appears more than once: duplicate");
        }
        if let Some((prev, prev_at)) = last
            && at < prev_at
        {
            panic!("client {client}'s append {n} comes before its append {prev}: wrong order");
        }
        last = Some((n, at));
    }
}

/// Checks that `value` holds, for every client `i`, its appends `0..counts[i]` exactly once
/// and in order (the original's `checkConcurrentAppends`).
pub fn check_concurrent_appends(value: &str, counts: &[usize]) {
    for (client, &count) in counts.iter().enumerate() {
        check_client_appends(client, value, count);
    }
}

fn shorten(value: &str) -> String {
    const SHOW: usize = 120;
    if value.len() <= SHOW {
        return format!("{value:?}");
    }
    let mut end = SHOW;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}...", &value[..end])
}

/// Every clerk operation of a test, with its call and return in virtual time, for the
/// linearizability checker. Each recorded operation counts in the summary line's `ops`.
/// Cloning gives another handle to the same log (one per client task).
pub struct OpLog<I, O> {
    recorder: Recorder<I, O>,
    cx: TestCx,
    waiting: Rc<RefCell<Waiting>>,
}

/// The clerk operations under way (through [`OpLog::get`], `put`, `append`): what and since
/// when, by a number of the log's.
#[derive(Default)]
struct Waiting {
    next: u64,
    ops: BTreeMap<u64, (String, sim::Instant)>,
}

/// Takes an operation off the waiting list when it returns or is dropped.
pub(crate) struct WaitingGuard(Rc<RefCell<Waiting>>, u64);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.borrow_mut().ops.remove(&self.1);
    }
}

impl<I, O> Clone for OpLog<I, O> {
    fn clone(&self) -> Self {
        OpLog {
            recorder: self.recorder.clone(),
            cx: self.cx.clone(),
            waiting: self.waiting.clone(),
        }
    }
}

/// Marks an operation's outcome unknown if its future is dropped before it returns.
struct Pending<'a, I, O> {
    recorder: &'a Recorder<I, O>,
    ticket: Option<Ticket>,
}

impl<I, O> Drop for Pending<'_, I, O> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.recorder.unknown(ticket);
        }
    }
}

impl<I: Clone + Debug, O: Clone + Debug> OpLog<I, O> {
    /// An empty log whose operations count for `cx`'s summary line.
    pub fn new(cx: &TestCx) -> Self {
        OpLog {
            recorder: Recorder::new(),
            cx: cx.clone(),
            waiting: Rc::default(),
        }
    }

    /// Runs `op` (one clerk call) for client `client`, recording its input, its output and the
    /// virtual times of its call and return. If the future is dropped before it returns (the
    /// test stopped the client, or its node crashed), the operation is recorded with an
    /// unknown outcome: it may or may not have taken effect.
    pub async fn record<F: Future<Output = O>>(&self, client: u64, input: I, op: F) -> O {
        let now = || sim::now().since_start().as_nanos() as u64;
        let mut pending = Pending {
            recorder: &self.recorder,
            ticket: Some(self.recorder.call(client, input, now())),
        };
        self.cx.add_ops(1);
        let output = op.await;
        if let Some(ticket) = pending.ticket.take() {
            self.recorder.ret(ticket, output.clone(), now());
        }
        output
    }

    /// Runs `op` (one clerk call) without recording it: it counts in the summary line's `ops`
    /// only.
    pub async fn count<T>(&self, op: impl Future<Output = T>) -> T {
        self.cx.add_ops(1);
        op.await
    }

    /// Number of operations recorded.
    pub fn len(&self) -> usize {
        self.recorder.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.recorder.is_empty()
    }

    /// Checks the whole history against `model`; panics if it is not linearizable, writing
    /// the checker's HTML report and naming its path, or if the check could not decide.
    pub fn check_linearizable<M>(&self, model: &M)
    where
        M: Model<Input = I, Output = O>,
    {
        let history = self
            .recorder
            .history()
            .unwrap_or_else(|e| panic!("the operation log is malformed: {e}"));
        // Budgeted in model steps, never seconds: a seed's verdict is the same on every machine.
        let result = check(
            model,
            &history,
            &Options::with_step_budget(DEFAULT_STEP_BUDGET),
        );
        match result.verdict {
            Verdict::Linearizable => {}
            Verdict::NotLinearizable => {
                let page = html::render(model, &history, &result, &report_title());
                let saved = save_report(&page);
                panic!(
                    "history is not linearizable ({} operations): {}\n{saved}",
                    history.len(),
                    first_failure(&history, &result)
                );
            }
            Verdict::Unknown => panic!(
                "the linearizability check could not decide within its budget of \
                 {DEFAULT_STEP_BUDGET} model steps per partition ({} operations, {} steps): {}",
                history.len(),
                result.steps(),
                first_failure(&history, &result)
            ),
        }
    }
}

impl<I, O> OpLog<I, O> {
    /// Puts an operation on the waiting list until the guard is dropped.
    pub(crate) fn waiting(&self, what: String) -> WaitingGuard {
        let mut waiting = self.waiting.borrow_mut();
        waiting.next += 1;
        let op = waiting.next;
        waiting.ops.insert(op, (what, sim::now()));
        WaitingGuard(self.waiting.clone(), op)
    }

    /// The clerk operations under way (made through `get`, `put` and `append`), one line
    /// each, oldest first: what a run that reached its time limit was waiting for.
    pub fn waiting_report(&self) -> String {
        let waiting = self.waiting.borrow();
        let mut out = String::new();
        if !waiting.ops.is_empty() {
            out.push_str("Clerk operations waiting:\n");
        }
        for (what, since) in waiting.ops.values() {
            out.push_str(&format!(
                "  {what} since {since} ({:.1}s)\n",
                since.elapsed().as_secs_f64()
            ));
        }
        out
    }
}

impl OpLog<KvInput, KvOutput> {
    /// Runs `op`, a clerk's `get(key)`: recorded for the checker as client `record`'s if
    /// given, counted as an operation either way.
    pub async fn get(
        &self,
        record: Option<u64>,
        key: &str,
        op: impl Future<Output = String>,
    ) -> String {
        let _waiting = self.waiting(format!("get({key:?})"));
        match record {
            Some(client) => {
                let input = KvInput::Get { key: key.into() };
                let output = self.record(client, input, async { KvOutput { value: op.await } });
                output.await.value
            }
            None => {
                self.cx.add_ops(1);
                op.await
            }
        }
    }

    /// Runs `op`, a clerk's `put(key, value)`, recorded as client `record`'s if given.
    pub async fn put(
        &self,
        record: Option<u64>,
        key: &str,
        value: &str,
        op: impl Future<Output = ()>,
    ) {
        let input = KvInput::Put {
            key: key.into(),
            value: value.into(),
        };
        self.write(record, input, op).await;
    }

    /// Runs `op`, a clerk's `append(key, value)`, recorded as client `record`'s if given.
    pub async fn append(
        &self,
        record: Option<u64>,
        key: &str,
        value: &str,
        op: impl Future<Output = ()>,
    ) {
        let input = KvInput::Append {
            key: key.into(),
            value: value.into(),
        };
        self.write(record, input, op).await;
    }

    async fn write(&self, record: Option<u64>, input: KvInput, op: impl Future<Output = ()>) {
        let _waiting = self.waiting(match &input {
            KvInput::Put { key, value } => format!("put({key:?}, {} bytes)", value.len()),
            KvInput::Append { key, value } => format!("append({key:?}, {} bytes)", value.len()),
            other => format!("{other:?}"),
        });
        match record {
            Some(client) => {
                let op = async {
                    op.await;
                    KvOutput::default()
                };
                self.record(client, input, op).await;
            }
            None => {
                self.cx.add_ops(1);
                op.await;
            }
        }
    }
}

/// What the first undecided or failing partition says, naming the operations that could not
/// come next.
fn first_failure<I: Debug, O: Debug>(history: &History<I, O>, result: &CheckResult) -> String {
    let describe = |index: usize| {
        let op = &history.operations()[index];
        let output = op
            .output
            .as_ref()
            .map_or_else(|| "(no reply)".to_string(), |o| format!("{o:?}"));
        let text = format!("#{index} client {}: {:?} -> {output}", op.client, op.input);
        if text.len() > 200 {
            let mut end = 200;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}...", &text[..end])
        } else {
            text
        }
    };
    for partition in &result.partitions {
        match &partition.outcome {
            PartitionOutcome::Linearizable { .. } => {}
            PartitionOutcome::NotLinearizable {
                longest_prefix,
                stuck,
            } => {
                let stuck: Vec<String> = stuck.iter().map(|&i| describe(i)).collect();
                return format!(
                    "of {} operations on the same data, the longest linearizable prefix has {}; \
                     none of these can come next:\n  {}",
                    partition.ops.len(),
                    longest_prefix.len(),
                    stuck.join("\n  ")
                );
            }
            PartitionOutcome::Unknown { reason, .. } => {
                return format!(
                    "the check of {} operations on the same data gave up ({reason})",
                    partition.ops.len()
                );
            }
        }
    }
    String::new()
}

fn report_title() -> String {
    let test = std::thread::current()
        .name()
        .unwrap_or("history")
        .to_string();
    format!("{test}, seed {}", sim::seed())
}

/// Writes the report next to the test binaries (`target/<profile>/lincheck-reports/`); says
/// where, or why it could not.
fn save_report(page: &str) -> String {
    let test = std::thread::current()
        .name()
        .unwrap_or("history")
        .replace("::", "-");
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("lincheck-reports")))
        .unwrap_or_else(|| PathBuf::from("lincheck-reports"));
    let path = dir.join(format!("{test}-seed{}.html", sim::seed()));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, page)) {
        Ok(()) => format!(
            "The checker's report (open it in a browser): {}",
            path.display()
        ),
        Err(e) => format!(
            "(could not write the checker's report to {}: {e})",
            path.display()
        ),
    }
}
