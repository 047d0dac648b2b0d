//! The per-node counting allocator: bytes are charged to the node whose code allocated them,
//! uncharged when freed by anyone, and other nodes' and threads' allocations don't mix in.

use labrpc::sim::{Node, Sim};
use labtest::Options;
use labtest::alloc::{NodeCounting, live_bytes, start_counting};
use std::cell::RefCell;
use std::rc::Rc;

#[global_allocator]
static ALLOCATOR: NodeCounting = NodeCounting;

#[test]
fn bytes_are_charged_to_the_allocating_node() {
    Sim::new(1)
        .run(|| async {
            start_counting();
            let server = Node::new("server");
            let other = Node::new("other");
            let kept: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
            let store = kept.clone();
            server
                .spawn(async move { store.borrow_mut().push(vec![7u8; 100_000]) })
                .await
                .unwrap();
            let elsewhere = other.spawn(async { vec![1u8; 50_000] }).await.unwrap();
            assert!((100_000..101_000).contains(&live_bytes(server)));
            assert!((50_000..51_000).contains(&live_bytes(other)));
            // Freed by the test node: uncharged from the server all the same.
            kept.borrow_mut().clear();
            drop(elsewhere);
            assert!(live_bytes(server) < 1_000, "{}", live_bytes(server));
            assert!(live_bytes(other) < 1_000, "{}", live_bytes(other));
        })
        .unwrap();
}

#[test]
fn simulations_on_other_threads_do_not_mix() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                Sim::new(i)
                    .run(move || async move {
                        start_counting();
                        let node = Node::new("n");
                        let size = 10_000 * (i as usize + 1);
                        let kept = node.spawn(async move { vec![0u8; size] }).await.unwrap();
                        let live = live_bytes(node);
                        drop(kept);
                        (size as i64, live)
                    })
                    .unwrap()
                    .value
            })
        })
        .collect();
    for thread in threads {
        let (size, live) = thread.join().unwrap();
        assert!(live >= size && live < size + 1_000, "{live} for {size}");
    }
}

#[test]
fn a_run_that_frees_everything_passes_the_leak_check() {
    labtest::assert_seeds_leave_nothing(&Options::default(), 1..=3, |cx| async move {
        cx.set_peers(1);
        let node = Node::new("server");
        let kept: Rc<RefCell<Vec<u64>>> = Rc::default();
        let store = kept.clone();
        node.spawn(async move { store.borrow_mut().extend(0..1000) })
            .await
            .unwrap();
    });
}

#[test]
fn a_reference_cycle_fails_the_leak_check_naming_the_seeds() {
    /// A structure that holds itself: never freed.
    struct Cyclic {
        me: RefCell<Option<Rc<Cyclic>>>,
        _payload: Vec<u8>,
    }
    let caught = std::panic::catch_unwind(|| {
        labtest::assert_seeds_leave_nothing(&Options::default(), 4..=6, |_cx| async move {
            let cyclic = Rc::new(Cyclic {
                me: RefCell::new(None),
                _payload: vec![0; 1000],
            });
            *cyclic.me.borrow_mut() = Some(cyclic.clone());
        });
    })
    .expect_err("a run that leaks must fail the check");
    let message = caught
        .downcast_ref::<String>()
        .expect("a formatted message");
    // The first seed only warms up (what it leaves may be kept for good on purpose).
    assert!(!message.contains("seed 4: "), "{message}");
    assert!(message.contains("seed 5: "), "{message}");
    assert!(message.contains("seed 6: "), "{message}");
    assert!(message.contains("reference cycle"), "{message}");
}
