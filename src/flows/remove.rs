//! Remove security info with a fresh identity-check or recovery proof.

use crate::account::SecurityInfoId;
use crate::challenge::Proof;
use crate::channel::DeliveryChannel;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::{Event, Events};
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::store::{AccountStore, ChallengeStore};

impl<A, S, C, K, E> AccountSecurity<A, S, C, K, E>
where
    A: AccountStore,
    S: ChallengeStore,
    C: DeliveryChannel,
    K: Clock,
    E: Events,
{
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
}
