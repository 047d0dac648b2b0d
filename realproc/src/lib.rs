//! realproc: the labs as real processes.
//!
//! labrpc simulates: its network and its persister live in one process, on virtual time. The
//! same lab code (Raft, the key/value server, MapReduce's coordinator and workers) also runs
//! as real processes, on labrpc's real-clock executor ([`RealClock`](labrpc::sim::RealClock)).
//! This crate is what that needs beyond the executor, and nothing else does:
//!
//! - [`serve_on_node`]: serves a node's services (the same [`labrpc::Service`]s) to other
//!   processes, over a Unix-domain socket or TCP ([`Address`]).
//! - [`remote`] (or [`Remote`], which also tells why it cannot connect): a
//!   [`labrpc::ClientEnd`] to a server in another process; [`local`]: one to a node's services
//!   in this process. Calls are the simulated network's, with its errors.
//! - [`Files`]: a [`labrpc::Persister`] whose saves also go to files in a directory, with group
//!   commit, and their durability [`Gate`].
//!
//! ```no_run
//! use labrpc::sim::RealClock;
//! use realproc::{Address, Files};
//! # labrpc::service! { service Kv { rpc Get(String) -> String; } }
//!
//! RealClock::new(1).run(|| async {
//!     let files = Files::open("/var/tmp/kv-0").expect("the server's directory");
//!     let persister = files.persister(); // for Raft, unchanged
//!     let service = labrpc::Service::new().handle(Get, |key: String| async move { key });
//!     let here = Address::parse("tcp:127.0.0.1:7000");
//!     let _server = realproc::serve_on_node(&here, [service], files.gate()).expect("the port");
//!     let peer = realproc::remote(Address::parse("tcp:127.0.0.1:7001"), files.gate());
//!     let _reply = peer.call::<Get>(&"x".to_string()).await;
//!     drop(persister);
//! });
//! ```
//!
//! # The durability gate
//!
//! A save returns at once; threads write the files, and one `fsync` covers every save made
//! while the previous one was written (group commit across clients, inside the persister:
//! Raft is unchanged). What keeps a crash from undoing anything another server or a client
//! has relied on is the *durability gate* of each [`Files`], which the transport applies to
//! the messages of the process that saves:
//!
//! - a **reply a server sends** leaves only once every save made before it is on disk: a
//!   follower acknowledges entries, and a voter grants its vote, only once they are durable,
//!   as with a synchronous `fsync` in `save`;
//! - a **reply a caller receives** is handed to it only once every save the caller made before
//!   sending the request is on disk. Requests themselves leave at once, so a leader writes its
//!   log while its followers write theirs (the parallel write of the Raft thesis, §10.2.1),
//!   yet nothing it decides from a reply rests on a save a crash could still undo.
//!
//! # Wire format
//! Every message is one frame, a 4-byte little-endian length followed by that many bytes of
//! [`labrpc::codec`]-encoded data. A request carries an id, the service and method names, the
//! argument and reply type names the caller uses ([`labrpc::MethodId`]), and the encoded
//! arguments; the reply carries the id and either the encoded reply or an error. A frame that
//! is too long or does not decode closes the connection; the server itself carries on.

#![forbid(unsafe_code)]

mod ends;
mod files;
mod gate;
mod serve;
mod socket;
mod wire;

pub use ends::{REMOTE_CALL_TIMEOUT, Remote, local, remote};
pub use files::{Files, PersistError};
pub use gate::Gate;
pub use serve::{NodeServer, ReplyDurability, serve_on_node, serve_on_node_with};
pub use socket::{Address, MAX_FRAME, check_address};
