//! The kvsrv tester, edition 2024 (the original's `config.go` and the bodies of
//! `test_test.go`): one server on a simulated network, clerks with their own ends, every clerk
//! operation recorded for the linearizability checker, and the scenarios of the graded tests,
//! written once so that the tester's own tests can run them against broken servers.
//!
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use crate::common::{Limit, MIB, check_kept, difference, excerpt, random_value, server_bytes};
use kvsrv::v2024::{Clerk, KvServer};
use labrpc::Service;
use labrpc::rand::RngExt;
use labrpc::sim::{self, Node};
use labtest::TestCx;
use labtest::cluster::{Client, Group, GroupSpec, Started};
use labtest::kv::{LATENCY, OpLog, append_value, check_client_appends, check_concurrent_appends};
use labtest::linearizability::models::{KvInput, KvModel, KvOutput};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// Rounds of client load in the generic test.
const ROUNDS: usize = 3;

/// How long each round's clients run.
const ROUND: Duration = Duration::from_secs(1);

/// A key/value server on a simulated network, and the record of every clerk operation.
/// Cloning gives another handle to the same tester (one per client task).
#[derive(Clone)]
pub struct Tester {
    group: Group<()>,
    log: OpLog<KvInput, KvOutput>,
    cx: TestCx,
    /// Whether clerks record their operations for the linearizability checker.
    recording: bool,
    clerks_made: Rc<Cell<u64>>,
}

impl Tester {
    /// The student's server on a reliable or unreliable network where every message takes
    /// `labtest::kv::LATENCY`, so that a second of load is a few hundred operations per client.
    pub fn new(cx: &TestCx, reliable: bool) -> Tester {
        Tester::with_server(cx, reliable, || KvServer::new().service())
    }

    /// [`Tester::new`] with another server (the tester's own tests use broken ones).
    pub fn with_server(
        cx: &TestCx,
        reliable: bool,
        service: impl Fn() -> Service + 'static,
    ) -> Tester {
        let tester = Tester::build(cx, reliable, true, service);
        tester.group.net().set_latency(LATENCY);
        tester
    }

    /// The student's server for a memory test: counting starts before the server exists, so
    /// everything the server allocates is charged to it. The memory tests do no timed load,
    /// so their network delivers at once (a hundred thousand calls in a row cost no virtual
    /// time), and their clerks count their operations without recording them.
    pub fn for_memory(cx: &TestCx, reliable: bool) -> Tester {
        Tester::for_memory_with_server(cx, reliable, || KvServer::new().service())
    }

    /// [`Tester::for_memory`] with another server.
    pub fn for_memory_with_server(
        cx: &TestCx,
        reliable: bool,
        service: impl Fn() -> Service + 'static,
    ) -> Tester {
        labtest::alloc::start_counting();
        Tester::build(cx, reliable, false, service)
    }

    fn build(
        cx: &TestCx,
        reliable: bool,
        recording: bool,
        service: impl Fn() -> Service + 'static,
    ) -> Tester {
        cx.set_peers(1);
        let net = labrpc::Network::new();
        net.set_reliable(reliable);
        let group = Group::new(&net, GroupSpec::new(1), move |_| {
            Started::new(()).service(service())
        });
        group.connect_all();
        Tester {
            group,
            log: OpLog::new(cx),
            cx: cx.clone(),
            recording,
            clerks_made: Rc::default(),
        }
    }

    /// A new clerk with its own fresh end to the server.
    pub fn make_clerk(&self) -> TestClerk {
        let client = self.group.make_client(&[0]);
        let id = self.clerks_made.get();
        self.clerks_made.set(id + 1);
        TestClerk {
            clerk: Clerk::new(client.ends()[0].clone()),
            client,
            id,
            log: self.recording.then(|| self.log.clone()),
            cx: self.cx.clone(),
        }
    }

    /// Deletes the clerk's end: calls still in flight on it fail.
    pub fn delete_clerk(&self, clerk: TestClerk) {
        self.group.delete_client(clerk.client);
    }

    /// The server's node (what the memory tests measure).
    pub fn server_node(&self) -> Node {
        self.group.node(0)
    }

    /// Bytes the server's code allocated and still holds (memory tests only).
    pub fn server_bytes(&self) -> i64 {
        server_bytes(self.server_node())
    }

    /// Checks that the clerks' operations so far are linearizable: panics with the checker's
    /// report otherwise.
    pub fn check_linearizable(&self) {
        self.log.check_linearizable(&KvModel);
    }
}

/// A clerk that records each operation (its input, its output, when it was called and when
/// it returned) for the linearizability checker.
pub struct TestClerk {
    clerk: Clerk,
    client: Client,
    id: u64,
    log: Option<OpLog<KvInput, KvOutput>>,
    cx: TestCx,
}

impl TestClerk {
    /// `Clerk::get`, recorded.
    pub async fn get(&mut self, key: &str) -> String {
        let TestClerk {
            clerk, log, cx, id, ..
        } = self;
        let input = || KvInput::Get { key: key.into() };
        let op = async {
            KvOutput {
                value: clerk.get(key).await,
            }
        };
        record(log, cx, *id, input, op).await.value
    }

    /// `Clerk::put`, recorded.
    pub async fn put(&mut self, key: &str, value: &str) {
        let TestClerk {
            clerk, log, cx, id, ..
        } = self;
        let input = || KvInput::Put {
            key: key.into(),
            value: value.into(),
        };
        let op = async {
            clerk.put(key, value).await;
            KvOutput::default()
        };
        record(log, cx, *id, input, op).await;
    }

    /// `Clerk::append`, recorded.
    pub async fn append(&mut self, key: &str, arg: &str) -> String {
        let TestClerk {
            clerk, log, cx, id, ..
        } = self;
        let input = || KvInput::AppendReturningOld {
            key: key.into(),
            value: arg.into(),
        };
        let op = async {
            KvOutput {
                value: clerk.append(key, arg).await,
            }
        };
        record(log, cx, *id, input, op).await.value
    }
}

/// Runs one clerk operation, recording it in `log` if there is one, else only counting it.
async fn record(
    log: &Option<OpLog<KvInput, KvOutput>>,
    cx: &TestCx,
    clerk: u64,
    input: impl FnOnce() -> KvInput,
    op: impl Future<Output = KvOutput>,
) -> KvOutput {
    match log {
        Some(log) => log.record(clerk, input(), op).await,
        None => {
            cx.add_ops(1);
            op.await
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scenarios

/// The original's `GenericTest` (one key per client): `ROUNDS` rounds in which `clients`
/// fresh clerks each put `""` to their own key, then until the round's second is over
/// append `"x <client> <n> y"` (half the time) or get the key and check the value. Each append
/// must return an old value with the client's previous append and without this one. After
/// each round a main clerk reads every key, which must hold the client's appends exactly once
/// and in order. At the end, the whole history must be linearizable.
pub async fn generic_test(tester: &Tester, clients: usize) {
    let mut main = tester.make_clerk();
    for _ in 0..ROUNDS {
        let done = Rc::new(Cell::new(false));
        let running: Vec<_> = (0..clients)
            .map(|client| sim::spawn(append_and_get(tester.clone(), client, done.clone())))
            .collect();
        sim::sleep(ROUND).await;
        done.set(true);
        for (client, task) in running.into_iter().enumerate() {
            let appends = task.await.expect("a client task stopped");
            let value = main.get(&client.to_string()).await;
            check_client_appends(client, &value, appends);
        }
    }
    tester.check_linearizable();
}

/// One client of [`generic_test`]: returns how many appends it made.
async fn append_and_get(tester: Tester, client: usize, done: Rc<Cell<bool>>) -> usize {
    let mut clerk = tester.make_clerk();
    let key = client.to_string();
    let mut expected = String::new();
    clerk.put(&key, "").await;
    let mut appends = 0;
    while !done.get() {
        let new = append_value(client, appends);
        if sim::rng().random_range(0..1000) < 500 {
            let old = clerk.append(&key, &new).await;
            if appends > 0 {
                let previous = append_value(client, appends - 1);
                assert!(
                    old.contains(&previous),
                    "client {client}: append({key:?}, {new:?}) returned an old value without the \
                     client's previous append {previous:?}: {}",
                    difference(&expected, &old)
                );
            }
            assert!(
                !old.contains(&new),
                "client {client}: append({key:?}, {new:?}) returned an old value that already \
                 holds this append (applied twice?): {}",
                excerpt(&old, old.find(&new).unwrap_or(0))
            );
            expected.push_str(&new);
            appends += 1;
        } else {
            let value = clerk.get(&key).await;
            assert!(
                value == expected,
                "client {client}: get({key:?}) returned a wrong value: {}",
                difference(&expected, &value)
            );
        }
    }
    tester.delete_clerk(clerk);
    appends
}

/// The original's `TestUnreliableOneKey2`: five clients append ten values each to one key
/// concurrently; no append may return an old value holding its own value, and the final value
/// must hold every append exactly once, each client's in order. (The original does not check
/// this history; here it must be linearizable too.)
pub async fn one_key_appends(tester: &Tester) {
    const CLIENTS: usize = 5;
    const APPENDS: usize = 10;
    let mut main = tester.make_clerk();
    main.put("k", "").await;
    let running: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let tester = tester.clone();
            sim::spawn(async move {
                let mut clerk = tester.make_clerk();
                for n in 0..APPENDS {
                    let new = append_value(client, n);
                    let old = clerk.append("k", &new).await;
                    assert!(
                        !old.contains(&new),
                        "client {client}: append(\"k\", {new:?}) returned an old value that \
                         already holds this append (applied twice?): {}",
                        excerpt(&old, old.find(&new).unwrap_or(0))
                    );
                }
                tester.delete_clerk(clerk);
            })
        })
        .collect();
    for task in running {
        task.await.expect("a client task stopped");
    }
    let value = main.get("k").await;
    check_concurrent_appends(&value, &[APPENDS; CLIENTS]);
    tester.check_linearizable();
}

/// The original's `TestMemGet2`: put a 10 MiB value, get it with two clerks, put `"0"`. The
/// server must then keep under 10 MiB.
pub async fn mem_get(tester: &Tester) {
    let mut clerks = [tester.make_clerk(), tester.make_clerk()];
    let big = random_value(10 * MIB as usize);
    clerks[0].put("k", &big).await;
    for (i, clerk) in clerks.iter_mut().enumerate() {
        let value = clerk.get("k").await;
        assert_eq!(
            value.len(),
            big.len(),
            "clerk {i}: get(\"k\") returned {} bytes after a put of {}",
            value.len(),
            big.len()
        );
    }
    clerks[0].put("k", "0").await;
    check_kept(
        tester.server_bytes(),
        Limit::Under(10 * MIB),
        "after two gets of a 10 MiB value and a put that replaced it with \"0\"",
        "Is it keeping the replies of gets (gets need no duplicate detection)?",
    );
}

/// The original's `TestMemPut2`: one clerk puts a 10 MiB value, another replaces it with
/// `""`. The server must then keep under 10 MiB.
pub async fn mem_put(tester: &Tester) {
    let mut clerks = [tester.make_clerk(), tester.make_clerk()];
    clerks[0].put("k", &random_value(10 * MIB as usize)).await;
    clerks[1].put("k", "").await;
    check_kept(
        tester.server_bytes(),
        Limit::Under(10 * MIB),
        "after a put of 10 MiB replaced by a put of \"\"",
        "Is it keeping the arguments or the old values of puts?",
    );
}

/// The original's `TestMemAppend2`: two clerks each append 10 MiB to one key. The server may
/// keep the 20 MiB value and one returned old value (10 MiB), and must keep at most 30 MiB
/// counted in whole MiB, as the original counts: under 31 MiB.
pub async fn mem_append(tester: &Tester) {
    let mut clerks = [tester.make_clerk(), tester.make_clerk()];
    for clerk in &mut clerks {
        clerk.append("k", &random_value(10 * MIB as usize)).await;
    }
    check_kept(
        tester.server_bytes(),
        Limit::Under(31 * MIB),
        "after two appends of 10 MiB to one key (the value is 20 MiB)",
        "It may keep the value and the last old value it returned to each clerk, no more: \
         is it keeping every argument or old value?",
    );
}

/// The original's `TestMemPutManyClients`: `clerks` clerks (the original: 100,000), each with
/// its own end, put a 1000-byte value to one key once each. The server's memory may grow by
/// at most 200 bytes per clerk.
pub async fn mem_put_many_clients(tester: &Tester, clerks: usize) {
    let value = random_value(1000);
    let mut all: Vec<TestClerk> = (0..clerks).map(|_| tester.make_clerk()).collect();
    let before = tester.server_bytes();
    for clerk in &mut all {
        clerk.put("k", &value).await;
    }
    let grown = tester.server_bytes() - before;
    check_kept(
        grown,
        Limit::AtMost(200 * clerks as i64),
        &format!(
            "more than before {clerks} clerks put a 1000-byte value once each ({:.1} bytes per \
             clerk)",
            grown as f64 / clerks as f64
        ),
        "Per clerk it may remember what duplicate detection needs, not the values.",
    );
    for clerk in all {
        tester.delete_clerk(clerk);
    }
}

/// The original's `TestMemGetManyClients`: after one put of `""` to key `"0"`, `clerks`
/// clerks (the original: 100,000), each with its own end, get the key once each. The
/// server's memory must grow by less than 10 bytes per clerk: gets need no duplicate state.
pub async fn mem_get_many_clients(tester: &Tester, clerks: usize) {
    let mut first = tester.make_clerk();
    first.put("0", "").await;
    tester.delete_clerk(first);
    let mut all: Vec<TestClerk> = (0..clerks).map(|_| tester.make_clerk()).collect();
    let before = tester.server_bytes();
    for clerk in &mut all {
        clerk.get("0").await;
    }
    let grown = tester.server_bytes() - before;
    check_kept(
        grown,
        Limit::Under(10 * clerks as i64),
        &format!(
            "more than before {clerks} clerks got a key once each ({:.1} bytes per clerk)",
            grown as f64 / clerks as f64
        ),
        "A get changes nothing, so a retried get can simply run again: keep nothing for gets.",
    );
    for clerk in all {
        tester.delete_clerk(clerk);
    }
}

/// The original's `TestMemManyAppends`: one clerk appends the same 1000-byte value 1000
/// times to one key. The server must then keep under 3 MB: the 1 MB value and a bounded
/// number of old values, not each old value it returned.
pub async fn mem_many_appends(tester: &Tester) {
    const APPENDS: usize = 1000;
    const SIZE: usize = 1000;
    let mut clerk = tester.make_clerk();
    let value = random_value(SIZE);
    for _ in 0..APPENDS {
        clerk.append("k", &value).await;
    }
    check_kept(
        tester.server_bytes(),
        Limit::Under(3 * (APPENDS * SIZE) as i64),
        "after 1000 appends of 1000 bytes to one key (the value is 1 MB)",
        "Is it keeping the old value of every append (free it once the clerk has moved on)?",
    );
    tester.delete_clerk(clerk);
}
