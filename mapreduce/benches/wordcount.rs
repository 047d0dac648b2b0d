//! Word count over the eight books: real-process MapReduce versus `mrsequential`.
//!
//! `cargo bench -p mapreduce --bench wordcount` (or `make mr-bench`). Reads the books from
//! `../shared/data/gutenberg/` beside the repository when present, and otherwise says so and
//! uses generated texts of the same total size. Each configuration runs `MR_BENCH_RUNS` times
//! (default 3); the best time counts. A job's time runs from starting the coordinator until
//! every worker has exited (a worker exits when the coordinator tells it the job is done;
//! `MR_SPEEDUP=10` makes the workers' and the coordinator's polling 10 ms / 100 ms instead of
//! 100 ms / 1 s, so that it measures work rather than polling). Every run's sorted output is
//! checked against `mrsequential`'s.

// A benchmark of real processes measures real time: the determinism lints are for simulated
// code.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COORDINATOR: &str = env!("CARGO_BIN_EXE_mrcoordinator");
const WORKER: &str = env!("CARGO_BIN_EXE_mrworker");
const SEQUENTIAL: &str = env!("CARGO_BIN_EXE_mrsequential");

fn books() -> (Vec<(String, Vec<u8>)>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/gutenberg");
    let mut books = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("pg-") && name.ends_with(".txt") {
                books.push((name, std::fs::read(entry.path()).expect("read a book")));
            }
        }
    }
    if books.is_empty() {
        let generated = mapreduce::inputs::generated_books(410 * 1024)
            .into_iter()
            .map(|(n, t)| (n, t.into_bytes()))
            .collect();
        let source = format!(
            "generated texts ({} not found: the books live beside the repository, not in it)",
            dir.display()
        );
        return (generated, source);
    }
    books.sort();
    let shown = dir.canonicalize().unwrap_or(dir);
    (books, format!("the eight books in {}", shown.display()))
}

fn sorted_outputs(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("mr-out") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
        }
    }
    lines.sort();
    lines
}

fn clear_outputs(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("mr-") || name.starts_with("tmp-") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

fn command(program: &str, dir: &Path, socket: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env("MR_SOCKET", socket)
        .env("MR_SPEEDUP", "10")
        .stdout(Stdio::null());
    command
}

fn run_sequential(dir: &Path, socket: &Path, names: &[String]) -> (Duration, Vec<String>) {
    clear_outputs(dir);
    let started = Instant::now();
    let status = command(SEQUENTIAL, dir, socket)
        .arg("wc")
        .args(names)
        .status()
        .expect("run mrsequential");
    let elapsed = started.elapsed();
    assert!(status.success(), "mrsequential failed");
    (elapsed, sorted_outputs(dir))
}

fn run_job(dir: &Path, socket: &Path, names: &[String], workers: usize) -> (Duration, Vec<String>) {
    clear_outputs(dir);
    let started = Instant::now();
    let mut coordinator = command(COORDINATOR, dir, socket)
        .args(names)
        .spawn()
        .expect("start mrcoordinator");
    while !socket.exists() {
        assert!(
            coordinator.try_wait().unwrap().is_none(),
            "coordinator died"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut children: Vec<Child> = (0..workers)
        .map(|_| {
            command(WORKER, dir, socket)
                .arg("wc")
                .spawn()
                .expect("start mrworker")
        })
        .collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "a worker failed");
    }
    let elapsed = started.elapsed();
    assert!(
        coordinator.wait().unwrap().success(),
        "the coordinator failed"
    );
    (elapsed, sorted_outputs(dir))
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than ours means "not us".
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"wordcount".contains(a.as_str()))
    {
        return;
    }
    let runs: usize = std::env::var("MR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (books, source) = books();
    let dir: PathBuf = std::env::temp_dir().join(format!("mr-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut names = Vec::new();
    let mut total = 0usize;
    for (name, text) in &books {
        std::fs::write(dir.join(name), text).unwrap();
        names.push(name.clone());
        total += text.len();
    }
    let socket = dir.join("mr.sock");
    let mb = total as f64 / 1e6;
    println!(
        "word count over {source}: {} files, {mb:.2} MB",
        books.len()
    );
    println!(
        "machine: {} cores available; best of {runs} runs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let mut best = Duration::MAX;
    let mut want = Vec::new();
    for _ in 0..runs {
        let (time, lines) = run_sequential(&dir, &socket, &names);
        best = best.min(time);
        want = lines;
    }
    let sequential = best;
    println!(
        "  mrsequential           {:8.3} s  {:7.2} MB/s",
        sequential.as_secs_f64(),
        mb / sequential.as_secs_f64()
    );
    for workers in [1, 2, 4] {
        let mut best = Duration::MAX;
        for _ in 0..runs {
            let (time, lines) = run_job(&dir, &socket, &names, workers);
            assert!(
                lines == want,
                "MapReduce output differs from mrsequential's"
            );
            best = best.min(time);
        }
        println!(
            "  mapreduce, {workers} worker{}   {:8.3} s  {:7.2} MB/s  ({:.2}x sequential)",
            if workers == 1 { " " } else { "s" },
            best.as_secs_f64(),
            mb / best.as_secs_f64(),
            sequential.as_secs_f64() / best.as_secs_f64()
        );
    }
    println!(
        "  (outputs identical to mrsequential's: {} lines)",
        want.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
