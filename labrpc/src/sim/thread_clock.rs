//! The watchdog's clock: how long the simulation thread has really been busy.
//!
//! Real time is a poor measure on a loaded machine: a thread that waits for a core, or a
//! process that the system stopped, sees seconds of real time pass without running at all,
//! and a watchdog counting real time would blame the task it happened to be polling. So on
//! Linux the watchdog charges the simulation thread with
//!
//! - the CPU time it consumed (`/proc/<pid>/task/<tid>/schedstat`, in nanoseconds; or the
//!   `utime + stime` ticks of `.../stat` where schedstat is missing), and
//! - the real time during which it was *blocked* (state `S` or `D`: `std::thread::sleep`, a
//!   lock, a blocking channel receive), since a blocked task is as stuck as a spinning one,
//!
//! but not the time it was runnable without a core, or stopped. Elsewhere (or if `/proc` cannot
//! be read) the watchdog falls back to real time, and its report says which clock it used.
//! Reading `/proc` needs no `unsafe` code.

use std::fmt;
use std::time::Duration;

/// Which clock the watchdog measured a stuck task with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchdogClock {
    /// The simulation thread's own CPU time plus the time it spent blocked; time it waited for
    /// a core or was stopped is not counted (Linux).
    ThreadTime,
    /// Real time (platforms where a thread's CPU time cannot be read without `unsafe` code).
    Wall,
}

impl fmt::Display for WatchdogClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchdogClock::ThreadTime => {
                f.write_str("of the simulation thread's own time (CPU time plus time blocked)")
            }
            WatchdogClock::Wall => f.write_str("of real time"),
        }
    }
}

/// What a stuck simulation thread was doing when the watchdog gave up on it, so that the
/// report names the cause rather than listing every possible one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StuckIn {
    /// Running: a loop that never reaches an `.await`.
    Spinning,
    /// Blocked in a real-time sleep (`std::thread::sleep`).
    Sleeping,
    /// Blocked waiting for a lock, a condition variable or a blocking channel receive (a
    /// futex): on the simulation's one thread, whoever would release it cannot run.
    Waiting,
    /// Blocked in some other system call, or the platform does not say.
    Unknown,
}

/// The system call numbers of `futex`, `nanosleep` and `clock_nanosleep`, where known.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SYSCALLS: Option<(u64, u64, u64)> = Some((202, 35, 230));
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
const SYSCALLS: Option<(u64, u64, u64)> = Some((98, 101, 115));
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
const SYSCALLS: Option<(u64, u64, u64)> = None;

/// What the watchdog reads about the simulation thread at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    /// CPU time the thread has consumed so far.
    pub(crate) cpu: Duration,
    /// True if the thread is blocked (sleeping or in uninterruptible wait), rather than
    /// running, waiting for a core, or stopped.
    pub(crate) blocked: bool,
}

/// A way to sample one thread's CPU time and state from another thread.
#[derive(Clone, Debug)]
pub(crate) struct ThreadClock {
    /// `/proc/<pid>/task/<tid>`, where the platform has it.
    dir: Option<std::path::PathBuf>,
}

impl ThreadClock {
    /// The clock of the calling thread.
    pub(crate) fn current() -> ThreadClock {
        // `/proc/thread-self` links to `<pid>/task/<tid>` of the thread that reads the link.
        let dir = std::fs::read_link("/proc/thread-self")
            .ok()
            .map(|target| std::path::Path::new("/proc").join(target));
        let clock = ThreadClock { dir };
        if clock.sample().is_some() {
            clock
        } else {
            ThreadClock { dir: None }
        }
    }

    /// A clock that always measures real time (for platforms without `/proc`, and tests).
    #[cfg(test)]
    pub(crate) fn wall() -> ThreadClock {
        ThreadClock { dir: None }
    }

    /// Which clock this is.
    pub(crate) fn kind(&self) -> WatchdogClock {
        if self.dir.is_some() {
            WatchdogClock::ThreadTime
        } else {
            WatchdogClock::Wall
        }
    }

    /// The thread's CPU time and state now, or `None` if they cannot be read (no `/proc`, or
    /// the thread has exited).
    pub(crate) fn sample(&self) -> Option<Sample> {
        let dir = self.dir.as_ref()?;
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        let (state, ticks) = parse_stat(&stat)?;
        let cpu = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| parse_schedstat(&s))
            // The kernel reports ticks of USER_HZ, which is 100 on every Linux platform.
            .unwrap_or(Duration::from_millis(ticks * 10));
        Some(Sample {
            cpu,
            blocked: matches!(state, 'S' | 'D'),
        })
    }
}

impl ThreadClock {
    /// What the thread is doing now (see [`StuckIn`]): running, or blocked in which kind of
    /// system call (`/proc/<pid>/task/<tid>/syscall`).
    pub(crate) fn stuck_in(&self) -> StuckIn {
        let Some(dir) = self.dir.as_ref() else {
            return StuckIn::Unknown;
        };
        match self.sample() {
            Some(Sample { blocked: false, .. }) => return StuckIn::Spinning,
            Some(_) => {}
            None => return StuckIn::Unknown,
        }
        let syscall = std::fs::read_to_string(dir.join("syscall"))
            .ok()
            .and_then(|line| line.split_whitespace().next()?.parse::<u64>().ok());
        match (syscall, SYSCALLS) {
            (Some(n), Some((futex, _, _))) if n == futex => StuckIn::Waiting,
            (Some(n), Some((_, nanosleep, clock_nanosleep)))
                if n == nanosleep || n == clock_nanosleep =>
            {
                StuckIn::Sleeping
            }
            _ => StuckIn::Unknown,
        }
    }
}

/// The state letter and `utime + stime` (in ticks) of a `/proc/.../stat` line. The command
/// name in parentheses may itself contain spaces and parentheses: fields are counted from
/// the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // After the name: state is field 3 of the line, utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((state, utime + stime))
}

/// The CPU time (first field, nanoseconds) of a `/proc/.../schedstat` line.
fn parse_schedstat(schedstat: &str) -> Option<Duration> {
    let nanos: u64 = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Accumulates the time charged to the simulation thread between the watchdog's looks.
#[derive(Debug)]
pub(crate) struct Meter {
    clock: ThreadClock,
    last: Option<(std::time::Instant, Option<Sample>)>,
    charged: Duration,
}

impl Meter {
    /// A meter reading `clock`, starting at zero.
    pub(crate) fn new(clock: ThreadClock) -> Meter {
        Meter {
            clock,
            last: None,
            charged: Duration::ZERO,
        }
    }

    /// Which clock the meter reads.
    pub(crate) fn kind(&self) -> WatchdogClock {
        self.clock.kind()
    }

    /// What the thread is doing now.
    pub(crate) fn stuck_in(&self) -> StuckIn {
        self.clock.stuck_in()
    }

    /// Takes a look now and returns the total time charged so far.
    pub(crate) fn look(&mut self, wall: std::time::Instant) -> Duration {
        let sample = self.clock.sample();
        if let Some((then, before)) = self.last {
            self.charged += charge(wall.saturating_duration_since(then), before, sample);
        }
        self.last = Some((wall, sample));
        self.charged
    }
}

/// The time to charge for one interval of `wall` real time, from the samples at its ends.
///
/// Without samples, the real time. With them, the CPU time consumed, or the whole interval if
/// the thread was blocked at both ends (a task sleeping in `std::thread::sleep` or waiting
/// on a lock is stuck, whatever the CPU says).
pub(crate) fn charge(wall: Duration, before: Option<Sample>, after: Option<Sample>) -> Duration {
    match (before, after) {
        (Some(before), Some(after)) => {
            let cpu = after.cpu.saturating_sub(before.cpu);
            if before.blocked && after.blocked {
                wall.max(cpu)
            } else {
                cpu
            }
        }
        _ => wall,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stat_line_whose_name_has_spaces_and_parens() {
        let line = "4242 (my (odd) name) S 1 2 3 0 -1 4194304 10 0 0 0 250 17 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(line), Some(('S', 267)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(
            parse_schedstat("123456789 10 3\n"),
            Some(Duration::from_nanos(123_456_789))
        );
    }

    #[test]
    fn a_starved_or_stopped_thread_is_charged_only_its_cpu_time() {
        let at = |ms, blocked| {
            Some(Sample {
                cpu: Duration::from_millis(ms),
                blocked,
            })
        };
        let wall = Duration::from_secs(30);
        // Runnable or stopped for 30 s, 10 ms of CPU: 10 ms.
        assert_eq!(
            charge(wall, at(100, false), at(110, false)),
            Duration::from_millis(10)
        );
        // Blocked at both looks: the whole interval.
        assert_eq!(charge(wall, at(100, true), at(100, true)), wall);
        // Spinning: CPU time is real time.
        assert_eq!(charge(wall, at(0, false), at(30_000, false)), wall);
        // No samples: real time.
        assert_eq!(charge(wall, None, None), wall);
    }

    #[test]
    fn this_thread_has_a_clock() {
        let clock = ThreadClock::current();
        if cfg!(target_os = "linux") {
            assert_eq!(clock.kind(), WatchdogClock::ThreadTime);
            let first = clock.sample().expect("a sample");
            assert!(
                !first.blocked,
                "the thread reading its own state is running"
            );
            let mut x = 0u64;
            for i in 0..5_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            assert!(clock.sample().expect("a sample").cpu >= first.cpu);
        }
        assert_eq!(ThreadClock::wall().kind(), WatchdogClock::Wall);
        assert_eq!(ThreadClock::wall().sample(), None);
    }

    #[test]
    fn a_blocked_thread_says_what_it_waits_for() {
        if !cfg!(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        )) {
            return;
        }
        let lock = std::sync::Arc::new(parking_lot::Mutex::new(()));
        let held = lock.lock();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                tx.send(ThreadClock::current()).unwrap();
                drop(lock.lock());
                std::thread::sleep(Duration::from_secs(2));
            })
        };
        let clock = rx.recv().unwrap();
        let seen = |want: StuckIn| {
            let started = std::time::Instant::now();
            while clock.stuck_in() != want && started.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(5));
            }
            clock.stuck_in()
        };
        assert_eq!(seen(StuckIn::Waiting), StuckIn::Waiting);
        drop(held);
        assert_eq!(seen(StuckIn::Sleeping), StuckIn::Sleeping);
        waiter.join().unwrap();
        assert_eq!(ThreadClock::wall().stuck_in(), StuckIn::Unknown);
    }
}
