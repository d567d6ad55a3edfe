//! Change the phone number: the last four digits of the current number, a code to
//! it, then the new number proven by a second code.

use crate::account::SecurityInfoId;
use crate::challenge::{AccountId, ChallengeId, Proof, Verification};
use crate::channel::DeliveryChannel;
use crate::contact::{Contact, ContactKind};
use crate::error::{Error, Result};
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::service::Sent;
use crate::store::{AccountStore, ChallengeStore};

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
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
    /// [`SecurityCodes::start`](crate::SecurityCodes::start).
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
            .start_for(account, Purpose::ChangePhone, &phone, acct.locale())
            .await
    }

    /// Step 2: checks the code sent to the current phone. Approved, it yields a
    /// [`Proof`] for [`AccountSecurity::start_new_phone`].
    ///
    /// # Errors
    ///
    /// As [`SecurityCodes::verify`](crate::SecurityCodes::verify).
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

    /// Step 3 (the atomic swap): with the proof of the current phone, adds
    /// `new_phone` as pending (marked to replace the current one) and sends it a
    /// code. Nothing is removed yet: an abandoned change leaves the account as it
    /// was. The proof is spent if this succeeds (see [`AccountSecurity`](crate::AccountSecurity): it is
    /// single use on every server); a failure — a duplicate number, a hold —
    /// leaves it usable.
    ///
    /// The other order, as on Microsoft accounts' pages: remove the current phone
    /// with the same proof ([`AccountSecurity::remove_security_info`]), then add
    /// the new number with [`AccountSecurity::start_add_security_info`].
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] if the proof is not a fresh change-phone proof of a
    /// phone the account still has; [`Error::OnHold`]; [`Error::DuplicateContact`];
    /// [`Error::TooManyContacts`]; the errors of [`SecurityCodes::start`](crate::SecurityCodes::start).
    pub async fn start_new_phone(&self, proof: &Proof, new_phone: &Contact) -> Result<Sent> {
        self.check_proof(proof, &[Purpose::ChangePhone])?;
        if new_phone.kind() != ContactKind::Phone {
            return Err(Error::InvalidInput {
                field: "new phone",
                reason: "not a phone number",
            });
        }
        self.spending(proof, async {
            let account = proof.account();
            let old = self
                .account(account)
                .await?
                .verified_entry(proof.destination())
                .map(|i| i.id)
                .ok_or(Error::ProofMismatch)?;
            self.add_pending_and_send(account, new_phone, Some(old))
                .await
        })
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
}
