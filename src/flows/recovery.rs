//! Account recovery and password reset: name an email or phone, confirm a contact,
//! enter the code — with the same answers whether or not an account exists.

use crate::account::{Account, AppRecord, SecurityInfo};
use crate::challenge::{AccountId, ChallengeId, Proof, Verification};
use crate::channel::DeliveryChannel;
use crate::channel::templates::NoticeEvent;
use crate::clock::Timestamp;
use crate::contact::MaskedContact;
use crate::contact::{Contact, ContactKind};
use crate::counter::CounterKey;
use crate::error::{Error, RateLimit, Result};
use crate::events::Event;
use crate::flows::AccountSecurity;
use crate::flows::decoys::{DECOY_DOMAIN, decoy_account};
use crate::hex::{decode as unhex, encode as hex};
use crate::lane::{SendLane, SendOptions};
use crate::policy::Purpose;
use crate::service::Sent;
use crate::store::{AccountStore, ChallengeStore};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;
use zeroize::Zeroizing;

/// How a recovery choice is confirmed before a code is sent to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Confirmation {
    /// Type the whole email address.
    FullAddress,
    /// Type the last four digits of the phone number.
    LastFourDigits,
    /// Type a code from the authenticator app: nothing is sent
    /// ([`AccountSecurity::recover_with_app`]).
    AppCode,
}

/// One way a recovery can prove the person: a contact a code can go to, or
/// an authenticator app (listed once, last, whatever number of apps the
/// account has: a code from any of them is accepted).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecoveryChoice {
    /// Pass it to [`AccountSecurity::choose_recovery_contact`].
    pub index: usize,
    /// Email, phone or app.
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecoveryStart {
    /// A signed, expiring token for the next step. It carries the identifier's
    /// identity (hex-encoded, so it round-trips through a form field) and is
    /// meant for that person's browser only; `Debug` leaves it out.
    pub token: String,
    /// Where a code can go, then an authenticator app if the account has one.
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

const TOKEN_DOMAIN: &str = "recovery-token";

/// Who answers a recovery: a real account or a made-up one.
pub(super) struct RecoveryParty {
    pub(super) account: AccountId,
    choices: Vec<Contact>,
    pub(super) decoy: bool,
    /// The account's language; a made-up account has none.
    locale: Option<String>,
    /// A real account's verified apps that may recover it now, with their
    /// records; none for a made-up account.
    pub(super) apps: Vec<(SecurityInfo, AppRecord)>,
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Step 1 of a recovery: the person names an email address or phone number.
    /// The answer has the same shape whether or not an account has it (see the
    /// [module docs](crate::AccountSecurity)); nothing is sent and nothing is stored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidContact`] if `identifier` is not an address or number at
    /// all (which says nothing about accounts); [`Error::Store`].
    pub async fn start_recovery(&self, identifier: &str) -> Result<RecoveryStart> {
        let identifier = Contact::parse(identifier)?;
        let now = self.codes.now();
        let party = self.recovery_choices(&identifier).await?;
        let account = party.account.clone();
        self.codes.events().emit(&Event::RecoveryStarted {
            account: (!party.decoy).then_some(account),
        });
        let choices = choices_of(&party.choices);
        Ok(RecoveryStart {
            token: self.recovery_token(&identifier, now + self.settings.recovery_lifetime),
            choices,
        })
    }

    /// Who answers for `identifier`: its account and the account's verified
    /// contacts, or a made-up account (see [`crate::flows::DecoyProfile`]).
    ///
    /// One path for both, differing only in data: derive the made-up account,
    /// look the identifier up, read an account (the found one, or the made-up id,
    /// which no store holds, and whose miss costs what a hit costs), list the
    /// verified contacts of the account read or the made-up one.
    pub(super) async fn recovery_choices(&self, identifier: &Contact) -> Result<RecoveryParty> {
        let seed = self
            .codes
            .keyring()
            .recovery_tag(DECOY_DOMAIN, identifier.identity().as_bytes());
        let made_up = decoy_account(
            identifier,
            &seed,
            &self.settings.decoy_profile,
            self.codes.now(),
        );
        let found = self.accounts.find_verified(identifier).await?;
        let known = found.is_some();
        // The id to read: a copy of the store's answer or of the made-up id.
        let lookup = found.as_ref().unwrap_or(made_up.id()).clone();
        let (period, now) = (self.settings.hold_period, self.codes.now());
        // During a recovery window or a hold only the originals recover; an
        // account left with none answers as an unknown identifier does.
        let stored = self
            .accounts
            .get(&lookup)
            .await?
            .filter(|a| known && a.recovery_contacts(period, now).next().is_some());
        let decoy = stored.is_none();
        let account = stored.unwrap_or(made_up);
        let apps = account
            .recovery_apps(period, now)
            .filter_map(|i| account.app(i.id))
            .map(|(i, r)| (i.clone(), r.clone()))
            .collect();
        Ok(RecoveryParty {
            account: account.id().clone(),
            choices: listed(&account, period, now),
            decoy,
            locale: account.locale().map(str::to_owned),
            apps,
        })
    }

    fn recovery_token(&self, identifier: &Contact, expires_at: Timestamp) -> String {
        let body = format!(
            "v1.{}.{}",
            expires_at.as_unix_millis(),
            hex(identifier.identity().as_bytes())
        );
        let tag = self.codes.keyring().tag(TOKEN_DOMAIN, body.as_bytes());
        format!("{body}.{}", hex(&tag[..16]))
    }

    pub(super) fn read_recovery_token(&self, token: &str) -> Result<Contact> {
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
    /// `requester` names who asks, as the application identifies clients (the
    /// client's address, a device cookie): the code then also counts on that
    /// requester's budget ([`Limits::requester_sends`](crate::Limits::requester_sends)),
    /// so one client cannot use up a contact's recovery budget
    /// ([`SendLane::Recovery`]). It is hashed, never
    /// stored. `None` counts on the contact's recovery budget alone.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`]; [`Error::UnknownSecurityInfo`] for an index out of
    /// range; [`Error::ContactProofFailed`]; [`Error::RateLimited`]; the errors of
    /// [`SecurityCodes::start`](crate::SecurityCodes::start).
    pub async fn choose_recovery_contact(
        &self,
        token: &str,
        choice: usize,
        confirmation: &str,
        requester: Option<&str>,
    ) -> Result<Sent> {
        let identifier = self.read_recovery_token(token)?;
        let RecoveryParty {
            account,
            choices,
            decoy,
            locale,
            ..
        } = self.recovery_choices(&identifier).await?;
        let contact = choices.get(choice).ok_or(Error::UnknownSecurityInfo)?;
        if !contact.kind().is_deliverable() {
            // Listed alike for real and made-up accounts: saying so tells
            // nothing, and counts nothing.
            return Err(Error::InvalidInput {
                field: "recovery choice",
                reason: "an authenticator app is sent nothing: type a code from it (recover_with_app)",
            });
        }
        // The identifier's own budget, counted before the comparison: known and
        // unknown identifiers alike, and never the signed-in owner's budget.
        let key = CounterKey::recovery_confirmations(&identifier);
        self.count_failure_first(
            &key,
            RateLimit::RecoveryFailures,
            (!decoy).then_some(&account),
        )
        .await?;
        let confirmed = match contact.kind() {
            ContactKind::Email => contact.confirm_address(confirmation),
            ContactKind::Phone => contact.confirm_last_four(confirmation),
            // Refused above.
            ContactKind::App => false,
        };
        if !confirmed {
            return Err(Error::ContactProofFailed);
        }
        self.clear_failures(&key).await?;
        let options = SendOptions::default().lane(SendLane::Recovery { requester });
        if decoy {
            self.codes
                .start_decoy(&account, Purpose::Recovery, contact, options)
                .await
        } else {
            let options = match locale.as_deref() {
                Some(tag) => options.locale(tag),
                None => options,
            };
            self.codes
                .start(&account, Purpose::Recovery, contact, options)
                .await
        }
    }

    /// Step 3: checks the recovery code. Approved, the [`Proof`] names the account
    /// to let back in (the crate does not touch passwords); the account's other
    /// verified contacts are told, and its current contacts become the originals
    /// a [replacement hold](crate::store::HoldState#the-replacement-hold) protects.
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`](crate::SecurityCodes::verify).
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
        let (now, hold_period) = (self.codes.now(), self.settings.hold_period);
        let account = proof.account().clone();
        let through = proof.destination().clone();
        self.accounts
            .update(&account, move |a| {
                a.record_recovery(&through, hold_period, now);
                Ok(())
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        self.codes.events().emit(&Event::RecoveryCompleted {
            account: account.clone(),
        });
        self.after_change(
            &account,
            None,
            &[proof.destination()],
            None,
            NoticeEvent::Recovered,
            Some(proof.destination()),
            None,
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
    pub async fn issue_ticket(&self, proof: &Proof) -> Result<Ticket> {
        self.check_proof(proof, &[Purpose::Recovery])?;
        let now = self.codes.now();
        let account = proof.account();
        let (ticket, digest) = mint_ticket(account);
        let expires = now + self.settings.ticket_lifetime;
        self.spending(proof, async {
            self.accounts
                .update(account, move |a| {
                    a.add_ticket(digest, expires, now);
                    Ok(())
                })
                .await?
                .ok_or(Error::AccountNotFound)
        })
        .await?;
        Ok(ticket)
    }

    /// Redeems a ticket once: returns the account whose password the application
    /// should now let the person set.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTicket`] if it is malformed, unknown, used or expired.
    pub async fn redeem_ticket(&self, ticket: &str) -> Result<AccountId> {
        let (account, digest) = read_ticket(ticket)?;
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

    /// The account a ticket is for, if the ticket is genuine and unused — without
    /// redeeming it: for an "is this your account?" page between the code and the
    /// new password.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTicket`] if it is malformed, unknown, used or expired.
    pub async fn check_ticket(&self, ticket: &str) -> Result<AccountId> {
        let (account, digest) = read_ticket(ticket)?;
        let now = self.codes.now();
        let held = self
            .accounts
            .get(&account)
            .await?
            .is_some_and(|a| a.has_ticket(&digest, now));
        if held {
            Ok(account)
        } else {
            Err(Error::InvalidTicket)
        }
    }

    /// The answer of [`AccountSecurity::start_recovery`] again, for the token it
    /// gave: so the page that lists the choices can be a link (served by any
    /// server) rather than the answer to a form.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] if the token is malformed, forged or expired.
    pub async fn resume_recovery(&self, token: &str) -> Result<RecoveryStart> {
        let identifier = self.read_recovery_token(token)?;
        let party = self.recovery_choices(&identifier).await?;
        Ok(RecoveryStart {
            token: token.trim().to_owned(),
            choices: choices_of(&party.choices),
        })
    }
}

/// A new ticket for `account`: its text (`t1.<account>.<secret>`, hex) and
/// the SHA-256 of its secret, which is all the account keeps.
pub(super) fn mint_ticket(account: &AccountId) -> (Ticket, [u8; 32]) {
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut *secret);
    let digest: [u8; 32] = Sha256::digest(*secret).into();
    let text = format!("t1.{}.{}", hex(account.as_str().as_bytes()), hex(&*secret));
    (Ticket(Zeroizing::new(text)), digest)
}

/// The account and secret digest of a ticket's text.
fn read_ticket(ticket: &str) -> Result<(AccountId, [u8; 32])> {
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
    Ok((account, Sha256::digest(&*secret).into()))
}

/// What recovery lists for `account`: its contacts that may recover it now,
/// then one authenticator app if it has one that may.
fn listed(account: &Account, period: Duration, now: Timestamp) -> Vec<Contact> {
    account
        .recovery_contacts(period, now)
        .chain(
            account
                .recovery_apps(period, now)
                .map(|i| &i.contact)
                .take(1),
        )
        .cloned()
        .collect()
}

/// The choices shown for a list of contacts.
fn choices_of(contacts: &[Contact]) -> Vec<RecoveryChoice> {
    contacts
        .iter()
        .enumerate()
        .map(|(index, c)| RecoveryChoice {
            index,
            kind: c.kind(),
            contact: c.masked(),
            confirm_with: match c.kind() {
                ContactKind::Email => Confirmation::FullAddress,
                ContactKind::Phone => Confirmation::LastFourDigits,
                ContactKind::App => Confirmation::AppCode,
            },
        })
        .collect()
}
