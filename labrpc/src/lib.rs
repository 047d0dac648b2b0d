//! labrpc: a simulated, unreliable RPC network on a deterministic, virtual-time runtime.
//!
//! Everything a lab's servers and clients talk through:
//!
//! - [`sim`]: the runtime. Tasks belong to simulated [`Node`](sim::Node)s, time is virtual
//!   (a test that waits five seconds costs microseconds), and a run is a pure function of its
//!   seed. Use its clock, timers and random numbers, never the real ones.
//! - [`Network`], [`ClientEnd`], [`Server`], [`Service`]: the network of the original
//!   `labrpc.go`, with typed calls. Declare methods with [`service!`], call them with
//!   [`ClientEnd::call`], serve them with [`Service::handle`].
//! - [`Persister`]: stable storage that survives a node's crash (memory; a real process gives
//!   it a [`Store`] of files).
//! - [`codec`]: how values become bytes (RPC arguments, persisted state).
//!
//! labrpc knows nothing of sockets or files. The same code also runs as real processes, not
//! deterministically: [`sim::RealClock`] runs the executor on the wall clock, and the
//! `realproc` crate gives a [`ClientEnd`] a [`Line`] to a server in another process, serves a
//! node's services to other processes, and gives a [`Persister`] its files (see the `kvnet`
//! crate, which runs the key/value lab this way).
//!
//! A whole round trip:
//!
//! ```
//! use labrpc::sim::{Node, Sim};
//! use labrpc::{Network, RpcError, Server, Service};
//!
//! labrpc::service! {
//!     service Counter {
//!         /// Adds to a number.
//!         rpc Add((u64, u64)) -> u64;
//!     }
//! }
//!
//! let result = Sim::new(7).run(|| async {
//!     let net = Network::new();
//!     // A server on its own node, reachable as "adder".
//!     let mut server = Server::new(Node::new("adder"));
//!     server.add_service(Service::new().handle(Add, |(a, b)| async move { a + b }));
//!     net.add_server("adder", server);
//!     // A client end: created disabled and unconnected, like the original's.
//!     let end = net.make_end("client-1");
//!     net.connect("client-1", "adder");
//!     net.enable("client-1", true);
//!     let sum = end.call::<Add>(&(2, 3)).await?;
//!     // Disconnected: no reply.
//!     net.enable("client-1", false);
//!     let lost = end.call::<Add>(&(2, 3)).await;
//!     Ok::<_, RpcError>((sum, lost))
//! });
//! let (sum, lost) = result.unwrap().value.unwrap();
//! assert_eq!(sum, 5);
//! assert_eq!(lost, Err(RpcError::NoReply));
//! ```

#![forbid(unsafe_code)]

pub mod codec;
pub mod collections;
mod net;
mod persister;
mod rpc;
pub mod sim;

pub use net::{ClientEnd, Delivery, DeliveryKind, Line, LineCall, Name, Network, Server};
pub use persister::{Persister, Store};
pub use rpc::{HandlerTask, Method, MethodId, ReplyReceiver, Rpc, RpcError, Service, Side};

/// Async channels and locks for simulated code (`tokio::sync`, which needs no tokio runtime
/// and is deterministic under the simulator): `mpsc` for apply channels, `Mutex`, `Notify`.
pub use tokio::sync;

/// Re-exported so labs need no `rand` dependency of their own (and cannot pick another
/// version): `use labrpc::rand::RngExt;` then `labrpc::sim::rng().random_range(..)`.
pub use rand;
