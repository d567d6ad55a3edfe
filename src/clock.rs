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

    /// RFC 3339 in UTC: `2026-12-01T16:41:23Z`, with `.mmm` when the time has
    /// milliseconds.
    ///
    /// ```
    /// use seccode::Timestamp;
    ///
    /// assert_eq!(Timestamp::from_unix_millis(1_700_000_000_000).to_rfc3339(), "2023-11-14T22:13:20Z");
    /// assert_eq!(Timestamp::from_unix_millis(1_500).to_rfc3339(), "1970-01-01T00:00:01.500Z");
    /// ```
    pub fn to_rfc3339(self) -> String {
        let (secs, millis) = (self.0 / 1000, self.0 % 1000);
        let (days, rest) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
        let time = format!(
            "{:02}:{:02}:{:02}",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        );
        if millis == 0 {
            format!("{y:04}-{m:02}-{d:02}T{time}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{time}.{millis:03}Z")
        }
    }

    /// Reads RFC 3339 (`Z` or a `±HH:MM` offset; fractions beyond milliseconds are
    /// truncated). `None` for anything else or a time before 1970.
    ///
    /// ```
    /// use seccode::Timestamp;
    ///
    /// let t = Timestamp::parse_rfc3339("2023-11-14T23:13:20.25+01:00").unwrap();
    /// assert_eq!(t, Timestamp::from_unix_millis(1_700_000_000_250));
    /// assert!(Timestamp::parse_rfc3339("yesterday").is_none());
    /// ```
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let s = text.get(r)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let first3: String = frac[..digits]
                .chars()
                .chain("000".chars())
                .take(3)
                .collect();
            millis = first3.parse().ok()?;
            rest = &frac[digits..];
        }
        let offset_secs = match rest {
            "Z" | "z" => 0,
            _ => {
                let (sign, hm) = match rest.as_bytes().first()? {
                    b'+' => (1, &rest[1..]),
                    b'-' => (-1, &rest[1..]),
                    _ => return None,
                };
                let (oh, om) = hm.split_once(':')?;
                if oh.len() != 2 || om.len() != 2 {
                    return None;
                }
                sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
            }
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
        let total = secs.checked_mul(1000)?.checked_add(millis)?;
        u64::try_from(total).ok().map(Self)
    }
}

/// (year, month, day) of a count of days since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a (year, month, day) (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    proptest::proptest! {
        #[test]
        fn prop_rfc3339_round_trips(millis in 0u64..253_402_300_799_999) {
            let t = Timestamp::from_unix_millis(millis);
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        }
    }

    #[test]
    fn rfc3339_reads_offsets_and_refuses_junk() {
        let t = Timestamp::parse_rfc3339("2026-12-01T16:41:23Z").unwrap();
        assert_eq!(
            Timestamp::parse_rfc3339("2026-12-01T11:41:23-05:00"),
            Some(t)
        );
        assert_eq!(t.to_rfc3339(), "2026-12-01T16:41:23Z");
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-12-01 16:41",
            "1969-12-31T23:59:59Z",
            "2026-12-01T16:41:23",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
