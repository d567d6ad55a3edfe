//! Time: the [`Timestamp`] the pure core computes with, and the [`Clock`] only the
//! service reads.
//!
//! Every transition of the core takes `now` as an argument; only
//! [`SecurityCodes`](crate::SecurityCodes) calls [`Clock::now`]. Tests drive time with
//! [`ManualClock`] and never sleep.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time: whole milliseconds since the Unix epoch (UTC).
///
/// Millisecond resolution is plenty for expiries measured in minutes and keeps the
/// type a plain `u64` that every store can persist exactly.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seccode::Timestamp;
///
/// let t = Timestamp::from_unix_millis(1_000);
/// assert_eq!(t + Duration::from_secs(1), Timestamp::from_unix_millis(2_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const UNIX_EPOCH: Self = Self(0);

    /// A timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturates at the far future rather than overflowing.
    fn add(self, rhs: Duration) -> Timestamp {
        let millis = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told to; for tests and simulations.
///
/// Share it with `Arc` between the service and the test that moves it.
///
/// # Examples
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use seccode::{Clock, ManualClock, Timestamp};
///
/// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), Timestamp::from_unix_millis(90_000));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            millis: AtomicU64::new(start.0),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }

    /// Sets the clock to `to` (which may be in the past).
    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addition_saturates() {
        let t = Timestamp::from_unix_millis(u64::MAX - 1);
        assert_eq!(
            t + Duration::from_secs(5),
            Timestamp::from_unix_millis(u64::MAX)
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_unix_millis(10));
        assert_eq!(clock.now().as_unix_millis(), 10);
        clock.advance(Duration::from_millis(5));
        assert_eq!(clock.now().as_unix_millis(), 15);
        clock.set(Timestamp::from_unix_millis(3));
        assert_eq!(clock.now().as_unix_millis(), 3);
        assert_eq!(
            clock
                .now()
                .saturating_since(Timestamp::from_unix_millis(10)),
            Duration::ZERO
        );
    }
}
