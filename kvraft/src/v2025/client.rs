//! The clerk: the library a client links to reach the key/value service.

use super::rpc::{Error, GetArgs, PutArgs, Version};
use labrpc::ClientEnd;
// BEGIN SOLUTION
use super::rpc::{Get, Put};
use labrpc::sim;
use std::cell::Cell;
use std::time::Duration;

/// How long a clerk waits after asking every server in vain (an election is under way).
const RETRY_PAUSE: Duration = Duration::from_millis(20);
// END SOLUTION

/// A client of the key/value service. Its operations retry until some server, the leader,
/// carries them out.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    // BEGIN SOLUTION
    /// Where to try first: the server that answered last.
    leader: Cell<usize>,
    // END SOLUTION
}

impl Clerk {
    /// A clerk that talks to the service through `servers`: one end per server, in the
    /// servers' order (the original's server names). Some may be unreachable.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk {
            servers,
            // BEGIN SOLUTION
            leader: Cell::new(0),
            // END SOLUTION
        }
    }

    /// The value and version of `key`, or [`Error::NoKey`] if it does not exist. Keeps trying
    /// until the leader replies.
    pub async fn get(&self, key: &str) -> Result<(String, Version), Error> {
        let args = GetArgs {
            key: key.to_string(),
        };
        // BEGIN SOLUTION
        loop {
            for attempt in 0..self.servers.len() {
                let server = (self.leader.get() + attempt) % self.servers.len();
                match self.servers[server].call::<Get>(&args).await {
                    Ok(Err(Error::WrongLeader)) | Err(_) => {}
                    Ok(reply) => {
                        self.leader.set(server);
                        return reply;
                    }
                }
            }
            sim::sleep(RETRY_PAUSE).await;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.servers, args);
        // unimplemented!("Clerk::get is not written yet (kvraft/src/v2025/client.rs)")
        // END SKELETON
    }

    /// Installs `value` as the value of `key` if `version` is the key's current version
    /// (0: create the key). Keeps trying until the leader replies. Returns `Ok(())` if the
    /// value was installed, [`Error::NoKey`] if the key does not exist and `version` is not 0,
    /// [`Error::Version`] if the version did not match on the first try, and [`Error::Maybe`]
    /// if it did not match on a later try (an earlier copy may have been executed: its reply
    /// was lost, or its server lost leadership after starting it).
    pub async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), Error> {
        let args = PutArgs {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        // BEGIN SOLUTION
        let mut maybe_executed = false;
        loop {
            for attempt in 0..self.servers.len() {
                let server = (self.leader.get() + attempt) % self.servers.len();
                match self.servers[server].call::<Put>(&args).await {
                    Ok(Err(Error::WrongLeader)) | Err(_) => maybe_executed = true,
                    Ok(reply) => {
                        self.leader.set(server);
                        return match reply {
                            Err(Error::Version) if maybe_executed => Err(Error::Maybe),
                            reply => reply,
                        };
                    }
                }
            }
            sim::sleep(RETRY_PAUSE).await;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.servers, args);
        // unimplemented!("Clerk::put is not written yet (kvraft/src/v2025/client.rs)")
        // END SKELETON
    }
}
