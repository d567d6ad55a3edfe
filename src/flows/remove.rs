//! Remove security info with a fresh identity-check or recovery proof, or the
//! change-phone proof of the phone being replaced.

use crate::account::SecurityInfoId;
use crate::challenge::Proof;
use crate::channel::DeliveryChannel;
use crate::channel::templates::NoticeEvent;
use crate::contact::ContactKind;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::store::{AccountStore, ChallengeStore};

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Removes an entry, given a fresh proof for the account: an identity check or
    /// a recovery for any entry, or — the order of Microsoft accounts' "change
    /// phone" pages: confirm the last four digits, enter the code, *remove*, then
    /// add the new number — the change-phone proof of the phone being removed.
    /// The last verified contact cannot be removed, nor the last phone when the
    /// application requires one ([`FlowSettings::with_phone_required`]). The
    /// remaining verified contacts and the removed one are told. The proof is spent
    /// (single use everywhere) only if the removal succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] (a stale, spent or other-purpose proof, or a
    /// change-phone proof for another entry); [`Error::LastContact`];
    /// [`Error::LastPhone`]; [`Error::UnknownSecurityInfo`]; [`Error::OnHold`];
    /// [`Error::AccountNotFound`].
    ///
    /// [`FlowSettings::with_phone_required`]: crate::FlowSettings::with_phone_required
    pub async fn remove_security_info(&self, proof: &Proof, entry: SecurityInfoId) -> Result<()> {
        self.check_proof(
            proof,
            &[
                Purpose::IdentityCheck,
                Purpose::Recovery,
                Purpose::ChangePhone,
            ],
        )?;
        let (now, hold_period) = (self.codes.now(), self.settings.hold_period);
        let require_phone = self.settings.require_phone;
        let account = proof.account();
        // A change-phone proof removes the phone it proved, and nothing else.
        let only = (proof.purpose() == Purpose::ChangePhone).then(|| proof.destination().clone());
        let (removed, hold) = self
            .spending(proof, async {
                self.accounts
                    .update(account, move |a| {
                        a.check_hold(now)?;
                        if let Some(phone) = &only
                            && a.verified_entry(phone).map(|i| i.id) != Some(entry)
                        {
                            return Err(Error::ProofMismatch);
                        }
                        let removed = a.remove(entry)?;
                        if require_phone
                            && removed.is_verified()
                            && removed.contact.kind() == ContactKind::Phone
                            && !a.verified().any(|i| i.contact.kind() == ContactKind::Phone)
                        {
                            return Err(Error::LastPhone);
                        }
                        Ok((removed, a.start_hold_if_replaced(hold_period, now)))
                    })
                    .await?
                    .ok_or(Error::AccountNotFound)
            })
            .await?;
        self.codes.events().emit(&Event::SecurityInfoRemoved {
            account: account.clone(),
            contact: removed.contact.masked(),
        });
        let removed_contact = removed.is_verified().then_some(&removed.contact);
        self.after_change(
            account,
            hold,
            &[],
            removed_contact,
            NoticeEvent::Removed,
            Some(&removed.contact),
            None,
        )
        .await
    }
}
