//! A cluster of `kvserver` processes for the tests: free loopback ports, a directory of its own,
//! each server's output in a log file. Dropping it kills every process; if the test failed,
//! the directory stays and the end of each server's log is printed.
//!
//! Every wait is a generous deadline against a hang, never a measure of speed.

use kvnet::resp::{Reply, RespClient};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const KVSERVER: &str = env!("CARGO_BIN_EXE_kvserver");
pub const KVCLUSTER: &str = env!("CARGO_BIN_EXE_kvcluster");

/// How long a server may take to answer after it starts (a loaded CI machine is slow).
pub const START_DEADLINE: Duration = Duration::from_secs(60);

/// How long one operation may take before a test calls it a hang.
pub const OPERATION_DEADLINE: Duration = Duration::from_secs(60);

/// A fresh directory for a test, under the system's temporary directory.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvnet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// `n` ports free on loopback right now.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

pub struct TestCluster {
    pub dir: PathBuf,
    pub rpc: Vec<SocketAddr>,
    pub redis: Vec<SocketAddr>,
    max_raft_state: Option<usize>,
    children: Vec<Option<Child>>,
}

impl TestCluster {
    /// Starts `n` servers and waits until each answers.
    pub fn start(name: &str, n: usize, max_raft_state: Option<usize>) -> TestCluster {
        let dir = test_dir(name);
        let ports = free_ports(2 * n);
        let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let mut cluster = TestCluster {
            dir,
            rpc: (0..n).map(|i| loopback(ports[2 * i])).collect(),
            redis: (0..n).map(|i| loopback(ports[2 * i + 1])).collect(),
            max_raft_state,
            children: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        for i in 0..n {
            cluster.wait_until_answering(i);
        }
        cluster
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("server-{i}"))
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("server-{i}.log"))
    }

    /// The `kvserver` command line of server `i`.
    pub fn command(&self, i: usize, data: &Path) -> Command {
        let peers: Vec<String> = self.rpc.iter().map(|a| a.to_string()).collect();
        let mut command = Command::new(KVSERVER);
        command
            .arg("--id")
            .arg(i.to_string())
            .arg("--peers")
            .arg(peers.join(","))
            .arg("--data")
            .arg(data)
            .arg("--resp")
            .arg(self.redis[i].to_string());
        if let Some(max) = self.max_raft_state {
            command.arg("--maxraftstate").arg(max.to_string());
        }
        command
    }

    /// Starts server `i` (from its data directory), without waiting for it.
    pub fn spawn(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "server {i} is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .expect("open the server's log");
        let child = self
            .command(i, &self.data_dir(i))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone a file handle"))
            .stderr(log)
            .spawn()
            .expect("start kvserver");
        self.children[i] = Some(child);
    }

    /// Starts server `i` again and waits until it answers.
    pub fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_until_answering(i);
    }

    pub fn pid(&self, i: usize) -> u32 {
        self.children[i].as_ref().expect("server is running").id()
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    /// Waits until server `i` answers `PING`, or fails the test with its log.
    pub fn wait_until_answering(&mut self, i: usize) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let answered = RespClient::connect(self.redis[i], Duration::from_secs(2))
                .ok()
                .and_then(|mut c| c.command(&["PING"]).ok());
            if answered == Some(Reply::Status("PONG".into())) {
                return;
            }
            let exited = self.children[i]
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "server {i} {} (exit status {exited:?}); its log:\n{}",
                if exited.is_some() {
                    "exited"
                } else {
                    "did not answer in time"
                },
                self.log_tail(i)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills server `i` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops (`STOP`) or continues (`CONT`) server `i`'s process.
    pub fn signal(&self, i: usize, name: &str) {
        kvnet::signal(self.pid(i), name).expect("signal the server");
    }

    /// Who each running server says leads (asked over the Redis protocol).
    pub fn leaders(&self) -> Vec<usize> {
        (0..self.redis.len())
            .filter(|&i| self.is_running(i))
            .filter(|&i| info_field(self.redis[i], "raft_role").as_deref() == Some("leader"))
            .collect()
    }

    /// Waits until exactly one running server says it leads.
    pub fn wait_for_leader(&self) -> usize {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let [leader] = self.leaders()[..] {
                return leader;
            }
            assert!(
                Instant::now() < deadline,
                "no leader within {START_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client of server `i`'s Redis front end.
    pub fn client(&self, i: usize) -> RespClient {
        RespClient::connect(self.redis[i], OPERATION_DEADLINE).expect("connect to the server")
    }

    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            if let Some(child) = &self.children[i] {
                // A stopped process must be continued to die promptly on some systems.
                let _ = kvnet::signal(child.id(), "CONT");
            }
            self.kill(i);
        }
        if std::thread::panicking() {
            for i in 0..self.children.len() {
                eprintln!(
                    "---- the end of server {i}'s log ----\n{}",
                    self.log_tail(i)
                );
            }
            eprintln!("(the cluster's files stay in {})", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A field of a server's `INFO` answer.
pub fn info_field(address: SocketAddr, name: &str) -> Option<String> {
    let mut client = RespClient::connect(address, Duration::from_secs(5)).ok()?;
    let Reply::Bulk(info) = client.command(&["INFO"]).ok()? else {
        return None;
    };
    String::from_utf8_lossy(&info).lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(':')
            .map(|v| v.trim().to_string())
    })
}

/// The bulk string a reply holds, or a panic saying what came instead.
pub fn bulk(reply: Reply) -> String {
    match reply {
        Reply::Bulk(bytes) => String::from_utf8(bytes).expect("UTF-8"),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}
