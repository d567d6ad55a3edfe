//! [`SecurityCodes`]: issue, deliver and verify codes — the one place that reads
//! the clock and drives the pure core against a store and a channel.

use std::fmt;
use std::sync::Arc;

use crate::challenge::{
    AccountId, Challenge, ChallengeId, Expected, SendKind, Status, Verification,
};
use crate::channel::templates::Templates;
use crate::channel::{DeliveryChannel, Message};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::code::Code;
use crate::contact::{Contact, ContactKind, MaskedContact};
use crate::counter::{CounterKey, CounterKind};
use crate::error::{Error, RateLimit, Result};
use crate::events::{Event, Events};
use crate::keys::Keyring;
use crate::lane::{SendLane, SendOptions};
use crate::policy::{Config, Limits, Purpose};
use crate::store::{ChallengeStore, Guess, GuessRule, InputShape, Refusal, SendBudget};
use crate::transaction::Transaction;

/// The security-code service: generic over where challenges live (`S`) and how
/// messages go out (`C`); the clock and the event sink are set with
/// [`SecurityCodes::with_clock`] and [`SecurityCodes::with_events`].
///
/// Cheap to share: wrap it in an `Arc` and call it from every request handler.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use seccode::{AccountId, Contact, Keyring, MemoryChallengeStore, Outbox, Purpose, SecurityCodes, SendOptions};
///
/// # tokio_test_block_on(async {
/// let outbox = Arc::new(Outbox::new());
/// let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), Keyring::generate());
///
/// let account = AccountId::new("user-42")?;
/// let email = Contact::email("ann@example.org")?;
/// let sent = codes.start(&account, Purpose::IdentityCheck, &email, SendOptions::default()).await?;
/// assert_eq!(sent.destination.as_str(), "a•••@example.org");
///
/// let code = outbox.last_code_to(&email).expect("a code was sent");
/// let proof = codes
///     .verify(&sent.id, Purpose::IdentityCheck, code.expose())
///     .await?
///     .into_proof()
///     .expect("the right code");
/// assert_eq!(proof.account(), &account);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct SecurityCodes<S, C> {
    store: S,
    channel: C,
    clock: Arc<dyn Clock>,
    keyring: Arc<Keyring>,
    config: Config,
    events: Arc<dyn Events>,
    templates: Templates,
}

/// What the person is told after a code was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sent {
    /// The challenge to verify against.
    pub id: ChallengeId,
    /// Where the code went, masked: "We sent a code to jo•••@example.com".
    pub destination: MaskedContact,
    /// When the code stops working.
    pub expires_at: Timestamp,
    /// When "resend" or "send a new code" will next be accepted.
    pub resend_after: Timestamp,
    /// How many more messages the challenge may send.
    pub sends_left: u8,
    /// How many guesses are left.
    pub attempts_left: u8,
}

impl Sent {
    fn of(c: &Challenge) -> Self {
        Self {
            id: *c.id(),
            destination: c.destination().masked(),
            expires_at: c.expires_at(),
            resend_after: c.resend_after(),
            sends_left: c.sends_left(),
            attempts_left: c.attempts_left(),
        }
    }
}

impl<S, C> SecurityCodes<S, C> {
    /// A service on the system clock with the default [`Config`], reporting
    /// events to `tracing` ([`TracingEvents`](crate::TracingEvents), with the
    /// default `tracing` feature; else none).
    pub fn new(store: S, channel: C, keyring: Keyring) -> Self {
        Self {
            store,
            channel,
            clock: Arc::new(SystemClock),
            keyring: Arc::new(keyring),
            config: Config::default(),
            events: crate::events::default_events(),
            templates: Templates::builtin(),
        }
    }

    /// The same service reading time from `clock` (e.g. an
    /// `Arc<`[`ManualClock`](crate::ManualClock)`>` a test keeps to move time).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same service delivering through `channel`.
    pub fn with_channel<C2>(self, channel: C2) -> SecurityCodes<S, C2> {
        SecurityCodes {
            store: self.store,
            channel,
            clock: self.clock,
            keyring: self.keyring,
            config: self.config,
            events: self.events,
            templates: self.templates,
        }
    }

    /// The same service reporting to `events` (e.g. [`TracingEvents`](crate::TracingEvents),
    /// or an `Arc<`[`EventLog`](crate::EventLog)`>` a test keeps to read).
    #[must_use]
    pub fn with_events(mut self, events: impl Events + 'static) -> Self {
        self.events = Arc::new(events);
        self
    }

    /// The same service rendering messages from `templates` (see
    /// [`Templates`]: locales, overrides, WebOTP and Android SMS lines).
    #[must_use]
    pub fn with_templates(mut self, templates: Templates) -> Self {
        self.templates = templates;
        self
    }

    /// The message templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The event sink.
    pub fn events(&self) -> &dyn Events {
        &*self.events
    }

    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keyring, shared (for a store closure that owns what it uses).
    pub(crate) fn keyring_arc(&self) -> Arc<Keyring> {
        Arc::clone(&self.keyring)
    }

    /// The same service with another configuration.
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The channel.
    pub fn channel(&self) -> &C {
        &self.channel
    }
}

impl<S: ChallengeStore, C: DeliveryChannel> SecurityCodes<S, C> {
    /// The current time on the service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Starts a challenge: issues a code for `purpose` and sends it to `destination`.
    ///
    /// `options` ([`SendOptions`]) choose the message's locale (a BCP 47 tag
    /// such as `pt-BR`, e.g. from the request's `Accept-Language`; unknown ones
    /// fall back as [`Templates`] describes) and the [`SendLane`] whose send
    /// budgets it counts on — by default the lane its purpose implies
    /// ([`SendLane::for_purpose`]). `SendOptions::default()` takes both
    /// defaults.
    ///
    /// # Errors
    ///
    /// [`Error::RateLimited`] when the account is locked out or the destination has
    /// had its messages for the window; [`Error::Delivery`] if the channel fails
    /// (the challenge is then canceled); [`Error::Store`] if the store fails.
    pub async fn start(
        &self,
        account: &AccountId,
        purpose: Purpose,
        destination: &Contact,
        options: SendOptions<'_>,
    ) -> Result<Sent> {
        self.start_challenge(account, purpose, destination, options, false)
            .await
    }

    /// [`SecurityCodes::start`] in `locale` when given (an account's language),
    /// else in the templates' default.
    pub(crate) async fn start_for(
        &self,
        account: &AccountId,
        purpose: Purpose,
        destination: &Contact,
        locale: Option<&str>,
    ) -> Result<Sent> {
        let options = SendOptions::default();
        let options = match locale {
            Some(tag) => options.locale(tag),
            None => options,
        };
        self.start(account, purpose, destination, options).await
    }

    /// Does everything [`SecurityCodes::start`] does — limits, counters, a
    /// stored challenge, a derived code, a message — except delivering the
    /// message and spending the budgets that cap spend, and the challenge never
    /// approves. For answers that must look alike whether or not an account
    /// exists.
    pub(crate) async fn start_decoy(
        &self,
        account: &AccountId,
        purpose: Purpose,
        destination: &Contact,
        options: SendOptions<'_>,
    ) -> Result<Sent> {
        self.start_challenge(account, purpose, destination, options, true)
            .await
    }

    async fn start_challenge(
        &self,
        account: &AccountId,
        purpose: Purpose,
        destination: &Contact,
        options: SendOptions<'_>,
        decoy: bool,
    ) -> Result<Sent> {
        let now = self.clock.now();
        refuse_undeliverable(destination)?;
        let sms_line = self.sms_line(&options)?;
        let policy = options
            .policy
            .unwrap_or_else(|| self.config.policy(purpose));
        let mut challenge = Challenge::issue(
            account.clone(),
            purpose,
            destination.clone(),
            policy,
            self.keyring.current_id(),
            &mut rand::rng(),
            now,
        );
        let failure_key = challenge.failure_key();
        if let Some(tag) = self.store.placement(&failure_key) {
            challenge = challenge.placed(tag);
        }
        if decoy {
            challenge = challenge.into_decoy();
        }
        if let Some(transaction) = &options.transaction {
            challenge.bind(&self.keyring, transaction)?;
        }
        challenge.record_send(SendKind::First, now)?;
        let code = if self.store.keeps_code_checks() {
            challenge.code_for_sending(&self.keyring)?
        } else {
            challenge.code(&self.keyring)?
        };
        let sent = Sent::of(&challenge);
        let lane = options.lane.unwrap_or(SendLane::for_purpose(purpose));
        let (budgets, limits_of) =
            self.budgets_for(lane, account, destination, decoy, !options.safe_listed);
        // The locked-account check, the send budgets and the stored challenge
        // in one step of the store.
        match self.store.open(challenge, budgets, now).await? {
            Ok(()) => {}
            // A code nobody may enter would only spend the budgets.
            Err(Refusal::Locked(retry_after)) => {
                return Err(Error::RateLimited {
                    limit: match failure_key.kind() {
                        CounterKind::AccountFailures => RateLimit::AccountFailures,
                        _ => RateLimit::RecoveryFailures,
                    },
                    retry_after,
                });
            }
            Err(Refusal::Budget { index, retry_after }) => {
                return Err(self.budget_refusal(&limits_of, index, retry_after, account));
            }
        }
        let message = self.code_message(
            destination.clone(),
            purpose,
            code,
            policy.lifetime(),
            sent.expires_at,
            &options,
            sms_line,
        )?;
        if decoy {
            // Through the channel's intake like a real message, never sent.
            if let Err(e) = self.channel.absorb(&message).await {
                self.store.update(&sent.id, move |c| c.cancel(now)).await?;
                return Err(Error::Delivery(e));
            }
            return Ok(sent);
        }
        self.events.emit(&Event::ChallengeIssued {
            challenge: sent.id,
            account: account.clone(),
            purpose,
            destination: sent.destination.clone(),
        });
        if let Err(e) = self.channel.deliver(&message).await {
            // Nobody got the code: end the challenge so it cannot be guessed at.
            self.store.update(&sent.id, move |c| c.cancel(now)).await?;
            return Err(Error::Delivery(e));
        }
        self.emit_delivered(&sent, purpose);
        Ok(sent)
    }

    /// A code message as `options` ask for it: rendered in their locale (or
    /// in their [`CodeText`](crate::CodeText)'s words), worded (the
    /// application's name, the payment, the do-not-share warning), read as a
    /// call should be, ended with the templates' line and `sms_line`, and dropped
    /// if it is still undelivered at `deadline`.
    #[allow(clippy::too_many_arguments)] // one call per send path, each names its parts
    fn code_message(
        &self,
        to: Contact,
        purpose: Purpose,
        code: Code,
        lifetime: std::time::Duration,
        deadline: Timestamp,
        options: &SendOptions<'_>,
        sms_line: Option<&str>,
    ) -> Result<Message> {
        let locale = self.locale_of(options.locale);
        let mut message = Message::rendered(&self.templates, &locale, to, purpose, code, lifetime)?
            .with_deadline(deadline);
        // An application's own words are the whole sentence: no name before
        // them, no warning after; the payment still follows.
        let transaction = options.transaction.as_ref();
        match (message.to().kind(), options.code_text, options.email_text) {
            (ContactKind::Phone, Some(text), _) => {
                message.in_words(text);
                message.worded(&self.templates, None, transaction, false);
            }
            (ContactKind::Email, _, Some(email)) => {
                message.in_email_words(email);
                message.worded(&self.templates, None, transaction, false);
            }
            _ => message.worded(
                &self.templates,
                options.app_name,
                transaction,
                options.do_not_share,
            ),
        }
        message.called(
            &self.templates,
            options.press_key_first,
            options.call_voice,
            options.send_digits,
        );
        message.sent_by(options.sender, options.sender_name);
        message.ended(&self.templates);
        if let Some(line) = sms_line {
            message.with_sms_line(line);
        }
        Ok(message)
    }

    /// The line `options` ask to end an SMS with (an Android app hash),
    /// checked — with the application's name — before anything is counted
    /// or stored.
    fn sms_line<'a>(&self, options: &SendOptions<'a>) -> Result<Option<&'a str>> {
        if let Some(sender) = options.sender {
            let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
            let ok = sender.strip_prefix("MG").is_some_and(hex)
                || (sender.starts_with('+') && Contact::phone(sender).is_ok())
                || (sender.contains('@') && Contact::email(sender).is_ok());
            if !ok {
                return Err(Error::InvalidInput {
                    field: "sender",
                    reason: "a Messaging Service SID (MG…), a number in E.164 or an email address",
                });
            }
        }
        match (options.sender, options.sender_name) {
            (None, Some(_)) => {
                return Err(Error::InvalidInput {
                    field: "sender name",
                    reason: "given without a sender",
                });
            }
            (Some(_), Some(name))
                if !(1..=64).contains(&name.chars().count())
                    || name.chars().any(char::is_control) =>
            {
                return Err(Error::InvalidInput {
                    field: "sender name",
                    reason: "1 to 64 characters, no control characters",
                });
            }
            _ => {}
        }
        if let Some(voice) = options.call_voice {
            let ok = (1..=64).contains(&voice.len())
                && voice
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
            if !ok {
                return Err(Error::InvalidInput {
                    field: "call voice",
                    reason: "1 to 64 letters, digits, '.', '-', '_' or ':'",
                });
            }
        }
        if let Some(digits) = options.send_digits {
            let ok = (1..=32).contains(&digits.len())
                && digits
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b'w' | b'W'));
            if !ok {
                return Err(Error::InvalidInput {
                    field: "send digits",
                    reason: "1 to 32 of 0-9, *, # and w (a half-second wait)",
                });
            }
        }
        if let Some(name) = options.app_name {
            let length = name.chars().count();
            if !(1..=30).contains(&length) || name.chars().any(char::is_control) {
                return Err(Error::InvalidInput {
                    field: "app name",
                    reason: "1 to 30 characters without line breaks",
                });
            }
        }
        let Some(hash) = options.app_hash else {
            return Ok(None);
        };
        crate::channel::templates::check_app_hash(hash)?;
        if self.templates.ends_sms() {
            return Err(Error::InvalidInput {
                field: "android app hash",
                reason: "the templates already end each SMS with a line of their own",
            });
        }
        Ok(Some(hash))
    }

    /// The message's locale: the one asked for, else the templates' default.
    fn locale_of<'a>(&self, asked: Option<&'a str>) -> std::borrow::Cow<'a, str> {
        asked.map_or_else(
            || std::borrow::Cow::Owned(self.templates.default_locale()),
            std::borrow::Cow::Borrowed,
        )
    }

    fn emit_delivered(&self, sent: &Sent, purpose: Purpose) {
        self.events.emit(&Event::ChallengeDelivered {
            challenge: sent.id,
            purpose,
            destination: sent.destination.clone(),
        });
    }

    /// Sends a notice (a message without a code).
    ///
    /// # Errors
    ///
    /// [`Error::Delivery`].
    pub async fn notify(&self, message: &Message) -> Result<()> {
        self.channel.deliver(message).await.map_err(Error::Delivery)
    }

    /// Sends the same code again (same generation): for a message that is slow or
    /// lost. Attempts are not reset. `options` as for [`SecurityCodes::start`]
    /// (pass the lane the challenge was started on, if not its purpose's).
    ///
    /// # Errors
    ///
    /// [`Error::ChallengeNotFound`]; [`Error::ChallengeNotPending`];
    /// [`Error::RateLimited`] within the cooldown or past the destination's cap;
    /// [`Error::SendLimitReached`]; [`Error::Delivery`]; [`Error::Store`].
    pub async fn resend(&self, id: &ChallengeId, options: SendOptions<'_>) -> Result<Sent> {
        self.send_again(id, SendKind::Resend, options).await
    }

    /// Sends a new code: earlier codes of this challenge stop verifying. Attempts
    /// are not reset (NIST SP 800-63B rev. 4: a new secret SHALL NOT reset the
    /// failed-attempt count).
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::resend`].
    pub async fn new_code(&self, id: &ChallengeId, options: SendOptions<'_>) -> Result<Sent> {
        self.send_again(id, SendKind::NewCode, options).await
    }

    async fn send_again(
        &self,
        id: &ChallengeId,
        kind: SendKind,
        options: SendOptions<'_>,
    ) -> Result<Sent> {
        let now = self.clock.now();
        let sms_line = self.sms_line(&options)?;
        // Check the challenge's own limits on a snapshot first, so that a refused
        // resend does not use up the destination's window.
        let snapshot = self.store.get(id).await?.ok_or(Error::ChallengeNotFound)?;
        refuse_undeliverable(snapshot.destination())?;
        if let Some(transaction) = &options.transaction
            && !snapshot.is_bound_to(&self.keyring, transaction)
        {
            return Err(Error::InvalidInput {
                field: "transaction",
                reason: "a resend names the payment its code is bound to",
            });
        }
        snapshot.clone().record_send(kind, now)?;
        let lane = options
            .lane
            .unwrap_or(SendLane::for_purpose(snapshot.purpose()));
        self.count_sends(
            lane,
            snapshot.account(),
            snapshot.destination(),
            snapshot.is_decoy(),
            !options.safe_listed,
            now,
        )
        .await?;
        let keyring = self.keyring.clone();
        let checked = self.store.keeps_code_checks();
        let (challenge, code) = self
            .store
            .update(id, move |c| {
                c.record_send(kind, now)?;
                // A new code's check goes into the record with it.
                let code = if checked {
                    c.code_for_sending(&keyring)?
                } else {
                    c.code(&keyring)?
                };
                Ok::<_, Error>((c.clone(), code))
            })
            .await?
            .ok_or(Error::ChallengeNotFound)??;
        let sent = Sent::of(&challenge);
        let message = self.code_message(
            challenge.destination().clone(),
            challenge.purpose(),
            code,
            challenge.expires_at().saturating_since(now),
            challenge.expires_at(),
            &options,
            sms_line,
        )?;
        if challenge.is_decoy() {
            self.channel
                .absorb(&message)
                .await
                .map_err(Error::Delivery)?;
            return Ok(sent);
        }
        self.channel
            .deliver(&message)
            .await
            .map_err(Error::Delivery)?;
        self.emit_delivered(&sent, challenge.purpose());
        Ok(sent)
    }

    /// Checks a code for `purpose`. See [`SecurityCodes::verify_for_account`] when
    /// the caller knows the account (a signed-in session).
    ///
    /// The attempt is counted — on the challenge and on the account — before the
    /// code is compared, so no race or crash yields an uncounted guess. Input that
    /// is not shaped like a code of the challenge's own format
    /// ([`CodeFormat::normalize`](crate::CodeFormat::normalize); the format it
    /// was issued with, see [`SendOptions::policy`](crate::SendOptions::policy))
    /// is answered with [`Rejection::Malformed`](crate::Rejection::Malformed) and
    /// counts nothing: it can match no code.
    ///
    /// # Errors
    ///
    /// Only faults: [`Error::Store`], [`Error::UnknownKey`]. Every answer about the
    /// code itself is a [`Verification`].
    pub async fn verify(
        &self,
        id: &ChallengeId,
        purpose: Purpose,
        input: &str,
    ) -> Result<Verification> {
        self.verify_expected(
            id,
            Expected {
                purpose,
                account: None,
            },
            input,
        )
        .await
    }

    /// Checks a code bound to a payment ([`SendOptions::transaction`]): it
    /// approves only when `transaction` names the same amount and payee; a
    /// right code with another payment — or a code not bound to any — is
    /// answered and counted as a wrong code. ([`SecurityCodes::verify`] of a
    /// bound code fails alike: the check must name the payment.)
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`].
    pub async fn verify_transaction(
        &self,
        id: &ChallengeId,
        purpose: Purpose,
        input: &str,
        transaction: &Transaction<'_>,
    ) -> Result<Verification> {
        let expected = Expected {
            purpose,
            account: None,
        };
        self.verify_expected_bound(id, expected, input, Some(transaction))
            .await
    }

    /// Checks a code for `purpose` and `account`; a challenge of another account is
    /// rejected (and the attempt counted).
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`].
    pub async fn verify_for_account(
        &self,
        id: &ChallengeId,
        purpose: Purpose,
        account: &AccountId,
        input: &str,
    ) -> Result<Verification> {
        let expected = Expected {
            purpose,
            account: Some(account),
        };
        self.verify_expected(id, expected, input).await
    }

    async fn verify_expected(
        &self,
        id: &ChallengeId,
        expected: Expected<'_>,
        input: &str,
    ) -> Result<Verification> {
        self.verify_expected_bound(id, expected, input, None).await
    }

    async fn verify_expected_bound(
        &self,
        id: &ChallengeId,
        expected: Expected<'_>,
        input: &str,
        transaction: Option<&Transaction<'_>>,
    ) -> Result<Verification> {
        let outcome = self
            .verify_counted(id, expected, input, transaction)
            .await?;
        let (challenge, purpose) = (*id, expected.purpose);
        match &outcome {
            Verification::Approved(proof) => self.events.emit(&Event::ChallengeVerified {
                challenge,
                account: proof.account().clone(),
                purpose,
            }),
            Verification::Rejected { remaining, .. } => self.events.emit(&Event::ChallengeFailed {
                challenge,
                purpose,
                remaining: *remaining,
            }),
            Verification::Locked | Verification::AccountLocked { .. } => self
                .events
                .emit(&Event::ChallengeLocked { challenge, purpose }),
            Verification::Expired => self
                .events
                .emit(&Event::ChallengeExpired { challenge, purpose }),
            _ => {}
        }
        Ok(outcome)
    }

    async fn verify_counted(
        &self,
        id: &ChallengeId,
        expected: Expected<'_>,
        input: &str,
        transaction: Option<&Transaction<'_>>,
    ) -> Result<Verification> {
        let now = self.clock.now();
        // Store closures own what they use (a store may run them on its own
        // thread). Malformed input is told apart in the store's atomic step,
        // against the format the challenge was issued with, and counts nothing.
        let rule = GuessRule {
            purpose: expected.purpose,
            account: expected.account.cloned(),
            limits: *self.config.limits(),
            input: InputShape::of(input),
        };
        let guess = Guess::new(rule, Arc::clone(&self.keyring), input);
        let guess = match transaction {
            Some(t) => guess.for_transaction(t),
            None => guess,
        };
        self.store.guess(id, guess, now).await
    }

    /// Cancels a pending challenge (the user backed out).
    ///
    /// # Errors
    ///
    /// [`Error::ChallengeNotFound`]; [`Error::ChallengeNotPending`]; [`Error::Store`].
    pub async fn cancel(&self, id: &ChallengeId) -> Result<()> {
        let now = self.clock.now();
        self.store
            .update(id, move |c| c.cancel(now))
            .await?
            .ok_or(Error::ChallengeNotFound)?
    }

    /// The status of a challenge now.
    ///
    /// # Errors
    ///
    /// [`Error::ChallengeNotFound`]; [`Error::Store`].
    pub async fn status(&self, id: &ChallengeId) -> Result<Status> {
        let now = self.clock.now();
        let c = self.store.get(id).await?.ok_or(Error::ChallengeNotFound)?;
        Ok(c.status(now))
    }

    /// Lets the store forget expired records; call it periodically (e.g. every
    /// minute). Returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn sweep(&self) -> Result<usize> {
        self.store.sweep(self.clock.now()).await
    }
}

impl<S: ChallengeStore, C: DeliveryChannel> SecurityCodes<S, C> {
    /// The send budgets one message counts on under its lane, narrowest first
    /// — the people's budgets (see [`SendLane`]), then the budgets that cap
    /// spend (country calling code for phones, the whole service) — so that a
    /// refused send spends nothing of the broader ones; and what each refuses
    /// with (at most five budgets: no second allocation). A decoy passes the
    /// spend caps like a real message but adds nothing to them: it costs
    /// nothing, so it must not refuse anyone's real messages.
    fn budgets_for(
        &self,
        lane: SendLane<'_>,
        account: &AccountId,
        destination: &Contact,
        decoy: bool,
        spend_caps: bool,
    ) -> (Vec<SendBudget>, [RateLimit; 5]) {
        let limits = self.config.limits();
        let budgets = send_budgets(limits, lane, account, destination, decoy, spend_caps);
        let mut limits_of = [RateLimit::GlobalSends; 5];
        for (slot, b) in limits_of.iter_mut().zip(&budgets) {
            *slot = limits.send_cap(b.key.kind()).2;
        }
        (budgets, limits_of)
    }

    /// The error for a message refused by the budget at `index`, announced as
    /// an event.
    fn budget_refusal(
        &self,
        limits_of: &[RateLimit; 5],
        index: usize,
        retry_after: std::time::Duration,
        account: &AccountId,
    ) -> Error {
        let limit = limits_of
            .get(index)
            .copied()
            .unwrap_or(RateLimit::GlobalSends);
        self.events.emit(&Event::RateLimited {
            account: Some(account.clone()),
            limit,
            retry_after,
        });
        Error::RateLimited { limit, retry_after }
    }

    /// Counts one message against every send budget its lane puts it under
    /// ([`SecurityCodes::budgets_for`]), on its own (a resend or a new code:
    /// the challenge is already stored).
    async fn count_sends(
        &self,
        lane: SendLane<'_>,
        account: &AccountId,
        destination: &Contact,
        decoy: bool,
        spend_caps: bool,
        now: Timestamp,
    ) -> Result<()> {
        let (budgets, limits_of) = self.budgets_for(lane, account, destination, decoy, spend_caps);
        match self.store.count_sends(budgets, now).await? {
            Ok(()) => Ok(()),
            Err((index, retry_after)) => {
                Err(self.budget_refusal(&limits_of, index, retry_after, account))
            }
        }
    }
}

/// Nothing is sent to an authenticator app (its entry's contact is an id).
fn refuse_undeliverable(destination: &Contact) -> Result<()> {
    if destination.kind().is_deliverable() {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            field: "destination",
            reason: "an authenticator app receives no messages: check its code instead",
        })
    }
}

/// The budgets one message counts on, narrowest first: the people's budgets of
/// its lane, then the spend caps (see the
/// [policy docs](crate::policy#budgets-that-protect-people-and-budgets-that-protect-money)).
fn send_budgets(
    limits: &Limits,
    lane: SendLane<'_>,
    account: &AccountId,
    destination: &Contact,
    decoy: bool,
    spend_caps: bool,
) -> Vec<SendBudget> {
    let mut list = Vec::with_capacity(5);
    let budget = |key: CounterKey| {
        let (cap, window, _) = limits.send_cap(key.kind());
        SendBudget::new(key, cap, window)
    };
    match lane {
        SendLane::Owner => list.push(budget(CounterKey::owner_sends(account, destination))),
        SendLane::Unproven => {
            list.push(budget(CounterKey::destination_sends(destination)));
            list.push(budget(CounterKey::account_sends(account)));
        }
        SendLane::Recovery { requester } => {
            // The requester's own budget first: a client refused by it has not
            // touched the destination's.
            if let Some(requester) = requester {
                list.push(budget(CounterKey::requester_sends(requester)));
            }
            list.push(budget(CounterKey::recovery_sends(destination)));
        }
        SendLane::Tenant(tenant) => {
            list.push(budget(CounterKey::tenant_sends(tenant, destination)));
            list.push(budget(CounterKey::account_sends(account)));
        }
    }
    let reserve = |cap: u32| match lane {
        SendLane::Owner => {
            let extra = u64::from(cap) * u64::from(limits.owner_reserve_percent()) / 100;
            u32::try_from(u64::from(cap) + extra).unwrap_or(u32::MAX)
        }
        _ => cap,
    };
    let spend = |key: CounterKey| {
        let b = budget(key);
        SendBudget {
            cap: reserve(b.cap),
            counted: !decoy,
            ..b
        }
    };
    // A safe-listed destination skips the caps on spend, and only those.
    if !spend_caps {
        return list;
    }
    if let Some(code) = destination.calling_code() {
        list.push(spend(CounterKey::calling_code_sends(code)));
    }
    list.push(spend(CounterKey::global_sends()));
    list
}

/// One guess in one atomic step over the challenge and its failure counter: the
/// attempt is counted on both before the code is compared (an attempt is a
/// failure until proven a success), then a right code approves the challenge and
/// clears the counter — the same rules, in the same order, as the two-step path.
impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for SecurityCodes<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityCodes")
            .field("store", &self.store)
            .field("channel", &self.channel)
            .field("now", &self.clock.now())
            .field("keyring", &self.keyring)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
