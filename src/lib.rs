//! One-time **security codes** for account security info, the way Microsoft
//! accounts use them: a code goes to an account's alternate email address or phone
//! number and is typed back to prove the person controls it.
//!
//! ```
//! use std::sync::Arc;
//! use seccode::{AccountId, Contact, Keyring, MemoryChallengeStore, Outbox, Purpose, SecurityCodes, SendOptions, Verification};
//!
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! # block_on(async {
//! let outbox = Arc::new(Outbox::new()); // swap for your SMS/email provider
//! let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), Keyring::generate());
//!
//! let account = AccountId::new("user-42")?;
//! let phone = Contact::phone("+1 425 555 0123")?;
//! let sent = codes.start(&account, Purpose::AddSecurityInfo, &phone, SendOptions::default()).await?;
//! println!("We sent a code to {}", sent.destination); // •••••••23
//!
//! match codes.verify(&sent.id, Purpose::AddSecurityInfo, "000000").await? {
//!     Verification::Approved(proof) => println!("verified {:?}", proof.destination()),
//!     Verification::Rejected { remaining, .. } => println!("wrong code, {remaining} tries left"),
//!     other => println!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Guarantees
//!
//! Numbered, because tests and module docs cite them ("guarantee 3"); each one
//! has tests that fail if it breaks.
//!
//! 1. **No secret in output.** No code, key or unmasked contact appears in
//!    `Debug`, `Display`, an error, an [`Event`] or a log: [`Code`],
//!    [`SecretKey`], [`Message`](channel::Message) and [`Contact`] redact themselves; secrets
//!    zeroize on drop. Codes are derived, never stored —
//!    `HMAC-SHA256(key, id ‖ salt ‖ generation)` reduced without modulo bias
//!    (< 2⁻¹⁴² from uniform) — so a store dump without the [`Keyring`] reveals
//!    nothing (OWASP ASVS 2.7.5 / 6.5.2).
//! 2. **Single use** (ASVS 2.7.3, RFC 6238 §5.2): a challenge approves at most
//!    once, also under concurrent verifies from many threads or processes
//!    sharing one store — the store's atomic step decides.
//! 3. **Bounded guessing per challenge**: attempts are counted *before* the
//!    code is compared; at most `max_attempts` (default 5, as Twilio Verify)
//!    per challenge, also under concurrency. New codes and resends never reset
//!    a count (NIST SP 800-63B rev. 4). Malformed input counts nothing: it can
//!    match no code.
//! 4. **Expiry and binding**: a code verifies only before it expires (10
//!    minutes by default; NIST SP 800-63B, ASVS 2.7.2) and only for the
//!    purpose, account and destination it was issued for — and, when it is
//!    bound to a payment ([`Transaction`]: PSD2's dynamic linking), only for a
//!    check naming the same amount and payee; a successful check yields a
//!    [`Proof`] with no public constructor.
//! 5. **Bounded guessing per account**: each failure budget (an account's
//!    signed-in checks, its recovery codes, each recovery identifier's
//!    confirmations) allows 10 free failures, then waits doubling up to 15
//!    minutes and at most 100 before a 1-hour lockout (NIST SP 800-63B §5.2.2,
//!    RFC 4226 §7.3); a success clears it. [`Config::guess_bound`] reports the
//!    resulting success bound. Failures on unauthenticated pages (recovery)
//!    never lock out the signed-in owner.
//! 6. **Send limits**: a cooldown between sends, a cap per challenge, per
//!    destination, per account, per country calling code and globally per
//!    window (against SMS pumping and mail bombing). Budgets that protect
//!    *people* (a mailbox, a phone, an account) are separate from budgets that
//!    protect *money* (calling code, global), and a refused message spends
//!    nothing (see [`Limits`]). A safe-listed destination
//!    ([`SendOptions::safe_listed`]) skips only the budgets on money.
//! 7. **Recovery that cannot be told apart**: unknown identifiers get made-up
//!    answers of the same distribution through the same path (same reads,
//!    writes and work) — the choice of an authenticator app included, at the
//!    rate your accounts have one ([`DecoyProfile`]); nothing is sent, nothing
//!    changes, and unauthenticated requests cannot exhaust what real users
//!    need (see [`AccountSecurity`]).
//! 8. **Constant time**: codes and contact proofs (last four digits, full
//!    address) are compared with `subtle`.
//! 9. **Notices and verified-only recovery**: adding or removing security info
//!    notifies the account's other verified contacts; an unverified contact is
//!    never used for recovery.
//! 10. **One identity per contact**: case, Unicode forms, IDNA and phone
//!     spellings of one mailbox or number are one contact in every lookup,
//!     counter and confirmation (see [`Contact`]).
//! 11. **The hold belongs to the owner**: a replacement hold's original
//!     contacts never change while it runs; only proving one of them ends it
//!     early — and not one a recovery of the window went through. Security
//!     info added during a hold cannot be used for recovery until it ends
//!     (see [`HoldState`](store::HoldState)).
//! 12. **Availability**: nobody but the owner can spend the owner's way to get
//!     a code. A signed-in owner's sends to their own verified contacts draw on
//!     a budget that anonymous requests and other accounts cannot exhaust;
//!     [`Config::availability_bound`] says how many codes an owner still gets
//!     per hour against an attacker who knows every one of their addresses
//!     ([`SendLane`]).
//!
//! # Account flows
//!
//! [`AccountSecurity`] runs the flows of Microsoft-style security info on top of
//! [`SecurityCodes`] and an [`AccountStore`](store::AccountStore): add security
//! info, change phone number, remove, recover an account (without revealing
//! whether it exists), identity checks, and the replacement hold — with a sent
//! code, an authenticator app ([`AccountSecurity::start_add_authenticator`],
//! [`AccountSecurity::recover_with_app`]) or a recovery code
//! ([`AccountSecurity::generate_recovery_code`]).
//!
//! # Layers
//!
//! The core — ids, codes, keys, contacts, policies, challenges, counters, the
//! hold, accounts — is pure and synchronous: time is an argument. [`store`] and
//! [`channel`] are the ports, small async traits (and what their authors
//! need); [`SecurityCodes`] and [`AccountSecurity`] drive them; [`Events`]
//! report what happened. Everything an application names is at the crate's
//! root, under one path.
//!
//! # Cargo features
//!
//! * `queue` (default) — [`Queued`]: a bounded delivery queue with retries,
//!   deadlines and graceful shutdown (Tokio).
//! * `tracing` — [`TracingEvents`] writes every [`Event`] as a `tracing` event.
//! * `serde` — `Serialize`/`Deserialize` for the values a web layer returns or
//!   receives: ids as their text, [`Timestamp`] as RFC 3339, statuses, kinds,
//!   masked contacts, [`Verification`] and [`ErrorView`]. Secrets have none.
//! * `sqlite` — [`SqliteStore`]: challenges, counters and accounts in one SQLite
//!   file (SQLite is compiled in), safe across threads and processes.
//! * `postgres` — [`PostgresStore`]: challenges, counters and accounts in
//!   PostgreSQL, shared by many app servers (`tokio-postgres`, `deadpool`).
//! * `redis` — [`RedisStore`]: challenges and counters in Redis or a Redis
//!   Cluster, shared by many app servers (Tokio).
//! * `smtp` — `SmtpChannel`: email over SMTP (lettre, rustls).
//! * `http` — `TwilioSms` and `Webhook`: SMS and any provider over HTTPS
//!   (reqwest, rustls).
//!
//! The default build has the in-memory stores, the Fluent templates, the outbox
//! and console channels and the delivery queue.

#![forbid(unsafe_code)]
// docs.rs (nightly rustdoc) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod challenge;
pub mod channel;
mod clock;
mod code;
mod contact;
mod counter;
mod error;
mod events;
mod flows;
mod hex;
mod hold;
mod ids;
mod keys;
mod lane;
mod policy;
#[cfg(feature = "serde")]
mod serde_impls;
mod service;
pub mod store;
mod totp;
mod transaction;
mod typed;

// What an application names: one path each, here at the root. Backend authors
// find the record types in [`store`], channel authors the message types in
// [`channel`].
pub use account::{Account, InfoState, SecurityInfo, SecurityInfoId, SecurityInfoView};
pub use challenge::{
    AccountId, ChallengeId, Proof, Rejection, Status, Verification, VerificationView,
};
pub use channel::console::ConsoleChannel;
#[cfg(feature = "http")]
pub use channel::http::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, TWILIO_API, TwilioSender, TwilioSms, Webhook,
};
pub use channel::outbox::Outbox;
#[cfg(feature = "queue")]
pub use channel::queue::{QueueConfig, Queued};
pub use channel::route::{ByKind, Fallback};
#[cfg(feature = "smtp")]
pub use channel::smtp::{SmtpChannel, SmtpChannelBuilder, SmtpTls};
pub use channel::templates::Templates;
pub use channel::text::{CodeText, EmailText};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use code::{Alphabet, Code, CodeFormat, Malformed};
pub use contact::{Contact, ContactKind, MaskedContact, PhoneType};
pub use error::{
    ContactError, Error, ErrorClass, ErrorView, PolicyError, RateLimit, Result, StoreFailure,
    StoreFault,
};
#[cfg(feature = "tracing")]
pub use events::TracingEvents;
pub use events::{Event, EventLog, Events, NoEvents};
pub use flows::{
    AccountSecurity, AppEnrolment, Confirmation, DecoyProfile, FlowSettings, HoldView,
    RecoveredWithCode, RecoveryChoice, RecoveryCode, RecoveryStart, SealedProof, Ticket,
};
pub use ids::IdError;
pub use keys::{Keyring, SecretKey};
pub use lane::{SendLane, SendOptions};
pub use policy::{
    AvailabilityBound, Config, GuessBound, Limits, LimitsBuilder, Policy, PolicyBuilder, Purpose,
};
pub use service::{SecurityCodes, Sent};
pub use store::cipher::DataKeys;
pub use store::memory::MemoryChallengeStore;
pub use store::memory_accounts::MemoryAccountStore;
#[cfg(feature = "postgres")]
pub use store::postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use store::redis::RedisStore;
#[cfg(feature = "sqlite")]
pub use store::sqlite::SqliteStore;
pub use totp::{TotpAlgorithm, TotpSecret, TotpSettings, hotp};
pub use transaction::Transaction;

/// The README's examples compile as doctests (one of them plugs in the SMTP
/// and HTTP channels, so with those features: `cargo test --all-features`).
#[cfg(all(doctest, feature = "smtp", feature = "http"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
