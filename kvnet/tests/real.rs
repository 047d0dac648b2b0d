//! The key/value service for real: `kvserver` processes on loopback, driven through the Redis
//! protocol (the real `redis-cli` where it is installed, and a small client of our own), with
//! crashes (`SIGKILL`), stalls (`SIGSTOP`/`SIGCONT`), restarts from files, and damaged files.
//!
//! Runs are not deterministic (real processes, real time). Every real-time wait is a generous
//! deadline against a hang, never a measure of speed.

mod cluster;

use cluster::{KVCLUSTER, KVSERVER, OPERATION_DEADLINE, TestCluster, bulk, info_field, test_dir};
use kvnet::resp::{Reply, RespClient};
use labtest::linearizability::models::{KvInput, KvModel, KvOutput};
use labtest::linearizability::{Options, Recorder, Verdict, check};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---- redis-cli ----

/// True if `redis-cli` runs here; otherwise prints why the test is skipped.
fn redis_cli_installed(test: &str) -> bool {
    let found = Command::new("redis-cli")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        // Past the test harness's output capture (which only takes print!): a skip must be
        // seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "NOTE: redis-cli is not installed: {test} was SKIPPED (Debian: apt-get install \
             redis-tools; .ci/install-redis-tools does it)"
        );
    }
    found
}

/// Runs a command, failing the test if it has not finished within the deadline.
fn run_with_deadline(command: &mut Command, what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let deadline = Instant::now() + OPERATION_DEADLINE;
    while child.try_wait().expect("wait for a child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within {OPERATION_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect a child's output")
}

/// `redis-cli -p PORT ARGS...`: what it prints, trimmed.
fn redis_cli(cluster: &TestCluster, server: usize, args: &[&str]) -> String {
    let port = cluster.redis[server].port().to_string();
    let output = run_with_deadline(
        Command::new("redis-cli").args(["-p", &port]).args(args),
        &format!("redis-cli {}", args.join(" ")),
    );
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        output.status.success(),
        "redis-cli {args:?} failed: {text} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

#[test]
fn redis_cli_through_a_cluster_that_loses_its_leader() {
    labtest::run_real(|| {
        if !redis_cli_installed("redis_cli_through_a_cluster_that_loses_its_leader") {
            return;
        }
        // A small snapshot threshold: the restarted server also restores a snapshot from its
        // files, and may catch up through InstallSnapshot.
        let mut cluster = TestCluster::start("redis-cli", 3, Some(1000));
        assert_eq!(redis_cli(&cluster, 0, &["PING"]), "PONG");
        assert_eq!(redis_cli(&cluster, 0, &["SET", "greeting", "hello"]), "OK");
        assert_eq!(redis_cli(&cluster, 1, &["GET", "greeting"]), "hello");
        assert_eq!(
            redis_cli(&cluster, 2, &["APPEND", "greeting", ", world"]),
            "OK"
        );
        assert_eq!(redis_cli(&cluster, 0, &["GET", "greeting"]), "hello, world");
        assert_eq!(redis_cli(&cluster, 0, &["GET", "never-set"]), "");
        assert!(redis_cli(&cluster, 1, &["DEL", "greeting"]).contains("no delete operation"));
        assert!(redis_cli(&cluster, 1, &["HSET", "h", "f", "v"]).contains("unknown command"));
        assert!(redis_cli(&cluster, 2, &["INFO"]).contains("raft_role:"));

        let leader = cluster.wait_for_leader();
        let survivor = (leader + 1) % 3;
        let other = (leader + 2) % 3;
        let mut client = cluster.client(survivor);
        for i in 0..30 {
            let reply = client.command(&["SET", &format!("before-{i}"), &format!("value {i}")]);
            assert_eq!(reply.unwrap(), Reply::ok());
        }

        // kill -9 the leader: the others elect a new one and keep serving.
        cluster.kill(leader);
        assert_eq!(
            redis_cli(&cluster, survivor, &["SET", "after-crash", "still here"]),
            "OK"
        );
        assert_eq!(
            redis_cli(&cluster, other, &["GET", "greeting"]),
            "hello, world"
        );
        for i in 0..30 {
            let reply = client.command(&["APPEND", "missed", &format!("[{i}]")]);
            assert_eq!(reply.unwrap(), Reply::ok());
        }

        // Restart it from its files; then stop another, so that nothing commits without it.
        cluster.restart(leader);
        let log = cluster.log(leader);
        let restored = log.lines().rfind(|l| l.contains("restored"));
        assert!(
            restored.is_some_and(|line| !line.contains("(0 bytes of Raft state")),
            "the restarted server read nothing from its files:\n{log}"
        );
        cluster.kill(other);
        assert_eq!(
            redis_cli(&cluster, leader, &["SET", "majority", "needs it"]),
            "OK"
        );
        assert_eq!(
            redis_cli(&cluster, leader, &["GET", "after-crash"]),
            "still here"
        );
        let missed: String = (0..30).map(|i| format!("[{i}]")).collect();
        assert_eq!(redis_cli(&cluster, leader, &["GET", "missed"]), missed);

        // Every server down at once, then up again: everything comes back from the files.
        cluster.restart(other);
        for i in 0..3 {
            cluster.kill(i);
        }
        for i in 0..3 {
            cluster.spawn(i);
        }
        for i in 0..3 {
            cluster.wait_until_answering(i);
        }
        assert_eq!(redis_cli(&cluster, 2, &["GET", "greeting"]), "hello, world");
        assert_eq!(redis_cli(&cluster, 0, &["GET", "before-29"]), "value 29");
        assert_eq!(redis_cli(&cluster, 1, &["GET", "missed"]), missed);
        assert_eq!(redis_cli(&cluster, 1, &["GET", "majority"]), "needs it");
    });
}

// ---- faults and linearizability ----

/// A small generator for the fault schedule (seeded from the clock: runs differ anyway).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

/// One client's connection, remade at another server after a failure.
struct FaultyClient {
    redis: Vec<std::net::SocketAddr>,
    next: usize,
    connection: Option<RespClient>,
}

impl FaultyClient {
    /// Runs one command; `None` if its outcome is unknown (the connection failed).
    fn command(&mut self, args: &[&str]) -> Option<Reply> {
        if self.connection.is_none() {
            let address = self.redis[self.next % self.redis.len()];
            self.next += 1;
            self.connection = RespClient::connect(address, Duration::from_secs(20)).ok();
        }
        let reply = self.connection.as_mut()?.command(args);
        match reply {
            Ok(reply @ (Reply::Status(_) | Reply::Bulk(_))) => Some(reply),
            _ => {
                self.connection = None;
                None
            }
        }
    }
}

const CLIENTS: u64 = 4;

/// The key of client `c`'s appends.
fn own_key(c: u64) -> String {
    format!("client-{c}")
}

#[test]
fn faults_keep_every_acknowledged_write_and_the_history_linearizable() {
    labtest::run_real(|| {
        let mut cluster = TestCluster::start("faults", 3, Some(4096));
        cluster.wait_for_leader();
        let started = Instant::now();
        let now = move || started.elapsed().as_nanos() as u64;
        let recorder: Recorder<KvInput, KvOutput> = Recorder::new();
        let stop = Arc::new(AtomicBool::new(false));
        // Acknowledged and unknown appends, per key.
        type Appends = BTreeMap<String, (Vec<String>, Vec<String>)>;
        let clients: Vec<std::thread::JoinHandle<Appends>> = (0..CLIENTS)
            .map(|c| {
                let recorder = recorder.clone();
                let stop = stop.clone();
                let mut client = FaultyClient {
                    redis: cluster.redis.clone(),
                    next: c as usize,
                    connection: None,
                };
                std::thread::spawn(move || {
                    let mut appends = Appends::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Acquire) {
                        n += 1;
                        let (input, args): (KvInput, Vec<String>) = match n % 5 {
                            0 | 2 => {
                                let (key, value) = (own_key(c), format!("[{c}.{n}]"));
                                let args = vec!["APPEND".into(), key.clone(), value.clone()];
                                (KvInput::Append { key, value }, args)
                            }
                            // Reads between the appends to the shared key: without them the
                            // checker could only order the appends by the final read, which takes
                            // it exponential time.
                            4 if n % 10 == 4 => {
                                let (key, value) = ("shared".to_string(), format!("<{c}.{n}>"));
                                let args = vec!["APPEND".into(), key.clone(), value.clone()];
                                (KvInput::Append { key, value }, args)
                            }
                            4 => {
                                let key = "shared".to_string();
                                (KvInput::Get { key: key.clone() }, vec!["GET".into(), key])
                            }
                            1 => {
                                let key = own_key(c);
                                (KvInput::Get { key: key.clone() }, vec!["GET".into(), key])
                            }
                            _ => {
                                let key = own_key((c + 1) % CLIENTS);
                                (KvInput::Get { key: key.clone() }, vec!["GET".into(), key])
                            }
                        };
                        let ticket = recorder.call(c, input.clone(), now());
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        let reply = client.command(&args);
                        let KvInput::Append { key, value } = &input else {
                            match reply {
                                Some(Reply::Bulk(bytes)) => {
                                    let value = String::from_utf8(bytes).expect("UTF-8");
                                    recorder.ret(ticket, KvOutput { value }, now());
                                }
                                // A read whose answer never came constrains nothing.
                                _ => recorder.unknown(ticket),
                            }
                            continue;
                        };
                        let entry = appends.entry(key.clone()).or_default();
                        if reply.is_some() {
                            recorder.ret(ticket, KvOutput::default(), now());
                            entry.0.push(value.clone());
                        } else {
                            recorder.unknown(ticket);
                            entry.1.push(value.clone());
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    appends
                })
            })
            .collect();

        // The fault script: one server at a time is killed and restarted, or stopped and
        // continued, for a few seconds.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        let mut dice = Dice(seed);
        let mut script = vec![format!("fault schedule seed {seed}")];
        let faults_end = Instant::now() + Duration::from_secs(8);
        while Instant::now() < faults_end {
            std::thread::sleep(dice.millis(200, 700));
            let victim = dice.below(3) as usize;
            if dice.below(2) == 0 {
                script.push(format!("{:?}: kill -9 server {victim}", started.elapsed()));
                cluster.kill(victim);
                std::thread::sleep(dice.millis(300, 1200));
                script.push(format!("{:?}: restart server {victim}", started.elapsed()));
                cluster.restart(victim);
            } else {
                script.push(format!("{:?}: SIGSTOP server {victim}", started.elapsed()));
                cluster.signal(victim, "STOP");
                std::thread::sleep(dice.millis(300, 1500));
                script.push(format!("{:?}: SIGCONT server {victim}", started.elapsed()));
                cluster.signal(victim, "CONT");
            }
        }
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Release);
        let mut appends = Appends::new();
        for client in clients {
            for (key, (acked, unknown)) in client.join().expect("a client thread") {
                let entry = appends.entry(key).or_default();
                entry.0.extend(acked);
                entry.1.extend(unknown);
            }
        }
        let script = script.join("\n  ");

        // Every server is up: read every key (these reads go into the history too).
        let mut reader = FaultyClient {
            redis: cluster.redis.clone(),
            next: 0,
            connection: None,
        };
        let mut finals = BTreeMap::new();
        for key in appends.keys() {
            let deadline = Instant::now() + OPERATION_DEADLINE;
            loop {
                let ticket = recorder.call(CLIENTS, KvInput::Get { key: key.clone() }, now());
                if let Some(Reply::Bulk(bytes)) = reader.command(&["GET", key]) {
                    let value = String::from_utf8(bytes).expect("UTF-8");
                    recorder.ret(
                        ticket,
                        KvOutput {
                            value: value.clone(),
                        },
                        now(),
                    );
                    finals.insert(key.clone(), value);
                    break;
                }
                recorder.unknown(ticket);
                assert!(
                    Instant::now() < deadline,
                    "cannot read {key} after the faults\n  {script}"
                );
            }
        }

        // Nothing acknowledged is lost, nothing is applied twice, each client's appends in order.
        let mut acknowledged = 0;
        for (key, (acked, unknown)) in &appends {
            let value = &finals[key];
            let mut last = 0;
            for token in acked {
                let found: Vec<usize> = value
                    .match_indices(token.as_str())
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(
                    found.len(),
                    1,
                    "acknowledged append {token} to {key} appears {} times in {value:?}\n  {script}",
                    found.len()
                );
                if key != "shared" {
                    assert!(
                        found[0] >= last,
                        "{key}: {token} out of order in {value:?}\n  {script}"
                    );
                    last = found[0];
                }
            }
            for token in unknown {
                assert!(
                    value.matches(token.as_str()).count() <= 1,
                    "{token} applied twice in {key}: {value:?}\n  {script}"
                );
            }
            acknowledged += acked.len();
        }
        assert!(acknowledged > 0, "no write was acknowledged\n  {script}");

        let history = recorder.history().expect("every operation finished");
        let operations = history.len();
        let unknown = history
            .operations()
            .iter()
            .filter(|op| !op.is_completed())
            .count();
        let options = Options::with_timeout(Duration::from_secs(60));
        let result = check(&KvModel, &history, &options);
        let partitions: Vec<String> = result
            .partitions
            .iter()
            .map(|p| {
                let key = history.operations()[p.ops[0]].input.key();
                format!("{key}: {} operations, {}", p.ops.len(), p.verdict())
            })
            .collect();
        assert_eq!(
            result.verdict,
            Verdict::Linearizable,
            "the history of {operations} operations ({unknown} of unknown outcome) is not \
             linearizable: {}\n  {script}",
            partitions.join("; ")
        );
        println!(
            "{operations} operations ({acknowledged} acknowledged appends) through these faults, \
             linearizable:\n  {script}"
        );
    });
}

// ---- damaged files ----

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn snapshot_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("snapshot-"))
        })
        .expect("a snapshot file")
}

#[test]
fn corrupt_and_truncated_files_are_refused_by_name() {
    labtest::run_real(|| {
        // One server is a majority by itself; a tiny threshold makes it snapshot.
        let mut cluster = TestCluster::start("damaged", 1, Some(300));
        let mut client = cluster.client(0);
        for i in 0..40 {
            let reply = client.command(&["SET", &format!("key-{i}"), &format!("value-{i}")]);
            assert_eq!(reply.unwrap(), Reply::ok());
        }
        drop(client);
        cluster.kill(0);
        let data = cluster.data_dir(0);
        let truncate = |path: PathBuf| {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
            path
        };
        let flip = |path: PathBuf| {
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() - 3;
            bytes[at] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
            path
        };
        type Damage<'a> = Box<dyn Fn(&Path) -> (PathBuf, &'static str) + 'a>;
        let cases: Vec<(&str, Damage)> = vec![
            (
                "torn-state",
                Box::new(|d| (truncate(d.join("raft-state")), "truncated")),
            ),
            (
                "flipped-state",
                Box::new(|d| (flip(d.join("raft-state")), "checksum")),
            ),
            (
                "torn-snapshot",
                Box::new(|d| (truncate(snapshot_file(d)), "truncated")),
            ),
            (
                "flipped-snapshot",
                Box::new(|d| (flip(snapshot_file(d)), "checksum")),
            ),
            (
                "missing-snapshot",
                Box::new(|d| {
                    let path = snapshot_file(d);
                    std::fs::remove_file(&path).unwrap();
                    (path, "missing")
                }),
            ),
        ];
        for (name, damage) in &cases {
            let copy = cluster.dir.join(name);
            copy_dir(&data, &copy);
            let (path, problem) = damage(&copy);
            let output = run_with_deadline(
                &mut cluster.command(0, &copy),
                &format!("kvserver on {name}"),
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
            assert!(
                stderr.contains(&path.display().to_string())
                    && stderr.contains(problem)
                    && stderr.contains("refusing to start"),
                "{name}: expected {problem:?} naming {}, got: {stderr}",
                path.display()
            );
        }
        // The undamaged files still start, with everything acknowledged before the crash: a lone
        // server's replies wait for its disk.
        cluster.restart(0);
        let mut client = cluster.client(0);
        for i in 0..40 {
            let value = bulk(client.command(&["GET", &format!("key-{i}")]).unwrap());
            assert_eq!(value, format!("value-{i}"));
        }
    });
}

// ---- the Redis front end ----

#[test]
fn the_redis_front_end_answers_bad_clients_and_keeps_serving() {
    labtest::run_real(|| {
        let cluster = TestCluster::start("front-end", 1, None);
        let mut good = cluster.client(0);
        assert_eq!(good.command(&["SET", "k", "v"]).unwrap(), Reply::ok());

        let error_then_closed = |bytes: &[u8], expected: &str| {
            let mut bad = cluster.client(0);
            bad.send_raw(bytes).unwrap();
            match bad.read_reply() {
                Ok(Reply::Error(message)) => {
                    assert!(message.contains(expected), "{message}");
                }
                other => panic!("expected an error for {bytes:?}, got {other:?}"),
            }
            assert!(bad.read_reply().is_err(), "the connection was not closed");
        };
        error_then_closed(b"*1\r\n$999999999\r\n", "over the limit");
        error_then_closed(b"*x\r\n", "Protocol error: invalid multibulk length");
        error_then_closed(b"*2\r\n+OK\r\n", "expected '$'");
        error_then_closed(&[b'a'; 100_000], "longer than");

        // Errors that keep the connection open.
        let mut client = cluster.client(0);
        let error = |reply| match reply {
            Reply::Error(message) => message,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(error(client.command(&["FLUSHALL"]).unwrap()).contains("unknown command"));
        assert!(error(client.command(&["DEL", "k"]).unwrap()).contains("no delete"));
        assert!(error(client.command(&["SET", "k", "v", "EX", "5"]).unwrap()).contains("options"));
        assert!(error(client.command(&["GET"]).unwrap()).contains("wrong number of arguments"));
        client
            .send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\xff\xfe\r\n")
            .unwrap();
        assert!(error(client.read_reply().unwrap()).contains("UTF-8"));
        // Pipelined commands, and an inline one.
        client
            .send_raw(
                b"*3\r\n$6\r\nAPPEND\r\n$1\r\nk\r\n$1\r\n2\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            )
            .unwrap();
        assert_eq!(client.read_reply().unwrap(), Reply::ok());
        assert_eq!(client.read_reply().unwrap(), Reply::Status("PONG".into()));
        assert_eq!(bulk(client.read_reply().unwrap()), "v2");
        assert_eq!(client.command(&["QUIT"]).unwrap(), Reply::ok());
        assert!(client.read_reply().is_err(), "QUIT closes the connection");

        // The first client never noticed.
        assert_eq!(bulk(good.command(&["GET", "k"]).unwrap()), "v2");
        assert_eq!(
            info_field(cluster.redis[0], "raft_role").as_deref(),
            Some("leader")
        );
    });
}

// ---- the programs' command lines ----

#[test]
fn kvserver_refuses_bad_command_lines_with_a_reason() {
    labtest::run_real(|| {
        let cases: [(&[&str], &str); 4] = [
            (&["--id", "3", "--peers", "7000,7001"], "not an index"),
            (&["--id", "0", "--peers", "7000,7000"], "same address"),
            (&["--id", "0", "--peers", "10.9.8.7:7000"], "--bind"),
            (&["--id", "0"], "--peers"),
        ];
        for (args, expected) in cases {
            let output = run_with_deadline(Command::new(KVSERVER).args(args), "kvserver");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
        }
    });
}

/// Runs `kvcluster ARGS --dir DIR`.
fn kvcluster(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = run_with_deadline(
        Command::new(KVCLUSTER).args(args).arg("--dir").arg(dir),
        &format!("kvcluster {}", args.join(" ")),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Stops the cluster of a directory when dropped (a failed test leaves no processes behind).
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = kvcluster(&self.0, &["stop"]);
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn kvcluster_starts_reports_kills_restarts_and_stops() {
    labtest::run_real(|| {
        let dir = test_dir("kvcluster");
        let (ok, text) = kvcluster(&dir, &["status"]);
        assert!(!ok && text.contains("start one with"), "{text}");
        let _guard = StopOnDrop(dir.clone());
        let (ok, text) = kvcluster(&dir, &["start", "3", "--maxraftstate", "4096"]);
        assert!(ok && text.contains("started 3 servers"), "{text}");
        let deadline = Instant::now() + cluster::START_DEADLINE;
        loop {
            let (ok, text) = kvcluster(&dir, &["status"]);
            assert!(ok, "{text}");
            if text.matches(" leader ").count() == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "no leader:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let (ok, text) = kvcluster(&dir, &["start", "3"]);
        assert!(!ok && text.contains("a cluster is running"), "{text}");
        let (ok, text) = kvcluster(&dir, &["kill", "1"]);
        assert!(ok && text.contains("killed server 1"), "{text}");
        let (_, text) = kvcluster(&dir, &["status"]);
        let line = text
            .lines()
            .find(|l| l.starts_with("1 "))
            .unwrap_or_default();
        assert!(line.contains("stopped"), "{text}");
        let (ok, text) = kvcluster(&dir, &["kill", "7"]);
        assert!(!ok && text.contains("no server 7"), "{text}");
        let (ok, text) = kvcluster(&dir, &["restart", "1"]);
        assert!(ok && text.contains("restarted server 1"), "{text}");
        let (ok, text) = kvcluster(&dir, &["stop"]);
        assert!(ok && text.contains("stopped 3 servers"), "{text}");
        let (_, text) = kvcluster(&dir, &["status"]);
        assert_eq!(text.matches("stopped").count(), 3, "{text}");
        let (ok, text) = kvcluster(&dir, &["start", "5"]);
        assert!(
            !ok && text.contains("holds the data of 3 servers"),
            "{text}"
        );
    });
}
