//! The account flows of Microsoft-style security info, on top of
//! [`SecurityCodes`] and an [`AccountStore`].
//!
//! | flow | calls |
//! |---|---|
//! | **add security info** | [`start_add_security_info`](AccountSecurity::start_add_security_info) → [`finish_add_security_info`](AccountSecurity::finish_add_security_info) |
//! | **change phone number** | [`start_change_phone`](AccountSecurity::start_change_phone) (last four digits) → [`confirm_current_phone`](AccountSecurity::confirm_current_phone) → [`start_new_phone`](AccountSecurity::start_new_phone) → [`finish_change_phone`](AccountSecurity::finish_change_phone) |
//! | **remove security info** | an identity check, then [`remove_security_info`](AccountSecurity::remove_security_info) |
//! | **recover an account** | [`start_recovery`](AccountSecurity::start_recovery) → [`choose_recovery_contact`](AccountSecurity::choose_recovery_contact) (full address or last four digits) → [`finish_recovery`](AccountSecurity::finish_recovery) → optionally [`issue_ticket`](AccountSecurity::issue_ticket) / [`redeem_ticket`](AccountSecurity::redeem_ticket) |
//! | **identity check** | [`start_identity_check`](AccountSecurity::start_identity_check) → [`finish_identity_check`](AccountSecurity::finish_identity_check) |
//! | **end a hold early** | [`start_hold_release`](AccountSecurity::start_hold_release) → [`finish_hold_release`](AccountSecurity::finish_hold_release) |
//!
//! # Recovery does not reveal whether an account exists
//!
//! [`start_recovery`](AccountSecurity::start_recovery) answers every well-formed
//! identifier with a token and a list of masked contacts. For an identifier no
//! account has, the list is made up — deterministically from a keyed HMAC of the
//! identifier, so asking twice gives the same answer — with the identifier itself
//! among the choices, as it would be for a real account. Confirming a made-up
//! choice runs the same checks and counters as a real one, and a correct
//! confirmation starts a *decoy* challenge: stored, counted and limited like a
//! real one, never delivered, never approved. Nothing about the identifier is
//! stored beyond those bounded, expiring records.
//!
//! What the crate cannot equalise is your channel's latency: deliver through a
//! queue (return from `deliver` once the message is enqueued) so that a real send
//! does not take longer than a decoy.
//!
//! A wrong confirmation counts on the account's consecutive-failure counter, the
//! one wrong codes use, so guessing the last four digits is bounded like guessing
//! a code. The flip side, as with any per-account cap (NIST SP 800-63B §5.2.2):
//! someone who knows an identifier can lock its account's code checks for the
//! lockout period by failing on purpose. Keep the lockout moderate and rate-limit
//! recovery requests per client in front of the crate.
//!
//! # Replacement hold
//!
//! As on Microsoft accounts: if, within the hold period (default 30 days) after a
//! recovery, the account ends up with **none** of the contacts it had when it was
//! recovered, a hold of that period starts. During it, adding or removing security
//! info, changing the phone number and identity checks fail with
//! [`Error::OnHold`], unless one of the original contacts is proven again
//! ([`start_hold_release`](AccountSecurity::start_hold_release)). It protects an
//! owner whose account was recovered by someone else who then replaced everything.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::account::{Account, SecurityInfoId, SecurityInfoView};
use crate::challenge::{AccountId, ChallengeId, Proof, Verification};
use crate::channel::{DeliveryChannel, Message};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::contact::{Contact, ContactKind, MaskedContact};
use crate::counter::CounterKey;
use crate::error::{Error, RateLimit, Result};
use crate::events::{Event, Events, NoEvents};
use crate::hex::{decode as unhex, encode as hex};
use crate::policy::Purpose;
use crate::service::{SecurityCodes, Sent};
use crate::store::{AccountStore, ChallengeStore};

/// Limits and lifetimes of the account flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSettings {
    max_security_info: usize,
    hold_period: Duration,
    proof_lifetime: Duration,
    ticket_lifetime: Duration,
    recovery_lifetime: Duration,
}

impl Default for FlowSettings {
    fn default() -> Self {
        Self {
            max_security_info: 10,
            hold_period: Duration::from_secs(30 * 24 * 3600),
            proof_lifetime: Duration::from_secs(10 * 60),
            ticket_lifetime: Duration::from_secs(15 * 60),
            recovery_lifetime: Duration::from_secs(30 * 60),
        }
    }
}

impl FlowSettings {
    /// Entries per account, pending ones included (default 10; at least 1).
    #[must_use]
    pub fn with_max_security_info(mut self, max: usize) -> Self {
        self.max_security_info = max.max(1);
        self
    }

    /// The replacement hold (default 30 days, as Microsoft accounts).
    #[must_use]
    pub fn with_hold_period(mut self, period: Duration) -> Self {
        self.hold_period = period;
        self
    }

    /// How long a [`Proof`] may be used for a sensitive step (default 10 minutes).
    #[must_use]
    pub fn with_proof_lifetime(mut self, lifetime: Duration) -> Self {
        self.proof_lifetime = lifetime;
        self
    }

    /// How long a recovery ticket is accepted (default 15 minutes).
    #[must_use]
    pub fn with_ticket_lifetime(mut self, lifetime: Duration) -> Self {
        self.ticket_lifetime = lifetime;
        self
    }

    /// How long a recovery token is accepted (default 30 minutes).
    #[must_use]
    pub fn with_recovery_lifetime(mut self, lifetime: Duration) -> Self {
        self.recovery_lifetime = lifetime;
        self
    }

    /// The hold period.
    pub fn hold_period(&self) -> Duration {
        self.hold_period
    }
}

/// How a recovery choice is confirmed before a code is sent to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Confirmation {
    /// Type the whole email address.
    FullAddress,
    /// Type the last four digits of the phone number.
    LastFourDigits,
}

/// One contact a recovery code can go to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryChoice {
    /// Pass it to [`AccountSecurity::choose_recovery_contact`].
    pub index: usize,
    /// Email or phone.
    pub kind: ContactKind,
    /// The masked contact.
    pub contact: MaskedContact,
    /// What the person must type to use it.
    pub confirm_with: Confirmation,
}

/// The answer to [`AccountSecurity::start_recovery`]: the same shape whether or not
/// an account has the identifier.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryStart {
    /// A signed, expiring token for the next step. It carries the identifier the
    /// person typed (hex-encoded, so it round-trips through a form field) and is
    /// meant for that person's browser only; `Debug` leaves it out.
    pub token: String,
    /// Where a code can go.
    pub choices: Vec<RecoveryChoice>,
}

impl fmt::Debug for RecoveryStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryStart")
            .field("token", &"<redacted>")
            .field("choices", &self.choices)
            .finish()
    }
}

/// A single-use ticket for the last page of a recovery (set a new password).
/// Stored only as its SHA-256; `Debug` is redacted.
pub struct Ticket(Zeroizing<String>);

impl Ticket {
    /// The ticket text, to put in a form or a cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket(<redacted>)")
    }
}

/// An account's hold, as shown to the person.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HoldView {
    /// When it ends by itself.
    pub until: Timestamp,
    /// The original contacts, masked, by index for [`AccountSecurity::start_hold_release`].
    pub originals: Vec<MaskedContact>,
}

/// The account flows: security codes plus accounts.
///
/// Build it from a [`SecurityCodes`] and an [`AccountStore`]; see the
/// [module docs](self) for the flows and their calls.
pub struct AccountSecurity<A, S, C, K = SystemClock, E = NoEvents> {
    codes: SecurityCodes<S, C, K, E>,
    accounts: A,
    settings: FlowSettings,
}

impl<A, S, C, K, E> AccountSecurity<A, S, C, K, E> {
    /// Flows over `codes` and `accounts` with the default [`FlowSettings`].
    pub fn new(codes: SecurityCodes<S, C, K, E>, accounts: A) -> Self {
        Self {
            codes,
            accounts,
            settings: FlowSettings::default(),
        }
    }

    /// The same flows with other settings.
    #[must_use]
    pub fn with_settings(mut self, settings: FlowSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The code service.
    pub fn codes(&self) -> &SecurityCodes<S, C, K, E> {
        &self.codes
    }

    /// The account store.
    pub fn accounts(&self) -> &A {
        &self.accounts
    }

    /// The settings.
    pub fn settings(&self) -> &FlowSettings {
        &self.settings
    }
}

const TOKEN_DOMAIN: &str = "recovery-token";
const DECOY_DOMAIN: &str = "recovery-decoy";

impl<A, S, C, K, E> AccountSecurity<A, S, C, K, E>
where
    A: AccountStore,
    S: ChallengeStore,
    C: DeliveryChannel,
    K: Clock,
    E: Events,
{
    async fn account(&self, id: &AccountId) -> Result<Account> {
        self.accounts.get(id).await?.ok_or(Error::AccountNotFound)
    }

    /// The account's security info, masked.
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn security_info(&self, account: &AccountId) -> Result<Vec<SecurityInfoView>> {
        Ok(self
            .account(account)
            .await?
            .security_info()
            .iter()
            .map(|i| i.view())
            .collect())
    }

    /// The account's hold, if one is running.
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn hold(&self, account: &AccountId) -> Result<Option<HoldView>> {
        let now = self.codes.now();
        let account = self.account(account).await?;
        Ok(account.hold(now).map(|h| HoldView {
            until: h.until,
            originals: h.originals.iter().map(Contact::masked).collect(),
        }))
    }

    // ----- add security info -------------------------------------------------

    /// Adds `contact` to the account as pending and sends it a code. The entry is
    /// used for nothing until [`AccountSecurity::finish_add_security_info`].
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::OnHold`]; [`Error::DuplicateContact`];
    /// [`Error::TooManyContacts`]; the errors of [`SecurityCodes::start`].
    pub async fn start_add_security_info(
        &self,
        account: &AccountId,
        contact: &Contact,
    ) -> Result<Sent> {
        self.add_pending(account, contact, None).await?;
        self.codes
            .start(account, Purpose::AddSecurityInfo, contact)
            .await
    }

    async fn add_pending(
        &self,
        account: &AccountId,
        contact: &Contact,
        replaces: Option<SecurityInfoId>,
    ) -> Result<()> {
        let now = self.codes.now();
        let (max, ttl) = (
            self.settings.max_security_info,
            self.codes
                .config()
                .policy(Purpose::AddSecurityInfo)
                .lifetime(),
        );
        let contact = contact.clone();
        self.accounts
            .update(account, move |a| {
                a.check_hold(now)?;
                a.add_pending(&contact, replaces, max, ttl, now)
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        Ok(())
    }

    /// Checks the code sent by [`AccountSecurity::start_add_security_info`] (or by
    /// [`AccountSecurity::start_new_phone`]); when approved, the contact becomes
    /// verified security info — replacing the old phone number in a change — and
    /// the account's other verified contacts are told.
    ///
    /// # Errors
    ///
    /// [`Error::ContactInUse`] when the code was right but another account has the
    /// contact verified; [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn finish_add_security_info(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        let outcome = self
            .codes
            .verify_for_account(challenge, Purpose::AddSecurityInfo, account, code)
            .await?;
        let Verification::Approved(proof) = &outcome else {
            return Ok(outcome);
        };
        let now = self.codes.now();
        let added = proof.destination().clone();
        let hold_period = self.settings.hold_period;
        let (removed, hold) = self
            .accounts
            .update(account, {
                let added = added.clone();
                move |a| {
                    let removed = a.verify_pending(&added, now);
                    Ok((removed, a.start_hold_if_replaced(hold_period, now)))
                }
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        self.codes.events().emit(&Event::SecurityInfoAdded {
            account: account.clone(),
            contact: added.masked(),
        });
        let mut notice = format!(
            "{} was added to your account's security info.",
            added.masked()
        );
        if let Some(old) = &removed {
            self.codes.events().emit(&Event::SecurityInfoRemoved {
                account: account.clone(),
                contact: old.masked(),
            });
            notice = format!(
                "{} replaced {} in your account's security info.",
                added.masked(),
                old.masked()
            );
        }
        self.after_change(
            account,
            hold,
            &[&added],
            removed.as_ref(),
            "Security info added",
            &notice,
        )
        .await?;
        Ok(outcome)
    }

    // ----- change phone number ----------------------------------------------

    /// Step 1 of a phone change: the person picks a verified phone by its masked
    /// form and types its last four digits (compared in constant time). A wrong
    /// answer counts as a failed attempt on the account and says only that it did
    /// not match. A right one sends a code to that phone.
    ///
    /// # Errors
    ///
    /// [`Error::ContactProofFailed`]; [`Error::RateLimited`] when the account is
    /// locked out; [`Error::UnknownSecurityInfo`] if `current` is not a verified
    /// phone; [`Error::OnHold`]; [`Error::AccountNotFound`]; the errors of
    /// [`SecurityCodes::start`].
    pub async fn start_change_phone(
        &self,
        account: &AccountId,
        current: SecurityInfoId,
        last_four: &str,
    ) -> Result<Sent> {
        let now = self.codes.now();
        let acct = self.account(account).await?;
        acct.check_hold(now)?;
        let phone = acct
            .info(current)
            .filter(|i| i.is_verified() && i.contact.kind() == ContactKind::Phone)
            .ok_or(Error::UnknownSecurityInfo)?
            .contact
            .clone();
        if !phone.confirm_last_four(last_four) {
            return Err(self.failed_proof(account).await);
        }
        self.codes
            .start(account, Purpose::ChangePhone, &phone)
            .await
    }

    /// Counts a failed contact proof on the account's failure counter, the same
    /// counter wrong codes use.
    async fn failed_proof(&self, account: &AccountId) -> Error {
        let (now, limits) = (self.codes.now(), *self.codes.config().limits());
        let counted = self
            .codes
            .store()
            .update_counter(&CounterKey::account_failures(account), now, move |c| {
                c.count_failure(&limits, now)
            })
            .await;
        match counted {
            Err(e) => e,
            Ok(Err(retry_after)) => {
                self.codes.events().emit(&Event::RateLimited {
                    account: Some(account.clone()),
                    retry_after,
                });
                Error::RateLimited {
                    limit: RateLimit::AccountFailures,
                    retry_after,
                }
            }
            Ok(Ok(())) => Error::ContactProofFailed,
        }
    }

    /// Step 2: checks the code sent to the current phone. Approved, it yields a
    /// [`Proof`] for [`AccountSecurity::start_new_phone`].
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`].
    pub async fn confirm_current_phone(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        self.codes
            .verify_for_account(challenge, Purpose::ChangePhone, account, code)
            .await
    }

    /// Step 3: with the proof of the current phone, adds `new_phone` as pending
    /// (marked to replace the current one) and sends it a code. Nothing is removed
    /// yet: an abandoned change leaves the account as it was.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] if the proof is not a fresh change-phone proof of a
    /// phone the account still has; [`Error::OnHold`]; [`Error::DuplicateContact`];
    /// [`Error::TooManyContacts`]; the errors of [`SecurityCodes::start`].
    pub async fn start_new_phone(&self, proof: Proof, new_phone: &Contact) -> Result<Sent> {
        self.check_proof(&proof, &[Purpose::ChangePhone])?;
        if new_phone.kind() != ContactKind::Phone {
            return Err(Error::InvalidInput {
                field: "new phone",
                reason: "not a phone number",
            });
        }
        let account = proof.account();
        let old = self
            .account(account)
            .await?
            .verified_entry(proof.destination())
            .map(|i| i.id)
            .ok_or(Error::ProofMismatch)?;
        self.add_pending(account, new_phone, Some(old)).await?;
        self.codes
            .start(account, Purpose::AddSecurityInfo, new_phone)
            .await
    }

    /// Step 4: checks the code sent to the new phone; approved, the new number
    /// becomes verified and the old one is removed, in one atomic update.
    ///
    /// # Errors
    ///
    /// As [`AccountSecurity::finish_add_security_info`].
    pub async fn finish_change_phone(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        self.finish_add_security_info(account, challenge, code)
            .await
    }

    // ----- remove security info ---------------------------------------------

    /// Removes an entry, given a fresh identity-check (or recovery) proof for the
    /// account. The last verified contact cannot be removed. The remaining verified
    /// contacts and the removed one are told.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`]; [`Error::LastContact`];
    /// [`Error::UnknownSecurityInfo`]; [`Error::OnHold`]; [`Error::AccountNotFound`].
    pub async fn remove_security_info(&self, proof: Proof, entry: SecurityInfoId) -> Result<()> {
        self.check_proof(&proof, &[Purpose::IdentityCheck, Purpose::Recovery])?;
        let (now, hold_period) = (self.codes.now(), self.settings.hold_period);
        let account = proof.account();
        let (removed, hold) = self
            .accounts
            .update(account, move |a| {
                a.check_hold(now)?;
                let removed = a.remove(entry)?;
                Ok((removed, a.start_hold_if_replaced(hold_period, now)))
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        self.codes.events().emit(&Event::SecurityInfoRemoved {
            account: account.clone(),
            contact: removed.contact.masked(),
        });
        let notice = format!(
            "{} was removed from your account's security info.",
            removed.contact.masked()
        );
        let removed_contact = removed.is_verified().then_some(&removed.contact);
        self.after_change(
            account,
            hold,
            &[],
            removed_contact,
            "Security info removed",
            &notice,
        )
        .await
    }

    fn check_proof(&self, proof: &Proof, purposes: &[Purpose]) -> Result<()> {
        let fresh = self.codes.now() < proof.verified_at() + self.settings.proof_lifetime;
        if fresh && purposes.contains(&proof.purpose()) {
            Ok(())
        } else {
            Err(Error::ProofMismatch)
        }
    }

    /// Emits a hold that started and tells the account's verified contacts (except
    /// `skip`) — and a removed contact — what changed. Best effort: a failed
    /// notice does not undo the change.
    async fn after_change(
        &self,
        account: &AccountId,
        hold: Option<Timestamp>,
        skip: &[&Contact],
        removed: Option<&Contact>,
        subject: &str,
        notice: &str,
    ) -> Result<()> {
        if let Some(until) = hold {
            self.codes.events().emit(&Event::HoldStarted {
                account: account.clone(),
                until,
            });
        }
        let acct = self.account(account).await?;
        let days = self.settings.hold_period.as_secs().div_ceil(86_400);
        let body = format!(
            "{notice} If this wasn't you, recover your account now; for {days} days after a \
             recovery, your earlier contacts can undo changes to security info."
        );
        let recipients = acct
            .verified()
            .map(|i| &i.contact)
            .filter(|c| !skip.contains(c))
            .chain(removed);
        for to in recipients {
            let purpose = Purpose::IdentityCheck;
            let _best_effort = self
                .codes
                .notify(&Message::notice(
                    to.clone(),
                    purpose,
                    subject,
                    body.as_str(),
                ))
                .await;
        }
        Ok(())
    }

    // ----- identity check -----------------------------------------------------

    /// Sends a code to one of the account's verified contacts before a sensitive
    /// action.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSecurityInfo`] unless `entry` is verified; [`Error::OnHold`];
    /// [`Error::AccountNotFound`]; the errors of [`SecurityCodes::start`].
    pub async fn start_identity_check(
        &self,
        account: &AccountId,
        entry: SecurityInfoId,
    ) -> Result<Sent> {
        let acct = self.account(account).await?;
        acct.check_hold(self.codes.now())?;
        let to = acct
            .info(entry)
            .filter(|i| i.is_verified())
            .ok_or(Error::UnknownSecurityInfo)?
            .contact
            .clone();
        self.codes.start(account, Purpose::IdentityCheck, &to).await
    }

    /// Checks an identity-check code; approved, the [`Proof`] names the account
    /// and the purpose, for [`AccountSecurity::remove_security_info`] or the
    /// application's own sensitive actions.
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`].
    pub async fn finish_identity_check(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        self.codes
            .verify_for_account(challenge, Purpose::IdentityCheck, account, code)
            .await
    }

    // ----- recovery ------------------------------------------------------------

    /// Step 1 of a recovery: the person names an email address or phone number.
    /// The answer has the same shape whether or not an account has it (see the
    /// [module docs](self)); nothing is sent and nothing is stored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidContact`] if `identifier` is not an address or number at
    /// all (which says nothing about accounts); [`Error::Store`].
    pub async fn start_recovery(&self, identifier: &str) -> Result<RecoveryStart> {
        let identifier = Contact::parse(identifier)?;
        let now = self.codes.now();
        let party = self.recovery_choices(&identifier).await?;
        let account = (!party.decoy).then(|| party.account.clone());
        self.codes
            .events()
            .emit(&Event::RecoveryStarted { account });
        let choices = party
            .choices
            .iter()
            .enumerate()
            .map(|(index, c)| RecoveryChoice {
                index,
                kind: c.kind(),
                contact: c.masked(),
                confirm_with: match c.kind() {
                    ContactKind::Email => Confirmation::FullAddress,
                    ContactKind::Phone => Confirmation::LastFourDigits,
                },
            })
            .collect();
        Ok(RecoveryStart {
            token: self.recovery_token(&identifier, now + self.settings.recovery_lifetime),
            choices,
        })
    }

    /// Who answers for `identifier`: its account and the account's verified
    /// contacts, or a decoy account id and made-up contacts.
    ///
    /// Both branches compute the identifier's keyed HMAC and build the made-up
    /// list, so that they cost about the same (`cargo bench --bench recovery`).
    async fn recovery_choices(&self, identifier: &Contact) -> Result<RecoveryParty> {
        let tag = self
            .codes
            .keyring()
            .tag(DECOY_DOMAIN, identifier.identity().as_bytes());
        let made_up = decoy_choices(identifier, &tag);
        let decoy_account = AccountId::new(format!("decoy:{}", hex(&tag[4..20])))?;
        // An unknown identifier still reads an account (the decoy's, which does
        // not exist), as the known one does.
        let found = self.accounts.find_verified(identifier).await?;
        let account = self
            .accounts
            .get(found.as_ref().unwrap_or(&decoy_account))
            .await?;
        if let (Some(id), Some(account)) = (found, account) {
            drop((made_up, decoy_account));
            return Ok(RecoveryParty {
                account: id,
                choices: account.verified().map(|i| i.contact.clone()).collect(),
                decoy: false,
            });
        }
        Ok(RecoveryParty {
            account: decoy_account,
            choices: made_up,
            decoy: true,
        })
    }

    fn recovery_token(&self, identifier: &Contact, expires_at: Timestamp) -> String {
        let body = format!(
            "v1.{}.{}",
            expires_at.as_unix_millis(),
            hex(identifier.expose().as_bytes())
        );
        let tag = self.codes.keyring().tag(TOKEN_DOMAIN, body.as_bytes());
        format!("{body}.{}", hex(&tag[..16]))
    }

    fn read_recovery_token(&self, token: &str) -> Result<Contact> {
        let (body, tag) = token.rsplit_once('.').ok_or(Error::InvalidToken)?;
        let tag = unhex(tag).ok_or(Error::InvalidToken)?;
        if tag.len() != 16
            || !self
                .codes
                .keyring()
                .verify_tag(TOKEN_DOMAIN, body.as_bytes(), &tag)
        {
            return Err(Error::InvalidToken);
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(expires), Some(identifier), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidToken);
        };
        let expires: u64 = expires.parse().map_err(|_| Error::InvalidToken)?;
        if self.codes.now() >= Timestamp::from_unix_millis(expires) {
            return Err(Error::InvalidToken);
        }
        let identifier = unhex(identifier)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(Error::InvalidToken)?;
        Contact::parse(&identifier).map_err(|_| Error::InvalidToken)
    }

    /// Step 2: the person picks a choice and confirms it — the whole email
    /// address, or a phone's last four digits — before any code is sent, as on
    /// Microsoft accounts. A wrong confirmation counts as a failed attempt on the
    /// account; a right one sends a recovery code. For an identifier without an
    /// account the same checks run against the made-up choices and a right
    /// confirmation starts a decoy challenge.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`]; [`Error::UnknownSecurityInfo`] for an index out of
    /// range; [`Error::ContactProofFailed`]; [`Error::RateLimited`]; the errors of
    /// [`SecurityCodes::start`].
    pub async fn choose_recovery_contact(
        &self,
        token: &str,
        choice: usize,
        confirmation: &str,
    ) -> Result<Sent> {
        let identifier = self.read_recovery_token(token)?;
        let RecoveryParty {
            account,
            choices,
            decoy,
        } = self.recovery_choices(&identifier).await?;
        let contact = choices.get(choice).ok_or(Error::UnknownSecurityInfo)?;
        let confirmed = match contact.kind() {
            ContactKind::Email => contact.confirm_address(confirmation),
            ContactKind::Phone => contact.confirm_last_four(confirmation),
        };
        if !confirmed {
            return Err(self.failed_proof(&account).await);
        }
        if decoy {
            self.codes
                .start_decoy(&account, Purpose::Recovery, contact)
                .await
        } else {
            self.codes.start(&account, Purpose::Recovery, contact).await
        }
    }

    /// Step 3: checks the recovery code. Approved, the [`Proof`] names the account
    /// to let back in (the crate does not touch passwords); the account's other
    /// verified contacts are told, and its current contacts become the originals
    /// a [replacement hold](self#replacement-hold) protects.
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`].
    pub async fn finish_recovery(
        &self,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        let outcome = self
            .codes
            .verify(challenge, Purpose::Recovery, code)
            .await?;
        let Verification::Approved(proof) = &outcome else {
            return Ok(outcome);
        };
        let now = self.codes.now();
        let account = proof.account().clone();
        self.accounts
            .update(&account, move |a| {
                a.record_recovery(now);
                Ok(())
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        self.codes.events().emit(&Event::RecoveryCompleted {
            account: account.clone(),
        });
        let notice = format!(
            "Your account was recovered with a code sent to {}.",
            proof.destination().masked()
        );
        self.after_change(
            &account,
            None,
            &[proof.destination()],
            None,
            "Account recovered",
            &notice,
        )
        .await?;
        Ok(outcome)
    }

    /// Exchanges a fresh recovery proof for a single-use ticket, for web flows
    /// where setting the new password is another request. Only its SHA-256 is
    /// stored.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] unless the proof is a fresh recovery proof;
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn issue_ticket(&self, proof: Proof) -> Result<Ticket> {
        self.check_proof(&proof, &[Purpose::Recovery])?;
        let now = self.codes.now();
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *secret);
        let digest: [u8; 32] = Sha256::digest(*secret).into();
        let expires = now + self.settings.ticket_lifetime;
        let account = proof.account();
        self.accounts
            .update(account, move |a| {
                a.add_ticket(digest, expires, now);
                Ok(())
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        Ok(Ticket(Zeroizing::new(format!(
            "t1.{}.{}",
            hex(account.as_str().as_bytes()),
            hex(&*secret)
        ))))
    }

    /// Redeems a ticket once: returns the account whose password the application
    /// should now let the person set.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTicket`] if it is malformed, unknown, used or expired.
    pub async fn redeem_ticket(&self, ticket: &str) -> Result<AccountId> {
        let mut parts = ticket.trim().split('.');
        let (Some("t1"), Some(account), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidTicket);
        };
        let account = unhex(account)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| AccountId::new(s).ok())
            .ok_or(Error::InvalidTicket)?;
        let secret = Zeroizing::new(unhex(secret).ok_or(Error::InvalidTicket)?);
        let digest: [u8; 32] = Sha256::digest(&*secret).into();
        let now = self.codes.now();
        let taken = self
            .accounts
            .update(&account, move |a| Ok(a.take_ticket(&digest, now)))
            .await?
            .unwrap_or(false);
        if taken {
            Ok(account)
        } else {
            Err(Error::InvalidTicket)
        }
    }

    // ----- hold release -----------------------------------------------------------

    /// Sends an identity-check code to one of the hold's original contacts (by
    /// index in [`HoldView::originals`]), even though it may no longer be on the
    /// account.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSecurityInfo`] if there is no hold or no such original;
    /// [`Error::AccountNotFound`]; the errors of [`SecurityCodes::start`].
    pub async fn start_hold_release(&self, account: &AccountId, original: usize) -> Result<Sent> {
        let now = self.codes.now();
        let acct = self.account(account).await?;
        let to = acct
            .hold(now)
            .and_then(|h| h.originals.get(original))
            .ok_or(Error::UnknownSecurityInfo)?
            .clone();
        self.codes.start(account, Purpose::IdentityCheck, &to).await
    }

    /// Checks the code sent by [`AccountSecurity::start_hold_release`]; approved for
    /// an original contact, the hold ends.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] if the code was right but went to a contact that is
    /// not one of the hold's originals; as [`SecurityCodes::verify`] otherwise.
    pub async fn finish_hold_release(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        let outcome = self
            .codes
            .verify_for_account(challenge, Purpose::IdentityCheck, account, code)
            .await?;
        let Verification::Approved(proof) = &outcome else {
            return Ok(outcome);
        };
        let released = self
            .accounts
            .update(account, {
                let proven = proof.destination().clone();
                move |a| Ok(a.release_hold(&proven))
            })
            .await?
            .unwrap_or(false);
        if !released {
            return Err(Error::ProofMismatch);
        }
        self.codes.events().emit(&Event::HoldReleased {
            account: account.clone(),
        });
        Ok(outcome)
    }
}

/// Who answers a recovery: a real account or a decoy.
struct RecoveryParty {
    account: AccountId,
    choices: Vec<Contact>,
    decoy: bool,
}

/// One or two made-up contacts, the identifier among them, chosen by the bits of
/// a keyed HMAC of the identifier, so that asking again gives the same answer.
fn decoy_choices(identifier: &Contact, tag: &[u8; 32]) -> Vec<Contact> {
    let mut choices = vec![identifier.clone()];
    if tag[0] & 1 == 1 {
        // A made-up phone number ending in two HMAC-chosen digits.
        let number = format!("+1425555{:02}{:02}", tag[1] % 100, tag[2] % 100);
        if let Ok(phone) = Contact::phone(&number) {
            if tag[3] & 1 == 1 {
                choices.insert(0, phone);
            } else {
                choices.push(phone);
            }
        }
    }
    choices
}

impl<A: fmt::Debug, S: fmt::Debug, C: fmt::Debug, K: fmt::Debug, E> fmt::Debug
    for AccountSecurity<A, S, C, K, E>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecurity")
            .field("codes", &self.codes)
            .field("accounts", &self.accounts)
            .field("settings", &self.settings)
            .finish()
    }
}
