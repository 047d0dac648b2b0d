//! The runtime's promises: determinism, crash semantics, the watchdog, clear errors.
//!
//! Several of these are negative tests: they check that the harness *fails* a broken run,
//! and with a message that says what happened.

use labrpc::sim::{self, Node, Sim, SimError};
use labrpc::{Network, RpcError, Server, Service, Side};
use labtest::Options;
use proptest::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

labrpc::service! {
    service Echo {
        /// Returns its argument.
        rpc Echo(u64) -> u64;
        /// Returns its argument, typed differently on the server (see `wrong_type`).
        rpc Retyped(u64) -> u64;
        /// Carries a value that does not survive decoding.
        rpc Brittle(Fragile) -> u64;
    }
}

labrpc::service! {
    service Missing {
        /// A service no server registers.
        rpc Nothing(u64) -> u64;
    }
}

labrpc::service! {
    service Echo {
        /// A method `Echo` does not have.
        rpc Shout(u64) -> u64;
    }
}

/// A value that encodes fine but never decodes: a broken serde impl.
#[derive(Debug)]
pub struct Fragile;

impl Serialize for Fragile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(7)
    }
}

impl<'de> Deserialize<'de> for Fragile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fragile, D::Error> {
        let _ = u8::deserialize(d)?;
        Err(serde::de::Error::custom("Fragile never decodes"))
    }
}

mod retyped {
    labrpc::service! {
        service Echo {
            /// The server's view of `Retyped`: a string argument.
            rpc Retyped(String) -> u64;
        }
    }
}

/// A network with an echo server on node "server" and `clients` enabled ends to it.
fn echo_network(clients: usize) -> (Network, Vec<labrpc::ClientEnd>) {
    let net = Network::new();
    let mut server = Server::new(Node::new("server"));
    server.add_service(
        Service::new()
            .handle(Echo, |x: u64| async move { x })
            .handle(retyped::Retyped, |s: String| async move { s.len() as u64 })
            .handle(Brittle, |_: Fragile| async { 0 }),
    );
    net.add_server("server", server);
    let ends = (0..clients)
        .map(|i| {
            let end = net.make_end(i);
            net.connect(i, "server");
            net.enable(i, true);
            end
        })
        .collect();
    (net, ends)
}

/// A busy unreliable workload: traces differ between seeds, and must not within one.
async fn unreliable_workload() -> u64 {
    let (net, ends) = echo_network(10);
    net.set_reliable(false);
    net.set_long_reordering(true);
    let tasks: Vec<_> = ends
        .into_iter()
        .map(|end| {
            sim::spawn(async move {
                let mut ok = 0;
                for i in 0..20 {
                    ok += u64::from(end.call::<Echo>(&i).await == Ok(i));
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += task.await.unwrap();
    }
    ok
}

fn hash_of(seed: u64) -> (u64, u64) {
    let outcome = Sim::new(seed).run(unreliable_workload).unwrap();
    (outcome.report.trace_hash, outcome.value)
}

#[test]
fn same_seed_same_trace() {
    assert_eq!(hash_of(5), hash_of(5));
    assert_eq!(hash_of(6), hash_of(6));
}

/// The trace hash of one fixed run (ten clients on an unreliable, reordering network), pinned:
/// if it
/// changes, every seed of every course replays a different run. Change it only on purpose (a
/// change of the runtime's schedule or the network's model), and say so in the commit.
#[test]
fn trace_hash_is_pinned() {
    let (hash, ok) = hash_of(5);
    assert_eq!(
        (format!("{hash:016x}"), ok),
        (String::from("ea23a2ce2ca24688"), 169)
    );
}

#[test]
fn different_seeds_different_schedules() {
    let hashes: std::collections::BTreeSet<u64> = (0..8).map(|s| hash_of(s).0).collect();
    assert_eq!(
        hashes.len(),
        8,
        "8 seeds gave only {} distinct traces",
        hashes.len()
    );
}

#[test]
fn determinism_check_passes_on_a_deterministic_test() {
    let passed = labtest::try_check_determinism(&Options::default(), 3, |_cx| async {
        unreliable_workload().await;
    });
    assert!(passed.is_ok(), "{}", passed.unwrap_err().message);
}

/// Code that depends on anything but the seed is caught, and the report names the first divergent event.
#[test]
fn determinism_check_names_first_divergent_event() {
    let failed = labtest::try_check_determinism(&Options::default(), 3, |_cx| async {
        let node = Node::new("sloppy");
        node.spawn(async {
            for _ in 0..3 {
                sim::sleep(Duration::from_millis(10)).await;
            }
            // Bad: state from outside the simulation (here a global counter, which differs
            // between the two runs) leaks into virtual time.
            static RUNS: AtomicU64 = AtomicU64::new(0);
            let leaked = RUNS.fetch_add(1, Ordering::Relaxed);
            sim::sleep(Duration::from_nanos(1 + leaked)).await;
        })
        .await
        .unwrap();
    })
    .expect_err("nondeterminism must be detected");
    let message = failed.message;
    assert!(message.contains("NONDETERMINISM"), "{message}");
    assert!(message.contains("First difference at event #"), "{message}");
    assert!(
        message.contains("sloppy"),
        "the divergent event names its node: {message}"
    );
    assert!(message.contains("LAB_SEED=3"), "{message}");
}

#[test]
fn crash_stops_tasks_and_drops_replies() {
    let outcome = Sim::new(1)
        .run(|| async {
            let (_net, ends) = echo_network(1);
            let server = Node::new("pinger");
            let ticks = std::rc::Rc::new(std::cell::Cell::new(0));
            let counter = ticks.clone();
            server.spawn(async move {
                let mut ticker = sim::interval(Duration::from_millis(100));
                loop {
                    ticker.tick().await;
                    counter.set(counter.get() + 1);
                }
            });
            sim::sleep(Duration::from_millis(450)).await;
            server.crash();
            let at_crash = ticks.get();
            sim::sleep(Duration::from_secs(1)).await;
            assert_eq!(ticks.get(), at_crash, "a crashed node's task kept running");
            assert!(!server.is_up());
            // A task spawned on a crashed node never runs.
            let refused = server.spawn(async { 1 }).await;
            assert_eq!(refused, Err(sim::JoinError::Cancelled));
            server.restart();
            assert_eq!(server.spawn(async { 2 }).await, Ok(2));
            // Crash the echo server while it handles a call: no reply.
            let echo_node = Node::new("slow");
            let net = Network::new();
            let mut slow = Server::new(echo_node);
            slow.add_service(Service::new().handle(Echo, |x: u64| async move {
                sim::sleep(Duration::from_secs(1)).await;
                x
            }));
            net.add_server("slow", slow);
            let end = net.make_end("c");
            net.connect("c", "slow");
            net.enable("c", true);
            let call = sim::spawn(async move { end.call::<Echo>(&9).await });
            sim::sleep(Duration::from_millis(10)).await;
            echo_node.crash();
            let result = call.await.unwrap();
            // A crashed server that is still registered fails calls like an absent one:
            // after a short delay, so retry loops cannot spin in zero virtual time.
            let end = net.make_end("c2");
            net.connect("c2", "slow");
            net.enable("c2", true);
            let before = sim::now();
            assert_eq!(end.call::<Echo>(&1).await, Err(RpcError::NoReply));
            assert!(before.elapsed() < Duration::from_millis(100));
            drop(ends);
            (at_crash, result)
        })
        .unwrap();
    assert_eq!(outcome.value, (5, Err(RpcError::NoReply)));
}

#[test]
fn unknown_service_method_and_wrong_type_are_clear_errors() {
    let outcome = Sim::new(1)
        .run(|| async {
            let (_net, ends) = echo_network(1);
            let end = &ends[0];
            (
                end.call::<Nothing>(&1).await,
                end.call::<Shout>(&1).await,
                end.call::<Retyped>(&1).await,
                end.call::<Brittle>(&Fragile).await,
                end.call::<Echo>(&41).await,
            )
        })
        .unwrap();
    let (service, method, wrong, codec, fine) = outcome.value;
    let service = service.unwrap_err();
    assert!(
        matches!(service, RpcError::UnknownService { .. }),
        "{service:?}"
    );
    assert!(service.to_string().contains("Missing.Nothing"), "{service}");
    assert!(service.to_string().contains("it has: Echo"), "{service}");
    let method = method.unwrap_err();
    assert!(
        matches!(method, RpcError::UnknownMethod { .. }),
        "{method:?}"
    );
    assert!(method.to_string().contains("Echo.Shout"), "{method}");
    let wrong = wrong.unwrap_err();
    assert!(matches!(wrong, RpcError::WrongType { .. }), "{wrong:?}");
    assert!(
        wrong.to_string().contains("alloc::string::String"),
        "{wrong}"
    );
    match codec.unwrap_err() {
        RpcError::Codec {
            service: "Echo",
            method: "Brittle",
            side: Side::Server,
            error,
        } => {
            assert!(error.type_name.ends_with("Fragile"), "{error}");
            assert!(error.to_string().contains("never decodes"), "{error}");
        }
        other => panic!("expected a server-side codec error, got {other:?}"),
    }
    assert_eq!(fine, Ok(41), "the server survives bad calls");
}

#[test]
fn deadlock_is_reported_with_waiting_tasks() {
    let failure = Sim::new(9)
        .run(|| async {
            let (_tx, rx) = labrpc::sync::oneshot::channel::<()>();
            let stuck = Node::new("stuck").spawn(rx);
            let _ = stuck.await;
        })
        .unwrap_err();
    let message = failure.error.to_string();
    assert!(
        matches!(failure.error, SimError::Deadlock { .. }),
        "{message}"
    );
    assert!(
        message.contains("task of stuck spawned at labrpc/tests/runtime.rs"),
        "{message}"
    );
}

#[test]
fn panic_names_node_task_and_seed() {
    let failed = labtest::try_run(&Options::default(), 77, |_cx| async {
        Node::new("peer2")
            .spawn(async {
                sim::sleep(Duration::from_millis(5)).await;
                let log: Vec<u64> = Vec::new();
                log[3]
            })
            .await
            .unwrap();
    })
    .expect_err("a panicking node fails the test");
    let message = failed.message;
    assert!(message.contains("seed 77"), "{message}");
    assert!(
        message.contains("node peer2 panicked at labrpc/tests/runtime.rs"),
        "{message}"
    );
    assert!(message.contains("index out of bounds"), "{message}");
    // (A release build's command also says `--release`: no test depends on the profile.)
    for part in [
        "LAB_SEED=77 LAB_SEEDS=1 cargo test -p labrpc ",
        "--test runtime -- --exact panic_names_node_task_and_seed",
    ] {
        assert!(message.contains(part), "{message}");
    }
}

#[test]
fn failed_check_reports_seed_events_and_replay() {
    let failed = labtest::try_run(&Options::default(), 12, |_cx| async {
        let (_net, ends) = echo_network(1);
        sim::note("about to check");
        assert_eq!(ends[0].call::<Echo>(&1).await, Ok(2), "echo must add one");
    })
    .expect_err("a failed check fails the test");
    let message = failed.message;
    assert!(message.contains("FAILED with seed 12"), "{message}");
    assert!(message.contains("echo must add one"), "{message}");
    assert!(
        message.contains("check failed at labrpc/tests/runtime.rs"),
        "{message}"
    );
    assert!(message.contains("note: about to check"), "{message}");
    assert!(
        message.contains("rpc#"),
        "the last events include the RPC: {message}"
    );
}

#[test]
fn time_limit_is_virtual() {
    let options = Options {
        time_limit: Duration::from_secs(30),
        ..Options::default()
    };
    let failed = labtest::try_run(&options, 1, |_cx| async {
        sim::sleep(Duration::from_secs(31)).await;
    })
    .expect_err("past the limit");
    assert!(
        failed.message.contains("limit of 30s of virtual time"),
        "{}",
        failed.message
    );
    // An hour of virtual time costs no real time.
    let passed = labtest::try_run(&Options::default(), 1, |_cx| async {
        for _ in 0..3600 {
            sim::sleep(Duration::from_millis(33)).await;
        }
    })
    .unwrap();
    assert!(passed.report.virtual_time > Duration::from_secs(118));
}

fn short_watchdog() -> Options {
    Options {
        watchdog: Duration::from_millis(300),
        ..Options::default()
    }
}

/// A task that blocks the thread (here with `std::thread::sleep`) is reported by the watchdog
/// with its node and spawn location, instead of hanging the test.
#[test]
fn watchdog_reports_a_blocking_task() {
    let failed = labtest::try_run(&short_watchdog(), 4, |_cx| async {
        Node::new("sleepy")
            .spawn(async {
                sim::sleep(Duration::from_millis(3)).await;
                std::thread::sleep(Duration::from_millis(1500));
            })
            .await
            .unwrap();
    })
    .expect_err("the watchdog must fire");
    let message = failed.message;
    assert!(message.contains("watchdog"), "{message}");
    assert!(
        message.contains("node sleepy (spawned at labrpc/tests/runtime.rs"),
        "{message}"
    );
    assert!(message.contains("without yielding"), "{message}");
    assert!(message.contains("seed 4"), "{message}");
    if cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )) {
        assert!(message.contains("std::thread::sleep"), "{message}");
    }
}

/// A task that locks a mutex whose guard another task holds across an `.await` blocks the
/// thread for good: the report says so (blocked on a lock, the holder suspended at an
/// `.await`, `make lint` finds it), not that a std Mutex is to blame.
#[test]
#[allow(clippy::await_holding_lock)] // the bug this test plants (and `make lint` names)
fn watchdog_names_a_lock_held_across_an_await() {
    let failed = labtest::try_run(&short_watchdog(), 4, |_cx| async {
        let state = std::sync::Arc::new(parking_lot::Mutex::new(0u64));
        let holder = state.clone();
        let node = Node::new("peer");
        node.spawn(async move {
            let mut guard = holder.lock();
            *guard += 1;
            sim::sleep(Duration::from_millis(10)).await;
            *guard += 1;
        });
        node.spawn(async move {
            sim::sleep(Duration::from_millis(3)).await;
            *state.lock() += 1;
        })
        .await
        .unwrap();
    })
    .expect_err("the watchdog must fire");
    let message = failed.message;
    assert!(message.contains("node peer"), "{message}");
    if cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )) {
        assert!(message.contains("blocked waiting for a lock"), "{message}");
        assert!(message.contains("suspended at an .await"), "{message}");
    }
    assert!(message.contains("make lint"), "{message}");
    assert!(!message.contains("std Mutex held"), "{message}");
}

/// Set by a watchdog test once the watchdog has fired, so that the abandoned simulation
/// thread, which spins until then, ends (with a bound in case the watchdog never fires).
/// One per test: the tests run in parallel.
static STOP_BUSY_LOOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static STOP_SPINNING_POLL: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// A task that spins, yielding but never sleeping, freezes virtual time: reported too.
/// (The spin ends only once the watchdog has fired: on a loaded machine the thread may need
/// much more real time than the watchdog's limit to use that much CPU time.)
#[test]
fn watchdog_reports_a_busy_loop() {
    let failed = labtest::try_run(&short_watchdog(), 4, |_cx| async {
        Node::new("spinner")
            .spawn(async {
                let started = std::time::Instant::now();
                while !STOP_BUSY_LOOP.load(Ordering::Relaxed)
                    && started.elapsed() < Duration::from_secs(60)
                {
                    sim::yield_now().await;
                }
            })
            .await
            .unwrap();
    })
    .expect_err("the watchdog must fire");
    STOP_BUSY_LOOP.store(true, Ordering::Relaxed);
    let message = failed.message;
    assert!(
        message.contains("virtual time has stood still"),
        "{message}"
    );
    assert!(message.contains("node spinner"), "{message}");
}

/// A task that spins inside one poll, never yielding, is reported as holding the thread, and
/// the report names the clock the watchdog used.
#[test]
fn watchdog_reports_a_spinning_poll() {
    let failed = labtest::try_run(&short_watchdog(), 5, |_cx| async {
        Node::new("hot")
            .spawn(async {
                sim::sleep(Duration::from_millis(3)).await;
                // Spins until the watchdog has fired (a minute at most: a broken watchdog
                // must not hang the suite).
                let started = std::time::Instant::now();
                while !STOP_SPINNING_POLL.load(Ordering::Relaxed)
                    && started.elapsed() < Duration::from_secs(60)
                {
                    std::hint::spin_loop();
                }
            })
            .await
            .unwrap();
    })
    .expect_err("the watchdog must fire");
    STOP_SPINNING_POLL.store(true, Ordering::Relaxed);
    let message = failed.message;
    assert!(message.contains("without yielding"), "{message}");
    assert!(message.contains("node hot"), "{message}");
    let clock = if cfg!(target_os = "linux") {
        "of the simulation thread's own time"
    } else {
        "of real time"
    };
    assert!(message.contains(clock), "{message}");
}

/// The child half of [`a_stopped_process_is_not_a_stuck_task`]: one poll that spins for
/// a second of real time under a 3-second watchdog. Run alone it simply passes. The parent
/// stops this whole process (`kill -STOP`) for 4 s in the middle of that poll; the poll
/// notices the jump in real time and spins 500 ms more, so the watchdog looks at it several
/// times after the stop: a real-time watchdog would take it for a task stuck for over 4 s.
#[test]
fn starvation_child_one_long_poll() {
    let options = Options {
        watchdog: Duration::from_secs(3),
        ..Options::default()
    };
    let passed = labtest::try_run(&options, 6, |_cx| async {
        Node::new("worker")
            .spawn(async {
                sim::sleep(Duration::from_millis(5)).await;
                {
                    use std::io::Write as _;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "SPINNING {}", std::process::id());
                    let _ = out.flush();
                }
                let started = std::time::Instant::now();
                let (mut last, mut resumed) = (started, None);
                loop {
                    let now = std::time::Instant::now();
                    if now - last > Duration::from_secs(1) {
                        resumed = Some(now);
                    }
                    last = now;
                    let done = match resumed {
                        Some(at) => now - at > Duration::from_millis(500),
                        None => now - started > Duration::from_secs(1),
                    };
                    if done {
                        break;
                    }
                    std::hint::spin_loop();
                }
                sim::sleep(Duration::from_millis(5)).await;
            })
            .await
            .unwrap();
    });
    if let Err(failed) = passed {
        panic!("{}", failed.message);
    }
}

/// A process that the machine starves (here: stopped outright with SIGSTOP for longer than
/// the watchdog's limit, in the middle of a poll) is not reported as a stuck task, because the
/// watchdog counts the simulation thread's own time; [`watchdog_reports_a_spinning_poll`]
/// and [`watchdog_reports_a_blocking_task`] show real stalls are still caught.
#[test]
fn a_stopped_process_is_not_a_stuck_task() {
    use std::io::BufRead as _;
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: the watchdog measures real time on this platform");
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "starvation_child_one_long_poll", "--nocapture"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("re-run this test binary");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let pid = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("SPINNING ").map(str::to_string))
        .expect("the child reaches its long poll");
    let kill = |signal: &str| {
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    };
    // Give the watchdog (which looks every 100 ms) time to see the poll start, then stop
    // the process for longer than the watchdog's limit.
    std::thread::sleep(Duration::from_millis(300));
    kill("-STOP");
    std::thread::sleep(Duration::from_secs(4));
    kill("-CONT");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "a stopped process was taken for a stuck task:\n{}\n{stderr}",
        rest.join("\n")
    );
    assert!(
        rest.iter().any(|l| l.contains("1 passed")),
        "{}",
        rest.join("\n")
    );
}

proptest! {
    /// Whatever bytes arrive, decoding returns an error or a value: it never panics.
    #[test]
    fn codec_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = labrpc::codec::decode::<u64>(&bytes);
        let _ = labrpc::codec::decode::<String>(&bytes);
        let _ = labrpc::codec::decode::<Vec<(u64, String)>>(&bytes);
        let _ = labrpc::codec::decode::<Option<Vec<Vec<u8>>>>(&bytes);
        let _ = labrpc::codec::decode::<(bool, char, f64, i32)>(&bytes);
        let _ = labrpc::codec::decode::<std::collections::BTreeMap<String, u64>>(&bytes);
    }

    /// Values survive the round trip.
    #[test]
    fn codec_round_trips(value in any::<(u64, String, Vec<i32>, Option<bool>)>()) {
        let bytes = labrpc::codec::encode(&value).unwrap();
        prop_assert_eq!(labrpc::codec::decode::<(u64, String, Vec<i32>, Option<bool>)>(&bytes).unwrap(), value);
    }
}

/// Three tasks sleeping until the same instant: the order they run in, and when.
fn same_instant_order(seed: u64) -> (Vec<u32>, Duration) {
    Sim::new(seed)
        .run(|| async {
            let start = sim::now();
            let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let order = order.clone();
                    sim::spawn(async move {
                        sim::sleep(Duration::from_millis(50)).await;
                        order.borrow_mut().push(i);
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            (order.take(), sim::now() - start)
        })
        .unwrap()
        .value
}

#[test]
fn tasks_ready_at_the_same_instant_run_in_a_seeded_order() {
    let orders: std::collections::BTreeSet<Vec<u32>> = (1..=20)
        .map(|seed| {
            let (order, elapsed) = same_instant_order(seed);
            assert_eq!(elapsed, Duration::from_millis(50));
            assert_eq!(order, same_instant_order(seed).0, "same seed, same order");
            order
        })
        .collect();
    assert!(
        orders.len() >= 4,
        "20 seeds should explore most of the 6 orders, got {orders:?}"
    );
}

#[test]
fn timers_intervals_and_timeouts_follow_virtual_time() {
    let outcome = Sim::new(1)
        .run(|| async {
            let start = sim::now();
            // An interval ticks at once, then once per period; a late tick does not bunch up.
            let mut ticker = sim::interval(Duration::from_millis(100));
            let first = ticker.tick().await;
            let second = ticker.tick().await;
            assert_eq!(second - first, Duration::from_millis(100));
            sim::sleep(Duration::from_millis(350)).await;
            ticker.tick().await; // overdue: completes at once
            let woke = sim::now();
            let next = ticker.tick().await;
            assert_eq!(next - woke, Duration::from_millis(100));
            // Timeouts.
            let slow =
                sim::timeout(Duration::from_secs(1), sim::sleep(Duration::from_secs(2))).await;
            assert_eq!(slow, Err(sim::Elapsed));
            let fast = sim::timeout(Duration::from_secs(1), async { 5 }).await;
            assert_eq!(fast, Ok(5));
            sim::now() - start
        })
        .unwrap();
    assert_eq!(outcome.value, Duration::from_millis(100 + 350 + 100 + 1000));
}

#[test]
fn a_node_can_crash_itself_and_restart_with_a_fresh_random_stream() {
    use labrpc::rand::RngExt;
    let outcome = Sim::new(3)
        .run(|| async {
            let node = Node::new("worker");
            let draw = || node.spawn(async { sim::rng().random_range(0..u64::MAX) });
            let before = draw().await.unwrap();
            let suicide = node.spawn(async {
                sim::sleep(Duration::from_millis(1)).await;
                Node::current().crash();
                // Never reached: the task stops with its node.
                sim::sleep(Duration::from_millis(1)).await;
                unreachable!("a crashed node's task ran on");
            });
            assert_eq!(suicide.await, Err(sim::JoinError::Cancelled));
            assert!(!node.is_up());
            node.restart();
            let after = draw().await.unwrap();
            (before, after)
        })
        .unwrap();
    let (before, after) = outcome.value;
    assert_ne!(
        before, after,
        "a restarted node must not replay its old random stream"
    );
}

#[test]
fn a_failure_says_where_each_call_was_headed() {
    // A call from a disabled end goes nowhere: the event line says so, rather than naming a
    // missing server.
    let failed = labtest::try_run(&Options::default(), 5, |_cx| async {
        let (net, ends) = echo_network(2);
        net.set_reliable(false);
        // Until the network loses a request (or its reply).
        while ends[1].call::<Echo>(&1).await.is_ok() {}
        net.set_reliable(true);
        net.enable(0, false);
        let _ = ends[0].call::<Echo>(&1).await;
        net.enable(0, true);
        net.delete_server("server");
        let _ = ends[0].call::<Echo>(&1).await;
        panic!("look at the events");
    })
    .expect_err("the test panics");
    let message = failed.message;
    assert!(
        message.contains("send Echo.Echo -> a server that does not exist"),
        "{message}"
    );
    assert!(
        message.contains("send Echo.Echo from a disconnected end (it goes nowhere)"),
        "{message}"
    );
    assert!(
        message.contains("send Echo.Echo -> server (lost by the network)"),
        "{message}"
    );
    assert!(!message.contains("(no server)"), "{message}");
}
