//! Typed RPC: declaring methods, registering handlers, and the errors a call can return.

use crate::codec::{self, CodecError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// One RPC method: its service, its name, and its argument and reply types.
///
/// Declare methods with [`service!`](crate::service) rather than by hand.
pub trait Rpc: 'static {
    /// The service name (`"Raft"`).
    const SERVICE: &'static str;
    /// The method name (`"RequestVote"`).
    const METHOD: &'static str;
    /// What the caller sends.
    type Args: Serialize + DeserializeOwned + 'static;
    /// What the handler returns.
    type Reply: Serialize + DeserializeOwned + 'static;
}

/// Declares the methods of a service: one unit struct per method, implementing [`Rpc`].
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// pub struct VoteArgs { pub term: u64, pub candidate: usize }
/// #[derive(Serialize, Deserialize)]
/// pub struct VoteReply { pub term: u64, pub granted: bool }
///
/// labrpc::service! {
///     /// What Raft peers ask each other.
///     service Raft {
///         /// A candidate asks for a vote.
///         rpc RequestVote(VoteArgs) -> VoteReply;
///     }
/// }
/// // `RequestVote` is now a type: `end.call::<RequestVote>(&args).await`.
/// assert_eq!(<RequestVote as labrpc::Rpc>::METHOD, "RequestVote");
/// ```
///
/// A service whose messages depend on a type parameter (Raft's log entries carry the
/// service's command type) declares it once; every method is then generic over it, and
/// `Method::<T>::new()` is the method as a value:
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize)] pub struct Entries<C> { pub entries: Vec<C> }
/// pub trait Command: serde::Serialize + serde::de::DeserializeOwned + 'static {}
/// impl Command for u64 {}
///
/// labrpc::service! {
///     service Raft<C: Command> {
///         /// The leader replicates entries.
///         rpc AppendEntries(Entries<C>) -> bool;
///     }
/// }
/// let method = AppendEntries::<u64>::new();
/// assert_eq!(<AppendEntries<u64> as labrpc::Rpc>::SERVICE, "Raft");
/// # let _ = method;
/// ```
#[macro_export]
macro_rules! service {
    (
        $(#[$service_meta:meta])*
        service $service:ident {
            $(
                $(#[$meta:meta])*
                rpc $method:ident ( $args:ty ) -> $reply:ty ;
            )*
        }
    ) => {
        $(
            $(#[$meta])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
            pub struct $method;

            impl $crate::Rpc for $method {
                const SERVICE: &'static str = stringify!($service);
                const METHOD: &'static str = stringify!($method);
                type Args = $args;
                type Reply = $reply;
            }
        )*
    };
    (
        $(#[$service_meta:meta])*
        service $service:ident < $param:ident : $bound:path > {
            $(
                $(#[$meta:meta])*
                rpc $method:ident ( $args:ty ) -> $reply:ty ;
            )*
        }
    ) => {
        $(
            $(#[$meta])*
            pub struct $method<$param>(::std::marker::PhantomData<fn() -> $param>);

            impl<$param> $method<$param> {
                /// The method, as a value (for `Service::handle`).
                pub fn new() -> Self {
                    $method(::std::marker::PhantomData)
                }
            }

            impl<$param> ::std::default::Default for $method<$param> {
                fn default() -> Self {
                    Self::new()
                }
            }

            impl<$param> ::std::clone::Clone for $method<$param> {
                fn clone(&self) -> Self {
                    *self
                }
            }

            impl<$param> ::std::marker::Copy for $method<$param> {}

            impl<$param> ::std::fmt::Debug for $method<$param> {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(concat!(stringify!($service), ".", stringify!($method)))
                }
            }

            impl<$param: $bound> $crate::Rpc for $method<$param> {
                const SERVICE: &'static str = stringify!($service);
                const METHOD: &'static str = stringify!($method);
                type Args = $args;
                type Reply = $reply;
            }
        )*
    };
}

/// Where an encode or decode failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// In the caller (its arguments, or the reply it received).
    Client,
    /// In the server (the arguments it received, or its reply).
    Server,
}

/// Why a call returned no reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// No reply came back: the request or the reply was lost, the server is down, deleted or
    /// unreachable, or the end is disabled. The handler may or may not have run. This is the
    /// `false` of the original `Call`: retry, or give up.
    NoReply,
    /// The network was shut down.
    Shutdown,
    /// The server has no service of that name.
    UnknownService {
        /// `Service` of `Service.Method`.
        service: &'static str,
        /// `Method` of `Service.Method`.
        method: &'static str,
        /// The services the server does have.
        known: Vec<String>,
    },
    /// The service has no method of that name.
    UnknownMethod {
        /// The service.
        service: &'static str,
        /// The missing method.
        method: &'static str,
        /// The methods the service does have.
        known: Vec<String>,
    },
    /// Caller and server disagree on the method's argument or reply type.
    WrongType {
        /// The service.
        service: &'static str,
        /// The method.
        method: &'static str,
        /// Argument and reply types the server registered.
        server: (&'static str, &'static str),
        /// Argument and reply types the caller used.
        client: (&'static str, &'static str),
    },
    /// A value could not be encoded or decoded.
    Codec {
        /// The service.
        service: &'static str,
        /// The method.
        method: &'static str,
        /// Caller or server.
        side: Side,
        /// The codec's error, naming the type.
        error: CodecError,
    },
}

impl RpcError {
    pub(crate) fn codec<R: Rpc>(side: Side, error: CodecError) -> RpcError {
        RpcError::Codec {
            service: R::SERVICE,
            method: R::METHOD,
            side,
            error,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::NoReply => f.write_str("no reply (lost, unreachable or crashed server)"),
            RpcError::Shutdown => f.write_str("the network was shut down"),
            RpcError::UnknownService {
                service,
                method,
                known,
            } => write!(
                f,
                "{service}.{method}: the server has no service {service:?} (it has: {})",
                known.join(", ")
            ),
            RpcError::UnknownMethod {
                service,
                method,
                known,
            } => write!(
                f,
                "{service}.{method}: service {service} has no method {method:?} (it has: {})",
                known.join(", ")
            ),
            RpcError::WrongType {
                service,
                method,
                server,
                client,
            } => write!(
                f,
                "{service}.{method}: the caller sends {} and expects {}, but the server's \
                 handler takes {} and returns {}",
                client.0, client.1, server.0, server.1
            ),
            RpcError::Codec {
                service,
                method,
                side,
                error,
            } => {
                let side = match side {
                    Side::Client => "caller",
                    Side::Server => "server",
                };
                write!(
                    f,
                    "{service}.{method}: {side} could not codec a value: {error}"
                )
            }
        }
    }
}

impl std::error::Error for RpcError {}

/// A method as a call names it outside the type system: its service and method names, and
/// the argument and reply types the caller (or the handler) uses, as `std::any::type_name`
/// spells them. A transport between processes sends it with every call, so that the server
/// can refuse a call whose types are not its own ([`RpcError::WrongType`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodId {
    /// `Service` of `Service.Method`.
    pub service: &'static str,
    /// `Method` of `Service.Method`.
    pub method: &'static str,
    /// The arguments' type.
    pub args_type: &'static str,
    /// The reply's type.
    pub reply_type: &'static str,
}

impl MethodId {
    /// The id of method `R`.
    pub fn of<R: Rpc>() -> MethodId {
        MethodId {
            service: R::SERVICE,
            method: R::METHOD,
            args_type: std::any::type_name::<R::Args>(),
            reply_type: std::any::type_name::<R::Reply>(),
        }
    }

    /// A codec error of this method on `side`.
    pub fn codec_error(&self, side: Side, error: CodecError) -> RpcError {
        RpcError::Codec {
            service: self.service,
            method: self.method,
            side,
            error,
        }
    }
}

/// Where a handler's encoded reply (or error) goes.
pub(crate) type ReplySender = tokio::sync::oneshot::Sender<Result<Vec<u8>, RpcError>>;

/// The encoded reply (or the error) of one call a [`Method`] started.
pub type ReplyReceiver = tokio::sync::oneshot::Receiver<Result<Vec<u8>, RpcError>>;

/// A future that runs one call's handler (not `Send`: it runs on its node's thread).
pub type HandlerTask = Pin<Box<dyn Future<Output = ()>>>;

/// Makes the server-side task of one call: it decodes the arguments, runs the handler, encodes
/// and sends the reply. Nothing runs until the task is first polled, on the server's node.
/// (One boxed future per call: this is the RPC hot path.)
type Handler = Box<dyn Fn(Vec<u8>, ReplySender) -> HandlerTask>;

/// One handler of a [`Service`], with its types erased: what a transport outside the
/// simulated network (another process's calls, in the `realproc` crate) serves. The simulated
/// network uses the same.
pub struct Method {
    pub(crate) id: MethodId,
    pub(crate) handler: Handler,
}

impl Method {
    /// Which method this is.
    pub fn id(&self) -> MethodId {
        self.id
    }

    /// Starts one call with these encoded arguments: returns the task that decodes them, runs
    /// the handler and encodes the reply (to run as a task of the server's node, see
    /// [`crate::sim::spawn_handler`]), and where the reply will come.
    pub fn start(&self, args: Vec<u8>) -> (HandlerTask, ReplyReceiver) {
        let (slot, reply) = tokio::sync::oneshot::channel();
        ((self.handler)(args, slot), reply)
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.id.service, self.id.method)
    }
}

/// A set of RPC handlers, added to a [`Server`](crate::Server).
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize)] pub struct VoteArgs { pub term: u64 }
/// # #[derive(Serialize, Deserialize)] pub struct VoteReply { pub granted: bool }
/// # labrpc::service! { service Raft { rpc RequestVote(VoteArgs) -> VoteReply; } }
/// let service = labrpc::Service::new()
///     .handle(RequestVote, |args: VoteArgs| async move { VoteReply { granted: args.term > 0 } });
/// ```
#[derive(Default)]
pub struct Service {
    pub(crate) methods: Vec<Method>,
}

impl Service {
    /// An empty service.
    pub fn new() -> Service {
        Service::default()
    }

    /// Adds the handler of method `R`. The handler runs as a task of the server's node, so
    /// it stops if that node crashes; none of it runs if the node is down when the request
    /// arrives.
    pub fn handle<R, F, Fut>(mut self, _method: R, handler: F) -> Service
    where
        R: Rpc,
        F: Fn(R::Args) -> Fut + 'static,
        Fut: Future<Output = R::Reply> + 'static,
    {
        let handler = std::rc::Rc::new(handler);
        let make_task =
            move |payload: Vec<u8>, tx: ReplySender| -> Pin<Box<dyn Future<Output = ()>>> {
                let handler = handler.clone();
                Box::pin(async move {
                    let reply = match codec::decode::<R::Args>(&payload) {
                        Err(error) => Err(RpcError::codec::<R>(Side::Server, error)),
                        Ok(args) => codec::encode(&handler(args).await)
                            .map_err(|error| RpcError::codec::<R>(Side::Server, error)),
                    };
                    let _ = tx.send(reply);
                })
            };
        self.methods.push(Method {
            id: MethodId::of::<R>(),
            handler: Box::new(make_task),
        });
        self
    }

    /// The service's handlers, for a transport outside the simulated network.
    pub fn into_methods(self) -> Vec<Method> {
        self.methods
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.methods
                    .iter()
                    .map(|m| format!("{}.{}", m.id.service, m.id.method)),
            )
            .finish()
    }
}
