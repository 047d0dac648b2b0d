//! Counting the bytes a simulated node keeps alive: the memory tests of the key/value labs
//! measure what a *server* holds, as the originals measure their heap, but per node and per
//! simulation thread, so parallel tests and seeds never mix and a count is a function of the
//! seed.
//!
//! A test binary installs [`NodeCounting`] as its global allocator. Every allocation made
//! while a node's code runs (its tasks, its handlers, code run `as` it) is charged to that
//! node; its bytes are uncharged when freed, whoever frees them. [`live_bytes`] tells how many
//! bytes charged to a node are still allocated. Allocations of other threads and of code
//! outside a simulation are charged to nobody.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOCATOR: labtest::alloc::NodeCounting = labtest::alloc::NodeCounting;
//!
//! # async fn body(server_node: labrpc::sim::Node) {
//! // At the start of a test's body, inside the simulation:
//! labtest::alloc::start_counting();
//! // ... start the server on `server_node`, run the clients ...
//! // What the server node keeps after the work is done:
//! let kept = labtest::alloc::live_bytes(server_node);
//! # }
//! ```

// A global allocator is `unsafe` to implement: this module is the workspace's one exception
// (each block below says why it is sound).
#![allow(unsafe_code)]

use labrpc::sim::{self, Node};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Nodes whose allocations are counted separately; node indexes past the last share it.
const BUCKETS: usize = 64;

/// Bytes before each block: the run the block is charged to (8 bytes), then the bucket (8).
const HEADER: usize = 16;

/// Runs followed at once (see [`RunTag`]); a run's tag selects its slot modulo this.
const RUN_SLOTS: usize = 256;

/// Live bytes per run slot, whichever thread allocated or freed them.
static RUN_LIVE: [AtomicI64; RUN_SLOTS] = [const { AtomicI64::new(0) }; RUN_SLOTS];

/// The next run tag (0 means "no run").
static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Live bytes per bucket on this thread: bucket 0 is "no node", bucket `i + 1` is node `i`.
    static LIVE: [Cell<i64>; BUCKETS] = const { [const { Cell::new(0) }; BUCKETS] };
    /// Whether this thread counts at all (set by [`live_bytes`]'s first use on a thread, so
    /// threads that never ask pay nothing but the header).
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    /// The run this thread's allocations are charged to (0: none).
    static RUN: Cell<u64> = const { Cell::new(0) };
}

/// One simulation run whose allocations are followed wherever they are freed: what the run
/// leaves allocated after it ended, and its results are dropped, is a leak (a cycle of
/// reference counts, a structure kept in a global), which makes a many-seed run grow with every
/// seed. See [`crate::assert_seeds_leave_nothing`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunTag {
    tag: u64,
    /// The slot's count when the run started (a slot is shared by runs 256 tags apart).
    baseline: i64,
}

impl RunTag {
    /// A new run, not yet entered by any thread.
    pub(crate) fn new() -> RunTag {
        let tag = NEXT_RUN.fetch_add(1, Ordering::Relaxed);
        RunTag {
            tag,
            baseline: RUN_LIVE[slot(tag)].load(Ordering::SeqCst),
        }
    }

    /// Charges the calling thread's allocations from now on to this run.
    pub(crate) fn enter(&self) {
        RUN.with(|run| run.set(self.tag));
    }

    /// Bytes allocated by the run that are still allocated.
    pub(crate) fn live(&self) -> i64 {
        RUN_LIVE[slot(self.tag)].load(Ordering::SeqCst) - self.baseline
    }

    /// True if runs are being counted: [`NodeCounting`] is the binary's global allocator.
    pub(crate) fn counting() -> bool {
        let probe = RunTag::new();
        probe.enter();
        let block = std::hint::black_box(vec![0u8; 64]);
        RUN.with(|run| run.set(0));
        let counted = probe.live() >= 64;
        drop(block);
        counted
    }
}

fn slot(tag: u64) -> usize {
    (tag % RUN_SLOTS as u64) as usize
}

/// The run the calling thread's allocations are charged to (0: none).
fn current_run() -> u64 {
    RUN.try_with(Cell::get).unwrap_or(0)
}

fn charge_run(run: u64, bytes: i64) {
    if run != 0 {
        RUN_LIVE[slot(run)].fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A global allocator (the system's) that charges each allocation to the simulated node whose
/// code made it. See the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeCounting;

/// The bucket of the code running now.
fn current_bucket() -> usize {
    if !ENABLED.try_with(Cell::get).unwrap_or(false) {
        return 0;
    }
    sim::running_node_index().map_or(0, |i| (i as usize + 1).min(BUCKETS - 1))
}

fn charge(bucket: usize, bytes: i64) {
    if bucket != 0 {
        let _ = LIVE.try_with(|live| live[bucket].set(live[bucket].get() + bytes));
    }
}

/// The layout of the block with its header: the header is a multiple of the alignment, so the
/// caller's pointer, `HEADER.max(align)` bytes in, stays aligned.
fn with_header(layout: Layout) -> Option<(Layout, usize)> {
    let offset = HEADER.max(layout.align());
    let size = layout.size().checked_add(offset)?;
    Layout::from_size_align(size, offset)
        .ok()
        .map(|l| (l, offset))
}

// SAFETY (the whole impl): every block handed out is `offset` bytes into a block of
// `with_header(layout)` obtained from `System`, with `offset >= 16` a multiple of the
// requested alignment; the 8 bytes just before the returned pointer hold the bucket, the 8
// before those the run. `dealloc`
// and `realloc` receive the same `layout` that allocated the block (GlobalAlloc's contract), so
// they recompute the same `offset` and hand `System` back exactly the block it gave.
unsafe impl GlobalAlloc for NodeCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((outer, offset)) = with_header(layout) else {
            return std::ptr::null_mut();
        };
        let base = unsafe { System.alloc(outer) };
        if base.is_null() {
            return base;
        }
        let bucket = current_bucket();
        let run = current_run();
        unsafe {
            let user = base.add(offset);
            user.cast::<usize>().sub(1).write_unaligned(bucket);
            user.cast::<u64>().sub(2).write_unaligned(run);
            charge(bucket, layout.size() as i64);
            charge_run(run, layout.size() as i64);
            user
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some((outer, offset)) = with_header(layout) else {
            return;
        };
        unsafe {
            let bucket = ptr.cast::<usize>().sub(1).read_unaligned();
            let run = ptr.cast::<u64>().sub(2).read_unaligned();
            charge(bucket, -(layout.size() as i64));
            charge_run(run, -(layout.size() as i64));
            System.dealloc(ptr.sub(offset), outer);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (Some((outer, offset)), Some(new_outer_size)) = (
            with_header(layout),
            new_size.checked_add(HEADER.max(layout.align())),
        ) else {
            return std::ptr::null_mut();
        };
        unsafe {
            let bucket = ptr.cast::<usize>().sub(1).read_unaligned();
            let run = ptr.cast::<u64>().sub(2).read_unaligned();
            let base = System.realloc(ptr.sub(offset), outer, new_outer_size);
            if base.is_null() {
                return base;
            }
            // The block stays charged to the node and run that first allocated it.
            charge(bucket, new_size as i64 - layout.size() as i64);
            charge_run(run, new_size as i64 - layout.size() as i64);
            base.add(offset)
        }
    }
}

/// Starts counting on this thread (from then on, allocations are charged to their node).
/// Call it at the start of a test body, inside the simulation, before the servers are made.
///
/// # Panics
/// If [`NodeCounting`] is not the test binary's global allocator (every count would be 0 and
/// a memory test would pass whatever the server keeps), or outside a simulation.
pub fn start_counting() {
    ENABLED.with(|e| e.set(true));
    let node = Node::current();
    let before = live_bytes(node);
    let probe = std::hint::black_box(vec![0u8; 256]);
    let counted = live_bytes(node) - before;
    drop(probe);
    assert!(
        counted >= 256,
        "labtest::alloc: memory is not being counted: install the allocator in the test file \
         with `#[global_allocator] static ALLOCATOR: labtest::alloc::NodeCounting = \
         labtest::alloc::NodeCounting;`"
    );
}

/// Bytes allocated by `node`'s code on this thread (since [`start_counting`]) that are still
/// allocated. Needs [`NodeCounting`] as the test binary's global allocator; without it, 0.
pub fn live_bytes(node: Node) -> i64 {
    let bucket = (node.index() as usize + 1).min(BUCKETS - 1);
    LIVE.with(|live| live[bucket].get())
}
