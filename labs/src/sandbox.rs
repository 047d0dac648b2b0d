//! One test process under limits, and what it left: the harness's result lines and how the
//! process ended.
//!
//! - The process runs in a process group of its own, under `sh -c 'ulimit ...; exec ...'`:
//!   its address space (the memory limit), the size of files it writes, and core dumps are
//!   limited by the kernel (and so are its children's: the real-process tests' programs).
//! - A watchdog kills the whole group when the time limit passes (a hang).
//! - Its standard output and error go to files, of which only the last 64 KiB are read back:
//!   they explain a failure, and are never taken as a verdict.
//! - The verdict comes from the result file the harness writes (`LABTEST_RESULT_FILE`), which
//!   the grader names per process, read with the harness's own types ([`labtest::record`]).

use labtest::record::{RESULT_FILE_VAR, RunRecord};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Largest file a test process may write (its output included), in MiB.
const FILE_LIMIT_MIB: u64 = 512;

/// Bytes of a process's output kept to explain a failure.
const OUTPUT_TAIL: u64 = 64 * 1024;

/// A test process to run.
pub struct Job<'a> {
    /// The test binary.
    pub exe: &'a Path,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment (the harness's switches, the result file).
    pub env: Vec<(String, String)>,
    /// Working directory (the package's, as under cargo).
    pub cwd: &'a Path,
    /// Real-time limit.
    pub time_limit: Duration,
    /// Address-space limit in MiB.
    pub memory_mib: u64,
    /// A scratch directory of this job's own (output files).
    pub scratch: &'a Path,
}

/// How a test process ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// It exited with this status code.
    Exited(i32),
    /// It was killed by this signal (not by the grader).
    Signalled(i32),
    /// The grader killed it at the time limit.
    TimedOut,
}

/// What a test process left.
#[derive(Clone, Debug)]
pub struct Finished {
    /// How it ended.
    pub ending: Ending,
    /// Real time it ran.
    pub wall: Duration,
    /// The last bytes of its standard output and error.
    pub output: String,
    /// The harness's result lines, or why the result file cannot be trusted (a line that is
    /// not a result line of the harness's format).
    pub records: Result<Vec<RunRecord>, String>,
}

impl Finished {
    /// True if the process exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.ending == Ending::Exited(0)
    }

    /// Why the process failed, in one line, from how it ended and what it printed: a blown
    /// memory or file limit, a hang, a crash or a panic.
    pub fn failure_reason(&self, time_limit: Duration, memory_mib: u64) -> String {
        let out = &self.output;
        if self.ending == Ending::TimedOut {
            return format!(
                "time limit: the test process ran past {} s and was killed (a hang?)",
                time_limit.as_secs()
            );
        }
        if out.contains("memory allocation of") || out.contains("Cannot allocate memory") {
            return format!(
                "memory limit: the test process tried to use more than {memory_mib} MiB"
            );
        }
        match self.ending {
            Ending::Signalled(25) => {
                return format!(
                    "file size limit: the test process wrote a file past {FILE_LIMIT_MIB} MiB"
                );
            }
            Ending::Signalled(9) => {
                return "killed (SIGKILL): out of memory, or killed from outside".into();
            }
            _ => {}
        }
        if let Some(panic) = panic_line(out) {
            return panic;
        }
        match self.ending {
            Ending::Signalled(signal) => format!("the test process was killed by signal {signal}"),
            Ending::Exited(code) => format!("the test process exited with status {code}"),
            Ending::TimedOut => unreachable!("handled above"),
        }
    }
}

/// `panicked at FILE:LINE:COL: message` from libtest's output, if a thread panicked.
fn panic_line(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("thread '") && l.contains(" panicked at "))?;
    let place = lines[at]
        .rsplit_once(" panicked at ")?
        .1
        .trim_end_matches(':');
    let message = lines.get(at + 1).map_or("", |l| l.trim());
    Some(format!("panicked at {place}: {message}"))
}

/// Runs `job` to its end (or its time limit) and collects what it left.
pub fn run(job: &Job<'_>) -> Result<Finished, String> {
    std::fs::create_dir_all(job.scratch).map_err(|e| format!("{}: {e}", job.scratch.display()))?;
    let output_path = job.scratch.join("output");
    let results_path = job.scratch.join("results.jsonl");
    let _ = std::fs::remove_file(&results_path);
    let output = std::fs::File::create(&output_path)
        .map_err(|e| format!("{}: {e}", output_path.display()))?;
    let errors = output
        .try_clone()
        .map_err(|e| format!("{}: {e}", output_path.display()))?;
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(limits_script(job.memory_mib, std::process::id()))
        .arg(job.exe)
        .args(&job.args)
        .current_dir(job.cwd)
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors);
    clear_switches(&mut command);
    command.env(RESULT_FILE_VAR, &results_path);
    for (name, value) in &job.env {
        command.env(name, value);
    }
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", job.exe.display()))?;
    let group = child.id();
    let status: Option<ExitStatus> = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for {}: {e}", job.exe.display())),
        }
        if started.elapsed() > job.time_limit {
            kill_group(group);
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(
            Duration::from_millis(5)
                .max(started.elapsed() / 50)
                .min(Duration::from_millis(100)),
        );
    };
    // Whatever the test left running in its group (a real-process test's programs) goes too.
    kill_group(group);
    let wall = started.elapsed();
    let ending = match status {
        None => Ending::TimedOut,
        Some(status) => match (
            status.code(),
            std::os::unix::process::ExitStatusExt::signal(&status),
        ) {
            (Some(code), _) => Ending::Exited(code),
            (None, Some(signal)) => Ending::Signalled(signal),
            (None, None) => Ending::Exited(-1),
        },
    };
    let records = match std::fs::read_to_string(&results_path) {
        Ok(text) => labtest::record::read_results(&text),
        // No file: no run was recorded.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
    .map_err(|e| format!("{RESULT_FILE_VAR}: {e}"));
    Ok(Finished {
        ending,
        wall,
        output: tail(&output_path),
        records,
    })
}

/// The shell script that starts a run (`"$0" "$@"`) under the limits, in a process group of
/// its own (so a hang is killed with its children). The group also ends when the grader
/// (process `grader`) does, a Ctrl-C or a kill: a watcher polls the grader and kills the group
/// once it is gone, or at once if it was gone before the script started. (The grader's PID is
/// given, not read from `$PPID`: a script that starts after its grader died would read the
/// PID of init, which never ends.)
fn limits_script(memory_mib: u64, grader: u32) -> String {
    // `ulimit -v` counts KiB; `ulimit -f` counts 512-byte blocks in POSIX sh (dash, the
    // /bin/sh of Debian) and KiB in bash: ask for the smaller reading of both.
    format!(
        "ulimit -c 0; ulimit -v {}; ulimit -f {}; \
         (while kill -0 {grader} 2>/dev/null; do sleep 1; done; kill -KILL 0) & \
         exec \"$0\" \"$@\"",
        memory_mib * 1024,
        FILE_LIMIT_MIB * 1024,
    )
}

/// Removes the harness's switches inherited from the caller (a graded run gets only those the
/// grader sets), the failure-inducing one included.
pub fn clear_switches(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|n| n.starts_with("LAB") || n == "RUST_LOG")
        {
            command.env_remove(&name);
        }
    }
}

/// Kills process group `group` (no error if it is gone).
fn kill_group(group: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last [`OUTPUT_TAIL`] bytes of a file, as text.
fn tail(path: &Path) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(OUTPUT_TAIL)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A scratch directory under `base` for job number `index`.
pub fn scratch_dir(base: &Path, index: usize) -> PathBuf {
    base.join(format!("job-{index}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use labtest::record::Verdict;

    fn job(scratch: &Path, script: &str, limit: Duration, memory: u64) -> Finished {
        let sh = Path::new("/bin/sh");
        run(&Job {
            exe: sh,
            args: vec!["-c".into(), script.into()],
            env: vec![],
            cwd: Path::new("/"),
            time_limit: limit,
            memory_mib: memory,
            scratch,
        })
        .unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("labs-sandbox-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_hang_is_killed_at_the_time_limit_with_its_children() {
        let dir = scratch("hang");
        let marker = dir.join("child-alive");
        let script = format!("(sleep 30; touch {}) & sleep 30", marker.display());
        let finished = job(&dir, &script, Duration::from_millis(300), 1024);
        assert_eq!(finished.ending, Ending::TimedOut);
        let reason = finished.failure_reason(Duration::from_secs(1), 1024);
        assert!(reason.starts_with("time limit"), "{reason}");
        assert!(!marker.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Starts `run` under the limits script as the grader would (a process group of its own),
    /// watching process `grader`, and returns the group's id.
    fn start_run(run: &str, grader: u32) -> u32 {
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(limits_script(1024, grader))
            .args(["/bin/sh", "-c", run])
            .stdin(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().unwrap();
        // Reaped by whoever waits; the test only watches the group.
        let group = child.id();
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        group
    }

    /// Waits up to a minute for process group `group` to end; true if it did.
    fn group_ends(group: u32) -> bool {
        let alive = || {
            Command::new("kill")
                .args(["-0", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        // The watcher polls every second; the run itself would sleep for two minutes.
        let started = Instant::now();
        while alive() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        !alive()
    }

    #[test]
    fn a_run_ends_when_the_grader_does() {
        let dir = scratch("orphan");
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("run-outlived-the-grader");
        let run = format!("sleep 120; touch {}", marker.display());
        // A stand-in for the grader, killed while the run sleeps.
        let mut grader = Command::new("sleep").arg("600").spawn().unwrap();
        let group = start_run(&run, grader.id());
        grader.kill().unwrap();
        grader.wait().unwrap();
        assert!(group_ends(group), "the run's group outlived the grader");
        // A grader that is gone before its run's script even starts (the script cannot read
        // its grader from $PPID then: it would be init's PID, which never ends).
        let mut gone = Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        gone.wait().unwrap();
        let group = start_run(&run, gone_pid);
        assert!(
            group_ends(group),
            "the run's group outlived a grader gone before it started"
        );
        assert!(!marker.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_memory_limit_holds() {
        let dir = scratch("memory");
        // 64 MiB of address space is too little for python3 or even a large shell string.
        let finished = job(
            &dir,
            "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}",
            Duration::from_secs(60),
            64,
        );
        assert!(!finished.succeeded(), "{finished:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn results_come_from_the_result_file_not_the_output() {
        let dir = scratch("records");
        let line = serde_json::to_string(&RunRecord::failed(
            "basic",
            Some(4),
            Some(Duration::from_millis(1500)),
            Duration::ZERO,
            "boom",
        ))
        .unwrap();
        let script =
            format!("echo 'test basic ... ok'; echo '{line}' >> \"$LABTEST_RESULT_FILE\"; exit 0");
        let finished = job(&dir, &script, Duration::from_secs(30), 1024);
        assert!(finished.succeeded());
        let records = finished.records.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].verdict, Verdict::Failed);
        assert_eq!(records[0].seed, Some(4));
        assert!(finished.output.contains("test basic ... ok"));
        // A line the grader cannot read makes the whole file untrusted, and says which.
        let script = format!(
            "echo '{line}' >> \"$LABTEST_RESULT_FILE\"; \
             echo 'not json' >> \"$LABTEST_RESULT_FILE\"; exit 0"
        );
        let finished = job(&dir, &script, Duration::from_secs(30), 1024);
        let error = finished.records.unwrap_err();
        assert!(
            error.starts_with("LABTEST_RESULT_FILE: line 2: not a JSON object"),
            "{error}"
        );
        let script = format!(
            "echo '{line}' >> \"$LABTEST_RESULT_FILE\"; printf '\\377' >> \"$LABTEST_RESULT_FILE\""
        );
        let finished = job(&dir, &script, Duration::from_secs(30), 1024);
        let error = finished.records.unwrap_err();
        assert!(error.contains("UTF-8"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reasons_name_what_happened() {
        let finished = |ending, output: &str| Finished {
            ending,
            wall: Duration::ZERO,
            output: output.to_string(),
            records: Ok(vec![]),
        };
        let limit = Duration::from_secs(5);
        let oom = finished(
            Ending::Signalled(6),
            "memory allocation of 1048576 bytes failed\n",
        );
        assert!(oom.failure_reason(limit, 512).contains("more than 512 MiB"));
        let panic = finished(
            Ending::Exited(101),
            "thread 'basic_2' (7) panicked at kvsrv/src/v2024/server.rs:9:5:\nnot yet implemented\n",
        );
        assert_eq!(
            panic.failure_reason(limit, 512),
            "panicked at kvsrv/src/v2024/server.rs:9:5: not yet implemented"
        );
        let exit = finished(Ending::Exited(0), "test x ... ok\n");
        assert!(exit.failure_reason(limit, 512).contains("status 0"));
        let big = finished(Ending::Signalled(25), "");
        assert!(big.failure_reason(limit, 512).contains("file size limit"));
    }
}
