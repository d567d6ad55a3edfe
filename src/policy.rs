use std::fmt;
use std::time::Duration;

use crate::code::CodeFormat;
use crate::error::PolicyError;

/// Why a code is sent. A code verifies only for the purpose it was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Purpose {
    /// Proving a new email address or phone number before it becomes security info.
    AddSecurityInfo,
    /// Proving the current phone before it is replaced.
    ChangePhone,
    /// Recovering an account or resetting its password.
    Recovery,
    /// Proving identity again before a sensitive action.
    IdentityCheck,
}

impl Purpose {
    /// All purposes, in a fixed order.
    pub const ALL: [Purpose; 4] = [
        Purpose::AddSecurityInfo,
        Purpose::ChangePhone,
        Purpose::Recovery,
        Purpose::IdentityCheck,
    ];

    /// A stable snake-case name, for logs and storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::AddSecurityInfo => "add_security_info",
            Purpose::ChangePhone => "change_phone",
            Purpose::Recovery => "recovery",
            Purpose::IdentityCheck => "identity_check",
        }
    }

    /// The inverse of [`Purpose::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Purpose::AddSecurityInfo => 0,
            Purpose::ChangePhone => 1,
            Purpose::Recovery => 2,
            Purpose::IdentityCheck => 3,
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How codes of one purpose look and how long and how often they may be tried.
///
/// Build one with [`Policy::builder`]; the default is the table in the
/// [module docs](crate::Limits).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seccode::{CodeFormat, Policy};
///
/// let policy = Policy::builder()
///     .format(CodeFormat::digits(8)?)
///     .lifetime(Duration::from_secs(15 * 60))
///     .build()?;
/// assert!(policy.guess_probability() < 1e-7);
///
/// // Four digits with five tries: a 1 in 2000 chance per challenge. Refused.
/// assert!(Policy::builder().format(CodeFormat::digits(4)?).build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    format: CodeFormat,
    lifetime: Duration,
    max_attempts: u8,
    max_sends: u8,
    resend_cooldown: Duration,
}

impl Policy {
    /// The largest per-challenge guess probability any policy may have.
    pub const MAX_GUESS_PROBABILITY: f64 = 1e-4;

    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Policy::default(),
            allow_short: false,
        }
    }

    /// The code format.
    pub const fn format(&self) -> CodeFormat {
        self.format
    }

    /// How long a code stays valid after the challenge starts.
    pub const fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Guesses evaluated per challenge.
    pub const fn max_attempts(&self) -> u8 {
        self.max_attempts
    }

    /// Messages (first send, resends and new codes) per challenge.
    pub const fn max_sends(&self) -> u8 {
        self.max_sends
    }

    /// The minimum time between two sends of one challenge.
    pub const fn resend_cooldown(&self) -> Duration {
        self.resend_cooldown
    }

    /// The probability that an attacker who never saw the code gets one challenge
    /// right: `max_attempts / combinations` (union bound; generating a new code
    /// does not reset the attempts, so it does not raise this).
    pub fn guess_probability(&self) -> f64 {
        f64::from(self.max_attempts) / self.format.combinations() as f64
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            format: CodeFormat::default(),
            lifetime: Duration::from_secs(10 * 60),
            max_attempts: 5,
            max_sends: 5,
            resend_cooldown: Duration::from_secs(30),
        }
    }
}

/// Builds a [`Policy`], refusing insecure settings.
#[derive(Clone, Debug)]
#[must_use]
pub struct PolicyBuilder {
    policy: Policy,
    allow_short: bool,
}

impl PolicyBuilder {
    /// The code format (default: 6 digits).
    pub fn format(mut self, format: CodeFormat) -> Self {
        self.policy.format = format;
        self
    }

    /// How long a code stays valid (default: 10 minutes; 1 minute to 24 hours).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.policy.lifetime = lifetime;
        self
    }

    /// Guesses per challenge (default: 5; 1 to 10).
    pub fn max_attempts(mut self, attempts: u8) -> Self {
        self.policy.max_attempts = attempts;
        self
    }

    /// Sends per challenge (default: 5; 1 to 10).
    pub fn max_sends(mut self, sends: u8) -> Self {
        self.policy.max_sends = sends;
        self
    }

    /// Minimum time between sends (default: 30 s; shorter than the lifetime).
    pub fn resend_cooldown(mut self, cooldown: Duration) -> Self {
        self.policy.resend_cooldown = cooldown;
        self
    }

    /// Allows codes below 10⁶ combinations (e.g. 4 or 5 digits). Such codes fall
    /// short of NIST SP 800-63B rev. 4 and OWASP ASVS; the per-challenge guess
    /// bound of 10⁻⁴ still applies, so 4 digits allow one attempt.
    pub fn danger_allow_short_codes(mut self) -> Self {
        self.allow_short = true;
        self
    }

    /// Checks and returns the policy.
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] naming the first setting out of range or insecure.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let p = self.policy;
        if !(1..=10).contains(&p.max_attempts) {
            return Err(PolicyError::MaxAttempts);
        }
        if !(1..=10).contains(&p.max_sends) {
            return Err(PolicyError::MaxSends);
        }
        if p.lifetime < Duration::from_secs(60) || p.lifetime > Duration::from_secs(24 * 3600) {
            return Err(PolicyError::Lifetime);
        }
        if p.resend_cooldown >= p.lifetime {
            return Err(PolicyError::Cooldown);
        }
        if p.format.combinations() < 1_000_000 && !self.allow_short {
            return Err(PolicyError::ShortCode);
        }
        if p.guess_probability() > Policy::MAX_GUESS_PROBABILITY {
            return Err(PolicyError::GuessBound);
        }
        Ok(p)
    }
}

/// Limits that span challenges: failures per account (and per recovery
/// identifier) and sends per destination.
///
/// # Failure budgets
///
/// Every budget of consecutive failures — an account's signed-in checks, an
/// account's recovery codes, a recovery identifier's confirmations (see
/// [`AccountSecurity`](crate::AccountSecurity)) — follows one rule: the first
/// [`free_failures`](Limits::free_failures) are immediate; each later one makes the
/// next wait, doubling from 1 s up to [`max_failure_delay`](Limits::max_failure_delay)
/// (RFC 4226 §7.3's increasing delay); the
/// [`account_failure_cap`](Limits::account_failure_cap)-th starts a lockout of
/// [`account_lockout`](Limits::account_lockout), after which the count restarts. A
/// success, or a lockout period without failures, clears the count.
///
/// With the defaults (10 free, 15 min at most, 100, 1 h) an attacker who fails as
/// fast as allowed needs about 20 hours to reach the cap, so the owner waits at
/// most 15 minutes while an attack runs and one hour after it reaches the cap,
/// instead of a day; [`Limits::guesses_per_account_per_day`] is the resulting bound.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seccode::Limits;
///
/// let limits = Limits::builder()
///     .account_failure_cap(20)
///     .throttle(5, Duration::from_secs(60))
///     .destination_sends(5, Duration::from_secs(3600))
///     .build()?;
/// assert_eq!(limits.account_failure_cap(), 20);
/// assert_eq!(limits.failure_delay(5), Duration::ZERO);
/// assert_eq!(limits.failure_delay(8), Duration::from_secs(4));
/// assert_eq!(limits.failure_delay(19), Duration::from_secs(60));
/// assert!(Limits::builder().account_failure_cap(101).build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Policies and their defaults
///
/// Policies: how codes look and how long and how often they may be tried, per
/// [`Purpose`]; and the account- and destination-wide [`Limits`].
///
/// Defaults and their sources:
///
/// | setting | default | source |
/// |---|---|---|
/// | code | 6 digits | NIST SP 800-63B rev. 4 (≥ 6 digits); OWASP ASVS 2.7.6 (≥ 20 bits) |
/// | lifetime | 10 minutes | NIST SP 800-63B §5.1.3.2; OWASP ASVS 2.7.2 / 6.5.5 |
/// | attempts per challenge | 5 | Twilio Verify (error 60202) |
/// | sends per challenge | 5 | Twilio Verify (error 60203) |
/// | resend cooldown | 30 s | common practice: long enough to stop mail bombing, short enough for a lost SMS |
/// | consecutive failures per account (signed-in checks; recovery has its own budgets) | 10 free, then delays doubling from 1 s to 15 min; at 100, a 1 h lockout | NIST SP 800-63B §5.2.2 (≤ 100, increasing waits); OWASP ASVS 2.2.1; RFC 4226 §7.3 |
/// | sends per destination | 10 per hour | against SMS pumping and mail bombing (Twilio Fraud Guard) |
/// | sends per account / per country calling code / in all | 20 / 1 000 / 100 000 per hour | against SMS pumping (one account, many numbers; premium prefixes) |
/// | anonymous recovery sends per destination / per requester | 5 / 10 per hour | against mail bombing through the recovery page |
/// | the owner's reserve of the calling-code and global caps | 100 % on top of each | keeps the owner's lane open when strangers fill the caps |
///
/// # Budgets that protect people, and budgets that protect money
///
/// A send budget exists for one of two reasons, and the two are kept apart:
///
/// * **People's budgets** keep a mailbox or a phone from being flooded and an
///   account from being used to flood. Whoever can spend one can deny it to
///   others, so each is keyed so that only the party it protects against can
///   spend it — by the message's [`SendLane`](crate::SendLane):
///   * the **owner's lane** ([`SendLane::Owner`](crate::SendLane::Owner)): a
///     signed-in owner's codes to their own proven contacts (identity checks,
///     change-phone confirmations, ending a hold) count on a budget per account
///     *and* contact ([`CounterKind::OwnerSends`](crate::store::CounterKind::OwnerSends)). Nobody else's request
///     reaches it: anonymous recovery and other accounts count elsewhere.
///   * **unproven contacts** ([`SendLane::Unproven`](crate::SendLane::Unproven)):
///     codes to a contact being added count on the destination's budget, which
///     every account adding it shares (so three strangers adding your address
///     together cannot send it more than one could), and on the account's.
///   * **anonymous recovery** ([`SendLane::Recovery`](crate::SendLane::Recovery)):
///     a smaller budget per destination ([`Limits::recovery_sends`]), and one per
///     requester when the application names it (client address, device
///     cookie), so one client cannot use up a contact's recovery budget.
///     Recovery never counts on the owner's lane or the account's budget.
/// * **Money budgets** (per country calling code, the whole service) stop SMS
///   pumping from running up the bill. They count only what is delivered: a
///   decoy (the made-up answer for an unknown identifier) passes them like a
///   real message — the same reads, writes and refusals — but adds nothing, so
///   requests for unknown numbers cost nothing and refuse nobody. Anonymous and
///   unproven sends are refused at the cap; the owner's lane has a reserve on
///   top of it ([`Limits::owner_reserve_percent`]), so strangers who fill a cap
///   with real recovery messages still leave the owners' codes going out.
///
/// [`Config::availability_bound`] states the result: what a signed-in owner
/// still gets against an attacker who knows every one of their addresses and
/// sends as fast as the crate allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    account_failure_cap: u32,
    account_lockout: Duration,
    free_failures: u32,
    max_failure_delay: Duration,
    destination_sends: u32,
    destination_window: Duration,
    account_sends: u32,
    calling_code_sends: u32,
    global_sends: u32,
    send_window: Duration,
    recovery_sends: u32,
    requester_sends: u32,
    owner_reserve_percent: u32,
}

impl Limits {
    /// A builder starting from the defaults.
    pub fn builder() -> LimitsBuilder {
        LimitsBuilder(Limits::default())
    }

    /// Consecutive failures in one budget before its lockout. A success resets the
    /// count.
    pub const fn account_failure_cap(&self) -> u32 {
        self.account_failure_cap
    }

    /// How long a budget stays locked after reaching the cap, counted from the
    /// failure that reached it; also how long failures are remembered. The count
    /// restarts afterwards.
    pub const fn account_lockout(&self) -> Duration {
        self.account_lockout
    }

    /// Failures without any wait.
    pub const fn free_failures(&self) -> u32 {
        self.free_failures
    }

    /// The longest wait between two failures below the cap (never longer than the
    /// lockout).
    pub const fn max_failure_delay(&self) -> Duration {
        self.max_failure_delay
    }

    /// The wait after the `count`-th consecutive failure, below the cap: zero for
    /// the free ones, then 1 s, 2 s, 4 s… up to [`Limits::max_failure_delay`].
    pub fn failure_delay(&self, count: u32) -> Duration {
        match count.checked_sub(self.free_failures + 1) {
            None => Duration::ZERO,
            Some(doublings) => Duration::from_secs(1u64 << doublings.min(40))
                .min(self.max_failure_delay)
                .min(self.account_lockout),
        }
    }

    /// Messages per destination per window.
    pub const fn destination_sends(&self) -> u32 {
        self.destination_sends
    }

    /// The window of [`Limits::destination_sends`].
    pub const fn destination_window(&self) -> Duration {
        self.destination_window
    }

    /// Messages per account per [`Limits::send_window`], to all its destinations.
    pub const fn account_sends(&self) -> u32 {
        self.account_sends
    }

    /// SMS and calls per country calling code per [`Limits::send_window`].
    pub const fn calling_code_sends(&self) -> u32 {
        self.calling_code_sends
    }

    /// Messages of the whole service per [`Limits::send_window`].
    pub const fn global_sends(&self) -> u32 {
        self.global_sends
    }

    /// The window of the account, calling-code and global send caps.
    pub const fn send_window(&self) -> Duration {
        self.send_window
    }

    /// Anonymous recovery messages per destination per
    /// [`Limits::destination_window`], from every requester together: what a
    /// stranger who knows an address can make it receive.
    pub const fn recovery_sends(&self) -> u32 {
        self.recovery_sends
    }

    /// Anonymous recovery messages one requester may cause per
    /// [`Limits::send_window`], to any destinations.
    pub const fn requester_sends(&self) -> u32 {
        self.requester_sends
    }

    /// The share of the calling-code and global caps, in percent on top of them,
    /// that only the owner's lane may use: anonymous requests and sends to
    /// unproven contacts are refused at the cap, an owner's sends to their own
    /// proven contacts only once the reserve is used too.
    pub const fn owner_reserve_percent(&self) -> u32 {
        self.owner_reserve_percent
    }

    /// An upper bound on the failures one budget allows in any 24 hours: what an
    /// attacker failing as fast as the waits allow gets from a fresh count, plus
    /// one cap for a day that starts in the middle of a run.
    pub fn guesses_per_account_per_day(&self) -> u64 {
        let day = Duration::from_secs(24 * 3600);
        let (mut t, mut count, mut total) = (Duration::ZERO, 0u32, 0u64);
        while t < day {
            total += 1;
            count += 1;
            if count >= self.account_failure_cap {
                count = 0;
                t += self.account_lockout;
            } else {
                t += self.failure_delay(count);
            }
        }
        total + u64::from(self.account_failure_cap)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            account_failure_cap: 100,
            account_lockout: Duration::from_secs(3600),
            free_failures: 10,
            max_failure_delay: Duration::from_secs(15 * 60),
            destination_sends: 10,
            destination_window: Duration::from_secs(3600),
            account_sends: 20,
            calling_code_sends: 1_000,
            global_sends: 100_000,
            send_window: Duration::from_secs(3600),
            recovery_sends: 5,
            requester_sends: 10,
            owner_reserve_percent: 100,
        }
    }
}

/// Builds [`Limits`], refusing out-of-range settings.
#[derive(Clone, Debug)]
#[must_use]
pub struct LimitsBuilder(Limits);

impl LimitsBuilder {
    /// Consecutive failures per budget (default: 100; 1 to 100, NIST SP 800-63B §5.2.2).
    pub fn account_failure_cap(mut self, cap: u32) -> Self {
        self.0.account_failure_cap = cap;
        self
    }

    /// Lockout after the cap is reached (default: 1 hour; 1 second to 30 days).
    pub fn account_lockout(mut self, lockout: Duration) -> Self {
        self.0.account_lockout = lockout;
        self
    }

    /// Failures without a wait, and the longest wait after later ones (default: 10
    /// and 15 minutes; a wait never exceeds the lockout).
    pub fn throttle(mut self, free_failures: u32, max_delay: Duration) -> Self {
        self.0.free_failures = free_failures;
        self.0.max_failure_delay = max_delay;
        self
    }

    /// Messages per destination per window (default: 10 per hour).
    pub fn destination_sends(mut self, sends: u32, window: Duration) -> Self {
        self.0.destination_sends = sends;
        self.0.destination_window = window;
        self
    }

    /// Messages per account, SMS and calls per country calling code, and messages
    /// of the whole service, per `window` (default: 20, 1 000 and 100 000 per hour).
    /// Size them from your traffic: the global cap stops a pumping attack from
    /// running up the bill, at the price of refusing everyone once it is reached.
    pub fn send_caps(
        mut self,
        account: u32,
        calling_code: u32,
        global: u32,
        window: Duration,
    ) -> Self {
        self.0.account_sends = account;
        self.0.calling_code_sends = calling_code;
        self.0.global_sends = global;
        self.0.send_window = window;
        self
    }

    /// Anonymous recovery messages per destination (per destination window)
    /// and per requester (per send window) (default: 5 and 10).
    pub fn recovery_sends(mut self, per_destination: u32, per_requester: u32) -> Self {
        self.0.recovery_sends = per_destination;
        self.0.requester_sends = per_requester;
        self
    }

    /// The owner's reserve on the calling-code and global caps, in percent of
    /// each (default: 100, so an owner's sends to their proven contacts are
    /// refused only at twice the cap; 0 to 1 000).
    pub fn owner_reserve_percent(mut self, percent: u32) -> Self {
        self.0.owner_reserve_percent = percent;
        self
    }

    /// Checks and returns the limits.
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] naming the first setting out of range.
    pub fn build(self) -> Result<Limits, PolicyError> {
        let l = self.0;
        if l.owner_reserve_percent > 1_000 {
            return Err(PolicyError::OwnerReserve);
        }
        if !(1..=100).contains(&l.account_failure_cap) {
            return Err(PolicyError::AccountFailureCap);
        }
        if [
            l.destination_sends,
            l.account_sends,
            l.calling_code_sends,
            l.global_sends,
            l.recovery_sends,
            l.requester_sends,
        ]
        .contains(&0)
        {
            return Err(PolicyError::DestinationSends);
        }
        let ok = |d: Duration| d >= Duration::from_secs(1) && d <= Duration::from_secs(30 * 86400);
        if !ok(l.account_lockout) || !ok(l.destination_window) || !ok(l.send_window) {
            return Err(PolicyError::Window);
        }
        Ok(l)
    }
}

/// Everything the service enforces: a [`Policy`] per [`Purpose`] and the [`Limits`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seccode::{Config, Policy, Purpose};
///
/// let recovery = Policy::builder().lifetime(Duration::from_secs(15 * 60)).build()?;
/// let config = Config::default().with_policy(Purpose::Recovery, recovery);
/// let bound = config.guess_bound(Purpose::Recovery);
/// assert!(bound.per_challenge <= 5e-6);
/// assert!(bound.per_account_per_day <= 5e-4); // two budgets of 231 failures a day, 10⁶ codes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Config {
    policies: [Policy; 4],
    limits: Limits,
}

impl Config {
    /// Replaces the policy of one purpose.
    #[must_use]
    pub fn with_policy(mut self, purpose: Purpose, policy: Policy) -> Self {
        self.policies[purpose.index()] = policy;
        self
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The policy of one purpose.
    pub fn policy(&self, purpose: Purpose) -> &Policy {
        &self.policies[purpose.index()]
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What a signed-in owner still gets against a stranger who knows every one
    /// of their addresses — and what the stranger can make a contact receive.
    ///
    /// ```
    /// use seccode::Config;
    ///
    /// let bound = Config::default().availability_bound();
    /// assert_eq!(bound.owner_codes_per_contact, 10); // per hour, whatever others send
    /// assert_eq!(bound.recovery_messages_per_contact, 5);
    /// ```
    pub fn availability_bound(&self) -> AvailabilityBound {
        let l = &self.limits;
        AvailabilityBound {
            owner_codes_per_contact: l.destination_sends,
            window: l.destination_window,
            recovery_messages_per_contact: l.recovery_sends,
            unproven_messages_per_contact: l.destination_sends,
        }
    }

    /// The attacker's best chances against codes of `purpose`, for an attacker who
    /// does not receive the messages. Per account and day it counts both of an
    /// account's code budgets — signed-in checks and recovery — as if one attacker
    /// could spend both.
    pub fn guess_bound(&self, purpose: Purpose) -> GuessBound {
        let policy = self.policy(purpose);
        let space = policy.format().combinations() as f64;
        let per_day = 2.0 * self.limits.guesses_per_account_per_day() as f64;
        GuessBound {
            per_challenge: policy.guess_probability(),
            per_account_per_day: (per_day / space).min(1.0),
        }
    }
}

/// What an owner still gets while a stranger who knows every one of their
/// addresses asks for codes to them as fast as the crate allows (see the
/// [`Limits` docs](crate::Limits#budgets-that-protect-people-and-budgets-that-protect-money)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AvailabilityBound {
    /// Codes a signed-in owner can get to each of their proven contacts per
    /// destination window, whatever anyone else sends: the owner's lane, which
    /// nobody else can spend.
    pub owner_codes_per_contact: u32,
    /// The window of `owner_codes_per_contact`.
    pub window: Duration,
    /// The most anonymous recovery messages anyone can make one contact receive
    /// per window, from every requester together.
    pub recovery_messages_per_contact: u32,
    /// The most messages to one contact per window from accounts adding it as
    /// security info, all of them together.
    pub unproven_messages_per_contact: u32,
}

/// Upper bounds on an attacker's success probability (union bounds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuessBound {
    /// Getting one challenge right within its attempts.
    pub per_challenge: f64,
    /// Getting any challenge of one account right within 24 hours, given its two
    /// failure budgets (see [`Limits`]).
    pub per_account_per_day: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_the_documented_one() {
        let p = Policy::default();
        assert_eq!(p, Policy::builder().build().unwrap());
        assert_eq!(p.format(), CodeFormat::digits(6).unwrap());
        assert_eq!(p.lifetime(), Duration::from_secs(600));
        assert_eq!((p.max_attempts(), p.max_sends()), (5, 5));
        assert!((p.guess_probability() - 5e-6).abs() < 1e-12);
    }

    #[test]
    fn insecure_policies_are_refused() {
        let b = Policy::builder;
        assert_eq!(b().max_attempts(0).build(), Err(PolicyError::MaxAttempts));
        assert_eq!(b().max_attempts(11).build(), Err(PolicyError::MaxAttempts));
        assert_eq!(b().max_sends(0).build(), Err(PolicyError::MaxSends));
        assert_eq!(
            b().lifetime(Duration::from_secs(59)).build(),
            Err(PolicyError::Lifetime)
        );
        assert_eq!(
            b().lifetime(Duration::from_secs(86401)).build(),
            Err(PolicyError::Lifetime)
        );
        assert_eq!(
            b().resend_cooldown(Duration::from_secs(600)).build(),
            Err(PolicyError::Cooldown)
        );
        let four = CodeFormat::digits(4).unwrap();
        assert_eq!(b().format(four).build(), Err(PolicyError::ShortCode));
        assert_eq!(
            b().format(four).danger_allow_short_codes().build(),
            Err(PolicyError::GuessBound)
        );
        assert!(
            b().format(four)
                .max_attempts(1)
                .danger_allow_short_codes()
                .build()
                .is_ok()
        );
        let alnum4 = CodeFormat::alphanumeric(4).unwrap(); // 2^20 > 10^6
        assert!(b().format(alnum4).build().is_ok());
    }

    #[test]
    fn limits_are_validated() {
        assert_eq!(
            Limits::builder().account_failure_cap(0).build(),
            Err(PolicyError::AccountFailureCap)
        );
        assert_eq!(
            Limits::builder()
                .destination_sends(0, Duration::from_secs(60))
                .build(),
            Err(PolicyError::DestinationSends)
        );
        assert_eq!(
            Limits::builder().account_lockout(Duration::ZERO).build(),
            Err(PolicyError::Window)
        );
    }

    #[test]
    fn guess_bound_follows_the_caps() {
        // Greedy from a fresh count over 24 h: failures 1–11 at once, then waits
        // of 1 s … 512 s (the 21st at 1 023 s), then one every 15 min: the 100th at
        // 72 123 s (20 h). A 1 h lockout; then 21 more by 76 746 s and 10 more at
        // 15-min steps before 86 400 s: 131. Plus one cap for a day that starts in
        // the middle of a run: 231.
        let l = Limits::default();
        assert_eq!(l.guesses_per_account_per_day(), 131 + 100);
        let b = Config::default().guess_bound(Purpose::Recovery);
        assert!(
            (b.per_account_per_day - 2.0 * 231e-6).abs() < 1e-12,
            "{b:?}"
        );
        // Without waits: the cap once per lockout, plus the edge.
        let hourly = Limits::builder()
            .throttle(100, Duration::from_secs(1))
            .account_lockout(Duration::from_secs(3600))
            .build()
            .unwrap();
        assert_eq!(hourly.guesses_per_account_per_day(), 24 * 100 + 100);
        let daily = Limits::builder()
            .throttle(100, Duration::from_secs(1))
            .account_lockout(Duration::from_secs(86400))
            .build()
            .unwrap();
        assert_eq!(daily.guesses_per_account_per_day(), 200);
    }

    #[test]
    fn failures_wait_longer_and_longer() {
        let l = Limits::default();
        let waits: Vec<u64> = (9..=13).map(|n| l.failure_delay(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 1, 2, 4]);
        assert_eq!(l.failure_delay(99), Duration::from_secs(900));
        let short = Limits::builder()
            .account_lockout(Duration::from_secs(60))
            .build()
            .unwrap();
        assert_eq!(short.failure_delay(99), Duration::from_secs(60));
    }

    #[test]
    fn purpose_names_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_name(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::from_name("nope"), None);
    }
}
