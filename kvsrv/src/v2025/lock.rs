//! A lock built on the versioned key/value server: many clients, each with its own clerk,
//! contend for one key.

use super::client::Clerk;
// BEGIN SOLUTION
use super::rpc::Error;
use labrpc::rand::RngExt;
use labrpc::sim;
use std::time::Duration;

/// How long a waiting client sleeps before it looks at a held lock again.
const RETRY_INTERVAL: Duration = Duration::from_millis(5);

/// The value of a free lock's key.
const FREE: &str = "";
// END SOLUTION

/// A lock stored under one key of the key/value server. Every client makes its own `Lock`
/// (with its own clerk) on the same key; at most one of them holds the lock at a time.
#[derive(Debug)]
pub struct Lock {
    /// The clerk the lock talks to the server with: use only its `get` and `put`.
    clerk: Clerk,
    /// The key the lock lives under.
    key: String,
    // BEGIN SOLUTION
    /// What this lock writes under its key while it holds it: random, so that no two
    /// `Lock`s write the same.
    holder: String,
    // END SOLUTION
}

impl Lock {
    /// A lock on `key` that talks to the server through `clerk`. Does not acquire it. Call
    /// it inside the simulation: draw random numbers with `labrpc::sim::rng()`.
    pub fn new(clerk: Clerk, key: &str) -> Lock {
        Lock {
            clerk,
            key: key.to_string(),
            // BEGIN SOLUTION
            holder: (0..8)
                .map(|_| char::from(b'a' + sim::rng().random_range(0..26u8)))
                .collect(),
            // END SOLUTION
        }
    }

    /// Waits until this client holds the lock. Must not be called while holding it.
    pub async fn acquire(&self) {
        // BEGIN SOLUTION
        loop {
            let (value, version) = match self.clerk.get(&self.key).await {
                Ok(found) => found,
                Err(_) => (FREE.to_string(), 0),
            };
            if value == self.holder {
                // An earlier put of ours, answered with ErrMaybe, did happen.
                return;
            }
            if value == FREE {
                match self.clerk.put(&self.key, &self.holder, version).await {
                    Ok(()) => return,
                    // Someone else was faster, or our put may have happened: look again.
                    Err(Error::Version | Error::Maybe | Error::NoKey) => continue,
                }
            }
            sim::sleep(RETRY_INTERVAL).await;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.clerk, &self.key);
        // unimplemented!(
        //     "Lock::acquire: wait until the key says the lock is free, then take it with a versioned put"
        // )
        // END SKELETON
    }

    /// Releases the lock, which this client holds.
    pub async fn release(&self) {
        // BEGIN SOLUTION
        loop {
            let (value, version) = match self.clerk.get(&self.key).await {
                Ok(found) => found,
                Err(_) => return,
            };
            if value != self.holder {
                // Released already (by an earlier put of ours answered with ErrMaybe).
                return;
            }
            match self.clerk.put(&self.key, FREE, version).await {
                Ok(()) => return,
                // Only the holder writes the key, so the put went through or can be retried.
                Err(Error::Maybe | Error::Version | Error::NoKey) => continue,
            }
        }
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!("Lock::release: free the key with a versioned put")
        // END SKELETON
    }
}
