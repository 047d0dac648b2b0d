//! The clerk: the library the tests and the lock call to use the key/value server.

use super::rpc::{Error, Get, GetArgs, Put, PutArgs, Version};
use labrpc::ClientEnd;

/// A client of the versioned key/value server. It keeps no state between calls, so clones
/// may be used from several tasks at once.
#[derive(Clone, Debug)]
pub struct Clerk {
    /// The end to the server. `server.call::<Get>(&args).await` returns `Ok(reply)`, or
    /// `Err(RpcError::NoReply)` when the request or the reply was lost.
    server: ClientEnd,
}

impl Clerk {
    /// A clerk that talks to the server through `server` (the tester makes a fresh end for
    /// each clerk).
    pub fn new(server: ClientEnd) -> Clerk {
        Clerk { server }
    }

    /// The value and version of `key`, or [`Error::NoKey`] if it does not exist. Keeps trying
    /// until the server replies.
    pub async fn get(&self, key: &str) -> Result<(String, Version), Error> {
        // BEGIN SOLUTION
        let args = GetArgs {
            key: key.to_string(),
        };
        loop {
            if let Ok(reply) = self.server.call::<Get>(&args).await {
                return reply;
            }
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.server, key, Get, GetArgs::default());
        // unimplemented!("Clerk::get: send a Get RPC, retrying until the server replies")
        // END SKELETON
    }

    /// Installs `value` as the value of `key` if `version` is the key's current version
    /// (0: create the key). Keeps trying until the server replies. Returns `Ok(())` if the
    /// value was installed, [`Error::NoKey`] if the key does not exist and `version` is not
    /// 0, [`Error::Version`] if the version did not match on the first try, and
    /// [`Error::Maybe`] if it did not match on a retry (the first try may have been
    /// executed: its reply was lost).
    pub async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), Error> {
        // BEGIN SOLUTION
        let args = PutArgs {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        let mut retry = false;
        loop {
            match self.server.call::<Put>(&args).await {
                Ok(Err(Error::Version)) if retry => return Err(Error::Maybe),
                Ok(reply) => return reply,
                Err(_) => retry = true,
            }
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (key, value, version, Put, PutArgs::default(), Error::Maybe);
        // unimplemented!("Clerk::put: send a Put RPC, retrying until the server replies")
        // END SKELETON
    }
}
