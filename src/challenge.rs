use std::fmt;
use std::time::Duration;

use rand::CryptoRng;

use crate::clock::Timestamp;
use crate::code::{Code, CodeFormat, Malformed};
use crate::contact::Contact;
use crate::counter::CounterKey;
use crate::error::{Error, RateLimit};
pub use crate::ids::{AccountId, ChallengeId, Status};
use crate::keys::{DerivationInput, Keyring, ct_eq};
use crate::policy::{Policy, Purpose};
use crate::transaction::Transaction;

/// How long a finished or expired challenge is kept so that late requests get a
/// precise answer ([`Verification::Expired`], [`Verification::AlreadyUsed`]) rather
/// than [`Verification::NotFound`].
pub const RETENTION: Duration = Duration::from_secs(15 * 60);

/// What a send is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendKind {
    /// The first message of a challenge.
    First,
    /// The same code again (a slow SMS should not strand the user).
    Resend,
    /// A new code: the generation goes up and earlier codes stop verifying.
    NewCode,
}

/// Who may verify a challenge: it must match the challenge or the attempt fails.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The purpose the code is being used for.
    pub purpose: Purpose,
    /// The account, when the caller knows it (e.g. from a session).
    pub account: Option<&'a AccountId>,
}

/// One challenge record: everything needed to re-derive and check its code, and
/// nothing that reveals the code without the key.
///
/// # The challenge record
///
/// The challenge state machine: pure, synchronous, and told the time.
///
/// ```text
///            record_send (cooldown, max sends)   new code: generation + 1
///              ┌───────┐                          ┌───────┐
///              ▼       │                          ▼       │
/// issue ──▶ Pending ───┴──────────────────────────┴───────┘
///              │ begin_attempt: attempts + 1 (before the code is compared)
///              ├──▶ Approved   approve: right code, latest generation, once
///              ├──▶ Locked     attempts exhausted
///              ├──▶ Expired    now ≥ expires_at
///              └──▶ Canceled   cancel
/// ```
///
/// Verification is split in three so that a store can count the attempt atomically
/// *before* anyone learns whether the code was right: [`Challenge::begin_attempt`]
/// (a store write), [`Attempt::check`] (pure, outside any lock), and, only for a
/// right code, [`Challenge::approve`] (a second store write, which succeeds once).
/// A crash or a race between the steps can only lose a success, never hand out an
/// uncounted guess or a second success.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    id: ChallengeId,
    salt: [u8; 16],
    account: AccountId,
    destination: Contact,
    /// The failure budget guesses count on, cached so that verifying never reads
    /// or hashes the account id.
    failure_key: CounterKey,
    expires_at: Timestamp,
    last_sent_at: Timestamp,
    key_id: u32,
    resend_cooldown_secs: u32,
    generation: u8,
    attempts: u8,
    max_attempts: u8,
    sends: u8,
    max_sends: u8,
    purpose: Purpose,
    format: CodeFormat,
    status: Status,
    decoy: bool,
    /// Whether the proof of this (approved) challenge was used by a step.
    proof_spent: bool,
    /// What few challenges carry, boxed so that the others stay small: the
    /// keyed tag of the code last made for sending ([`CodeCheck`], kept where
    /// a store asks for it) and a payment's binding ([`Transaction`]).
    extra: Option<Box<Extra>>,
}

/// The rarely present parts of a challenge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Extra {
    check: Option<CodeCheck>,
    binding: Option<[u8; 16]>,
}

impl Extra {
    /// `None` when there is nothing to keep.
    fn boxed(check: Option<CodeCheck>, binding: Option<[u8; 16]>) -> Option<Box<Self>> {
        (check.is_some() || binding.is_some()).then(|| Box::new(Self { check, binding }))
    }
}

/// A keyed tag of one generation's code, kept in the challenge's record so
/// that a store which cannot derive codes — a Redis script — can still tell a
/// right code from a wrong one in the same atomic step that counts the
/// attempt ([`crate::store::Guess::check_tags`]).
///
/// The tag is `HMAC-SHA256` under a key derived from the challenge's key, over
/// the challenge id, the code's format and the code, cut to 16 bytes. Without
/// the keyring it says nothing about the code — no more than the record's salt
/// does, from which the keyring derives the code anyway — and comparing two
/// tags leaks nothing about a code's digits however long the comparison takes.
/// A tag answers only for its own generation: a new code makes it stale.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CodeCheck {
    /// The generation whose code it tags.
    pub generation: u8,
    /// The tag.
    pub tag: [u8; 16],
}

impl fmt::Debug for CodeCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeCheck")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The fields of a stored challenge, for store implementations that persist and
/// read back records. `Challenge::from_parts(c.to_parts()) == c`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ChallengeParts {
    pub id: ChallengeId,
    pub salt: [u8; 16],
    pub account: AccountId,
    pub destination: Contact,
    pub expires_at: Timestamp,
    pub last_sent_at: Timestamp,
    pub key_id: u32,
    pub generation: u8,
    pub resend_cooldown_secs: u32,
    pub attempts: u8,
    pub max_attempts: u8,
    pub sends: u8,
    pub max_sends: u8,
    pub purpose: Purpose,
    pub format: CodeFormat,
    pub status: Status,
    pub decoy: bool,
    pub proof_spent: bool,
    pub check: Option<CodeCheck>,
    /// The keyed tag of the payment the code is bound to
    /// ([`Transaction`](crate::Transaction)), if any.
    pub binding: Option<[u8; 16]>,
}

impl Challenge {
    /// A new pending challenge under the keyring's current key. Nothing is sent
    /// yet: record the first send with [`Challenge::record_send`].
    pub fn issue<R: CryptoRng + ?Sized>(
        account: AccountId,
        purpose: Purpose,
        destination: Contact,
        policy: &Policy,
        key_id: u32,
        rng: &mut R,
        now: Timestamp,
    ) -> Self {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        Self {
            id: ChallengeId::generate(rng),
            salt,
            failure_key: CounterKey::failures(purpose, &account),
            account,
            destination,
            expires_at: now + policy.lifetime(),
            last_sent_at: Timestamp::UNIX_EPOCH,
            key_id,
            generation: 0,
            resend_cooldown_secs: u32::try_from(policy.resend_cooldown().as_secs())
                .unwrap_or(u32::MAX),
            attempts: 0,
            max_attempts: policy.max_attempts(),
            sends: 0,
            max_sends: policy.max_sends(),
            purpose,
            format: policy.format(),
            status: Status::Pending,
            decoy: false,
            proof_spent: false,
            extra: None,
        }
    }

    /// Turns the challenge into a decoy: it behaves like any other — counts
    /// attempts, expires, locks — but never approves. Account recovery answers an
    /// unknown identifier with one, so the answer looks like a real pending
    /// recovery (see [`AccountSecurity`](crate::AccountSecurity)).
    #[must_use]
    pub fn into_decoy(mut self) -> Self {
        self.decoy = true;
        self
    }

    /// The same challenge under an id carrying `tag` (see
    /// [`ChallengeId::placed`]), for a store that partitions records by it
    /// ([`ChallengeStore::placement`](crate::store::ChallengeStore::placement)). Call
    /// it before the first send: the code is derived from the id.
    #[must_use]
    pub fn placed(mut self, tag: u16) -> Self {
        self.id = self.id.placed(tag);
        self
    }

    /// Whether this is a decoy.
    pub fn is_decoy(&self) -> bool {
        self.decoy
    }

    /// Rebuilds a challenge read back from storage.
    pub fn from_parts(p: ChallengeParts) -> Self {
        Self {
            id: p.id,
            salt: p.salt,
            failure_key: CounterKey::failures(p.purpose, &p.account),
            account: p.account,
            destination: p.destination,
            expires_at: p.expires_at,
            last_sent_at: p.last_sent_at,
            key_id: p.key_id,
            generation: p.generation,
            resend_cooldown_secs: p.resend_cooldown_secs,
            attempts: p.attempts,
            max_attempts: p.max_attempts,
            sends: p.sends,
            max_sends: p.max_sends,
            purpose: p.purpose,
            format: p.format,
            status: p.status,
            decoy: p.decoy,
            proof_spent: p.proof_spent,
            extra: Extra::boxed(p.check, p.binding),
        }
    }

    /// The fields, for storage.
    pub fn to_parts(&self) -> ChallengeParts {
        ChallengeParts {
            id: self.id,
            salt: self.salt,
            account: self.account.clone(),
            destination: self.destination.clone(),
            expires_at: self.expires_at,
            last_sent_at: self.last_sent_at,
            key_id: self.key_id,
            generation: self.generation,
            resend_cooldown_secs: self.resend_cooldown_secs,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            sends: self.sends,
            max_sends: self.max_sends,
            purpose: self.purpose,
            format: self.format,
            status: self.status,
            decoy: self.decoy,
            proof_spent: self.proof_spent,
            check: self.extra.as_ref().and_then(|e| e.check),
            binding: self.binding().copied(),
        }
    }

    /// The id.
    pub fn id(&self) -> &ChallengeId {
        &self.id
    }

    /// The account the code proves something for.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The key of the failure budget this challenge's guesses count on: the
    /// account's signed-in budget, or its recovery budget for
    /// [`Purpose::Recovery`] (see [`CounterKey::failures`]).
    pub fn failure_key(&self) -> CounterKey {
        self.failure_key
    }

    /// Why the code was sent.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Where the code goes.
    pub fn destination(&self) -> &Contact {
        &self.destination
    }

    /// When the code stops verifying.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// When the store may forget the record: 15 minutes after expiry (`RETENTION`).
    pub fn retain_until(&self) -> Timestamp {
        self.expires_at + RETENTION
    }

    /// The earliest time of the next send.
    pub fn resend_after(&self) -> Timestamp {
        self.last_sent_at + Duration::from_secs(u64::from(self.resend_cooldown_secs))
    }

    /// Guesses evaluated so far (attempts are counted before they are checked).
    pub fn attempts(&self) -> u8 {
        self.attempts
    }

    /// Guesses left.
    pub fn attempts_left(&self) -> u8 {
        self.max_attempts.saturating_sub(self.attempts)
    }

    /// Messages sent so far.
    pub fn sends(&self) -> u8 {
        self.sends
    }

    /// Messages left.
    pub fn sends_left(&self) -> u8 {
        self.max_sends.saturating_sub(self.sends)
    }

    /// Which code is current: 0 for the first, +1 per new code.
    pub fn generation(&self) -> u8 {
        self.generation
    }

    /// The code format.
    pub fn format(&self) -> CodeFormat {
        self.format
    }

    /// The status as of `now`: a pending challenge past its expiry reads as
    /// expired, and one out of attempts as locked, before any write records it.
    pub fn status(&self, now: Timestamp) -> Status {
        match self.status {
            // Locked first: then the status does not depend on whether a write
            // recorded the lock before the expiry passed.
            Status::Pending if self.attempts >= self.max_attempts => Status::Locked,
            Status::Pending if now >= self.expires_at => Status::Expired,
            s => s,
        }
    }

    /// The code of the current generation.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] if the keyring no longer holds the challenge's key.
    pub fn code(&self, keyring: &Keyring) -> Result<Code, Error> {
        let value = keyring
            .derive(self.key_id, &self.derivation_input(self.generation))
            .ok_or(Error::UnknownKey(self.key_id))?;
        Ok(self.format.render(&value))
    }

    /// The code of the current generation, for sending: also records its
    /// [`CodeCheck`], so that the stored record can tell the code from others.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] if the keyring no longer holds the challenge's key.
    pub fn code_for_sending(&mut self, keyring: &Keyring) -> Result<Code, Error> {
        let value = keyring
            .derive(self.key_id, &self.derivation_input(self.generation))
            .ok_or(Error::UnknownKey(self.key_id))?;
        let tag = keyring
            .code_check(self.key_id, &self.id, self.format, &value)
            .ok_or(Error::UnknownKey(self.key_id))?;
        let check = Some(CodeCheck {
            generation: self.generation,
            tag,
        });
        match &mut self.extra {
            Some(extra) => extra.check = check,
            None => self.extra = Extra::boxed(check, None),
        }
        Ok(self.format.render(&value))
    }

    /// The challenge bound to `transaction` under its key: a check must name
    /// the same payment ([`Attempt::check_bound`]).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] if the keyring does not hold the challenge's key.
    pub(crate) fn bind(
        &mut self,
        keyring: &Keyring,
        transaction: &Transaction<'_>,
    ) -> Result<(), Error> {
        let binding = Some(
            transaction
                .binding(keyring, self.key_id)
                .ok_or(Error::UnknownKey(self.key_id))?,
        );
        match &mut self.extra {
            Some(extra) => extra.binding = binding,
            None => self.extra = Extra::boxed(None, binding),
        }
        Ok(())
    }

    /// The keyed tag of the payment the code is bound to, if any.
    pub fn binding(&self) -> Option<&[u8; 16]> {
        self.extra.as_ref().and_then(|e| e.binding.as_ref())
    }

    /// Whether `transaction` is the payment this challenge is bound to
    /// (constant time); `false` for an unbound challenge.
    pub(crate) fn is_bound_to(&self, keyring: &Keyring, transaction: &Transaction<'_>) -> bool {
        match (self.binding(), transaction.binding(keyring, self.key_id)) {
            (Some(kept), Some(named)) => ct_eq(kept, &named),
            _ => false,
        }
    }

    /// The [`CodeCheck`] of the current generation's code, if one was made
    /// ([`Challenge::code_for_sending`]); a tag of an earlier generation is
    /// stale and answers `None`.
    pub fn check(&self) -> Option<&CodeCheck> {
        self.extra
            .as_ref()
            .and_then(|e| e.check.as_ref())
            .filter(|c| c.generation == self.generation)
    }

    fn derivation_input(&self, generation: u8) -> DerivationInput<'_> {
        DerivationInput {
            format: self.format,
            id: self.id.as_bytes(),
            salt: &self.salt,
            generation: u32::from(generation),
        }
    }

    /// Moves the stored status to what [`Challenge::status`] reads at `now`.
    fn settle(&mut self, now: Timestamp) -> Status {
        self.status = self.status(now);
        self.status
    }

    /// Records a message about to be sent. For [`SendKind::NewCode`] the generation
    /// goes up first, so [`Challenge::code`] then yields the new code. Neither a
    /// resend nor a new code resets the attempts.
    ///
    /// # Errors
    ///
    /// [`Error::ChallengeNotPending`] unless pending;
    /// [`Error::RateLimited`] within the resend cooldown;
    /// [`Error::SendLimitReached`] when all sends are used.
    pub fn record_send(&mut self, kind: SendKind, now: Timestamp) -> Result<(), Error> {
        let status = self.settle(now);
        if status != Status::Pending {
            return Err(Error::ChallengeNotPending(status));
        }
        if self.sends >= self.max_sends {
            return Err(Error::SendLimitReached);
        }
        if kind != SendKind::First && self.sends > 0 && now < self.resend_after() {
            return Err(Error::RateLimited {
                limit: RateLimit::ResendCooldown,
                retry_after: self.resend_after().saturating_since(now),
            });
        }
        if kind == SendKind::NewCode {
            self.generation = self.generation.saturating_add(1);
        }
        self.sends += 1;
        self.last_sent_at = now;
        Ok(())
    }

    /// Counts one attempt — before the code is compared — and returns what is
    /// needed to compare it. A mismatched purpose or account also uses up the
    /// attempt, and is reported as rejected.
    ///
    /// # Errors
    ///
    /// The final [`Verification`] when no attempt can be made (not pending, expired,
    /// out of attempts) or the attempt is for the wrong purpose or account.
    pub fn begin_attempt(
        &mut self,
        expected: &Expected<'_>,
        now: Timestamp,
    ) -> Result<Attempt, Verification> {
        match self.settle(now) {
            Status::Pending => {}
            other => return Err(Verification::from_final(other)),
        }
        self.attempts += 1;
        let remaining = self.attempts_left();
        if expected.purpose != self.purpose {
            return Err(Verification::Rejected {
                remaining,
                reason: Rejection::WrongPurpose,
            });
        }
        if expected.account.is_some_and(|a| *a != self.account) {
            return Err(Verification::Rejected {
                remaining,
                reason: Rejection::WrongAccount,
            });
        }
        Ok(Attempt {
            id: self.id,
            salt: self.salt,
            binding: self.binding().copied(),
            key_id: self.key_id,
            generation: self.generation,
            format: self.format,
            number: self.attempts,
            remaining,
            started_at: now,
        })
    }

    /// The answer to input that is not shaped like a code of this challenge's
    /// format. Nothing is counted: malformed input can match no code, and this
    /// answer does not depend on the code, so it tells a guesser nothing and a
    /// typo costs the person no attempt.
    pub fn answer_malformed(&self, reason: Malformed, now: Timestamp) -> Verification {
        match self.status(now) {
            Status::Pending => Verification::Rejected {
                remaining: self.attempts_left(),
                reason: Rejection::Malformed(reason),
            },
            other => Verification::from_final(other),
        }
    }

    /// Spends the challenge for an attempt whose code was right. Succeeds at most
    /// once per challenge, and only if the attempt was for the latest generation.
    /// An attempt begun within the budget is decided even if later attempts used up
    /// the rest meanwhile.
    pub fn approve(&mut self, attempt: &Attempt) -> Verification {
        let in_budget = attempt.id == self.id && attempt.number <= self.max_attempts;
        match self.status {
            Status::Pending | Status::Locked if in_budget => {}
            Status::Pending | Status::Locked => {
                return Verification::Rejected {
                    remaining: 0,
                    reason: Rejection::WrongCode,
                };
            }
            other => return Verification::from_final(other),
        }
        if attempt.generation != self.generation {
            return Verification::Rejected {
                remaining: self.attempts_left(),
                reason: Rejection::Superseded,
            };
        }
        if self.decoy {
            // Nobody was sent this code; even a lucky guess is wrong.
            return Verification::Rejected {
                remaining: attempt.remaining,
                reason: Rejection::WrongCode,
            };
        }
        self.status = Status::Approved;
        Verification::Approved(Proof {
            challenge: self.id,
            account: self.account.clone(),
            purpose: self.purpose,
            destination: self.destination.clone(),
            verified_at: attempt.started_at,
        })
    }

    /// Spends the proof this challenge approved, for a step that consumes it:
    /// succeeds once, so a proof (or a sealed copy of it) cannot be used twice on
    /// any server that shares the store.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] unless the challenge was approved and its proof is
    /// unspent.
    pub fn spend_proof(&mut self) -> Result<(), Error> {
        if self.status != Status::Approved || self.proof_spent {
            return Err(Error::ProofMismatch);
        }
        self.proof_spent = true;
        Ok(())
    }

    /// Makes a spent proof usable again: for a step that spent it and then failed
    /// (a duplicate contact, a hold), so that a failed step does not spend it.
    pub fn unspend_proof(&mut self) {
        self.proof_spent = false;
    }

    /// Whether the proof of this challenge was used.
    pub fn is_proof_spent(&self) -> bool {
        self.proof_spent
    }

    /// Cancels a pending challenge.
    ///
    /// # Errors
    ///
    /// [`Error::ChallengeNotPending`] if it already ended.
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), Error> {
        match self.settle(now) {
            Status::Pending | Status::Locked => {
                self.status = Status::Canceled;
                Ok(())
            }
            other => Err(Error::ChallengeNotPending(other)),
        }
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("purpose", &self.purpose)
            .field("destination", &self.destination)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("sends", &self.sends)
            .field("generation", &self.generation)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One counted attempt, to be checked outside the store's lock.
#[derive(Clone, Copy)]
pub struct Attempt {
    id: ChallengeId,
    salt: [u8; 16],
    binding: Option<[u8; 16]>,
    key_id: u32,
    generation: u8,
    format: CodeFormat,
    number: u8,
    remaining: u8,
    started_at: Timestamp,
}

impl Attempt {
    /// Guesses left after this one, if it fails.
    pub fn remaining(&self) -> u8 {
        self.remaining
    }

    /// Which attempt on the challenge this is (1 for the first).
    pub fn number(&self) -> u8 {
        self.number
    }

    /// The generation of the code this attempt is compared with.
    pub fn generation(&self) -> u8 {
        self.generation
    }

    /// Compares `input` with the code in constant time.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] if the keyring no longer holds the challenge's key.
    pub fn check(&self, keyring: &Keyring, input: &str) -> Result<Result<(), Rejection>, Error> {
        self.check_bound(keyring, input, None)
    }

    /// Compares `input` with the code, and the payment a check names with the
    /// one the challenge is bound to — both in constant time, and both must
    /// hold: a right code with another payment, or with none where the code
    /// is bound to one (or with one where it is not), is a wrong code.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] if the keyring no longer holds the challenge's key.
    pub fn check_bound(
        &self,
        keyring: &Keyring,
        input: &str,
        transaction: Option<&Transaction<'_>>,
    ) -> Result<Result<(), Rejection>, Error> {
        let typed = match self.format.value(input) {
            Ok(value) => value,
            Err(m) => return Ok(Err(Rejection::Malformed(m))),
        };
        let input = DerivationInput {
            format: self.format,
            id: self.id.as_bytes(),
            salt: &self.salt,
            generation: u32::from(self.generation),
        };
        let expected = keyring
            .derive(self.key_id, &input)
            .ok_or(Error::UnknownKey(self.key_id))?;
        let named = match transaction {
            Some(t) => Some(
                t.binding(keyring, self.key_id)
                    .ok_or(Error::UnknownKey(self.key_id))?,
            ),
            None => None,
        };
        let same_payment = match (&self.binding, &named) {
            (None, None) => true,
            (Some(kept), Some(named)) => ct_eq(kept, named),
            _ => false,
        };
        // Both compared, whichever fails.
        let same_code = ct_eq(&typed.to_bytes(), &expected.to_bytes());
        if same_code & same_payment {
            Ok(Ok(()))
        } else {
            Ok(Err(Rejection::WrongCode))
        }
    }
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("challenge", &self.id)
            .field("number", &self.number)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// The outcome of entering a code. A wrong code is an outcome, not an error.
///
/// Show people a generic message for every non-approved outcome ("That code didn't
/// work. Check the code and try again."); the variants are for the application.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Verification {
    /// The code was right; the proof names what it proves.
    Approved(Proof),
    /// The code was not accepted; `remaining` more guesses are allowed.
    Rejected {
        /// Guesses left on this challenge.
        remaining: u8,
        /// Why.
        reason: Rejection,
    },
    /// The challenge's lifetime ran out.
    Expired,
    /// The challenge used up its attempts.
    Locked,
    /// The account reached its consecutive-failure cap.
    AccountLocked {
        /// When the lockout ends.
        retry_after: Duration,
    },
    /// The challenge was already approved; a code verifies once.
    AlreadyUsed,
    /// The challenge was canceled.
    Canceled,
    /// No such challenge (never issued, or expired and forgotten).
    NotFound,
}

impl Verification {
    fn from_final(status: Status) -> Self {
        match status {
            Status::Approved => Verification::AlreadyUsed,
            Status::Canceled => Verification::Canceled,
            Status::Expired => Verification::Expired,
            Status::Locked | Status::Pending => Verification::Locked,
        }
    }

    /// Whether the code was accepted.
    pub fn is_approved(&self) -> bool {
        matches!(self, Verification::Approved(_))
    }

    /// The proof, if approved.
    pub fn into_proof(self) -> Option<Proof> {
        match self {
            Verification::Approved(p) => Some(p),
            _ => None,
        }
    }
}

/// What a [`Verification`] tells a client, without its [`Proof`]: for a JSON
/// answer (feature `serde`) or a page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct VerificationView {
    /// `approved`, `rejected`, `expired`, `locked`, `account_locked`,
    /// `already_used`, `canceled` or `not_found`.
    pub outcome: String,
    /// Guesses left, for a rejection.
    pub attempts_left: Option<u8>,
    /// Why a code was rejected, in words for the person.
    pub reason: Option<String>,
    /// Seconds until a locked account may try again.
    pub retry_after_secs: Option<u64>,
}

impl Verification {
    /// What the outcome tells a client; the proof stays on the server.
    pub fn view(&self) -> VerificationView {
        let (outcome, attempts_left, reason, retry_after_secs) = match self {
            Verification::Approved(_) => ("approved", None, None, None),
            Verification::Rejected { remaining, reason } => {
                ("rejected", Some(*remaining), Some(reason.to_string()), None)
            }
            Verification::Expired => ("expired", None, None, None),
            Verification::Locked => ("locked", None, None, None),
            Verification::AccountLocked { retry_after } => (
                "account_locked",
                None,
                None,
                Some(retry_after.as_secs().max(1)),
            ),
            Verification::AlreadyUsed => ("already_used", None, None, None),
            Verification::Canceled => ("canceled", None, None, None),
            Verification::NotFound => ("not_found", None, None, None),
        };
        VerificationView {
            outcome: outcome.to_owned(),
            attempts_left,
            reason,
            retry_after_secs,
        }
    }
}

/// Why an attempt was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Not the code.
    WrongCode,
    /// Not shaped like a code at all.
    Malformed(Malformed),
    /// A code of an earlier generation: a new code was sent since.
    Superseded,
    /// The challenge was issued for another purpose.
    WrongPurpose,
    /// The challenge was issued for another account.
    WrongAccount,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::WrongCode => f.write_str("the code is not correct"),
            Rejection::Malformed(m) => m.fmt(f),
            Rejection::Superseded => f.write_str("a newer code was sent"),
            Rejection::WrongPurpose => f.write_str("the code was sent for another purpose"),
            Rejection::WrongAccount => f.write_str("the code was sent for another account"),
        }
    }
}

/// Proof that a person entered the right code: which account, for what purpose,
/// through which contact. It has no public constructor and is not `Clone`, so an
/// operation that takes one by value cannot run without a verification and cannot
/// run twice on one.
#[derive(Debug, PartialEq, Eq)]
pub struct Proof {
    challenge: ChallengeId,
    account: AccountId,
    purpose: Purpose,
    destination: Contact,
    verified_at: Timestamp,
}

impl Proof {
    /// A proof read back from a sealed token (`crate::flows`), which authenticated
    /// these fields.
    pub(crate) fn unsealed(
        challenge: ChallengeId,
        account: AccountId,
        purpose: Purpose,
        destination: Contact,
        verified_at: Timestamp,
    ) -> Self {
        Self {
            challenge,
            account,
            purpose,
            destination,
            verified_at,
        }
    }

    /// The challenge that was verified.
    pub fn challenge(&self) -> &ChallengeId {
        &self.challenge
    }

    /// The account.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The purpose.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The contact the code went to, now proven to be in the person's hands.
    pub fn destination(&self) -> &Contact {
        &self.destination
    }

    /// When the code was entered.
    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    fn setup() -> (Challenge, Keyring) {
        let ring = Keyring::new(1, SecretKey::from_bytes([3; 32]));
        let mut c = Challenge::issue(
            AccountId::new("acct").unwrap(),
            Purpose::Recovery,
            Contact::email("a@example.org").unwrap(),
            &Policy::default(),
            1,
            &mut StdRng::seed_from_u64(1),
            T0,
        );
        c.record_send(SendKind::First, T0).unwrap();
        (c, ring)
    }

    fn expect() -> Expected<'static> {
        Expected {
            purpose: Purpose::Recovery,
            account: None,
        }
    }

    fn verify(c: &mut Challenge, ring: &Keyring, input: &str, now: Timestamp) -> Verification {
        let attempt = match c.begin_attempt(&expect(), now) {
            Ok(a) => a,
            Err(v) => return v,
        };
        match attempt.check(ring, input).unwrap() {
            Ok(()) => c.approve(&attempt),
            Err(reason) => Verification::Rejected {
                remaining: attempt.remaining(),
                reason,
            },
        }
    }

    fn wrong(code: &Code) -> String {
        let first = if code.expose().starts_with('0') {
            '1'
        } else {
            '0'
        };
        format!("{first}{}", &code.expose()[1..])
    }

    #[test]
    fn right_code_approves_once() {
        let (mut c, ring) = setup();
        let code = c.code(&ring).unwrap();
        let v = verify(&mut c, &ring, code.expose(), T0);
        let proof = v.into_proof().unwrap();
        assert_eq!(proof.account().as_str(), "acct");
        assert_eq!(proof.purpose(), Purpose::Recovery);
        assert!(matches!(
            verify(&mut c, &ring, code.expose(), T0),
            Verification::AlreadyUsed
        ));
    }

    #[test]
    fn attempts_run_out_and_lock() {
        let (mut c, ring) = setup();
        let code = c.code(&ring).unwrap();
        for left in (0..5).rev() {
            match verify(&mut c, &ring, &wrong(&code), T0) {
                Verification::Rejected {
                    remaining,
                    reason: Rejection::WrongCode,
                } => {
                    assert_eq!(remaining, left)
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            verify(&mut c, &ring, code.expose(), T0),
            Verification::Locked
        ));
        assert_eq!(c.status(T0), Status::Locked);
    }

    #[test]
    fn expires_at_the_lifetime() {
        let (mut c, ring) = setup();
        let code = c.code(&ring).unwrap();
        let at = c.expires_at();
        assert!(matches!(
            verify(&mut c, &ring, code.expose(), at),
            Verification::Expired
        ));
        assert_eq!(c.attempts(), 0, "expired attempts are not counted");
    }

    #[test]
    fn new_code_supersedes_and_keeps_attempts() {
        let (mut c, ring) = setup();
        let old = c.code(&ring).unwrap();
        let _ = verify(&mut c, &ring, &wrong(&old), T0);
        let later = T0 + Duration::from_secs(30);
        c.record_send(SendKind::NewCode, later).unwrap();
        let new = c.code(&ring).unwrap();
        assert_eq!(c.attempts(), 1);
        if old != new {
            assert!(matches!(
                verify(&mut c, &ring, old.expose(), later),
                Verification::Rejected {
                    reason: Rejection::WrongCode,
                    ..
                }
            ));
        }
        assert!(verify(&mut c, &ring, new.expose(), later).is_approved());
    }

    #[test]
    fn approve_refuses_a_stale_generation() {
        let (mut c, ring) = setup();
        let code = c.code(&ring).unwrap();
        let attempt = c.begin_attempt(&expect(), T0).unwrap();
        assert_eq!(attempt.check(&ring, code.expose()).unwrap(), Ok(()));
        c.record_send(SendKind::NewCode, T0 + Duration::from_secs(31))
            .unwrap();
        assert!(matches!(
            c.approve(&attempt),
            Verification::Rejected {
                reason: Rejection::Superseded,
                ..
            }
        ));
    }

    #[test]
    fn in_flight_attempt_is_decided_after_lock() {
        let (mut c, ring) = setup();
        let code = c.code(&ring).unwrap();
        for _ in 0..4 {
            let _ = verify(&mut c, &ring, &wrong(&code), T0);
        }
        let last = c.begin_attempt(&expect(), T0).unwrap();
        // A sixth caller finds the budget spent.
        assert!(matches!(
            c.begin_attempt(&expect(), T0),
            Err(Verification::Locked)
        ));
        assert_eq!(last.check(&ring, code.expose()).unwrap(), Ok(()));
        assert!(c.approve(&last).is_approved());
    }

    #[test]
    fn wrong_purpose_or_account_uses_an_attempt() {
        let (mut c, _ring) = setup();
        let other = AccountId::new("other").unwrap();
        let wrong_purpose = Expected {
            purpose: Purpose::IdentityCheck,
            account: None,
        };
        assert!(matches!(
            c.begin_attempt(&wrong_purpose, T0),
            Err(Verification::Rejected {
                remaining: 4,
                reason: Rejection::WrongPurpose
            })
        ));
        let wrong_account = Expected {
            purpose: Purpose::Recovery,
            account: Some(&other),
        };
        assert!(matches!(
            c.begin_attempt(&wrong_account, T0),
            Err(Verification::Rejected {
                remaining: 3,
                reason: Rejection::WrongAccount
            })
        ));
    }

    #[test]
    fn sends_respect_cooldown_and_cap() {
        let (mut c, _ring) = setup();
        let err = c
            .record_send(SendKind::Resend, T0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
        let mut now = T0;
        for _ in 0..4 {
            now = now + Duration::from_secs(30);
            c.record_send(SendKind::Resend, now).unwrap();
        }
        now = now + Duration::from_secs(30);
        assert!(matches!(
            c.record_send(SendKind::Resend, now),
            Err(Error::SendLimitReached)
        ));
        assert_eq!(c.sends(), 5);
    }

    #[test]
    fn cancel_ends_the_challenge() {
        let (mut c, ring) = setup();
        let code = c.code(&ring).unwrap();
        c.cancel(T0).unwrap();
        assert!(matches!(
            verify(&mut c, &ring, code.expose(), T0),
            Verification::Canceled
        ));
        assert!(matches!(
            c.cancel(T0),
            Err(Error::ChallengeNotPending(Status::Canceled))
        ));
    }

    #[test]
    fn parts_round_trip() {
        let (c, _) = setup();
        assert_eq!(Challenge::from_parts(c.to_parts()), c);
    }

    #[test]
    fn challenge_id_parses_and_rejects() {
        let id = ChallengeId::generate(&mut StdRng::seed_from_u64(9));
        assert_eq!(id.to_string().parse::<ChallengeId>().unwrap(), id);
        assert!("zz".repeat(16).parse::<ChallengeId>().is_err());
        assert!("é".repeat(16).parse::<ChallengeId>().is_err());
    }
}
