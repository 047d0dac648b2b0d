//! The clerk: the library a client links to reach the key/value service.

use crate::rpc::{GetArgs, PutAppendArgs, RequestId};
use labrpc::ClientEnd;
// BEGIN SOLUTION
use crate::rpc::{Append, Get, KvError, Put};
use labrpc::rand::RngExt;
use labrpc::sim;
use labrpc::{Rpc, RpcError};
use std::cell::Cell;
use std::time::Duration;

/// How long a clerk waits after asking every server in vain (an election is under way).
const RETRY_PAUSE: Duration = Duration::from_millis(20);
// END SOLUTION

/// A client of the key/value service. Its operations retry until some server, the leader,
/// carries them out; each returns once its operation has taken effect exactly once.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    // BEGIN SOLUTION
    /// Where to try first: the server that answered last.
    leader: Cell<usize>,
    id: u64,
    seq: Cell<u64>,
    // END SOLUTION
}

impl Clerk {
    /// A clerk that talks to the service through `servers`: one end per server, in an order
    /// unrelated to the servers' own indexes.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk {
            servers,
            // BEGIN SOLUTION
            leader: Cell::new(0),
            id: sim::rng().random(),
            seq: Cell::new(0),
            // END SOLUTION
        }
    }

    /// The value of `key` (`""` if it has none). Retries forever.
    pub async fn get(&self, key: &str) -> String {
        let args = GetArgs {
            key: key.to_string(),
        };
        // BEGIN SOLUTION
        self.call::<Get, _>(&args).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (args, &self.servers);
        // unimplemented!("Clerk::get is not written yet (kvraft/src/v2024/client.rs)")
        // END SKELETON
    }

    /// Sets `key` to `value`. Retries forever.
    pub async fn put(&self, key: &str, value: &str) {
        let args = self.put_append_args(key, value);
        // BEGIN SOLUTION
        self.call::<Put, _>(&args).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("Clerk::put is not written yet (kvraft/src/v2024/client.rs)")
        // END SKELETON
    }

    /// Appends `value` to `key`'s value. Retries forever.
    pub async fn append(&self, key: &str, value: &str) {
        let args = self.put_append_args(key, value);
        // BEGIN SOLUTION
        self.call::<Append, _>(&args).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = args;
        // unimplemented!("Clerk::append is not written yet (kvraft/src/v2024/client.rs)")
        // END SKELETON
    }

    /// The arguments of a new `Put` or `Append`, with a new request id.
    fn put_append_args(&self, key: &str, value: &str) -> PutAppendArgs {
        // BEGIN SOLUTION
        self.seq.set(self.seq.get() + 1);
        let id = RequestId {
            client: self.id,
            seq: self.seq.get(),
        };
        // END SOLUTION
        // BEGIN SKELETON
        // let id = RequestId { client: 0, seq: 0 };
        // END SKELETON
        PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            id,
        }
    }
}

// BEGIN SOLUTION
impl Clerk {
    /// Sends `args` to each server in turn, starting with the last known leader, until one
    /// carries the operation out.
    async fn call<R, T>(&self, args: &R::Args) -> T
    where
        R: Rpc<Reply = Result<T, KvError>>,
    {
        loop {
            for attempt in 0..self.servers.len() {
                let server = (self.leader.get() + attempt) % self.servers.len();
                match self.servers[server].call::<R>(args).await {
                    Ok(Ok(value)) => {
                        self.leader.set(server);
                        return value;
                    }
                    Ok(Err(KvError::WrongLeader)) | Err(RpcError::NoReply) => {}
                    Err(error) => panic!("kvraft clerk: {} failed: {error}", R::METHOD),
                }
            }
            sim::sleep(RETRY_PAUSE).await;
        }
    }
}
// END SOLUTION
