//! Virtual time: the clock, sleeps, intervals and timeouts of a simulation.
//!
//! Nothing here waits in real time. When every task is waiting, the runtime jumps the clock
//! to the earliest pending timer, so a test that "waits 5 seconds" costs microseconds.

use super::executor::{TimerKey, with_core};
use std::fmt;
use std::future::Future;
use std::ops::{Add, AddAssign, Sub};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A point in virtual time, measured from the start of the simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The start of every simulation.
    pub const ZERO: Instant = Instant(0);

    pub(crate) fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// Nanoseconds since the start of the simulation.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the start of the simulation.
    pub fn since_start(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// Virtual time passed since `self`.
    pub fn elapsed(self) -> Duration {
        now().saturating_duration_since(self)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(nanos(d)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    /// Seconds with microseconds (`12.345678s`); honours width and alignment (`{:>12}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let micros = (self.0 % 1_000_000_000) / 1_000;
        f.pad(&format!("{secs}.{micros:06}s"))
    }
}

/// The current virtual time.
///
/// # Panics
/// Outside a simulation.
pub fn now() -> Instant {
    with_core(|core| core.now())
}

/// Waits for `duration` of virtual time.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(now() + duration)
}

/// Waits until virtual time reaches `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        timer: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    timer: Option<TimerKey>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (keeps the registration if there is one).
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some(key) = self.timer.take() {
            with_core(|core| core.cancel_timer(key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        with_core(|core| {
            if core.now() >= this.deadline {
                if let Some(key) = this.timer.take() {
                    core.cancel_timer(key);
                }
                return Poll::Ready(());
            }
            match this.timer {
                Some(key) if core.update_timer(key, cx.waker()) => {}
                _ => this.timer = Some(core.add_timer(this.deadline, cx.waker().clone())),
            }
            Poll::Pending
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.timer.take() {
            // The simulation may already be gone when a leftover future is dropped.
            super::executor::try_with_core(|core| core.cancel_timer(key));
        }
    }
}

/// Yields once, letting every other ready task run before this one continues.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Returned by [`timeout`] when the time ran out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future`, giving up after `duration` of virtual time.
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let mut sleep = std::pin::pin!(sleep(duration));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = future.as_mut().poll(cx) {
            Poll::Ready(Ok(value))
        } else if sleep.as_mut().poll(cx).is_ready() {
            Poll::Ready(Err(Elapsed))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// A ticker: [`Interval::tick`] completes once per period.
///
/// The first tick completes at once; each later one a period after the previous tick's
/// deadline, or a period after now if the task fell behind (ticks are never bunched up).
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

/// A ticker with the given period.
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "labrpc: interval period must be non-zero"
    );
    Interval {
        period,
        sleep: sleep_until(now()),
    }
}

impl Interval {
    /// Waits for the next tick and returns its deadline.
    pub async fn tick(&mut self) -> Instant {
        (&mut self.sleep).await;
        let fired = self.sleep.deadline();
        let next = fired + self.period;
        let next = if next <= now() {
            now() + self.period
        } else {
            next
        };
        self.sleep.reset(next);
        fired
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}
