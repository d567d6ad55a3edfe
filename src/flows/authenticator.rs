//! Authenticator apps as security info, as a Microsoft account's *Add a
//! sign-in method → An app* has them: the app scans a QR code (or the person
//! types the secret), the entry stays pending until a code from the app
//! verifies it, and from then on a code from the app proves it's you — with
//! nothing sent.
//!
//! * **The entry** is security info of kind [`ContactKind::App`]: listed,
//!   counted against the entries an account may have, removable with a proof,
//!   an original of a replacement hold, offered for recovery ("a code from my
//!   authenticator app", [`AccountSecurity::recover_with_app`]) — but never
//!   sent anything, and never the last way to reach a person (the last
//!   verified email or phone stays: see
//!   [`Error::LastContact`](crate::Error::LastContact)).
//! * **The secret** is drawn once (160 bits for HMAC-SHA1), shown once as an
//!   `otpauth://` URI and as base32, and kept only **sealed** under the
//!   keyring (XChaCha20-Poly1305 under a key derived for this use, bound to
//!   the account and the entry), in every account store.
//! * **A code** counts on the account's failure budget of its purpose
//!   *before* it is compared — the same throttle and lockout as a sent code —
//!   and is accepted for the current time step ±1 (the
//!   [`TotpSettings`](crate::TotpSettings) of [`FlowSettings`]), never for a
//!   step at or before the last one accepted: the step is stored in the same
//!   atomic account update that accepts it, so two requests with one code
//!   succeed once, on every backend.
//! * **A proof** from an app is a [`Proof`] like any other — backed by a
//!   challenge record approved at once, so it is spent once everywhere — whose
//!   destination is the app's entry (the phone being changed, for
//!   [`AccountSecurity::confirm_current_phone_with_app`]).
//!
//! [`FlowSettings`]: crate::FlowSettings

use std::fmt;

use zeroize::Zeroizing;

use crate::account::{AppRecord, SecurityInfoId};
use crate::challenge::{AccountId, Challenge, Expected, Proof, Verification};
use crate::channel::DeliveryChannel;
use crate::channel::templates::NoticeEvent;
use crate::contact::{Contact, ContactKind};
use crate::counter::CounterKey;
use crate::error::{Error, RateLimit, Result};
use crate::events::Event;
use crate::flows::AccountSecurity;
use crate::keys::Keyring;
use crate::policy::Purpose;
use crate::store::{AccountStore, ChallengeStore};
use crate::totp::TotpSecret;

const AAD: &[u8] = b"seccode-app-v1";

/// What enrolling an app shows the person, once: the `otpauth://` URI to
/// render as a QR code and the secret in base32 for typing. `Debug` is
/// redacted; the texts zeroize on drop.
pub struct AppEnrolment {
    /// The pending entry; name it in
    /// [`AccountSecurity::finish_add_authenticator`].
    pub entry: SecurityInfoId,
    uri: Zeroizing<String>,
    secret: Zeroizing<String>,
}

impl AppEnrolment {
    /// The `otpauth://totp/…` URI (Key Uri Format), for a QR code.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The secret in base32, in groups of four, for typing into an app.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AppEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppEnrolment")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

/// The associated data a secret is sealed with: the account and the entry.
fn aad(account: &AccountId, entry: SecurityInfoId) -> Vec<u8> {
    let mut aad = AAD.to_vec();
    aad.extend_from_slice(account.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(&entry.0.to_be_bytes());
    aad
}

/// Seals `secret` for `account`'s `entry` (see [`TotpSecret::seal`]).
fn seal(
    keyring: &Keyring,
    account: &AccountId,
    entry: SecurityInfoId,
    secret: &TotpSecret,
) -> Result<Vec<u8>> {
    secret.seal(keyring, &aad(account, entry))
}

/// Opens what [`seal`] made for `account`'s `entry`; `None` if it does not
/// open (another entry's, altered, or its key left the ring).
fn open(
    keyring: &Keyring,
    account: &AccountId,
    entry: SecurityInfoId,
    sealed: &[u8],
) -> Option<TotpSecret> {
    TotpSecret::open(keyring, &aad(account, entry), sealed)
}

/// What checking an app's code did.
enum Checked {
    /// Accepted (its step is stored); the app's entry.
    Accepted(Contact),
    /// Not a code of the app's current steps, or of a step already used.
    Rejected,
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Starts adding an authenticator app: a new secret, sealed into a pending
    /// entry, and what the person scans or types — once. `issuer` names the
    /// service in the app (e.g. "Contoso"); the app lists the account under
    /// its first verified contact, masked.
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::OnHold`];
    /// [`Error::TooManyContacts`]; [`Error::Store`].
    pub async fn start_add_authenticator(
        &self,
        account: &AccountId,
        issuer: &str,
    ) -> Result<AppEnrolment> {
        let now = self.codes.now();
        let settings = self.settings.totp;
        let (max, ttl) = self.pending_bounds();
        let secret = TotpSecret::generate(settings.algorithm(), &mut rand::rng());
        let contact = Contact::authenticator(&mut rand::rng());
        let keyring = self.codes.keyring_arc();
        let (owner, kept) = (account.clone(), secret.clone());
        let (entry, label) = self
            .accounts
            .update(account, move |a| {
                a.check_hold(now)?;
                let mut sealed = Err(Error::UnknownKey(keyring.current_id()));
                let id = a.add_pending_app(
                    &contact,
                    |id| {
                        sealed = seal(&keyring, &owner, id, &kept);
                        AppRecord {
                            entry: id,
                            settings,
                            sealed_secret: sealed
                                .as_ref()
                                .map_or_else(|_| Vec::new(), Clone::clone),
                            last_step: None,
                        }
                    },
                    max,
                    ttl,
                    now,
                )?;
                sealed?;
                let label = a
                    .verified()
                    .map(|i| &i.contact)
                    .find(|c| c.kind().is_deliverable())
                    .map_or_else(|| owner.as_str().to_owned(), |c| c.masked().to_string());
                Ok((id, label))
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        Ok(AppEnrolment {
            entry,
            uri: settings.uri(&secret, issuer, &label),
            secret: secret.to_base32(),
        })
    }

    /// Finishes adding an app: a code from it verifies the pending entry. The
    /// account's verified contacts are told.
    ///
    /// # Errors
    ///
    /// [`Error::WrongAppCode`] for a wrong code or one already used (counted
    /// on the account's add-security-info failures); [`Error::RateLimited`]
    /// while they are throttled or locked; [`Error::UnknownSecurityInfo`]
    /// unless `entry` is an app of the account; [`Error::AccountNotFound`];
    /// [`Error::Store`].
    pub async fn finish_add_authenticator(
        &self,
        account: &AccountId,
        entry: SecurityInfoId,
        code: &str,
    ) -> Result<()> {
        let Checked::Accepted(contact) = self
            .check_app_code(account, entry, Purpose::AddSecurityInfo, code, false)
            .await?
        else {
            return Err(Error::WrongAppCode);
        };
        self.codes.events().emit(&Event::SecurityInfoAdded {
            account: account.clone(),
            contact: contact.masked(),
        });
        self.after_change(
            account,
            None,
            &[],
            None,
            NoticeEvent::Added,
            Some(&contact),
            None,
        )
        .await
    }

    /// An identity check with an app instead of a sent code: a right code
    /// from the verified app `entry` gives a [`Proof`] that serves wherever one from a sent code does (removing security info,
    /// making a recovery code, the application's own sensitive actions).
    ///
    /// # Errors
    ///
    /// [`Error::WrongAppCode`] for a wrong code or one already used (counted
    /// on the account's identity-check failures); [`Error::RateLimited`]
    /// while they are throttled or locked; [`Error::UnknownSecurityInfo`]
    /// unless `entry` is a verified app of the account; [`Error::OnHold`];
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn check_authenticator(
        &self,
        account: &AccountId,
        entry: SecurityInfoId,
        code: &str,
    ) -> Result<Proof> {
        let purpose = Purpose::IdentityCheck;
        let Checked::Accepted(contact) = self
            .check_app_code(account, entry, purpose, code, true)
            .await?
        else {
            return Err(Error::WrongAppCode);
        };
        self.account(account).await?.check_hold(self.codes.now())?;
        self.approved_proof(account, purpose, contact).await
    }

    /// A change-phone proof for the verified phone `phone` from a code of the
    /// verified app `app`, in place of the last four digits and a code sent
    /// to the phone ([`AccountSecurity::start_change_phone`],
    /// [`AccountSecurity::confirm_current_phone`]) — for a person who chose
    /// the app as the way to prove it's them. Use the proof with
    /// [`AccountSecurity::start_new_phone`] (or to remove the phone).
    ///
    /// # Errors
    ///
    /// [`Error::WrongAppCode`] for a wrong code or one already used (counted
    /// on the account's change-phone failures); [`Error::RateLimited`] while
    /// they are throttled or locked; [`Error::UnknownSecurityInfo`] unless
    /// `phone` is a verified phone and `app` a verified app of the account;
    /// [`Error::OnHold`]; [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn confirm_current_phone_with_app(
        &self,
        account: &AccountId,
        phone: SecurityInfoId,
        app: SecurityInfoId,
        code: &str,
    ) -> Result<Proof> {
        let purpose = Purpose::ChangePhone;
        let acct = self.account(account).await?;
        acct.check_hold(self.codes.now())?;
        let phone = acct
            .info(phone)
            .filter(|i| i.is_verified() && i.contact.kind() == ContactKind::Phone)
            .ok_or(Error::UnknownSecurityInfo)?
            .contact
            .clone();
        let Checked::Accepted(_) = self
            .check_app_code(account, app, purpose, code, true)
            .await?
        else {
            return Err(Error::WrongAppCode);
        };
        self.approved_proof(account, purpose, phone).await
    }

    /// Recovers an account with a code from one of its authenticator apps,
    /// on the token of [`AccountSecurity::start_recovery`] (the choice whose
    /// [`Confirmation`](crate::Confirmation) is `AppCode`). Nothing is sent.
    /// The attempt counts on the account's recovery failure budget before it
    /// is compared (a made-up account's for an unknown identifier, whose
    /// made-up app accepts no code); every miss answers
    /// [`Error::WrongAppCode`] after the same reads. A right code's step is
    /// stored in the same atomic update that records the recovery (two
    /// requests with one code recover once), the recovery opens a
    /// [replacement hold](crate::store::HoldState#the-replacement-hold)
    /// window (the app was used, so it cannot end a hold), every verified
    /// contact is told, and the [`Proof`] — of [`Purpose::Recovery`] — goes
    /// to [`AccountSecurity::issue_ticket`] as a sent code's does.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`]; [`Error::RateLimited`] while the account's
    /// recovery failures are throttled or locked; [`Error::WrongAppCode`] for
    /// every other miss; [`Error::Store`].
    pub async fn recover_with_app(&self, token: &str, code: &str) -> Result<Proof> {
        let identifier = self.read_recovery_token(token)?;
        let party = self.recovery_choices(&identifier).await?;
        let account = party.account.clone();
        let failures = CounterKey::failures(Purpose::Recovery, &account);
        self.count_failure_first(&failures, RateLimit::RecoveryFailures, None)
            .await?;
        let (now, hold_period) = (self.codes.now(), self.settings.hold_period);
        let unix_secs = now.as_unix_millis() / 1000;
        let keyring = self.codes.keyring();
        let mut matched = None;
        for (info, record) in &party.apps {
            let step = open(keyring, &account, info.id, &record.sealed_secret).and_then(|secret| {
                record
                    .settings
                    .matching_step(&secret, code, unix_secs, record.last_step)
            });
            if let Some(step) = step {
                matched = Some((info.id, info.contact.clone(), step));
                break;
            }
        }
        if party.apps.is_empty() {
            // No app (a made-up account's has no secret): the same checks
            // against a stand-in, so that a miss costs what a miss costs.
            let stand_in = TotpSecret::from_bytes(&[0; 20]);
            let _miss = self
                .settings
                .totp
                .matching_step(&stand_in, code, unix_secs, None);
        }
        let Some((entry, contact, step)) = matched.filter(|_| !party.decoy) else {
            return Err(Error::WrongAppCode);
        };
        // The step is taken in the update that records the recovery: of two
        // requests with one code, one recovers.
        let through = contact.clone();
        let taken = self
            .accounts
            .update(&account, move |a| {
                let fresh = a.app(entry).is_some_and(|(i, r)| {
                    i.is_verified() && r.last_step.is_none_or(|last| step > last)
                });
                if fresh {
                    a.accept_app_step(entry, step, now);
                    a.record_recovery(&through, hold_period, now);
                }
                Ok(fresh)
            })
            .await?
            .unwrap_or(false);
        if !taken {
            return Err(Error::WrongAppCode);
        }
        self.clear_failures(&failures).await?;
        let proof = self
            .approved_proof(&account, Purpose::Recovery, contact)
            .await?;
        self.codes.events().emit(&Event::RecoveryCompleted {
            account: account.clone(),
        });
        self.after_change(
            &account,
            None,
            &[],
            None,
            NoticeEvent::RecoveredWithApp,
            None,
            None,
        )
        .await?;
        Ok(proof)
    }

    /// A proof of `purpose` for `destination`, backed by a challenge approved
    /// at once — so that it is spent once on every server that shares the
    /// store, as a proof from a sent code is.
    async fn approved_proof(
        &self,
        account: &AccountId,
        purpose: Purpose,
        destination: Contact,
    ) -> Result<Proof> {
        let now = self.codes.now();
        let keyring = self.codes.keyring();
        let store = self.codes.store();
        let mut challenge = Challenge::issue(
            account.clone(),
            purpose,
            destination,
            self.codes.config().policy(purpose),
            keyring.current_id(),
            &mut rand::rng(),
            now,
        );
        if let Some(tag) = store.placement(&challenge.failure_key()) {
            challenge = challenge.placed(tag);
        }
        let expected = Expected {
            purpose,
            account: Some(account),
        };
        let attempt = challenge
            .begin_attempt(&expected, now)
            .map_err(|_| Error::store("a new challenge did not take an attempt"))?;
        let Verification::Approved(proof) = challenge.approve(&attempt) else {
            return Err(Error::store("a new challenge did not approve"));
        };
        let id = *challenge.id();
        store.insert(challenge, now).await?;
        self.codes.events().emit(&Event::ChallengeVerified {
            challenge: id,
            account: account.clone(),
            purpose,
        });
        Ok(proof)
    }

    /// Counts the attempt on `purpose`'s failure budget, then checks `code`
    /// against app `entry` and stores its step in one atomic update; a right
    /// code clears the failures. `verified`: whether the app must already be
    /// verified (an identity check) or pending (finishing its enrolment).
    async fn check_app_code(
        &self,
        account: &AccountId,
        entry: SecurityInfoId,
        purpose: Purpose,
        code: &str,
        verified: bool,
    ) -> Result<Checked> {
        let now = self.codes.now();
        let failures = CounterKey::failures(purpose, account);
        self.count_failure_first(&failures, RateLimit::AccountFailures, Some(account))
            .await?;
        let keyring = self.codes.keyring_arc();
        let (owner, typed) = (account.clone(), Zeroizing::new(code.to_owned()));
        let unix_secs = now.as_unix_millis() / 1000;
        let checked = self
            .accounts
            .update(account, move |a| {
                let (info, record) = a.app(entry).ok_or(Error::UnknownSecurityInfo)?;
                if info.is_verified() != verified || info.contact.kind() != ContactKind::App {
                    return Err(Error::UnknownSecurityInfo);
                }
                let secret = open(&keyring, &owner, entry, &record.sealed_secret)
                    .ok_or(Error::UnknownSecurityInfo)?;
                let step =
                    record
                        .settings
                        .matching_step(&secret, &typed, unix_secs, record.last_step);
                let contact = info.contact.clone();
                Ok(match step {
                    Some(step) => {
                        a.accept_app_step(entry, step, now);
                        Checked::Accepted(contact)
                    }
                    None => Checked::Rejected,
                })
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        if matches!(checked, Checked::Accepted(_)) {
            self.clear_failures(&failures).await?;
        }
        Ok(checked)
    }
}
