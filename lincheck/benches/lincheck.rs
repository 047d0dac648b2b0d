//! Benchmark of the linearizability checker on the Porcupine histories (the measurements of
//! issue 6). Run: `cargo bench -p lincheck --bench lincheck` (release build).
//!
//! Environment: `PORCUPINE_DATA` (data folder; default `../shared/data/porcupine` beside the
//! workspace), `LINCHECK_BENCH_REPEAT` (repetitions, default 5; medians are reported).

// The peak-memory column counts allocations with a global allocator, which is unsafe to
// implement.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lincheck::formats::{parse_etcd, parse_porcupine_kv};
use lincheck::generate::{KvHistorySpec, kv_history, versioned_kv_history};
use lincheck::models::{KvModel, RegisterModel, VersionedKvModel};
use lincheck::{CheckResult, History, Model, Options, PowerSet, Verdict, check};

/// Counts allocated bytes: live, peak live, and total.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
            TOTAL.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let d = new_size - layout.size();
                let now = CURRENT.fetch_add(d, Ordering::Relaxed) + d;
                PEAK.fetch_max(now, Ordering::Relaxed);
                TOTAL.fetch_add(d, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    let x = d.as_secs_f64() * 1e3;
    if x < 1.0 {
        format!("{x:.3} ms")
    } else {
        format!("{x:.1} ms")
    }
}

struct Measured {
    time: Duration,
    steps: u64,
    peak: usize,
    total: usize,
    verdict: Verdict,
}

/// Checks `repeat` times; median time, memory of the last run.
fn measure<M: Model>(
    model: &M,
    h: &History<M::Input, M::Output>,
    opts: &Options,
    repeat: usize,
) -> Measured {
    let mut times = Vec::new();
    let mut last: Option<CheckResult> = None;
    let mut peak = 0;
    let mut total = 0;
    for _ in 0..repeat {
        drop(last.take());
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t0 = TOTAL.load(Ordering::Relaxed);
        let start = Instant::now();
        let r = check(model, h, opts);
        times.push(start.elapsed());
        peak = PEAK.load(Ordering::Relaxed) - base;
        total = TOTAL.load(Ordering::Relaxed) - t0;
        last = Some(r);
    }
    let r = last.expect("repeat > 0");
    Measured {
        time: median(times),
        steps: r.steps(),
        peak,
        total,
        verdict: r.verdict,
    }
}

fn data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PORCUPINE_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/porcupine"),
    };
    dir.join("manifest.tsv").is_file().then_some(dir)
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))
}

fn row(name: &str, m: &Measured, porcupine: &str) {
    let ns = if m.steps > 0 {
        format!("{:.0}", m.time.as_secs_f64() * 1e9 / m.steps as f64)
    } else {
        "-".into()
    };
    println!(
        "| {name} | {} | {} | {} | {ns} | {:.1} MB | {:.1} MB | {porcupine} |",
        m.verdict,
        ms(m.time),
        m.steps,
        m.peak as f64 / 1e6,
        m.total as f64 / 1e6,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let repeat: usize = std::env::var("LINCHECK_BENCH_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("lincheck benchmark: {repeat} repetitions, medians; {cores} cores available");
    let Some(dir) = data_dir() else {
        println!(
            "Porcupine data missing (set PORCUPINE_DATA): only the generated history is measured"
        );
        generated(repeat);
        return;
    };
    let one = Options {
        threads: 1,
        ..Options::default()
    };
    let two = Options {
        threads: 2,
        ..Options::default()
    };
    // Default options: one thread for histories of up to 1000 operations.
    let auto = Options::default();

    // All etcd files, each in its own check.
    let manifest = read(&dir, "manifest.tsv");
    let etcd: Vec<(String, History<_, _>)> = manifest
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 3 && f[1] == "etcd").then(|| f[0].to_string())
        })
        .map(|f| {
            let h = parse_etcd(&read(&dir, &f)).expect("parse etcd");
            (f, h)
        })
        .collect();
    let mut totals = Vec::new();
    let mut per_file: Vec<Vec<Duration>> = vec![Vec::new(); etcd.len()];
    for _ in 0..repeat {
        let start = Instant::now();
        for (k, (_, h)) in etcd.iter().enumerate() {
            let t = Instant::now();
            let r = check(&RegisterModel, h, &one);
            per_file[k].push(t.elapsed());
            std::hint::black_box(r);
        }
        totals.push(start.elapsed());
    }
    let file_medians: Vec<Duration> = per_file.into_iter().map(median).collect();
    let total_steps: u64 = etcd
        .iter()
        .map(|(_, h)| check(&RegisterModel, h, &one).steps())
        .sum();
    println!();
    println!(
        "| case | verdict | time (median) | model steps | ns/step | peak live heap | allocated | Porcupine v1.3 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| all {} etcd files, one check each, in sequence | - | {} | {total_steps} | {:.0} | - | - | 560–980 ms |",
        etcd.len(),
        ms(median(totals.clone())),
        median(totals).as_secs_f64() * 1e9 / total_steps.max(1) as f64
    );
    // The whole manifest (102 etcd + 6 kv files), default options, one check per file.
    let kv_files: Vec<History<_, _>> = manifest
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 3 && f[1] == "porcupine-kv").then(|| f[0].to_string())
        })
        .map(|f| parse_porcupine_kv(&read(&dir, &f)).expect("parse kv"))
        .collect();
    let mut whole = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        for (_, h) in &etcd {
            std::hint::black_box(check(&RegisterModel, h, &Options::default()));
        }
        for h in &kv_files {
            std::hint::black_box(check(&KvModel, h, &Options::default()));
        }
        whole.push(start.elapsed());
    }
    println!(
        "| whole manifest ({} files), default options, in sequence | - | {} | - | - | - | - | ≈ 0.9–1.4 s (sum of the rows below) |",
        etcd.len() + kv_files.len(),
        ms(median(whole))
    );
    let mut sorted = file_medians.clone();
    sorted.sort();
    println!(
        "| median etcd file | - | {} | - | - | - | - | 0.1 ms |",
        ms(sorted[sorted.len() / 2])
    );
    for (name, porc) in [
        ("etcd_002", "212–252 ms, 1.2 M steps, 28 MB"),
        ("etcd_007", "145–170 ms"),
    ] {
        let (_, h) = etcd
            .iter()
            .find(|(f, _)| f.contains(name))
            .expect("file in manifest");
        row(name, &measure(&RegisterModel, h, &one, repeat), porc);
    }
    // Key/value files.
    let kv = |f: &str| parse_porcupine_kv(&read(&dir, f)).expect("parse kv");
    let c50ok = kv("kv/c50-ok.txt");
    row(
        "c50-ok, 2 threads",
        &measure(&KvModel, &c50ok, &two, repeat),
        "148–163 ms (2 cores), 94 MB",
    );
    row(
        "c50-ok, 1 thread",
        &measure(&KvModel, &c50ok, &one, repeat),
        "221–227 ms",
    );
    row(
        "c50-bad, 2 threads",
        &measure(&KvModel, &kv("kv/c50-bad.txt"), &two, repeat),
        "-",
    );
    for f in ["c10-ok", "c10-bad"] {
        row(
            f,
            &measure(&KvModel, &kv(&format!("kv/{f}.txt")), &auto, repeat),
            "0.4–1.3 ms",
        );
    }
    for f in ["c01-ok", "c01-bad"] {
        row(
            f,
            &measure(&KvModel, &kv(&format!("kv/{f}.txt")), &auto, repeat),
            "< 0.2 ms",
        );
    }
    let unsplit = Options {
        partition: false,
        threads: 1,
        ..Options::default()
    };
    for (f, porc) in [("c10-ok", "2.7 s"), ("c10-bad", "4.7 s")] {
        row(
            &format!("{f}, unsplit (--no-partition)"),
            &measure(
                &KvModel,
                &kv(&format!("kv/{f}.txt")),
                &unsplit,
                repeat.min(3),
            ),
            porc,
        );
    }
    generated(repeat);
}

fn generated(repeat: usize) {
    let h = History::from_operations(kv_history(&KvHistorySpec {
        seed: 42,
        clients: 50,
        ops: 20_000,
        keys: 50,
        max_latency: 40,
    }))
    .expect("valid");
    let opts = Options::default();
    row(
        "generated: 20,000 ops, 50 clients, 50 keys",
        &measure(&KvModel, &h, &opts, repeat),
        "(KV tests allow 1 s)",
    );
    for keys in [10, 1] {
        let h = History::from_operations(versioned_kv_history(&KvHistorySpec {
            seed: 42,
            clients: 50,
            ops: 20_000,
            keys,
            max_latency: 40,
        }))
        .expect("valid");
        row(
            &format!("generated versioned kv (6.5840): 20,000 ops, 50 clients, {keys} key(s)"),
            &measure(&PowerSet(VersionedKvModel), &h, &opts, repeat),
            "(KV tests allow 1 s)",
        );
    }
}
