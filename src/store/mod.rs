//! For backend authors: the storage ports — [`ChallengeStore`] and
//! [`AccountStore`] — and the records they keep ([`Challenge`], [`Counter`],
//! accounts ([`Account`] with [`AccountParts`]). The stores the crate
//! ships (`MemoryChallengeStore`, `SqliteStore`, `PostgresStore`,
//! `RedisStore`, …) are at the crate's root.
//!
//! # Contract
//!
//! Logic lives in the pure core; a store is dumb and atomic. Its one real
//! primitive is an **atomic read-modify-write of a record with a pure closure**
//! ([`ChallengeStore::update`], [`ChallengeStore::update_counter`],
//! [`ChallengeStore::update_with_counter`]): no other
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

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::account::Account;
use crate::challenge::{AccountId, ChallengeId, Rejection, Verification};
use crate::clock::Timestamp;
use crate::code::{Alphabet, CodeFormat, CodeValue};
use crate::contact::Contact;
use crate::error::Error;
use crate::keys::Keyring;
use crate::policy::{Limits, Purpose};

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

/// What [`ChallengeStore::count_sends`] answers: `Ok(())` when every budget
/// counted the message, else the index of the first that refused it and the
/// time until its window ends.
pub type Sends = Result<(), (usize, Duration)>;

/// Why [`ChallengeStore::open`] stored nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The challenge's failure counter blocks guesses for this long
    /// ([`Counter::blocked_for`]): a code nobody may enter would only spend
    /// the budgets.
    Locked(Duration),
    /// The send budget at `index` is used up for `retry_after`.
    Budget {
        /// Which budget, in the order given.
        index: usize,
        /// The time until its window ends.
        retry_after: Duration,
    },
}

/// What [`ChallengeStore::open`] answers: `Ok(())` when the challenge is
/// stored and every budget counted its message, else why nothing was.
pub type Opened = Result<(), Refusal>;

/// [`ChallengeStore::open`] in three steps — the failure counter read
/// ([`ChallengeStore::get_counter`]), the budgets counted
/// ([`ChallengeStore::count_sends`]), the challenge stored
/// ([`ChallengeStore::insert`]) — for a store that cannot take them in one
/// atomic step. Each step keeps the failure direction: should the insert
/// fail, the budgets stay counted and nobody got a code.
///
/// # Errors
///
/// [`Error::Store`] from any of the steps.
pub async fn open_in_steps<S: ChallengeStore + ?Sized>(
    store: &S,
    challenge: Challenge,
    budgets: Vec<SendBudget>,
    now: Timestamp,
) -> Result<Opened, Error> {
    let blocked = store
        .get_counter(&challenge.failure_key())
        .await?
        .and_then(|c| c.blocked_for(now));
    if let Some(wait) = blocked {
        return Ok(Err(Refusal::Locked(wait)));
    }
    if let Err((index, retry_after)) = store.count_sends(budgets, now).await? {
        return Ok(Err(Refusal::Budget { index, retry_after }));
    }
    store.insert(challenge, now).await?;
    Ok(Ok(()))
}

/// Counts a message on `budgets` in order by `count` (one budget's atomic
/// step, answering [`SendBudget::apply`]'s result), stopping at the first
/// refusal. The loop every store's [`ChallengeStore::count_sends`] runs:
/// inside one transaction (rolled back on a refusal) or one step per budget
/// (then the caller refunds the budgets before the refusing one).
///
/// # Errors
///
/// The first error of `count`.
pub async fn count_in_order<F, Fut>(budgets: &[SendBudget], mut count: F) -> Result<Sends, Error>
where
    F: FnMut(SendBudget) -> Fut,
    Fut: Future<Output = Result<Result<(), Duration>, Error>>,
{
    for (index, budget) in budgets.iter().enumerate() {
        if let Err(retry_after) = count(*budget).await? {
            return Ok(Err((index, retry_after)));
        }
    }
    Ok(Ok(()))
}

/// The rules one guess is counted by, as data: who may verify (the purpose
/// and, when known, the account), the failure limits of the account's budget,
/// and the shape of the typed input (not the input). A store that counts
/// guesses server-side (Redis) passes these to its script; every other store
/// applies [`GuessRule::count`] in its atomic step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuessRule {
    /// The purpose the code is being used for.
    pub purpose: Purpose,
    /// The account, when the caller knows it.
    pub account: Option<AccountId>,
    /// The failure limits (cap, throttle, lockout) of the account's budget.
    pub limits: Limits,
    /// What the typed input amounts to under each alphabet: input that is no
    /// code of the challenge's own format counts nothing.
    pub input: InputShape,
}

impl GuessRule {
    /// The pure rule: input that is not shaped like a code of the challenge's
    /// format is answered without counting anything
    /// ([`Challenge::answer_malformed`]); otherwise the attempt is counted on
    /// the challenge ([`Challenge::begin_attempt`]) and, if it may be
    /// compared, on the failure counter ([`Counter::count_failure`]) — an
    /// attempt is a failure until proven a success. `Err` is the answer when
    /// there is nothing to compare (malformed, not pending, wrong purpose or
    /// account, account locked); the challenge's attempt stays counted in
    /// every case but the first two.
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
        if let Err(reason) = self.input.fits(challenge.format()) {
            return Err(challenge.answer_malformed(reason, now));
        }
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

/// One typed code to settle against a challenge: the rule it is counted by
/// ([`GuessRule`]), the code, and the keys to compare it with. The service
/// builds it; a store runs it through [`ChallengeStore::guess`].
pub struct Guess {
    rule: GuessRule,
    keyring: Arc<Keyring>,
    input: Zeroizing<String>,
    /// The payment the check names (amount, payee), if any.
    transaction: Option<(String, String)>,
}

impl Guess {
    /// A guess of `input` counted by `rule` and compared under `keyring`
    /// (the service builds one per verification; a backend's tests build
    /// their own).
    pub fn new(rule: GuessRule, keyring: Arc<Keyring>, input: &str) -> Self {
        Self {
            rule,
            keyring,
            input: Zeroizing::new(input.to_owned()),
            transaction: None,
        }
    }

    /// The same guess naming a payment: it approves only a challenge bound to
    /// the same one ([`Attempt::check_bound`]).
    #[must_use]
    pub fn for_transaction(mut self, transaction: &crate::Transaction<'_>) -> Self {
        self.transaction = Some((
            transaction.amount().to_owned(),
            transaction.payee().to_owned(),
        ));
        self
    }

    fn transaction(&self) -> Option<crate::Transaction<'_>> {
        self.transaction
            .as_ref()
            .and_then(|(a, p)| crate::Transaction::new(a, p).ok())
    }

    /// The rule the guess is counted by.
    pub fn rule(&self) -> &GuessRule {
        &self.rule
    }

    /// Compares the typed code with the code of `attempt`, in constant time
    /// (outside any atomic step: it touches no record).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] when the keyring no longer holds the challenge's key.
    pub fn compare(&self, attempt: &Attempt) -> Result<Result<(), Rejection>, Error> {
        attempt.check_bound(&self.keyring, &self.input, self.transaction().as_ref())
    }

    /// The whole guess as one pure step on a challenge and its failure
    /// counter: counted by the rule, compared, and — when right — the
    /// challenge approved and the counter cleared. What a store that holds
    /// both records in one atomic step runs inside it.
    ///
    /// # Errors
    ///
    /// As [`Guess::compare`].
    pub fn settle(
        &self,
        challenge: &mut Challenge,
        counter: &mut Counter,
        now: Timestamp,
    ) -> Result<Verification, Error> {
        let attempt = match self.rule.count(challenge, counter, now) {
            Ok(attempt) => attempt,
            Err(outcome) => return Ok(outcome),
        };
        match self.compare(&attempt)? {
            Err(reason) => Ok(Self::rejected(&attempt, reason)),
            Ok(()) => Ok(Self::approve(challenge, counter, &attempt)),
        }
    }

    /// The answer to a wrong code on `attempt`.
    pub fn rejected(attempt: &Attempt, reason: Rejection) -> Verification {
        Verification::Rejected {
            remaining: attempt.remaining(),
            reason,
        }
    }

    /// Approves `challenge` for `attempt`, whose code was right
    /// ([`Challenge::approve`]), clearing the failure counter if it did.
    pub fn approve(
        challenge: &mut Challenge,
        counter: &mut Counter,
        attempt: &Attempt,
    ) -> Verification {
        let outcome = challenge.approve(attempt);
        if outcome.is_approved() {
            counter.clear();
        }
        outcome
    }
}

/// The [`CodeCheck`] tags of a typed code under one key: by alphabet
/// (decimal, then Crockford), `None` where the input is no code of it.
pub type CheckTags = (u32, [Option<[u8; 16]>; 2]);

impl Guess {
    /// The [`CodeCheck`] tags the typed code would have on challenge `id`,
    /// under each key of the keyring and each alphabet it reads as a code of
    /// — for a store that settles a guess in one step by comparing checks
    /// (Redis: its script cannot derive codes). The keyring's comparison
    /// ([`Guess::compare`]) stays the authority: a store that approves by a
    /// check is answered only when the keyring agrees.
    pub fn check_tags(&self, id: &ChallengeId) -> Vec<CheckTags> {
        // A guess naming a payment is settled by the keyring's comparison,
        // which sees the payment: no tags, so no script settles it.
        if self.transaction.is_some() {
            return Vec::new();
        }
        let values = [Alphabet::Decimal, Alphabet::Crockford].map(|alphabet| {
            let length = self.rule.input.symbols(alphabet).ok()?;
            let format = CodeFormat::new(alphabet, u8::try_from(length).ok()?).ok()?;
            Some((format, format.value(&self.input).ok()?))
        });
        self.keyring
            .key_ids()
            .map(|key| {
                let tag = |v: &Option<(CodeFormat, CodeValue)>| {
                    v.as_ref().and_then(|(format, value)| {
                        self.keyring.code_check(key, id, *format, value)
                    })
                };
                (key, [tag(&values[0]), tag(&values[1])])
            })
            .collect()
    }
}

impl fmt::Debug for Guess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guess")
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

pub(crate) mod cipher;
pub(crate) mod memory;
pub(crate) mod memory_accounts;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
mod record;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::{classify as classify_postgres, deadpool_postgres, tokio_postgres};

pub use crate::account::{AccountParts, AppRecord, RecoveryCodeRecord, TicketRecord};
pub use crate::challenge::{Attempt, Challenge, ChallengeParts, CodeCheck, Expected, SendKind};
pub use crate::code::InputShape;
pub use crate::counter::{Counter, CounterKey, CounterKind};
pub use crate::hold::{Hold, HoldState, Recovered};

/// Where challenges and counters live. See the [module docs](self) for the
/// contract every implementation keeps.
///
/// # Writing a backend
///
/// Four methods are required, each one atomic read-modify-write:
/// [`insert`](ChallengeStore::insert), [`update`](ChallengeStore::update) (a
/// challenge), [`update_counter`](ChallengeStore::update_counter) (a counter)
/// and [`update_with_counter`](ChallengeStore::update_with_counter) (a
/// challenge and its failure counter together). Every other method has a
/// correct default built on them; override one only where the backend can do
/// the same work cheaper:
///
/// | method | default | overridden by |
/// |---|---|---|
/// | [`get`](ChallengeStore::get), [`get_counter`](ChallengeStore::get_counter) | a read through an update that changes nothing | SQLite, PostgreSQL, Redis (a plain read) |
/// | [`guess`](ChallengeStore::guess) | one [`update_with_counter`](ChallengeStore::update_with_counter) running [`Guess::settle`] | Redis (one script, comparing the record's [`CodeCheck`] with [`Guess::check_tags`]) |
/// | [`open`](ChallengeStore::open) | [`open_in_steps`]: the failure counter read, [`count_sends`](ChallengeStore::count_sends), [`insert`](ChallengeStore::insert) | SQLite (one transaction), PostgreSQL (one transaction, two round trips), Redis (one script on one server) |
/// | [`count_sends`](ChallengeStore::count_sends) | [`count_in_order`] over one [`update_counter`](ChallengeStore::update_counter) per budget, refunding on a refusal | SQLite, PostgreSQL (one transaction), Redis (one script per budget) |
/// | [`sweep`](ChallengeStore::sweep) | nothing to forget (records expire by themselves) | memory, SQLite, PostgreSQL |
/// | [`placement`](ChallengeStore::placement) | no placement | Redis Cluster |
///
/// `tests/conformance.rs` runs the same checks on every backend (concurrent
/// guesses approve at most once, a budget is never overspent, a refused
/// message spends nothing, expiry, the failure direction); run it on a new
/// backend by adding it to that file's list.
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

    /// Atomically applies `f` to the challenge and to its failure counter (the
    /// counter of [`Challenge::failure_key`]) together — one lock, one
    /// transaction, one compare-and-set — and stores both; `None` if there is
    /// no such challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update`].
    fn update_with_counter<R, F>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static;

    /// Reads a challenge: a snapshot, for display only — never decide on it.
    ///
    /// The default reads through [`ChallengeStore::update`] with a closure
    /// that changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn get(
        &self,
        id: &ChallengeId,
    ) -> impl Future<Output = Result<Option<Challenge>, Error>> + Send {
        self.update(id, |c| c.clone())
    }

    /// Reads a counter snapshot, for display or a cheap pre-check.
    ///
    /// The default reads through [`ChallengeStore::update_counter`] with a
    /// closure that changes nothing (so nothing is written, and the time it
    /// passes is not used).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn get_counter(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<Option<Counter>, Error>> + Send {
        self.update_counter(key, Timestamp::UNIX_EPOCH, |c| {
            (!c.is_empty()).then_some(*c)
        })
    }

    /// Forgets records past their retention; returns how many. Stores that expire
    /// records by themselves may return 0 (the default).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn sweep(&self, now: Timestamp) -> impl Future<Output = Result<usize, Error>> + Send {
        let _ = now;
        std::future::ready(Ok(0))
    }

    /// Settles one guess: counts it on the challenge and on its failure
    /// counter by its rule — always before the code is compared — compares
    /// the code, and approves a right one, clearing the failure counter.
    /// [`Verification::NotFound`] without a challenge.
    ///
    /// The default is one [`ChallengeStore::update_with_counter`] running
    /// [`Guess::settle`]: one lock or transaction per guess. A backend that
    /// cannot compare inside its atomic step may split it in two steps —
    /// count ([`GuessRule::count`]), [`Guess::compare`] outside, then
    /// [`Guess::approve`] — as Redis does for a record without a
    /// [`CodeCheck`]; with one, its script compares the check and approves in
    /// the same step.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update`]; as [`Guess::compare`].
    fn guess(
        &self,
        id: &ChallengeId,
        guess: Guess,
        now: Timestamp,
    ) -> impl Future<Output = Result<Verification, Error>> + Send {
        let id = *id;
        async move {
            let outcome = self
                .update_with_counter(&id, now, move |c, counter| guess.settle(c, counter, now))
                .await?;
            outcome.unwrap_or(Ok(Verification::NotFound))
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
    /// The default runs [`count_in_order`] with one
    /// [`ChallengeStore::update_counter`] per budget and, on a refusal, gives
    /// the earlier ones back ([`Counter::refund`]). SQLite and PostgreSQL run
    /// the loop in one transaction rolled back on a refusal; Redis runs one
    /// script per budget (no compare-and-set to retry however many servers send
    /// at once) and refunds likewise.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::update_counter`]; a refusal is
    /// the inner `Err`.
    fn count_sends(
        &self,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Sends, Error>> + Send {
        async move {
            let counted = count_in_order(&budgets, |b| async move {
                self.update_counter(&b.key, now, move |c| b.apply(c, now))
                    .await
            })
            .await?;
            if let Err((index, _)) = counted {
                // A refused message spends nothing: give back what the
                // narrower budgets counted.
                for earlier in budgets.iter().take(index).filter(|e| e.counted) {
                    self.update_counter(&earlier.key, now, Counter::refund)
                        .await?;
                }
            }
            Ok(counted)
        }
    }

    /// Starts a challenge as one step: refused while its failure counter
    /// ([`Challenge::failure_key`]) blocks guesses ([`Refusal::Locked`]);
    /// otherwise its message counted on each of `budgets` in order as
    /// [`ChallengeStore::count_sends`] does ([`Refusal::Budget`] names the
    /// first that is used up, and a refused message spends nothing); then the
    /// challenge stored as [`ChallengeStore::insert`] does. Either all of it
    /// happens or none of it.
    ///
    /// The default is [`open_in_steps`]: three calls. SQLite runs them in one
    /// transaction, PostgreSQL in one transaction of two pipelined round
    /// trips, Redis (one server) in one script.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] as for [`ChallengeStore::insert`] (an id already
    /// stored included); a refusal is the inner `Err`.
    fn open(
        &self,
        challenge: Challenge,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Opened, Error>> + Send {
        open_in_steps(self, challenge, budgets, now)
    }

    /// Whether the store settles guesses by the records' code checks
    /// ([`CodeCheck`]): the service then records one with every code it
    /// sends ([`Challenge::code_for_sending`]), at the price of one HMAC. Redis
    /// does; a store that compares codes in its own atomic step (every other)
    /// needs none. Default: `false`.
    fn keeps_code_checks(&self) -> bool {
        false
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
}

/// Forwards every method of [`ChallengeStore`] (overrides included) to
/// `$target` of `$self`; for wrappers of a store.
macro_rules! forward_challenge_store {
    ($self:ident => $target:expr) => {
        fn insert(
            &$self,
            challenge: Challenge,
            now: Timestamp,
        ) -> impl Future<Output = Result<(), Error>> + Send {
            $target.insert(challenge, now)
        }

        fn update<R, F>(
            &$self,
            id: &ChallengeId,
            f: F,
        ) -> impl Future<Output = Result<Option<R>, Error>> + Send
        where
            F: FnMut(&mut Challenge) -> R + Send + 'static,
            R: Send + 'static,
        {
            $target.update(id, f)
        }

        fn update_counter<R, F>(
            &$self,
            key: &CounterKey,
            now: Timestamp,
            f: F,
        ) -> impl Future<Output = Result<R, Error>> + Send
        where
            F: FnMut(&mut Counter) -> R + Send + 'static,
            R: Send + 'static,
        {
            $target.update_counter(key, now, f)
        }

        fn update_with_counter<R, F>(
            &$self,
            id: &ChallengeId,
            now: Timestamp,
            f: F,
        ) -> impl Future<Output = Result<Option<R>, Error>> + Send
        where
            F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
            R: Send + 'static,
        {
            $target.update_with_counter(id, now, f)
        }

        fn get(
            &$self,
            id: &ChallengeId,
        ) -> impl Future<Output = Result<Option<Challenge>, Error>> + Send {
            $target.get(id)
        }

        fn get_counter(
            &$self,
            key: &CounterKey,
        ) -> impl Future<Output = Result<Option<Counter>, Error>> + Send {
            $target.get_counter(key)
        }

        fn sweep(&$self, now: Timestamp) -> impl Future<Output = Result<usize, Error>> + Send {
            $target.sweep(now)
        }

        fn guess(
            &$self,
            id: &ChallengeId,
            guess: Guess,
            now: Timestamp,
        ) -> impl Future<Output = Result<Verification, Error>> + Send {
            $target.guess(id, guess, now)
        }

        fn count_sends(
            &$self,
            budgets: Vec<SendBudget>,
            now: Timestamp,
        ) -> impl Future<Output = Result<Sends, Error>> + Send {
            $target.count_sends(budgets, now)
        }

        fn open(
            &$self,
            challenge: Challenge,
            budgets: Vec<SendBudget>,
            now: Timestamp,
        ) -> impl Future<Output = Result<Opened, Error>> + Send {
            $target.open(challenge, budgets, now)
        }

        fn keeps_code_checks(&$self) -> bool {
            $target.keeps_code_checks()
        }

        fn placement(&$self, key: &CounterKey) -> Option<u16> {
            $target.placement(key)
        }
    };
}

/// A shared store: several services (e.g. one per keyring during a rotation) can
/// use one store.
impl<T: ChallengeStore> ChallengeStore for Arc<T> {
    forward_challenge_store!(self => (**self));
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

impl<T: AccountStore> AccountStore for Arc<T> {
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
