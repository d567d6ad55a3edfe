//! Add security info: a code to the new contact; it counts only once verified.

use crate::account::{SecurityInfo, SecurityInfoId};
use crate::challenge::{AccountId, ChallengeId, Verification};
use crate::channel::DeliveryChannel;
use crate::channel::templates::NoticeEvent;
use crate::contact::Contact;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::service::Sent;
use crate::store::{AccountStore, ChallengeStore};

/// A pending entry just added (or refreshed), and what it was before.
struct Added {
    id: SecurityInfoId,
    before: Option<SecurityInfo>,
    locale: Option<String>,
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Adds `contact` to the account as pending and sends it a code. The entry is
    /// used for nothing until [`AccountSecurity::finish_add_security_info`].
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::OnHold`]; [`Error::DuplicateContact`];
    /// [`Error::TooManyContacts`]; the errors of [`SecurityCodes::start`](crate::SecurityCodes::start).
    pub async fn start_add_security_info(
        &self,
        account: &AccountId,
        contact: &Contact,
    ) -> Result<Sent> {
        self.add_pending_and_send(account, contact, None).await
    }

    /// Adds `contact` as pending and sends it a code; if the code is not sent
    /// (a budget refused it, the channel failed), the pending entry is taken
    /// back, so a refused step leaves nothing behind.
    pub(super) async fn add_pending_and_send(
        &self,
        account: &AccountId,
        contact: &Contact,
        replaces: Option<SecurityInfoId>,
    ) -> Result<Sent> {
        let added = self.add_pending(account, contact, replaces).await?;
        let sent = self
            .codes
            .start_for(
                account,
                Purpose::AddSecurityInfo,
                contact,
                added.locale.as_deref(),
            )
            .await;
        if sent.is_err() {
            let Added { id, before, .. } = added;
            // Best effort: if this fails too, the entry is a pending one, which
            // counts for nothing and expires with its code.
            let _ = self
                .accounts
                .update(account, move |a| {
                    a.undo_pending(id, before.clone());
                    Ok(())
                })
                .await;
        }
        sent
    }

    async fn add_pending(
        &self,
        account: &AccountId,
        contact: &Contact,
        replaces: Option<SecurityInfoId>,
    ) -> Result<Added> {
        let now = self.codes.now();
        let (max, ttl) = self.pending_bounds();
        let contact = contact.clone();
        self.accounts
            .update(account, move |a| {
                a.check_hold(now)?;
                let before = a
                    .security_info()
                    .iter()
                    .find(|i| i.contact == contact)
                    .cloned();
                let id = a.add_pending(&contact, replaces, max, ttl, now)?;
                Ok(Added {
                    id,
                    before,
                    locale: a.locale().map(str::to_owned),
                })
            })
            .await?
            .ok_or(Error::AccountNotFound)
    }

    /// Checks the code sent by [`AccountSecurity::start_add_security_info`] (or by
    /// [`AccountSecurity::start_new_phone`]); when approved, the contact becomes
    /// verified security info — replacing the old phone number in a change — and
    /// the account's other verified contacts are told.
    ///
    /// # Errors
    ///
    /// [`Error::ContactInUse`] when the code was right but another account has the
    /// contact verified; [`Error::OnHold`] if a hold started after the code was
    /// sent; [`Error::UnknownSecurityInfo`] if the pending entry was dropped or
    /// removed meanwhile (a late code adds nothing); [`Error::AccountNotFound`];
    /// [`Error::Store`].
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
                    // A hold that started after the code was sent still holds.
                    a.check_hold(now)?;
                    let removed = a.verify_pending(&added, now)?;
                    Ok((removed, a.start_hold_if_replaced(hold_period, now)))
                }
            })
            .await?
            .ok_or(Error::AccountNotFound)?;
        self.codes.events().emit(&Event::SecurityInfoAdded {
            account: account.clone(),
            contact: added.masked(),
        });
        if let Some(old) = &removed {
            self.codes.events().emit(&Event::SecurityInfoRemoved {
                account: account.clone(),
                contact: old.masked(),
            });
        }
        let event = if removed.is_some() {
            NoticeEvent::Replaced
        } else {
            NoticeEvent::Added
        };
        self.after_change(
            account,
            hold,
            &[&added],
            removed.as_ref(),
            event,
            Some(&added),
            removed.as_ref(),
        )
        .await?;
        Ok(outcome)
    }
}
