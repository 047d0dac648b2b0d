//! The sharded key/value service's clerk: Lab 2's versioned `get` and `put` on any key. It
//! finds the key's shard ([`key2shard`](super::shardcfg::key2shard)), the group that serves
//! it in the current configuration (from the controller), and asks that group; when the group
//! answers `ErrWrongGroup`, or cannot be reached, it asks the controller again and retries.

use super::MakeEnd;
use super::rpc::{Error, Version};
use super::shardctrler::ShardCtrler;
// BEGIN SOLUTION
use super::shardcfg::{ShardConfig, key2shard};
use super::shardgrp::{GroupClerk, GroupClerks};
use labrpc::sim;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// How long the clerk waits before asking the controller again.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
// END SOLUTION

/// A client of the sharded key/value service.
pub struct Clerk {
    make_end: MakeEnd,
    ctrler: ShardCtrler,
    // BEGIN SOLUTION
    /// The configuration last read from the controller.
    config: RefCell<ShardConfig>,
    groups: GroupClerks,
    // END SOLUTION
}

impl Clerk {
    /// A clerk that reads configurations through `ctrler` and makes its ends to the groups'
    /// servers with `make_end`.
    pub fn new(make_end: MakeEnd, ctrler: ShardCtrler) -> Clerk {
        Clerk {
            make_end,
            ctrler,
            // BEGIN SOLUTION
            config: RefCell::new(ShardConfig::new()),
            groups: GroupClerks::default(),
            // END SOLUTION
        }
    }

    /// The value and version of `key`, or [`Error::NoKey`] if it does not exist. Keeps trying
    /// until the group that serves the key replies.
    pub async fn get(&self, key: &str) -> Result<(String, Version), Error> {
        // BEGIN SOLUTION
        loop {
            if let Some(group) = self.group_of(key) {
                match group.get(key).await {
                    Err(Error::WrongGroup | Error::WrongLeader) => {}
                    reply => return reply,
                }
            }
            self.refresh().await;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.make_end, &self.ctrler, key);
        // unimplemented!("Clerk::get is not written yet (shardkv/src/v2025/client.rs)")
        // END SKELETON
    }

    /// Installs `value` as the value of `key` if `version` is the key's current version
    /// (0: create the key), as Lab 4's clerk: [`Error::Maybe`] for a version mismatch after an
    /// earlier copy may have been executed, by this group or by one that served the key's
    /// shard before.
    pub async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), Error> {
        // BEGIN SOLUTION
        let mut maybe_executed = false;
        loop {
            if let Some(group) = self.group_of(key) {
                match group.put(key, value, version).await {
                    Err(Error::WrongGroup) => {}
                    Err(Error::WrongLeader) => maybe_executed = true,
                    Err(Error::Version) if maybe_executed => return Err(Error::Maybe),
                    reply => return reply,
                }
            }
            self.refresh().await;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (key, value, version);
        // unimplemented!("Clerk::put is not written yet (shardkv/src/v2025/client.rs)")
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl Clerk {
    /// A clerk of the group that serves `key`'s shard in the configuration last read.
    fn group_of(&self, key: &str) -> Option<Rc<GroupClerk>> {
        let config = self.config.borrow();
        let (gid, servers) = config.gid_servers(key2shard(key))?;
        Some(self.groups.get(gid, servers, &self.make_end))
    }

    /// Reads the current configuration: at once the first time, after a pause later.
    async fn refresh(&self) {
        if self.config.borrow().num != 0 {
            sim::sleep(RETRY_PAUSE).await;
        }
        let config = self.ctrler.query().await;
        *self.config.borrow_mut() = config;
    }
}
// END SOLUTION
