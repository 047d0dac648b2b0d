//! The shard controller: a library, not a service. The tester (an administrator) makes one,
//! asks it to move the system to a new configuration, and may lose it at any moment, or run
//! several at once. Its only state is in Lab 2's key/value server (your 2025 `kvsrv`), at
//! [`CONFIG_STORE`]: the configurations, stored as strings
//! ([`ShardConfig::to_json`]).
//!
//! - 5A: [`ShardCtrler::change_config_to`] moves every shard whose group changes (freeze it at
//!   the old group, install its keys at the new one, delete it at the old one), then stores
//!   the new configuration as the current one, where clerks find it ([`ShardCtrler::query`]).
//! - 5B: a controller may fail halfway. Store the next configuration before moving anything,
//!   so that the next controller's [`ShardCtrler::init_controller`] can finish the change.
//! - 5C: controllers may run at once (one cut off and back, or several changing the same
//!   configuration): only one may change the configuration of a given number (versioned puts
//!   of the stored configurations decide which), and the groups refuse the moves of a
//!   superseded one (they carry the configuration's number).

use super::MakeEnd;
use super::shardcfg::ShardConfig;
// BEGIN SOLUTION
use super::rpc::Error;
use super::shardcfg::{ConfigNum, Gid, NSHARDS};
use super::shardgrp::{GroupClerk, GroupClerks};
use kvsrv::v2025::{Clerk as StoreClerk, Error as StoreError, Version};
use labrpc::sim;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;
// END SOLUTION

/// The network name of the key/value server (Lab 2) that keeps the configurations.
pub const CONFIG_STORE: &str = "server-0-0";

// BEGIN SOLUTION
/// The key of the current configuration, the one clerks use.
const CURRENT: &str = "config/current";

/// The key of the configuration being moved to (equal to the current one when no change is
/// under way).
const NEXT: &str = "config/next";

/// How long a controller waits before asking a group that did not answer again.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
// END SOLUTION

/// A shard controller. Cloning gives another handle to the same controller.
#[derive(Clone)]
pub struct ShardCtrler {
    make_end: MakeEnd,
    // BEGIN SOLUTION
    store: StoreClerk,
    groups: Rc<GroupClerks>,
    // END SOLUTION
}

impl ShardCtrler {
    /// A controller that makes its ends to servers, the configuration store's included, with
    /// `make_end` (the tester cuts a controller off by cutting the ends it made).
    pub fn new(make_end: MakeEnd) -> ShardCtrler {
        // BEGIN SOLUTION
        let store = StoreClerk::new(make_end(CONFIG_STORE));
        ShardCtrler {
            make_end,
            store,
            groups: Rc::default(),
        }
        // END SOLUTION
        // BEGIN SKELETON
        // ShardCtrler { make_end }
        // END SKELETON
    }

    /// Called before a new controller is used (not for the first one, which
    /// [`ShardCtrler::init_config`] sets up). 5A: nothing to do. 5B: finish a configuration
    /// change that a failed controller left halfway.
    pub async fn init_controller(&self) {
        // BEGIN SOLUTION
        let (current, current_version) = self.read(CURRENT).await;
        let (next, _) = self.read(NEXT).await;
        if next.num > current.num && self.move_shards(&current, &next).await {
            self.promote(&next, current_version).await;
        }
        // END SOLUTION
    }

    /// Stores the first configuration (called once, by the tester, before anything else).
    pub async fn init_config(&self, config: ShardConfig) {
        // BEGIN SOLUTION
        // One caller: an `ErrMaybe` here means the put was executed.
        let _ = self.store.put(CURRENT, &config.to_json(), 0).await;
        let _ = self.store.put(NEXT, &config.to_json(), 0).await;
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = (&self.make_end, config);
        // unimplemented!(
        //     "ShardCtrler::init_config is not written yet (shardkv/src/v2025/shardctrler.rs)"
        // )
        // END SKELETON
    }

    /// Moves the system from the current configuration to `new` (whose number is the current
    /// one's plus one): moves the shards whose group changes, then makes `new` current.
    /// Returns without changing anything if another controller changes this number's
    /// configuration first, and returns as soon as it finds itself superseded.
    pub async fn change_config_to(&self, new: ShardConfig) {
        // BEGIN SOLUTION
        let (current, current_version) = self.read(CURRENT).await;
        let (next, next_version) = self.read(NEXT).await;
        if new.num != current.num + 1 || next.num >= new.num {
            return;
        }
        // Claim the number: of controllers that read the same `next`, one put succeeds.
        match self.store.put(NEXT, &new.to_json(), next_version).await {
            Ok(()) => {}
            Err(StoreError::Maybe) if self.read(NEXT).await.0 == new => {}
            Err(_) => return,
        }
        if self.move_shards(&current, &new).await {
            self.promote(&new, current_version).await;
        }
        // END SOLUTION
        // BEGIN SKELETON
        // let _ = new;
        // unimplemented!(
        //     "ShardCtrler::change_config_to is not written yet (shardkv/src/v2025/shardctrler.rs)"
        // )
        // END SKELETON
    }

    /// The current configuration.
    pub async fn query(&self) -> ShardConfig {
        // BEGIN SOLUTION
        self.read(CURRENT).await.0
        // END SOLUTION
        // BEGIN SKELETON
        // unimplemented!("ShardCtrler::query is not written yet (shardkv/src/v2025/shardctrler.rs)")
        // END SKELETON
    }
}

// BEGIN SOLUTION
impl ShardCtrler {
    /// The configuration stored at `key` and its version (the empty one before the first).
    async fn read(&self, key: &str) -> (ShardConfig, Version) {
        match self.store.get(key).await {
            Ok((text, version)) => match ShardConfig::from_json(&text) {
                Ok(config) => (config, version),
                Err(e) => panic!("the configuration store's {key:?}: {e}"),
            },
            Err(_) => (ShardConfig::new(), 0),
        }
    }

    /// Makes `new` the current configuration, if the current one is still the one read at
    /// `version` (if not, another controller did it).
    async fn promote(&self, new: &ShardConfig, version: Version) {
        let _ = self.store.put(CURRENT, &new.to_json(), version).await;
    }

    /// Moves every shard whose group differs between `from` and `to`. Returns false if it
    /// found itself superseded: another controller finished this change or started a later
    /// one.
    async fn move_shards(&self, from: &ShardConfig, to: &ShardConfig) -> bool {
        for shard in 0..NSHARDS {
            let (old, new) = (from.shards[shard], to.shards[shard]);
            if old == new {
                continue;
            }
            let state = if old == 0 {
                labrpc::codec::encode(&BTreeMap::<String, (String, Version)>::new())
                    .expect("no keys encode")
            } else {
                let group = self.group(old, from);
                match self
                    .until_done(to.num, || group.freeze_shard(shard, to.num))
                    .await
                {
                    Some(state) => state,
                    None => return false,
                }
            };
            if new == 0 {
                // No group serves it now: it stays frozen where it was.
                continue;
            }
            let group = self.group(new, to);
            let installed = self
                .until_done(to.num, || group.install_shard(shard, state.clone(), to.num))
                .await;
            if installed.is_none() {
                return false;
            }
            if old != 0 {
                let group = self.group(old, from);
                if self
                    .until_done(to.num, || group.delete_shard(shard, to.num))
                    .await
                    .is_none()
                {
                    return false;
                }
            }
        }
        true
    }

    /// Calls `step` until a server of its group carries it out. `None` if the group refused it
    /// as old, or if it finds the change to configuration `num` superseded while the group does
    /// not answer (it may be down).
    async fn until_done<T, F: Future<Output = Result<T, Error>>>(
        &self,
        num: ConfigNum,
        step: impl Fn() -> F,
    ) -> Option<T> {
        loop {
            match step().await {
                Ok(done) => return Some(done),
                Err(Error::OldConfig) => return None,
                Err(_) => {
                    if self.superseded(num).await {
                        return None;
                    }
                    sim::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Whether the change to configuration `num` is over (another controller finished it) or
    /// was overtaken by a later one.
    async fn superseded(&self, num: ConfigNum) -> bool {
        self.read(CURRENT).await.0.num >= num || self.read(NEXT).await.0.num > num
    }

    /// A clerk of group `gid`, with its servers as `config` names them.
    fn group(&self, gid: Gid, config: &ShardConfig) -> Rc<GroupClerk> {
        let servers = config.groups.get(&gid).map_or(&[][..], Vec::as_slice);
        self.groups.get(gid, servers, &self.make_end)
    }
}
// END SOLUTION
