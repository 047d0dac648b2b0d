//! The clerk: the library the tests (and applications) call to use the key/value server.

use super::rpc::{Append, Get, GetArgs, Put, PutAppendArgs};
use labrpc::ClientEnd;
// BEGIN SOLUTION
use labrpc::rand::RngExt;
use labrpc::sim;
// END SOLUTION

/// A client of the key/value server. One clerk makes one call at a time (its methods take
/// `&mut self`); the tests make a clerk per concurrent client.
#[derive(Debug)]
pub struct Clerk {
    /// The end to the server. `server.call::<Get>(&args).await` returns `Ok(reply)`, or
    /// `Err(RpcError::NoReply)` when the request or the reply was lost.
    server: ClientEnd,
    // BEGIN SOLUTION
    /// This clerk's identity in its requests, drawn at random.
    id: u64,
    /// The number of this clerk's last `put` or `append` request.
    last_request: u64,
    // END SOLUTION
}

impl Clerk {
    /// A clerk that talks to the server through `server` (the tester makes a fresh end for
    /// each clerk). Call it inside the simulation: draw random numbers with
    /// `labrpc::sim::rng()`.
    pub fn new(server: ClientEnd) -> Clerk {
        Clerk {
            server,
            // BEGIN SOLUTION
            id: sim::rng().random(),
            last_request: 0,
            // END SOLUTION
        }
    }

    /// The value of `key`, or `""` if the key does not exist. Keeps trying until the server
    /// replies.
    pub async fn get(&mut self, key: &str) -> String {
        // BEGIN SOLUTION
        let args = GetArgs {
            key: key.to_string(),
        };
        loop {
            if let Ok(reply) = self.server.call::<Get>(&args).await {
                return reply.value;
            }
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.server, key, Get, GetArgs::default());
        // unimplemented!("Clerk::get: send a Get RPC, retrying until the server replies")
        // END SKELETON
    }

    /// Replaces the value of `key` with `value`. Keeps trying until the server replies; the
    /// server applies it once however many times it arrives.
    pub async fn put(&mut self, key: &str, value: &str) {
        // BEGIN SOLUTION
        self.put_append::<Put>(key, value).await;
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (key, value, Put, PutAppendArgs::default());
        // unimplemented!("Clerk::put: send a Put RPC, retrying until the server replies")
        // END SKELETON
    }

    /// Appends `arg` to the value of `key` (a missing key counts as `""`) and returns the value
    /// before the append. Keeps trying until the server replies; the server applies it once
    /// however many times it arrives, and answers every copy with the same old value.
    pub async fn append(&mut self, key: &str, arg: &str) -> String {
        // BEGIN SOLUTION
        self.put_append::<Append>(key, arg).await
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (key, arg, Append);
        // unimplemented!("Clerk::append: send an Append RPC, retrying until the server replies")
        // END SKELETON
    }

    // BEGIN SOLUTION
    /// Sends a new `Put` or `Append` request until a reply comes back, and returns the reply's
    /// value. Every retry carries the same request number, so the server can tell a retry
    /// from a new request.
    async fn put_append<R>(&mut self, key: &str, value: &str) -> String
    where
        R: labrpc::Rpc<Args = PutAppendArgs, Reply = super::PutAppendReply>,
    {
        self.last_request += 1;
        let args = PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            clerk: self.id,
            request: self.last_request,
        };
        loop {
            if let Ok(reply) = self.server.call::<R>(&args).await {
                return reply.value;
            }
        }
    }
    // END SOLUTION
}
