//! The versioned key/value server.

use super::rpc::{Error, Get, GetArgs, GetReply, Put, PutArgs, PutReply, Version};
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
    /// Each key's value and version.
    data: BTreeMap<String, (String, Version)>,
}

impl KvServer {
    /// A server with no keys (the original's `StartKVServer`).
    pub fn new() -> KvServer {
        KvServer::default()
    }

    /// The server's RPC handlers (`KvServer.Get`, `KvServer.Put`), for the tester to register
    /// on the network.
    pub fn service(&self) -> Service {
        let (get, put) = (self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args| {
                let server = get.clone();
                async move { server.get(args) }
            })
            .handle(Put, move |args| {
                let server = put.clone();
                async move { server.put(args) }
            })
    }

    /// The `Get` handler: the key's value and version, or [`Error::NoKey`].
    pub fn get(&self, args: GetArgs) -> GetReply {
        // BEGIN SOLUTION
        let state = self.state.lock();
        state.data.get(&args.key).cloned().ok_or(Error::NoKey)
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (args, &self.state.lock().data, Error::NoKey);
        // unimplemented!("KvServer::get: reply with the key's value and version, or Error::NoKey")
        // END SKELETON
    }

    /// The `Put` handler: installs the value, with the next version, if the request names the
    /// key's current version (0 for a missing key); else [`Error::Version`] (the key exists)
    /// or [`Error::NoKey`] (it does not).
    pub fn put(&self, args: PutArgs) -> PutReply {
        // BEGIN SOLUTION
        let mut state = self.state.lock();
        match state.data.get_mut(&args.key) {
            Some((value, version)) if *version == args.version => {
                *value = args.value;
                *version += 1;
                Ok(())
            }
            Some(_) => Err(Error::Version),
            None if args.version == 0 => {
                state.data.insert(args.key, (args.value, 1));
                Ok(())
            }
            None => Err(Error::NoKey),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("KvServer::put: install the value if the version matches")
        // END SKELETON
    }
}
