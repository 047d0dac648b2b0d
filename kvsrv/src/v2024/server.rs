//! The key/value server: the data, and what it must remember to apply each request once.

use super::rpc::{Append, Get, GetArgs, GetReply, Put, PutAppendArgs, PutAppendReply};
use labrpc::Service;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The key/value server. Cloning gives another handle to the same server (the RPC handlers
/// hold one each).
#[derive(Clone, Debug, Default)]
pub struct KvServer {
    state: Arc<Mutex<State>>,
}

/// Everything the server holds. The handlers run one at a time on the server's node, but
/// each runs as a task of its own: keep the state behind the lock, and never hold the lock
/// across an `.await`.
#[derive(Debug, Default)]
struct State {
    /// The data: a missing key reads as `""`.
    data: BTreeMap<String, String>,
    // BEGIN SOLUTION
    /// Per clerk, its last executed `put` or `append`: a clerk sends a new request only once
    /// it has the reply to the previous one, so this is all a retry can ask for again, and
    /// replacing it on the next request frees the old reply.
    last: BTreeMap<u64, Executed>,
    // END SOLUTION
}

// BEGIN SOLUTION
/// A clerk's last executed request and what it returned.
#[derive(Debug, Default)]
struct Executed {
    /// The request's number.
    request: u64,
    /// Its reply's value: the old value of an `append`, `""` for a `put`.
    value: String,
}

impl State {
    /// The reply to a request already executed (a retry), or `None` for a new request. A
    /// request older than the clerk's last one is a copy the network delivered late: the clerk
    /// has its reply already and will never read this one.
    fn executed(&self, args: &PutAppendArgs) -> Option<PutAppendReply> {
        let last = self.last.get(&args.clerk)?;
        match args.request.cmp(&last.request) {
            std::cmp::Ordering::Greater => None,
            std::cmp::Ordering::Equal => Some(PutAppendReply {
                value: last.value.clone(),
            }),
            std::cmp::Ordering::Less => Some(PutAppendReply::default()),
        }
    }

    /// Records that the clerk's request `args.request` returned `value`, replacing (and
    /// freeing) what its previous request returned.
    fn remember(&mut self, args: &PutAppendArgs, value: String) {
        self.last.insert(
            args.clerk,
            Executed {
                request: args.request,
                value,
            },
        );
    }
}
// END SOLUTION

impl KvServer {
    /// A server with no keys (the original's `StartKVServer`).
    pub fn new() -> KvServer {
        KvServer::default()
    }

    /// The server's RPC handlers (`KvServer.Get`, `KvServer.Put`, `KvServer.Append`), for the
    /// tester to register on the network.
    pub fn service(&self) -> Service {
        let (get, put, append) = (self.clone(), self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args| {
                let server = get.clone();
                async move { server.get(args) }
            })
            .handle(Put, move |args| {
                let server = put.clone();
                async move { server.put(args) }
            })
            .handle(Append, move |args| {
                let server = append.clone();
                async move { server.append(args) }
            })
    }

    /// The `Get` handler: the key's value, `""` if it is missing.
    pub fn get(&self, args: GetArgs) -> GetReply {
        // BEGIN SOLUTION
        let state = self.state.lock();
        GetReply {
            value: state.data.get(&args.key).cloned().unwrap_or_default(),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (args, &self.state.lock().data);
        // unimplemented!("KvServer::get: reply with the key's value")
        // END SKELETON
    }

    /// The `Put` handler: replaces the key's value, once per request.
    pub fn put(&self, args: PutAppendArgs) -> PutAppendReply {
        // BEGIN SOLUTION
        let mut state = self.state.lock();
        if let Some(reply) = state.executed(&args) {
            return reply;
        }
        state.remember(&args, String::new());
        state.data.insert(args.key, args.value);
        PutAppendReply::default()
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("KvServer::put: install the value, once per request")
        // END SKELETON
    }

    /// The `Append` handler: appends to the key's value, once per request, and replies with
    /// the value before (to every copy of the request).
    pub fn append(&self, args: PutAppendArgs) -> PutAppendReply {
        // BEGIN SOLUTION
        let mut state = self.state.lock();
        if let Some(reply) = state.executed(&args) {
            return reply;
        }
        let value = state.data.entry(args.key.clone()).or_default();
        let old = value.clone();
        value.push_str(&args.value);
        state.remember(&args, old.clone());
        PutAppendReply { value: old }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!(
        //     "KvServer::append: append to the value once per request, reply with the old value"
        // )
        // END SKELETON
    }
}
