//! The controller's clerk: how administrators (the tester) and the shard groups reach the
//! controller. It is given: it finds the leader and retries, like the key/value clerk of
//! Lab 4, and numbers its requests for the servers' duplicate detection.

use crate::config::{Config, Gid, NSHARDS};
use crate::rpc::{CtrlerError, Join, JoinArgs, Leave, LeaveArgs, Move, MoveArgs, Query};
use crate::rpc::{QueryArgs, RequestId};
use labrpc::rand::RngExt;
use labrpc::{ClientEnd, Rpc, RpcError, sim};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the clerk waits after asking every server in vain (as the original: 100 ms).
pub const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A client of the shard controller. Each operation retries until the leader carries it out.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    /// The server that answered last: tried first.
    leader: Cell<usize>,
    /// This clerk's id (random) and its last request number.
    client: u64,
    seq: Cell<u64>,
}

impl Clerk {
    /// A clerk that reaches the controller through `servers`, one end per controller server.
    ///
    /// # Panics
    /// If `servers` is empty.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        assert!(
            !servers.is_empty(),
            "shardctrler: a clerk needs at least one end to a controller server"
        );
        Clerk {
            servers,
            leader: Cell::new(0),
            client: sim::rng().random(),
            seq: Cell::new(0),
        }
    }

    /// Configuration number `num`, or the latest if `num` is `None` or past the latest. It
    /// reflects every join, leave and move that completed before the call.
    pub async fn query(&self, num: Option<u64>) -> Config {
        self.call::<Query, _>(&QueryArgs { num }).await
    }

    /// Adds the groups of `servers` (gid → its servers' names); the controller rebalances.
    ///
    /// # Panics
    /// If `servers` is empty, names gid 0, or gives a group no server.
    pub async fn join(&self, servers: BTreeMap<Gid, Vec<String>>) {
        assert!(!servers.is_empty(), "shardctrler: join of no group");
        for (gid, names) in &servers {
            assert!(
                *gid != 0,
                "shardctrler: join of gid 0 (gid 0 is reserved for unassigned shards)"
            );
            assert!(
                !names.is_empty(),
                "shardctrler: join of gid {gid} without servers"
            );
        }
        let id = self.next_id();
        self.call::<Join, _>(&JoinArgs { servers, id }).await
    }

    /// Removes the groups `gids`; the controller gives their shards to the others (to gid 0
    /// if none is left).
    ///
    /// # Panics
    /// If `gids` names gid 0.
    pub async fn leave(&self, gids: &[Gid]) {
        assert!(
            !gids.contains(&0),
            "shardctrler: leave of gid 0 (gid 0 is reserved for unassigned shards)"
        );
        let id = self.next_id();
        let gids = gids.to_vec();
        self.call::<Leave, _>(&LeaveArgs { gids, id }).await
    }

    /// Gives shard `shard` to group `gid`, without rebalancing (the original's `Move`).
    ///
    /// # Panics
    /// If `shard` is not below [`NSHARDS`], or `gid` is 0.
    pub async fn move_shard(&self, shard: usize, gid: Gid) {
        assert!(
            shard < NSHARDS,
            "shardctrler: move of shard {shard}: shards are 0..{NSHARDS}"
        );
        assert!(
            gid != 0,
            "shardctrler: move of shard {shard} to gid 0 (gid 0 is reserved for unassigned \
             shards)"
        );
        let id = self.next_id();
        self.call::<Move, _>(&MoveArgs { shard, gid, id }).await
    }

    /// A new request id: this clerk's, with the next number.
    fn next_id(&self) -> RequestId {
        self.seq.set(self.seq.get() + 1);
        RequestId {
            client: self.client,
            seq: self.seq.get(),
        }
    }

    /// Sends `args` to each server in turn, starting with the last known leader, until one
    /// carries the request out; pauses after each round of refusals.
    async fn call<R, T>(&self, args: &R::Args) -> T
    where
        R: Rpc<Reply = Result<T, CtrlerError>>,
    {
        loop {
            for attempt in 0..self.servers.len() {
                let server = (self.leader.get() + attempt) % self.servers.len();
                match self.servers[server].call::<R>(args).await {
                    Ok(Ok(value)) => {
                        self.leader.set(server);
                        return value;
                    }
                    Ok(Err(CtrlerError::WrongLeader)) | Err(RpcError::NoReply) => {}
                    Err(error) => panic!("shardctrler clerk: {} failed: {error}", R::METHOD),
                }
            }
            sim::sleep(RETRY_PAUSE).await;
        }
    }
}
