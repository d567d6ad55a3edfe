//! Counters that span challenges — consecutive failures per account, sends per
//! destination — and their pure transitions. Stores keep them as dumb records and
//! update them atomically with these functions.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::contact::Contact;
use crate::error::{Error, RateLimit};
use crate::ids::AccountId;
use crate::policy::{Limits, Purpose};

/// What a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CounterKind {
    /// Consecutive failed verifications of an account's signed-in checks (every
    /// purpose but recovery) and failed contact proofs of a signed-in person.
    AccountFailures,
    /// Messages sent to one destination.
    DestinationSends,
    /// Consecutive wrong codes of an account's recoveries: a budget of its own, so
    /// failures on the recovery page never block the signed-in owner.
    RecoveryFailures,
    /// Consecutive wrong confirmations (full address, last four digits) on the
    /// recovery page, per identifier identity, for known and unknown identifiers
    /// alike: they link no identifier to another.
    RecoveryConfirmations,
    /// Messages sent for one account, to any destination.
    AccountSends,
    /// SMS and calls to numbers of one country calling code (SMS pumping runs
    /// through premium prefixes).
    CallingCodeSends,
    /// Messages sent by the whole service.
    GlobalSends,
    /// A budget the application defines (e.g. a Verify service's rate-limit
    /// buckets in `seccode-server`), counted with
    /// [`ChallengeStore::count_sends`](crate::store::ChallengeStore::count_sends).
    Custom,
    /// Messages for one account to one of its own proven contacts (the owner's
    /// lane, [`SendLane::Owner`](crate::SendLane::Owner)): no other account and no
    /// anonymous request counts on it.
    OwnerSends,
    /// Anonymous recovery messages to one destination, from every requester
    /// together ([`SendLane::Recovery`](crate::SendLane::Recovery)).
    RecoverySends,
    /// Anonymous recovery messages asked for by one requester (a client address,
    /// a device cookie: the application's choice), to any destination.
    RequesterSends,
    /// Messages of one tenant of a multi-tenant service to one destination
    /// ([`SendLane::Tenant`](crate::SendLane::Tenant)).
    TenantSends,
}

impl CounterKind {
    /// A stable snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CounterKind::AccountFailures => "account_failures",
            CounterKind::DestinationSends => "destination_sends",
            CounterKind::RecoveryFailures => "recovery_failures",
            CounterKind::RecoveryConfirmations => "recovery_confirmations",
            CounterKind::AccountSends => "account_sends",
            CounterKind::CallingCodeSends => "calling_code_sends",
            CounterKind::GlobalSends => "global_sends",
            CounterKind::Custom => "custom",
            CounterKind::OwnerSends => "owner_sends",
            CounterKind::RecoverySends => "recovery_sends",
            CounterKind::RequesterSends => "requester_sends",
            CounterKind::TenantSends => "tenant_sends",
        }
    }
}

/// Names one counter record: its kind and a 128-bit digest of what it counts
/// (`SHA-256(tag ‖ kind ‖ account id or address)`, truncated).
///
/// Keys are small and `Copy`, so checking a counter on the verification path
/// neither allocates nor reads the account's strings, and stores never hold an
/// address or account id in a counter key. Finding a second account whose key
/// equals a given one takes about 2¹²⁸ work.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CounterKey {
    kind: CounterKind,
    digest: [u8; 16],
}

impl CounterKey {
    fn new(kind: CounterKind, value: &str) -> Self {
        Self::of_parts(kind, &[value])
    }

    /// The key of `kind` over several values, each length-prefixed so that no
    /// two lists of values share a key.
    fn of_parts(kind: CounterKind, values: &[&str]) -> Self {
        let mut h = Sha256::new();
        h.update(b"seccode-counter-v1\0");
        h.update(kind.as_str().as_bytes());
        h.update([0]);
        match values {
            // One value: the original layout, so existing counters keep their keys.
            [value] => h.update(value.as_bytes()),
            _ => {
                for value in values {
                    h.update((value.len() as u64).to_be_bytes());
                    h.update(value.as_bytes());
                }
            }
        }
        let full = h.finalize();
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full[..16]);
        Self { kind, digest }
    }

    /// The key of an account's consecutive-failure counter.
    pub fn account_failures(account: &AccountId) -> Self {
        Self::new(CounterKind::AccountFailures, account.as_str())
    }

    /// The key of the failure budget that codes of `purpose` for `account` count
    /// on: [`CounterKind::RecoveryFailures`] for recovery, otherwise
    /// [`CounterKind::AccountFailures`].
    pub fn failures(purpose: Purpose, account: &AccountId) -> Self {
        match purpose {
            Purpose::Recovery => Self::new(CounterKind::RecoveryFailures, account.as_str()),
            _ => Self::account_failures(account),
        }
    }

    /// The key of the confirmation budget of a recovery identifier.
    pub fn recovery_confirmations(identifier: &Contact) -> Self {
        Self::new(CounterKind::RecoveryConfirmations, identifier.identity())
    }

    /// The key of an account's send counter.
    pub fn account_sends(account: &AccountId) -> Self {
        Self::new(CounterKind::AccountSends, account.as_str())
    }

    /// The key of a country calling code's send counter (`44` for `+44…`).
    pub fn calling_code_sends(calling_code: u16) -> Self {
        Self::new(CounterKind::CallingCodeSends, &calling_code.to_string())
    }

    /// The key of a budget the application defines, named by `name` (any
    /// text: it is hashed, so a name may hold a value such as an IP address
    /// without a store keeping it).
    pub fn custom(name: &str) -> Self {
        Self::new(CounterKind::Custom, name)
    }

    /// The key of the service-wide send counter.
    pub fn global_sends() -> Self {
        // The same key for every message: hashed once.
        static GLOBAL: std::sync::OnceLock<CounterKey> = std::sync::OnceLock::new();
        *GLOBAL.get_or_init(|| Self::new(CounterKind::GlobalSends, ""))
    }

    /// The key of a destination's send counter.
    pub fn destination_sends(contact: &Contact) -> Self {
        Self::new(CounterKind::DestinationSends, contact.identity())
    }

    /// The key of the owner's lane: messages for `account` to its own proven
    /// `contact`.
    pub fn owner_sends(account: &AccountId, contact: &Contact) -> Self {
        Self::of_parts(
            CounterKind::OwnerSends,
            &[account.as_str(), contact.identity()],
        )
    }

    /// The key of a destination's anonymous-recovery send counter.
    pub fn recovery_sends(contact: &Contact) -> Self {
        Self::new(CounterKind::RecoverySends, contact.identity())
    }

    /// The key of a recovery requester's send counter (`requester` is hashed:
    /// a store never holds it).
    pub fn requester_sends(requester: &str) -> Self {
        Self::new(CounterKind::RequesterSends, requester)
    }

    /// The key of one tenant's send counter for `contact`.
    pub fn tenant_sends(tenant: &str, contact: &Contact) -> Self {
        Self::of_parts(CounterKind::TenantSends, &[tenant, contact.identity()])
    }

    /// A key from its parts, as read back from storage.
    pub const fn from_parts(kind: CounterKind, digest: [u8; 16]) -> Self {
        Self { kind, digest }
    }

    /// What it counts.
    pub const fn kind(&self) -> CounterKind {
        self.kind
    }

    /// The digest.
    pub const fn digest(&self) -> &[u8; 16] {
        &self.digest
    }

    /// A stable string form for stores that key by string:
    /// `{kind}:{32 hex digits}`, e.g. `account_failures:3f…`.
    pub fn storage_key(&self) -> String {
        format!(
            "{}:{}",
            self.kind.as_str(),
            crate::hex::encode(&self.digest)
        )
    }
}

impl std::hash::Hash for CounterKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The digest is already uniform: its first 8 bytes are a good hash.
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.digest[..8]);
        state.write_u64(u64::from_le_bytes(first) ^ self.kind as u64);
    }
}

impl fmt::Debug for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CounterKey({})", self.storage_key())
    }
}

/// One counter record. A counter equal to `Counter::default()` is empty and may be
/// deleted; otherwise a store keeps it until `expires_at`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Events counted in the current window (sends) or run (failures).
    pub count: u32,
    /// When the current window started.
    pub window_start: Timestamp,
    /// Refusals last until this time (zero: not blocked).
    pub blocked_until: Timestamp,
    /// When the store may forget the record.
    pub expires_at: Timestamp,
}

impl Counter {
    /// Whether the record holds nothing worth keeping.
    pub fn is_empty(&self) -> bool {
        *self == Counter::default()
    }

    /// Counts one message against the send budget of `kind` (its cap and window
    /// come from [`Limits`]), within a fixed window.
    ///
    /// # Errors
    ///
    /// [`Error::RateLimited`] with the budget's [`RateLimit`](crate::RateLimit) when the window's
    /// sends are used up; nothing is counted then.
    pub fn count_send(
        &mut self,
        kind: CounterKind,
        limits: &Limits,
        now: Timestamp,
    ) -> Result<(), Error> {
        let (cap, window, limit) = limits.send_cap(kind);
        self.count_in_window(cap, window, now)
            .map_err(|retry_after| Error::RateLimited { limit, retry_after })
    }

    /// Counts one event within a fixed window of `window` starting at the first
    /// event, at most `cap` per window: the rule of every send budget, as data a
    /// store can also apply server-side (Redis).
    ///
    /// # Errors
    ///
    /// The time until the window ends, when its `cap` events are used up; nothing
    /// is counted then.
    pub fn count_in_window(
        &mut self,
        cap: u32,
        window: Duration,
        now: Timestamp,
    ) -> Result<(), Duration> {
        self.weigh_in_window(cap, window, 1, now)
    }

    /// As [`Counter::count_in_window`], adding `weight` (0 or 1) instead of one:
    /// a message that must look counted without spending the budget (a decoy on
    /// a budget that caps spend) is refused exactly when a counted one would be,
    /// and writes the same record, but adds nothing.
    ///
    /// # Errors
    ///
    /// As [`Counter::count_in_window`].
    pub fn weigh_in_window(
        &mut self,
        cap: u32,
        window: Duration,
        weight: u32,
        now: Timestamp,
    ) -> Result<(), Duration> {
        if self.count == 0 || now >= self.window_start + window {
            *self = Counter {
                window_start: now,
                ..Counter::default()
            };
        }
        let window_end = self.window_start + window;
        if self.count >= cap {
            return Err(window_end.saturating_since(now));
        }
        self.count += weight.min(1);
        self.expires_at = window_end;
        Ok(())
    }

    /// Counts one attempt as a failure *before* it is checked (a success calls
    /// [`Counter::clear`] afterwards). Failures past the free ones make the next
    /// one wait; reaching the cap starts the lockout (see [`Limits`]). Failures
    /// are forgotten after a lockout period without any, and after a lockout.
    ///
    /// # Errors
    ///
    /// The time left to wait, if a delay or a lockout runs; nothing is counted.
    pub fn count_failure(&mut self, limits: &Limits, now: Timestamp) -> Result<(), Duration> {
        if now < self.blocked_until {
            return Err(self.blocked_until.saturating_since(now));
        }
        let cap = limits.account_failure_cap();
        if self.count >= cap || now >= self.expires_at {
            *self = Counter::default();
        }
        if self.count == 0 {
            self.window_start = now;
        }
        self.count += 1;
        let wait = if self.count >= cap {
            limits.account_lockout()
        } else {
            limits.failure_delay(self.count)
        };
        // No wait leaves nothing blocked: another process whose clock runs a
        // little behind must not read a wait that was never imposed.
        self.blocked_until = if wait.is_zero() {
            Timestamp::UNIX_EPOCH
        } else {
            now + wait
        };
        self.expires_at = now + limits.account_lockout();
        Ok(())
    }

    /// The time left in an account's lockout, without counting anything.
    pub fn blocked_for(&self, now: Timestamp) -> Option<Duration> {
        (now < self.blocked_until).then(|| self.blocked_until.saturating_since(now))
    }

    /// Gives back one counted message: a send counted on this budget was
    /// refused by a later one ([`ChallengeStore::count_sends`](crate::store::ChallengeStore::count_sends)).
    pub fn refund(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    /// Empties the record (a success resets consecutive failures).
    pub fn clear(&mut self) {
        *self = Counter::default();
    }
}

/// Where each send budget's cap comes from: beside the counters, so that the
/// policy does not depend on them.
impl Limits {
    /// The cap, window and refusal of the send budget of `kind`.
    pub(crate) fn send_cap(&self, kind: CounterKind) -> (u32, Duration, RateLimit) {
        match kind {
            CounterKind::AccountSends => (
                self.account_sends(),
                self.send_window(),
                RateLimit::AccountSends,
            ),
            CounterKind::CallingCodeSends => (
                self.calling_code_sends(),
                self.send_window(),
                RateLimit::CallingCodeSends,
            ),
            CounterKind::GlobalSends => (
                self.global_sends(),
                self.send_window(),
                RateLimit::GlobalSends,
            ),
            CounterKind::RecoverySends => (
                self.recovery_sends(),
                self.destination_window(),
                RateLimit::DestinationSends,
            ),
            CounterKind::RequesterSends => (
                self.requester_sends(),
                self.send_window(),
                RateLimit::RequesterSends,
            ),
            _ => (
                self.destination_sends(),
                self.destination_window(),
                RateLimit::DestinationSends,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_millis(1_000_000);

    #[test]
    fn custom_keys_are_their_own_and_hide_their_name() {
        let a = CounterKey::custom("rate-limit:ip:203.0.113.7");
        assert_eq!(a, CounterKey::custom("rate-limit:ip:203.0.113.7"));
        assert_ne!(a, CounterKey::custom("rate-limit:ip:203.0.113.8"));
        let account = AccountId::new("rate-limit:ip:203.0.113.7").unwrap();
        assert_ne!(a, CounterKey::account_sends(&account));
        assert_eq!(a.kind(), CounterKind::Custom);
        assert!(!a.storage_key().contains("203.0.113.7"));
    }

    #[test]
    fn destination_window_caps_and_reopens() {
        let limits = Limits::builder()
            .destination_sends(2, Duration::from_secs(60))
            .build()
            .unwrap();
        let mut c = Counter::default();
        let d = CounterKind::DestinationSends;
        c.count_send(d, &limits, T0).unwrap();
        c.count_send(d, &limits, T0 + Duration::from_secs(10))
            .unwrap();
        let err = c
            .count_send(d, &limits, T0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(40)));
        assert_eq!(c.count, 2);
        c.count_send(d, &limits, T0 + Duration::from_secs(60))
            .unwrap();
        assert_eq!(c.count, 1);
    }

    #[test]
    fn account_cap_locks_then_forgets() {
        let limits = Limits::builder()
            .account_failure_cap(3)
            .account_lockout(Duration::from_secs(100))
            .build()
            .unwrap();
        let mut c = Counter::default();
        for _ in 0..3 {
            c.count_failure(&limits, T0).unwrap();
        }
        assert_eq!(
            c.count_failure(&limits, T0 + Duration::from_secs(1)),
            Err(Duration::from_secs(99))
        );
        assert_eq!(c.count, 3, "refusals are not counted");
        let later = T0 + Duration::from_secs(100);
        c.count_failure(&limits, later).unwrap();
        assert_eq!(c.count, 1);
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn failures_past_the_free_ones_wait_longer_and_longer() {
        let limits = Limits::builder()
            .account_failure_cap(10)
            .throttle(2, Duration::from_secs(8))
            .account_lockout(Duration::from_secs(600))
            .build()
            .unwrap();
        let mut c = Counter::default();
        let mut now = T0;
        let mut waits = Vec::new();
        for _ in 0..9 {
            c.count_failure(&limits, now).unwrap();
            let wait = c.blocked_for(now).unwrap_or_default();
            if !wait.is_zero() {
                // Too early: refused, not counted.
                let early = Timestamp::from_unix_millis((now + wait).as_unix_millis() - 1);
                assert!(c.count_failure(&limits, early).is_err());
            }
            waits.push(wait.as_secs());
            now = now + wait;
        }
        assert_eq!(waits, [0, 0, 1, 2, 4, 8, 8, 8, 8]);
        // The tenth reaches the cap: the lockout, then a fresh count.
        c.count_failure(&limits, now).unwrap();
        assert_eq!(c.blocked_for(now), Some(Duration::from_secs(600)));
        now = now + Duration::from_secs(600);
        c.count_failure(&limits, now).unwrap();
        assert_eq!((c.count, c.blocked_for(now)), (1, None));
        // A lockout period without failures forgets them too.
        c.count_failure(&limits, now).unwrap();
        now = now + Duration::from_secs(600);
        c.count_failure(&limits, now).unwrap();
        assert_eq!(c.count, 1);
    }

    #[test]
    fn storage_keys_hide_the_address() {
        let contact = Contact::email("secret@example.org").unwrap();
        let key = CounterKey::destination_sends(&contact);
        assert!(!key.storage_key().contains("secret"));
        assert!(!format!("{key:?}").contains("secret"));
        assert_eq!(key.storage_key().len(), "destination_sends:".len() + 32);
        let account = AccountId::new("secret@example.org").unwrap();
        assert_ne!(
            CounterKey::account_failures(&account),
            key,
            "kinds are separated"
        );
        assert_eq!(CounterKey::from_parts(key.kind(), *key.digest()), key);
    }
}
