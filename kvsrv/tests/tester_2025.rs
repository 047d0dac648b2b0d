//! Tests of the edition-2025 tester itself: a broken clerk or a broken lock must fail the
//! graded scenarios, with a message that says what went wrong. (Not graded; the student
//! skeleton keeps this file empty.)

// BEGIN SOLUTION
mod common;
mod harness_2025;

use harness_2025::{KvClerk, TestLock, Tester, lock_clients, put_concurrent, unreliable_net};
use kvsrv::v2025::{Clerk, Error, Get, GetArgs, Put, PutArgs, Version};
use labrpc::ClientEnd;
use labrpc::rand::RngExt;
use labrpc::sim;
use labtest::Options;
use std::time::Duration;

/// A clerk that resends a put until it gets a reply and returns the reply as it is: a retried
/// put whose first copy was executed comes back `ErrVersion` instead of `ErrMaybe`.
struct CandidClerk {
    server: ClientEnd,
}

impl KvClerk for CandidClerk {
    fn connect(server: ClientEnd) -> Self {
        CandidClerk { server }
    }

    async fn get(&self, key: &str) -> Result<(String, Version), Error> {
        let args = GetArgs { key: key.into() };
        loop {
            if let Ok(reply) = self.server.call::<Get>(&args).await {
                return reply;
            }
        }
    }

    async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), Error> {
        let args = PutArgs {
            key: key.into(),
            value: value.into(),
            version,
        };
        loop {
            if let Ok(reply) = self.server.call::<Put>(&args).await {
                return reply;
            }
        }
    }
}

/// A lock that takes a free lock with a put at the version it read, but never looks at what
/// the put returned: two clients that both saw it free both think they hold it.
struct UncheckedLock {
    clerk: Clerk,
    key: String,
    holder: String,
}

impl TestLock for UncheckedLock {
    fn make(clerk: Clerk, key: &str) -> Self {
        let holder = sim::rng().random::<u64>().to_string();
        UncheckedLock {
            clerk,
            key: key.into(),
            holder,
        }
    }

    async fn acquire(&self) {
        loop {
            match self.clerk.get(&self.key).await {
                Ok((value, version)) if value.is_empty() => {
                    let _ = self.clerk.put(&self.key, &self.holder, version).await;
                    return;
                }
                Err(_) => {
                    let _ = self.clerk.put(&self.key, &self.holder, 0).await;
                    return;
                }
                Ok(_) => sim::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    async fn release(&self) {
        if let Ok((_, version)) = self.clerk.get(&self.key).await {
            let _ = self.clerk.put(&self.key, "", version).await;
        }
    }
}

#[test]
fn a_clerk_that_returns_err_version_on_a_retried_put_fails_unreliable_net_2() {
    let failed = labtest::must_fail(|cx| async move {
        unreliable_net(&Tester::<CandidClerk>::with_clerk(&cx, false)).await
    });
    failed.assert_mentions(&[
        "never returned ErrMaybe",
        "must return ErrMaybe",
        "LAB_SEED=1 LAB_SEEDS=1 cargo test",
    ]);
}

#[test]
fn a_lock_without_a_version_check_fails_many_clients_reliable_2() {
    let failed = labtest::must_fail(|cx| async move {
        lock_clients::<UncheckedLock>(&Tester::for_locks(&cx, true), 10).await
    });
    failed.assert_mentions(&["two clients", "critical section"]);
}

#[test]
fn the_candid_clerk_is_otherwise_correct() {
    // The broken clerk differs from a correct one only on retries: on a reliable network it
    // passes, so the failure above is about ErrMaybe and nothing else.
    labtest::try_run(&Options::default(), 1, |cx| async move {
        put_concurrent(&Tester::<CandidClerk>::with_clerk(&cx, true)).await
    })
    .unwrap_or_else(|f| panic!("{}", f.message));
}

#[global_allocator]
static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;

#[test]
fn finished_seeds_leave_nothing_behind() {
    // The edition's busiest test, unreliable_net_2: nothing of a run may outlive it, or a
    // many-seed run grows with every seed.
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=3, |cx| async move {
        harness_2025::unreliable_net(&Tester::new(&cx, false)).await
    });
}
// END SOLUTION
