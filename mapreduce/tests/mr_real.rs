//! The graded MapReduce suite as real processes: every case of the original `test-mr.sh`,
//! running the `mrcoordinator`, `mrworker` and `mrsequential` binaries in a temporary
//! directory, talking over a Unix socket of their own (so the tests can run in parallel).
//!
//! Every program runs with `MR_SPEEDUP=4`: its clock runs four times faster than real time
//! (the 10-second task timeout takes 2.5 s, a 1-second sleep 0.25 s), which keeps the
//! original's timing relations and makes the suite take seconds. Each test has a deadline;
//! its processes are killed and its directory removed even when it fails.

// Real processes, real deadlines: the determinism lints are for simulated code.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod checks;

use mapreduce::inputs::test_inputs;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const COORDINATOR: &str = env!("CARGO_BIN_EXE_mrcoordinator");
const WORKER: &str = env!("CARGO_BIN_EXE_mrworker");
const SEQUENTIAL: &str = env!("CARGO_BIN_EXE_mrsequential");

/// How much faster than real time the programs' clocks run (unless a test says otherwise).
const SPEEDUP: &str = "4";

/// One process of a job, with its standard error in a file.
struct Process {
    label: String,
    child: Child,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

/// A job's directory and processes; dropping it kills the processes and removes the directory.
struct Job {
    name: String,
    dir: PathBuf,
    socket: PathBuf,
    inputs: Vec<String>,
    processes: Vec<Process>,
    deadline: Instant,
    speedup: &'static str,
}

impl Job {
    /// A fresh directory with the generated input books, and a deadline for the whole test.
    fn new(name: &str, limit: Duration) -> Job {
        let dir = std::env::temp_dir().join(format!("mr-real-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        let mut inputs = Vec::new();
        for (file, contents) in test_inputs() {
            std::fs::write(dir.join(&file), contents).expect("write an input file");
            inputs.push(file);
        }
        Job {
            name: name.to_string(),
            socket: dir.join("coordinator.sock"),
            dir,
            inputs,
            processes: Vec::new(),
            deadline: Instant::now() + limit,
            speedup: SPEEDUP,
        }
    }

    /// Starts a program in the job's directory; returns its index.
    fn spawn(&mut self, program: &str, args: &[&str]) -> usize {
        self.spawn_with(program, args, |_| {})
    }

    fn spawn_with(
        &mut self,
        program: &str,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> usize {
        let index = self.processes.len();
        let name = Path::new(program).file_name().unwrap().to_string_lossy();
        let label = format!("{name}#{index}");
        let stderr = self.dir.join(format!("stderr-{label}"));
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.dir)
            .env("MR_SOCKET", &self.socket)
            .env("MR_SPEEDUP", self.speedup)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).expect("create a stderr file"));
        configure(&mut command);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        self.processes.push(Process {
            label,
            child,
            stderr,
            status: None,
        });
        index
    }

    fn spawn_coordinator(&mut self) -> usize {
        let inputs = self.inputs.clone();
        let args: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let index = self.spawn(COORDINATOR, &args);
        // Like the original script's `sleep 1`, but exact: wait for the socket.
        while !self.socket.exists() {
            if let Some(status) = self.poll(index) {
                self.fail(&format!("the coordinator exited early ({status})"));
            }
            self.check_deadline("waiting for the coordinator's socket");
            std::thread::sleep(Duration::from_millis(5));
        }
        index
    }

    fn spawn_worker(&mut self, app: &str) -> usize {
        self.spawn(WORKER, &[app])
    }

    /// Runs `mrsequential app` over the inputs and returns its sorted output lines (and
    /// removes its output, like the original script).
    fn sequential(&mut self, app: &str) -> Vec<String> {
        let inputs = self.inputs.clone();
        let mut args = vec![app];
        args.extend(inputs.iter().map(String::as_str));
        let index = self.spawn(SEQUENTIAL, &args);
        let status = self.wait(index);
        if !status.success() {
            self.fail(&format!("mrsequential {app} failed ({status})"));
        }
        let lines = self.output_lines();
        std::fs::remove_file(self.dir.join("mr-out-0")).expect("remove mr-out-0");
        lines
    }

    /// The exit status of process `index`, if it has exited.
    fn poll(&mut self, index: usize) -> Option<ExitStatus> {
        let process = &mut self.processes[index];
        if process.status.is_none() {
            process.status = process.child.try_wait().expect("try_wait");
        }
        process.status
    }

    fn check_deadline(&self, what: &str) {
        if Instant::now() > self.deadline {
            self.fail(&format!("timed out {what}"));
        }
    }

    /// Waits for process `index` to exit (within the test's deadline).
    fn wait(&mut self, index: usize) -> ExitStatus {
        loop {
            if let Some(status) = self.poll(index) {
                return status;
            }
            let what = format!("waiting for {}", self.processes[index].label);
            self.check_deadline(&what);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for every process to exit; fails if a worker or the coordinator failed.
    fn wait_all_succeed(&mut self) {
        for index in 0..self.processes.len() {
            let status = self.wait(index);
            if !status.success() {
                let label = self.processes[index].label.clone();
                self.fail(&format!("{label} failed ({status})"));
            }
        }
    }

    /// The sorted, non-empty lines of every `mr-out*` file (`sort mr-out* | grep .`).
    fn output_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .expect("read the test directory")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("mr-out"))
            .collect();
        names.sort();
        for name in names {
            // A file may vanish between listing and reading only if someone renames over it,
            // which replaces it: read whatever is there now.
            let text = std::fs::read_to_string(self.dir.join(&name)).unwrap_or_default();
            lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
        }
        lines.sort();
        lines
    }

    /// Panics with the test name and every process's status and standard error.
    fn fail(&self, message: &str) -> ! {
        let mut report = format!("{}: {message}\n", self.name);
        for process in &self.processes {
            let stderr = std::fs::read_to_string(&process.stderr).unwrap_or_default();
            let stderr = stderr.trim();
            report.push_str(&format!(
                "  {} ({}): {}\n",
                process.label,
                process
                    .status
                    .map_or("running".to_string(), |s| s.to_string()),
                if stderr.is_empty() {
                    "(no stderr)"
                } else {
                    stderr
                }
            ));
        }
        panic!("{report}");
    }

    fn stderr_of(&self, index: usize) -> String {
        std::fs::read_to_string(&self.processes[index].stderr).unwrap_or_default()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        for process in &mut self.processes {
            if process.status.is_none() {
                let _ = process.child.kill();
                let _ = process.child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Fails the job if `got` (called `got_label`) differs from `want` (called `want_label`).
fn assert_same_output(
    job: &Job,
    got: &[String],
    want: &[String],
    got_label: &str,
    want_label: &str,
) {
    if let Some(difference) = mapreduce::output_difference(got, want, got_label, want_label) {
        job.fail(&difference);
    }
}

const LIMIT: Duration = Duration::from_secs(45);

/// Runs `app` with `workers` workers and returns the job, every process exited successfully.
fn run_job(name: &str, app: &str, workers: usize) -> Job {
    let mut job = Job::new(name, LIMIT);
    job.spawn_coordinator();
    for _ in 0..workers {
        job.spawn_worker(app);
    }
    job.wait_all_succeed();
    job
}

fn compare_with_sequential(name: &str, app: &str, workers: usize) {
    let mut job = Job::new(name, LIMIT);
    let want = job.sequential(app);
    job.spawn_coordinator();
    for _ in 0..workers {
        job.spawn_worker(app);
    }
    job.wait_all_succeed();
    let got = job.output_lines();
    assert_same_output(&job, &got, &want, "the output", "the sequential reference");
}

#[test]
fn wc_real() {
    labtest::run_real(|| {
        compare_with_sequential("wc", "wc", 3);
    });
}

#[test]
fn indexer_real() {
    labtest::run_real(|| {
        compare_with_sequential("indexer", "indexer", 2);
    });
}

#[test]
fn map_parallelism_real() {
    labtest::run_real(|| {
        let job = run_job("map_parallelism", "mtiming", 2);
        if let Err(problem) = checks::map_parallelism(&job.output_lines()) {
            job.fail(&problem);
        }
    });
}

#[test]
fn reduce_parallelism_real() {
    labtest::run_real(|| {
        let job = run_job("reduce_parallelism", "rtiming", 2);
        if let Err(problem) = checks::reduce_parallelism(&job.output_lines()) {
            job.fail(&problem);
        }
    });
}

#[test]
fn job_count_real() {
    labtest::run_real(|| {
        // A map takes 2-5 s and the timeout is 10 s: at speed 2 that leaves 2.5 s of real time
        // for a loaded machine to stall a worker before its task is (wrongly) handed out again.
        let mut job = Job::new("job_count", LIMIT);
        job.speedup = "2";
        job.spawn_coordinator();
        for _ in 0..4 {
            job.spawn_worker("jobcount");
        }
        job.wait_all_succeed();
        let lines = job.output_lines();
        let want = vec![format!("a {}", job.inputs.len())];
        if lines != want {
            job.fail(&format!(
                "map tasks must run exactly once each: got {lines:?}, expected {want:?}"
            ));
        }
    });
}

#[test]
fn early_exit_real() {
    labtest::run_real(|| {
        let mut job = Job::new("early_exit", LIMIT);
        let want = job.sequential("early_exit");
        let first_process = job.processes.len();
        job.spawn_coordinator();
        for _ in 0..3 {
            job.spawn_worker("early_exit");
        }
        // When the first of them exits, every output must already be final.
        let at_first_exit = loop {
            if (first_process..job.processes.len()).any(|i| job.poll(i).is_some()) {
                break job.output_lines();
            }
            job.check_deadline("waiting for the first process to exit");
            std::thread::sleep(Duration::from_millis(5));
        };
        job.wait_all_succeed();
        let at_end = job.output_lines();
        assert_same_output(
            &job,
            &at_first_exit,
            &at_end,
            "the output when the first process exited",
            "the output at the end (a worker or the coordinator exited before the job was done)",
        );
        assert_same_output(
            &job,
            &at_end,
            &want,
            "the output",
            "the sequential reference",
        );
    });
}

#[test]
fn crash_real() {
    labtest::run_real(|| {
        let mut job = Job::new("crash", Duration::from_secs(120));
        let want = job.sequential("nocrash");
        let coordinator = job.spawn_coordinator();
        job.spawn_worker("crash");
        // Three slots that restart a crash worker a (scaled) second after the previous one
        // exits or crashes, while the coordinator runs.
        let pause = Duration::from_millis(250);
        let mut slots: Vec<(usize, Option<Instant>)> =
            (0..3).map(|_| (job.spawn_worker("crash"), None)).collect();
        while job.poll(coordinator).is_none() {
            job.check_deadline("waiting for the crash job to finish");
            for slot in &mut slots {
                match slot.1 {
                    None if job.poll(slot.0).is_some() => slot.1 = Some(Instant::now()),
                    Some(exited) if exited.elapsed() >= pause => {
                        *slot = (job.spawn_worker("crash"), None);
                    }
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = job.wait(coordinator);
        if !status.success() {
            job.fail(&format!("the coordinator failed ({status})"));
        }
        let got = job.output_lines();
        assert_same_output(&job, &got, &want, "the output", "the sequential reference");
    });
}

/// Not in the original script: workers are killed (SIGKILL) at random moments, mid-task or
/// mid-write, and restarted; the output must still equal the sequential reference's.
#[test]
fn random_kills_real() {
    labtest::run_real(|| {
        let mut job = Job::new("random_kills", LIMIT);
        // The 10 s timeout takes 1 s of real time, so killed tasks are redone quickly.
        job.speedup = "10";
        let want = job.sequential("wc");
        let coordinator = job.spawn_coordinator();
        let mut slots: Vec<usize> = (0..3).map(|_| job.spawn_worker("wc")).collect();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let mut rng = labrpc::sim::DetRng::new(seed);
        let mut kills = 0;
        while job.poll(coordinator).is_none() {
            job.check_deadline(&format!("waiting for the job (random seed {seed})"));
            std::thread::sleep(Duration::from_millis(1 + rng.below(40)));
            let slot = rng.below(slots.len() as u64) as usize;
            if kills < 10 && job.poll(slots[slot]).is_none() {
                let _ = job.processes[slots[slot]].child.kill();
                job.wait(slots[slot]);
                kills += 1;
                slots[slot] = job.spawn_worker("wc");
            }
        }
        if !job.wait(coordinator).success() {
            job.fail("the coordinator failed");
        }
        println!("random_kills_real: {kills} workers killed (random seed {seed})");
        let got = job.output_lines();
        assert_same_output(
            &job,
            &got,
            &want,
            &format!("the output with {kills} workers killed (random seed {seed})"),
            "the sequential reference",
        );
    });
}

// ---- Bad input: a clear message and a non-zero exit ----

#[test]
fn missing_input_file_real() {
    labtest::run_real(|| {
        let mut job = Job::new("missing_input", LIMIT);
        let coordinator = job.spawn(COORDINATOR, &["pg-being_ernest.txt", "no-such-book.txt"]);
        let status = job.wait(coordinator);
        let stderr = job.stderr_of(coordinator);
        assert!(!status.success(), "mrcoordinator accepted a missing input");
        assert!(
            stderr.contains("cannot read input file no-such-book.txt"),
            "unclear message: {stderr}"
        );
        let sequential = job.spawn(SEQUENTIAL, &["wc", "no-such-book.txt"]);
        let status = job.wait(sequential);
        let stderr = job.stderr_of(sequential);
        assert!(!status.success(), "mrsequential accepted a missing input");
        assert!(
            stderr.contains("cannot read input file no-such-book.txt"),
            "unclear message: {stderr}"
        );

        let directory = job.spawn(COORDINATOR, &["."]);
        assert!(
            !job.wait(directory).success(),
            "mrcoordinator accepted a directory"
        );
        assert!(job.stderr_of(directory).contains("not a regular file"));

        // An input that disappears after the coordinator started: the worker says so and fails.
        job.spawn_coordinator();
        let inputs = job.inputs.clone();
        std::fs::remove_file(job.dir.join(&inputs[0])).unwrap();
        let worker = job.spawn_worker("wc");
        let status = job.wait(worker);
        let stderr = job.stderr_of(worker);
        assert!(!status.success(), "mrworker ignored a missing input");
        assert!(
            stderr.contains(&format!("cannot read input file {}", inputs[0])),
            "unclear message: {stderr}"
        );
    });
}

#[test]
fn unknown_app_real() {
    labtest::run_real(|| {
        let mut job = Job::new("unknown_app", LIMIT);
        for program in [WORKER, SEQUENTIAL] {
            let index = job.spawn(
                program,
                &["nosuchapp", "pg-grimm.txt"][..program_args(program)],
            );
            let status = job.wait(index);
            let stderr = job.stderr_of(index);
            assert!(
                !status.success(),
                "{program} accepted an unknown application"
            );
            assert!(
                stderr.contains("unknown application \"nosuchapp\"") && stderr.contains("wc"),
                "unclear message: {stderr}"
            );
        }
        // The original's plugin spelling names an application too.
        let index = job.spawn(SEQUENTIAL, &["../mrapps/nocrash.so", "pg-grimm.txt"]);
        assert!(job.wait(index).success(), "{}", job.stderr_of(index));
        // No arguments: usage, non-zero.
        for program in [COORDINATOR, WORKER, SEQUENTIAL] {
            let index = job.spawn(program, &[]);
            let status = job.wait(index);
            assert!(!status.success(), "{program} ran without arguments");
            assert!(job.stderr_of(index).contains("usage"));
        }
    });
}

/// `MR_SOCKET` naming a regular file: the coordinator refuses, and the file is untouched
/// (only a stale socket is ever removed).
#[test]
fn socket_path_of_a_regular_file_real() {
    labtest::run_real(|| {
        let mut job = Job::new("socket_file", LIMIT);
        std::fs::write(&job.socket, "not a socket: somebody's notes").unwrap();
        let inputs = job.inputs.clone();
        let args: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let coordinator = job.spawn(COORDINATOR, &args);
        let status = job.wait(coordinator);
        let stderr = job.stderr_of(coordinator);
        assert!(!status.success(), "mrcoordinator replaced a regular file");
        assert!(
            stderr.contains("is not a socket") && stderr.contains("coordinator.sock"),
            "unclear message: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(&job.socket).unwrap(),
            "not a socket: somebody's notes"
        );
    });
}

/// How many of `["nosuchapp", "pg-grimm.txt"]` a program takes.
fn program_args(program: &str) -> usize {
    if program == WORKER { 1 } else { 2 }
}

#[test]
fn coordinator_unreachable_real() {
    labtest::run_real(|| {
        let mut job = Job::new("unreachable", LIMIT);
        let worker = job.spawn_worker("wc");
        let status = job.wait(worker);
        let stderr = job.stderr_of(worker);
        assert!(!status.success(), "mrworker without a coordinator exited 0");
        assert!(
            stderr.contains("cannot reach the coordinator") && stderr.contains("coordinator.sock"),
            "unclear message: {stderr}"
        );
        // A bad MR_SPEEDUP is an error too.
        let index = job.spawn_with(WORKER, &["wc"], |c| {
            c.env("MR_SPEEDUP", "fast");
        });
        assert!(!job.wait(index).success());
        assert!(job.stderr_of(index).contains("MR_SPEEDUP"));
    });
}
