//! `kvcluster`: a cluster of `kvserver` processes on loopback, for a demo or an experiment.
//!
//! Everything lives in one directory (`--dir`, by default `kvcluster-UID` in the temporary
//! directory): a state file (`cluster.txt`: each server's process id and addresses), each
//! server's data (`server-I/`) and log (`server-I.log`).
//!
//! - `start N` picks 2N free loopback ports, starts N servers (each also answering the Redis
//!   protocol), waits until each answers, and prints where they listen;
//! - `status` shows each server's process and, asked over the Redis protocol, its Raft role
//!   and term;
//! - `kill I` kills server I at once (`SIGKILL`: a crash), `restart I` starts it again from its
//!   files;
//! - `stop` stops them all (`SIGTERM`, then `SIGKILL` after 5 s); their data stays.

use crate::resp::{Reply, RespClient};
use crate::server::parse_address;
use crate::{process_alive, signal};
use clap::{Parser, Subcommand};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `kvcluster`'s command line.
#[derive(Parser, Debug)]
#[command(
    name = "kvcluster",
    about = "Start, watch, crash and stop a cluster of kvserver processes on loopback"
)]
pub struct ClusterArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ClusterCommand,
    /// The cluster's directory: its state file, each server's data and log.
    #[arg(long, global = true, default_value_os_t = default_dir())]
    pub dir: PathBuf,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Start N servers on free loopback ports and print where they listen.
    Start {
        /// Number of servers (3 or 5 make sense: a majority must be up).
        n: usize,
        /// Snapshot once a server's Raft state reaches this many bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_RAFT_STATE)]
        maxraftstate: usize,
    },
    /// Show each server: its process, its Raft role and term.
    Status,
    /// Kill server I at once (SIGKILL), as a crash would.
    Kill {
        /// The server's index.
        i: usize,
    },
    /// Start server I again, from its files.
    Restart {
        /// The server's index.
        i: usize,
    },
    /// Stop every server (their data stays in the directory).
    Stop,
}

/// The snapshot threshold `start` gives servers unless told otherwise.
pub const DEFAULT_MAX_RAFT_STATE: usize = 64 * 1024;

/// How long a starting server may take to answer.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The state file's name in the cluster's directory.
pub const STATE_FILE: &str = "cluster.txt";

/// `kvcluster-UID` in the temporary directory.
pub fn default_dir() -> PathBuf {
    #[cfg(unix)]
    let user = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata("/proc/self").map_or_else(|_| "user".to_string(), |m| m.uid().to_string())
    };
    #[cfg(not(unix))]
    let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".into());
    std::env::temp_dir().join(format!("kvcluster-{user}"))
}

/// One server of the cluster, as the state file records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its process id (0: not running as far as kvcluster knows).
    pub pid: u32,
    /// Its Raft and key/value RPC address.
    pub rpc: SocketAddr,
    /// Its Redis-protocol address.
    pub redis: SocketAddr,
}

/// The cluster, as the state file records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterState {
    /// The snapshot threshold the servers run with.
    pub max_raft_state: usize,
    /// The servers, by index.
    pub members: Vec<Member>,
}

impl ClusterState {
    fn to_text(&self) -> String {
        let mut text = String::from(
            "# kvcluster state: `server INDEX PID RPC-ADDRESS REDIS-ADDRESS` per server (pid 0: \
             not running)\n",
        );
        let _ = writeln!(text, "maxraftstate {}", self.max_raft_state);
        for (i, m) in self.members.iter().enumerate() {
            let _ = writeln!(text, "server {i} {} {} {}", m.pid, m.rpc, m.redis);
        }
        text
    }

    /// Parses a state file (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<ClusterState, String> {
        let bad = |line: usize, why: &str| format!("{}:{line}: {why}", path.display());
        let mut max_raft_state = None;
        let mut members = Vec::new();
        for (number, line) in text.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["maxraftstate", n] => {
                    max_raft_state = Some(
                        n.parse()
                            .map_err(|_| bad(number, "not a number of bytes"))?,
                    );
                }
                ["server", i, pid, rpc, redis] => {
                    if i.parse::<usize>() != Ok(members.len()) {
                        return Err(bad(number, "servers must be listed 0, 1, 2, ... in order"));
                    }
                    members.push(Member {
                        pid: pid.parse().map_err(|_| bad(number, "not a process id"))?,
                        rpc: parse_address(rpc, "rpc address").map_err(|e| bad(number, &e))?,
                        redis: parse_address(redis, "redis address")
                            .map_err(|e| bad(number, &e))?,
                    });
                }
                _ => return Err(bad(number, "not a line kvcluster writes")),
            }
        }
        let max_raft_state = max_raft_state.ok_or_else(|| bad(0, "no maxraftstate line"))?;
        if members.is_empty() {
            return Err(bad(0, "no server lines"));
        }
        Ok(ClusterState {
            max_raft_state,
            members,
        })
    }
}

/// Runs one `kvcluster` command; what it prints goes to standard output.
pub fn run(args: &ClusterArgs) -> Result<(), String> {
    let cluster = Cluster {
        dir: args.dir.clone(),
    };
    match &args.command {
        ClusterCommand::Start { n, maxraftstate } => cluster.start(*n, *maxraftstate),
        ClusterCommand::Status => cluster.status(),
        ClusterCommand::Kill { i } => cluster.kill(*i),
        ClusterCommand::Restart { i } => cluster.restart(*i),
        ClusterCommand::Stop => cluster.stop(),
    }
}

struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    fn load(&self) -> Result<ClusterState, String> {
        let path = self.state_path();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no cluster in {} ({}: {e}): start one with `kvcluster start 3`",
                self.dir.display(),
                path.display()
            )
        })?;
        ClusterState::parse(&text, &path)
    }

    fn save(&self, state: &ClusterState) -> Result<(), String> {
        let path = self.state_path();
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        std::fs::write(&tmp, state.to_text())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("server-{i}"))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("server-{i}.log"))
    }

    fn start(&self, n: usize, max_raft_state: usize) -> Result<(), String> {
        if n == 0 {
            return Err("a cluster needs at least one server".into());
        }
        if max_raft_state == 0 {
            return Err("--maxraftstate must be at least 1 byte".into());
        }
        if let Ok(state) = self.load() {
            let running: Vec<String> = state
                .members
                .iter()
                .filter(|m| m.pid != 0 && process_alive(m.pid))
                .map(|m| m.pid.to_string())
                .collect();
            if !running.is_empty() {
                return Err(format!(
                    "a cluster is running in {} (processes {}): `kvcluster stop` first",
                    self.dir.display(),
                    running.join(", ")
                ));
            }
        }
        let existing = (0..).take_while(|&i| self.data_dir(i).exists()).count();
        if existing != 0 && existing != n {
            return Err(format!(
                "{} holds the data of {existing} servers, not {n}: a Raft group cannot change \
                 size this way (start {existing}, or remove the directory to start afresh)",
                self.dir.display()
            ));
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let ports = free_ports(2 * n)?;
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                pid: 0,
                rpc: SocketAddr::from(([127, 0, 0, 1], ports[2 * i])),
                redis: SocketAddr::from(([127, 0, 0, 1], ports[2 * i + 1])),
            })
            .collect();
        let mut state = ClusterState {
            max_raft_state,
            members,
        };
        for i in 0..n {
            state.members[i].pid = self.spawn(&state, i)?;
            self.save(&state)?;
        }
        for i in 0..n {
            self.wait_until_answering(&state, i)?;
        }
        println!(
            "started {n} servers in {} (snapshots at {max_raft_state} bytes of Raft state):",
            self.dir.display()
        );
        for (i, m) in state.members.iter().enumerate() {
            println!(
                "  server {i}: pid {:<7} Raft on {}  Redis protocol on {}  log {}",
                m.pid,
                m.rpc,
                m.redis,
                self.log_path(i).display()
            );
        }
        let first = &state.members[0].redis;
        println!(
            "try:  redis-cli -p {} SET greeting hello;  redis-cli -p {} GET greeting",
            first.port(),
            state.members[n - 1].redis.port()
        );
        println!(
            "then: kvcluster status;  kvcluster kill I;  kvcluster restart I;  kvcluster stop"
        );
        Ok(())
    }

    /// Starts server `i` of `state`; returns its process id.
    fn spawn(&self, state: &ClusterState, i: usize) -> Result<u32, String> {
        let program = kvserver_program()?;
        let peers: Vec<String> = state.members.iter().map(|m| m.rpc.to_string()).collect();
        let log_path = self.log_path(i);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let child = Command::new(&program)
            .arg("--id")
            .arg(i.to_string())
            .arg("--peers")
            .arg(peers.join(","))
            .arg("--data")
            .arg(self.data_dir(i))
            .arg("--maxraftstate")
            .arg(state.max_raft_state.to_string())
            .arg("--resp")
            .arg(state.members[i].redis.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        Ok(child.id())
    }

    /// Waits until server `i` answers `PING`, or fails with the end of its log.
    fn wait_until_answering(&self, state: &ClusterState, i: usize) -> Result<(), String> {
        let member = &state.members[i];
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if ping(member.redis) {
                return Ok(());
            }
            if !process_alive(member.pid) || Instant::now() > deadline {
                let why = if process_alive(member.pid) {
                    format!("did not answer within {START_DEADLINE:?}")
                } else {
                    "exited".to_string()
                };
                return Err(format!(
                    "server {i} (pid {}) {why}; the end of {}:\n{}",
                    member.pid,
                    self.log_path(i).display(),
                    tail(&self.log_path(i), 10)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn status(&self) -> Result<(), String> {
        let state = self.load()?;
        println!(
            "{:<7} {:<8} {:<9} {:<9} {:<6} {:<22} rpc",
            "server", "pid", "process", "role", "term", "redis"
        );
        for (i, m) in state.members.iter().enumerate() {
            let running = m.pid != 0 && process_alive(m.pid);
            let (role, term) = if running {
                raft_view(m.redis).unwrap_or_else(|| ("silent".into(), "-".into()))
            } else {
                ("-".into(), "-".into())
            };
            let pid = if m.pid == 0 {
                "-".to_string()
            } else {
                m.pid.to_string()
            };
            let process = if running { "running" } else { "stopped" };
            println!(
                "{i:<7} {pid:<8} {process:<9} {role:<9} {term:<6} {:<22} {}",
                m.redis.to_string(),
                m.rpc
            );
        }
        Ok(())
    }

    fn member<'a>(&self, state: &'a mut ClusterState, i: usize) -> Result<&'a mut Member, String> {
        let n = state.members.len();
        state.members.get_mut(i).ok_or_else(|| {
            format!(
                "there is no server {i}: the cluster has servers 0..{}",
                n - 1
            )
        })
    }

    fn kill(&self, i: usize) -> Result<(), String> {
        let mut state = self.load()?;
        let member = self.member(&mut state, i)?;
        if member.pid == 0 || !process_alive(member.pid) {
            return Err(format!("server {i} is not running"));
        }
        let pid = member.pid;
        signal(pid, "KILL")?;
        wait_for_exit(pid, Duration::from_secs(10))?;
        member.pid = 0;
        self.save(&state)?;
        println!("killed server {i} (pid {pid}); `kvcluster restart {i}` starts it again");
        Ok(())
    }

    fn restart(&self, i: usize) -> Result<(), String> {
        let mut state = self.load()?;
        let member = self.member(&mut state, i)?;
        if member.pid != 0 && process_alive(member.pid) {
            return Err(format!(
                "server {i} is running (pid {}): `kvcluster kill {i}` first",
                member.pid
            ));
        }
        let pid = self.spawn(&state, i)?;
        state.members[i].pid = pid;
        self.save(&state)?;
        self.wait_until_answering(&state, i)?;
        println!(
            "restarted server {i} (pid {pid}) from {}",
            self.data_dir(i).display()
        );
        Ok(())
    }

    fn stop(&self) -> Result<(), String> {
        let mut state = self.load()?;
        let mut stopped = 0;
        for m in &mut state.members {
            if m.pid != 0 && process_alive(m.pid) {
                signal(m.pid, "TERM")?;
                if wait_for_exit(m.pid, Duration::from_secs(5)).is_err() {
                    signal(m.pid, "KILL")?;
                    wait_for_exit(m.pid, Duration::from_secs(10))?;
                }
                stopped += 1;
            }
            m.pid = 0;
        }
        self.save(&state)?;
        println!(
            "stopped {stopped} servers; their data stays in {} (remove it to start afresh)",
            self.dir.display()
        );
        Ok(())
    }
}

/// The `kvserver` next to this program (or `$KVSERVER`).
fn kvserver_program() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("KVSERVER") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let path = me.with_file_name(format!("kvserver{}", std::env::consts::EXE_SUFFIX));
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "cannot find kvserver next to kvcluster (at {}): build it with `cargo build -p \
             kvnet`, or set KVSERVER",
            path.display()
        ))
    }
}

/// `n` distinct ports free on loopback right now (the kernel's pick).
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot find free loopback ports: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot find free loopback ports: {e}"))
}

/// True if a server answers `PING` at `address`.
fn ping(address: SocketAddr) -> bool {
    RespClient::connect(address, Duration::from_millis(500))
        .ok()
        .and_then(|mut c| c.command(&["PING"]).ok())
        .is_some_and(|reply| reply == Reply::Status("PONG".into()))
}

/// The Raft role and term a server reports in `INFO`.
fn raft_view(address: SocketAddr) -> Option<(String, String)> {
    let mut client = RespClient::connect(address, Duration::from_secs(1)).ok()?;
    let Reply::Bulk(info) = client.command(&["INFO"]).ok()? else {
        return None;
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::to_string)
    };
    Some((field("raft_role")?, field("raft_term")?))
}

/// Waits until process `pid` is gone.
fn wait_for_exit(pid: u32, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while process_alive(pid) {
        if Instant::now() > deadline {
            return Err(format!("process {pid} did not exit within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The last `lines` lines of a file.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_round_trips_and_bad_ones_are_refused() {
        let state = ClusterState {
            max_raft_state: 4096,
            members: vec![
                Member {
                    pid: 12,
                    rpc: "127.0.0.1:7000".parse().unwrap(),
                    redis: "127.0.0.1:7001".parse().unwrap(),
                },
                Member {
                    pid: 0,
                    rpc: "127.0.0.1:7002".parse().unwrap(),
                    redis: "127.0.0.1:7003".parse().unwrap(),
                },
            ],
        };
        let path = Path::new("cluster.txt");
        assert_eq!(ClusterState::parse(&state.to_text(), path), Ok(state));
        let bad = [
            ("maxraftstate x\n", "not a number"),
            ("maxraftstate 1\nserver 1 5 1:2 3:4\n", "in order"),
            ("maxraftstate 1\nserver 0 5 nowhere 3\n", "not HOST:PORT"),
            ("maxraftstate 1\nhello\n", "not a line kvcluster writes"),
            ("server 0 5 127.0.0.1:1 127.0.0.1:2\n", "no maxraftstate"),
        ];
        for (text, expected) in bad {
            let error = ClusterState::parse(text, path).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
