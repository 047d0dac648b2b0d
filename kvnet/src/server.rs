//! One key/value server as a process: the lab's [`KvServer`] (and the Raft peer inside it),
//! unchanged, on the real-clock executor, talking to its peers over TCP, keeping its state in
//! files, and (optionally) answering the Redis protocol.

use crate::resp;
use clap::Parser;
use kvraft::KvServer;
use labrpc::sim::{self, Node, RealClock};
use labrpc::{ClientEnd, Persister};
use realproc::{Address, Files, Gate, ReplyDurability};
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `kvserver`'s command line.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "kvserver",
    about = "One server of the Lab 4 key/value service (your kvraft and raft code, unchanged) \
             as a process, talking to its peers over TCP",
    after_help = "Addresses are HOST:PORT, or a bare PORT for 127.0.0.1:PORT. Every server gets \
                  the same --peers list, in the same order; --id says which one it is. By \
                  default a server listens on loopback only."
)]
pub struct ServerArgs {
    /// This server's index in --peers (0, 1, ...).
    #[arg(long)]
    pub id: usize,
    /// Every server's Raft/key-value RPC address, comma separated, the same list for all.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<String>,
    /// Where to keep Raft's state and snapshot (created if missing). Without it, state is kept
    /// in memory and a restarted server starts empty.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Snapshot once Raft's persisted state reaches this many bytes (omit: never snapshot).
    #[arg(long)]
    pub maxraftstate: Option<usize>,
    /// Also answer the Redis protocol here (PORT or HOST:PORT).
    #[arg(long)]
    pub resp: Option<String>,
    /// Listen for RPCs here instead of at this server's --peers address (needed to listen on
    /// anything but loopback, e.g. --bind 0.0.0.0:7000).
    #[arg(long)]
    pub bind: Option<String>,
}

/// A checked configuration of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// This server's index in `peers`.
    pub id: usize,
    /// Every server's RPC address.
    pub peers: Vec<SocketAddr>,
    /// Where this server listens for RPCs.
    pub bind: SocketAddr,
    /// Where its files are (`None`: in memory).
    pub data: Option<PathBuf>,
    /// Snapshot threshold in bytes (`None`: never).
    pub max_raft_state: Option<usize>,
    /// Where it answers the Redis protocol, if anywhere.
    pub resp: Option<SocketAddr>,
}

/// Parses `HOST:PORT`, `tcp:HOST:PORT` or a bare `PORT` (meaning `127.0.0.1:PORT`).
pub fn parse_address(text: &str, what: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    let text = text.strip_prefix("tcp:").unwrap_or(text);
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let resolved = text
        .to_socket_addrs()
        .map_err(|e| format!("{what}: {text:?} is not HOST:PORT or PORT ({e})"))?;
    let all: Vec<SocketAddr> = resolved.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| format!("{what}: {text:?} resolves to no address"))
}

impl ServerConfig {
    /// Checks the command line: addresses that parse, an id in range, no server twice, and
    /// loopback unless `--bind` says otherwise.
    pub fn from_args(args: &ServerArgs) -> Result<ServerConfig, String> {
        let peers = args
            .peers
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| parse_address(p, "--peers"))
            .collect::<Result<Vec<_>, _>>()?;
        if peers.is_empty() {
            return Err("--peers: no address given".into());
        }
        for (i, peer) in peers.iter().enumerate() {
            if let Some(j) = peers[..i].iter().position(|p| p == peer) {
                return Err(format!(
                    "--peers: servers {j} and {i} have the same address {peer}"
                ));
            }
        }
        let Some(&own) = peers.get(args.id) else {
            return Err(format!(
                "--id {} is not an index into --peers, which has {} addresses (0..{})",
                args.id,
                peers.len(),
                peers.len() - 1
            ));
        };
        let bind = match &args.bind {
            Some(bind) => parse_address(bind, "--bind")?,
            None if own.ip().is_loopback() => own,
            None => {
                return Err(format!(
                    "this server's address in --peers, {own}, is not a loopback address: \
                     kvserver listens on loopback unless told otherwise; pass --bind {own} (or \
                     --bind 0.0.0.0:{}) to listen on the network",
                    own.port()
                ));
            }
        };
        if bind.port() != own.port() {
            return Err(format!(
                "--bind {bind} and this server's --peers address {own} have different ports: \
                 the other servers would not reach it"
            ));
        }
        if args.maxraftstate == Some(0) {
            return Err(
                "--maxraftstate 0 would snapshot after every command; omit the option to never \
                 snapshot"
                    .into(),
            );
        }
        let resp = args
            .resp
            .as_deref()
            .map(|r| parse_address(r, "--resp"))
            .transpose()?;
        if resp.is_some_and(|r| peers.contains(&r) || r == bind) {
            return Err("--resp must be another port than the servers' RPC ports".into());
        }
        Ok(ServerConfig {
            id: args.id,
            peers,
            bind,
            data: args.data.clone(),
            max_raft_state: args.maxraftstate,
            resp,
        })
    }
}

/// Prints a line about the server to standard output at once (tools wait for them).
fn say(id: usize, line: impl std::fmt::Display) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "kvserver {id}: {line}");
    let _ = out.flush();
}

/// Runs the server until it fails. Prints where it listens, then `ready`, on standard output.
pub fn run(config: &ServerConfig) -> Result<(), String> {
    let _lock = config.data.as_deref().map(DataLock::acquire).transpose()?;
    let (persister, gate) = match &config.data {
        Some(dir) => {
            let files = Files::open(dir).map_err(|e| e.to_string())?;
            let persister = files.persister();
            say(
                config.id,
                format!(
                    "data in {} ({} bytes of Raft state, {} bytes of snapshot restored)",
                    dir.display(),
                    persister.raft_state_size(),
                    persister.snapshot_size()
                ),
            );
            (persister, files.gate())
        }
        None => {
            say(
                config.id,
                "no --data: state is kept in memory only (a restarted server starts empty, \
                 which Raft does not allow; use --data for anything but a quick look)",
            );
            (Persister::new(), Gate::none())
        }
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = nanos ^ u64::from(std::process::id()).rotate_left(32);
    let config = config.clone();
    RealClock::new(seed)
        .run(move || serve(config, persister, gate))
        .map_err(|e| e.to_string())?
}

/// The server on the executor: Raft and key/value RPCs, the Redis front end, and a watch on
/// the persister. Every message of the process waits for the persister's durability `gate`
/// (see the `realproc` crate).
async fn serve(config: ServerConfig, persister: Persister, gate: Gate) -> Result<(), String> {
    let id = config.id;
    let node = Node::new(format!("server-{id}"));
    let ends_to = |peers: &[SocketAddr]| -> Vec<ClientEnd> {
        peers
            .iter()
            .map(|peer| realproc::remote(Address::Tcp(peer.to_string()), gate.clone()))
            .collect()
    };
    let raft_ends = ends_to(&config.peers);
    let kv = node.enter(|| KvServer::new(raft_ends, id, persister.clone(), config.max_raft_state));
    // Raft's replies (votes, acknowledged entries) leave once durable. The key/value server
    // answers a clerk only once the operation is committed, and with two servers or more a
    // commit rests only on durable saves: a follower's acknowledgement, and the leader's own
    // saves, which the gate made durable before it saw that acknowledgement (see the realproc
    // crate). So its replies need not wait for the next write. A server alone commits as
    // soon as it appends, before its write is done: its replies must wait.
    let commit_is_durable = config.peers.len() > 1;
    let kv_replies = if commit_is_durable {
        ReplyDurability::Immediate
    } else {
        ReplyDurability::AfterSaves
    };
    let rpc = node
        .enter(|| {
            realproc::serve_on_node_with(
                &Address::Tcp(config.bind.to_string()),
                [
                    (kv.service(), kv_replies),
                    (kv.raft().service(), ReplyDurability::AfterSaves),
                ],
                gate.clone(),
            )
        })
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    say(id, format!("Raft and key/value RPCs on {}", config.bind));
    let _resp = match config.resp {
        Some(address) => {
            let info = info_text(config.clone(), kv.clone(), persister.clone());
            // The clerks have ends of their own (client traffic does not queue behind Raft's),
            // and reach this server in-process, without a socket (whose replies do not wait
            // for the disk: only right where a commit is durable).
            let mut clerk_ends = ends_to(&config.peers);
            if commit_is_durable {
                clerk_ends[id] = realproc::local(node, [kv.service()]);
            }
            let server = resp::serve(address, clerk_ends, info)
                .map_err(|e| format!("cannot listen on {address}: {e}"))?;
            say(id, format!("Redis protocol on {}", server.address()));
            Some(server)
        }
        None => None,
    };
    say(id, "ready");
    loop {
        sim::sleep(Duration::from_millis(200)).await;
        if let Some(failure) = persister.failure() {
            drop(rpc);
            return Err(failure);
        }
    }
}

/// What `INFO` answers: the server's configuration and its Raft peer's view, in Redis's
/// `# Section` and `field:value` lines.
fn info_text(config: ServerConfig, kv: KvServer, persister: Persister) -> impl Fn() -> String {
    fn field(text: &mut String, key: &str, value: impl std::fmt::Display) {
        let _ = write!(text, "{key}:{value}\r\n");
    }
    move || {
        let (term, leader) = kv.raft().get_state();
        let mut text = String::from("# Server\r\n");
        field(&mut text, "server", "kvraft (the Lab 4 key/value service)");
        field(&mut text, "kvserver_id", config.id);
        field(&mut text, "servers", config.peers.len());
        field(&mut text, "rpc_address", config.bind);
        if let Some(resp) = config.resp {
            field(&mut text, "redis_address", resp);
        }
        field(&mut text, "process_id", std::process::id());
        field(
            &mut text,
            "uptime_seconds",
            sim::now().since_start().as_secs(),
        );
        let data = config.data.as_deref();
        let data = data.map_or("(in memory)".into(), |d| d.display().to_string());
        field(&mut text, "data_dir", data);
        text.push_str("# Raft\r\n");
        field(&mut text, "raft_term", term);
        field(
            &mut text,
            "raft_role",
            if leader { "leader" } else { "follower" },
        );
        field(&mut text, "raft_state_bytes", persister.raft_state_size());
        field(&mut text, "snapshot_bytes", persister.snapshot_size());
        let max = config
            .max_raft_state
            .map_or("none".into(), |m| m.to_string());
        field(&mut text, "max_raft_state", max);
        text
    }
}

/// The lock on a data directory: a file holding the process id, so that two servers never
/// share one directory. A lock left by a process that is gone (killed) is taken over.
#[derive(Debug)]
struct DataLock {
    path: PathBuf,
}

/// The lock file's name in a data directory.
pub const LOCK_FILE: &str = "kvserver.pid";

impl DataLock {
    fn acquire(dir: &Path) -> Result<DataLock, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    return Ok(DataLock { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|text| text.trim().parse::<u32>().ok());
                    if let Some(pid) = holder
                        && pid != std::process::id()
                        && crate::process_alive(pid)
                    {
                        return Err(format!(
                            "{} is in use by process {pid} (another kvserver?): stop it first",
                            dir.display()
                        ));
                    }
                    // Left by a process that is gone: take it over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Err(format!("{}: cannot take the lock", path.display()))
    }
}

impl Drop for DataLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> ServerArgs {
        ServerArgs::try_parse_from(std::iter::once("kvserver").chain(line.split_whitespace()))
            .unwrap()
    }

    fn error(line: &str) -> String {
        ServerConfig::from_args(&args(line)).unwrap_err()
    }

    #[test]
    fn a_good_command_line() {
        let config = ServerConfig::from_args(&args(
            "--id 1 --peers 7000,localhost:7001,tcp:127.0.0.1:7002 --resp 6380 \
             --maxraftstate 4096 --data d",
        ))
        .unwrap();
        assert_eq!(config.bind, "127.0.0.1:7001".parse().unwrap());
        assert_eq!(config.peers[0], "127.0.0.1:7000".parse().unwrap());
        assert_eq!(config.resp, Some("127.0.0.1:6380".parse().unwrap()));
        assert_eq!(config.max_raft_state, Some(4096));
        assert_eq!(config.data, Some(PathBuf::from("d")));
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        assert!(error("--id 3 --peers 7000,7001,7002").contains("not an index"));
        assert!(error("--id 0 --peers 7000,7000").contains("same address"));
        assert!(error("--id 0 --peers nonsense").contains("not HOST:PORT"));
        assert!(error("--id 0 --peers 10.1.2.3:7000").contains("--bind 10.1.2.3:7000"));
        assert!(error("--id 0 --peers 7000 --bind 0.0.0.0:7001").contains("different ports"));
        assert!(error("--id 0 --peers 7000 --maxraftstate 0").contains("omit the option"));
        assert!(error("--id 0 --peers 7000,7001 --resp 7001").contains("another port"));
        let bound =
            ServerConfig::from_args(&args("--id 0 --peers 10.1.2.3:7000 --bind 0.0.0.0:7000"));
        assert_eq!(bound.unwrap().bind, "0.0.0.0:7000".parse().unwrap());
    }

    #[test]
    fn a_data_directory_has_one_server() {
        let dir = std::env::temp_dir().join(format!("kvnet-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let lock = DataLock::acquire(&dir).unwrap();
        // Held by a live process (pid 1 stands for another server).
        std::fs::write(dir.join(LOCK_FILE), "1\n").unwrap();
        assert!(
            DataLock::acquire(&dir)
                .unwrap_err()
                .contains("in use by process 1")
        );
        // Left by a process that is gone.
        std::fs::write(dir.join(LOCK_FILE), format!("{}\n", u32::MAX - 7)).unwrap();
        let taken = DataLock::acquire(&dir).unwrap();
        drop(taken);
        assert!(!dir.join(LOCK_FILE).exists());
        drop(lock);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
