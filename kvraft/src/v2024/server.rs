//! The key/value server: a [`StateMachine`] (the store) run by an [`Rsm`], and the RPC
//! handlers that submit clerks' operations to it.

use crate::rpc::{Append, Get, GetArgs, KvError, Put, PutAppendArgs};
use crate::rsm::{Op, Rsm, StateMachine};
use labrpc::{ClientEnd, Persister, Service};
use raft::Raft;
use serde::{Deserialize, Serialize};
// BEGIN SOLUTION
use crate::rpc::RequestId;
use std::collections::BTreeMap;
// END SOLUTION

/// A key/value operation as it goes through the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvCommand {
    // BEGIN SOLUTION
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The clerk's request.
        id: RequestId,
    },
    /// Append to a key.
    Append {
        /// The key.
        key: String,
        /// The suffix.
        value: String,
        /// The clerk's request.
        id: RequestId,
    },
    // END SOLUTION
    // BEGIN SKELETON
    // /// Replace with your operations.
    // Todo,
    // END SKELETON
}

/// The store: every key's value, and what duplicate detection needs.
#[derive(Debug, Default)]
pub struct KvStore {
    // BEGIN SOLUTION
    values: BTreeMap<String, String>,
    /// The last request applied for each clerk: a clerk has one request outstanding at a time,
    /// so anything up to it is a duplicate.
    last_applied: BTreeMap<u64, u64>,
    // END SOLUTION
}

impl KvStore {
    /// The value of `key` as this server has applied it (`None` if it has none).
    pub fn value(&self, key: &str) -> Option<&str> {
        // BEGIN SOLUTION
        self.values.get(key).map(String::as_str)
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = key;
        // None
        // END SKELETON
    }
}

impl StateMachine for KvStore {
    type Command = KvCommand;
    /// A `Get`'s value (`""` for `Put` and `Append`).
    type Output = String;

    fn apply(&mut self, command: KvCommand) -> String {
        // BEGIN SOLUTION
        let (key, value, id, append) = match command {
            KvCommand::Get { key } => return self.values.get(&key).cloned().unwrap_or_default(),
            KvCommand::Put { key, value, id } => (key, value, id, false),
            KvCommand::Append { key, value, id } => (key, value, id, true),
        };
        if self
            .last_applied
            .get(&id.client)
            .is_some_and(|&seq| seq >= id.seq)
        {
            return String::new(); // a retry of a request already applied
        }
        self.last_applied.insert(id.client, id.seq);
        if append {
            self.values.entry(key).or_default().push_str(&value);
        } else {
            self.values.insert(key, value);
        }
        String::new()
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = command;
        // unimplemented!("KvStore::apply is not written yet (kvraft/src/v2024/server.rs)")
        // END SKELETON
    }

    fn snapshot(&self) -> Vec<u8> {
        // BEGIN SOLUTION
        labrpc::codec::encode(&(&self.values, &self.last_applied)).expect("a store encodes")
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!("KvStore::snapshot is not written yet (kvraft/src/v2024/server.rs)")
        // END SKELETON
    }

    fn restore(&mut self, snapshot: &[u8]) {
        // BEGIN SOLUTION
        (self.values, self.last_applied) =
            labrpc::codec::decode(snapshot).expect("a snapshot this store wrote decodes");
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = snapshot;
        // unimplemented!("KvStore::restore is not written yet (kvraft/src/v2024/server.rs)")
        // END SKELETON
    }
}

/// One key/value server. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct KvServer {
    rsm: Rsm<KvStore>,
}

impl KvServer {
    /// Starts server `me` of `servers` (call it as the server's node) with its Raft peer,
    /// restoring from `persister`. `max_raft_state`: snapshot when Raft's persisted state
    /// reaches this many bytes; `None`: never snapshot.
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
        let (get, put, append) = (self.clone(), self.clone(), self.clone());
        Service::new()
            .handle(Get, move |args| {
                let kv = get.clone();
                async move { kv.get(args).await }
            })
            .handle(Put, move |args| {
                let kv = put.clone();
                async move { kv.put_append(args, false).await }
            })
            .handle(Append, move |args| {
                let kv = append.clone();
                async move { kv.put_append(args, true).await }
            })
    }

    /// The server's Raft peer (the tester serves its RPCs too).
    pub fn raft(&self) -> &Raft<Op<KvCommand>> {
        self.rsm.raft()
    }

    /// The server's replicated state machine.
    pub fn rsm(&self) -> &Rsm<KvStore> {
        &self.rsm
    }

    /// Stops the server (and its Raft peer).
    pub fn kill(&self) {
        self.rsm.kill();
    }

    /// The `Get` handler.
    async fn get(&self, args: GetArgs) -> Result<String, KvError> {
        // BEGIN SOLUTION
        self.rsm
            .submit(KvCommand::Get { key: args.key })
            .await
            .map_err(|_| KvError::WrongLeader)
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("KvServer::get is not written yet (kvraft/src/v2024/server.rs)")
        // END SKELETON
    }

    /// The `Put` (`append == false`) and `Append` handler.
    async fn put_append(&self, args: PutAppendArgs, append: bool) -> Result<(), KvError> {
        // BEGIN SOLUTION
        let PutAppendArgs { key, value, id } = args;
        let command = if append {
            KvCommand::Append { key, value, id }
        } else {
            KvCommand::Put { key, value, id }
        };
        self.rsm
            .submit(command)
            .await
            .map(|_| ())
            .map_err(|_| KvError::WrongLeader)
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (args, append);
        // unimplemented!("KvServer::put_append is not written yet (kvraft/src/v2024/server.rs)")
        // END SKELETON
    }
}
