//! Parts 4B and 4C: the key/value server, a [`StateMachine`] (the store) run by your
//! [`Rsm`], and the RPC handlers that submit clerks' requests to it.

use super::rpc::{Get, GetArgs, GetReply, Put, PutArgs, PutReply};
use super::rsm::{Op, Rsm, StateMachine};
use labrpc::{ClientEnd, Persister, Service};
use raft::Raft;
use serde::{Deserialize, Serialize};
// BEGIN SOLUTION
use super::rpc::{Error, Version};
use std::collections::BTreeMap;
// END SOLUTION

/// A clerk's request as it goes through the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvRequest {
    /// A `Get`.
    Get(GetArgs),
    /// A `Put`.
    Put(PutArgs),
}

/// What executing a [`KvRequest`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvReply {
    /// A `Get`'s reply.
    Get(GetReply),
    /// A `Put`'s reply.
    Put(PutReply),
}

/// The store: every key's value and version.
#[derive(Debug, Default)]
pub struct KvStore {
    // BEGIN SOLUTION
    entries: BTreeMap<String, (String, Version)>,
    // END SOLUTION
}

impl StateMachine for KvStore {
    type Request = KvRequest;
    type Reply = KvReply;

    /// Executes a request with Lab 2's versioned semantics: a `Get` returns the value and
    /// version or `ErrNoKey`; a `Put` installs its value and increments the version if it
    /// names the key's version (0 creates a missing key), else fails with `ErrVersion` (the
    /// key exists) or `ErrNoKey` (it does not).
    fn do_op(&mut self, request: KvRequest) -> KvReply {
        // BEGIN SOLUTION
        match request {
            KvRequest::Get(GetArgs { key }) => {
                KvReply::Get(self.entries.get(&key).cloned().ok_or(Error::NoKey))
            }
            KvRequest::Put(PutArgs {
                key,
                value,
                version,
            }) => KvReply::Put(match self.entries.get_mut(&key) {
                Some(entry) if entry.1 == version => {
                    *entry = (value, version + 1);
                    Ok(())
                }
                Some(_) => Err(Error::Version),
                None if version == 0 => {
                    self.entries.insert(key, (value, 1));
                    Ok(())
                }
                None => Err(Error::NoKey),
            }),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = request;
        // unimplemented!("KvStore::do_op is not written yet (kvraft/src/v2025/server.rs)")
        // END SKELETON
    }

    fn snapshot(&self) -> Vec<u8> {
        // BEGIN SOLUTION
        labrpc::codec::encode(&self.entries).expect("a store encodes")
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!("KvStore::snapshot is not written yet (kvraft/src/v2025/server.rs)")
        // END SKELETON
    }

    fn restore(&mut self, snapshot: &[u8]) {
        // BEGIN SOLUTION
        self.entries =
            labrpc::codec::decode(snapshot).expect("a snapshot this store wrote decodes");
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = snapshot;
        // unimplemented!("KvStore::restore is not written yet (kvraft/src/v2025/server.rs)")
        // END SKELETON
    }
}

/// One key/value server. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct KvServer {
    rsm: Rsm<KvStore>,
}

impl KvServer {
    /// Starts server `me` of `servers` (the original's `StartKVServer`; call it as the
    /// server's node) with its replicated state machine and Raft peer, restoring from
    /// `persister`. `max_raft_state`: snapshot when Raft's persisted state reaches this many
    /// bytes; `None`: never snapshot.
    pub fn new(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
    ) -> KvServer {
        KvServer {
            rsm: Rsm::new(servers, me, persister, max_raft_state, KvStore::default()),
        }
    }

    /// The `KvServer` RPC service, for the tester to serve.
    pub fn service(&self) -> Service {
        let (get, put) = (self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args| {
                let kv = get.clone();
                async move { kv.get(args).await }
            })
            .handle(Put, move |args| {
                let kv = put.clone();
                async move { kv.put(args).await }
            })
    }

    /// The server's Raft peer (the tester serves its RPCs, asks it who leads, and kills it
    /// when it shuts the server down).
    pub fn raft(&self) -> &Raft<Op<KvRequest>> {
        self.rsm.raft()
    }

    /// The `Get` handler: a read goes through the log too, so that a server cut off from the
    /// majority cannot answer with a stale value.
    async fn get(&self, args: GetArgs) -> GetReply {
        // BEGIN SOLUTION
        match self.rsm.submit(KvRequest::Get(args)).await {
            Ok(KvReply::Get(reply)) => reply,
            Ok(KvReply::Put(_)) => unreachable!("a Get executes as a Get"),
            Err(_) => Err(Error::WrongLeader),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("KvServer::get is not written yet (kvraft/src/v2025/server.rs)")
        // END SKELETON
    }

    /// The `Put` handler.
    async fn put(&self, args: PutArgs) -> PutReply {
        // BEGIN SOLUTION
        match self.rsm.submit(KvRequest::Put(args)).await {
            Ok(KvReply::Put(reply)) => reply,
            Ok(KvReply::Get(_)) => unreachable!("a Put executes as a Put"),
            Err(_) => Err(Error::WrongLeader),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("KvServer::put is not written yet (kvraft/src/v2025/server.rs)")
        // END SKELETON
    }
}
