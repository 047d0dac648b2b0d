//! A Redis-protocol (RESP 2) front end on the lab's clerk: `redis-cli` and `redis-benchmark`
//! talk to the replicated key/value service as if it were a Redis server.
//!
//! Threads do the socket work; the key/value work happens on the real-clock executor, where
//! the clerks live (the lab's [`Clerk`] is not `Send`, and its retries sleep on the executor's
//! timers):
//!
//! - one thread accepts connections (at most [`MAX_CONNECTIONS`] at once; more are told so and
//!   closed);
//! - one thread per connection reads commands ([`protocol`], capped by [`Limits`]), answers
//!   those it can by itself ([`commands`]), and hands the rest to the connection's task on the
//!   executor, one at a time, in order;
//! - the connection's task runs each on a clerk of its own (a clerk has one request outstanding
//!   at a time, like a Redis connection without pipelining) and sends the reply back.
//!
//! Malformed input gets a `-ERR Protocol error` and the connection is closed; the other
//! connections carry on. An operation waits until the service carries it out (the lab's clerk
//! retries forever): with no majority up, a command waits.

pub mod commands;
pub mod protocol;

use commands::{Command, ServiceCommand};
use kvraft::Clerk;
use labrpc::ClientEnd;
use labrpc::sim;
use labrpc::sync::mpsc;
pub use protocol::{Limits, ProtocolError, Reply};
use std::cell::RefCell;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Duration;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;

/// A connection handed to the executor: its commands, and where its replies go.
struct NewConnection {
    commands: mpsc::Receiver<ServiceCommand>,
    replies: std_mpsc::SyncSender<Reply>,
}

/// Idle clerks, reused by later connections (so that a server does not register a new clerk
/// with the service's duplicate table for every connection ever made).
struct ClerkPool {
    ends: Vec<ClientEnd>,
    idle: RefCell<Vec<Clerk>>,
}

impl ClerkPool {
    fn take(&self) -> Clerk {
        self.idle
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| Clerk::new(self.ends.clone()))
    }

    fn give_back(&self, clerk: Clerk) {
        let mut idle = self.idle.borrow_mut();
        if idle.len() < MAX_CONNECTIONS {
            idle.push(clerk);
        }
    }
}

/// A running front end (see [`serve`]). Dropping it stops accepting connections.
#[derive(Debug)]
pub struct RespServer {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl RespServer {
    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for RespServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Wake the accept thread with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Serves the Redis protocol at `address`, with clerks that reach the service through `ends`
/// (one per server). `info` answers `INFO`. Call it on the real-clock executor
/// ([`labrpc::sim::RealClock`]).
pub fn serve(
    address: SocketAddr,
    ends: Vec<ClientEnd>,
    info: impl Fn() -> String + 'static,
) -> io::Result<RespServer> {
    if !sim::on_real_clock() {
        return Err(io::Error::other(
            "the Redis front end needs the real-clock executor (labrpc::sim::RealClock)",
        ));
    }
    let listener = TcpListener::bind(address)?;
    let address = listener.local_addr()?;
    let (connections, mut incoming) = mpsc::channel::<NewConnection>(64);
    let pool = Rc::new(ClerkPool {
        ends,
        idle: RefCell::new(Vec::new()),
    });
    let info: Rc<dyn Fn() -> String> = Rc::new(info);
    sim::spawn(async move {
        while let Some(connection) = incoming.recv().await {
            sim::spawn(run_commands(connection, pool.clone(), info.clone()));
        }
    });
    let stopping = Arc::new(AtomicBool::new(false));
    let for_accept = stopping.clone();
    let accept = thread::Builder::new()
        .name(format!("resp-accept {address}"))
        .spawn(move || accept_connections(&listener, &connections, &for_accept))?;
    Ok(RespServer {
        address,
        stopping,
        accept: Some(accept),
    })
}

/// A connection's task on the executor: runs its commands in order on its clerk.
async fn run_commands(
    connection: NewConnection,
    pool: Rc<ClerkPool>,
    info: Rc<dyn Fn() -> String>,
) {
    let NewConnection {
        mut commands,
        replies,
    } = connection;
    let mut clerk = None;
    while let Some(command) = commands.recv().await {
        let reply = match command {
            ServiceCommand::Info => Reply::Bulk(info().into_bytes()),
            ServiceCommand::Get { key } => {
                let clerk = clerk.get_or_insert_with(|| pool.take());
                Reply::Bulk(clerk.get(&key).await.into_bytes())
            }
            ServiceCommand::Set { key, value } => {
                let clerk = clerk.get_or_insert_with(|| pool.take());
                clerk.put(&key, &value).await;
                Reply::ok()
            }
            ServiceCommand::Append { key, value } => {
                let clerk = clerk.get_or_insert_with(|| pool.take());
                clerk.append(&key, &value).await;
                Reply::ok()
            }
        };
        // The connection's thread waits for each reply before it sends the next command, so
        // the one-slot channel is always free; an error means the connection is gone.
        if replies.try_send(reply).is_err() {
            break;
        }
    }
    if let Some(clerk) = clerk {
        pool.give_back(clerk);
    }
}

fn accept_connections(
    listener: &TcpListener,
    connections: &mpsc::Sender<NewConnection>,
    stopping: &AtomicBool,
) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut stream) = stream else {
            // Out of file descriptors, say: back off rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        if open.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            let refusal = Reply::error(format!(
                "max number of clients reached ({MAX_CONNECTIONS} connections are open)"
            ));
            let _ = stream.write_all(&refusal.to_bytes());
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (command_tx, commands) = mpsc::channel(1);
        let (replies, reply_rx) = std_mpsc::sync_channel(1);
        if connections
            .blocking_send(NewConnection { commands, replies })
            .is_err()
        {
            return; // the executor is gone
        }
        open.fetch_add(1, Ordering::AcqRel);
        let count = open.clone();
        let spawned = thread::Builder::new()
            .name("resp-connection".into())
            .spawn(move || {
                serve_connection(stream, &command_tx, &reply_rx);
                count.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A connection's thread: reads commands, answers or forwards each, writes the replies
/// (flushing when no further command is already buffered, so pipelined commands share writes).
fn serve_connection(
    stream: TcpStream,
    commands: &mpsc::Sender<ServiceCommand>,
    replies: &std_mpsc::Receiver<Reply>,
) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(stream);
    let limits = Limits::default();
    loop {
        let (reply, close) = match protocol::read_command(&mut reader, &limits) {
            Ok(None) | Err(ProtocolError::Io(_)) => break,
            Err(error @ ProtocolError::Invalid(_)) => (Reply::error(error), true),
            Ok(Some(args)) => match commands::parse(args) {
                Command::Answer(reply) => (reply, false),
                Command::Quit => (Reply::ok(), true),
                Command::Service(command) => {
                    if commands.blocking_send(command).is_err() {
                        (Reply::error("the server is shutting down"), true)
                    } else {
                        match replies.recv() {
                            Ok(reply) => (reply, false),
                            Err(_) => (Reply::error("the server is shutting down"), true),
                        }
                    }
                }
            },
        };
        if reply.write_to(&mut writer).is_err() {
            break;
        }
        if (close || reader.buffer().is_empty()) && writer.flush().is_err() {
            break;
        }
        if close {
            break;
        }
    }
    let _ = writer.flush();
    if let Ok(stream) = writer.into_inner() {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

/// A minimal blocking client of the protocol (for `kvcluster status` and tests).
#[derive(Debug)]
pub struct RespClient {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl RespClient {
    /// Connects to `address`; every later read or write waits at most `timeout`.
    pub fn connect(address: SocketAddr, timeout: Duration) -> io::Result<RespClient> {
        let stream = TcpStream::connect_timeout(&address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(RespClient {
            reader: BufReader::new(stream.try_clone()?),
            writer: BufWriter::new(stream),
        })
    }

    /// Sends one command and reads its reply.
    pub fn command(&mut self, args: &[&str]) -> Result<Reply, ProtocolError> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        protocol::write_command(&mut self.writer, &args)?;
        self.writer.flush()?;
        protocol::read_reply(&mut self.reader, &Limits::default())
    }

    /// Sends raw bytes (for tests of malformed input).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    /// Reads one reply.
    pub fn read_reply(&mut self) -> Result<Reply, ProtocolError> {
        protocol::read_reply(&mut self.reader, &Limits::default())
    }
}
