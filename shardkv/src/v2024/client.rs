//! The clerk: the library a client links to reach the sharded service. It is given, like
//! the original's `client.go`: it caches a configuration, sends each operation to the group
//! that serves the key's shard, and asks the controller again when that group says
//! `WrongGroup` or no server of it answers.

use crate::rpc::{Append, Get, GetArgs, Put, PutAppendArgs, RequestId, ShardKvError};
use labrpc::rand::RngExt;
use labrpc::{ClientEnd, Rpc, RpcError, sim};
use shardctrler::{Config, Gid, NSHARDS};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Makes an end to a server by its name on the network (`"server-101-2"`): a fresh end,
/// connected and enabled. The names come from the controller's configurations.
pub type MakeEnd = Rc<dyn Fn(&str) -> ClientEnd>;

/// How long the clerk waits before asking the controller again (as the original: 100 ms).
pub const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The shard a key belongs to: its first byte modulo [`NSHARDS`] (0 for the empty key), as
/// the original. Keys `"0"` to `"9"` land in ten different shards.
pub fn key2shard(key: &str) -> usize {
    key.bytes().next().map_or(0, usize::from) % NSHARDS
}

/// A client of the sharded key/value service. Each operation retries until the group that
/// serves its key carries it out.
pub struct Clerk {
    ctrler: shardctrler::Clerk,
    make_end: MakeEnd,
    /// The latest configuration this clerk knows.
    config: RefCell<Config>,
    /// Ends made so far, by server name.
    ends: RefCell<BTreeMap<String, ClientEnd>>,
    /// For each group, the server that answered last (tried first).
    leaders: RefCell<BTreeMap<Gid, usize>>,
    /// This clerk's id (random) and its last request number.
    client: u64,
    seq: Cell<u64>,
}

impl Clerk {
    /// A clerk that asks the controller through `ctrlers` (one end per controller server)
    /// and reaches shard servers through ends made by `make_end`.
    pub fn new(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk {
            ctrler: shardctrler::Clerk::new(ctrlers),
            make_end,
            config: RefCell::new(Config::default()),
            ends: RefCell::new(BTreeMap::new()),
            leaders: RefCell::new(BTreeMap::new()),
            client: sim::rng().random(),
            seq: Cell::new(0),
        }
    }

    /// The value of `key` (`""` if it has none). Retries forever.
    pub async fn get(&self, key: &str) -> String {
        let args = GetArgs {
            key: key.to_string(),
        };
        self.call::<Get, _>(key, &args).await
    }

    /// Sets `key` to `value`. Retries forever.
    pub async fn put(&self, key: &str, value: &str) {
        let args = self.put_append_args(key, value);
        self.call::<Put, _>(key, &args).await
    }

    /// Appends `value` to `key`'s value. Retries forever.
    pub async fn append(&self, key: &str, value: &str) {
        let args = self.put_append_args(key, value);
        self.call::<Append, _>(key, &args).await
    }

    /// The arguments of a new `Put` or `Append`, with a new request id.
    fn put_append_args(&self, key: &str, value: &str) -> PutAppendArgs {
        self.seq.set(self.seq.get() + 1);
        PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            id: RequestId {
                client: self.client,
                seq: self.seq.get(),
            },
        }
    }

    /// The end to the server named `name` (made on first use).
    fn end(&self, name: &str) -> ClientEnd {
        let mut ends = self.ends.borrow_mut();
        ends.entry(name.to_string())
            .or_insert_with(|| (self.make_end)(name))
            .clone()
    }

    /// Sends `args` to the servers of the group that serves `key`'s shard, in turn (starting
    /// with the one that answered last), until one carries the operation out; after each round
    /// without success, waits and asks the controller for the latest configuration.
    async fn call<R, T>(&self, key: &str, args: &R::Args) -> T
    where
        R: Rpc<Reply = Result<T, ShardKvError>>,
    {
        let shard = key2shard(key);
        loop {
            if self.config.borrow().num == 0 {
                // No configuration yet: ask before trying anyone.
                let latest = self.ctrler.query(None).await;
                *self.config.borrow_mut() = latest;
            }
            let (gid, servers) = {
                let config = self.config.borrow();
                let gid = config.shards[shard];
                (gid, config.groups.get(&gid).cloned().unwrap_or_default())
            };
            let first = self.leaders.borrow().get(&gid).copied().unwrap_or(0);
            for attempt in 0..servers.len() {
                let server = (first + attempt) % servers.len();
                match self.end(&servers[server]).call::<R>(args).await {
                    Ok(Ok(value)) => {
                        self.leaders.borrow_mut().insert(gid, server);
                        return value;
                    }
                    Ok(Err(ShardKvError::WrongGroup)) => break,
                    Ok(Err(ShardKvError::WrongLeader)) | Err(RpcError::NoReply) => {}
                    Err(error) => panic!("shardkv clerk: {} failed: {error}", R::METHOD),
                }
            }
            sim::sleep(RETRY_PAUSE).await;
            let latest = self.ctrler.query(None).await;
            *self.config.borrow_mut() = latest;
        }
    }
}
