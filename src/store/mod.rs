//! The storage ports — [`ChallengeStore`] and [`AccountStore`] — and their
//! in-memory implementations.
//!
//! # Contract
//!
//! Logic lives in the pure core; a store is dumb and atomic. Its one real
//! primitive is an **atomic read-modify-write of one record with a pure closure**
//! ([`ChallengeStore::update`], [`ChallengeStore::update_counter`]): no other
//! update of the same record may interleave between the read and the write, also
//! across threads and processes sharing the store. Memory does it under a shard
//! lock, SQLite in one `BEGIN IMMEDIATE` transaction, PostgreSQL in one transaction
//! with row locks, Redis in a version-checked script.
//!
//! The closures are pure, cheap and may be called more than once (a store that
//! retries on a write conflict calls them again on the fresh record); only the
//! result of the call whose write committed may be returned.
//!
//! **Failure direction.** If a store cannot tell whether a write committed (a
//! timeout, a lost connection), it must return an error, never a success: the
//! service then reports a store failure, and the attempt stays counted — the safe
//! direction. A store must never lose a committed increment or return a record
//! older than one it already returned.
//!
//! Records expire: a challenge may be forgotten after
//! [`Challenge::retain_until`], a counter after [`Counter::expires_at`], and
//! an empty counter at once, so stores do not grow without bound.

use std::future::Future;

use crate::account::Account;
use crate::challenge::{AccountId, Attempt, Challenge, ChallengeId, Expected, Verification};
use crate::clock::Timestamp;
use crate::contact::Contact;
use crate::counter::{Counter, CounterKey};
use crate::error::Error;
use crate::policy::{Limits, Purpose};
use std::time::Duration;

/// The result of [`ChallengeStore::update_and_count`]: `None` without a
/// challenge; the challenge closure's error; or its value and the counter
/// closure's result.
pub type Counted<V, R, E> = Option<Result<(V, R), E>>;

/// One send budget of a message: the counter it counts on, and at most `cap`
/// messages per `window` (see [`Counter::count_in_window`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendBudget {
    /// The counter.
    pub key: CounterKey,
    /// Messages per window.
    pub cap: u32,
    /// The window, from its first message.
    pub window: Duration,
    /// Whether the message spends the budget. `false` for a decoy on a budget
    /// that caps spend: it is refused exactly when a real message would be and
    /// writes the same record, but adds nothing
    /// ([`Counter::weigh_in_window`]).
    pub counted: bool,
}

impl SendBudget {
    /// A budget the message spends.
    pub const fn new(key: CounterKey, cap: u32, window: Duration) -> Self {
        Self {
            key,
            cap,
            window,
            counted: true,
        }
    }

    /// Applies the budget to its counter: the rule every store runs in its
    /// atomic step.
    ///
    /// # Errors
    ///
    /// The time until the window ends, when its cap is used up (nothing is
    /// counted then).
    pub fn apply(&self, counter: &mut Counter, now: Timestamp) -> Result<(), Duration> {
        counter.weigh_in_window(self.cap, self.window, u32::from(self.counted), now)
    }
}

/// The rules one guess is counted by, as data: who may verify (the purpose
/// and, when known, the account) and the failure limits of the account's
/// budget. A store that counts guesses server-side (Redis) passes these to its
/// script; every other store applies [`GuessRule::count`] in its atomic step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuessRule {
    /// The purpose the code is being used for.
    pub purpose: Purpose,
    /// The account, when the caller knows it.
    pub account: Option<AccountId>,
    /// The failure limits (cap, throttle, lockout) of the account's budget.
    pub limits: Limits,
}

impl GuessRule {
    /// The pure rule: counts the attempt on the challenge
    /// ([`Challenge::begin_attempt`]) and, if it may be compared, on the
    /// failure counter ([`Counter::count_failure`]) — an attempt is a failure
    /// until proven a success. `Err` is the answer when there is nothing to
    /// compare (not pending, wrong purpose or account, account locked); the
    /// challenge's attempt stays counted in every case but the first.
    ///
    /// # Errors
    ///
    /// The outcome to answer without comparing a code.
    pub fn count(
        &self,
        challenge: &mut Challenge,
        counter: &mut Counter,
        now: Timestamp,
    ) -> Result<Attempt, Verification> {
        let attempt = challenge.begin_attempt(&self.expected(), now)?;
        counter
            .count_failure(&self.limits, now)
            .map_err(|retry_after| Verification::AccountLocked { retry_after })?;
        Ok(attempt)
    }

    fn expected(&self) -> Expected<'_> {
        Expected {
            purpose: self.purpose,
            account: self.account.as_ref(),
        }
    }
}

/// What [`ChallengeStore::count_guess`] answers: `None` without a challenge;
/// `Err` with the outcome when there is nothing to compare; the attempt to
/// compare otherwise.
pub type CountedGuess = Option<Result<Attempt, Verification>>;

pub mod cipher;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod codec;
pub mod memory;
pub mod memory_accounts;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Where challenges and counters live. See the [module docs](self) for the
/// contract every implementation keeps.
///
/// Implementors write `async fn`; the service is generic over the store, so calls
/// are not boxed.
pub trait ChallengeStore: Send + Sync {
    /// Stores a new challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails, is full, or already holds the id (a
    /// store must never overwrite a challenge).
    fn insert(
        &self,
        challenge: Challenge,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Reads a challenge: a snapshot, for display only — never decide on it.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn get(
        &self,
        id: &ChallengeId,
    ) -> impl Future<Output = Result<Option<Challenge>, Error>> + Send;

    /// Atomically applies `f` to the challenge and stores the result; `None` if
    /// there is no such challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails or cannot tell whether the write committed.
    fn update<R, F>(
        &self,
        id: &ChallengeId,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static;

    /// Atomically applies `f` to a counter (an empty one if absent) and stores the
    /// result; an empty result may be deleted. `now` is the caller's time, for
    /// stores that turn [`Counter::expires_at`] into a time-to-live.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails or cannot tell whether the write committed.
    fn update_counter<R, F>(
        &self,
        key: &CounterKey,
        now: Timestamp,
        f: F,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static;

    /// Reads a counter snapshot, for display or a cheap pre-check.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn get_counter(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<Option<Counter>, Error>> + Send;

    /// Forgets records past their retention; returns how many. Stores that expire
    /// records by themselves may return 0.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn sweep(&self, now: Timestamp) -> impl Future<Output = Result<usize, Error>> + Send;

    /// Atomically applies `f` to the challenge; if it returns `Ok((value, key))`,
    /// atomically applies `g` to the counter `key` — challenge first, the order
    /// the verification path needs (the attempt is counted on the challenge before
    /// the account). `None` if there is no such challenge.
    ///
    /// The default runs the two updates one after the other. A backend that can do
    /// both in one step should (SQLite: one transaction; a crash can then not
    /// separate them, and a wrong guess costs one commit instead of two).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update`].
    fn update_and_count<V, E, R, F, G>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
        g: G,
    ) -> impl Future<Output = Result<Counted<V, R, E>, Error>> + Send
    where
        F: FnMut(&mut Challenge) -> Result<(V, CounterKey), E> + Send + 'static,
        G: FnMut(&mut Counter) -> R + Send + 'static,
        V: Send + 'static,
        E: Send + 'static,
        R: Send + 'static,
    {
        let id = *id;
        async move {
            match self.update(&id, f).await? {
                None => Ok(None),
                Some(Err(e)) => Ok(Some(Err(e))),
                Some(Ok((value, key))) => {
                    let counted = self.update_counter(&key, now, g).await?;
                    Ok(Some(Ok((value, counted))))
                }
            }
        }
    }
    /// Counts one message against each of its send budgets, in order (narrowest
    /// first), stopping at the first that is used up: `Err((index, retry_after))`
    /// names it. The rule is [`SendBudget::apply`], passed as data (cap, window
    /// and weight per budget) so a backend can apply it server-side. A refused
    /// message spends nothing: whoever is refused by a broader budget must not
    /// have used up a narrower one (a requester refused by its own budget does
    /// not spend the destination's).
    ///
    /// The default runs one [`ChallengeStore::update_counter`] per budget and, on
    /// a refusal, gives the earlier ones back ([`Counter::refund`]). SQLite and
    /// PostgreSQL run them in one transaction rolled back on a refusal; Redis
    /// runs one script per budget (no compare-and-set to retry however many
    /// servers send at once) and refunds likewise.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update_counter`]; a refusal is
    /// the inner `Err`.
    fn count_sends(
        &self,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Result<(), (usize, Duration)>, Error>> + Send {
        async move {
            for (index, b) in budgets.iter().enumerate() {
                let b = *b;
                let counted = self
                    .update_counter(&b.key, now, move |c| b.apply(c, now))
                    .await?;
                if let Err(retry_after) = counted {
                    // A refused message spends nothing: give back what the
                    // narrower budgets counted.
                    for earlier in budgets.iter().take(index).filter(|e| e.counted) {
                        self.update_counter(&earlier.key, now, Counter::refund)
                            .await?;
                    }
                    return Ok(Err((index, retry_after)));
                }
            }
            Ok(Ok(()))
        }
    }

    /// Counts one guess on the challenge and on its failure counter by `rule`
    /// ([`GuessRule::count`]), before the code is compared.
    ///
    /// The default runs [`ChallengeStore::update_and_count`] (one step where the
    /// backend can). Redis overrides it with one script that applies the rule
    /// server-side, so a wrong guess costs one round trip.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update`].
    fn count_guess(
        &self,
        id: &ChallengeId,
        rule: GuessRule,
        now: Timestamp,
    ) -> impl Future<Output = Result<CountedGuess, Error>> + Send {
        count_guess_in_steps(self, *id, rule, now)
    }

    /// Approves the challenge for `attempt`, whose code was right
    /// ([`Challenge::approve`]), and clears its failure counter if it did —
    /// together. `None` without a challenge.
    ///
    /// The default runs [`ChallengeStore::update_and_count`]; Redis runs one
    /// script.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update`].
    fn approve_guess(
        &self,
        id: &ChallengeId,
        attempt: Attempt,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Verification>, Error>> + Send {
        approve_guess_in_steps(self, *id, attempt, now)
    }

    /// Where a partitioned store keeps the records of the failure counter
    /// `key`: the service then issues the challenges that count on it under ids
    /// carrying this tag ([`Challenge::placed`]), so that a challenge and its
    /// account's counter live together (one Redis Cluster hash slot, one
    /// script). The tag must not reveal the account (challenge ids go to
    /// clients): a Redis Cluster store derives it with a secret key. Default:
    /// `None`, no placement.
    fn placement(&self, key: &CounterKey) -> Option<u16> {
        let _ = key;
        None
    }

    /// Whether [`ChallengeStore::update_pair`] is one atomic step on this
    /// backend. The service then checks a guess — count it, compare it, approve
    /// it — in that one step. Default: no.
    fn has_update_pair(&self) -> bool {
        false
    }

    /// Atomically applies `f` to the challenge and to its failure counter (the
    /// counter of [`Challenge::failure_key`]) together: one lock, one
    /// transaction. `None` if there is no such challenge. Only called when
    /// [`ChallengeStore::has_update_pair`] says yes.
    ///
    /// The default refuses: a backend that cannot run the comparison inside its
    /// atomic step (Redis: HMAC-SHA256 is not available server-side) keeps the
    /// two-step path of [`ChallengeStore::update_and_count`].
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update`].
    fn update_pair<R, F>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        let _ = (id, now, f);
        std::future::ready(Err(Error::store("this store has no atomic pair update")))
    }
}

/// [`ChallengeStore::count_guess`] by [`ChallengeStore::update_and_count`]:
/// the attempt on the challenge, then on its failure counter.
pub(crate) async fn count_guess_in_steps<S: ChallengeStore + ?Sized>(
    store: &S,
    id: ChallengeId,
    rule: GuessRule,
    now: Timestamp,
) -> Result<CountedGuess, Error> {
    let limits = rule.limits;
    let counted = store
        .update_and_count(
            &id,
            now,
            move |c| {
                let key = c.failure_key();
                c.begin_attempt(&rule.expected(), now).map(|a| (a, key))
            },
            move |counter| counter.count_failure(&limits, now),
        )
        .await?;
    Ok(counted.map(|result| {
        let (attempt, counted) = result?;
        counted.map_err(|retry_after| Verification::AccountLocked { retry_after })?;
        Ok(attempt)
    }))
}

/// [`ChallengeStore::approve_guess`] by [`ChallengeStore::update_and_count`].
pub(crate) async fn approve_guess_in_steps<S: ChallengeStore + ?Sized>(
    store: &S,
    id: ChallengeId,
    attempt: Attempt,
    now: Timestamp,
) -> Result<Option<Verification>, Error> {
    let outcome = store
        .update_and_count(
            &id,
            now,
            move |c| match c.approve(&attempt) {
                approved @ Verification::Approved(_) => Ok((approved, c.failure_key())),
                other => Err(other),
            },
            Counter::clear,
        )
        .await?;
    Ok(outcome.map(|result| match result {
        Ok((approved, ())) => approved,
        Err(other) => other,
    }))
}

/// A shared store: several services (e.g. one per keyring during a rotation) can
/// use one store.
impl<T: ChallengeStore> ChallengeStore for std::sync::Arc<T> {
    fn insert(
        &self,
        challenge: Challenge,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).insert(challenge, now)
    }

    fn get(
        &self,
        id: &ChallengeId,
    ) -> impl Future<Output = Result<Option<Challenge>, Error>> + Send {
        (**self).get(id)
    }

    fn update<R, F>(
        &self,
        id: &ChallengeId,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        (**self).update(id, f)
    }

    fn update_counter<R, F>(
        &self,
        key: &CounterKey,
        now: Timestamp,
        f: F,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        (**self).update_counter(key, now, f)
    }

    fn get_counter(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<Option<Counter>, Error>> + Send {
        (**self).get_counter(key)
    }

    fn sweep(&self, now: Timestamp) -> impl Future<Output = Result<usize, Error>> + Send {
        (**self).sweep(now)
    }

    fn update_and_count<V, E, R, F, G>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
        g: G,
    ) -> impl Future<Output = Result<Counted<V, R, E>, Error>> + Send
    where
        F: FnMut(&mut Challenge) -> Result<(V, CounterKey), E> + Send + 'static,
        G: FnMut(&mut Counter) -> R + Send + 'static,
        V: Send + 'static,
        E: Send + 'static,
        R: Send + 'static,
    {
        (**self).update_and_count(id, now, f, g)
    }

    fn count_guess(
        &self,
        id: &ChallengeId,
        rule: GuessRule,
        now: Timestamp,
    ) -> impl Future<Output = Result<CountedGuess, Error>> + Send {
        (**self).count_guess(id, rule, now)
    }

    fn approve_guess(
        &self,
        id: &ChallengeId,
        attempt: Attempt,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Verification>, Error>> + Send {
        (**self).approve_guess(id, attempt, now)
    }

    fn has_update_pair(&self) -> bool {
        (**self).has_update_pair()
    }

    fn placement(&self, key: &CounterKey) -> Option<u16> {
        (**self).placement(key)
    }

    fn count_sends(
        &self,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Result<(), (usize, Duration)>, Error>> + Send {
        (**self).count_sends(budgets, now)
    }

    fn update_pair<R, F>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        (**self).update_pair(id, now, f)
    }
}

/// Where accounts and their security info live.
///
/// # Contract
///
/// * [`AccountStore::update`] is an atomic read-modify-write of one account with a
///   pure closure (which may run more than once), like [`ChallengeStore::update`].
/// * **A verified contact belongs to at most one account**, compared by
///   [`Contact::identity`](crate::Contact::identity). An update (or create)
///   whose result would verify a contact that another account has verified must
///   change nothing and fail with [`Error::ContactInUse`]. This is the safe
///   direction: a contact is never silently moved between accounts.
/// * [`AccountStore::find_verified`] only ever returns an account that has the
///   contact *verified*: pending entries are invisible to recovery.
pub trait AccountStore: Send + Sync {
    /// Stores a new account.
    ///
    /// # Errors
    ///
    /// [`Error::AccountExists`]; [`Error::ContactInUse`]; [`Error::Store`].
    fn create(&self, account: Account) -> impl Future<Output = Result<(), Error>> + Send;

    /// Reads an account.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn get(&self, id: &AccountId) -> impl Future<Output = Result<Option<Account>, Error>> + Send;

    /// The account that has `contact` as verified security info.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn find_verified(
        &self,
        contact: &Contact,
    ) -> impl Future<Output = Result<Option<AccountId>, Error>> + Send;

    /// Atomically applies `f` to the account and stores the result; `None` if there
    /// is no such account. When `f` returns `Err`, nothing is stored.
    ///
    /// # Errors
    ///
    /// [`Error::ContactInUse`] (nothing stored); [`Error::Store`].
    fn update<R, F>(
        &self,
        id: &AccountId,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Account) -> Result<R, Error> + Send + 'static,
        R: Send + 'static;
}

impl<T: AccountStore> AccountStore for std::sync::Arc<T> {
    fn create(&self, account: Account) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).create(account)
    }

    fn get(&self, id: &AccountId) -> impl Future<Output = Result<Option<Account>, Error>> + Send {
        (**self).get(id)
    }

    fn find_verified(
        &self,
        contact: &Contact,
    ) -> impl Future<Output = Result<Option<AccountId>, Error>> + Send {
        (**self).find_verified(contact)
    }

    fn update<R, F>(
        &self,
        id: &AccountId,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Account) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        (**self).update(id, f)
    }
}
