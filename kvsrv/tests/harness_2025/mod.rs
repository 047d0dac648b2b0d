//! The kvsrv tester, edition 2025 (the original's `kvsrv1/test.go`, the key/value parts of
//! `kvtest1` and the bodies of `kvsrv_test.go` and `lock_test.go`): one versioned server on a
//! simulated network, clerks with their own ends, every clerk operation recorded for the
//! linearizability checker (with the versioned model, where `ErrMaybe` may or may not have
//! happened), and the scenarios of the graded tests, generic over the clerk and the lock so
//! that the tester's own tests can run them with broken ones.
//!
//! Every check panics with what it expected and what it saw; the lab harness adds the seed,
//! the last trace events and the replay command.

#![allow(dead_code)] // Each test binary uses a different part of the tester.

use crate::common::{Limit, check_kept, random_value, server_bytes};
use kvsrv::v2025::{Clerk, Error, KvServer, Lock, Version};
use labrpc::sim::{self, Node};
use labrpc::{ClientEnd, Service};
use labtest::TestCx;
use labtest::cluster::{Client, Group, GroupSpec, Started};
use labtest::kv::{LATENCY, OpLog};
use labtest::linearizability::PowerSet;
use labtest::linearizability::models::VersionedKvModel;
use labtest::versioned::{GetResult, KvErr, PutCounts, VersionedKv, VersionedLog};
use labtest::versioned::{check_put_count, one_client_put};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// What the tests need of a clerk: the student's [`Clerk`], or a broken one.
pub trait KvClerk: 'static {
    /// A clerk that talks to the server through `server`.
    fn connect(server: ClientEnd) -> Self;
    /// `Clerk::get`.
    fn get(&self, key: &str) -> impl Future<Output = Result<(String, Version), Error>>;
    /// `Clerk::put`.
    fn put(
        &self,
        key: &str,
        value: &str,
        version: Version,
    ) -> impl Future<Output = Result<(), Error>>;
}

impl KvClerk for Clerk {
    fn connect(server: ClientEnd) -> Self {
        Clerk::new(server)
    }

    fn get(&self, key: &str) -> impl Future<Output = Result<(String, Version), Error>> {
        Clerk::get(self, key)
    }

    fn put(
        &self,
        key: &str,
        value: &str,
        version: Version,
    ) -> impl Future<Output = Result<(), Error>> {
        Clerk::put(self, key, value, version)
    }
}

/// What the lock tests need of a lock: the student's [`Lock`], or a broken one.
pub trait TestLock: 'static {
    /// A lock on `key` through `clerk`.
    fn make(clerk: Clerk, key: &str) -> Self;
    /// `Lock::acquire`.
    fn acquire(&self) -> impl Future<Output = ()>;
    /// `Lock::release`.
    fn release(&self) -> impl Future<Output = ()>;
}

impl TestLock for Lock {
    fn make(clerk: Clerk, key: &str) -> Self {
        Lock::new(clerk, key)
    }

    fn acquire(&self) -> impl Future<Output = ()> {
        Lock::acquire(self)
    }

    fn release(&self) -> impl Future<Output = ()> {
        Lock::release(self)
    }
}

/// A versioned key/value server on a simulated network, and the record of every clerk
/// operation. Cloning gives another handle to the same tester (one per client task).
pub struct Tester<C = Clerk> {
    group: Group<()>,
    log: VersionedLog,
    cx: TestCx,
    reliable: bool,
    /// Whether clerks record their operations for the linearizability checker.
    recording: bool,
    clerks_made: Rc<Cell<u64>>,
    clerk: std::marker::PhantomData<fn() -> C>,
}

impl<C> Clone for Tester<C> {
    fn clone(&self) -> Self {
        Tester {
            group: self.group.clone(),
            log: self.log.clone(),
            cx: self.cx.clone(),
            reliable: self.reliable,
            recording: self.recording,
            clerks_made: self.clerks_made.clone(),
            clerk: std::marker::PhantomData,
        }
    }
}

impl Tester<Clerk> {
    /// The student's server and clerk on a reliable or unreliable network where every message
    /// takes `labtest::kv::LATENCY`, so that a second of load is a few hundred operations per
    /// client.
    pub fn new(cx: &TestCx, reliable: bool) -> Tester<Clerk> {
        Tester::build(cx, reliable, true, true)
    }

    /// [`Tester::new`] for the lock tests, which check the critical section themselves (as
    /// the original, they check no history): clerks count their operations without recording
    /// them.
    pub fn for_locks(cx: &TestCx, reliable: bool) -> Tester<Clerk> {
        Tester::build(cx, reliable, true, false)
    }

    /// The student's server and clerk for a memory test: counting starts before the server
    /// exists, so everything the server allocates is charged to it. No timed load, so the
    /// network delivers at once (a hundred thousand calls in a row cost no virtual time), and
    /// clerks count their operations without recording them.
    pub fn for_memory(cx: &TestCx, reliable: bool) -> Tester<Clerk> {
        labtest::alloc::start_counting();
        Tester::build(cx, reliable, false, false)
    }
}

impl<C: KvClerk> Tester<C> {
    /// [`Tester::new`] with another clerk (the tester's own tests use broken ones).
    pub fn with_clerk(cx: &TestCx, reliable: bool) -> Tester<C> {
        Tester::build(cx, reliable, true, true)
    }

    fn build(cx: &TestCx, reliable: bool, timed: bool, recording: bool) -> Tester<C> {
        cx.set_peers(1);
        let net = labrpc::Network::new();
        net.set_reliable(reliable);
        if timed {
            net.set_latency(LATENCY);
        }
        let group = Group::new(&net, GroupSpec::new(1), |_| {
            let server: Service = KvServer::new().service();
            Started::new(()).service(server)
        });
        group.connect_all();
        Tester {
            group,
            log: OpLog::new(cx),
            cx: cx.clone(),
            reliable,
            recording,
            clerks_made: Rc::default(),
            clerk: std::marker::PhantomData,
        }
    }

    /// Whether the network delivers every message.
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// A new clerk with its own fresh end to the server.
    pub fn make_clerk(&self) -> TestClerk<C> {
        let client = self.group.make_client(&[0]);
        let id = self.clerks_made.get();
        self.clerks_made.set(id + 1);
        TestClerk {
            clerk: C::connect(client.ends()[0].clone()),
            client,
            record: self.recording.then_some(id),
            log: self.log.clone(),
        }
    }

    /// Deletes the clerk's end: calls still in flight on it fail.
    pub fn delete_clerk(&self, clerk: TestClerk<C>) {
        self.group.delete_client(clerk.client);
    }

    /// The server's node (what the memory tests measure).
    pub fn server_node(&self) -> Node {
        self.group.node(0)
    }

    /// Checks that the clerks' operations so far are linearizable: panics with the checker's
    /// report otherwise.
    pub fn check_linearizable(&self) {
        self.log.check_linearizable(&PowerSet(VersionedKvModel));
    }
}

/// A clerk that records each operation (input, output, call and return time) for the
/// linearizability checker.
pub struct TestClerk<C = Clerk> {
    clerk: C,
    client: Client,
    /// The client id its operations are recorded as, if they are.
    record: Option<u64>,
    log: VersionedLog,
}

impl<C: KvClerk> TestClerk<C> {
    /// The clerk itself (the lock tests hand it to the lock).
    pub fn clerk(&self) -> &C {
        &self.clerk
    }

    /// `Clerk::get`, recorded. A get can only fail with `ErrNoKey`.
    pub async fn get(&self, key: &str) -> Result<(String, Version), Error> {
        let op = async { self.clerk.get(key).await.map_err(kv_err) };
        let got = self.log.versioned_get(self.record, key, op).await;
        got.map_err(lab_err)
    }

    /// `Clerk::put`, recorded.
    pub async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), Error> {
        let op = async { self.clerk.put(key, value, version).await.map_err(kv_err) };
        let put = self.log.versioned_put(self.record, key, value, version, op);
        put.await.map_err(lab_err)
    }
}

impl<C: KvClerk> VersionedKv for TestClerk<C> {
    async fn get(&self, key: &str) -> GetResult {
        TestClerk::get(self, key).await.map_err(kv_err)
    }

    async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvErr> {
        TestClerk::put(self, key, value, version)
            .await
            .map_err(kv_err)
    }
}

fn kv_err(e: Error) -> KvErr {
    match e {
        Error::NoKey => KvErr::NoKey,
        Error::Version => KvErr::Version,
        Error::Maybe => KvErr::Maybe,
    }
}

fn lab_err(e: KvErr) -> Error {
    match e {
        KvErr::NoKey => Error::NoKey,
        KvErr::Version => Error::Version,
        KvErr::Maybe => Error::Maybe,
    }
}

// ---------------------------------------------------------------------------------------
// The key/value scenarios

/// The original's `TestReliablePut`: put creates a key with version 1; a put with a stale
/// version fails with `ErrVersion`; a put with a version other than 0 on a missing key, and a
/// get of a missing key, fail with `ErrNoKey`.
pub async fn reliable_put<C: KvClerk>(tester: &Tester<C>) {
    const VALUE: &str = "6.5840";
    let clerk = tester.make_clerk();
    let created = clerk.put("k", VALUE, 0).await;
    assert!(
        created.is_ok(),
        "put(\"k\", {VALUE:?}, v0) of a new key returned {created:?}; expected Ok"
    );
    let got = clerk.get("k").await;
    assert!(
        got == Ok((VALUE.to_string(), 1)),
        "get(\"k\") returned {got:?} after the put; expected Ok(({VALUE:?}, 1)): the put creating \
         a key gives it version 1"
    );
    let stale = clerk.put("k", VALUE, 0).await;
    assert!(
        stale == Err(Error::Version),
        "put(\"k\", {VALUE:?}, v0) when \"k\" has version 1 returned {stale:?}; expected \
         Err(Version)"
    );
    let missing = clerk.put("y", VALUE, 1).await;
    assert!(
        missing == Err(Error::NoKey),
        "put(\"y\", {VALUE:?}, v1) of a missing key returned {missing:?}; expected Err(NoKey)"
    );
    let absent = clerk.get("y").await;
    assert!(
        absent == Err(Error::NoKey),
        "get(\"y\") of a missing key returned {absent:?}; expected Err(NoKey)"
    );
    tester.check_linearizable();
}

/// The original's `TestPutConcurrentReliable`: ten clients race for one second to put to one
/// key, each with the version it last read. On a reliable network the key's final version
/// must be the number of puts that returned `Ok`; on an unreliable one at most the number
/// that returned `Ok` or `ErrMaybe`. The history must be linearizable.
pub async fn put_concurrent<C: KvClerk>(tester: &Tester<C>) {
    const CLIENTS: usize = 10;
    const DURATION: Duration = Duration::from_secs(1);
    let done = Rc::new(Cell::new(false));
    let running: Vec<_> = (0..CLIENTS)
        .map(|client| sim::spawn(put_until_done(tester.clone(), client, done.clone())))
        .collect();
    sim::sleep(DURATION).await;
    done.set(true);
    let mut total = PutCounts::default();
    for task in running {
        total.add(task.await.expect("a client task stopped"));
    }
    let clerk = tester.make_clerk();
    let version = match clerk.get("k").await {
        Ok((_, version)) => version,
        Err(e) => panic!("get(\"k\") after the clients' puts returned {e}"),
    };
    check_put_count("k", version, total, tester.is_reliable());
    tester.check_linearizable();
}

/// One client of [`put_concurrent`] (the original's `OneClientPut`).
async fn put_until_done<C: KvClerk>(
    tester: Tester<C>,
    client: usize,
    done: Rc<Cell<bool>>,
) -> PutCounts {
    let clerk = tester.make_clerk();
    let counts = one_client_put(&clerk, client, &["k".to_string()], false, &done).await;
    tester.delete_clerk(clerk);
    counts
}

/// The original's `TestUnreliableNet`: one client on an unreliable network, 100 times: put
/// `"0"`, `"1"`, ... at the same version until a put does not return `ErrMaybe`. With one
/// client a put that returned `ErrMaybe` did happen, so the next put at that version must fail
/// with `ErrVersion`, and the key must then hold `"0"` at the next version. The clerk must have
/// returned `ErrMaybe` at least once, and the history must be linearizable.
pub async fn unreliable_net<C: KvClerk>(tester: &Tester<C>) {
    const TRIES: u64 = 100;
    let clerk = tester.make_clerk();
    let mut retried = false;
    for version in 0..TRIES {
        for attempt in 0.. {
            let put = clerk.put("k", &attempt.to_string(), version).await;
            if put == Err(Error::Maybe) {
                retried = true;
                continue;
            }
            assert!(
                attempt == 0 || put == Err(Error::Version),
                "put(\"k\", \"{attempt}\", v{version}) returned {put:?} after an earlier put at \
                 that version returned ErrMaybe: with one client that put happened, so this one \
                 must fail with ErrVersion (did a put happen twice?)"
            );
            break;
        }
        let got = clerk.get("k").await;
        assert!(
            got == Ok(("0".to_string(), version + 1)),
            "get(\"k\") returned {got:?} after the puts at version {version}; expected \
             Ok((\"0\", {})): the first put at each version must take effect, once",
            version + 1
        );
    }
    assert!(
        retried,
        "Clerk::put never returned ErrMaybe in {TRIES} puts on an unreliable network: when a \
         put had to be resent and the server then answers ErrVersion, the first copy may have \
         been executed, and the clerk must return ErrMaybe (not ErrVersion)"
    );
    tester.check_linearizable();
}

/// The original's `TestMemPutManyClientsReliable`: `clerks` clerks (the original: 100,000),
/// each with its own end, first put to a missing key at version 1 (`ErrNoKey`, so that every
/// end has been used), then each puts a 1000-byte value at the next version. The server's
/// memory may grow by at most 200 bytes per clerk.
pub async fn mem_put_many_clients(tester: &Tester, clerks: usize) {
    let value = random_value(1000);
    let all: Vec<TestClerk> = (0..clerks).map(|_| tester.make_clerk()).collect();
    for clerk in &all {
        let put = clerk.put("k", "", 1).await;
        assert!(
            put == Err(Error::NoKey),
            "put(\"k\", \"\", v1) of a missing key returned {put:?}; expected Err(NoKey)"
        );
    }
    let before = server_bytes(tester.server_node());
    for (version, clerk) in all.iter().enumerate() {
        let put = clerk.put("k", &value, version as Version).await;
        assert!(
            put.is_ok(),
            "put(\"k\", value, v{version}) returned {put:?}; expected Ok"
        );
    }
    let grown = server_bytes(tester.server_node()) - before;
    check_kept(
        grown,
        Limit::AtMost(200 * clerks as i64),
        &format!(
            "more than before {clerks} clerks put a 1000-byte value once each ({:.1} bytes per \
             clerk)",
            grown as f64 / clerks as f64
        ),
        "A versioned server needs nothing per clerk.",
    );
}

// ---------------------------------------------------------------------------------------
// The lock scenarios

/// Lock clients run this long.
const LOCK_DURATION: Duration = Duration::from_secs(2);

/// How long after the end the lock clients may take to leave their critical section and
/// finish: a client still waiting then shows that the lock never became free again.
const LOCK_GRACE: Duration = Duration::from_secs(10);

/// Where a lock client is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Acquiring,
    Holding,
    Releasing,
    Finished,
}

/// The original's `runClients` of `lock_test.go`: `clients` clients, each with its own clerk
/// and its own lock on key `"l"`, loop for two seconds: acquire; check that `"l0"` is `""`
/// (no one else is in the critical section) and write its id there; wait 10 ms; clear it;
/// release. Puts in the critical section must succeed (`Ok`, or `ErrMaybe` on an unreliable
/// network). Progress: some client acquires the lock, and every client finishes within
/// `LOCK_GRACE` of the end.
pub async fn lock_clients<L: TestLock>(tester: &Tester, clients: usize) {
    let done = Rc::new(Cell::new(false));
    let phases = Rc::new(RefCell::new(vec![Phase::Acquiring; clients]));
    let running: Vec<_> = (0..clients)
        .map(|client| {
            sim::spawn(lock_client::<L>(
                tester.clone(),
                client,
                done.clone(),
                phases.clone(),
            ))
        })
        .collect();
    sim::sleep(LOCK_DURATION).await;
    done.set(true);
    let joined = sim::timeout(LOCK_GRACE, async {
        let mut acquisitions = 0;
        for task in running {
            acquisitions += task.await.expect("a client task stopped");
        }
        acquisitions
    })
    .await;
    let Ok(acquisitions) = joined else {
        let stuck: Vec<String> = phases
            .borrow()
            .iter()
            .enumerate()
            .filter(|(_, phase)| **phase != Phase::Finished)
            .map(|(client, phase)| format!("client {client} ({phase:?})"))
            .collect();
        panic!(
            "no progress: {LOCK_GRACE:?} after the clients were told to stop, {} of {clients} are \
             still running: {}. A client stuck in Acquiring waits for a lock that is never \
             released",
            stuck.len(),
            stuck.join(", ")
        );
    };
    assert!(
        acquisitions > 0,
        "no progress: in {LOCK_DURATION:?} no client acquired the lock"
    );
}

/// One lock client (the original's `oneClient`): returns how often it acquired the lock.
async fn lock_client<L: TestLock>(
    tester: Tester,
    client: usize,
    done: Rc<Cell<bool>>,
    phases: Rc<RefCell<Vec<Phase>>>,
) -> u64 {
    let set = |phase| phases.borrow_mut()[client] = phase;
    let clerk = tester.make_clerk();
    let lock = L::make(clerk.clerk().clone(), "l");
    let _ = clerk.put("l0", "", 0).await;
    let me = client.to_string();
    let mut acquisitions = 0;
    while !done.get() {
        set(Phase::Acquiring);
        lock.acquire().await;
        set(Phase::Holding);
        acquisitions += 1;
        let (value, version) = match clerk.get("l0").await {
            Ok(found) => found,
            Err(e) => panic!("client {client}: get(\"l0\") in the critical section returned {e}"),
        };
        assert!(
            value.is_empty(),
            "client {client} acquired the lock while client {value} holds it: two clients in the \
             critical section"
        );
        let entered = clerk.put("l0", &me, version).await;
        assert!(
            matches!(entered, Ok(()) | Err(Error::Maybe)),
            "client {client}: put(\"l0\", {me:?}, v{version}) in the critical section returned \
             {entered:?}: another client wrote \"l0\" since, so two clients held the lock"
        );
        sim::sleep(Duration::from_millis(10)).await;
        let left = clerk.put("l0", "", version + 1).await;
        assert!(
            matches!(left, Ok(()) | Err(Error::Maybe)),
            "client {client}: put(\"l0\", \"\", v{}) leaving the critical section returned \
             {left:?}: another client wrote \"l0\" meanwhile, so two clients held the lock",
            version + 1
        );
        set(Phase::Releasing);
        lock.release().await;
    }
    set(Phase::Finished);
    tester.delete_clerk(clerk);
    acquisitions
}
